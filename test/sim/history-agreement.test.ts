// Issue 9 item 1: a vote commits to the history as well as the balances. Two servers whose
// balances agree but whose payment histories differ (a window whose payments cancel out, applied at
// one and not the other) used to certify one state hash together and never resync. Now their
// votes do not count together: the majority's history wins, and the other server resyncs to it.
// Three coordinators by hand (as in finality.test.ts): the beta A hands B a window of two payments
// that cancel out and C the same window empty.
import { describe, expect, test } from "bun:test";
import { Coordinator, type Effect } from "../../src/core/consensus/coordinator.ts";
import { encodeHandover, encodeVote, parsePeerMessage } from "../../src/core/consensus/peer-message.ts";
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

describe("votes commit to the history, not only the balances", () => {
  const keys = [testKeyPair(301), testKeyPair(302), testKeyPair(303)];
  const [alice, bob] = [testKeyPair(310), testKeyPair(311)];
  const network = parseNetwork({
    servers: keys.map((k, i) => ({ key: toHex(k.publicKey), address: `127.0.0.1:${9200 + i}` })),
    interval: 1000,
    blackout: 400,
    skew: 150,
    genesis: { [toHex(alice.publicKey)]: 1_000, [toHex(bob.publicKey)]: SUPPLY - 1_000 },
  });
  const schedule: ScheduleParams = { serverCount: 3, intervalMs: 1000, blackoutMs: 400 };
  const votesOf = (effects: readonly Effect[]) => effects.flatMap((e) => (e.kind === "broadcast" && e.what === "vote" ? [e.message] : []));

  test("same balances, different histories: different votes; the minority resyncs to the majority's history", () => {
    const k = 1_795_000_010;
    const A = alphaOf(k, schedule);
    const [B, C] = [0, 1, 2].filter((i) => i !== A) as [number, number];
    const nowMs = blackoutStartMs(k, schedule) + 20;
    const ledgers = keys.map(() => Ledger.open(":memory:", { genesis: network.genesis, nowMs }));
    try {
      const coordinators = keys.map((key, i) => new Coordinator({ network, selfIndex: i, seed: key.seed, ledger: ledgers[i]!, verify: verifySignature, log: silentLogger, flushIntake: () => {} }));
      const base = ledgers[B]!.agreed();
      const t = windowStartMs(k, schedule) + 100;
      const there = buildPayment({ timestampMs: t, amount: 5, payee: bob.publicKey, payer: alice.publicKey, payerSeed: alice.seed });
      const back = buildPayment({ timestampMs: t + 1, amount: 5, payee: alice.publicKey, payer: bob.publicKey, payerSeed: bob.seed });
      const handover = (payments: Uint8Array[]) =>
        encodeHandover({ networkId: network.id, sender: keys[A]!.publicKey, window: k, sentAtMs: nowMs, baseWindow: base.window, baseHash: base.hash, hash: base.hash, payments }, keys[A]!.seed, peerLimits(network.capacity));
      const [bVote] = votesOf(coordinators[B]!.receive(handover([there, back]), nowMs).effects);
      const [cVote] = votesOf(coordinators[C]!.receive(handover([]), nowMs).effects);
      // The balances agree; the histories do not, and the votes say so.
      expect(toHex(ledgers[B]!.stateHashBytes())).toBe(toHex(ledgers[C]!.stateHashBytes()));
      const parsed = [bVote!, cVote!].map((v) => parsePeerMessage(v, network.id, peerLimits(network.capacity)));
      const [vb, vc] = parsed.map((p) => (p.ok && p.message.type === "vote" ? p.message : null));
      expect(toHex(vb!.hash)).toBe(toHex(vc!.hash));
      expect(toHex(vb!.history)).not.toBe(toHex(vc!.history));
      expect(toHex(vb!.batch)).not.toBe(toHex(vc!.batch));
      expect([vb!.baseWindow, toHex(vb!.baseHash)]).toEqual([base.window, toHex(base.hash)]);

      // B and C exchange votes: 2 of 3 for one state hash, but not for one history — no consensus.
      coordinators[B]!.receive(cVote!, nowMs + 1);
      coordinators[C]!.receive(bVote!, nowMs + 1);
      expect([coordinators[B]!.agreed.window, coordinators[C]!.agreed.window]).toEqual([base.window, base.window]);

      // A votes as B did (the same base, batch, hash and history): B and A are the majority. C,
      // at the same balances, is told it is not at the agreed state and resyncs.
      const aVote = encodeVote({ networkId: network.id, sender: keys[A]!.publicKey, window: k, sentAtMs: nowMs, baseWindow: vb!.baseWindow, baseHash: vb!.baseHash, batch: vb!.batch, hash: vb!.hash, history: vb!.history }, keys[A]!.seed);
      coordinators[B]!.receive(aVote, nowMs + 2);
      expect(coordinators[B]!.agreed.window).toBe(k);
      const effects = coordinators[C]!.receive(aVote, nowMs + 2).effects;
      expect(coordinators[C]!.agreed.window).toBe(base.window);
      const resync = effects.find((e) => e.kind === "resync");
      expect(resync?.kind === "resync" && resync.sources).toContain(B);
      if (resync?.kind !== "resync") throw new Error("no resync");
      // The resync from B installs B's history: both payments, the same history digest.
      const rows = ledgers[B]!.paymentsBetween(resync.afterWindow, resync.window);
      expect(coordinators[C]!.completeResync(resync.afterWindow, resync.window, resync.hash, rows, nowMs + 3)).toBe(true);
      expect(coordinators[C]!.agreed).toEqual(coordinators[B]!.agreed);
      expect(toHex(ledgers[C]!.historyDigest())).toBe(toHex(ledgers[B]!.historyDigest()));
      expect(ledgers[C]!.windowPayments(k).map(toHex)).toEqual([there, back].map(toHex));
    } finally {
      for (const l of ledgers) l.close();
    }
  });
});
