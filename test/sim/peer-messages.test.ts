// Forged, replayed and wrong-role peer messages change nothing. Real messages are captured from a
// running simulation; variants are built with encodeHandover/encodeVote and the simulator's server
// seeds (server i's key comes from 32 bytes of 200 + i). Each bad message is fed straight to a
// server's coordinator: it must answer ok:false and leave the state hash, the agreed checkpoint and
// the payment count as they were. A genuine message from the right server, fed the same way, is
// accepted and does change the state (so the checks have teeth).
import { VOTE_BYTES } from "../../src/core/consensus/peer-message.ts";
import { describe, expect, test } from "bun:test";
import type { Simulation } from "../../src/sim/simulator.ts";
import { keyPairFromSeed } from "../../src/core/keys.ts";
import { decodePeerMessage, SENDER_OFFSET, encodeHandover, encodeRelay, encodeVote, type Handover, type PeerMessage, type Relay, type Vote } from "../../src/core/consensus/peer-message.ts";
import { verifySignature } from "../../src/core/verify.ts";
import { toHex } from "../../src/core/bytes.ts";
import { CAPACITY_PAYMENTS_DEFAULT, SUPPLY } from "../../src/core/limits.ts";
import { peerLimits } from "../../src/core/consensus/peer-limits.ts";
import { paymentId } from "../../src/core/payment.ts";
import {
  alphaOfWindow,
  balance,
  blackoutStart,
  healAndExpectConverged,
  paymentBytes,
  runToWindow,
  trafficUntil,
  windowNow,
  windowStart,
  withSim,
} from "./sim-helpers.ts";

const serverSeed = (i: number) => new Uint8Array(32).fill(200 + i);
const serverKey = (i: number) => keyPairFromSeed(serverSeed(i)).publicKey;
const outsider = keyPairFromSeed(new Uint8Array(32).fill(77));
/** The simulated network has no `capacity` field: the default. */
const LIMITS = peerLimits(CAPACITY_PAYMENTS_DEFAULT);


function flipBit(bytes: Uint8Array, index: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[index] = copy[index]! ^ 0x01;
  return copy;
}

interface Snapshot {
  stateHash: string;
  agreed: { window: number; hash: string };
  storedAgreedWindow: number;
  payments: number;
  balances: number[];
}

function snapshot(sim: Simulation, i: number): Snapshot {
  const s = sim.servers[i]!;
  return {
    stateHash: s.ledger.stateHashHex(),
    agreed: s.coordinator.agreed,
    storedAgreedWindow: s.ledger.agreed().window,
    payments: s.ledger.totals().payments,
    balances: sim.accounts.map((_, a) => balance(sim, i, a)),
  };
}

/** Captures every peer message delivered to any server (the simulator calls coordinator.receive). */
function capture(sim: Simulation): { to: number; bytes: Uint8Array; message: PeerMessage }[] {
  const seen: { to: number; bytes: Uint8Array; message: PeerMessage }[] = [];
  for (const s of sim.servers) {
    const c = s.coordinator;
    const original = c.receive.bind(c);
    c.receive = (bytes, nowMs) => {
      const d = decodePeerMessage(bytes, verifySignature, sim.network.id, LIMITS);
      if (d.ok) seen.push({ to: s.index, bytes: new Uint8Array(bytes), message: d.message });
      return original(bytes, nowMs);
    };
  }
  return seen;
}

describe("peer messages", () => {
  test("forged, replayed and wrong-role handovers and votes are rejected and change nothing (seed 701)", () => {
    const seed = 701;
    withSim({ seed, servers: 3 }, (sim) => {
      trafficUntil(sim, windowStart(sim, windowNow(sim) + 4));
      const k = windowNow(sim) + 2;
      const beta = alphaOfWindow(sim, k); // hands over window k
      const next = alphaOfWindow(sim, k + 1);
      const target = 3 - beta - next; // receives nothing of window k from the network
      sim.dropRules = [(_from, to, _kind, now) => to === target && now >= windowStart(sim, k) && now < blackoutStart(sim, k) + 400];
      const seen = capture(sim);

      runToWindow(sim, k, 100);
      // One commit group, so one relay of three payments; acknowledged once the next alpha holds them.
      const paid = [0, 1, 2].map((n) => sim.pay(n, n + 3, 5_000 + n, beta));
      sim.runUntil(blackoutStart(sim, k) + 100);
      expect(paid.every((p) => p.outcome !== null && p.outcome !== "no-server" && p.outcome.accepted), `seed ${seed}: payments in window ${k}`).toBe(true);

      const handover = seen.find((m) => m.message.type === "handover" && m.message.window === k && m.to === next);
      const betaVote = seen.find((m) => m.message.type === "vote" && m.message.window === k && m.to === next);
      const relayed = seen.find((m) => m.message.type === "relay" && m.message.window === k && m.to === next);
      expect(handover, `seed ${seed}: captured the handover of window ${k}`).toBeDefined();
      expect(betaVote, `seed ${seed}: captured the beta's vote of window ${k}`).toBeDefined();
      expect(relayed, `seed ${seed}: captured the alpha's relay of window ${k}`).toBeDefined();
      const h = handover!.message as Handover;
      const vote = betaVote!.message as Vote;
      const relay = relayed!.message as Relay;
      expect(relay.first, `seed ${seed}: the first relay of window ${k} starts the sequence`).toBe(0);
      expect(relay.payments.length, `seed ${seed}: payments in the relay`).toBe(3);
      expect(h.payments.length, `seed ${seed}: payments in the handover`).toBe(3);
      expect(seen.some((m) => m.to === target && m.message.window === k), `seed ${seed}: the target got nothing of window ${k}`).toBe(false);

      const t = sim.servers[target]!;
      const now = () => sim.localNow(target);
      const expectRejected = (name: string, bytes: Uint8Array, reason: RegExp) => {
        const before = snapshot(sim, target);
        const rejectedBefore = t.coordinator.counters.peerRejected;
        const result = t.coordinator.receive(bytes, now());
        // Whatever a message queued for the signature check is applied by preverify: run it too.
        t.coordinator.preverify(Number.MAX_SAFE_INTEGER, now());
        expect(result.ok, `seed ${seed}: ${name} should be rejected`).toBe(false);
        if (!result.ok) expect(result.reason, `seed ${seed}: ${name}: reason`).toMatch(reason);
        expect(result.effects, `seed ${seed}: ${name}: effects`).toEqual([]);
        expect(snapshot(sim, target), `seed ${seed}: ${name} changed the target's state`).toEqual(before);
        expect(t.coordinator.counters.peerRejected, `seed ${seed}: ${name}: counted`).toBe(rejectedBefore + 1);
      };
      const handoverFields = { window: k, sentAtMs: h.sentAtMs, baseWindow: h.baseWindow, baseHash: h.baseHash, hash: h.hash, payments: h.payments };

      // Forged: any bit flipped, in the signature or in what it covers.
      expectRejected("handover, signature bit flipped", flipBit(h.bytes, h.bytes.length - 1), /bad signature/);
      expectRejected("handover, a payment bit flipped", flipBit(h.bytes, h.bytes.length - 64 - 100), /bad signature/);
      expectRejected("handover, window bit flipped", flipBit(h.bytes, SENDER_OFFSET + 32 + 7), /bad signature/);
      expectRejected("vote, signature bit flipped", flipBit(vote.bytes, vote.bytes.length - 1), /bad signature/);
      // The state hash begins after the header (93), the base window (8), the base hash and the batch digest.
      expectRejected("vote, hash bit flipped", flipBit(vote.bytes, SENDER_OFFSET + 32 + 8 + 8 + 8 + 64 + 5), /bad signature/);
      expectRejected("vote, history bit flipped", flipBit(vote.bytes, vote.bytes.length - 64 - 1), /bad signature/);
      // Signed by a key that is not a server of this network.
      expectRejected("handover from an outsider", encodeHandover({ networkId: sim.network.id, sender: outsider.publicKey, ...handoverFields }, outsider.seed, LIMITS), /not a server of this network/);
      expectRejected("vote from an outsider", encodeVote({ networkId: sim.network.id, sender: outsider.publicKey, window: k, sentAtMs: vote.sentAtMs, hash: vote.hash, baseWindow: -1, baseHash: new Uint8Array(32), batch: new Uint8Array(32), history: new Uint8Array(32) }, outsider.seed), /not a server of this network/);
      // A real server's key claimed but signed by another: the signature does not verify.
      expectRejected("handover claiming the beta's key, signed by another server", encodeHandover({ networkId: sim.network.id, sender: serverKey(beta), ...handoverFields }, serverSeed(next), LIMITS), /bad signature/);
      // Wrong role: the same batch, validly signed by a server that is not window k's beta.
      expectRejected(`handover of window ${k} signed by server ${next} (not its beta)`, encodeHandover({ networkId: sim.network.id, sender: serverKey(next), ...handoverFields }, serverSeed(next), LIMITS), /not the beta/);
      expectRejected("handover signed by the target itself", encodeHandover({ networkId: sim.network.id, sender: serverKey(target), ...handoverFields }, serverSeed(target), LIMITS), /from this server/);
      expectRejected("vote signed by the target itself", encodeVote({ networkId: sim.network.id, sender: serverKey(target), window: k, sentAtMs: vote.sentAtMs, hash: vote.hash, baseWindow: -1, baseHash: new Uint8Array(32), batch: new Uint8Array(32), history: new Uint8Array(32) }, serverSeed(target)), /from this server/);
      // The right beta, wrong time: window k+1's handover before its blackout.
      expectRejected("the beta's handover of the next window, early", encodeHandover({ networkId: sim.network.id, sender: serverKey(next), ...handoverFields, window: k + 1 }, serverSeed(next), LIMITS), /before its blackout/);
      // Far-future and stale windows.
      expectRejected("vote for a far-future window", encodeVote({ networkId: sim.network.id, sender: serverKey(beta), window: k + 5, sentAtMs: vote.sentAtMs, hash: vote.hash, baseWindow: -1, baseHash: new Uint8Array(32), batch: new Uint8Array(32), history: new Uint8Array(32) }, serverSeed(beta)), /future/);
      expectRejected("vote for a long-gone window", encodeVote({ networkId: sim.network.id, sender: serverKey(beta), window: k - 30, sentAtMs: vote.sentAtMs, hash: vote.hash, baseWindow: -1, baseHash: new Uint8Array(32), batch: new Uint8Array(32), history: new Uint8Array(32) }, serverSeed(beta)), /stale/);

      // Relays: forged, from a server that is not the window's alpha, from an outsider.
      const relayFields = { window: k, sentAtMs: relay.sentAtMs, first: 0, payments: relay.payments };
      expectRejected("relay, signature bit flipped", flipBit(relay.bytes, relay.bytes.length - 1), /bad signature/);
      expectRejected("relay, a payment bit flipped", flipBit(relay.bytes, relay.bytes.length - 64 - 10), /bad signature/);
      expectRejected("relay from an outsider", encodeRelay({ networkId: sim.network.id, sender: outsider.publicKey, ...relayFields }, outsider.seed, LIMITS), /not a server of this network/);
      expectRejected(`relay of window ${k} signed by server ${next} (not its alpha)`, encodeRelay({ networkId: sim.network.id, sender: serverKey(next), ...relayFields }, serverSeed(next), LIMITS), /not the alpha/);
      expectRejected("relay for a far-future window", encodeRelay({ networkId: sim.network.id, sender: serverKey(beta), ...relayFields, window: k + 5 }, serverSeed(beta), LIMITS), /future/);

      // Control: the genuine relay is taken, and its payments are applied ahead of the handover.
      const beforeRelay = snapshot(sim, target);
      const relayResult = t.coordinator.receive(relay.bytes, now());
      t.coordinator.preverify(Number.MAX_SAFE_INTEGER, now());
      expect(relayResult.ok, `seed ${seed}: the genuine relay ${JSON.stringify(relayResult)}`).toBe(true);
      expect(snapshot(sim, target).payments, `seed ${seed}: relayed payments applied ahead`).toBe(beforeRelay.payments + 3);
      // The same relay again (the alpha resends what a peer seems to lack): answered with how far
      // the target holds the window, and nothing else changes.
      const beforeRepeat = snapshot(sim, target);
      const repeat = t.coordinator.receive(relay.bytes, now());
      t.coordinator.preverify(Number.MAX_SAFE_INTEGER, now());
      expect(repeat.ok && repeat.effects.map((e) => e.kind === "send" && e.what), `seed ${seed}: the same relay again`).toEqual(["held"]);
      expect(snapshot(sim, target), `seed ${seed}: the same relay again changed the target's state`).toEqual(beforeRepeat);

      // Control: the genuine handover is accepted and completes the batch; the target votes.
      const before = beforeRelay;
      const accepted = t.coordinator.receive(handover!.bytes, now());
      t.coordinator.preverify(Number.MAX_SAFE_INTEGER, now());
      expect(accepted.ok, `seed ${seed}: the genuine handover ${JSON.stringify(accepted)}`).toBe(true);
      expect(accepted.effects.some((e) => e.kind === "broadcast" && e.what === "vote"), `seed ${seed}: the target votes`).toBe(true);
      const afterHandover = snapshot(sim, target);
      expect(afterHandover.payments, `seed ${seed}: the batch was applied`).toBe(before.payments + 3);
      expect(afterHandover.stateHash, `seed ${seed}: the target's hash after the batch is the beta's`).toBe(toHex(h.hash));

      // Replays: the same bytes, and the same window's handover re-sent with a new time.
      expectRejected("the same handover again", handover!.bytes, /replayed handover/);
      expectRejected("the beta's handover of the same window, re-signed later", encodeHandover({ networkId: sim.network.id, sender: serverKey(beta), ...handoverFields, sentAtMs: h.sentAtMs + 50 }, serverSeed(beta), LIMITS), /replayed handover/);

      // Control: the beta's genuine vote makes a majority with the target's own: window k agreed.
      const voted = t.coordinator.receive(vote.bytes, now());
      expect(voted.ok, `seed ${seed}: the genuine vote ${JSON.stringify(voted)}`).toBe(true);
      expect(t.coordinator.agreed, `seed ${seed}: window ${k} agreed on the target`).toEqual({ window: k, hash: toHex(h.hash) });

      // The very same vote again is a resend (votes are resent until the outcome is everywhere):
      // answered ok, and it changes nothing.
      const beforeResend = { agreed: t.coordinator.agreed, hash: t.ledger.stateHashHex() };
      expect(t.coordinator.receive(vote.bytes, now()).ok, `seed ${seed}: the same vote again`).toBe(true);
      expect({ agreed: t.coordinator.agreed, hash: t.ledger.stateHashHex() }, `seed ${seed}: a resent vote changes nothing`).toEqual(beforeResend);
      // A second, different vote of the beta for the window is no longer just refused: validly
      // signed, the two prove the beta equivocated (test/sim/finality.test.ts, "a faulty beta").
      const otherHash = new Uint8Array(vote.hash);
      otherHash[0] = otherHash[0]! ^ 0xff;
      expectRejected("a second vote from the beta, not signed by it", flipBit(encodeVote({ networkId: sim.network.id, sender: serverKey(beta), window: k, sentAtMs: vote.sentAtMs + 1, hash: otherHash, baseWindow: -1, baseHash: new Uint8Array(32), batch: new Uint8Array(32), history: new Uint8Array(32) }, serverSeed(beta)), VOTE_BYTES - 1), /bad signature/);

      sim.dropRules = [];
      runToWindow(sim, windowNow(sim) + 3);
      healAndExpectConverged(sim, "forged peer messages");
    });
  });

  test("a dishonest beta cannot create money: every payment in its batch is re-validated (seed 702)", () => {
    const seed = 702;
    withSim({ seed, servers: 3 }, (sim) => {
      trafficUntil(sim, windowStart(sim, windowNow(sim) + 4));
      const k = windowNow(sim) + 2;
      const beta = alphaOfWindow(sim, k);
      const next = alphaOfWindow(sim, k + 1);
      const target = 3 - beta - next;
      // The target gets nothing of window k from the network; the test hands it a batch the beta
      // "signed" instead. (The real beta and the next alpha still agree between them.)
      sim.dropRules = [(_from, to, _kind, now) => to === target && now >= blackoutStart(sim, k) - 50 && now < windowStart(sim, k + 1)];
      runToWindow(sim, k, 100);
      sim.runUntil(blackoutStart(sim, k) + 60);

      const t = sim.servers[target]!;
      const base = t.ledger.agreed();
      expect(base.window, `seed ${seed}: the target is at window ${k - 1}`).toBe(k - 1);
      const stamp = windowStart(sim, k) + 200;
      const payer = 4;
      const payerBalance = balance(sim, target, payer);
      const valid = paymentBytes(sim, payer, 5, 777, stamp);
      const badSignature = flipBit(paymentBytes(sim, payer, 5, 778, stamp), 139);
      const inflated = new Uint8Array(paymentBytes(sim, payer, 5, 1, stamp));
      new DataView(inflated.buffer).setUint32(8, 0x7fff_ffff, false); // amount changed after signing
      const overspend = paymentBytes(sim, payer, 6, payerBalance, stamp + 1); // after `valid`, not enough left
      const outsideWindow = paymentBytes(sim, payer, 5, 779, windowStart(sim, k) - 5_000);
      const selfPayment = paymentBytes(sim, payer, payer, 780, stamp);
      const zero = paymentBytes(sim, payer, 5, 0, stamp);
      const earlier = t.ledger.paymentsBetween(-1, k - 1).at(-1)!.bytes; // already applied
      const unknownPayer = (() => {
        const bytes = paymentBytes(sim, payer, 5, 781, stamp);
        bytes.set(outsider.publicKey, 44);
        return bytes;
      })();
      const forged = [valid, badSignature, inflated, overspend, outsideWindow, selfPayment, zero, earlier, unknownPayer, valid];
      const message = encodeHandover(
        { networkId: sim.network.id, sender: serverKey(beta), window: k, sentAtMs: sim.localNow(beta), baseWindow: base.window, baseHash: base.hash, hash: new Uint8Array(32).fill(9), payments: forged },
        serverSeed(beta),
        LIMITS,
      );
      const before = t.ledger.totals();
      const result = t.coordinator.receive(message, sim.localNow(target));
      expect(result.ok, `seed ${seed}: a well-formed handover from the beta is taken ${JSON.stringify(result)}`).toBe(true);
      const after = t.ledger.totals();
      // Only `valid` applied, once.
      expect(after.payments, `seed ${seed}: payments applied from the forged batch`).toBe(before.payments + 1);
      expect(after.supply, `seed ${seed}: supply`).toBe(SUPPLY);
      expect(balance(sim, target, payer), `seed ${seed}: payer debited once by 777`).toBe(payerBalance - 777);
      expect(t.ledger.windowPayments(k).map(toHex), `seed ${seed}: window ${k} on the target`).toEqual([toHex(valid)]);

      // The target's state is not the majority's: it resyncs and everyone converges.
      sim.dropRules = [];
      runToWindow(sim, k + 3);
      healAndExpectConverged(sim, "dishonest beta");
      expect(t.ledger.payment(paymentId(valid)), `seed ${seed}: the injected payment is gone after resync`).toBeUndefined();
    });
  });
});
