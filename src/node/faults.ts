// Faults a node survives — socket errors, rejected peer messages, aborted uploads, refused
// requests — counted by kind for /metrics, and logged with a throttle: the first of a kind in an
// interval is logged at once, the rest as one line with their count when the interval ends. A
// stranger who sends 3,000 bad datagrams a second gets one log line a second, not 3,000.
import type { Clock } from "../core/clock.ts";
import type { Component, Logger } from "../core/logger.ts";

/** One summary line per kind at most this often. */
export const FAULT_LOG_INTERVAL_MS = 10_000;

export const FAULT_KINDS = [
  "udp_socket_error",
  "udp_send_failed",
  "peer_message_rejected",
  "peer_request_refused",
  "http_upload_aborted",
  "http_request_refused",
  "http_error",
  "http_request_malformed",
  // A ledger write that failed or was refused because the storage is failing (full disk, I/O error).
  "storage_failing",
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];


interface Throttle {
  windowStartMs: number;
  suppressed: number;
  lastMessage: string;
}

export class Faults {
  private readonly counts = new Map<FaultKind, number>();
  private readonly throttles = new Map<FaultKind, Throttle>();

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly intervalMs: number = FAULT_LOG_INTERVAL_MS,
  ) {}

  /** Counts one fault and logs it, throttled per kind. Never throws. */
  record(kind: FaultKind, component: Component, message: string, fields?: Record<string, unknown>): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    const nowMs = this.clock.now();
    const t = this.throttles.get(kind);
    if (t === undefined || nowMs - t.windowStartMs >= this.intervalMs) {
      if (t !== undefined && t.suppressed > 0) this.summarise(kind, component, t);
      this.throttles.set(kind, { windowStartMs: nowMs, suppressed: 0, lastMessage: message });
      this.log.warn(component, message, { fault: kind, ...fields });
      return;
    }
    t.suppressed++;
    t.lastMessage = message;
  }

  private summarise(kind: FaultKind, component: Component, t: Throttle): void {
    this.log.warn(component, `${t.suppressed} more of the same in the last ${Math.round(this.intervalMs / 1000)} s (last: ${t.lastMessage})`, { fault: kind, count: t.suppressed });
  }

  /** Logs the summaries whose interval has ended (called from a timer, so a burst is reported when it stops). */
  flush(component: Component = "node"): void {
    const nowMs = this.clock.now();
    for (const [kind, t] of this.throttles) {
      if (t.suppressed === 0 || nowMs - t.windowStartMs < this.intervalMs) continue;
      this.summarise(kind, component, t);
      t.suppressed = 0;
      t.windowStartMs = nowMs;
    }
  }

  /** Counts per kind, for /metrics. */
  snapshot(): ReadonlyMap<FaultKind, number> {
    return new Map(this.counts);
  }

  count(kind: FaultKind): number {
    return this.counts.get(kind) ?? 0;
  }
}
