// Three compiled nodes whose peer links lose requests, with no test-only code in the node: each
// server's address in the network file is a LossyProxy in this process (test/support/lossy-proxy.ts)
// that forwards to the node's real port, and payers send to the real ports directly.
//
// One network, three checks in order:
//   1. every peer link loses 30% of requests for five windows while four payers pay: no window
//      that a majority of servers voted for is rolled back (each server's own votes read from its
//      ledger file; rollbacks from its log, /status and scryp_rollbacks_total);
//   2. after that, nothing acknowledged during the lossy windows disappeared;
//   3. every handover of one window is lost (its beta stays up; the relays got through): the
//      window's acknowledged payments are kept.
// The loss is seeded (printed; SCRYP_LOSS_SEED=N replays the same losses, not the same timing).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { windowAt, windowStartMs } from "../../src/core/schedule.ts";
import { Cluster, sleepUntil } from "../support/cluster.ts";
import { Payers, finalChecks } from "../support/payers.ts";

const TIMING = { intervalMs: 3_000, blackoutMs: 1_000, skewMs: 400 } as const;
const LOSS = 0.3;
const LOSSY_WINDOWS = 5;
const seed = Number(process.env.SCRYP_LOSS_SEED ?? Math.floor(Math.random() * 2 ** 31));

let c: Cluster;
let payers: Payers;
/** window → server → its vote, accumulated from each server's ledger while the network runs. */
const votes = new Map<number, Map<number, { hash: string; history: string }>>();
let lossy: { from: number; to: number } | null = null;
let failed = false;

function readVotes(): void {
  for (const i of [0, 1, 2]) {
    for (const [w, v] of c.ownVotes(i)) {
      let m = votes.get(w);
      if (m === undefined) votes.set(w, (m = new Map()));
      m.set(i, v);
    }
  }
}

/** The windows a strict majority voted for, with the hash they voted. */
function majorityVoted(): Map<number, string> {
  const out = new Map<number, string>();
  for (const [w, byServer] of votes) {
    const tally = new Map<string, number>();
    for (const v of byServer.values()) tally.set(v.hash, (tally.get(v.hash) ?? 0) + 1);
    for (const [hash, n] of tally) if (n >= 2) out.set(w, hash);
  }
  return out;
}

beforeAll(async () => {
  console.error(`[lossy-links] loss seed ${seed} (replay: SCRYP_LOSS_SEED=${seed})`);
  c = await Cluster.create({ label: "lossy-links", keyBase: 150, payers: 4, proxies: true, lossSeed: seed, ...TIMING });
  payers = new Payers(c);
  await c.startAll();
  await c.waitFirstAgreement();
});

afterAll(async () => {
  await payers?.stop();
  if (failed || process.env.SCRYP_E2E_LOGS === "1") console.error(c.diagnostics(failed ? 80 : 400));
  await c?.close();
});

describe(`every peer link loses ${LOSS * 100}% of requests for ${LOSSY_WINDOWS} windows`, () => {
  test(
    "no window that a majority voted for is rolled back",
    async () => {
      try {
        await payers.start();
        const from = windowAt(Date.now(), c.schedule) + 1;
        await sleepUntil(windowStartMs(from, c.schedule));
        for (const p of c.proxies) p.lossRate = LOSS;
        c.note(`loss ${LOSS} on every peer link from window ${from}`);
        const to = from + LOSSY_WINDOWS - 1;
        while (Date.now() < windowStartMs(to + 1, c.schedule)) {
          readVotes();
          await Bun.sleep(500);
        }
        await payers.stop();
        // The last lossy windows settle (agreed or rolled back) with the links lossy still: the
        // end of the beta period of window `to` is the blackout of `to`+1.
        await sleepUntil(windowStartMs(to + 2, c.schedule));
        for (const p of c.proxies) p.lossRate = 0;
        c.note("loss 0 again");
        lossy = { from, to };
        await c.waitConverged(to + 1, 6);
        readVotes();

        const majority = majorityVoted();
        const rolledBack: string[] = [];
        for (const i of [0, 1, 2]) {
          for (const [w, line] of c.rollbacksLogged(i)) if (majority.has(w)) rolledBack.push(`server ${i} rolled back window ${w}, which servers ${[...votes.get(w)!.entries()].filter(([, v]) => v.hash === majority.get(w)).map(([s]) => s).join(" and ")} voted for: ${line}`);
          const recent = (await c.status(i))!.recent.filter((e) => e.kind === "rollback" && majority.has(e.window));
          for (const e of recent) rolledBack.push(`server ${i} /status: rollback of window ${e.window}: ${e.detail}`);
        }
        const rollbacks = await Promise.all([0, 1, 2].map((i) => c.metric(i, "scryp_rollbacks_total")));
        const windows = [...votes.keys()].filter((w) => w >= from && w <= to);
        console.error(
          `[lossy-links] windows ${from}..${to} lossy: ${windows.filter((w) => majority.has(w)).length} of ${windows.length} had a majority of votes; ` +
            `scryp_rollbacks_total ${rollbacks.join(" / ")}; proxies: ${c.proxies.map((p) => p.describe()).join(" | ")}`,
        );
        expect(rolledBack).toEqual([]);
        // Every lossy window had its votes: a majority for one state (with or without its payments).
        expect(windows.filter((w) => !majority.has(w))).toEqual([]);
      } catch (e) {
        failed = true;
        throw e;
      }
    },
    60_000,
  );

  test(
    "nothing acknowledged during the lossy windows disappeared",
    async () => {
      if (lossy === null) throw new Error("the lossy phase did not run");
      try {
        const { problems, summary } = await finalChecks(c, payers, 4);
        console.error(`[lossy-links] ${summary}`);
        expect(problems).toEqual([]);
      } catch (e) {
        failed = true;
        throw e;
      }
    },
    30_000,
  );
});

test(
  "every handover of one window lost, its beta up: the window's acknowledged payments are kept",
  async () => {
    if (lossy === null) throw new Error("the lossy phase did not run");
    try {
      await payers.start();
      const w = windowAt(Date.now(), c.schedule) + 1;
      for (const p of c.proxies) p.dropWhen = (r) => r.kind === "handover" && r.window === w;
      c.note(`every handover of window ${w} is lost`);
      await sleepUntil(windowStartMs(w + 2, c.schedule));
      await payers.stop();
      const acked = payers.acknowledged().filter((a) => a.window === w).length;
      c.note(`${acked} payments acknowledged in window ${w}`);
      const { problems, summary } = await finalChecks(c, payers, 5, w);
      for (const p of c.proxies) p.dropWhen = null;
      console.error(`[lossy-links, handover lost] window ${w}: ${acked} acknowledged; ${summary}`);
      expect(acked).toBeGreaterThan(0);
      expect(problems).toEqual([]);
    } catch (e) {
      failed = true;
      throw e;
    }
  },
  45_000,
);
