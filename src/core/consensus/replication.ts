// The alpha's side of the replication stream, pure: the payments it committed in its window, the
// relays it sent of them, and how far each peer holds the window. A payment is acknowledged once a
// strict majority of the servers, the alpha included, hold it: heldByMajority() is that position.
import { assert } from "../assert.ts";
import type { ChainLink } from "./relay-chain.ts";

export class ReplicationOutbox {
  /** Committed here and not relayed yet. */
  readonly unsent: Uint8Array[] = [];
  /** Relays sent, in order: together they cover positions [0, relayed). */
  readonly sent: ChainLink[] = [];
  private relayedCount = 0;
  private committedCount = 0;
  /** Per server: how far it said it holds the window, and when it last said more. */
  private readonly peerHeld: number[];
  private readonly progressMs: number[];
  private majorityCount = 0;
  lastRelayMs = -Infinity;

  constructor(
    readonly window: number,
    private readonly serverCount: number,
    private readonly self: number,
    nowMs: number,
  ) {
    this.peerHeld = new Array<number>(serverCount).fill(0);
    this.progressMs = new Array<number>(serverCount).fill(nowMs);
  }

  get committed(): number {
    return this.committedCount;
  }

  get relayed(): number {
    return this.relayedCount;
  }

  /** Payments committed here, in order; returns the position of the first. */
  commit(payments: readonly Uint8Array[]): number {
    const first = this.committedCount;
    for (const p of payments) this.unsent.push(p);
    this.committedCount += payments.length;
    this.peerHeld[this.self] = this.committedCount;
    this.updateMajority();
    return first;
  }

  /** Takes up to `max` unsent payments for a relay starting at position `relayed`. */
  takeUnsent(max: number): { first: number; payments: Uint8Array[] } {
    const first = this.relayedCount;
    const payments = this.unsent.splice(0, max);
    this.relayedCount += payments.length;
    return { first, payments };
  }

  recordSent(link: ChainLink): void {
    assert(link.first + link.payments.length <= this.relayedCount, "a relay is sent only of payments taken for it");
    this.sent.push(link);
  }

  /** A peer says it holds [0, count); returns whether the majority's position moved. */
  peerHolds(peer: number, count: number, nowMs: number): boolean {
    assert(peer !== this.self, "the alpha's own count is what it committed");
    if (count > this.peerHeld[peer]!) {
      this.peerHeld[peer] = count;
      this.progressMs[peer] = nowMs;
    }
    return this.updateMajority();
  }

  /** Whether the count a peer claims is possible: it cannot hold what was never relayed. */
  plausible(count: number): boolean {
    return count <= this.relayedCount;
  }

  /** Positions [0, heldByMajority) are held by a strict majority of the servers. */
  get heldByMajority(): number {
    return this.majorityCount;
  }

  updateMajority(): boolean {
    // The (⌊n/2⌋+1)-th largest count: that many servers hold at least it.
    const sorted = [...this.peerHeld].sort((a, b) => b - a);
    const m = sorted[Math.floor(this.serverCount / 2)]!;
    if (m <= this.majorityCount) return false;
    this.majorityCount = m;
    return true;
  }

  /**
   * The relays a peer lags behind on, if it has said nothing new for `quietMs`: those covering
   * positions from where it holds, at most `max` of them. Marks the peer as just served.
   */
  resendsFor(peer: number, nowMs: number, quietMs: number, max: number): ChainLink[] {
    const held = this.peerHeld[peer]!;
    if (held >= this.relayedCount || nowMs - this.progressMs[peer]! < quietMs) return [];
    this.progressMs[peer] = nowMs;
    return this.sent.filter((l) => l.first + l.payments.length > held).slice(0, max);
  }
}
