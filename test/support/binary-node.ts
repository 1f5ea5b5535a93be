// Runs the compiled binary as a node in a temporary directory, for end-to-end tests.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY, freePort, waitFor } from "./helpers.ts";

export interface BinaryNode {
  readonly port: number;
  readonly url: string;
  readonly process: ReturnType<typeof Bun.spawn>;
  /** Everything the node wrote to stderr so far. */
  log(): string;
  kill(signal?: NodeJS.Signals | number): Promise<number>;
}

/** Runs `scryp <args>` in `cwd` to completion. */
export async function runScryp(args: string[], cwd: string, env: Record<string, string> = {}) {
  const proc = Bun.spawn([BINARY, ...args], { cwd, stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, exitCode };
}

/** Starts `scryp node` with `args` in `cwd` and waits until GET /status answers on `port`. */
export async function startBinaryNode(cwd: string, args: string[], port: number): Promise<BinaryNode> {
  const proc = Bun.spawn([BINARY, "node", ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  let stderr = "";
  const decoder = new TextDecoder();
  (async () => {
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) stderr += decoder.decode(chunk);
  })();
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`node exited with ${proc.exitCode}: ${stderr}`);
      try {
        return (await fetch(`${url}/status`)).ok;
      } catch {
        return false;
      }
    }, 10_000, `node on port ${port}`);
  } catch (e) {
    proc.kill(9);
    throw e;
  }
  return {
    port,
    url,
    process: proc,
    log: () => stderr,
    async kill(signal = "SIGTERM") {
      proc.kill(signal);
      return proc.exited;
    },
  };
}

/** Starts the default one-server network of a fresh seed in `cwd` on a free port. */
export async function startSoloNode(cwd: string): Promise<BinaryNode> {
  const port = await freePort();
  return startBinaryNode(cwd, ["--port", String(port), "--data", join(cwd, "data"), "--seed", join(cwd, "server.seed")], port);
}

export function writeJson(path: string, value: unknown): void {
  writeFileSync(path, JSON.stringify(value, null, 2));
}
