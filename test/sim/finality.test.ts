// Issue 9 item 3: a window is final once a quorum q with 2q − n ≥ 2 voted for its hash (3 of 3,
// 4 of 5). Under the simulator: the final window follows the agreed one when every server votes,
// stops while too few can, and — with a faulty beta that signs two handovers and two votes — the
// honest servers may each see "agreed" for different hashes (a fork that one faulty server can
// cause), but never "final" for different hashes (PROTOCOL §7 step 9); and the two votes, once
// one server holds both, are a proof: kept, sent, and the forked checkpoints withdrawn.
import { describe, expect, test } from "bun:test";
import { runToWindow, trafficUntil, windowNow, windowStart, withSim } from "./sim-helpers.ts";
import { Coordinator, type Effect } from "../../src/core/consensus/coordinator.ts";
import { encodeHandover, encodeProof, encodeVote } from "../../src/core/consensus/peer-message.ts";
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

describe("the final window follows the votes", () => {
  test("3 servers, none down: every agreed window becomes final (3 of 3) (seed 1201)", () => {
    withSim({ seed: 1201, servers: 3 }, (sim) => {
      trafficUntil(sim, windowStart(sim, windowNow(sim) + 6));
      runToWindow(sim, windowNow(sim) + 1, 600);
      for (const s of sim.servers) {
        expect(s.coordinator.finalQuorum).toBe(3);
        expect(s.coordinator.final.window, `server ${s.index}: final vs agreed ${s.coordinator.agreed.window}`).toBe(s.coordinator.agreed.window);
      }
    });
  });

  test("3 servers, one down: windows are agreed (2 of 3) but none becomes final (seed 1202)", () => {
    withSim({ seed: 1202, servers: 3 }, (sim) => {
      trafficUntil(sim, windowStart(sim, windowNow(sim) + 3));
      runToWindow(sim, windowNow(sim) + 1, 600);
      const finalBefore = sim.servers[0]!.coordinator.final.window;
      sim.stop(2);
      trafficUntil(sim, windowStart(sim, windowNow(sim) + 5));
      for (const i of [0, 1]) {
        const c = sim.servers[i]!.coordinator;
        expect(c.agreed.window, `server ${i} agreed on`).toBeGreaterThan(finalBefore + 3);
        expect(c.final.window, `server ${i}: nothing final without the third`).toBeLessThanOrEqual(finalBefore + 1);
      }
    });
  });

  test("5 servers, one down: windows still become final (4 of 5) (seed 1203)", () => {
    withSim({ seed: 1203, servers: 5 }, (sim) => {
      trafficUntil(sim, windowStart(sim, windowNow(sim) + 3));
      sim.stop(4);
      trafficUntil(sim, windowStart(sim, windowNow(sim) + 5));
      runToWindow(sim, windowNow(sim) + 1, 600);
      for (const i of [0, 1, 2, 3]) {
        const c = sim.servers[i]!.coordinator;
        expect(c.finalQuorum).toBe(4);
        expect(c.final.window, `server ${i}: final vs agreed ${c.agreed.window}`).toBe(c.agreed.window);
      }
    });
  });
});

describe("a faulty beta that equivocates", () => {
  // Three servers by hand (no simulator: its invariants stop a run at the forked checkpoint). The
  // beta A signs two handovers of one window, each spending the payer's whole balance to another
  // payee, and a vote for each; B gets one, C the other. Honest B and C vote once each.
  const keys = [testKeyPair(201), testKeyPair(202), testKeyPair(203)];
  const payer = testKeyPair(210);
  const [payee1, payee2] = [testKeyPair(211), testKeyPair(212)];
  const intervalMs = 1000;
  const network = parseNetwork({
    servers: keys.map((k, i) => ({ key: toHex(k.publicKey), address: `127.0.0.1:${9100 + i}` })),
    interval: intervalMs,
    blackout: 400,
    skew: 150,
    genesis: { [toHex(payer.publicKey)]: 1_000, [toHex(testKeyPair(213).publicKey)]: SUPPLY - 1_000 },
  });
  const schedule: ScheduleParams = { serverCount: 3, intervalMs, blackoutMs: 400 };

  test("both honest servers may see 'agreed' for different hashes, but neither sees 'final'", () => {
    const k = 1_795_000_002; // any window
    const A = alphaOf(k, schedule);
    const [B, C] = [0, 1, 2].filter((i) => i !== A) as [number, number];
    const nowMs = blackoutStartMs(k, schedule) + 20;
    const ledgers = keys.map(() => Ledger.open(":memory:", { genesis: network.genesis, nowMs }));
    try {
      const coordinators = keys.map(
        (key, i) => new Coordinator({ network, selfIndex: i, seed: key.seed, ledger: ledgers[i]!, verify: verifySignature, log: silentLogger, flushIntake: () => {} }),
      );
      const base = ledgers[B]!.agreed();
      const spend = (payee: typeof payee1) => buildPayment({ timestampMs: windowStartMs(k, schedule) + 100, amount: 1_000, payee: payee.publicKey, payer: payer.publicKey, payerSeed: payer.seed });
      const handover = (payment: Uint8Array) =>
        encodeHandover(
          { networkId: network.id, sender: keys[A]!.publicKey, window: k, sentAtMs: nowMs, baseWindow: base.window, baseHash: base.hash, hash: base.hash, payments: [payment] },
          keys[A]!.seed,
          peerLimits(network.capacity),
        );
      // Deliver a message and whatever it makes the receiver send to the other honest server.
      const votesOf = (effects: readonly Effect[]) => effects.flatMap((e) => (e.kind === "broadcast" && e.what === "vote" ? [e.message] : []));
      const bVotes = votesOf(coordinators[B]!.receive(handover(spend(payee1)), nowMs).effects);
      const cVotes = votesOf(coordinators[C]!.receive(handover(spend(payee2)), nowMs).effects);
      expect([bVotes.length, cVotes.length]).toEqual([1, 1]);
      const h1 = ledgers[B]!.stateHashBytes();
      const h2 = ledgers[C]!.stateHashBytes();
      expect(toHex(h1)).not.toBe(toHex(h2));
      // A votes each hash to the server that holds it; B and C exchange their own votes.
      // A's vote for the state a ledger holds (the same base, batch, hash and history as its owner's).
      const aVote = (l: Ledger) =>
        encodeVote(
          { networkId: network.id, sender: keys[A]!.publicKey, window: k, sentAtMs: nowMs, baseWindow: base.window, baseHash: base.hash, batch: l.batchDigest(k), hash: l.stateHashBytes(), history: l.historyDigest() },
          keys[A]!.seed,
        );
      const [aVote1, aVote2] = [aVote(ledgers[B]!), aVote(ledgers[C]!)];
      coordinators[B]!.receive(aVote1, nowMs + 1);
      coordinators[C]!.receive(aVote2, nowMs + 1);
      coordinators[B]!.receive(cVotes[0]!, nowMs + 2);
      coordinators[C]!.receive(bVotes[0]!, nowMs + 2);
      // The fork a majority rule allows: each honest server recorded window k, at different hashes.
      expect(coordinators[B]!.agreed).toEqual({ window: k, hash: toHex(h1) });
      expect(coordinators[C]!.agreed).toEqual({ window: k, hash: toHex(h2) });
      // Final needs 3 of 3 at one hash: neither has it, so no client waiting for final is fooled.
      expect(coordinators[B]!.final.window).toBeLessThan(k);
      expect(coordinators[C]!.final.window).toBeLessThan(k);

      // The fork comes to light when B learns C's certificate (a certificate pull): it holds A's
      // vote for H2 beside A's vote for H1 — a proof. B keeps it, sends it, withdraws its
      // checkpoint of k (its majority needed A) and undoes the window; C, given the proof, too.
      const learned = coordinators[B]!.receiveCertificate(coordinators[C]!.newestCertificate()!.certificate, nowMs + 3);
      expect(learned.ok).toBe(false);
      const proofs = learned.effects.flatMap((e) => (e.kind === "broadcast" && e.what === "proof" ? [e.message] : []));
      expect(proofs.length).toBe(1);
      expect(coordinators[C]!.receive(proofs[0]!, nowMs + 4).ok).toBe(true);
      // The fork is shown (each holds the other honest server's vote for k, on the same base, at
      // another state): no outcome can have an honest majority, so both withdraw k at once.
      expect(coordinators[B]!.agreed.window).toBe(base.window);
      expect(ledgers[B]!.balance(payer.publicKey)).toBe(1_000);
      expect(coordinators[C]!.agreed.window).toBe(base.window);
      expect(ledgers[C]!.balance(payer.publicKey)).toBe(1_000);
      for (const i of [B, C]) {
        expect(coordinators[i]!.equivocations().map((e) => [e.window, e.server]), `server ${i} names the equivocator`).toEqual([[k, toHex(keys[A]!.publicKey)]]);
        expect(coordinators[i]!.counters.equivocations).toBe(1);
      }
      // A forged proof (a vote of A with one bit changed) is refused and changes nothing.
      const forgedVote = aVote1.slice();
      forgedVote[200]! ^= 1; // in the history digest
      const forged = encodeProof({ networkId: network.id, sender: keys[B]!.publicKey, window: k, sentAtMs: nowMs, first: aVote1, second: forgedVote }, keys[B]!.seed, peerLimits(network.capacity));
      const third = new Coordinator({ network, selfIndex: A, seed: keys[A]!.seed, ledger: Ledger.open(":memory:", { genesis: network.genesis, nowMs }), verify: verifySignature, log: silentLogger, flushIntake: () => {} });
      const refused = third.receive(forged, nowMs + 5);
      expect(refused.ok === false && refused.reason).toMatch(/bad signature/);
      expect(third.equivocations()).toEqual([]);
      // On disk: a restarted B still refuses A's votes of window k.
      const restarted = new Coordinator({ network, selfIndex: B, seed: keys[B]!.seed, ledger: ledgers[B]!, verify: verifySignature, log: silentLogger, flushIntake: () => {} });
      expect(restarted.equivocations().map((e) => e.window)).toEqual([k]);
      // Control: the same three with an honest beta (one handover to both) reach final.
      const honest = keys.map((_, i) => Ledger.open(":memory:", { genesis: network.genesis, nowMs }));
      try {
        const cs = keys.map((key, i) => new Coordinator({ network, selfIndex: i, seed: key.seed, ledger: honest[i]!, verify: verifySignature, log: silentLogger, flushIntake: () => {} }));
        const one = handover(spend(payee1));
        const votes = [B, C].flatMap((i) => votesOf(cs[i]!.receive(one, nowMs).effects).map((v) => ({ from: i, v })));
        for (const i of [B, C]) cs[i]!.receive(aVote(honest[B]!), nowMs + 1);
        for (const { from, v } of votes) for (const i of [B, C]) if (i !== from) cs[i]!.receive(v, nowMs + 2);
        for (const i of [B, C]) expect(cs[i]!.final.window, `honest control: server ${i}`).toBe(k);
      } finally {
        for (const l of honest) l.close();
      }
    } finally {
      for (const l of ledgers) l.close();
    }
  });

  test("a fork found a window later: the forked checkpoint and the one built on it are both withdrawn", () => {
    // k is chosen so that the honest server that took A's first handover (B) is the next alpha:
    // with A's vote it agrees window k+1 on its side of the fork before the fork comes to light.
    let k = 1_795_000_102;
    while (alphaOf(k + 1, schedule) === alphaOf(k, schedule)) k++;
    const A = alphaOf(k, schedule);
    const B = alphaOf(k + 1, schedule);
    const C = [0, 1, 2].find((i) => i !== A && i !== B)!;
    const nowMs = blackoutStartMs(k, schedule) + 20;
    const ledgers = keys.map(() => Ledger.open(":memory:", { genesis: network.genesis, nowMs }));
    try {
      const cs = keys.map((key, i) => new Coordinator({ network, selfIndex: i, seed: key.seed, ledger: ledgers[i]!, verify: verifySignature, log: silentLogger, flushIntake: () => {} }));
      const base = ledgers[B]!.agreed();
      const spend = (payee: typeof payee1) => buildPayment({ timestampMs: windowStartMs(k, schedule) + 100, amount: 1_000, payee: payee.publicKey, payer: payer.publicKey, payerSeed: payer.seed });
      const handover = (payment: Uint8Array) =>
        encodeHandover({ networkId: network.id, sender: keys[A]!.publicKey, window: k, sentAtMs: nowMs, baseWindow: base.window, baseHash: base.hash, hash: base.hash, payments: [payment] }, keys[A]!.seed, peerLimits(network.capacity));
      const votesOf = (effects: readonly Effect[]) => effects.flatMap((e) => (e.kind === "broadcast" && e.what === "vote" ? [e.message] : []));
      const aVote = (l: Ledger, window: number, on: { window: number; hash: Uint8Array }) =>
        encodeVote({ networkId: network.id, sender: keys[A]!.publicKey, window, sentAtMs: nowMs, baseWindow: on.window, baseHash: on.hash, batch: l.batchDigest(window), hash: l.stateHashBytes(), history: l.historyDigest() }, keys[A]!.seed);
      const [bVote] = votesOf(cs[B]!.receive(handover(spend(payee1)), nowMs).effects);
      const [cVote] = votesOf(cs[C]!.receive(handover(spend(payee2)), nowMs).effects);
      const aToC = aVote(ledgers[C]!, k, base);
      cs[B]!.receive(aVote(ledgers[B]!, k, base), nowMs + 1);
      cs[C]!.receive(aToC, nowMs + 1);
      cs[B]!.receive(cVote!, nowMs + 2);
      cs[C]!.receive(bVote!, nowMs + 2);
      expect([cs[B]!.agreed.window, cs[C]!.agreed.window]).toEqual([k, k]);
      // B, the alpha of k+1, hands over on its checkpoint k; A votes with it: B records k+1.
      const atB = ledgers[B]!.agreed();
      const later = blackoutStartMs(k + 1, schedule) + 1;
      cs[B]!.tick(later);
      cs[B]!.receive(aVote(ledgers[B]!, k + 1, atB), later + 1);
      expect(cs[B]!.agreed.window).toBe(k + 1);
      // Now B meets A's other vote for k (C's certificate): the proof withdraws k and k+1 at B.
      const learned = cs[B]!.receiveCertificate(cs[C]!.newestCertificate()!.certificate, later + 2);
      expect(learned.ok).toBe(false);
      expect(cs[B]!.agreed.window).toBe(base.window);
      expect(ledgers[B]!.balance(payer.publicKey)).toBe(1_000);
      expect(ledgers[B]!.checkpoint(k + 1)).toBeUndefined();
      expect(cs[B]!.equivocations().map((e) => e.window)).toEqual([k]);
    } finally {
      for (const l of ledgers) l.close();
    }
  });

  test("a checkpoint that needed the equivocator, with no fork shown: provisional (not accepting), confirmed by a late honest vote, or withdrawn at the deadline", () => {
    for (const confirmed of [true, false]) {
      let k = 1_795_000_202;
      // The checkpoint's holder C is the next alpha, so its gate shows the provisional state.
      while (alphaOf(k + 1, schedule) === alphaOf(k, schedule)) k++;
      const A = alphaOf(k, schedule);
      const C = alphaOf(k + 1, schedule);
      const B = [0, 1, 2].find((i) => i !== A && i !== C)!;
      const nowMs = blackoutStartMs(k, schedule) + 20;
      const ledgers = keys.map(() => Ledger.open(":memory:", { genesis: network.genesis, nowMs }));
      try {
        const cs = keys.map((key, i) => new Coordinator({ network, selfIndex: i, seed: key.seed, ledger: ledgers[i]!, verify: verifySignature, log: silentLogger, flushIntake: () => {} }));
        const base = ledgers[C]!.agreed();
        const payment = buildPayment({ timestampMs: windowStartMs(k, schedule) + 100, amount: 10, payee: payee1.publicKey, payer: payer.publicKey, payerSeed: payer.seed });
        const one = encodeHandover({ networkId: network.id, sender: keys[A]!.publicKey, window: k, sentAtMs: nowMs, baseWindow: base.window, baseHash: base.hash, hash: base.hash, payments: [payment] }, keys[A]!.seed, peerLimits(network.capacity));
        const votesOf = (effects: readonly Effect[]) => effects.flatMap((e) => (e.kind === "broadcast" && e.what === "vote" ? [e.message] : []));
        const [cVote] = votesOf(cs[C]!.receive(one, nowMs).effects);
        const l = ledgers[C]!;
        const aVote = (hash: Uint8Array) => encodeVote({ networkId: network.id, sender: keys[A]!.publicKey, window: k, sentAtMs: nowMs, baseWindow: base.window, baseHash: base.hash, batch: l.batchDigest(k), hash, history: l.historyDigest() }, keys[A]!.seed);
        cs[C]!.receive(aVote(l.stateHashBytes()), nowMs + 1);
        expect(cs[C]!.agreed.window).toBe(k);
        // A's second vote, for a state no honest server is at: a proof, and C's checkpoint needed A.
        expect(cs[C]!.receive(aVote(new Uint8Array(32).fill(9)), nowMs + 2).ok).toBe(false);
        expect(cs[C]!.agreed.window).toBe(k);
        const accepting = windowStartMs(k + 1, schedule) + 10;
        expect(cs[C]!.gate(accepting)?.message, "the next alpha does not accept on a provisional checkpoint").toMatch(/proven faulty/);
        if (confirmed) {
          // B applies the same handover late and votes the same state: an honest majority.
          const [bVote] = votesOf(cs[B]!.receive(one, nowMs + 3).effects);
          cs[C]!.receive(bVote!, accepting);
          expect(cs[C]!.gate(accepting + 1)).toBeNull();
          cs[C]!.tick(blackoutStartMs(k + 2, schedule));
          expect(cs[C]!.agreed.window, "confirmed: it stands").toBe(k);
          expect(ledgers[C]!.balance(payee1.publicKey)).toBe(10);
        } else {
          cs[C]!.tick(blackoutStartMs(k + 2, schedule) - 1);
          expect(cs[C]!.agreed.window, "before the deadline").toBe(k);
          cs[C]!.tick(blackoutStartMs(k + 2, schedule));
          expect(cs[C]!.agreed.window, "unconfirmed at the deadline: withdrawn").toBe(base.window);
          expect(ledgers[C]!.balance(payee1.publicKey)).toBeUndefined();
        }
        expect(cVote).toBeDefined();
      } finally {
        for (const x of ledgers) x.close();
      }
    }
  });
});
