// A bounded swarm in CI: fresh random seeds on every run (each printed, so any one replays with
// `bun run simulate --seed N --servers S --seconds T`), each with its own random fault mix of the
// "ci" kind (src/sim/swarm.ts: loss ≤ 20 %, duplicates, late replays, size-dependent delay, clock
// offsets within skew/2, partitions and crashes of a minority). Every invariant is checked after
// every event (invariant 5 as the protocol promises it today: what a majority held in an agreed
// checkpoint stays); a failing seed fails the test with the invariant, the event and the replay
// command. The harsher mix, known to hit the protocol's open limit now and then, is not run here
// (`bun run simulate --seeds N --harsh`).
//
// Every third seed has one Byzantine server (src/sim/byzantine.ts: a server drawn from the seed
// sends equivocating handovers, bad payments, contradicting relays, replays and messages for
// another network; double votes only in test/sim/byzantine.test.ts, see below); the invariants
// then hold for the honest servers, which must converge once the network is healed.
//
// About 72 s in all on this 2-core machine, in four tests of SWARM_BUDGET_MS each (bun's default
// per-test timeout here is 60 s); a test stops starting seeds once its budget is spent.
import { describe, expect, test } from "bun:test";
import { describeMix, freshSeed, replayCommand, runSeed, type SeedResult } from "../../src/sim/swarm.ts";
import { BYZANTINE_BEHAVIOURS } from "../../src/sim/byzantine.ts";

/** One seed in this many has a Byzantine server. */
const BYZANTINE_EVERY = 3;
/**
 * Every behaviour but double votes: with them about 1 seed in 100 under the ci mix (loss, crashes
 * and partitions together) leaves two honest servers a window apart for good (seed 366048490,
 * PROTOCOL §9); fresh seeds on every CI run must not fail by chance. Double votes have their
 * fixed seeds in test/sim/byzantine.test.ts, and `bun run simulate --byzantine` runs them all.
 */
const BYZANTINE_BEHAVIOURS_CI = BYZANTINE_BEHAVIOURS.filter((b) => b !== "double-vote");

const SWARM_BUDGET_MS = Number(process.env.SCRYP_SWARM_BUDGET_MS ?? 18_000);
/** Simulated seconds per seed: long enough for crashes, restarts and partitions to overlap. */
const SECONDS = 30;

function swarm(servers: 3 | 5): SeedResult[] {
  const results: SeedResult[] = [];
  const started = performance.now();
  while (performance.now() - started < SWARM_BUDGET_MS) {
    const byzantine = results.length % BYZANTINE_EVERY === BYZANTINE_EVERY - 1;
    const r = runSeed({ seed: freshSeed(), servers, seconds: SECONDS, mode: "ci", ...(byzantine ? { byzantine, behaviours: BYZANTINE_BEHAVIOURS_CI } : {}) });
    results.push(r);
    console.log(`swarm: seed ${r.run.seed}, ${servers} servers${byzantine ? ", one Byzantine" : ""}: ${r.ok ? "ok" : `FAILED (${r.failure})`} in ${r.wallMs.toFixed(0)} ms`);
    if (!r.ok) break;
  }
  return results;
}

describe("swarm: fresh random seeds with random fault mixes hold every invariant", () => {
  for (const [part, servers] of [
    [1, 3],
    [2, 5],
    [3, 3],
    [4, 5],
  ] as const) {
    test(`${servers} servers, ${SECONDS} simulated seconds a seed, part ${part} of 4`, () => {
      const results = swarm(servers);
      const failed = results.filter((r) => !r.ok);
      const detail = failed.map((r) => `${r.message}\n  mix: ${describeMix(r.mix)}\n  replay: ${replayCommand(r.run)}`).join("\n");
      expect(failed.length, detail).toBe(0);
      expect(results.length, "seeds run within the budget").toBeGreaterThan(0);
      // Not vacuous: payments were acknowledged and agreed, under faults.
      expect(results.reduce((n, r) => n + r.agreedSomewhere, 0), "acknowledged payments agreed across the seeds").toBeGreaterThan(0);
    });
  }
});
