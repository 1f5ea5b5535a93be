// End to end with three compiled binaries on loopback and short windows (2 s): payments through
// every alpha with `scryp pay`, a server killed with SIGKILL and restarted that catches up, and at
// the end the same agreed window, state hash and balances on all three, equal to what the accepted
// payments imply.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { SUPPLY } from "../../src/core/limits.ts";
import { alphaOf, blackoutStartMs, windowAt, windowStartMs, type ScheduleParams } from "../../src/core/schedule.ts";
import { freePort, tempDir } from "../support/helpers.ts";
import { runScryp, startBinaryNode, writeJson, type BinaryNode } from "../support/binary-node.ts";
import { HOST, HEX64 } from "./e2e-support.ts";

const INTERVAL = 2_000;
const BLACKOUT = 800;
const SKEW = 300;
const SCHEDULE: ScheduleParams = { serverCount: 3, intervalMs: INTERVAL, blackoutMs: BLACKOUT };
const PAYER_START = 1_000_000;
/** Pause between two `scryp pay` runs: a handful of payments per window. */
const PAY_GAP_MS = 150;

const ACCEPTED = /^accepted: payment ([0-9a-f]{64}) \((\d+) scryp to ([0-9a-f]{64}), by ([^)]+)\)\n$/;
const REJECTED = /^rejected: ([A-Z_0-9]+): .* \(payment ([0-9a-f]{64}), server ([^)]+)\)\n$/m;

interface Status {
  window: number;
  role: string;
  accepting: boolean;
  syncing: boolean;
  agreed: { window: number; hash: string };
  ledger: { stateHash: string; supply: number; payments: number; accounts: number; pending: number };
}

interface Accepted {
  readonly id: string;
  readonly payee: string;
  readonly amount: number;
  readonly server: number;
  readonly atMs: number;
}

const dir = tempDir("scryp-e2e-three-");
const nodes: (BinaryNode | null)[] = [null, null, null];

afterAll(async () => {
  // Every process dies, whatever happened in the test.
  await Promise.all(nodes.map((n) => n?.kill("SIGKILL")));
  dir.cleanup();
});

async function fetchJson(url: string): Promise<{ status: number; json: any }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  return { status: r.status, json: await r.json() };
}

async function status(i: number): Promise<Status | null> {
  const n = nodes[i];
  if (!n) return null;
  try {
    const r = await fetchJson(`${n.url}/status`);
    return r.status === 200 ? (r.json as Status) : null;
  } catch {
    return null;
  }
}

async function balanceOn(i: number, idHex: string): Promise<number | null> {
  const r = await fetchJson(`${nodes[i]!.url}/accounts/${idHex}`);
  if (r.status === 404) return null;
  if (r.status !== 200) throw new Error(`GET /accounts/${idHex} on server ${i}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
  return r.json.balance as number;
}

/** Polls until `check` returns true, at most `timeoutMs`; the error names what was last seen. */
async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>, seen: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await Bun.sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${seen()}`);
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

test(
  "three servers, two rotations: pay through every alpha, kill -9 and restart one, all agree at the end",
  async () => {
    const t0 = Date.now();
    const phases: string[] = [];
    const mark = (name: string) => phases.push(`${name} at +${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const d = dir.path;
    const netPath = join(d, "net.json");

    // ---- Keys, ports, network file -----------------------------------------------------------
    const keygen = async (seed: string): Promise<string> => {
      const r = await runScryp(["keygen", "--seed", seed], d);
      expect(r.exitCode).toBe(0);
      const key = r.stdout.trim();
      expect(key).toMatch(HEX64);
      return key;
    };
    const seeds = ["s0.seed", "s1.seed", "s2.seed"].map((s) => join(d, s));
    const serverKeys = [await keygen(seeds[0]!), await keygen(seeds[1]!), await keygen(seeds[2]!)];
    const payerSeed = join(d, "payer.seed");
    const payer = await keygen(payerSeed);
    const payees = [await keygen(join(d, "p0.seed")), await keygen(join(d, "p1.seed")), await keygen(join(d, "p2.seed"))];

    const ports: number[] = [];
    while (ports.length < 3) {
      const p = await freePort();
      if (!ports.includes(p)) ports.push(p);
    }
    const addresses = ports.map((p) => `${HOST}:${p}`);
    // The payer holds what it spends; server 1's key holds the rest of the supply and never moves.
    const genesis: Record<string, number> = { [payer]: PAYER_START, [serverKeys[1]!]: SUPPLY - PAYER_START };
    const genesisTotal = Object.values(genesis).reduce((a, b) => a + b, 0);
    writeJson(netPath, {
      servers: serverKeys.map((key, i) => ({ key, address: addresses[i] })),
      interval: INTERVAL,
      blackout: BLACKOUT,
      skew: SKEW,
      genesis,
    });

    const nodeArgs = (i: number) => ["--network", netPath, "--seed", seeds[i]!, "--data", join(d, `d${i}`)];
    const start = async (i: number) => {
      nodes[i] = await startBinaryNode(d, nodeArgs(i), ports[i]!);
    };

    // ---- Paying ------------------------------------------------------------------------------
    const accepted: Accepted[] = [];
    const rejections: string[] = [];
    let counter = 0;
    const serverOf = (address: string): number => {
      const i = addresses.indexOf(address);
      if (i < 0) throw new Error(`pay named an unknown server ${address}`);
      return i;
    };

    /** One `scryp pay` of a fresh amount to the next payee. Returns the accepting server, or null. */
    const payOnce = async (): Promise<number | null> => {
      counter++;
      const payee = payees[counter % payees.length]!;
      const amount = counter; // distinct amounts: no two payments share their signed bytes
      const r = await runScryp(["pay", payee, String(amount), "--network", netPath, "--seed", payerSeed], d);
      if (r.exitCode === 0) {
        const m = ACCEPTED.exec(r.stdout);
        if (m === null) throw new Error(`pay exit 0 without an "accepted" line: ${JSON.stringify(r)}`);
        expect(m[2]).toBe(String(amount));
        expect(m[3]).toBe(payee);
        const server = serverOf(m[4]!);
        accepted.push({ id: m[1]!, payee, amount, server, atMs: Date.now() });
        return server;
      }
      const m = REJECTED.exec(r.stderr);
      if (r.exitCode !== 1 || m === null) throw new Error(`pay ended neither accepted nor rejected: ${JSON.stringify(r)}`);
      // A payment sent just as a window opens (previous window not yet agreed) or closes is refused.
      if (m[1] !== "NOT_ACCEPTING") throw new Error(`unexpected rejection: ${r.stderr}`);
      rejections.push(`${m[3]}: ${m[1]}`);
      return null;
    };

    /**
     * With a server down, waits until the alpha of now is alive with time to spare before its
     * blackout, so `scryp pay` never picks (or waits its way into) the dead server's window.
     */
    const waitForLiveAlpha = async (dead: number) => {
      for (;;) {
        const now = Date.now();
        const w = windowAt(now, SCHEDULE);
        if (alphaOf(w, SCHEDULE) !== dead && now < blackoutStartMs(w, SCHEDULE) - 400) return;
        let next = w + 1;
        while (alphaOf(next, SCHEDULE) === dead) next++;
        await Bun.sleep(windowStartMs(next, SCHEDULE) - now + 20);
      }
    };

    const allStatuses = async () => Promise.all([0, 1, 2].map(status));
    let lastSeen: (Status | null)[] = [];
    const brief = () =>
      JSON.stringify(lastSeen.map((s) => (s ? { agreed: s.agreed.window, hash: s.ledger.stateHash.slice(0, 12), pending: s.ledger.pending, syncing: s.syncing } : null)));

    let killedLog = "";
    try {
      // ---- Start the three nodes; wait for the first agreed handover -------------------------
      await Promise.all([0, 1, 2].map(start));
      mark("started");
      await waitUntil(
        "a first agreed window on all three",
        4 * INTERVAL + 2_000,
        async () => {
          lastSeen = await allStatuses();
          return lastSeen.every((s) => s !== null && s.agreed.window >= 0);
        },
        brief,
      );
      mark("first agreement");

      // ---- Two full rotations of payments through every alpha --------------------------------
      const rotationStart = windowAt(Date.now(), SCHEDULE);
      const acceptedBy = new Set<number>();
      {
        const deadline = Date.now() + 9 * INTERVAL;
        while (windowAt(Date.now(), SCHEDULE) < rotationStart + 6 || acceptedBy.size < 3) {
          if (Date.now() > deadline) throw new Error(`after 9 windows, only servers ${[...acceptedBy].join(", ")} accepted a payment`);
          const s = await payOnce();
          if (s !== null) acceptedBy.add(s);
          await Bun.sleep(PAY_GAP_MS);
        }
      }
      expect([...acceptedBy].sort()).toEqual([0, 1, 2]);
      mark(`two rotations (${accepted.length} accepted)`);

      // ---- Kill the idle server (neither the alpha nor the beta right now) -------------------
      // Inside window w before its blackout: alpha w, beta w-1 (already handed over); w+1 is idle.
      let victim = -1;
      for (;;) {
        const now = Date.now();
        const w = windowAt(now, SCHEDULE);
        if (now >= windowStartMs(w, SCHEDULE) + 200 && now < blackoutStartMs(w, SCHEDULE) - 200) {
          victim = alphaOf(w + 1, SCHEDULE);
          break;
        }
        await Bun.sleep(25);
      }
      const live = [0, 1, 2].filter((i) => i !== victim);
      await nodes[victim]!.kill("SIGKILL");
      killedLog = `---- server ${victim} (${addresses[victim]}) log before SIGKILL, last lines ----\n${tail(nodes[victim]!.log(), 60)}`;
      nodes[victim] = null;
      mark(`killed server ${victim}`);

      // ---- Keep paying through the other two: each accepts at least one ---------------------
      {
        const byLive = new Set<number>();
        const deadline = Date.now() + 6 * INTERVAL;
        while (byLive.size < 2) {
          if (Date.now() > deadline) throw new Error(`server ${victim} down: after 6 windows only ${[...byLive].join(", ")} accepted`);
          await waitForLiveAlpha(victim);
          const s = await payOnce();
          if (s !== null) {
            expect(s).not.toBe(victim);
            byLive.add(s);
          }
          await Bun.sleep(PAY_GAP_MS);
        }
      }
      mark(`paid through ${live.join(" and ")} (${accepted.length} accepted)`);

      // ---- Restart it; it catches up with the other two --------------------------------------
      await start(victim);
      mark(`restarted server ${victim}`);
      await waitUntil(
        `server ${victim} to catch up (same agreed window and state hash as the others)`,
        4 * INTERVAL,
        async () => {
          lastSeen = await allStatuses();
          const [a, b, c] = lastSeen;
          if (!a || !b || !c) return false;
          return (
            a.agreed.window === b.agreed.window &&
            b.agreed.window === c.agreed.window &&
            a.ledger.stateHash === b.ledger.stateHash &&
            b.ledger.stateHash === c.ledger.stateHash
          );
        },
        brief,
      );
      mark(`server ${victim} caught up`);

      // ---- The restarted server accepts again in its own window ------------------------------
      {
        const deadline = Date.now() + 2 * 3 * INTERVAL;
        let byVictim = false;
        while (!byVictim) {
          if (Date.now() > deadline) throw new Error(`the restarted server ${victim} accepted nothing in two rotations`);
          byVictim = (await payOnce()) === victim;
          await Bun.sleep(PAY_GAP_MS);
        }
      }
      mark(`restarted server ${victim} accepted (${accepted.length} accepted in all)`);

      // ---- The end: same agreed window, hash and balances on all three -----------------------
      const lastWindow = windowAt(accepted.at(-1)!.atMs, SCHEDULE);
      await waitUntil(
        "all three at the same agreed window (past the last payment) with the same state hash",
        4 * INTERVAL,
        async () => {
          lastSeen = await allStatuses();
          const [a, b, c] = lastSeen;
          if (!a || !b || !c) return false;
          return (
            a.agreed.window >= lastWindow &&
            a.agreed.window === b.agreed.window &&
            b.agreed.window === c.agreed.window &&
            a.ledger.stateHash === b.ledger.stateHash &&
            b.ledger.stateHash === c.ledger.stateHash
          );
        },
        brief,
      );
      mark("final agreement");
      const final = lastSeen as Status[];
      for (const s of final) {
        expect(s.agreed.hash).toBe(final[0]!.agreed.hash);
        expect(s.ledger.stateHash).toBe(final[0]!.agreed.hash); // nothing pending past the agreed state
        expect(s.ledger.supply).toBe(genesisTotal);
        expect(s.ledger.supply).toBe(SUPPLY);
        expect(s.ledger.payments).toBe(accepted.length);
        expect(s.ledger.pending).toBe(0);
        expect(s.syncing).toBe(false);
      }

      // Expected balances from the accepted payments.
      const expected = new Map<string, number | null>(payees.map((p) => [p, null]));
      let spent = 0;
      for (const a of accepted) {
        expected.set(a.payee, (expected.get(a.payee) ?? 0) + a.amount);
        spent += a.amount;
      }
      expected.set(payer, PAYER_START - spent);
      expected.set(serverKeys[1]!, SUPPLY - PAYER_START);
      for (const [id, balance] of expected) {
        const onEach = await Promise.all([0, 1, 2].map((i) => balanceOn(i, id)));
        expect({ id, onEach }).toEqual({ id, onEach: [balance, balance, balance] });
      }
      // Every acknowledged payment is stored on every server.
      for (const a of accepted) {
        const onEach = await Promise.all([0, 1, 2].map(async (i) => (await fetchJson(`${nodes[i]!.url}/tx/${a.id}`)).status));
        expect({ id: a.id, onEach }).toEqual({ id: a.id, onEach: [200, 200, 200] });
      }

      // `scryp balance` prints the majority's balance.
      const b = await runScryp(["balance", payer, "--network", netPath], d);
      expect(b.stderr).toBe("");
      expect(b.exitCode).toBe(0);
      expect(b.stdout).toBe(`${PAYER_START - spent} scryp (account ${payer})\n`);
      const bp = await runScryp(["balance", payees[0]!, "--network", netPath], d);
      expect(bp.exitCode).toBe(0);
      expect(bp.stdout).toBe(`${expected.get(payees[0]!)} scryp (account ${payees[0]})\n`);

      mark("done");
      // SCRYP_E2E_LOGS=1 prints the nodes' logs of a passing run too.
      if (process.env.SCRYP_E2E_LOGS === "1") {
        console.error(killedLog);
        for (const [i, n] of nodes.entries()) console.error(`---- server ${i} (${addresses[i]}) log ----\n${n!.log()}`);
      }
      console.error(`[three-servers] ${phases.join("; ")}; ${accepted.length} accepted, ${rejections.length} refused (NOT_ACCEPTING)`);
    } catch (e) {
      mark("failed");
      console.error(`[three-servers] ${phases.join("; ")}`);
      console.error(`[three-servers] accepted: ${accepted.length}, refused: ${rejections.join(", ")}`);
      if (killedLog) console.error(killedLog);
      for (const [i, n] of nodes.entries()) {
        if (n) console.error(`---- server ${i} (${addresses[i]}) log, last lines ----\n${tail(n.log(), 80)}`);
      }
      throw e;
    }
  },
  90_000,
);
