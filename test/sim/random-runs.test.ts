// Random runs: three and five servers, hundreds of windows of random payments, with and without
// message loss, fixed seeds. After healing the network and a few quiet windows, every server must
// hold the same agreed checkpoint, state hash and balances; the safety invariants must hold; and a
// good share of payments must have been accepted (a run that accepts nothing fails).
import { describe, expect, test } from "bun:test";
import { healAndExpectConverged, withSim } from "./sim-helpers.ts";

interface RandomRun {
  readonly servers: number;
  readonly seed: number;
  readonly lossRate: number;
  readonly windows: number;
}

const runs: RandomRun[] = [
  { servers: 3, seed: 1, lossRate: 0, windows: 250 },
  { servers: 3, seed: 2, lossRate: 0, windows: 250 },
  { servers: 3, seed: 3, lossRate: 0.1, windows: 250 },
  { servers: 3, seed: 4, lossRate: 0.1, windows: 250 },
  { servers: 3, seed: 5, lossRate: 0.1, windows: 250 },
  { servers: 5, seed: 11, lossRate: 0, windows: 200 },
  { servers: 5, seed: 12, lossRate: 0.1, windows: 200 },
  { servers: 5, seed: 13, lossRate: 0.1, windows: 200 },
];

describe("random runs", () => {
  for (const run of runs) {
    test(`${run.servers} servers, ${run.windows} windows, loss ${run.lossRate}, seed ${run.seed}`, () => {
      withSim({ seed: run.seed, servers: run.servers, lossRate: run.lossRate }, (sim) => {
        const label = `${run.servers} servers, loss ${run.lossRate}`;
        sim.randomTraffic(run.windows, 10);
        expect(() => sim.checkSafety(), `seed ${run.seed}: safety during traffic`).not.toThrow();
        healAndExpectConverged(sim, label);

        // A good share accepted: ~10% of attempts try to spend 2^31−1 and fail for balance, and a
        // few land at a switch; anything far below this means consensus stalled.
        const { submitted, accepted } = sim.stats;
        expect(submitted, `seed ${run.seed}: payments submitted`).toBeGreaterThan(run.windows * 5);
        expect(accepted / submitted, `seed ${run.seed}: share accepted (${accepted}/${submitted})`).toBeGreaterThan(run.lossRate === 0 ? 0.8 : 0.7);

        // Every server agreed nearly every window itself or by resync: the agreed window is the last one.
        for (const s of sim.servers) {
          const c = s.coordinator.counters;
          expect(c.agreed + c.resyncs, `seed ${run.seed}: server ${s.index} agreements+resyncs ${JSON.stringify(c)}`).toBeGreaterThan(run.windows / 2);
          if (run.lossRate === 0) {
            expect(c.rollbacks, `seed ${run.seed}: server ${s.index} rollbacks without loss`).toBe(0);
            expect(c.peerRejected, `seed ${run.seed}: server ${s.index} rejected peer messages without loss`).toBe(0);
          }
        }

        // Acknowledged payments survive: with a perfect network, every one is in every ledger;
        // with loss, a few may be rolled back, but the large majority must remain.
        let kept = 0;
        for (const [idHex] of sim.acknowledged) {
          const id = Uint8Array.from(Buffer.from(idHex, "hex"));
          if (sim.servers[0]!.ledger.payment(id) !== undefined) kept++;
        }
        const total = sim.acknowledged.size;
        expect(total, `seed ${run.seed}: acknowledged`).toBe(accepted);
        if (run.lossRate === 0) expect(kept, `seed ${run.seed}: acknowledged payments kept`).toBe(total);
        else expect(kept / total, `seed ${run.seed}: share of acknowledged payments kept (${kept}/${total})`).toBeGreaterThan(0.9);
      });
    });
  }
});
