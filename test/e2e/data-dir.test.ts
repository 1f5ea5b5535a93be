// One data directory, one node: a second node started on the same --data (another --port) must
// not run beside the first. The ledger keeps every balance in memory as the only writer of its
// database; two writers double-spend and leave a ledger that no longer opens.
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SUPPLY } from "../../src/core/limits.ts";
import { BINARY, freePort, tempDir, testKeyPair, waitFor } from "../support/helpers.ts";
import { runScryp, startBinaryNode } from "../support/binary-node.ts";
import { getJson, hexOf, httpBalance, startFundedNode, writeSeed } from "./e2e-support.ts";

const PAYER = testKeyPair(2);
const Q = testKeyPair(31);
const R = testKeyPair(32);

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Starts `scryp node args` and waits until it either exits or serves GET /status. */
async function startOrFail(cwd: string, args: string[], port: number) {
  const proc = Bun.spawn([BINARY, "node", ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  cleanups.push(() => proc.kill(9));
  let stderr = "";
  const decoder = new TextDecoder();
  (async () => {
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) stderr += decoder.decode(chunk);
  })();
  let serving = false;
  await waitFor(async () => {
    if (proc.exitCode !== null) return true;
    try {
      serving = (await fetch(`http://127.0.0.1:${port}/status`)).ok;
    } catch {
      serving = false;
    }
    return serving;
  }, 10_000, `second node on port ${port}`);
  if (!serving) await proc.exited;
  return { proc, serving, stderr: () => stderr };
}

describe("a data directory in use", () => {
  test("a second node on the same --data refuses to start (exit 1), and the balance cannot be spent twice", async () => {
    const dir = tempDir("scryp-e2e-datadir-");
    cleanups.push(dir.cleanup);
    const a = await startFundedNode(dir.path, [[PAYER, 100]]);
    cleanups.push(() => a.node.kill("SIGKILL"));
    const payerSeed = join(dir.path, "payer.seed");
    writeSeed(payerSeed, PAYER);

    const portB = await freePort();
    const b = await startOrFail(dir.path, ["--network", a.networkPath, "--seed", a.serverSeedPath, "--data", a.dataDir, "--port", String(portB)], portB);
    const urlB = `http://127.0.0.1:${portB}`;

    // Whatever happened, PAYER's 100 scryp can be spent once only.
    const viaA = await runScryp(["pay", hexOf(Q), "100", "--node", a.url, "--seed", payerSeed], dir.path);
    expect(viaA.exitCode).toBe(0);
    if (b.serving) {
      const viaB = await runScryp(["pay", hexOf(R), "100", "--node", urlB, "--seed", payerSeed], dir.path);
      expect({ second: "pay of the same 100 scryp through the second node", exitCode: viaB.exitCode, stdout: viaB.stdout }).toEqual({
        second: "pay of the same 100 scryp through the second node",
        exitCode: 1,
        stdout: "",
      });
    }
    expect(await httpBalance(a.url, hexOf(Q))).toBe(100);
    expect(await httpBalance(a.url, hexOf(PAYER))).toBeUndefined(); // emptied: the account is removed
    expect((await getJson(`${a.url}/status`)).json.ledger.supply).toBe(SUPPLY);

    // The refusal itself: exit 1 with a plain message naming the data directory.
    expect(b.serving).toBe(false);
    expect(b.proc.exitCode).toBe(1);
    expect(b.stderr()).toContain(a.dataDir);
    expect(b.stderr()).not.toContain("internal error");
  });
});

describe("a failed start changes nothing", () => {
  test("a node refused for another genesis leaves scryp-data/network.json as it was", async () => {
    const dir = tempDir("scryp-e2e-failedstart-");
    cleanups.push(dir.cleanup);
    // The working directory's own one-server network: .seed, scryp-data/, written by the node.
    const port = await freePort();
    const node = await startBinaryNode(dir.path, ["--port", String(port)], port);
    cleanups.push(() => node.kill("SIGKILL"));
    expect(await node.kill("SIGTERM")).toBe(0);
    const networkPath = join(dir.path, "scryp-data", "network.json");
    const before = readFileSync(networkPath, "utf8");

    // Another seed, same default data directory, another port: refused (different genesis).
    const otherPort = await freePort();
    const r = await runScryp(["node", "--seed", "other.seed", "--port", String(otherPort)], dir.path);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("a ledger from a different genesis");
    // The clients of this directory read that file: it must still name the real node.
    expect(readFileSync(networkPath, "utf8")).toBe(before);
  });
});
