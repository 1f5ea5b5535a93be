// Issue 7, finding 1, on the payer's side: with one of three servers stopped, `scryp pay --wait`
// crashed with Bun's ECONNREFUSED banner whenever the stopped server was the alpha of the moment.
// It must say that the alpha does not answer, find out that nothing was taken, pay through the
// next alpha once its window starts, and charge the payer exactly once.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { windowAt, windowStartMs, type ScheduleParams } from "../../src/core/schedule.ts";
import { freePort, tempDir, waitFor } from "../support/helpers.ts";
import { runScryp, startBinaryNode, writeJson, type BinaryNode } from "../support/binary-node.ts";
import { getJson, httpBalance, HOST } from "../e2e/e2e-support.ts";

const INTERVAL = 2_000;
const SCHEDULE: ScheduleParams = { serverCount: 3, intervalMs: INTERVAL, blackoutMs: 800 };

let dir: { path: string; cleanup: () => void };
const nodes: BinaryNode[] = [];
let netPath = "";
let payerSeed = "";
let payee = "";
let payer = "";
const addresses: string[] = [];

const keygen = async (seed: string): Promise<string> => {
  const r = await runScryp(["keygen", "--seed", seed], dir.path);
  expect(r.exitCode).toBe(0);
  return r.stdout.trim();
};

beforeAll(async () => {
  dir = tempDir("scryp-hostile-dead-alpha-");
  const d = dir.path;
  const seeds = [0, 1, 2].map((i) => join(d, `s${i}.seed`));
  const keys = [await keygen(seeds[0]!), await keygen(seeds[1]!), await keygen(seeds[2]!)];
  payerSeed = join(d, "payer.seed");
  payer = await keygen(payerSeed);
  payee = await keygen(join(d, "payee.seed"));
  const ports: number[] = [];
  while (ports.length < 3) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  for (const p of ports) addresses.push(`${HOST}:${p}`);
  netPath = join(d, "net.json");
  writeJson(netPath, {
    servers: keys.map((key, i) => ({ key, address: addresses[i] })),
    interval: INTERVAL,
    blackout: 800,
    skew: 300,
    genesis: { [payer]: 1_000 },
  });
  // Server 2 is never started.
  for (const i of [0, 1]) nodes.push(await startBinaryNode(d, ["--network", netPath, "--seed", seeds[i]!, "--data", join(d, `d${i}`)], ports[i]!));
  // Both live servers agree on windows without server 2 (its windows are empty).
  await waitFor(async () => (await getJson(`${nodes[0]!.url}/status`)).json.agreed.window >= 0, 15_000, "a first agreed window");
});
afterAll(async () => {
  for (const n of nodes) await n.kill("SIGKILL");
  dir.cleanup();
});

test("the alpha of the moment is down: pay says so, pays through the next alpha, exactly once", async () => {
  // Start just after the beginning of a window whose alpha is the stopped server 2.
  let k = windowAt(Date.now(), SCHEDULE) + 1;
  while (k % 3 !== 2) k++;
  await Bun.sleep(Math.max(0, windowStartMs(k, SCHEDULE) + 50 - Date.now()));
  const r = await runScryp(["pay", payee, "5", "--network", netPath, "--seed", payerSeed, "--wait"], dir.path);
  expect(r.stderr).not.toContain("internal error");
  expect(r.stderr).not.toContain("ECONNREFUSED:");
  expect(r.stderr).toContain(`server ${addresses[2]} does not answer`);
  expect(r.exitCode).toBe(0);
  const accepted = /^accepted: payment [0-9a-f]{64} \(5 scryp to [0-9a-f]{64}, by ([^)]+)\)$/m.exec(r.stdout);
  expect(accepted).not.toBeNull();
  expect([addresses[0], addresses[1]]).toContain(accepted![1]!);
  expect(r.stdout).toContain("confirmed:");
  // Charged once: both live servers agree.
  for (const n of nodes) {
    expect(await httpBalance(n.url, payee)).toBe(5);
    expect(await httpBalance(n.url, payer)).toBe(995);
  }
}, 40_000);
