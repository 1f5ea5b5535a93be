// `scryp wallet` from the compiled binary: it serves the wallet page on 127.0.0.1 and prints its
// address; it answers only under that address; and it refuses bad flags, a missing network file
// and a port in use with one line and the usual exit status.
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { BINARY, freePort, tempDir, testKeyPair } from "../support/helpers.ts";
import { runScryp, writeJson } from "../support/binary-node.ts";
import { toHex } from "../../src/core/bytes.ts";

const dir = tempDir("scryp-wallet-cli-");
const networkPath = join(dir.path, "network.json");
const key = toHex(testKeyPair(90).publicKey);
writeJson(networkPath, { servers: [{ key, address: "127.0.0.1:7400" }], genesis: { [key]: 1 } });
const running: ReturnType<typeof Bun.spawn>[] = [];

afterAll(() => {
  for (const p of running) p.kill("SIGKILL");
  dir.cleanup();
});

async function startWallet(port: number): Promise<{ process: ReturnType<typeof Bun.spawn>; firstLine: string }> {
  const proc = Bun.spawn([BINARY, "wallet", "--network", networkPath, "--port", String(port)], { cwd: dir.path, stdout: "pipe", stderr: "pipe" });
  running.push(proc);
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  const chunk = await reader.read();
  reader.releaseLock();
  return { process: proc, firstLine: new TextDecoder().decode(chunk.value).split("\n")[0]! };
}

describe("scryp wallet", () => {
  test("serves the page on 127.0.0.1 and prints its address; / leads there; SIGTERM stops it (exit 0)", async () => {
    const port = await freePort();
    const { process: proc, firstLine } = await startWallet(port);
    expect(firstLine).toBe(`http://127.0.0.1:${port}/wallet`);
    const page = await fetch(firstLine);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("scryp wallet");
    expect(html).toContain("served by scryp wallet on this machine");
    expect(page.headers.get("content-security-policy")).toContain("connect-src 'self' http://127.0.0.1:7400");
    const script = /src="(\/wallet\/script\.js\?v=[0-9a-f]+)"/.exec(html)![1]!;
    expect((await fetch(`http://127.0.0.1:${port}${script}`)).status).toBe(200);
    const root = await fetch(`http://127.0.0.1:${port}/`, { redirect: "manual" });
    expect([root.status, root.headers.get("location")]).toEqual([302, "/wallet"]);
    expect((await fetch(`http://localhost:${port}/wallet`)).status).toBe(200);
    // A page of another name that resolves here (DNS rebinding) gets nothing.
    const rebound = await fetch(`http://127.0.0.1:${port}/wallet`, { headers: { host: `evil.example:${port}` } });
    expect(rebound.status).toBe(400);
    // Not a node: no API here.
    expect((await fetch(`http://127.0.0.1:${port}/status`)).status).toBe(404);
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
  }, 20_000);

  test("a port in use, a missing network file, a bad flag: one line each, exit 1, 1, 2", async () => {
    const port = await freePort();
    await startWallet(port);
    const taken = await runScryp(["wallet", "--network", networkPath, "--port", String(port)], dir.path);
    expect([taken.exitCode, taken.stderr.trim()]).toEqual([1, `scryp: cannot listen on 127.0.0.1:${port}: the port is already in use (a wallet already running?); pick another with --port`]);
    const missing = await runScryp(["wallet", "--network", join(dir.path, "none.json")], dir.path);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain("none.json");
    for (const args of [["--port", "0"], ["--port", "x"], ["--seed", "a"], ["extra"]]) {
      const bad = await runScryp(["wallet", "--network", networkPath, ...args], dir.path);
      expect([args, bad.exitCode, bad.stderr.split("\n").length]).toEqual([args, 2, 2]);
    }
    const help = await runScryp(["wallet", "--help"], dir.path);
    expect([help.exitCode, help.stdout]).toEqual([0, expect.stringContaining("Usage: scryp wallet [--network FILE] [--port N]")]);
  }, 20_000);
});
