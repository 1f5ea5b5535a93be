// What a ledger checks at open (Ledger.checkAgreedState): its accounts are its last agreed
// checkpoint plus the payments of the windows after it. The state hash is not stored any more, so
// this is what a reopen holds the file to; it must hold at every moment of a run, whatever the
// faults (loss, reordering, replays, crashes right after a commit), or a restarted server would
// refuse its own data directory.
import { describe, expect, test } from "bun:test";
import { healAndExpectConverged, withSim } from "./sim-helpers.ts";

const runs = [
  { seed: 101, servers: 3, lossRate: 0.1, crashRatePerSecond: 0.02, crashAfterCommitRate: 0.01 },
  { seed: 102, servers: 3, lossRate: 0.2, crashRatePerSecond: 0.05, crashAfterCommitRate: 0.02, delayMsMax: 150, replayRate: 0.05 },
  { seed: 103, servers: 5, lossRate: 0.1, crashRatePerSecond: 0.03, crashAfterCommitRate: 0.01, duplicateRate: 0.05 },
];

describe("every ledger is its agreed checkpoint plus the payments after it, at every moment", () => {
  for (const run of runs) {
    test(`${run.servers} servers, seed ${run.seed}, loss ${run.lossRate}, crashes`, () => {
      withSim(run, (sim) => {
        let checks = 0;
        for (let slice = 0; slice < 60; slice++) {
          sim.randomTraffic(2, 10);
          for (const s of sim.servers) {
            expect(() => s.ledger.checkAgreedState(), `seed ${run.seed}, server ${s.index}, at ${sim.nowMs} ms`).not.toThrow();
            checks++;
          }
        }
        healAndExpectConverged(sim, `seed ${run.seed}`);
        for (const s of sim.servers) expect(() => s.ledger.checkAgreedState()).not.toThrow();
        expect(checks).toBe(60 * run.servers);
        expect(sim.stats.accepted).toBeGreaterThan(100);
      });
    });
  }
});
