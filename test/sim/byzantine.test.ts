// Issue 9 item 7: one Byzantine server among honest ones (src/sim/byzantine.ts). It runs the real
// node but tampers with what it sends: equivocating handovers and votes, handovers with forged,
// overspending and out-of-window payments, relays that contradict its handover, replays of its old
// messages, copies for another network. Every invariant of src/sim/invariants.ts is checked after
// every event for the honest servers (supply, no payment applied twice, final never forks, no
// made-up invalid payment agreed; "agreed" may fork only as far as one faulty server can make it);
// then the network is healed, the faulty server calmed, and the honest servers must converge. Each
// test also checks what its behaviour must lead to (a proof naming the faulty server, forged
// payments absent, the messages refused). Fixed seeds: each replays exactly.
import { describe, expect, test } from "bun:test";
import { trafficUntil, expectConverged, runToWindow, windowNow, windowStart, withSim, type SimConfig } from "./sim-helpers.ts";
import type { Simulation } from "../../src/sim/simulator.ts";
import type { ByzantineBehaviour } from "../../src/sim/byzantine.ts";
import { replayCommand, runSeed, type SeedRun } from "../../src/sim/swarm.ts";
import { Coordinator } from "../../src/core/consensus/coordinator.ts";
import { encodeHandover, encodeVote } from "../../src/core/consensus/peer-message.ts";
import { peerLimits } from "../../src/core/consensus/peer-limits.ts";
import { parseNetwork } from "../../src/core/network.ts";
import { Ledger } from "../../src/ledger/ledger.ts";
import { verifySignature } from "../../src/core/verify.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { buildPayment } from "../../src/core/payment.ts";
import { toHex } from "../../src/core/bytes.ts";
import { SUPPLY } from "../../src/core/limits.ts";
import { alphaOf, blackoutStartMs, windowStartMs, type ScheduleParams } from "../../src/core/schedule.ts";
import { testKeyPair } from "../support/helpers.ts";

/** Per test: a few seconds of simulated traffic on a 2-core machine; bun's default bound is 5 s. */
const TEST_TIMEOUT_MS = 30_000;

interface ByzantineRun {
  readonly seed: number;
  readonly servers: 3 | 5;
  readonly faulty: number;
  readonly behaviours: readonly ByzantineBehaviour[];
  /** Windows of traffic while the faulty server misbehaves. */
  readonly windows: number;
  readonly faults?: Omit<SimConfig, "seed" | "servers" | "byzantine">;
}

/**
 * Traffic for `windows` windows with the faulty server tampering with every message it can (rate
 * 1), then healed (the faulty server calmed) and quiet: the honest servers must converge on one
 * agreed checkpoint, the last window. `inspect` sees the simulation after that.
 */
function byzantineRun(run: ByzantineRun, inspect: (sim: Simulation, honest: number[]) => void): void {
  withSim({ seed: run.seed, servers: run.servers, byzantine: { server: run.faulty, behaviours: run.behaviours, rate: 1 }, ...run.faults }, (sim) => {
    trafficUntil(sim, windowStart(sim, windowNow(sim) + run.windows));
    sim.heal();
    runToWindow(sim, windowNow(sim) + 4);
    const honest = sim.honestServers().map((s) => s.index);
    const label = `byzantine server ${run.faulty} (${run.behaviours.join(", ")})`;
    expectConverged(sim, label, honest);
    for (const i of honest) expect(sim.servers[i]!.coordinator.agreed.window, `${label} (seed ${run.seed}): server ${i} agreed the last window`).toBe(windowNow(sim) - 1);
    // No honest server is ever accused; the faulty one only if it equivocated.
    const faultyKey = sim.network.servers[run.faulty]!.keyHex;
    for (const i of honest) for (const e of sim.servers[i]!.coordinator.equivocations()) expect(e.server, `seed ${run.seed}: server ${i} accuses only the faulty server`).toBe(faultyKey);
    expect(sim.invariants.finalWindows, `seed ${run.seed}: windows became final meanwhile`).toBeGreaterThan(0);
    inspect(sim, honest);
  });
}

const idBytes = (idHex: string): Uint8Array => Uint8Array.from(Buffer.from(idHex, "hex"));

/** The honest servers holding a proof that the faulty server equivocated. */
function provenBy(sim: Simulation, honest: readonly number[], faulty: number): number[] {
  const key = sim.network.servers[faulty]!.keyHex;
  return honest.filter((i) => sim.servers[i]!.coordinator.equivocations().some((e) => e.server === key));
}

describe("one Byzantine server: the honest servers hold every invariant and converge", () => {
  for (const [seed, servers, faulty] of [
    [9701, 3, 1],
    [9702, 5, 3],
  ] as const) {
    test(
      `two handovers and two votes of one window, to different peers: 'agreed' may fork, 'final' never; the fork is proven (seed ${seed}, ${servers} servers)`,
      () => {
        byzantineRun({ seed, servers, faulty, behaviours: ["equivocate-handover"], windows: 3 * servers }, (sim, honest) => {
          const b = sim.byzantine!;
          expect(b.stats.equivocatedHandovers, `seed ${seed}: handovers equivocated`).toBeGreaterThan(0);
          expect(b.stats.forgedVotes).toBeGreaterThan(0);
          // Every honest server learned of it (a sloppy resend, a certificate of the other side).
          expect(provenBy(sim, honest, faulty), `seed ${seed}: honest servers holding a proof`).toEqual(honest);
          const windows = new Set(honest.flatMap((i) => sim.servers[i]!.coordinator.equivocations().map((e) => e.window)));
          for (const w of windows) expect(b.equivocatedWindows.has(w), `seed ${seed}: proven window ${w} is one it equivocated in`).toBe(true);
        });
      },
      TEST_TIMEOUT_MS,
    );
  }

  test(
    "handovers with a forged, an overspending and an out-of-window payment: none is ever applied, and the handover contradicting the relays is proven (seed 9703)",
    () => {
      const seed = 9703;
      byzantineRun({ seed, servers: 3, faulty: 2, behaviours: ["bad-payments"], windows: 9 }, (sim, honest) => {
        const b = sim.byzantine!;
        expect(b.stats.badHandovers, `seed ${seed}: bad handovers sent`).toBeGreaterThan(1);
        expect(b.neverValid.size).toBeGreaterThanOrEqual(3 * b.stats.badHandovers - 1);
        for (const i of honest) {
          for (const idHex of b.neverValid) expect(sim.servers[i]!.ledger.hasPayment(idBytes(idHex)), `seed ${seed}: server ${i} holds made-up payment ${idHex.slice(0, 16)}`).toBe(false);
        }
        // Its handovers hold payments its relays did not: a relay and the handover that differ at
        // one position are a proof (PROTOCOL §7 step 10), found by every honest server.
        expect(provenBy(sim, honest, 2), `seed ${seed}: honest servers holding a proof against the faulty server`).toEqual([...honest]);
        // No honest server is ever named.
        for (const i of honest) for (const e of sim.servers[i]!.coordinator.equivocations()) expect(e.server).toBe(sim.network.servers[2]!.keyHex);
      });
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "relays that contradict the handover at one position: proven, the handover refused, nothing applied twice (seed 9704)",
    () => {
      const seed = 9704;
      byzantineRun({ seed, servers: 3, faulty: 0, behaviours: ["contradicting-relay"], windows: 9 }, (sim, honest) => {
        expect(sim.byzantine!.stats.contradictingRelays, `seed ${seed}: contradicting relays sent`).toBeGreaterThan(3);
        // The handover that contradicts the relays is a proof (PROTOCOL §7 step 10) at every honest
        // server, and is refused: the window is rescued from the relays a majority holds. What the
        // faulty alpha acknowledged is not promised; what honest alphas acknowledged is kept.
        expect(provenBy(sim, honest, 0), `seed ${seed}: honest servers holding a proof against the faulty server`).toEqual([...honest]);
        for (const [id, by] of sim.acknowledgedBy) {
          if (by !== 0) expect(sim.servers[honest[0]!]!.ledger.hasPayment(idBytes(id)), `seed ${seed}: payment ${id.slice(0, 16)} acknowledged by honest server ${by}`).toBe(true);
        }
      });
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "replays of its old messages and copies signed for another network are refused and change nothing (seed 9705, with loss and duplicates)",
    () => {
      const seed = 9705;
      byzantineRun({ seed, servers: 5, faulty: 4, behaviours: ["replay", "other-network"], windows: 10, faults: { lossRate: 0.05, duplicateRate: 0.05 } }, (sim, honest) => {
        const b = sim.byzantine!;
        expect(b.stats.replays, `seed ${seed}: replays`).toBeGreaterThan(5);
        expect(b.stats.otherNetwork, `seed ${seed}: copies for another network`).toBeGreaterThan(5);
        for (const i of honest) expect(sim.servers[i]!.coordinator.counters.peerRejected, `seed ${seed}: server ${i} refused messages`).toBeGreaterThan(0);
        expect(provenBy(sim, honest, 4)).toEqual([]);
      });
    },
    TEST_TIMEOUT_MS,
  );
});

describe("the swarm with a Byzantine server (fixed seeds, ci fault mix)", () => {
  // Under loss, crashes and partitions. The first two found that an honest alpha's acknowledged
  // payments go with a forked checkpoint they were accepted on (the swarm excuses exactly those);
  // the third does everything but "double-vote" (see the todo below).
  const all: readonly ByzantineBehaviour[] = ["equivocate-handover", "bad-payments", "contradicting-relay", "replay", "other-network"];
  for (const [seed, servers, seconds, behaviours] of [
    [142423054, 3, 20, ["equivocate-handover"]],
    [132438621, 5, 20, ["equivocate-handover"]],
    [455453497, 3, 30, all],
  ] as const) {
    test(
      `seed ${seed} (${servers} servers, ${seconds} s, ${behaviours.join(", ")}): every honest-server invariant holds, the honest servers converge`,
      () => {
        const run: SeedRun = { seed, servers, seconds, mode: "ci", byzantine: true, behaviours };
        const r = runSeed(run);
        expect({ ok: r.ok, failure: r.failure }, `${r.message ?? ""} (replay: ${replayCommand(run)})`).toEqual({ ok: true, failure: null });
        expect(r.byzantine!.stats.equivocatedHandovers, `seed ${seed}: it equivocated`).toBeGreaterThan(0);
        // Not necessarily every honest server: one that was down when the proof went round learns it
        // only from the next vote it casts in a window with a proof (the seeds are re-picked when a
        // change of the coordinator changes their course so that the faulty server never equivocates).
        expect(r.byzantine!.provenBy, `seed ${seed}: honest servers holding a proof`).toBeGreaterThan(0);
      },
      TEST_TIMEOUT_MS,
    );
  }
});

describe("coordinator findings of the Byzantine server (fixed; kept as regressions)", () => {
  // FOUND (issue 9 item 7): a faulty server's second vote makes an honest server withdraw a
  // checkpoint that an honest majority backs. proveEquivocation() withdraws the latest checkpoint
  // when the voters of its *recorded certificate* are no majority without the equivocator — but
  // the certificate is just the first majority that arrived (here {A, C}); B's vote for the same
  // hash, held since, is not counted, and nothing recounts it afterwards (B's resends are "the very
  // same vote"). The window had even become final at C (3 of 3 at one hash), and is undone all the
  // same: the payment goes, and the final window goes back (the coordinator's comment says this
  // "cannot happen with one faulty server").
  test("a second vote of a faulty server does not undo a window an honest majority voted for, nor a final one", () => {
    const keys = [testKeyPair(301), testKeyPair(302), testKeyPair(303)];
    const payer = testKeyPair(310);
    const payee = testKeyPair(311);
    const intervalMs = 1000;
    const network = parseNetwork({
      servers: keys.map((k, i) => ({ key: toHex(k.publicKey), address: `127.0.0.1:${9200 + i}` })),
      interval: intervalMs,
      blackout: 400,
      skew: 150,
      genesis: { [toHex(payer.publicKey)]: 1_000, [toHex(testKeyPair(312).publicKey)]: SUPPLY - 1_000 },
    });
    const schedule: ScheduleParams = { serverCount: 3, intervalMs, blackoutMs: 400 };
    const k = 1_795_000_004;
    const B = alphaOf(k, schedule); // the honest beta
    const A = (B + 1) % 3; // the faulty server
    const C = (B + 2) % 3; // the honest server under test
    const nowMs = blackoutStartMs(k, schedule) + 20;
    const ledger = Ledger.open(":memory:", { genesis: network.genesis, nowMs });
    try {
      const c = new Coordinator({ network, selfIndex: C, seed: keys[C]!.seed, ledger, verify: verifySignature, log: silentLogger, flushIntake: () => {} });
      const base = ledger.agreed();
      const payment = buildPayment({ timestampMs: windowStartMs(k, schedule) + 100, amount: 1_000, payee: payee.publicKey, payer: payer.publicKey, payerSeed: payer.seed });
      const handover = encodeHandover(
        { networkId: network.id, sender: keys[B]!.publicKey, window: k, sentAtMs: nowMs, baseWindow: base.window, baseHash: base.hash, hash: base.hash, payments: [payment] },
        keys[B]!.seed,
        peerLimits(network.capacity),
      );
      // A vote for `hash` with the base, batch and history of C's state after the handover.
      const vote = (server: number, hash: Uint8Array) =>
        encodeVote(
          { networkId: network.id, sender: keys[server]!.publicKey, window: k, sentAtMs: nowMs, baseWindow: base.window, baseHash: base.hash, batch: ledger.batchDigest(k), hash, history: ledger.historyDigest() },
          keys[server]!.seed,
        );
      expect(c.receive(handover, nowMs).ok).toBe(true);
      const h = ledger.stateHashBytes();
      // A's vote for h arrives first: C records window k with the certificate {A, C}.
      expect(c.receive(vote(A, h), nowMs + 1).ok).toBe(true);
      expect(c.agreed).toEqual({ window: k, hash: toHex(h) });
      // B's vote for h: an honest majority {B, C} now backs it, and it is final (3 of 3).
      expect(c.receive(vote(B, h), nowMs + 2).ok).toBe(true);
      expect(c.final.window).toBe(k);
      // A's second vote, for another hash: a proof against A. A's votes of k count for nothing —
      // but B and C still make a majority for h: the window must stay, final and applied.
      c.receive(vote(A, new Uint8Array(32).fill(7)), nowMs + 3);
      expect(c.equivocations().map((e) => e.server)).toEqual([toHex(keys[A]!.publicKey)]);
      expect(c.agreed, "the checkpoint of window k, backed by B and C").toEqual({ window: k, hash: toHex(h) });
      expect(c.final.window, "the final window never goes back").toBe(k);
      expect(ledger.balance(payee.publicKey), "the payment of window k stays").toBe(1_000);
    } finally {
      ledger.close();
    }
  });

  // The same finding under the swarm: a faulty server that double-votes makes honest servers
  // withdraw windows their honest majority agreed (log: "the checkpoint of window 1795564815 had
  // its majority only with the equivocating server's vote: withdrawn; … 15 payment(s) undone" at
  // servers 0 and 2, both of which had voted its hash), and the honest alpha's acknowledged
  // payments of that window are lost (invariant agreed-payment-lost).
  test("seed 258010618 (3 servers, 30 s, every behaviour): every honest-server invariant holds", () => {
    const run: SeedRun = { seed: 258010618, servers: 3, seconds: 30, mode: "ci", byzantine: true };
    const r = runSeed(run);
    expect({ ok: r.ok, failure: r.failure }, `${r.message ?? ""} (replay: ${replayCommand(run)})`).toEqual({ ok: true, failure: null });
  });

  // And its liveness side: after such withdrawals the three servers stand at three checkpoints
  // (server 2 withdrew window 1795564806 and is back at …05, server 0 withdrew …09 and is at …06,
  // the faulty server 1 is at …09); each hands over on its own base, no one else is there, and
  // server 2 refuses every certificate it is offered ("not a majority without the votes of servers
  // proven to equivocate") although servers 0 and 2 had both voted window …06's hash: no window is
  // agreed for the 20 windows to the end of the run, healed or not (did-not-converge).
  test("seed 423590300 (3 servers, 20 s, double votes only): the honest servers converge after the withdrawals", () => {
    const run: SeedRun = { seed: 423590300, servers: 3, seconds: 20, mode: "ci", byzantine: true, behaviours: ["double-vote"] };
    const r = runSeed(run);
    expect({ ok: r.ok, failure: r.failure }, `${r.message ?? ""} (replay: ${replayCommand(run)})`).toEqual({ ok: true, failure: null });
  });
});
