// How far each peer's clock is from this server's, for the status page. The schedule runs from
// every server's own clock, so an offset near the skew (±5 s by default) means two servers can
// believe they are alpha at once, or a payment stamped by one is refused by another.
//
// Measured like NTP, from one GET /status: offset = peer's clock − the midpoint of the request.
// Every request is bounded by a timeout, and one measurement is shared by every page open for a
// while, so a page left open cannot make this server flood its peers.
import { httpBase, type Network } from "../core/network.ts";
import type { Clock } from "../core/clock.ts";

/** A peer that does not answer within this is shown as unreachable. */
export const PEER_CLOCK_TIMEOUT_MS = 1_000;
/** A measurement is reused for this long; status pages poll every ~2 s. */
export const PEER_CLOCK_CACHE_MS = 2_000;

export interface PeerClockReading {
  readonly key: string;
  readonly address: string;
  readonly self: boolean;
  /** Peer's clock minus this server's, ms; null when it did not answer. */
  readonly offsetMs: number | null;
  /** Round trip of the request, ms: the offset is uncertain by half of it. */
  readonly roundTripMs: number | null;
  readonly error: string | null;
}

export interface PeerClocksSnapshot {
  readonly measuredAtMs: number;
  readonly peers: readonly PeerClockReading[];
}

export type FetchStatus = (url: string, signal: AbortSignal) => Promise<{ clock: { nowMs: number } }>;

const fetchStatus: FetchStatus = async (url, signal) => {
  const response = await fetch(url, { signal });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return (await response.json()) as { clock: { nowMs: number } };
};

export class PeerClocks {
  private last: PeerClocksSnapshot | null = null;
  private inFlight: Promise<PeerClocksSnapshot> | null = null;

  constructor(
    private readonly network: Network,
    private readonly selfIndex: number,
    private readonly clock: Clock,
    private readonly fetchPeer: FetchStatus = fetchStatus,
  ) {}

  /** The latest measurement, taken now if the cached one is older than PEER_CLOCK_CACHE_MS. */
  async read(): Promise<PeerClocksSnapshot> {
    if (this.last !== null && this.clock.now() - this.last.measuredAtMs < PEER_CLOCK_CACHE_MS) return this.last;
    // Concurrent pages share one round of requests.
    this.inFlight ??= this.measure().finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  private async measure(): Promise<PeerClocksSnapshot> {
    const peers = await Promise.all(this.network.servers.map((server, i) => this.measureOne(i, server.keyHex, server.address)));
    this.last = { measuredAtMs: this.clock.now(), peers };
    return this.last;
  }

  private async measureOne(i: number, key: string, address: string): Promise<PeerClockReading> {
    if (i === this.selfIndex) return { key, address, self: true, offsetMs: 0, roundTripMs: 0, error: null };
    const server = this.network.servers[i]!;
    const sentMs = this.clock.now();
    try {
      const status = await this.fetchPeer(`${httpBase(server)}/status`, AbortSignal.timeout(PEER_CLOCK_TIMEOUT_MS));
      const receivedMs = this.clock.now();
      const peerNowMs = status?.clock?.nowMs;
      if (typeof peerNowMs !== "number" || !Number.isFinite(peerNowMs)) throw new Error("its /status has no clock");
      return {
        key,
        address,
        self: false,
        offsetMs: Math.round(peerNowMs - (sentMs + receivedMs) / 2),
        roundTripMs: receivedMs - sentMs,
        error: null,
      };
    } catch (e) {
      const name = (e as Error).name;
      const error = name === "TimeoutError" ? `no answer within ${PEER_CLOCK_TIMEOUT_MS} ms` : ((e as Error).message ?? String(e));
      return { key, address, self: false, offsetMs: null, roundTripMs: null, error };
    }
  }
}
