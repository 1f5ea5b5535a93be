// The node's storage: working, or failing since when and why. A full disk or an I/O error is an
// operating error, not a crash: the ledger refuses writes once one failed (every write fails as a
// whole, memory stays what is on disk), payments are answered STORAGE_FAILING, the coordinator
// retries its writes on later ticks, and this monitor probes the disk with a small write in a
// transaction, backing off exponentially, until it takes writes again: then the node resumes by
// itself. The state is on /status, the status page and /metrics, with the data directory's free
// bytes, and logged once when it starts and once when it ends.
//
// It also keeps the WAL small: see WAL_CHECKPOINT_IDLE_MS.
import { statfsSync } from "node:fs";
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import type { StorageError } from "../core/errors.ts";
import type { Ledger } from "../ledger/ledger.ts";

/** The first probe after a failure, and the most a probe waits after failed ones (doubling). */
export const STORAGE_PROBE_MS_MIN = 250;
export const STORAGE_PROBE_MS_MAX = 30_000;
/** How often the monitor looks: the precision of the probe's backoff and of the idle checkpoint. */
export const STORAGE_CHECK_INTERVAL_MS = 250;
/**
 * With no commit for this long, the WAL is checkpointed and truncated to zero bytes. The automatic
 * checkpoint (wal_autocheckpoint) bounds how far the WAL grows between checkpoints, and
 * journal_size_limit cuts the file back after one; this returns the disk space the WAL holds (up
 * to 128 MiB) whenever the node is idle, so a quiet node's WAL is empty and a full disk finds it so.
 */
export const WAL_CHECKPOINT_IDLE_MS = 5_000;

export type StorageLedger = Pick<Ledger, "storageFailure" | "probeStorage" | "checkpointWal" | "changeCount">;

export interface StorageStatus {
  readonly ok: boolean;
  /** What failed, in words, with SQLite's code; null while ok. */
  readonly error: string | null;
  readonly code: string | null;
  /** When the storage started failing (ms since the epoch); null while ok. */
  readonly sinceMs: number | null;
  /** Free bytes for this process on the data directory's file system; null if not known. */
  readonly freeBytes: number | null;
}

interface Failing {
  error: StorageError;
  readonly sinceMs: number;
  probes: number;
  nextProbeMs: number;
}

export class StorageMonitor {
  private failing: Failing | null = null;
  /** The ledger's change count when last looked at (not its hash: that would fold leaves every 250 ms). */
  private lastChangeCount: number;
  private lastChangeMs: number;
  private checkpointedSinceChange = false;
  /** Probes run and WAL checkpoints done, for tests and metrics. */
  readonly counters = { probes: 0, recoveries: 0, walCheckpoints: 0 };

  constructor(
    private readonly ledger: StorageLedger,
    private readonly dataDir: string,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.lastChangeCount = ledger.changeCount();
    this.lastChangeMs = clock.now();
  }

  get ok(): boolean {
    return this.failing === null;
  }

  /** The ledger reports every failed write here (Ledger.onStorageError). */
  noteError(error: StorageError): void {
    if (!error.fault) return; // a rule the data broke (a constraint): that operation only
    const nowMs = this.clock.now();
    if (this.failing !== null) {
      this.failing.error = error;
      return;
    }
    this.failing = { error, sinceMs: nowMs, probes: 0, nextProbeMs: nowMs + STORAGE_PROBE_MS_MIN };
    this.log.error("ledger", `storage failing: ${error.message}; not accepting payments until the disk takes writes again (checked with a backoff)`, {
      code: error.sqliteCode,
      freeBytes: this.freeBytes(),
    });
  }

  /** Runs the probe when due, and the idle WAL checkpoint. Called every STORAGE_CHECK_INTERVAL_MS. */
  check(nowMs: number, idle: boolean): void {
    const f = this.failing;
    if (f !== null) {
      if (nowMs < f.nextProbeMs) return;
      this.counters.probes++;
      if (this.ledger.probeStorage()) {
        this.failing = null;
        this.counters.recoveries++;
        this.log.info("ledger", `storage works again after ${((nowMs - f.sinceMs) / 1000).toFixed(1)} s; accepting payments`, { probes: f.probes + 1, freeBytes: this.freeBytes() });
        return;
      }
      f.probes++;
      f.error = this.ledger.storageFailure() ?? f.error;
      f.nextProbeMs = nowMs + Math.min(STORAGE_PROBE_MS_MAX, STORAGE_PROBE_MS_MIN * 2 ** Math.min(f.probes, 30));
      return;
    }
    const changes = this.ledger.changeCount();
    if (changes !== this.lastChangeCount) {
      this.lastChangeCount = changes;
      this.lastChangeMs = nowMs;
      this.checkpointedSinceChange = false;
    }
    if (idle && !this.checkpointedSinceChange && nowMs - this.lastChangeMs >= WAL_CHECKPOINT_IDLE_MS) {
      this.checkpointedSinceChange = true;
      if (this.ledger.checkpointWal()) this.counters.walCheckpoints++;
    }
  }

  /** The refusal for a payment while the storage fails; null while it works. */
  refusal(): { code: "STORAGE_FAILING"; message: string } | null {
    const f = this.failing;
    if (f === null) return null;
    return {
      code: "STORAGE_FAILING",
      message: `this server cannot write to its disk since ${new Date(f.sinceMs).toISOString()} (${f.error.sqliteCode}); the payment was not accepted, try again later`,
    };
  }

  status(): StorageStatus {
    const f = this.failing;
    return { ok: f === null, error: f?.error.message ?? null, code: f?.error.sqliteCode ?? null, sinceMs: f?.sinceMs ?? null, freeBytes: this.freeBytes() };
  }

  /** Free bytes (for an unprivileged writer) on the data directory's file system. */
  freeBytes(): number | null {
    try {
      const s = statfsSync(this.dataDir);
      return Number(s.bavail) * Number(s.bsize);
    } catch {
      return null;
    }
  }
}
