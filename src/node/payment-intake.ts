// Payment intake: the node's one path from "bytes arrived" to "durably accepted".
//
// Stateless rules (size, amount, payer ≠ payee, clock skew, signature) run as each payment
// arrives. Payments that pass wait in a bounded queue; the queue is drained in commit groups, each
// one SQLite transaction with one fsync, where the ledger rules (duplicate, balance) are applied in
// arrival order. Only after COMMIT returns is anyone told "accepted": an acknowledged payment is on
// disk. Batching is also where the speed comes from: one fsync per group, not per payment.
import { checkBeforeSignature, checkStateless, type Verify } from "../core/acceptance.ts";
import type { VerifyPool } from "./verify-pool.ts";
import type { Clock } from "../core/clock.ts";
import type { ErrorCode } from "../core/errors.ts";
import { paymentId, type Payment } from "../core/payment.ts";
import { COMMIT_GROUP_PAYMENTS_MAX, PAYMENT_SIZE_BYTES, PENDING_PAYMENTS_MAX } from "../core/limits.ts";
import type { Ledger } from "../ledger/ledger.ts";
import { COMMIT_SECONDS_BUCKETS, GROUP_PAYMENTS_BUCKETS, Histogram } from "./metrics.ts";

export type Outcome =
  | { readonly accepted: true; readonly id: Uint8Array }
  | { readonly accepted: false; readonly code: ErrorCode; readonly id: Uint8Array | null; readonly message?: string };

/** Who may accept now. Returns null when this node accepts, or the rejection to give. */
export type AcceptGate = (nowMs: number) => { code: ErrorCode; message: string } | null;

export interface IntakeOptions {
  readonly ledger: Ledger;
  readonly clock: Clock;
  readonly skewMs: number;
  readonly verify: Verify;
  readonly gate: AcceptGate;
  readonly windowAt: (nowMs: number) => number;
  /** Called after each committed group with the payments it applied (for metrics, handover). */
  readonly onCommitted?: (applied: readonly Payment[], window: number) => void;
  readonly onError?: (error: unknown) => void;
  /** Worker threads for signature checks; without, they run on this thread. */
  readonly verifyPool?: VerifyPool;
}

interface Pending {
  readonly payment: Payment;
  readonly window: number;
  readonly done: (outcome: Outcome) => void;
}

export interface IntakeStats {
  accepted: number;
  rejected: Map<ErrorCode, number>;
  /** Per committed group: its size and how long its commit took (count, sum, max, buckets). */
  readonly groupPayments: Histogram;
  readonly commitSeconds: Histogram;
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
  private dispatchScheduled = false;
  private flushScheduled = false;
  private stopped = false;
  readonly stats: IntakeStats = {
    accepted: 0,
    rejected: new Map(),
    groupPayments: new Histogram(GROUP_PAYMENTS_BUCKETS),
    commitSeconds: new Histogram(COMMIT_SECONDS_BUCKETS),
  };

  constructor(private readonly options: IntakeOptions) {}

  /** Checks and queues one payment; `done` is called exactly once, after the commit for acceptances. */
  submit(bytes: Uint8Array, done: (outcome: Outcome) => void, _source?: string): void {
    const nowMs = this.options.clock.now();
    const reject = (code: ErrorCode, message?: string) => {
      this.count(code);
      const id = bytes.length === PAYMENT_SIZE_BYTES ? paymentId(bytes) : null;
      done(message === undefined ? { accepted: false, code, id } : { accepted: false, code, id, message });
    };
    if (this.stopped) return reject("NOT_ACCEPTING", "the server is shutting down");
    // Format errors are answered before "not accepting": a client should learn its bytes are wrong.
    // (The length is the whole format check here; the payment is decoded once, below.)
    if (bytes.length !== PAYMENT_SIZE_BYTES) return reject("PAYMENT_SIZE");
    const refusal = this.options.gate(nowMs);
    if (refusal !== null) return reject(refusal.code, refusal.message);
    if (this.pendingCount >= PENDING_PAYMENTS_MAX) return reject("OVERLOADED");
    const pool = this.options.verifyPool;
    if (pool === undefined) {
      // The datagram's buffer may be reused by the socket: keep our own copy.
      const result = checkStateless(new Uint8Array(bytes), nowMs, this.options.skewMs, this.options.verify);
      if (!result.ok) return reject(result.code);
      this.queue.push({ payment: result.payment, window: this.options.windowAt(nowMs), done });
      this.scheduleFlush();
      return;
    }
    // With workers: the cheap rules here, the signature in a worker, a batch at a time.
    const result = checkBeforeSignature(new Uint8Array(bytes), nowMs, this.options.skewMs);
    if (!result.ok) return reject(result.code);
    this.unverified.push({ payment: result.payment, window: this.options.windowAt(nowMs), done });
    this.scheduleDispatch();
  }

  private scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    setImmediate(() => {
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
          this.settle(batch, (i) => this.verifyHere(batch.items[i]!.payment));
          this.scheduleFlush();
        },
      );
    }
  }

  private verifyHere(p: Payment): boolean {
    return this.options.verify(p.signature, p.bytes.subarray(0, 76), p.payer);
  }

  /** Moves a verified batch on to the commit queue (or rejects), once: a flush may have done it. */
  private settle(batch: VerifyBatch, isValid: (i: number) => boolean): void {
    if (batch.settled) return;
    batch.settled = true;
    this.verifying.delete(batch);
    batch.items.forEach((item, i) => {
      if (isValid(i)) this.queue.push(item);
      else {
        this.count("SIGNATURE_INVALID");
        item.done({ accepted: false, code: "SIGNATURE_INVALID", id: paymentId(item.payment.bytes) });
      }
    });
  }

  /** Submit as a promise, for HTTP. */
  submitAsync(bytes: Uint8Array): Promise<Outcome> {
    return new Promise((resolve) => this.submit(bytes, resolve));
  }

  /** Payments accepted for checking and not yet answered. */
  get pendingCount(): number {
    let verifying = 0;
    for (const b of this.verifying) verifying += b.items.length;
    return this.queue.length + this.unverified.length + verifying;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.commitQueued();
    });
  }

  /**
   * Commits everything queued now, in groups. Synchronous: returns when all are answered. Payments
   * still waiting for a worker are checked here instead (a handover cannot wait for a worker).
   */
  flush(): void {
    for (const batch of [...this.verifying]) this.settle(batch, (i) => this.verifyHere(batch.items[i]!.payment));
    if (this.unverified.length > 0) {
      const batch: VerifyBatch = { items: this.unverified.splice(0), settled: false };
      this.settle(batch, (i) => this.verifyHere(batch.items[i]!.payment));
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
      decisions = this.options.ledger.applyGroup(
        group.map((p) => p.payment),
        window,
        this.options.clock.now(),
      );
    } catch (error) {
      // Nothing of the group was applied (the transaction rolled back): say so to every payer.
      this.options.onError?.(error);
      for (const p of group) {
        this.count("INTERNAL");
        p.done({ accepted: false, code: "INTERNAL", id: paymentId(p.payment.bytes) });
      }
      return;
    }
    const elapsedMs = performance.now() - startedMs;
    this.stats.groupPayments.observe(group.length);
    this.stats.commitSeconds.observe(elapsedMs / 1000);
    const applied: Payment[] = [];
    group.forEach((p, i) => {
      const decision = decisions[i]!;
      const id = paymentId(p.payment.bytes);
      if (decision.kind === "reject") {
        this.count(decision.code);
        p.done({ accepted: false, code: decision.code, id });
        return;
      }
      if (decision.kind === "apply") applied.push(p.payment);
      this.stats.accepted++;
      p.done({ accepted: true, id });
    });
    if (applied.length > 0) this.options.onCommitted?.(applied, window);
  }

  private count(code: ErrorCode): void {
    this.stats.rejected.set(code, (this.stats.rejected.get(code) ?? 0) + 1);
  }

  /** Stops taking payments and commits what is queued. */
  stop(): void {
    this.stopped = true;
    this.flush();
  }
}
