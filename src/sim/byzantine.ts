// A Byzantine server for the simulator (issue 9 item 7): one chosen server is faulty. It runs the
// real node (coordinator, intake, ledger), so it takes its turns as alpha and beta and votes like
// the others, but every peer message it sends passes through this adversary, which — drawn from
// the simulation's seeded PRNG, so a run replays from its seed — does some of:
//  (a) "equivocate-handover": as beta, signs a second handover of its window (one payment dropped,
//      and the whole balance of one payer spent to another payee) and a vote for the state it
//      gives; some peers get the real handover and vote, the others the second pair. A "careful"
//      equivocator keeps each peer on its side when it resends its vote; a sloppy one resends the
//      real vote to everyone, which hands the second side a proof (PROTOCOL §7 step 10);
//  (b) "double-vote": sends a vote for a made-up hash instead of, before or after its real vote;
//  (c) "bad-payments": a handover that carries, beside the real batch, a payment with a bad
//      signature (a copy of a real one, placed before it), one that spends more than its payer
//      holds, and one whose timestamp lies outside the window;
//  (d) "contradicting-relay": a relay with another payment at one position than the one it later
//      hands over there (or than the relays the other peers got);
//  (e) "replay": now and then, one of its own older messages again (old windows);
//  (f) "other-network": now and then, a copy of a message re-signed for another network's id.
// The payments it makes up are signed with the simulated accounts' keys: a payer colluding with
// the faulty server. Those that no honest server may ever apply (bad signature, overspending,
// outside the window) are listed in `neverValid`. What it answers to requests (GET handover,
// relays, certificate, payments) is the real node's. heal() calms it: from then on it sends what
// its node sends, so the swarm can require the honest servers to converge.
//
// Every forged message is built by forgeHandover / forgeVote / forgeRelay, from the real message
// it stands for, with the project's encoders: a change of a message's format is a change there.
import { assert } from "../core/assert.ts";
import { toHex } from "../core/bytes.ts";
import type { Logger } from "../core/logger.ts";
import type { KeyPair } from "../core/keys.ts";
import { scheduleOf, type Network } from "../core/network.ts";
import { networkId } from "../core/network-id.ts";
import { buildPayment, decodePayment, paymentIdHex, type Payment } from "../core/payment.ts";
import { acceptingPeriod } from "../core/schedule.ts";
import { SIGNATURE_BYTES } from "../core/limits.ts";
import { encodeHandover, encodeRelay, encodeVote, parsePeerMessage, type Handover, type Relay, type Vote } from "../core/consensus/peer-message.ts";
import { peerLimits, type PeerLimits } from "../core/consensus/peer-limits.ts";
import type { Ledger } from "../ledger/ledger.ts";

export const BYZANTINE_BEHAVIOURS = ["equivocate-handover", "double-vote", "bad-payments", "contradicting-relay", "replay", "other-network"] as const;
export type ByzantineBehaviour = (typeof BYZANTINE_BEHAVIOURS)[number];

export interface ByzantineOptions {
  /** The faulty server's index. */
  readonly server: number;
  /** What it may do (default: all of BYZANTINE_BEHAVIOURS). */
  readonly behaviours?: readonly ByzantineBehaviour[];
  /** Chance that a handover, vote or relay it sends is tampered with (0..1, default 0.5). */
  readonly rate?: number;
}

/** The kinds of message the simulator's transport carries between servers. */
export type OutgoingKind = "handover" | "vote" | "relay" | "rescue" | "proof" | "held";

export interface Outgoing {
  readonly what: OutgoingKind;
  readonly message: Uint8Array;
}

export interface ByzantineContext {
  readonly network: Network;
  /** The faulty server's key seed: everything it forges, it signs as itself. */
  readonly seed: Uint8Array;
  /** Its ledger (the same across its restarts): to compute the state its second handover gives. */
  readonly ledger: Ledger;
  /** The payers it colludes with. */
  readonly accounts: readonly KeyPair[];
  readonly random: () => number;
  readonly log: Logger;
}

/** The faulty server's own old messages kept for replays (the oldest is forgotten). */
const SENT_KEPT_MAX = 48;
/** A replay or another network's copy comes with this share of the tampering rate. */
const EXTRA_RATE_SHARE = 0.25;

/** How the faulty beta treats one window's handover (decided once, at its first send). */
type HandoverPlan =
  | { readonly kind: "honest" }
  | { readonly kind: "bad"; readonly message: Uint8Array }
  | {
      readonly kind: "equivocate";
      /** The peers on the second side. */
      readonly second: ReadonlySet<number>;
      readonly message: Uint8Array;
      readonly hash: Uint8Array;
      readonly careful: boolean;
      /** The peers that got the second side's vote at least once. */
      readonly voted: Set<number>;
    };

export class ByzantineServer {
  readonly server: number;
  readonly behaviours: ReadonlySet<ByzantineBehaviour>;
  readonly stats = { equivocatedHandovers: 0, forgedVotes: 0, doubleVotes: 0, badHandovers: 0, contradictingRelays: 0, replays: 0, otherNetwork: 0 };
  /** Ids (hex) of the payments it made up that no honest server may ever apply. */
  readonly neverValid = new Set<string>();
  /** Windows it equivocated in (handover or vote): a proof against it may name these. */
  readonly equivocatedWindows = new Set<number>();
  private readonly rate: number;
  private readonly limits: PeerLimits;
  private readonly otherNetworkId: Uint8Array;
  private readonly plans = new Map<number, HandoverPlan>();
  private readonly sent: { window: number; what: OutgoingKind; message: Uint8Array }[] = [];
  private calm = false;

  constructor(options: ByzantineOptions, private readonly c: ByzantineContext) {
    assert(options.server >= 0 && options.server < c.network.servers.length, `no server ${options.server} to make faulty`);
    this.server = options.server;
    this.behaviours = new Set(options.behaviours ?? BYZANTINE_BEHAVIOURS);
    this.rate = options.rate ?? 0.5;
    this.limits = peerLimits(c.network.capacity);
    // The same servers and keys, started again with one more payment of capacity: another network.
    this.otherNetworkId = networkId({ ...c.network, capacity: c.network.capacity + 1 });
  }

  /** From now on it sends what its node sends (the network is healed). */
  stop(): void {
    this.calm = true;
  }

  private does(b: ByzantineBehaviour): boolean {
    return !this.calm && this.behaviours.has(b) && this.c.random() < this.rate;
  }

  /** What goes to peer `to` in place of `message`, which the faulty server's node sends it. */
  outgoing(what: OutgoingKind, message: Uint8Array, to: number, nowMs: number): Outgoing[] {
    if (this.calm) return [{ what, message }];
    const parsed = parsePeerMessage(message, this.c.network.id, this.limits);
    assert(parsed.ok, `the faulty server's own node sent a message that does not parse: ${parsed.ok ? "" : parsed.reason}`);
    const m = parsed.message;
    let out: Outgoing[];
    if (m.type === "handover") out = [{ what, message: this.handover(m, to, nowMs) }];
    else if (m.type === "vote") out = this.vote(m, to).map((v) => ({ what, message: v }));
    else if (m.type === "relay") out = [{ what, message: this.relay(m) }];
    else out = [{ what, message }];
    // Extras: an old message of its own again, and a copy for another network.
    if (this.behaviours.has("replay") && this.c.random() < this.rate * EXTRA_RATE_SHARE) {
      const older = this.sent.filter((s) => s.window < m.window);
      if (older.length > 0) {
        const old = older[Math.floor(this.c.random() * older.length)]!;
        this.stats.replays++;
        out.push({ what: old.what, message: old.message });
      }
    }
    if (this.behaviours.has("other-network") && this.c.random() < this.rate * EXTRA_RATE_SHARE) {
      const copy = this.forOtherNetwork(out[0]!.message);
      if (copy !== null) {
        this.stats.otherNetwork++;
        out.push({ what, message: copy });
      }
    }
    for (const o of out) this.remember(m.window, o);
    return out;
  }

  private remember(window: number, o: Outgoing): void {
    this.sent.push({ window, ...o });
    if (this.sent.length > SENT_KEPT_MAX) this.sent.shift();
  }

  // ---- (a) and (c): the handover ----

  private handover(m: Handover, to: number, nowMs: number): Uint8Array {
    let plan = this.plans.get(m.window);
    if (plan === undefined) {
      plan = this.planHandover(m, nowMs);
      this.plans.set(m.window, plan);
    }
    if (plan.kind === "bad") return plan.message;
    if (plan.kind === "equivocate" && plan.second.has(to)) return plan.message;
    return m.bytes;
  }

  private planHandover(m: Handover, nowMs: number): HandoverPlan {
    if (this.does("equivocate-handover")) {
      const second = this.secondHandover(m, nowMs);
      if (second !== null) {
        const peers = this.c.network.servers.map((_, i) => i).filter((i) => i !== this.server);
        shuffle(peers, this.c.random);
        const side = new Set(peers.slice(0, Math.floor(peers.length / 2)));
        this.stats.equivocatedHandovers++;
        this.equivocatedWindows.add(m.window);
        const careful = this.c.random() < 0.5;
        this.c.log.warn("coordinator", `[byzantine ${this.server}] window ${m.window}: two handovers (${careful ? "careful" : "sloppy"}); servers ${[...side].join(", ")} get the second`);
        return { kind: "equivocate", second: side, message: second.message, hash: second.hash, careful, voted: new Set() };
      }
    }
    if (this.does("bad-payments")) {
      this.stats.badHandovers++;
      return { kind: "bad", message: this.badHandover(m) };
    }
    return { kind: "honest" };
  }

  /**
   * The second handover of (a): the real batch with one payment dropped, then one payer's whole
   * balance spent to another payee; its state hash is what an honest server at the base gets
   * (computed on the faulty server's own ledger, in a transaction that is then rolled back).
   */
  private secondHandover(m: Handover, nowMs: number): { message: Uint8Array; hash: Uint8Array } | null {
    const kept = [...m.payments];
    if (kept.length > 0) kept.splice(Math.floor(this.c.random() * kept.length), 1);
    const payer = Math.floor(this.c.random() * this.c.accounts.length);
    const payee = (payer + 1 + Math.floor(this.c.random() * (this.c.accounts.length - 1))) % this.c.accounts.length;
    const ledger = this.c.ledger;
    const result: { payments: Uint8Array[]; hash: Uint8Array }[] = [];
    ledger.attempt(() => {
      ledger.rollbackAfter(m.baseWindow);
      const decoded = kept.map((p) => decodePayment(p)).filter((p): p is Payment => p !== null);
      ledger.applyGroup(decoded, m.window, nowMs, this.c.network.capacity);
      const balance = ledger.balance(this.c.accounts[payer]!.publicKey) ?? 0;
      if (balance < 1 || kept.length + 1 > this.c.network.capacity) return false;
      const spend = this.payment(payer, payee, balance, this.inWindowMs(m.window));
      ledger.applyGroup([decodePayment(spend)!], m.window, nowMs, this.c.network.capacity);
      result.push({ payments: [...kept, spend], hash: ledger.stateHashBytes() });
      return false; // never kept: the faulty server's own state stays its real handover's
    });
    const r = result[0];
    if (r === undefined) return null;
    return { message: this.forgeHandover(m, { payments: r.payments, hash: r.hash }), hash: r.hash };
  }

  /** (c): the real batch, plus a payment with a bad signature, one that overspends, one out of the window. */
  private badHandover(m: Handover): Uint8Array {
    const payments = [...m.payments];
    const extra = (p: Uint8Array) => this.neverValid.add(paymentIdHex(p));
    // A copy of a real payment (or a fresh one) with one signature bit flipped, placed before the
    // real one: applied, it would shadow it (one signed part is one payment).
    const at = payments.length === 0 ? 0 : Math.floor(this.c.random() * payments.length);
    const original = payments[at] ?? this.payment(0, 1, 1, this.inWindowMs(m.window));
    const forged = original.slice();
    forged[forged.length - SIGNATURE_BYTES + Math.floor(this.c.random() * SIGNATURE_BYTES)]! ^= 1 << Math.floor(this.c.random() * 8);
    extra(forged);
    payments.splice(at, 0, forged);
    // More than the payer holds after the real batch (the faulty server's state is that).
    const payer = Math.floor(this.c.random() * this.c.accounts.length);
    const payee = (payer + 1) % this.c.accounts.length;
    const holds = this.c.ledger.balance(this.c.accounts[payer]!.publicKey) ?? 0;
    if (holds < 0xffff_ffff) {
      const overspend = this.payment(payer, payee, holds + 1, this.inWindowMs(m.window));
      extra(overspend);
      payments.push(overspend);
    }
    // Well signed, but three windows before this one: outside the window ± skew.
    const stale = this.payment(payee, payer, 1, this.inWindowMs(m.window) - 3 * this.c.network.intervalMs);
    extra(stale);
    payments.push(stale);
    return this.forgeHandover(m, { payments: payments.slice(0, this.c.network.capacity) });
  }

  // ---- (a) and (b): the vote ----

  private vote(m: Vote, to: number): Uint8Array[] {
    const plan = this.plans.get(m.window);
    if (plan?.kind === "equivocate" && plan.second.has(to)) {
      // The vote of the second side; a sloppy equivocator resends the real one once it sent that.
      if (!plan.careful && plan.voted.has(to)) return [m.bytes];
      plan.voted.add(to);
      this.stats.forgedVotes++;
      return [this.forgeVote(m, { hash: plan.hash })];
    }
    if (!this.does("double-vote")) return [m.bytes];
    const made = new Uint8Array(32).map(() => Math.floor(this.c.random() * 256));
    const fake = this.forgeVote(m, { hash: made });
    this.stats.doubleVotes++;
    this.equivocatedWindows.add(m.window);
    const how = this.c.random();
    return how < 1 / 3 ? [fake] : how < 2 / 3 ? [fake, m.bytes] : [m.bytes, fake];
  }

  // ---- (d): the relay ----

  private relay(m: Relay): Uint8Array {
    if (m.payments.length === 0 || !this.does("contradicting-relay")) return m.bytes;
    const payments = [...m.payments];
    const at = Math.floor(this.c.random() * payments.length);
    const p = decodePayment(payments[at]!);
    // Another payment of the same payer at that position (same timestamp: it fits the window).
    const payer = p === null ? 0 : Math.max(0, this.c.accounts.findIndex((a) => toHex(a.publicKey) === toHex(p.payer)));
    const payee = (payer + 1 + Math.floor(this.c.random() * (this.c.accounts.length - 1))) % this.c.accounts.length;
    payments[at] = this.payment(payer, payee, 1 + Math.floor(this.c.random() * 1_000), p?.timestampMs ?? this.inWindowMs(m.window));
    this.stats.contradictingRelays++;
    return this.forgeRelay(m, { payments });
  }

  // ---- (f): another network ----

  private forOtherNetwork(message: Uint8Array): Uint8Array | null {
    const parsed = parsePeerMessage(message, this.c.network.id, this.limits);
    if (!parsed.ok) return null;
    const m = parsed.message;
    const networkId = this.otherNetworkId;
    if (m.type === "handover") return this.forgeHandover(m, { networkId });
    if (m.type === "vote") return this.forgeVote(m, { networkId });
    if (m.type === "relay") return this.forgeRelay(m, { networkId });
    return null;
  }

  // ---- the forgers: every forged message is made here, from the real one it stands for ----

  /** A handover like `like`, signed by the faulty server, with some fields changed. */
  forgeHandover(like: Handover, changes: { readonly payments?: readonly Uint8Array[]; readonly hash?: Uint8Array; readonly networkId?: Uint8Array }): Uint8Array {
    return encodeHandover(
      {
        networkId: changes.networkId ?? like.networkId,
        sender: like.sender,
        window: like.window,
        sentAtMs: like.sentAtMs,
        baseWindow: like.baseWindow,
        baseHash: like.baseHash,
        hash: changes.hash ?? like.hash,
        payments: changes.payments ?? like.payments,
      },
      this.c.seed,
      this.limits,
    );
  }

  /**
   * A vote like `like` (the faulty server's real vote of that window), signed by it, for another
   * hash or network: base, batch digest and history are copied from `like`.
   */
  forgeVote(like: Vote, changes: { readonly hash?: Uint8Array; readonly networkId?: Uint8Array }): Uint8Array {
    return encodeVote(
      {
        networkId: changes.networkId ?? like.networkId,
        sender: like.sender,
        window: like.window,
        sentAtMs: like.sentAtMs,
        baseWindow: like.baseWindow,
        baseHash: like.baseHash,
        batch: like.batch,
        hash: changes.hash ?? like.hash,
        history: like.history,
      },
      this.c.seed,
    );
  }

  /** A relay like `like`, signed by the faulty server, with other payments or for another network. */
  forgeRelay(like: Relay, changes: { readonly payments?: readonly Uint8Array[]; readonly networkId?: Uint8Array }): Uint8Array {
    return encodeRelay(
      { networkId: changes.networkId ?? like.networkId, sender: like.sender, window: like.window, sentAtMs: like.sentAtMs, first: like.first, payments: changes.payments ?? like.payments },
      this.c.seed,
      this.limits,
    );
  }

  /** A payment of a colluding payer (an account of the simulation), validly signed. */
  private payment(payer: number, payee: number, amount: number, timestampMs: number): Uint8Array {
    const from = this.c.accounts[payer]!;
    return buildPayment({ timestampMs, amount, payee: this.c.accounts[payee]!.publicKey, payer: from.publicKey, payerSeed: from.seed });
  }

  /** A timestamp inside window k's accepting period. */
  private inWindowMs(k: number): number {
    const { fromMs, untilMs } = acceptingPeriod(k, scheduleOf(this.c.network));
    return fromMs + Math.floor(this.c.random() * (untilMs - fromMs));
  }
}

function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}
