// Issue 9 item 2: besides two votes, two handovers of one server on one base, two relays, or a
// relay and the handover that claim different payments at one position prove that server faulty.
// The rule (src/core/consensus/conflict.ts) on its own, then three coordinators by hand: the alpha A
// relays one payment at position 0 and hands over another there; B finds the conflict itself, keeps
// and sends the proof, refuses the handover; C takes the proof. An honest alpha's relays and
// handover (the same payments; or a handover shorter than its relays) prove nothing.
import { describe, expect, test } from "bun:test";
import { Coordinator, type Effect } from "../../src/core/consensus/coordinator.ts";
import { conflictBetween } from "../../src/core/consensus/conflict.ts";
import { encodeHandover, encodeProof, encodeRelay, encodeVote, parsePeerMessage, type PeerMessage } from "../../src/core/consensus/peer-message.ts";
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

const keys = [testKeyPair(401), testKeyPair(402), testKeyPair(403)];
const [alice, bob, carol] = [testKeyPair(410), testKeyPair(411), testKeyPair(412)];
const network = parseNetwork({
  servers: keys.map((k, i) => ({ key: toHex(k.publicKey), address: `127.0.0.1:${9300 + i}` })),
  interval: 1000,
  blackout: 400,
  skew: 150,
  genesis: { [toHex(alice.publicKey)]: 1_000, [toHex(bob.publicKey)]: SUPPLY - 1_000 },
});
const LIMITS = peerLimits(network.capacity);
const schedule: ScheduleParams = { serverCount: 3, intervalMs: 1000, blackoutMs: 400 };
const k = 1_795_000_020;
const A = alphaOf(k, schedule);
const [B, C] = [0, 1, 2].filter((i) => i !== A) as [number, number];
const t = windowStartMs(k, schedule) + 100;
const pay = (to: typeof bob, amount: number, ms = t) => buildPayment({ timestampMs: ms, amount, payee: to.publicKey, payer: alice.publicKey, payerSeed: alice.seed });
const [p1, p2, p3] = [pay(bob, 10), pay(carol, 10), pay(bob, 20, t + 1)];
const header = (sentAtMs: number) => ({ networkId: network.id, sender: keys[A]!.publicKey, window: k, sentAtMs });
const relay = (first: number, payments: Uint8Array[], sentAtMs = t + 5) => encodeRelay({ ...header(sentAtMs), first, payments }, keys[A]!.seed, LIMITS);
const genesis = Ledger.open(":memory:", { genesis: network.genesis, nowMs: t }).agreed();
const handover = (payments: Uint8Array[], sentAtMs = blackoutStartMs(k, schedule), base = genesis) =>
  encodeHandover({ ...header(sentAtMs), baseWindow: base.window, baseHash: base.hash, hash: new Uint8Array(32), payments }, keys[A]!.seed, LIMITS);
const parsed = (bytes: Uint8Array): PeerMessage => {
  const d = parsePeerMessage(bytes, network.id, LIMITS);
  if (!d.ok) throw new Error(d.reason);
  return d.message;
};
const proofsOf = (effects: readonly Effect[]) => effects.flatMap((e) => (e.kind === "broadcast" && e.what === "proof" ? [e.message] : []));

describe("which two messages conflict", () => {
  test("relays and handovers: different payments at one position; handovers: one base, another batch", () => {
    expect(conflictBetween(parsed(relay(0, [p1, p2])), parsed(relay(1, [p3])))).toBe("two relays with different payments at position 1");
    expect(conflictBetween(parsed(relay(0, [p1, p2])), parsed(relay(1, [p2, p3])))).toBeNull(); // they agree where they overlap
    expect(conflictBetween(parsed(relay(0, [p1])), parsed(relay(1, [p3])))).toBeNull(); // no position claimed twice
    expect(conflictBetween(parsed(relay(0, [p1, p2])), parsed(handover([p1, p3])))).toBe("a relay and the handover with different payments at position 1");
    expect(conflictBetween(parsed(relay(0, [p1, p2])), parsed(handover([p1])))).toBeNull(); // a shorter handover (its window undone) claims less
    expect(conflictBetween(parsed(handover([p1, p2])), parsed(handover([p1, p2], blackoutStartMs(k, schedule) + 50)))).toBeNull(); // the same batch again, later
    expect(conflictBetween(parsed(handover([p1, p2])), parsed(handover([p1])))).toBe("two different handovers on one base");
    const otherBase = { window: 7, hash: new Uint8Array(32).fill(1), certificate: new Uint8Array(0) };
    expect(conflictBetween(parsed(handover([p1, p2])), parsed(handover([p3], undefined, otherBase)))).toBeNull(); // another base: a beta that caught up
    const vote = (history: number) =>
      encodeVote({ ...header(t), baseWindow: -1, baseHash: genesis.hash, batch: new Uint8Array(32), hash: genesis.hash, history: new Uint8Array(32).fill(history) }, keys[A]!.seed);
    expect(conflictBetween(parsed(vote(1)), parsed(vote(1)))).toBeNull();
    expect(conflictBetween(parsed(vote(1)), parsed(vote(2)))).toBe("two different votes");
    expect(conflictBetween(parsed(vote(1)), parsed(relay(0, [p1])))).toBeNull();
  });
});

describe("a faulty alpha whose handover contradicts its relays", () => {
  function servers() {
    const ledgers = keys.map(() => Ledger.open(":memory:", { genesis: network.genesis, nowMs: t }));
    const coordinators = keys.map((key, i) => new Coordinator({ network, selfIndex: i, seed: key.seed, ledger: ledgers[i]!, verify: verifySignature, log: silentLogger, flushIntake: () => {} }));
    return { ledgers, coordinators, close: () => ledgers.forEach((l) => l.close()) };
  }

  test("B finds it, keeps and sends the proof and refuses the handover; C checks the proof and names A too", () => {
    const { ledgers, coordinators, close } = servers();
    try {
      expect(coordinators[B]!.receive(relay(0, [p1, p2]), t + 10).ok).toBe(true);
      const answer = coordinators[B]!.receive(handover([p3, p2]), blackoutStartMs(k, schedule) + 5);
      expect(answer.ok === false && answer.reason).toMatch(/proven faulty/);
      const proofs = proofsOf(answer.effects);
      expect(proofs).toHaveLength(1);
      expect(coordinators[B]!.equivocations().map((e) => [e.window, e.server])).toEqual([[k, toHex(keys[A]!.publicKey)]]);
      expect(ledgers[B]!.equivocations()).toHaveLength(1); // on disk
      expect(ledgers[B]!.windowPayments(k)).toHaveLength(0); // the handover was not applied
      // No vote of B for the window: it took nothing.
      expect(answer.effects.some((e) => e.kind === "broadcast" && e.what === "vote")).toBe(false);
      expect(coordinators[C]!.receive(proofs[0]!, blackoutStartMs(k, schedule) + 10).ok).toBe(true);
      expect(coordinators[C]!.equivocations().map((e) => e.server)).toEqual([toHex(keys[A]!.publicKey)]);
      // A's later vote for the window counts for nothing at C.
      expect(coordinators[C]!.counters.equivocations).toBe(1);
    } finally {
      close();
    }
  });

  test("two relays that differ at one position are a proof too; a proof whose messages agree is refused", () => {
    const { coordinators, close } = servers();
    try {
      coordinators[B]!.receive(relay(0, [p1, p2]), t + 10);
      const second = coordinators[B]!.receive(relay(1, [p3]), t + 20);
      expect(second.ok).toBe(false);
      expect(proofsOf(second.effects)).toHaveLength(1);
      const agreeing = encodeProof({ networkId: network.id, sender: keys[B]!.publicKey, window: k, sentAtMs: t + 30, first: relay(0, [p1, p2]), second: relay(1, [p2]) }, keys[B]!.seed, LIMITS);
      const refused = coordinators[C]!.receive(agreeing, t + 30);
      expect(refused.ok === false && refused.reason).toMatch(/do not conflict/);
      expect(coordinators[C]!.equivocations()).toEqual([]);
    } finally {
      close();
    }
  });

  test("an honest alpha: its handover lists what it relayed — no proof, the handover is applied", () => {
    const { ledgers, coordinators, close } = servers();
    try {
      coordinators[B]!.receive(relay(0, [p1]), t + 10);
      coordinators[B]!.receive(relay(1, [p2]), t + 20);
      const answer = coordinators[B]!.receive(handover([p1, p2, p3]), blackoutStartMs(k, schedule) + 5);
      expect(answer.ok).toBe(true);
      expect(proofsOf(answer.effects)).toEqual([]);
      expect(coordinators[B]!.equivocations()).toEqual([]);
      expect(ledgers[B]!.windowPayments(k).map(toHex)).toEqual([p1, p2, p3].map(toHex));
    } finally {
      close();
    }
  });
});
