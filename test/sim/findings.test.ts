// Consensus bugs found while writing the simulation tests, kept as regression tests. Each states a
// property the protocol promises (coordinator.ts header, docs/PROTOCOL.md) and a fixed scenario
// that once broke it. Deterministic: the seed in each name replays it exactly.
import { describe, expect, test } from "bun:test";
import { toHex } from "../../src/core/bytes.ts";
import {
  alphaOfWindow,
  blackoutStart,
  healAndExpectConverged,
  runToWindow,
  trafficUntil,
  view,
  watchCheckpointInvariant,
  windowNow,
  windowStart,
  withSim,
} from "./sim-helpers.ts";
import type { Simulation } from "../../src/sim/simulator.ts";
import { replayCommand, runSeed } from "../../src/sim/swarm.ts";

/**
 * Window k's payments are handed over and all three servers vote the same hash H, but for about
 * one window the votes and certificate answers do not reach the beta (A) and the next alpha (B);
 * only the third server (C) sees the majority. Optionally C gets neither the handover nor the
 * relays of window k (so it holds the certificate without the payments).
 */
function partitionAroundWindow(sim: Simulation, k: number, dropHandoverToThird: boolean) {
  const A = alphaOfWindow(sim, k);
  const B = alphaOfWindow(sim, k + 1);
  const C = 3 - A - B;
  sim.dropRules = [
    (_from, to, kind, now) => kind === "vote" && (to === A || to === B) && now >= blackoutStart(sim, k) - 50 && now < blackoutStart(sim, k) + 300,
    (_from, to, kind, now) => kind === "certificate" && (to === A || to === B) && now >= blackoutStart(sim, k) && now < blackoutStart(sim, k + 1) + 100,
    (from, to, kind, now) => dropHandoverToThird && (kind === "handover" || kind === "relay") && from === A && to === C && now >= windowStart(sim, k) && now < blackoutStart(sim, k + 1),
  ];
  return { A, B, C };
}

describe("findings from the simulation tests (fixed; kept as regressions)", () => {
  // The protocol's rule "no majority by the end of the beta period: return to the last agreed
  // checkpoint" means a window whose certificate reached only one server (every vote and
  // certificate answer to the other two lost for a whole beta period) is rolled back by the
  // majority, and that one server follows it (docs/PROTOCOL.md, known limits). What holds is
  // what `scryp pay --wait` relies on: a window recorded by a majority of servers is never
  // undone, so a payment reported confirmed never disappears; and everyone converges.
  test("a window recorded by only one server may roll back, but never one recorded by a majority (seed 801)", () => {
    const seed = 801;
    withSim({ seed, servers: 3 }, (sim) => {
      trafficUntil(sim, windowStart(sim, windowNow(sim) + 4));
      const k = windowNow(sim) + 2;
      const { A, C } = partitionAroundWindow(sim, k, false);
      runToWindow(sim, k, 100);
      const ids = [0, 1, 2].map((n) => {
        const o = sim.payAndFlush(n, n + 3, 1000 + n, A);
        if (o === "no-server" || !o.accepted) throw new Error(`seed ${seed}: setup payment refused`);
        return o.id;
      });
      // Watch which servers record window k, at every step of the run.
      const recordedBy = new Set<number>();
      const watch = () => {
        for (const s of sim.servers) if (s.ledger.checkpoint(k) !== undefined) recordedBy.add(s.index);
      };
      for (let t = blackoutStart(sim, k); t < windowStart(sim, k + 5); t += 20) {
        sim.runUntil(t);
        watch();
      }
      expect(recordedBy.has(C), `seed ${seed}: server ${C} recorded window ${k}`).toBe(true);
      healAndExpectConverged(sim, "finality");
      const kept = sim.servers.map((s) => ids.every((id) => s.ledger.payment(id) !== undefined));
      if (recordedBy.size * 2 > sim.servers.length) {
        // Recorded by a majority: final everywhere.
        expect(kept, `seed ${seed}: window ${k} recorded by ${[...recordedBy]}: its payments everywhere`).toEqual([true, true, true]);
      } else {
        // Recorded by a minority only: it may go, but the same way on every server.
        expect(new Set(kept).size, `seed ${seed}: servers agree on whether window ${k}'s payments stayed`).toBe(1);
      }
    });
  });

  test("a failed or stale resync never leaves a server's ledger behind its own checkpoint (seed 801, handover also lost)", () => {
    const seed = 801;
    withSim({ seed, servers: 3 }, (sim) => {
      trafficUntil(sim, windowStart(sim, windowNow(sim) + 4));
      const k = windowNow(sim) + 2;
      const { A } = partitionAroundWindow(sim, k, true);
      const violations = watchCheckpointInvariant(sim);
      runToWindow(sim, k, 100);
      for (const n of [0, 1, 2]) sim.payAndFlush(n, n + 3, 1000 + n, A);
      runToWindow(sim, k + 6);
      // Today: C learns window k's certificate but cannot apply it; A and B roll k back. C's resync
      // to k's hash fails (nobody has it any more), turns into a deep resync from genesis, fails
      // again and leaves C's ledger at the genesis state while its checkpoint still says k−1; a
      // late answer to that resync even undoes a successful resync to k+2 the same way.
      expect(violations, `seed ${seed}: state hash ≠ agreed hash with nothing pending`).toEqual([]);
      healAndExpectConverged(sim, "stale resync");
    });
  });

  for (const [servers, seed, windows] of [
    [3, 5, 250],
    [5, 12, 200],
  ] as const) {
    test(`random run, ${servers} servers, loss 0.1: no server's ledger ever leaves its agreed checkpoint (seed ${seed})`, () => {
      withSim({ seed, servers, lossRate: 0.1 }, (sim) => {
        const violations = watchCheckpointInvariant(sim, 25);
        sim.randomTraffic(windows, 10);
        expect(violations, `seed ${seed}: state hash ≠ agreed hash with nothing pending`).toEqual([]);
      });
    });
  }

  test("no message loss: votes that overtake the handover do not make a server resync (seed 1)", () => {
    const seed = 1;
    withSim({ seed, servers: 3 }, (sim) => {
      sim.randomTraffic(120, 10);
      // Today: a server that applied relayed payments ahead (a speculation) has a pending window, so
      // settle() does not count it as "expecting the handover" and resyncs at once when the other
      // two votes arrive a few ms before the handover (the last ~100 ms of payments are not relayed
      // yet, so its state is not the agreed one). The handover would have completed it.
      const counters = sim.servers.map((s) => s.coordinator.counters);
      expect(counters.map((c) => c.resyncs), `seed ${seed}: resyncs per server with a perfect network ${JSON.stringify(counters)}`).toEqual([0, 0, 0]);
      expect(counters.map((c) => c.rollbacks), `seed ${seed}: rollbacks per server`).toEqual([0, 0, 0]);
    });
  });

  for (const [seed, what] of [
    [305, "window k had no payments"],
    [306, "window k's handover was lost too"],
  ] as const) {
    test(`the next alpha that missed window k's votes asks for the certificate and accepts within its window: ${what} (seed ${seed})`, () => {
      withSim({ seed, servers: 3 }, (sim) => {
        trafficUntil(sim, windowStart(sim, windowNow(sim) + 4), 10);
        const k = windowNow(sim) + 2;
        const alphaK = alphaOfWindow(sim, k);
        const next = alphaOfWindow(sim, k + 1);
        const handoverToo = seed === 306;
        sim.dropRules = [
          (_from, to, kind, now) => to === next && (kind === "vote" || (handoverToo && kind === "handover")) && now >= blackoutStart(sim, k) && now < blackoutStart(sim, k + 1),
        ];
        runToWindow(sim, k, 100);
        if (handoverToo) {
          const o = sim.payAndFlush(0, 3, 1000, alphaK);
          expect(o !== "no-server" && o.accepted, `seed ${seed}: payment in window ${k}`).toBe(true);
        }
        // The two others agree on window k at its blackout; the next alpha waits for that.
        runToWindow(sim, k + 1, 400);
        const others = [0, 1, 2].filter((i) => i !== next);
        for (const i of others) expect(view(sim, i).agreedWindow, `seed ${seed}: server ${i} agreed window ${k}`).toBe(k);
        const o = sim.payAndFlush(1, 4, 1000, next);
        // Today: it voted for window k without stored payments of k, so tick() never pulls
        // certificates (that branch needs pendingWindow()), and it refuses its whole window.
        const answer = o === "no-server" ? o : o.accepted ? "accepted" : `${o.code}: ${o.message ?? ""}`;
        expect(answer, `seed ${seed}: alpha ${next} 400 ms into window ${k + 1}`).toBe("accepted");
        healAndExpectConverged(sim, "next alpha missed the votes");
      });
    });
  }
});

describe("the open limit of part 1, closed by the rescue of a window (kept with its seed)", () => {
  // Found by the CI swarm before the replication stream: loss 9 %, crashes and short partitions. A
  // window's certificate reached only a minority before the others' rollback deadline; they rolled
  // it back, and a payment that one server held in an agreed checkpoint was lost. Acknowledging only
  // what a majority holds, and rescuing a window from it, closes it: the strict form holds now.
  test("seed 101851884 (3 servers, ci mix, 30 s): every invariant holds, invariant 5 in its strict form too", () => {
    const run = { seed: 101851884, servers: 3, seconds: 30, mode: "ci" } as const;
    const promised = runSeed(run);
    expect(promised.ok, `${promised.message ?? ""} (replay: ${replayCommand(run)})`).toBe(true);
    const strict = runSeed({ ...run, strict: true });
    expect({ ok: strict.ok, failure: strict.failure, message: strict.message }).toEqual({ ok: true, failure: null, message: null });
  });
});

describe("rescue findings (issue 8 items 2 and 3), kept with their seeds", () => {
  // Two bugs of the first rescue, found by the swarm's end check (every acknowledged payment is in
  // the converged ledger): (a) the rescuer refused the very handover a peer answered it with (it
  // had "promised" itself not to take one), so it voted "no batch" against the beta's vote and the
  // window rolled back; (b) a server that had given its relays to the rescuer still stored later
  // relays and told the alpha so, and the alpha acknowledged payments the rescue did not include;
  // (c) the only rescuer was the next alpha, cut off with the beta in a minority: the majority
  // voted "no batch" over relays they held (now the alphas after it rescue in turn); (d) a
  // rescuer of turn 2 refused the rescue of turn 1 (it had promised only itself) while its own
  // could not gather a majority of answers (two of five down, one link lost): the window rolled
  // back with ten acknowledged payments (seed 224963620, found by a CI run).
  for (const [seed, servers] of [
    [122786650, 5],
    [872362465, 3],
    [290225952, 3],
    [947739039, 3],
    [546635233, 5],
    [224963620, 5],
  ] as const) {
    test(`seed ${seed} (${servers} servers, ci mix, 30 s): no acknowledged payment lost`, () => {
      const run = { seed, servers, seconds: 30, mode: "ci" } as const;
      const r = runSeed(run);
      expect({ ok: r.ok, failure: r.failure }, `${r.message ?? ""} (replay: ${replayCommand(run)})`).toEqual({ ok: true, failure: null });
    });
  }
});
