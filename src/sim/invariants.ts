// What the protocol promises, checked after every event of a simulated run (not only at its end),
// so a violation is reported at the event that caused it, with the seed that replays it:
//  1. supply: every ledger's balances sum to 2^32−1;
//  2. the agreed window never goes back on any server, restarts included. A resync moves it
//     forward only: the coordinator resyncs only to a certified window newer than its own. What a
//     resync may change is the history *below* it: a server whose own checkpoint was recorded by
//     a minority only (it learned a certificate the others never did, PROTOCOL §9) replays the
//     majority's whole history, and the windows it alone recorded are replaced. That is the one
//     exception, and it is not one to rule 2 (the number never decreases) but to the contents;
//  3. no two servers hold different checkpoints (state hashes) for one window;
//  4. no payment applied twice: across the agreed windows of every server, one signed part (the
//     first 76 bytes) belongs to one payment (the same 140 bytes) in one window. Each ledger's
//     UNIQUE index holds this within it; this check holds it across the agreed histories;
//  5. a payment acknowledged to its payer and then held in an agreed window by some server (as
//     test/sim/delivery-until-agreed.test.ts tracks "agreed somewhere") stays: every server whose
//     agreed window reaches that window holds it;
//  6. when a payment is acknowledged, a strict majority of the servers hold it durably: in their
//     ledger, or among the relays they stored (checked at the acknowledgement);
//  7. no two servers hold different final hashes for one window (PROTOCOL §7 step 9): checked
//     whenever a server's final window moves, against the hash of its checkpoint of that window;
//  8. with a Byzantine server: none of the payments it made up that no rule admits (bad signature,
//     overspending, timestamp outside the window) is in an agreed window of an honest server.
// Costs are kept to what changed: rules 1–3 read memory; rules 4–5 read the windows a server has
// newly agreed, and all of a server's history only after it resynced.
//
// With a Byzantine server (src/sim/byzantine.ts) the rules hold for the honest servers: the faulty
// one is not checked, nor counted as holding anything. Three rules are relaxed, each exactly as
// far as one faulty server can legitimately push them, and no further:
//  - rule 3: two honest servers may record different checkpoints for one window when the only
//    server that voted for both is the faulty one. A majority can fork that way (n = 3: the faulty
//    beta plus one honest server on each side), a final quorum cannot (PROTOCOL §7 step 9); two
//    certificates that share an honest voter are still a violation (it voted twice);
//  - rule 2: an honest server's agreed window may go back when it withdrew its latest checkpoint
//    on a proof that the faulty server equivocated in that window (§7 step 10);
//  - rules 5 and 6: a payment the faulty server acknowledged (as alpha) carries no promise; nor
//    does one an honest alpha acknowledged on a checkpoint that was one side of a fork, or that
//    it withdrew (what was built on it goes with it). The swarm's end check excuses those
//    (Invariants.forkedWindows, Invariants.withdrawn); rule 5 needs no excuse, as such a window
//    is not agreed by a majority of honest servers.
// Rules 1, 4 and 7 hold unrelaxed at every honest server: the supply, no double application, and
// final never forks — the promise that one faulty server among any number cannot break.
import { toHex } from "../core/bytes.ts";
import { paymentIdHex } from "../core/payment.ts";
import { SENDER_OFFSET, splitCertificate } from "../core/consensus/peer-message.ts";
import { SUPPLY } from "../core/limits.ts";
import type { Coordinator } from "../core/consensus/coordinator.ts";
import type { Ledger } from "../ledger/ledger.ts";

/** The signed part of a payment: timestamp, amount, payee, payer (PROTOCOL §1). */
const SIGNED_PART_BYTES = 76;

export interface CheckedServer {
  readonly index: number;
  readonly up: boolean;
  readonly ledger: Ledger;
  readonly coordinator: Coordinator;
}

/** A promise of the protocol broken in a simulated run: a bug, reported with its seed and event. */
export class InvariantViolation extends Error {
  override name = "InvariantViolation";
  constructor(
    readonly seed: number,
    readonly invariant: "supply" | "agreed-window-back" | "checkpoint-conflict" | "applied-twice" | "agreed-payment-lost" | "acknowledged-not-replicated" | "final-conflict" | "invalid-payment-applied",
    readonly event: string,
    readonly atMs: number,
    detail: string,
  ) {
    super(`seed ${seed}: invariant ${invariant} broken at ${atMs} (after event: ${event}): ${detail}`);
  }
}

interface Watched {
  coordinator: Coordinator | null;
  /** The highest agreed window seen on this server, over all its restarts. */
  agreedWindow: number;
  /** Its resync counter when last looked at (a new coordinator starts again from 0). */
  resyncs: number;
  /** Windows up to this one have had their payments checked against rule 4. */
  scannedUpTo: number;
  /** Its withdrawal counter when last looked at (checkpoints withdrawn on a proof of equivocation). */
  revoked: number;
  /** Its agreed window when last looked at. */
  lastAgreed: number;
  /** Its final window when last looked at. */
  lastFinal: number;
}

/** The faulty server of a run with one, and every server's key (hex, in the network file's order). */
export interface ByzantineCheck {
  readonly server: number;
  readonly keys: readonly string[];
  /** Ids (hex) of payments it made up that no server may apply (bad signature, overspending, out of the window). */
  readonly neverValid: ReadonlySet<string>;
}

export class Invariants {
  private readonly watched: Watched[];
  /** Rule 3: per window, per hash, the first server that recorded it and every voter of its certificates. */
  private readonly checkpointByWindow = new Map<number, Map<string, { server: number; voters: Set<number> }>>();
  /**
   * Rule 2: window → the honest servers that withdrew their checkpoint of it on a proof against
   * the faulty server. What such a server accepted on that checkpoint (as the next window's alpha)
   * is undone with it: an acknowledgement rests on "agreed", which one faulty server can fork.
   */
  readonly withdrawn = new Map<number, Set<number>>();
  /** Rule 7: window → the final hash and the first server that held it. */
  private readonly finalByWindow = new Map<number, { hash: string; server: number }>();
  /** Windows whose checkpoints differ between honest servers, as one faulty server can cause (rule 3). */
  readonly forkedWindows = new Set<number>();
  /** Acknowledged payments whose majority of holders at the acknowledgement included the faulty server. */
  readonly heldViaFaulty = new Set<string>();
  /** Rule 4: signed part (hex) → the payment and window it was agreed in. */
  private readonly signedParts = new Map<string, { window: number; bytes: string; server: number }>();
  /** Rule 5: acknowledged, not yet seen in an agreed window: window → ids (hex → bytes). */
  private readonly acknowledgedPending = new Map<number, Map<string, Uint8Array>>();
  /** Rule 5: acknowledged and agreed somewhere: window → ids (hex → bytes). */
  private readonly agreedSomewhere = new Map<number, Map<string, Uint8Array>>();
  private agreedSomewhereCount = 0;
  private event = "start";
  private atMs = 0;

  /** Rule 5: the servers that held each acknowledged payment in an agreed window, so far. */
  private readonly agreedBy = new Map<string, Set<number>>();

  constructor(
    private readonly seed: number,
    private readonly servers: readonly CheckedServer[],
    /** Rule 5 from the first server that agrees a payment, not from a majority (see markAgreed). */
    private readonly strict = false,
    /** A faulty server, if the run has one: the rules then hold for the others. */
    private readonly byzantine: ByzantineCheck | null = null,
  ) {
    this.watched = servers.map(() => ({ coordinator: null, agreedWindow: -1, resyncs: 0, scannedUpTo: -1, revoked: 0, lastAgreed: -1, lastFinal: -1 }));
  }

  /** The servers the rules are about: all, or all but the faulty one. */
  private honest(s: CheckedServer): boolean {
    return this.byzantine === null || s.index !== this.byzantine.server;
  }

  /** Acknowledged payments held in an agreed window somewhere (rule 5), so far. */
  get agreedSomewhereTotal(): number {
    return this.agreedSomewhereCount;
  }

  private violation(invariant: InvariantViolation["invariant"], detail: string): never {
    throw new InvariantViolation(this.seed, invariant, this.event, this.atMs, detail);
  }

  /** The payer was told "accepted" for payment `id` (these 140 bytes), which its server holds in `window`. */
  acknowledged(id: Uint8Array, window: number, bytes?: Uint8Array, server?: number): void {
    const idHex = toHex(id);
    // The faulty server's acknowledgement promises nothing (it may hand over without the payment).
    if (this.byzantine !== null && server === this.byzantine.server) return;
    if (bytes !== undefined && this.servers.length > 1) {
      // Rule 6, over every server, up or down: what a crashed one stored is still on its disk. The
      // faulty server counts too: its node's "held" (not tampered with) is what the alpha went by.
      const holders = this.servers.filter((s) => s.ledger.hasPayment(id) || s.coordinator.holdsRelayed(window, bytes)).map((s) => s.index);
      if (holders.length * 2 <= this.servers.length) {
        this.violation("acknowledged-not-replicated", `payment ${idHex.slice(0, 16)} of window ${window} acknowledged while only server(s) ${holders.join(", ") || "none"} of ${this.servers.length} hold it`);
      }
      // A majority that holds it only with the faulty server: its "held" may be a lie (it may
      // answer a rescuer without the payment), so the acknowledgement rests on it (PROTOCOL §9).
      if (this.byzantine !== null && holders.filter((i) => i !== this.byzantine!.server).length * 2 <= this.servers.length) this.heldViaFaulty.add(idHex);
    }
    if (this.agreedSomewhere.get(window)?.has(idHex)) return;
    for (const s of this.servers) {
      if (s.up && this.honest(s) && s.coordinator.agreed.window >= window && s.ledger.hasPayment(id) && this.honestlyCertified(s)) this.markAgreed(window, idHex, id, s.index);
    }
    if (this.agreedSomewhere.get(window)?.has(idHex)) return;
    let ids = this.acknowledgedPending.get(window);
    if (ids === undefined) this.acknowledgedPending.set(window, (ids = new Map()));
    ids.set(idHex, id);
  }

  private markAgreed(window: number, idHex: string, id: Uint8Array, server: number): void {
    // What the protocol promises today (PROTOCOL.md §9): a payment held in an agreed checkpoint
    // by a strict majority of servers is never lost. One recorded by a minority only may still
    // roll back with its window; `strict` checks the stronger promise that issue 8's rescue of
    // a window is to bring (agreed anywhere stays), which the current protocol breaks rarely.
    let holders = this.agreedBy.get(idHex);
    if (holders === undefined) this.agreedBy.set(idHex, (holders = new Set()));
    holders.add(server);
    const needed = this.strict ? 1 : Math.floor(this.servers.length / 2) + 1;
    if (holders.size < needed) return;
    this.acknowledgedPending.get(window)?.delete(idHex);
    let ids = this.agreedSomewhere.get(window);
    if (ids === undefined) this.agreedSomewhere.set(window, (ids = new Map()));
    if (ids.has(idHex)) return;
    ids.set(idHex, id);
    this.agreedSomewhereCount++;
    // From now on every server whose agreed window reaches `window` must hold it.
    for (const s of this.servers) {
      if (s.up && this.honest(s) && s.coordinator.agreed.window >= window && !s.ledger.hasPayment(id)) {
        this.violation("agreed-payment-lost", `acknowledged payment ${idHex.slice(0, 16)} of window ${window}, agreed on server ${server}, is missing on server ${s.index} (agreed window ${s.coordinator.agreed.window})`);
      }
    }
  }

  /** After every event: the cheap rules everywhere, the others where something changed. */
  check(event: string, atMs: number): void {
    this.event = event;
    this.atMs = atMs;
    for (const s of this.servers) {
      if (!s.up || !this.honest(s)) continue;
      const supply = s.ledger.totals().supply;
      if (supply !== SUPPLY) this.violation("supply", `server ${s.index}: balances sum to ${supply}, not ${SUPPLY}`);
      const w = this.watched[s.index]!;
      const resynced = this.noteCoordinator(s, w);
      const agreed = s.coordinator.agreed;
      const withdrawn = this.noteWithdrawal(s, w);
      if (agreed.window < w.agreedWindow) {
        // The withdrawn checkpoint may be an earlier one (the later ones built on it go with it).
        if (!withdrawn || agreed.window >= w.lastAgreed || !this.provenAgainstFaulty(s, agreed.window + 1, w.lastAgreed)) {
          this.violation("agreed-window-back", `server ${s.index}: agreed window went from ${w.agreedWindow} back to ${agreed.window}`);
        }
        // Withdrawn on a proof against the faulty server: the window is open again here.
        // (Checkpoints are kept 16 deep: a withdrawal reaches no further back; from genesis, −1.)
        for (let x = Math.max(agreed.window + 1, w.lastAgreed - 16); x <= w.lastAgreed; x++) {
          let by = this.withdrawn.get(x);
          if (by === undefined) this.withdrawn.set(x, (by = new Set()));
          by.add(s.index);
        }
        w.agreedWindow = agreed.window;
        w.scannedUpTo = Math.min(w.scannedUpTo, agreed.window);
      }
      w.lastAgreed = agreed.window;
      this.checkFinal(s, w);
      if (agreed.window > w.agreedWindow || resynced) this.advanced(s, w, agreed, resynced);
    }
  }

  /** Whether the server withdrew a checkpoint since the last look (PROTOCOL §7 step 10). */
  private noteWithdrawal(s: CheckedServer, w: Watched): boolean {
    if (w.coordinator !== s.coordinator) return false;
    const revoked = s.coordinator.counters.revoked;
    if (revoked === w.revoked) return false;
    w.revoked = revoked;
    return true;
  }

  /** Whether the server holds a proof that the faulty server equivocated in `window`. */
  /** Whether the server holds a proof against the faulty server for a window in [from, to]. */
  private provenAgainstFaulty(s: CheckedServer, from: number, to: number = from): boolean {
    if (this.byzantine === null) return false;
    const key = this.byzantine.keys[this.byzantine.server];
    return s.coordinator.equivocations().some((e) => e.window >= from && e.window <= to && e.server === key);
  }

  /** The servers whose votes make up the certificate of a server's checkpoint of `window`. */
  /**
   * Whether the server's latest checkpoint has a majority without the faulty server's vote. One
   * that needed it (a resync to a certificate of the faulty server, before its proof arrived; a
   * provisional checkpoint) may still be withdrawn: rule 5 promises nothing for what it holds.
   */
  private honestlyCertified(s: CheckedServer): boolean {
    if (this.byzantine === null) return true;
    const window = s.coordinator.agreed.window;
    if (window < 0) return true;
    const honestVoters = [...this.voters(s, window)].filter((v) => v >= 0 && v !== this.byzantine!.server);
    return honestVoters.length * 2 > this.servers.length;
  }

  private voters(s: CheckedServer, window: number): Set<number> {
    const certificate = s.ledger.checkpoint(window)?.certificate ?? new Uint8Array(0);
    const keys = this.byzantine?.keys ?? [];
    const out = new Set<number>();
    for (const vote of splitCertificate(certificate) ?? []) out.add(keys.indexOf(toHex(vote.subarray(SENDER_OFFSET, SENDER_OFFSET + 32))));
    return out;
  }

  /** Whether the server resynced since the last look (its history below the agreed window may have been replaced). */
  private noteCoordinator(s: CheckedServer, w: Watched): boolean {
    if (w.coordinator !== s.coordinator) {
      // A restart: a new coordinator over the same ledger, its counters from 0.
      w.coordinator = s.coordinator;
      w.resyncs = s.coordinator.counters.resyncs;
      w.revoked = s.coordinator.counters.revoked;
      return false;
    }
    if (s.coordinator.counters.resyncs === w.resyncs) return false;
    w.resyncs = s.coordinator.counters.resyncs;
    return true;
  }

  private advanced(s: CheckedServer, w: Watched, agreed: { window: number; hash: string }, resynced: boolean): void {
    if (agreed.window >= 0) this.checkCheckpoint(s, agreed.window, agreed.hash);
    // Rule 4 over the windows newly agreed here.
    if (agreed.window > w.scannedUpTo) {
      for (const row of s.ledger.paymentsBetween(w.scannedUpTo, agreed.window)) {
        this.checkSignedPart(s.index, row.window, row.bytes);
        if (this.byzantine !== null && this.byzantine.neverValid.size > 0 && this.byzantine.neverValid.has(paymentIdHex(row.bytes))) {
          this.violation("invalid-payment-applied", `server ${s.index} agreed window ${row.window} with payment ${paymentIdHex(row.bytes).slice(0, 16)}, which the faulty server made up invalid`);
        }
      }
      w.scannedUpTo = agreed.window;
    }
    // Rule 5: over the windows newly agreed here, or all of them after a resync.
    const from = resynced ? -1 : w.agreedWindow + 1;
    for (const [window, ids] of this.acknowledgedPending) {
      if (window < from || window > agreed.window) continue;
      for (const [idHex, id] of [...ids]) if (s.ledger.hasPayment(id) && this.honestlyCertified(s)) this.markAgreed(window, idHex, id, s.index);
    }
    for (const [window, ids] of this.agreedSomewhere) {
      if (window < from || window > agreed.window) continue;
      for (const [idHex, id] of ids) {
        if (!s.ledger.hasPayment(id)) {
          this.violation("agreed-payment-lost", `acknowledged payment ${idHex.slice(0, 16)} of window ${window}, agreed elsewhere, is missing on server ${s.index} (agreed window ${agreed.window}${resynced ? ", after a resync" : ""})`);
        }
      }
    }
    w.agreedWindow = Math.max(w.agreedWindow, agreed.window);
  }

  /** Rule 7: a final window moved on this server; its hash is its checkpoint's of that window. */
  private checkFinal(s: CheckedServer, w: Watched): void {
    const final = s.coordinator.final.window;
    if (final === w.lastFinal) return;
    w.lastFinal = final;
    if (final < 0) return;
    const checkpoint = s.ledger.checkpoint(final);
    if (checkpoint === undefined) return; // recorded only in memory for a moment: seen at the next look
    const hash = toHex(checkpoint.hash);
    const known = this.finalByWindow.get(final);
    if (known === undefined) this.finalByWindow.set(final, { hash, server: s.index });
    else if (known.hash !== hash) this.violation("final-conflict", `window ${final} final as ${known.hash.slice(0, 16)} on server ${known.server} and as ${hash.slice(0, 16)} on server ${s.index}`);
  }

  /** Windows some server held final, so far (rule 7). */
  get finalWindows(): number {
    return this.finalByWindow.size;
  }

  /** Rule 3 for a server's checkpoint of `window` at `hash`. */
  private checkCheckpoint(s: CheckedServer, window: number, hash: string): void {
    let byHash = this.checkpointByWindow.get(window);
    if (byHash === undefined) this.checkpointByWindow.set(window, (byHash = new Map()));
    const voters = this.byzantine === null ? new Set<number>() : this.voters(s, window);
    const mine = byHash.get(hash);
    if (mine === undefined) byHash.set(hash, { server: s.index, voters });
    else for (const v of voters) mine.voters.add(v);
    for (const [other, known] of byHash) {
      if (other === hash) continue;
      const detail = `window ${window} agreed as ${other.slice(0, 16)} on server ${known.server} and as ${hash.slice(0, 16)} on server ${s.index}`;
      const faulty = this.byzantine?.server;
      if (faulty === undefined) this.violation("checkpoint-conflict", detail);
      // A fork one faulty server can make: the two certificates share no voter but it (an honest
      // server votes once a window, so one in both would have voted twice).
      const both = [...known.voters].filter((v) => (byHash.get(hash)?.voters ?? voters).has(v));
      if (both.length === 0 || both.some((v) => v !== faulty)) {
        this.violation("checkpoint-conflict", `${detail}: voters in both certificates: ${both.join(", ") || "none"} (faulty: ${faulty})`);
      }
      this.forkedWindows.add(window);
    }
  }

  private checkSignedPart(server: number, window: number, bytes: Uint8Array): void {
    const key = toHex(bytes.subarray(0, SIGNED_PART_BYTES));
    const whole = toHex(bytes);
    const known = this.signedParts.get(key);
    if (known === undefined) {
      this.signedParts.set(key, { window, bytes: whole, server });
      return;
    }
    if (known.window !== window || known.bytes !== whole) {
      this.violation("applied-twice", `signed part ${key.slice(0, 16)}… agreed in window ${known.window} on server ${known.server} and again in window ${window} on server ${server}${known.bytes === whole ? "" : " (other bytes)"}`);
    }
  }

  /** Every rule over everything, at the end of a run: rule 5 for every payment on every server. */
  checkAll(event: string, atMs: number): void {
    this.check(event, atMs);
    for (const s of this.servers) {
      if (!s.up || !this.honest(s)) continue;
      const agreedWindow = s.coordinator.agreed.window;
      for (const [window, ids] of this.agreedSomewhere) {
        if (window > agreedWindow) continue;
        for (const [idHex, id] of ids) {
          if (!s.ledger.hasPayment(id)) this.violation("agreed-payment-lost", `acknowledged payment ${idHex.slice(0, 16)} of window ${window} is missing on server ${s.index} (agreed window ${agreedWindow})`);
        }
      }
    }
  }
}
