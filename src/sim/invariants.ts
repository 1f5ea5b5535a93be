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
//     ledger, or among the relays they stored (checked at the acknowledgement).
// Costs are kept to what changed: rules 1–3 read memory; rules 4–5 read the windows a server has
// newly agreed, and all of a server's history only after it resynced.
import { toHex } from "../core/bytes.ts";
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
    readonly invariant: "supply" | "agreed-window-back" | "checkpoint-conflict" | "applied-twice" | "agreed-payment-lost" | "acknowledged-not-replicated",
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
}

export class Invariants {
  private readonly watched: Watched[];
  private readonly checkpointByWindow = new Map<number, { hash: string; server: number }>();
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
  ) {
    this.watched = servers.map(() => ({ coordinator: null, agreedWindow: -1, resyncs: 0, scannedUpTo: -1 }));
  }

  /** Acknowledged payments held in an agreed window somewhere (rule 5), so far. */
  get agreedSomewhereTotal(): number {
    return this.agreedSomewhereCount;
  }

  private violation(invariant: InvariantViolation["invariant"], detail: string): never {
    throw new InvariantViolation(this.seed, invariant, this.event, this.atMs, detail);
  }

  /** The payer was told "accepted" for payment `id` (these 140 bytes), which its server holds in `window`. */
  acknowledged(id: Uint8Array, window: number, bytes?: Uint8Array): void {
    const idHex = toHex(id);
    if (bytes !== undefined && this.servers.length > 1) {
      // Rule 6, over every server, up or down: what a crashed one stored is still on its disk.
      const holders = this.servers.filter((s) => s.ledger.hasPayment(id) || s.coordinator.holdsRelayed(window, bytes)).map((s) => s.index);
      if (holders.length * 2 <= this.servers.length) {
        this.violation("acknowledged-not-replicated", `payment ${idHex.slice(0, 16)} of window ${window} acknowledged while only server(s) ${holders.join(", ") || "none"} of ${this.servers.length} hold it`);
      }
    }
    if (this.agreedSomewhere.get(window)?.has(idHex)) return;
    for (const s of this.servers) {
      if (s.up && s.coordinator.agreed.window >= window && s.ledger.hasPayment(id)) this.markAgreed(window, idHex, id, s.index);
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
      if (s.up && s.coordinator.agreed.window >= window && !s.ledger.hasPayment(id)) {
        this.violation("agreed-payment-lost", `acknowledged payment ${idHex.slice(0, 16)} of window ${window}, agreed on server ${server}, is missing on server ${s.index} (agreed window ${s.coordinator.agreed.window})`);
      }
    }
  }

  /** After every event: the cheap rules everywhere, the others where something changed. */
  check(event: string, atMs: number): void {
    this.event = event;
    this.atMs = atMs;
    for (const s of this.servers) {
      if (!s.up) continue;
      const supply = s.ledger.totals().supply;
      if (supply !== SUPPLY) this.violation("supply", `server ${s.index}: balances sum to ${supply}, not ${SUPPLY}`);
      const w = this.watched[s.index]!;
      const resynced = this.noteCoordinator(s, w);
      const agreed = s.coordinator.agreed;
      if (agreed.window < w.agreedWindow) {
        this.violation("agreed-window-back", `server ${s.index}: agreed window went from ${w.agreedWindow} back to ${agreed.window}`);
      }
      if (agreed.window > w.agreedWindow || resynced) this.advanced(s, w, agreed, resynced);
    }
  }

  /** Whether the server resynced since the last look (its history below the agreed window may have been replaced). */
  private noteCoordinator(s: CheckedServer, w: Watched): boolean {
    if (w.coordinator !== s.coordinator) {
      // A restart: a new coordinator over the same ledger, its counters from 0.
      w.coordinator = s.coordinator;
      w.resyncs = s.coordinator.counters.resyncs;
      return false;
    }
    if (s.coordinator.counters.resyncs === w.resyncs) return false;
    w.resyncs = s.coordinator.counters.resyncs;
    return true;
  }

  private advanced(s: CheckedServer, w: Watched, agreed: { window: number; hash: string }, resynced: boolean): void {
    if (agreed.window >= 0) {
      const known = this.checkpointByWindow.get(agreed.window);
      if (known !== undefined && known.hash !== agreed.hash) {
        this.violation("checkpoint-conflict", `window ${agreed.window} agreed as ${known.hash.slice(0, 16)} on server ${known.server} and as ${agreed.hash.slice(0, 16)} on server ${s.index}`);
      }
      if (known === undefined) this.checkpointByWindow.set(agreed.window, { hash: agreed.hash, server: s.index });
    }
    // Rule 4 over the windows newly agreed here.
    if (agreed.window > w.scannedUpTo) {
      for (const row of s.ledger.paymentsBetween(w.scannedUpTo, agreed.window)) this.checkSignedPart(s.index, row.window, row.bytes);
      w.scannedUpTo = agreed.window;
    }
    // Rule 5: over the windows newly agreed here, or all of them after a resync.
    const from = resynced ? -1 : w.agreedWindow + 1;
    for (const [window, ids] of this.acknowledgedPending) {
      if (window < from || window > agreed.window) continue;
      for (const [idHex, id] of [...ids]) if (s.ledger.hasPayment(id)) this.markAgreed(window, idHex, id, s.index);
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
      if (!s.up) continue;
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
