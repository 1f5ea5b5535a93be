// The replication stream's pure parts: what a receiver holds of a window (a chain of the alpha's
// relays from index 0), and the longest prefix several such chains give (the rescue of a window).
//
// A window's payments have positions 0, 1, 2, … in the alpha's acceptance order; a relay carries
// positions [first, first + count). A server holds a prefix [0, held): it stores a relay only when
// it extends that prefix (first ≤ held < first + count), so its stored relays form a chain.
import type { Relay } from "./peer-message.ts";

export interface ChainLink {
  readonly first: number;
  readonly payments: readonly Uint8Array[];
  /** The relay as the alpha signed it. */
  readonly bytes: Uint8Array;
}

/**
 * Relays that arrived ahead of a gap, kept in memory (not held, not said) per window until the
 * gap fills: the alpha's relays travel as separate requests and may overtake each other.
 */
export const RELAYS_AHEAD_KEPT_MAX = 32;

/** What this server holds of each recent window it is not the alpha of. */
export class RelayInbox {
  private readonly windows = new Map<number, { held: number; chain: ChainLink[] }>();
  private readonly ahead = new Map<number, ChainLink[]>();

  /** Keeps a relay that starts beyond what is held, for when the gap fills (a bounded few). */
  keepAhead(window: number, link: ChainLink): void {
    let list = this.ahead.get(window);
    if (list === undefined) this.ahead.set(window, (list = []));
    if (list.length >= RELAYS_AHEAD_KEPT_MAX || list.some((l) => l.first === link.first)) return;
    list.push(link);
  }

  /** A kept relay that now extends what is held, taken out of the keep; null if none. */
  takeAhead(window: number): ChainLink | null {
    const list = this.ahead.get(window);
    if (list === undefined) return null;
    const i = list.findIndex((l) => this.extends(window, l.first, l.payments.length));
    // Those wholly below what is held now are of no use any more.
    const held = this.held(window);
    const found = i < 0 ? null : list[i]!;
    this.ahead.set(window, list.filter((l, j) => j !== i && l.first + l.payments.length > held));
    return found;
  }

  /** How many of the window's payments, from position 0, are held here. */
  held(window: number): number {
    return this.windows.get(window)?.held ?? 0;
  }

  /** Whether a relay of these positions would extend what is held (else it is a repeat or beyond a gap). */
  extends(window: number, first: number, count: number): boolean {
    const held = this.held(window);
    return first <= held && first + count > held;
  }

  /** Adds a relay that extends the prefix (stored on disk first); returns its payments not held before. */
  add(window: number, link: ChainLink): readonly Uint8Array[] {
    let w = this.windows.get(window);
    if (w === undefined) this.windows.set(window, (w = { held: 0, chain: [] }));
    const fresh = link.payments.slice(w.held - link.first);
    if (link.first > w.held || fresh.length === 0) return [];
    w.chain.push(link);
    w.held = link.first + link.payments.length;
    return fresh;
  }

  chain(window: number): readonly ChainLink[] {
    return this.windows.get(window)?.chain ?? [];
  }

  /** Whether the held prefix of `window` includes these 140 bytes (for the simulator's checks). */
  holds(window: number, payment: Uint8Array): boolean {
    return this.chain(window).some((l) => l.payments.some((p) => Buffer.compare(p, payment) === 0));
  }

  prune(keepFrom: number): void {
    for (const w of this.windows.keys()) if (w < keepFrom) this.windows.delete(w);
    for (const w of this.ahead.keys()) if (w < keepFrom) this.ahead.delete(w);
  }
}

/** A relay as a chain link. */
export const linkOf = (r: Relay): ChainLink => ({ first: r.first, payments: r.payments, bytes: r.bytes });

/**
 * The longest prefix of a window that the links cover from position 0, and the fewest links that
 * cover it (each chosen to reach furthest). Where two links overlap, their payments must be the same
 * bytes: a link that disagrees with the prefix built so far is not used (an alpha that signed two
 * different payments for one position is faulty; the prefix stops before what it contradicts).
 * Deterministic in the set of links, so every server that checks a rescue finds the same payments.
 */
export function longestPrefix(links: readonly ChainLink[]): { links: ChainLink[]; payments: Uint8Array[] } {
  const payments: Uint8Array[] = [];
  const used: ChainLink[] = [];
  // Sorted by first, then by reach, then by bytes: the choice does not depend on arrival order.
  const sorted = [...links].sort((a, b) => a.first - b.first || b.payments.length - a.payments.length || Buffer.compare(a.bytes, b.bytes));
  for (;;) {
    const at = payments.length;
    let best: ChainLink | null = null;
    for (const l of sorted) {
      if (l.first > at) break;
      if (l.first + l.payments.length <= at) continue;
      if (best !== null && l.first + l.payments.length <= best.first + best.payments.length) continue;
      if (!agrees(l, payments)) continue;
      best = l;
    }
    if (best === null) return { links: used, payments };
    used.push(best);
    for (const p of best.payments.slice(at - best.first)) payments.push(p);
  }
}

/** Whether a link's payments before the prefix's end are the prefix's own. */
function agrees(link: ChainLink, prefix: readonly Uint8Array[]): boolean {
  for (let i = link.first; i < prefix.length; i++) if (Buffer.compare(link.payments[i - link.first]!, prefix[i]!) !== 0) return false;
  return true;
}
