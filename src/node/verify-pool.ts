// Worker threads that check payment signatures for the intake. The node's main thread does the
// I/O and the SQLite commits; signature checks (≈40 µs each, the largest cost of a payment) run
// on the other cores, a batch at a time.
import { PAYMENT_SIZE_BYTES } from "../core/limits.ts";
import type { VerifyRequest, VerifyResponse } from "./verify-worker.ts";

/**
 * Where the worker's code is. Running from source it is the file beside this one. In the compiled
 * binary it is a second entrypoint (scripts/build.ts), which Bun names by its path relative to
 * the entrypoints' common directory (src/).
 */
const COMPILED = import.meta.url.startsWith("file:///$bunfs/");
const WORKER_SPECIFIER = COMPILED ? "./node/verify-worker.ts" : new URL("./verify-worker.ts", import.meta.url).href;

/** Batches waiting in one worker at most: enough to keep it busy while the main thread commits. */
const BATCHES_IN_FLIGHT_MAX = 4;

interface Job {
  readonly resolve: (valid: Uint8Array) => void;
  readonly reject: (e: Error) => void;
}

export class VerifyPool {
  private readonly workers: Worker[] = [];
  private readonly inFlight: number[] = [];
  private readonly jobs = new Map<number, Job>();
  private nextId = 1;
  private closed = false;

  constructor(size: number) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(WORKER_SPECIFIER);
      worker.onmessage = (event: MessageEvent<VerifyResponse>) => {
        this.inFlight[i]!--;
        const job = this.jobs.get(event.data.id);
        this.jobs.delete(event.data.id);
        job?.resolve(new Uint8Array(event.data.valid));
      };
      worker.onerror = (event) => {
        for (const job of this.jobs.values()) job.reject(new Error(`verification worker failed: ${event.message}`));
        this.jobs.clear();
      };
      this.workers.push(worker);
      this.inFlight.push(0);
    }
  }

  /** Whether a worker can take another batch now. */
  get hasRoom(): boolean {
    return !this.closed && this.inFlight.some((n) => n < BATCHES_IN_FLIGHT_MAX);
  }

  /** Checks the signatures of `payments` (each 140 bytes); resolves to 1/0 per payment. */
  verify(payments: readonly Uint8Array[]): Promise<Uint8Array> {
    const buffer = new Uint8Array(payments.length * PAYMENT_SIZE_BYTES);
    payments.forEach((p, i) => buffer.set(p, i * PAYMENT_SIZE_BYTES));
    let best = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.inFlight[i]! < this.inFlight[best]!) best = i;
    const id = this.nextId++;
    this.inFlight[best]!++;
    return new Promise((resolve, reject) => {
      this.jobs.set(id, { resolve, reject });
      const request: VerifyRequest = { id, payments: buffer.buffer };
      this.workers[best]!.postMessage(request, [buffer.buffer]);
    });
  }

  close(): void {
    this.closed = true;
    for (const w of this.workers) w.terminate();
  }
}
