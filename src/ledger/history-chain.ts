// The ledger's history digest (core/history-digest.ts), kept cheaply: the digests after the most
// recent windows with payments are remembered, so asking for the digest after a window's payments
// reads only that window's ids. Payments change only at the end of the history (a commit appends to
// a window, a rollback removes the windows after one), so a remembered digest stays valid until a
// change reaches its window. Anything else (a reload after a storage fault) forgets them all, and
// the next ask reads the whole history once.
import { batchDigest, EMPTY_HISTORY, windowDigests } from "../core/history-digest.ts";

/** Rows of payments of windows after `afterWindow`, ordered by window then acceptance order. */
export type IdsAfter = (afterWindow: number) => Iterable<{ window: number; id: Uint8Array }>;

/** Digests remembered (32 bytes each); a rollback deeper than this reads the whole history. */
const REMEMBERED_MAX = 64;

export class HistoryChain {
  /** [window, digest after it, its batch digest], ascending windows, each window holding payments. */
  private remembered: { window: number; digest: Uint8Array; batch: Uint8Array }[] = [];
  /** Whether `remembered` reaches back to the genesis (false until the first full read). */
  private complete = false;

  constructor(private readonly idsAfter: IdsAfter) {}

  /** The digest of every payment held, as of the latest window `latestWindow` (null: none). */
  digest(latestWindow: number | null): Uint8Array {
    if (latestWindow === null) return EMPTY_HISTORY;
    const last = this.remembered.at(-1);
    if (last !== undefined && last.window === latestWindow) return last.digest;
    // Continue from the last remembered window (all before the newest are final), else from genesis.
    const from = this.complete && last !== undefined ? last : null;
    if (from === null) this.remembered = [];
    let digest = from?.digest ?? EMPTY_HISTORY;
    let window: number | null = null;
    let ids: Uint8Array[] = [];
    const close = () => {
      if (window === null) return;
      const both = windowDigests(digest, window, ids);
      digest = both.history;
      this.remembered.push({ window, digest, batch: both.batch });
    };
    for (const row of this.idsAfter(from?.window ?? Number.MIN_SAFE_INTEGER)) {
      if (row.window !== window) {
        close();
        window = row.window;
        ids = [];
      }
      ids.push(row.id);
    }
    close();
    this.complete = true;
    if (this.remembered.length > REMEMBERED_MAX) this.remembered = this.remembered.slice(-REMEMBERED_MAX);
    return digest;
  }

  /**
   * The batch digest of `window` (its payments held, in order), when `window` is the latest with
   * payments or has none: what a vote is cast on. Null for an older window (not needed).
   */
  batch(window: number, latestWindow: number | null): Uint8Array | null {
    if (latestWindow === null || window > latestWindow) return batchDigest(window, []);
    if (window < latestWindow) return null;
    this.digest(latestWindow);
    return this.remembered.at(-1)!.batch;
  }

  /** Payments were added to `window`: digests from it on are stale. */
  appended(window: number): void {
    this.forgetFrom(window);
  }

  /** Payments of windows after `window` were removed. */
  undoneAfter(window: number): void {
    this.forgetFrom(window + 1);
  }

  /** The ledger was read back from disk: nothing remembered can be trusted. */
  forgetAll(): void {
    this.remembered = [];
    this.complete = false;
  }

  private forgetFrom(window: number): void {
    while (this.remembered.length > 0 && this.remembered.at(-1)!.window >= window) this.remembered.pop();
    // Trimmed to nothing after a full read: the next ask must read from genesis again.
    if (this.remembered.length === 0) this.complete = false;
  }
}
