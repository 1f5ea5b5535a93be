// Carries out the coordinator's effects over HTTP: broadcasts to peers, certificate pulls and
// resyncs. Every request is bounded by a timeout; failures are logged and counted, never thrown.
import type { Coordinator, Effect, ReceiveResult } from "../core/consensus/coordinator.ts";
import { httpBase, type Network } from "../core/network.ts";
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import { decodePaymentRows, decodeFramedMessages } from "./peer-api.ts";
import { peerLimits } from "../core/consensus/peer-limits.ts";
import { PEER_AUTH_HEADER, peerAuthHeader } from "../core/consensus/peer-request-auth.ts";
import { PEER_SENDS_IN_FLIGHT_MAX } from "../core/limits.ts";
import { concatBytes } from "../core/bytes.ts";
import { StorageError } from "../core/errors.ts";

/** A peer that does not answer within this is treated as down for this message. */
const PEER_TIMEOUT_MS = 5_000;
/** A resync may move a whole ledger's history. */
const RESYNC_TIMEOUT_MS = 120_000;

type Row = { window: number; bytes: Uint8Array };

export class PeerLink {
  peerErrors = 0;
  /** Relays not sent because the peer had PEER_SENDS_IN_FLIGHT_MAX messages of ours in flight. */
  relaysDropped = 0;
  /** Messages to each peer not yet answered. */
  private readonly inFlight: number[] = [];
  private readonly lastErrorLogMs = new Map<number, number>();
  /** The largest resync answer a source may send (peer-limits.ts: at least one full window). */
  private readonly resyncAnswerBytesMax: number;
  /** The largest peer message (a rescue), and the most relays one answer carries. */
  private readonly messageBytesMax: number;
  private readonly rescueRelaysMax: number;
  /**
   * The payments fetched by a resync the ledger could not store (a full disk): the next resync
   * from the same checkpoint fetches only the windows after them. They are kept only for that
   * case; rows that did not give the agreed hash are never reused.
   */
  private fetched: { afterWindow: number; window: number; rows: Row[] } | null = null;

  constructor(
    private readonly network: Network,
    private readonly selfIndex: number,
    private readonly coordinator: Coordinator,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** This server's key seed: every /peer request is signed (see peer-request-auth.ts). */
    private readonly seed: Uint8Array,
    /** Whether the ledger takes writes now: while not, a resync is not even fetched. */
    private readonly storageOk: () => boolean = () => true,
  ) {
    const limits = peerLimits(network.capacity);
    this.resyncAnswerBytesMax = limits.resyncAnswerBytesMax;
    this.messageBytesMax = limits.peerMessageBytesMax;
    this.rescueRelaysMax = limits.rescueRelaysMax;
  }

  /** Headers that authenticate a request to another server's /peer route. */
  private auth(method: string, pathAndQuery: string, contentLength: number): Record<string, string> {
    const self = this.network.servers[this.selfIndex]!.key;
    return { [PEER_AUTH_HEADER]: peerAuthHeader({ method, pathAndQuery, contentLength }, this.network.id, self, this.seed, this.clock.now()) };
  }

  private base(i: number): string {
    return httpBase(this.network.servers[i]!);
  }

  private others(): number[] {
    return this.network.servers.map((_, i) => i).filter((i) => i !== this.selfIndex);
  }

  private failed(i: number, what: string, e: unknown): void {
    this.peerErrors++;
    const now = this.clock.now();
    // One line per peer per 10 s: a peer that is down should not flood the log.
    if (now - (this.lastErrorLogMs.get(i) ?? -Infinity) < 10_000) return;
    this.lastErrorLogMs.set(i, now);
    this.log.warn("peers", `${what} to ${this.network.servers[i]!.address} failed: ${(e as Error).message ?? String(e)}`);
  }

  run = (effects: readonly Effect[]): void => {
    for (const effect of effects) {
      switch (effect.kind) {
        case "broadcast":
          for (const i of this.others()) this.post(i, effect.message, effect.what);
          break;
        case "send":
          this.post(effect.to, effect.message, effect.what);
          break;
        case "pull-certificates":
          this.pullCertificates();
          break;
        case "fetch-handover":
          for (const i of this.others()) this.fetchHandover(i, effect.window);
          break;
        case "collect-relays":
          for (const i of this.others()) this.collectRelays(i, effect.window);
          break;
        case "resync":
          void this.resync(effect);
          break;
        default:
          assertNever(effect);
      }
    }
  };

  private post(i: number, message: Uint8Array, what: string): void {
    // A slow peer must not pile up relays here (each up to 1.4 MB): beyond the bound they are
    // dropped; the alpha sends a peer the relays it lacks again once it has been quiet a while
    // (coordinator.resendRelays). Handovers, votes and the rest, a few per window, always go.
    if (what === "relay" && (this.inFlight[i] ?? 0) >= PEER_SENDS_IN_FLIGHT_MAX) {
      this.relaysDropped++;
      return;
    }
    this.inFlight[i] = (this.inFlight[i] ?? 0) + 1;
    fetch(`${this.base(i)}/peer/message`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream", "content-length": String(message.length), ...this.auth("POST", "/peer/message", message.length) },
      body: message,
      signal: AbortSignal.timeout(PEER_TIMEOUT_MS),
    })
      .then(async (r) => {
        if (!r.ok) this.failed(i, what, new Error(`HTTP ${r.status} ${await r.text()}`));
      })
      .catch((e) => this.failed(i, what, e))
      .finally(() => this.inFlight[i]!--);
  }

  /**
   * A GET to peer i's /peer route: its answer (at most the largest peer message; a 404 is "none")
   * goes to the coordinator through `take`, and the effects are carried out. A refusal the
   * coordinator does not log itself is logged here, naming the peer.
   */
  private get(i: number, pathAndQuery: string, what: string, take: (bytes: Uint8Array) => ReceiveResult, logRefusal = true): void {
    fetch(`${this.base(i)}${pathAndQuery}`, { headers: this.auth("GET", pathAndQuery, 0), signal: AbortSignal.timeout(PEER_TIMEOUT_MS) })
      .then(async (r) => {
        if (r.status === 404) return;
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        const result = take(await readBounded(r, this.messageBytesMax));
        this.run(result.effects);
        if (!result.ok && logRefusal) this.log.warn("peers", `the ${what} from ${this.network.servers[i]!.address} was refused: ${result.reason}`);
      })
      .catch((e) => this.failed(i, `${what} request`, e));
  }

  /** GET /peer/handover: a peer that took the window's handover (or rescue) answers with it. */
  private fetchHandover(i: number, window: number): void {
    this.get(i, `/peer/handover?window=${window}`, `handover of window ${window}`, (bytes) => this.coordinator.receive(bytes, this.clock.now()));
  }

  /** GET /peer/relays: the relays of a window a peer holds, for its rescue by this server. */
  private collectRelays(i: number, window: number): void {
    this.get(i, `/peer/relays?window=${window}`, `relays of window ${window}`, (bytes) => {
      const messages = decodeFramedMessages(bytes, this.rescueRelaysMax);
      if (messages === null) throw new Error("malformed relays answer");
      return this.coordinator.receiveRelays(i, window, messages, this.clock.now());
    });
  }

  private pullCertificates(): void {
    // The coordinator logs a refused certificate itself.
    for (const i of this.others()) this.get(i, "/peer/certificate", "certificate", (bytes) => this.coordinator.receiveCertificate(bytes, this.clock.now()), false);
  }

  private async resync(effect: Extract<Effect, { kind: "resync" }>): Promise<void> {
    // Fetching a history the ledger cannot store would only load the peers: fail at once (the
    // coordinator backs off, and the storage monitor says why).
    if (!this.storageOk()) return this.coordinator.resyncFailed(this.clock.now(), "the ledger's storage is failing", true);
    const kept = this.fetched;
    this.fetched = null;
    const resumable = kept !== null && kept.afterWindow === effect.afterWindow && kept.window <= effect.window;
    for (const i of effect.sources) {
      const rows: Row[] = resumable ? [...kept.rows] : [];
      const from = resumable ? kept.window : effect.afterWindow;
      try {
        if (from < effect.window) {
          this.log.info("peers", `fetching windows ${from + 1}..${effect.window} from ${this.network.servers[i]!.address}${resumable ? ` (${rows.length} payment(s) kept from the last try)` : ""}`);
          await this.fetchRange(i, from, effect.window, rows);
        }
        if (this.coordinator.completeResync(effect.afterWindow, effect.window, effect.hash, rows, this.clock.now())) return;
        throw new Error("the fetched payments do not give the agreed hash");
      } catch (e) {
        if (e instanceof StorageError) {
          // The next source would fail the same way: keep what was fetched and stop here.
          this.fetched = { afterWindow: effect.afterWindow, window: effect.window, rows };
          return this.coordinator.resyncFailed(this.clock.now(), `the ledger could not store it: ${e.message}`);
        }
        this.failed(i, "resync", e);
      }
    }
    this.coordinator.resyncFailed(this.clock.now(), "no source gave the agreed ledger");
  }

  /**
   * Fetches the payments of windows (after, upto] into `rows`, in order. A source answers at most
   * resyncPaymentsMax rows at once (413 beyond): the range is then split in two and each half
   * fetched in turn, so a server any distance behind catches up in steps.
   */
  private async fetchRange(i: number, after: number, upto: number, rows: { window: number; bytes: Uint8Array }[]): Promise<void> {
    const pathAndQuery = `/peer/payments?after=${after}&upto=${upto}`;
    const r = await fetch(`${this.base(i)}${pathAndQuery}`, { headers: this.auth("GET", pathAndQuery, 0), signal: AbortSignal.timeout(RESYNC_TIMEOUT_MS) });
    if (r.status === 413 && upto - after > 1) {
      const middle = after + Math.floor((upto - after) / 2);
      await this.fetchRange(i, after, middle, rows);
      await this.fetchRange(i, middle, upto, rows);
      return;
    }
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    // Refused before reading when the stated size is over the bound (a faulty peer).
    const stated = Number(r.headers.get("content-length") ?? "0");
    if (stated > this.resyncAnswerBytesMax) {
      await r.body?.cancel();
      throw new Error(`answer of ${stated} bytes, more than ${this.resyncAnswerBytesMax}`);
    }
    const page = decodePaymentRows(await readBounded(r, this.resyncAnswerBytesMax), this.resyncAnswerBytesMax);
    if (page === null) throw new Error("malformed payment rows");
    for (const row of page) rows.push(row);
    if (page.length > 0) this.log.info("peers", `resync: fetched ${rows.length} payment(s) so far (windows up to ${upto})`);
  }
}

/** The body of `r`, refused once it passes `bytesMax` whatever its headers said. */
async function readBounded(r: Response, bytesMax: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = r.body?.getReader();
  if (reader === undefined) return new Uint8Array(0);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > bytesMax) {
      await reader.cancel();
      throw new Error(`answer longer than ${bytesMax} bytes`);
    }
    chunks.push(value);
  }
  return concatBytes(...chunks);
}

function assertNever(value: never): never {
  throw new Error(`unexpected effect ${JSON.stringify(value)}`);
}
