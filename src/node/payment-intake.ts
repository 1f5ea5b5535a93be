// Payment intake: the node's one path from "bytes arrived" to "durably accepted".
//
// Order of the checks, cheapest and most telling first:
//  1. exactly 140 bytes;
//  2. a retransmission of bytes already accepted, or being checked now, is recognised before any
//     other rule: it is answered "accepted" (applied once), or joins the pending copy's answer.
//     A reply lost near the blackout must not turn into NOT_ACCEPTING for a payment that was in
//     fact accepted: the payer would sign a second one and pay twice;
//  3. the gate: is this server the alpha now (NOT_ACCEPTING); then the window's capacity: the
//     payments it holds plus those pending for it (WINDOW_FULL). Pending ones count although some
//     will fail, so a burst waiting for its signature checks can never overshoot; the commit group
//     checks the capacity again against what is committed;
//  4. the stateless rules (amount, payer ≠ payee, clock skew);
//  5. the payer's account and balance as committed now: a payer with no account needs no
//     signature check (a flood of fresh keys costs a map lookup and one indexed SQLite lookup each
//     — is it a retransmission? — not 40 µs). Checked again, authoritatively, at commit;
//  6. bounds: pending payments per source address, per payer and in all. OVERLOADED is true: the
//     payment is not queued and never applies;
//  7. the signature, on a worker thread, a batch at a time;
//  8. the ledger rules (duplicate, balance) in the commit group's transaction, in arrival order.
// Only after COMMIT returns is a payment on disk here; with other servers, it is then relayed to
// them (the replication stream, core/consensus/replication.ts), and its payer is told "accepted"
// only once a strict majority of the servers, this one included, hold it durably. Until then
// the payment waits here ("awaiting"); a retransmission joins it. Its window agreed without it,
// or undone here, it is answered NOT_KEPT: the client asks the network before paying again.
// Batching is also where the speed comes from: one fsync per group, not per payment.
import { checkBeforeSignature, decideAgainstLedger, verifyPaymentSignature, type Verify } from "../core/acceptance.ts";
import type { VerifyPool } from "./verify-pool.ts";
import type { Clock } from "../core/clock.ts";
import { StorageError, type ErrorCode } from "../core/errors.ts";
import { bytesKey, toHex } from "../core/bytes.ts";
import { paymentId, type Payment } from "../core/payment.ts";
import {
  COMMIT_GROUP_PAYMENTS_MAX,
  PAYMENT_SIZE_BYTES,
  PENDING_PAYMENTS_MAX,
  PENDING_PER_PAYER_MAX,
  PENDING_PER_SOURCE_MAX,
  PENDING_WAITERS_MAX,
} from "../core/limits.ts";
import type { Ledger } from "../ledger/ledger.ts";
import { COMMIT_SECONDS_BUCKETS, GROUP_PAYMENTS_BUCKETS, Histogram } from "./metrics.ts";

export type Outcome =
  | { readonly accepted: true; readonly id: Uint8Array }
  | { readonly accepted: false; readonly code: ErrorCode; readonly id: Uint8Array | null; readonly message?: string };

/** Who may accept now. Returns null when this node accepts, or the rejection to give. */
export type AcceptGate = (nowMs: number) => { code: ErrorCode; message: string } | null;

/** What the intake needs of the ledger. */
export type IntakeLedger = Pick<Ledger, "applyGroup" | "hasPayment" | "balance" | "sameSignedPart" | "windowPaymentCount">;

export interface IntakeOptions {
  readonly ledger: IntakeLedger;
  readonly clock: Clock;
  readonly skewMs: number;
  readonly verify: Verify;
  readonly gate: AcceptGate;
  readonly windowAt: (nowMs: number) => number;
  /** The most payments one window may hold (the network's `capacity`). */
  readonly capacity: number;
  /** The words of a WINDOW_FULL refusal for `window` (core/window-full.ts: names the next alpha). */
  readonly windowFullMessage?: (window: number) => string;
  /**
   * Called after each committed group with the payments it applied: the replication stream (the
   * coordinator). It gives the position of the first in the window and how many of the window's
   * payments a majority of servers holds now; the payers are answered as that grows (replicated()).
   * Without it, a payment is acknowledged at its commit.
   */
  readonly replicate?: (applied: readonly Payment[], window: number) => { first: number; heldByMajority: number };
  readonly onError?: (error: unknown) => void;
  /** Worker threads for signature checks; without, they run on this thread. */
  readonly verifyPool?: VerifyPool;
  /**
   * Runs `fn` after the current event, at the node's own pace: how a dispatch to the workers and
   * a commit group are started. A process passes setImmediate (the default); the simulator
   * schedules an event of simulated time, so a commit lands after other events as in a process.
   */
  readonly defer?: (fn: () => void) => void;
}

/** Where a submission came from when the adapter does not say (tests, in-process callers). */
const LOCAL_SOURCE = "local";

type Done = (outcome: Outcome) => void;

interface Pending {
  readonly payment: Payment;
  readonly id: Uint8Array;
  readonly idKey: string;
  readonly payerKey: string;
  readonly source: string;
  readonly window: number;
  /** The first submission and retransmissions of the same bytes; all get the one outcome. */
  readonly waiters: Done[];
}

export interface IntakeStats {
  accepted: number;
  rejected: Map<ErrorCode, number>;
  /** Retransmissions of accepted or pending bytes, answered without checking them again. */
  retransmissions: number;
  /** Per committed group: its size and how long its commit took (count, sum, max, buckets). */
  readonly groupPayments: Histogram;
  readonly commitSeconds: Histogram;
}

/** Committed here, waiting until a majority of the servers holds it. */
interface Awaiting {
  readonly id: Uint8Array;
  readonly idKey: string;
  readonly position: number;
  readonly waiters: Done[];
}

interface VerifyBatch {
  readonly items: Pending[];
  settled: boolean;
}

/** Payments per batch sent to a verification worker. */
const VERIFY_BATCH_MAX = 64;

export class PaymentIntake {
  private queue: Pending[] = [];
  /** Passed the cheap rules; waiting to be sent to a verification worker. */
  private unverified: Pending[] = [];
  /** With a worker now. */
  private readonly verifying = new Set<VerifyBatch>();
  /** Every pending payment by id (latin1 of its 32 bytes): how a retransmission finds it. */
  private readonly pendingById = new Map<string, Pending>();
  private readonly pendingBySource = new Map<string, number>();
  private readonly pendingByPayer = new Map<string, number>();
  /** Pending payments per window they would be committed in: counted against its capacity. */
  private readonly pendingByWindow = new Map<number, number>();
  /** Committed, not yet held by a majority: by id, and per window in position order. */
  private readonly awaitingById = new Map<string, Awaiting>();
  private readonly awaitingByWindow = new Map<number, Awaiting[]>();
  private dispatchScheduled = false;
  private flushScheduled = false;
  private stopped = false;
  readonly stats: IntakeStats = {
    accepted: 0,
    rejected: new Map(),
    retransmissions: 0,
    groupPayments: new Histogram(GROUP_PAYMENTS_BUCKETS),
    commitSeconds: new Histogram(COMMIT_SECONDS_BUCKETS),
  };

  private readonly defer: (fn: () => void) => void;

  constructor(private readonly options: IntakeOptions) {
    this.defer = options.defer ?? ((fn) => void setImmediate(fn));
  }

  /**
   * Checks and queues one payment; `done` is called exactly once, after the commit for
   * acceptances. `source` is the sender's address, for the per-source bound.
   */
  submit(bytes: Uint8Array, done: Done, source: string = LOCAL_SOURCE): void {
    const nowMs = this.options.clock.now();
    // Format errors are answered before anything else: a client should learn its bytes are wrong.
    if (bytes.length !== PAYMENT_SIZE_BYTES) return this.reject(done, "PAYMENT_SIZE", null);
    // The datagram's buffer may be reused by the socket: keep our own copy.
    const copy = new Uint8Array(bytes);
    const id = paymentId(copy);
    const idKey = bytesKey(id);
    if (this.stopped) return this.reject(done, "NOT_ACCEPTING", id, "the server is shutting down");

    // Retransmissions first, before any gate (see the header).
    if (this.joinAwaiting(idKey, done, id)) return;
    const pending = this.pendingById.get(idKey);
    if (pending !== undefined) {
      this.stats.retransmissions++;
      if (pending.waiters.length < PENDING_WAITERS_MAX) pending.waiters.push(done);
      else this.reject(done, "IN_PROGRESS", id);
      return;
    }
    // Bytes already in the ledger are recognised before any refusal below (refuse() looks them
    // up), so such a retransmission is never refused; one that passes every rule is queued and
    // the commit answers it "accepted" without applying it again. The common case costs no lookup.

    const refusal = this.options.gate(nowMs);
    if (refusal !== null) return this.refuse(done, refusal.code, id, refusal.message);
    const window = this.options.windowAt(nowMs);
    if (this.options.ledger.windowPaymentCount(window) + (this.pendingByWindow.get(window) ?? 0) >= this.options.capacity) {
      return this.refuse(done, "WINDOW_FULL", id, this.windowFullMessage(window));
    }
    const cheap = checkBeforeSignature(copy, nowMs, this.options.skewMs);
    if (!cheap.ok) return this.refuse(done, cheap.code, id);
    const payment = cheap.payment;
    // The ledger rules as committed now, with no signature check; the commit group checks them
    // again with what is pending. A payer that cannot cover the amount is looked up by signed part
    // first, so the code is the one the commit would give — and that lookup already tells whether
    // these very bytes were accepted (a retransmission).
    const payerBalance = this.options.ledger.balance(payment.payer);
    if (payerBalance === undefined) return this.refuse(done, "UNKNOWN_PAYER", id);
    if (payerBalance < payment.amount) {
      const tentative = decideAgainstLedger(payment, { sameSignedPart: this.options.ledger.sameSignedPart(payment), payerBalance });
      if (tentative.kind === "already-accepted") return this.answerRetransmission(done, id);
      if (tentative.kind === "reject") return this.reject(done, tentative.code, id);
    }

    const payerKey = bytesKey(payment.payer);
    if (this.pendingCount >= PENDING_PAYMENTS_MAX) {
      return this.refuse(done, "OVERLOADED", id, `the server has ${PENDING_PAYMENTS_MAX} payments waiting; this one was not accepted, send it again shortly`);
    }
    if ((this.pendingBySource.get(source) ?? 0) >= PENDING_PER_SOURCE_MAX) {
      return this.refuse(done, "OVERLOADED", id, `${PENDING_PER_SOURCE_MAX} payments from your address are waiting; this one was not accepted, send it again once they are answered`);
    }
    if ((this.pendingByPayer.get(payerKey) ?? 0) >= PENDING_PER_PAYER_MAX) {
      return this.refuse(done, "OVERLOADED", id, `${PENDING_PER_PAYER_MAX} payments of this payer are waiting; this one was not accepted, send it again once they are answered`);
    }

    const item: Pending = { payment, id, idKey, payerKey, source, window, waiters: [done] };
    this.track(item);
    if (this.options.verifyPool === undefined) {
      if (!verifyPaymentSignature(payment, this.options.verify)) return this.finish(item, this.rejection("SIGNATURE_INVALID", id));
      this.queue.push(item);
      this.scheduleFlush();
      return;
    }
    // With workers: the signature in a worker, a batch at a time.
    this.unverified.push(item);
    this.scheduleDispatch();
  }

  private track(item: Pending): void {
    this.pendingById.set(item.idKey, item);
    this.pendingBySource.set(item.source, (this.pendingBySource.get(item.source) ?? 0) + 1);
    this.pendingByPayer.set(item.payerKey, (this.pendingByPayer.get(item.payerKey) ?? 0) + 1);
    this.pendingByWindow.set(item.window, (this.pendingByWindow.get(item.window) ?? 0) + 1);
  }

  /** Answers every waiter of a pending payment once, and forgets it. */
  private finish(item: Pending, outcome: Outcome): void {
    if (this.pendingById.get(item.idKey) !== item) return;
    this.release(item);
    if (outcome.accepted) this.stats.accepted++;
    else this.count(outcome.code);
    for (const waiter of item.waiters) waiter(outcome);
  }

  private windowFullMessage(window: number): string | undefined {
    return this.options.windowFullMessage?.(window);
  }

  private rejection(code: ErrorCode, id: Uint8Array | null, message?: string): Outcome {
    return message === undefined ? { accepted: false, code, id } : { accepted: false, code, id, message };
  }

  /** A refusal, unless the bytes are an accepted payment's: then a retransmission, answered accepted. */
  private refuse(done: Done, code: ErrorCode, id: Uint8Array, message?: string): void {
    if (this.options.ledger.hasPayment(id)) return this.answerRetransmission(done, id);
    this.reject(done, code, id, message);
  }

  /** Bytes already in the ledger: "accepted" again, applied once (once a majority holds them). */
  private answerRetransmission(done: Done, id: Uint8Array): void {
    if (this.joinAwaiting(bytesKey(id), done, id)) return;
    this.stats.retransmissions++;
    this.stats.accepted++;
    done({ accepted: true, id });
  }

  /** A retransmission of a payment waiting for its majority joins its answer. */
  private joinAwaiting(idKey: string, done: Done, id: Uint8Array): boolean {
    const awaiting = this.awaitingById.get(idKey);
    if (awaiting === undefined) return false;
    this.stats.retransmissions++;
    if (awaiting.waiters.length < PENDING_WAITERS_MAX) awaiting.waiters.push(done);
    else this.reject(done, "IN_PROGRESS", id);
    return true;
  }

  /** Payments committed here that wait for a majority of the servers to hold them. */
  get awaitingCount(): number {
    return this.awaitingById.size;
  }

  /** Positions [0, count) of `window` are held by a strict majority: their payers hear "accepted". */
  replicated(window: number, count: number): void {
    const list = this.awaitingByWindow.get(window);
    if (list === undefined) return;
    let n = 0;
    while (n < list.length && list[n]!.position < count) n++;
    for (const a of list.splice(0, n)) this.answerAwaiting(a, { accepted: true, id: a.id });
    if (list.length === 0) this.awaitingByWindow.delete(window);
  }

  /**
   * This server's agreed checkpoint reached `window`: what waits of it and earlier windows is
   * answered from the ledger, which holds the agreed history: "accepted", or NOT_KEPT (the window
   * was agreed without it; the ledger then no longer holds it).
   */
  agreed(window: number): void {
    for (const [w, list] of [...this.awaitingByWindow]) {
      if (w > window) continue;
      this.awaitingByWindow.delete(w);
      for (const a of list) this.answerAwaiting(a, this.options.ledger.hasPayment(a.id) ? { accepted: true, id: a.id } : this.rejection("NOT_KEPT", a.id));
    }
  }

  /** Everything after the checkpoint of `window` was undone here: what waits of later windows is NOT_KEPT. */
  undone(window: number, why = "its window was rolled back here before a majority of the servers agreed on it"): void {
    for (const [w, list] of [...this.awaitingByWindow]) {
      if (w <= window) continue;
      this.awaitingByWindow.delete(w);
      for (const a of list) this.answerAwaiting(a, this.rejection("NOT_KEPT", a.id, `the payment is not kept here: ${why}; ask the network with \`scryp tx ${toHex(a.id)}\` before paying again`));
    }
  }

  private answerAwaiting(a: Awaiting, outcome: Outcome): void {
    if (this.awaitingById.get(a.idKey) !== a) return;
    this.awaitingById.delete(a.idKey);
    if (outcome.accepted) this.stats.accepted++;
    else this.count(outcome.code);
    for (const waiter of a.waiters) waiter(outcome);
  }

  private reject(done: Done, code: ErrorCode, id: Uint8Array | null, message?: string): void {
    this.count(code);
    done(this.rejection(code, id, message));
  }

  private scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    this.defer(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  /** Hands waiting payments to the verification workers while they have room. */
  private dispatch(): void {
    const pool = this.options.verifyPool!;
    while (this.unverified.length > 0 && pool.hasRoom) {
      const batch: VerifyBatch = { items: this.unverified.splice(0, VERIFY_BATCH_MAX), settled: false };
      this.verifying.add(batch);
      pool.verify(batch.items.map((p) => p.payment.bytes)).then(
        (valid) => {
          this.settle(batch, (i) => valid[i] === 1);
          this.scheduleFlush();
          this.scheduleDispatch();
        },
        (error) => {
          // A worker failed: check on this thread instead; nothing is lost.
          this.options.onError?.(error);
          this.settle(batch, (i) => verifyPaymentSignature(batch.items[i]!.payment, this.options.verify));
          this.scheduleFlush();
        },
      );
    }
  }

  /** Moves a verified batch on to the commit queue (or rejects), once: a flush may have done it. */
  private settle(batch: VerifyBatch, isValid: (i: number) => boolean): void {
    if (batch.settled) return;
    batch.settled = true;
    this.verifying.delete(batch);
    batch.items.forEach((item, i) => {
      if (isValid(i)) this.queue.push(item);
      else this.finish(item, this.rejection("SIGNATURE_INVALID", item.id));
    });
  }

  /** Submit as a promise, for HTTP. */
  submitAsync(bytes: Uint8Array, source?: string): Promise<Outcome> {
    return new Promise((resolve) => this.submit(bytes, resolve, source));
  }

  /** Payments accepted for checking and not yet answered. */
  get pendingCount(): number {
    return this.pendingById.size;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.defer(() => {
      this.flushScheduled = false;
      this.commitQueued();
    });
  }

  /**
   * Commits everything queued now, in groups. Synchronous: returns when all are answered. Payments
   * still waiting for a worker are checked here instead (a handover cannot wait for a worker).
   */
  flush(): void {
    const here = (batch: VerifyBatch) => (i: number) => verifyPaymentSignature(batch.items[i]!.payment, this.options.verify);
    for (const batch of [...this.verifying]) this.settle(batch, here(batch));
    if (this.unverified.length > 0) {
      const batch: VerifyBatch = { items: this.unverified.splice(0), settled: false };
      this.settle(batch, here(batch));
    }
    this.commitQueued();
  }

  /** Commits the payments whose checks are done, in groups; the workers go on meanwhile. */
  private commitQueued(): void {
    while (this.queue.length > 0) {
      const group = this.queue.splice(0, COMMIT_GROUP_PAYMENTS_MAX);
      this.commitGroup(group);
    }
  }

  private commitGroup(group: Pending[]): void {
    // Payments of one group may span a window boundary only in the instant of a switch; split so
    // each is recorded under the window it was accepted in.
    let start = 0;
    while (start < group.length) {
      const window = group[start]!.window;
      let end = start + 1;
      while (end < group.length && group[end]!.window === window) end++;
      this.commitWindowGroup(group.slice(start, end), window);
      start = end;
    }
  }

  private commitWindowGroup(group: Pending[], window: number): void {
    const startedMs = performance.now();
    let decisions;
    try {
      // The capacity again, against what is committed now: never more than capacity in a window.
      decisions = this.options.ledger.applyGroup(
        group.map((p) => p.payment),
        window,
        this.options.clock.now(),
        this.options.capacity,
      );
    } catch (error) {
      // Nothing of the group was applied (the transaction rolled back): say so to every payer. A
      // failing disk is named as such: the payer may try again later, here or at the next alpha.
      this.options.onError?.(error);
      const code: ErrorCode = error instanceof StorageError && error.fault ? "STORAGE_FAILING" : "INTERNAL";
      for (const p of group) this.finish(p, this.rejection(code, p.id));
      return;
    }
    const elapsedMs = performance.now() - startedMs;
    this.stats.groupPayments.observe(group.length);
    this.stats.commitSeconds.observe(elapsedMs / 1000);
    const applied: Pending[] = [];
    group.forEach((p, i) => {
      const decision = decisions[i]!;
      if (decision.kind === "reject") {
        const message = decision.code === "WINDOW_FULL" ? this.windowFullMessage(window) : undefined;
        return this.finish(p, this.rejection(decision.code, p.id, message));
      }
      if (decision.kind === "apply") return applied.push(p);
      // Accepted before (a retransmission that passed every rule): its answer, or its wait.
      if (!this.awaitingById.has(p.idKey)) return this.finish(p, { accepted: true, id: p.id });
      this.release(p);
      for (const waiter of p.waiters) this.joinAwaiting(p.idKey, waiter, p.id);
    });
    if (applied.length === 0) return;
    const replicate = this.options.replicate;
    if (replicate === undefined) {
      for (const p of applied) this.finish(p, { accepted: true, id: p.id });
      return;
    }
    const { first, heldByMajority } = replicate(applied.map((p) => p.payment), window);
    let list = this.awaitingByWindow.get(window);
    if (list === undefined) this.awaitingByWindow.set(window, (list = []));
    applied.forEach((p, i) => {
      this.release(p);
      const a: Awaiting = { id: p.id, idKey: p.idKey, position: first + i, waiters: p.waiters };
      this.awaitingById.set(a.idKey, a);
      list.push(a);
    });
    this.replicated(window, heldByMajority);
  }

  /** Forgets a pending payment's bounds (it is committed now), keeping its waiters for later. */
  private release(item: Pending): void {
    if (this.pendingById.get(item.idKey) !== item) return;
    this.pendingById.delete(item.idKey);
    decrement(this.pendingBySource, item.source);
    decrement(this.pendingByPayer, item.payerKey);
    decrement(this.pendingByWindow, item.window);
  }

  private count(code: ErrorCode): void {
    this.stats.rejected.set(code, (this.stats.rejected.get(code) ?? 0) + 1);
  }

  /**
   * Stops taking payments and commits what is queued. What still waits for a majority is told
   * NOT_KEPT: this server will not be there to say (the payer asks the network).
   */
  stop(): void {
    this.stopped = true;
    this.flush();
    this.undone(-Infinity, "the server stopped before a majority of the servers confirmed they hold it");
  }
}

function decrement<K>(counts: Map<K, number>, key: K): void {
  const n = (counts.get(key) ?? 0) - 1;
  if (n <= 0) counts.delete(key);
  else counts.set(key, n);
}
