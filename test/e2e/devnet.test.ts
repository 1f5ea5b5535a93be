// `scryp devnet` end to end with the compiled binary: it creates a 3-node network in a directory,
// starts the nodes, and prints commands that work when pasted (run here through `sh -c`, from the
// same working directory); SIGTERM stops every node and exits 0; a re-run resumes the same keys
// and ledgers; a node that dies stops the devnet (exit 1); bad flags are exit 2, a port in use 1.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SUPPLY } from "../../src/core/limits.ts";
import { BINARY, freePort, tempDir, testKeyPair } from "../support/helpers.ts";
import { runScryp, writeJson } from "../support/binary-node.ts";
import { HOST, HEX64, hexOf } from "./e2e-support.ts";

const FLAGS = ["--interval", "2s", "--blackout", "800ms"];
/** Start-up plus a first agreed window: two 2 s windows at most, and slack for a loaded machine. */
const READY_MS_MAX = 15_000;
const STOP_MS_MAX = 10_000;
/** A confirmed payment's window is agreed already; its live line follows within a poll or two. */
const LIVE_LINE_MS_MAX = 5_000;

const dir = tempDir("scryp-e2e-devnet-");
const started: Devnet[] = [];

afterAll(async () => {
  // Whatever happened, nothing stays running.
  for (const d of started) {
    for (const pid of [d.process.pid, ...d.childPids()]) if (alive(pid)) process.kill(pid, "SIGKILL");
    await d.process.exited;
  }
  dir.cleanup();
});

interface Devnet {
  readonly process: ReturnType<typeof Bun.spawn>;
  stdout(): string;
  stderr(): string;
  /** The pids the devnet reported for its nodes ("node-k (pid N)"). */
  childPids(): number[];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts `scryp devnet <args>` in `cwd` and collects its output. */
function spawnDevnet(cwd: string, args: string[]): Devnet {
  const proc = Bun.spawn([BINARY, "devnet", ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  let stdout = "";
  let stderr = "";
  const collect = async (stream: ReadableStream<Uint8Array>, add: (s: string) => void) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) add(decoder.decode(chunk, { stream: true }));
  };
  void collect(proc.stdout as ReadableStream<Uint8Array>, (s) => (stdout += s));
  void collect(proc.stderr as ReadableStream<Uint8Array>, (s) => (stderr += s));
  const devnet: Devnet = {
    process: proc,
    stdout: () => stdout,
    stderr: () => stderr,
    childPids: () => [...stderr.matchAll(/^devnet +\| node-\d+ \(pid (\d+)\)/gm)].map((m) => Number(m[1])),
  };
  started.push(devnet);
  return devnet;
}

/** Waits (bounded) until the devnet printed its paste block; returns the indented lines. */
async function waitForBlock(d: Devnet): Promise<string[]> {
  const deadline = Date.now() + READY_MS_MAX;
  while (!d.stdout().includes("Ctrl-C stops every node")) {
    if (d.process.exitCode !== null) throw new Error(`devnet exited with ${d.process.exitCode} before it was ready:\n${d.stderr()}`);
    if (Date.now() > deadline) throw new Error(`devnet not ready after ${READY_MS_MAX} ms:\n${d.stdout()}\n${d.stderr()}`);
    await Bun.sleep(50);
  }
  return d
    .stdout()
    .split("\n")
    .filter((l) => l.startsWith("  "))
    .map((l) => l.slice(2));
}

/** Waits (bounded: two windows and slack) until the devnet's stderr matches `pattern`. */
async function waitForStderr(d: Devnet, pattern: RegExp): Promise<void> {
  const deadline = Date.now() + LIVE_LINE_MS_MAX;
  while (!pattern.test(d.stderr())) {
    if (Date.now() > deadline) throw new Error(`no line matching ${pattern} after ${LIVE_LINE_MS_MAX} ms:\n${d.stderr()}`);
    await Bun.sleep(50);
  }
}

/** Waits (bounded) for the devnet to exit; returns its status. */
async function waitExit(d: Devnet): Promise<number> {
  const timeout = Bun.sleep(STOP_MS_MAX).then(() => "timeout" as const);
  const result = await Promise.race([d.process.exited, timeout]);
  if (result === "timeout") throw new Error(`devnet still running ${STOP_MS_MAX} ms after being asked to stop:\n${d.stderr()}`);
  return result;
}

/** Runs a pasted command line in `cwd`, as a shell would. */
async function paste(line: string, cwd: string) {
  const proc = Bun.spawn(["sh", "-c", line], { cwd, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, exitCode };
}

async function portFree(port: number): Promise<boolean> {
  try {
    Bun.listen({ hostname: HOST, port, socket: { data() {} } }).stop(true);
    (await Bun.udpSocket({ hostname: HOST, port })).close();
    return true;
  } catch {
    return false;
  }
}

/** A base port with `n` consecutive ports free for TCP and UDP on 127.0.0.1. */
async function freePortRun(n: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = await freePort();
    if (base + n - 1 > 65535) continue;
    let ok = true;
    for (let i = 1; i < n && ok; i++) ok = await portFree(base + i);
    if (ok) return base;
  }
  throw new Error(`no run of ${n} free ports found`);
}

async function status(port: number): Promise<any | null> {
  try {
    const r = await fetch(`http://${HOST}:${port}/status`, { signal: AbortSignal.timeout(2_000) });
    return r.ok ? await r.json() : null;
  } catch {
    return null;
  }
}

const commandIn = (lines: string[], word: string): string => {
  const line = lines.find((l) => l.split(" ").includes(word));
  if (line === undefined) throw new Error(`no '${word}' command among the printed lines: ${JSON.stringify(lines)}`);
  return line;
};

test(
  "devnet: starts 3 nodes, the printed pay and balance commands work as pasted, SIGTERM stops all; a re-run resumes; a dead node stops it",
  async () => {
    const cwd = dir.path;
    const base = await freePortRun(3);
    const ports = [base, base + 1, base + 2];
    const devnetDir = join(cwd, "scryp-devnet");

    // ---- First run: a new network in ./scryp-devnet -----------------------------------------
    const first = spawnDevnet(cwd, [...FLAGS, "--port", String(base)]);
    const lines = await waitForBlock(first);
    const pay = commandIn(lines, "pay");
    const balance = commandIn(lines, "balance");
    const statusUrl = lines.find((l) => l.startsWith("http://"));
    expect(statusUrl).toBe(`http://${HOST}:${base}/`);
    // The commands name the same executable, the devnet's files relative to the working directory.
    for (const line of [pay, balance]) {
      expect(line.startsWith(`${BINARY} `)).toBe(true);
      expect(line).toContain("--network scryp-devnet/network.json");
    }
    expect(pay).toContain("--seed scryp-devnet/demo.seed");
    expect(balance).toContain("--seed scryp-devnet/friend.seed");

    // The files: 3 servers on consecutive loopback ports, the schedule asked for, skew derived
    // from the blackout, and the whole supply to the demo account.
    const file = JSON.parse(readFileSync(join(devnetDir, "network.json"), "utf8"));
    const demoKey = (await runScryp(["keygen", "--seed", join(devnetDir, "demo.seed")], cwd)).stdout.trim();
    const friendKey = (await runScryp(["keygen", "--seed", join(devnetDir, "friend.seed")], cwd)).stdout.trim();
    expect(demoKey).toMatch(HEX64);
    expect(friendKey).toMatch(HEX64);
    expect(file.servers.map((s: { address: string }) => s.address)).toEqual(ports.map((p) => `${HOST}:${p}`));
    expect({ interval: file.interval, blackout: file.blackout, skew: file.skew }).toEqual({ interval: 2_000, blackout: 800, skew: 399 });
    expect(file.genesis).toEqual({ [demoKey]: SUPPLY });
    expect(pay.split(" ")).toContain(friendKey);
    for (const i of [1, 2, 3]) expect(existsSync(join(devnetDir, `node-${i}`, "ledger.sqlite"))).toBe(true);

    // Every node answers, each with its key from the network file, and a window is agreed.
    const statuses = await Promise.all(ports.map(status));
    expect(statuses.map((s) => s?.key)).toEqual(file.servers.map((s: { key: string }) => s.key));
    for (const s of statuses) expect(s.agreed.window).toBeGreaterThanOrEqual(0);
    const page = await fetch(statusUrl!, { signal: AbortSignal.timeout(2_000) });
    expect(page.status).toBe(200);

    // Paste the commands.
    const paid = await paste(pay, cwd);
    expect({ paid }).toMatchObject({ paid: { exitCode: 0 } });
    expect(paid.stdout).toContain(`accepted: payment `);
    expect(paid.stdout).toContain(`confirmed: `);
    const shown = await paste(balance, cwd);
    expect(shown).toEqual({ stdout: `100 scryp (account ${friendKey})\n`, stderr: "", exitCode: 0 });

    // The live line of the payment's window, once that window is agreed.
    await waitForStderr(first, /^devnet +\| window \d+  alpha 127\.0\.0\.1:\d+  1 payment  agreed ✓$/m);

    // SIGTERM: every node stops, the devnet exits 0, the ports are free again.
    const firstPids = first.childPids();
    expect(firstPids).toHaveLength(3);
    first.process.kill("SIGTERM");
    expect(await waitExit(first)).toBe(0);
    expect(first.stderr()).toContain("every node stopped");
    expect(firstPids.filter(alive)).toEqual([]);
    for (const p of ports) expect(await portFree(p)).toBe(true);
    // Each node logs to its own file, named in the banner, not to the terminal; the terminal had
    // one line a window instead, and the payment's window shows its payment.
    const logs = [1, 2, 3].map((i) => join(devnetDir, "logs", `node-${i}.log`));
    expect(first.stdout()).toContain("(scryp-devnet/logs/node-1.log … node-3.log)");
    expect(lines).toContain("tail -f scryp-devnet/logs/node-*.log");
    for (const [i, log] of logs.entries()) {
      const text = readFileSync(log, "utf8");
      expect(text.split("\n")[0]).toMatch(new RegExp(`^\\S+ \\[devnet\\] starting node-${i + 1} on ${HOST}:${ports[i]}: scryp node `));
      expect(text).toMatch(/\[node\] stopped\n$/);
    }
    expect(first.stderr()).not.toContain("[node]");
    expect(first.stderr()).toMatch(/^devnet +\| window \d+  alpha 127\.0\.0\.1:\d+  \d+ payments?  agreed ✓$/m);
    // Not a terminal: no offer to show the commands again, and nothing printed at exit.
    expect(first.stdout()).not.toContain("Enter");
    expect(first.stdout()).not.toContain("stopped");

    // ---- Second run, same directory, no flags: the same network resumes ---------------------
    const second = spawnDevnet(cwd, []);
    const resumedLines = await waitForBlock(second);
    expect(second.stderr()).toContain("resuming the network in scryp-devnet");
    expect(commandIn(resumedLines, "pay")).toBe(pay);
    expect(readFileSync(join(devnetDir, "network.json"), "utf8")).toBe(JSON.stringify(file, null, 2) + "\n");
    const resumedStatuses = await Promise.all(ports.map(status));
    expect(resumedStatuses.map((s) => s?.key)).toEqual(file.servers.map((s: { key: string }) => s.key));
    // The ledgers were kept: the friend still holds what the first run paid.
    expect(await paste(commandIn(resumedLines, "balance"), cwd)).toEqual({ stdout: `100 scryp (account ${friendKey})\n`, stderr: "", exitCode: 0 });

    // A node that dies stops the others; the devnet exits 1.
    const secondPids = second.childPids();
    expect(secondPids).toHaveLength(3);
    process.kill(secondPids[1]!, "SIGKILL");
    expect(await waitExit(second)).toBe(1);
    expect(second.stderr()).toContain("node-2 exited unexpectedly (killed by SIGKILL); stopping the other nodes");
    // Its log is no longer on the terminal: its last lines are, under its name.
    expect(second.stderr()).toMatch(/^devnet +\| node-2's last \d+ lines?:\nnode-2 +\| /m);
    // The resumed run appended to the same logs.
    for (const log of logs) expect(readFileSync(log, "utf8").match(/\[devnet\] starting node-/g)).toHaveLength(2);
    expect(secondPids.filter(alive)).toEqual([]);
    for (const p of ports) expect(await portFree(p)).toBe(true);
  },
  60_000,
);

describe("devnet refuses, changing nothing", () => {
  /** Exit `status`, nothing on stdout, one line on stderr containing `fragment`. */
  async function expectRefusal(cwd: string, args: string[], status: number, fragment: string) {
    const r = await runScryp(["devnet", ...args], cwd);
    expect({ args, exitCode: r.exitCode, stdout: r.stdout }).toEqual({ args, exitCode: status, stdout: "" });
    const errLines = r.stderr.trimEnd().split("\n");
    expect(errLines).toHaveLength(1);
    expect(errLines[0]!.startsWith("scryp: ")).toBe(true);
    expect(errLines[0]).toContain(fragment);
  }

  test("bad flag values: exit 2, no directory created", async () => {
    const t = tempDir("scryp-e2e-devnet-flags-");
    try {
      const cases: [string[], string][] = [
        [["--interval", "10"], "--interval: must be a duration such as 10s, 2m or 1500ms"],
        [["--interval", "ten"], "--interval: must be a duration"],
        [["--blackout", "1.5s"], "--blackout: must be a duration"],
        [["--interval", "500ms"], "--interval: must be at least 1s"],
        [["--blackout", "100ms"], "must be at least 200ms"],
        [["--interval", "2s", "--blackout", "3s"], "--blackout 3s: must be shorter than --interval 2s"],
        [["--nodes", "0"], "--nodes: must be 1 to 16"],
        [["--nodes", "17"], "--nodes: must be 1 to 16"],
        [["--port", "65535", "--nodes", "3"], "past 65535"],
        [["--port", "0"], "--port: must be 1 to 65535"],
        [["--bogus"], "--bogus"],
      ];
      for (const [args, fragment] of cases) await expectRefusal(t.path, [...args, "--dir", "d"], 2, fragment);
      expect(existsSync(join(t.path, "d"))).toBe(false);
    } finally {
      t.cleanup();
    }
  });

  test("a re-run whose flags contradict the stored network: exit 2, network file unchanged", async () => {
    const t = tempDir("scryp-e2e-devnet-resume-");
    try {
      const netPath = join(t.path, "d", "network.json");
      mkdirSync(join(t.path, "d"));
      const keys = [1, 2, 3].map((n) => hexOf(testKeyPair(n)));
      writeJson(netPath, {
        servers: keys.map((key, i) => ({ key, address: `${HOST}:${7400 + i}` })),
        interval: 10_000,
        blackout: 3_000,
        skew: 1_499,
        genesis: { [hexOf(testKeyPair(9))]: SUPPLY },
      });
      const before = readFileSync(netPath, "utf8");
      const held = "d already holds a network of 3 nodes, ports 7400-7402, interval 10s, blackout 3s";
      await expectRefusal(t.path, ["--dir", "d", "--nodes", "5"], 2, `--nodes 5: ${held}`);
      await expectRefusal(t.path, ["--dir", "d", "--interval", "3s", "--blackout", "1s"], 2, `--interval 3s, --blackout 1s: ${held}`);
      await expectRefusal(t.path, ["--dir", "d", "--port", "7500"], 2, `--port 7500: ${held}`);
      // Flags that agree with it are fine; missing seeds are then the problem (exit 1).
      await expectRefusal(t.path, ["--dir", "d", "--nodes", "3", "--interval", "10s"], 1, "d/server-1.seed is missing");
      expect(readFileSync(netPath, "utf8")).toBe(before);
    } finally {
      t.cleanup();
    }
  });

  test("a port in use: exit 1, one line, no directory created", async () => {
    const t = tempDir("scryp-e2e-devnet-port-");
    const base = await freePortRun(2);
    const squatter = Bun.serve({ hostname: HOST, port: base + 1, fetch: () => new Response() });
    try {
      await expectRefusal(t.path, ["--nodes", "2", "--port", String(base), "--dir", "d"], 1, `node-2: TCP ${HOST}:${base + 1} is in use`);
      expect(existsSync(join(t.path, "d"))).toBe(false);
    } finally {
      squatter.stop(true);
      t.cleanup();
    }
  });
});
