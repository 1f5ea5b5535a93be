// A faulty server for end-to-end tests: a test peer in the test process that speaks the protocol
// of docs/PROTOCOL.md (§5 peer messages and requests) as one of the three servers of a network
// whose other two are compiled `scryp node` processes (FaultyNet starts them).
//
// The peer answers the /peer/* routes minimally: POST /peer/message records the message and says
// {"ok":true}; GET /peer/certificate, /peer/handover, /peer/relays and /peer/payments answer 404
// ("none here"), which the honest nodes take as a peer that has nothing to give. Its own requests
// carry the x-scryp-peer header (core/consensus/peer-request-auth.ts).
//
// Left alone it behaves honestly enough to keep the network going: at the blackout of each window
// it is the alpha of, it hands over an empty batch on the checkpoint both honest nodes report
// (GET /status) and votes for it; and it votes for an honest beta's handover once both honest
// nodes voted its hash (so windows can become final, 3 of 3). Windows the test drives by hand
// (script()) get neither: the test sends what it wants with handover(), vote() and send().
//
// Every vote this peer sends is built by FaultyPeer.vote() from VoteFacts: the one place to adapt
// when the vote's format changes.
import { join } from "node:path";
import { toHex } from "../../src/core/bytes.ts";
import { encodeHandover, encodeVote, parsePeerMessage, type PeerMessage } from "../../src/core/consensus/peer-message.ts";
import { batchDigest, EMPTY_HISTORY, historyStep } from "../../src/core/history-digest.ts";
import { paymentId } from "../../src/core/payment.ts";
import { peerLimits, type PeerLimits } from "../../src/core/consensus/peer-limits.ts";
import { PEER_AUTH_HEADER, parsePeerAuth, peerAuthHeader, verifyPeerAuth } from "../../src/core/consensus/peer-request-auth.ts";
import type { KeyPair } from "../../src/core/keys.ts";
import { parseNetwork, type Network } from "../../src/core/network.ts";
import { alphaOf, blackoutStartMs, windowAt, type ScheduleParams } from "../../src/core/schedule.ts";
import { stateHashOf } from "../../src/core/state-hash.ts";
import { verifySignature } from "../../src/core/verify.ts";
import { writeJson } from "./binary-node.ts";
import { BINARY, freePort, tempDir, testKeyPair } from "./helpers.ts";

export const HOST = "127.0.0.1";

/** The state hash of a set of balances (hex account id → balance), from scratch. */
export function stateHashOfBalances(balances: ReadonlyMap<string, number>): Uint8Array {
  return stateHashOf([...balances].map(([hex, b]) => [Buffer.from(hex, "hex"), b] as const)).bytes();
}

/**
 * What a vote of the faulty peer is about: the vote (PROTOCOL §5) signs the window, the base, the
 * batch's digest, the state hash and the history digest, all built in vote() from these.
 */
export interface VoteFacts {
  readonly window: number;
  /** The state hash after the batch. */
  readonly hash: Uint8Array;
  /** The checkpoint the batch applies on. */
  readonly base: { readonly window: number; readonly hash: Uint8Array };
  /** The batch, in acceptance order. */
  readonly payments: readonly Uint8Array[];
}

/** A message that reached the peer's POST /peer/message. */
export interface Received {
  readonly atMs: number;
  /** Index of the server that sent it (by the authenticated header), −1 if unknown. */
  readonly from: number;
  readonly message: PeerMessage;
}

/** One message the peer sent, and the answer. */
export interface Sent {
  readonly atMs: number;
  readonly to: number;
  readonly what: string;
  readonly window: number;
  readonly status: number;
  readonly answer: string;
}

interface Checkpoint {
  readonly window: number;
  readonly hash: string;
}

export class FaultyPeer {
  readonly key: KeyPair;
  readonly received: Received[] = [];
  readonly sent: Sent[] = [];
  /** Requests to its /peer routes whose x-scryp-peer header did not check (should stay 0). */
  badAuth = 0;
  readonly badAuthSeen: string[] = [];
  private limits: PeerLimits = peerLimits(1);
  private schedule: ScheduleParams = { serverCount: 3, intervalMs: 1_000, blackoutMs: 500 };
  private readonly scripted = new Set<number>();
  private readonly handedOver = new Set<number>();
  private readonly voted = new Set<number>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private server: ReturnType<typeof Bun.serve> | null = null;
  private network: Network | null = null;

  constructor(
    key: KeyPair,
    readonly index: number,
    /** Where each honest node's HTTP API is (index → URL; the owner may change it before the nodes start); the peer's own index is absent. */
    private readonly urls: ReadonlyMap<number, string>,
  ) {
    this.key = key;
  }

  /** Listens on 127.0.0.1 on a free port, before the network file exists (it names the port). */
  listen(): number {
    this.server = Bun.serve({ hostname: HOST, port: 0, fetch: (req) => this.answer(req) });
    return this.server.port!;
  }

  /** Takes the network (once the file is written, again if it is rewritten) and starts the honest behaviour. */
  begin(network: Network): void {
    this.network = network;
    this.limits = peerLimits(network.capacity);
    this.schedule = { serverCount: network.servers.length, intervalMs: network.intervalMs, blackoutMs: network.blackoutMs };
    this.timer ??= setInterval(() => void this.tick(), 20);
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.server?.stop(true);
    this.server = null;
  }

  /** Window `w` is driven by the test: no honest handover and no vote from the peer's own logic. */
  script(w: number): void {
    this.scripted.add(w);
  }

  private get net(): Network {
    if (this.network === null) throw new Error("the faulty peer has no network yet (begin())");
    return this.network;
  }

  // ---- Messages ------------------------------------------------------------------------------

  /** A handover of window `w`, signed by this peer (valid as far as the layout and signature go). */
  handover(m: { window: number; base: { window: number; hash: Uint8Array }; hash: Uint8Array; payments: readonly Uint8Array[] }): Uint8Array {
    return encodeHandover(
      { networkId: this.net.id, sender: this.key.publicKey, window: m.window, sentAtMs: Date.now(), baseWindow: m.base.window, baseHash: m.base.hash, hash: m.hash, payments: m.payments },
      this.key.seed,
      this.limits,
    );
  }

  /** THE vote builder: every vote the peer sends, honest or not, is made here. */
  vote(f: VoteFacts): Uint8Array {
    const ids = f.payments.map(paymentId);
    const history = historyStep(this.historyAt(f.base), f.window, ids);
    return encodeVote(
      { networkId: this.net.id, sender: this.key.publicKey, window: f.window, sentAtMs: Date.now(), baseWindow: f.base.window, baseHash: f.base.hash, batch: batchDigest(f.window, ids), hash: f.hash, history },
      this.key.seed,
    );
  }

  /**
   * The history digest (PROTOCOL §6a) at a checkpoint: none before the genesis; otherwise the one
   * the honest nodes voted with for that window and hash (every server gets every vote).
   */
  private historyAt(base: { readonly window: number; readonly hash: Uint8Array }): Uint8Array {
    if (base.window < 0) return EMPTY_HISTORY;
    const vote = this.receivedOf("vote").find((r) => r.message.window === base.window && toHex(r.message.hash) === toHex(base.hash));
    if (vote === undefined) throw new Error(`faulty peer: no honest vote seen for window ${base.window} at ${toHex(base.hash).slice(0, 16)}…: its history is unknown`);
    return vote.message.history;
  }

  /** POST /peer/message to server `to`, signed; resolves with the answer (never throws). */
  async send(to: number, message: Uint8Array, what: string): Promise<Sent> {
    const path = "/peer/message";
    const header = peerAuthHeader({ method: "POST", pathAndQuery: path, contentLength: message.length }, this.net.id, this.key.publicKey, this.key.seed, Date.now());
    const window = Number(new DataView(message.buffer, message.byteOffset).getBigInt64(77, false));
    let status = 0;
    let answer = "";
    try {
      const r = await fetch(`${this.urls.get(to)}${path}`, {
        method: "POST",
        headers: { "content-type": "application/octet-stream", "content-length": String(message.length), [PEER_AUTH_HEADER]: header },
        body: message,
        signal: AbortSignal.timeout(5_000),
      });
      status = r.status;
      answer = await r.text();
    } catch (e) {
      answer = `failed: ${(e as Error).message}`;
    }
    const s: Sent = { atMs: Date.now(), to, what, window, status, answer };
    this.sent.push(s);
    return s;
  }

  /** The messages of one type the peer received. */
  receivedOf<T extends PeerMessage["type"]>(type: T): (Received & { message: Extract<PeerMessage, { type: T }> })[] {
    return this.received.filter((r) => r.message.type === type) as (Received & { message: Extract<PeerMessage, { type: T }> })[];
  }

  // ---- The /peer routes ------------------------------------------------------------------------

  private async answer(req: Request): Promise<Response> {
    const url = new URL(req.url);
    // The honest nodes read a peer's clock from its GET /status (src/node/peer-clock.ts).
    if (req.method === "GET" && url.pathname === "/status") return Response.json({ key: toHex(this.key.publicKey), clock: { nowMs: Date.now(), iso: new Date().toISOString() } });
    const pathAndQuery = url.pathname + url.search;
    const body = req.method === "POST" ? new Uint8Array(await req.arrayBuffer()) : new Uint8Array(0);
    let from = -1;
    const auth = parsePeerAuth(req.headers.get(PEER_AUTH_HEADER));
    if (auth.ok && this.network !== null) {
      from = this.network.servers.findIndex((s) => toHex(s.key) === toHex(auth.sender));
      if (from < 0 || !verifyPeerAuth(auth, { method: req.method, pathAndQuery, contentLength: body.length }, this.network.id, verifySignature)) from = -1;
    }
    if (from < 0) {
      this.badAuth++;
      this.badAuthSeen.push(`${req.method} ${pathAndQuery} (${body.length} bytes): ${auth.ok ? "sender unknown or bad signature" : auth.reason}`);
      return Response.json({ error: { code: "PEER_UNAUTHORIZED", message: "bad x-scryp-peer header" } }, { status: 401 });
    }
    if (req.method === "POST" && url.pathname === "/peer/message") {
      const parsed = parsePeerMessage(body, this.net.id, this.limits);
      if (!parsed.ok) return Response.json({ error: { code: "PEER_REJECTED", message: parsed.reason } }, { status: 400 });
      this.received.push({ atMs: Date.now(), from, message: parsed.message });
      if (parsed.message.type === "vote") this.maybeEcho(parsed.message.window);
      return Response.json({ ok: true });
    }
    // Nothing to give: no certificate, handover, relays or history kept here.
    return Response.json({ error: { code: "NOT_FOUND", message: `no ${url.pathname} here` } }, { status: 404 });
  }

  // ---- Honest behaviour, for the windows the test does not drive -------------------------------

  private async tick(): Promise<void> {
    const now = Date.now();
    const w = windowAt(now, this.schedule);
    if (alphaOf(w, this.schedule) !== this.index || now < blackoutStartMs(w, this.schedule)) return;
    if (this.scripted.has(w) || this.handedOver.has(w)) return;
    this.handedOver.add(w);
    await this.honestHandover(w);
  }

  /** The checkpoint both honest nodes report, or null if they differ (or one does not answer). */
  async commonCheckpoint(): Promise<Checkpoint | null> {
    const seen = await Promise.all(
      [...this.urls.values()].map(async (u) => {
        try {
          const r = await fetch(`${u}/status`, { signal: AbortSignal.timeout(2_000) });
          return r.ok ? ((await r.json()) as { agreed: Checkpoint }).agreed : null;
        } catch {
          return null;
        }
      }),
    );
    const [a, b] = seen;
    if (!a || !b || a.window !== b.window || a.hash !== b.hash) return null;
    return a;
  }

  /** An empty batch on the honest nodes' checkpoint, and a vote for it (the state is unchanged). */
  async honestHandover(w: number): Promise<void> {
    this.handedOver.add(w);
    const c = await this.commonCheckpoint();
    if (c === null || c.window >= w) return; // they disagree: the window is rescued without us
    const base = { window: c.window, hash: Buffer.from(c.hash, "hex") };
    const handover = this.handover({ window: w, base, hash: base.hash, payments: [] });
    this.voted.add(w);
    const vote = this.vote({ window: w, hash: base.hash, base, payments: [] });
    await Promise.all([...this.urls.keys()].map(async (i) => {
      await this.send(i, handover, "handover (honest, empty)");
      await this.send(i, vote, "vote (honest)");
    }));
  }

  /**
   * Votes an honest beta's handover of window w once both honest nodes voted its hash: what an
   * honest third server would have voted. Never for a scripted window or one it was beta of.
   */
  private maybeEcho(w: number): void {
    if (this.scripted.has(w) || this.voted.has(w) || alphaOf(w, this.schedule) === this.index) return;
    const handover = this.receivedOf("handover").find((r) => r.message.window === w)?.message;
    if (handover === undefined) return;
    const hash = toHex(handover.hash);
    const votes = [...this.urls.keys()].map((i) => this.receivedOf("vote").find((r) => r.from === i && r.message.window === w)?.message);
    if (!votes.every((v) => v !== undefined && toHex(v.hash) === hash)) return;
    this.voted.add(w);
    const vote = this.vote({ window: w, hash: handover.hash, base: { window: handover.baseWindow, hash: handover.baseHash }, payments: handover.payments });
    for (const i of this.urls.keys()) void this.send(i, vote, "vote (echo of an honest handover)");
  }
}

// ---- The network: two compiled nodes and the faulty peer ---------------------------------------

export interface FaultyNetOptions {
  readonly label: string;
  readonly intervalMs: number;
  readonly blackoutMs: number;
  readonly skewMs: number;
  /** First byte of the deterministic test keys: servers (3), then `accounts` more. */
  readonly keyBase: number;
  /** The faulty server's place in the network file (0..2). */
  readonly faultyIndex: number;
  /** Genesis balances of extra accounts, by their number from keyBase + 3; the rest of the supply goes to the first honest server's key. */
  readonly funded: readonly number[];
  /** Accounts made beyond the funded ones (payees), unfunded. */
  readonly payees: number;
  readonly supply: number;
}

export interface NodeStatus {
  key: string;
  window: number;
  accepting: boolean;
  syncing: boolean;
  agreed: { window: number; hash: string };
  final: { window: number; quorum: number };
  equivocations: { window: number; server: string; address: string; foundAtMs: number }[];
  ledger: { stateHash: string; supply: number; payments: number; accounts: number; pending: number };
  recent: { window: number; kind: string; atMs: number; detail: string }[];
}

export interface TxStatus {
  id: string;
  window: number;
  agreed: boolean;
  final: boolean;
}

export class FaultyNet {
  readonly dir = tempDir("scryp-faulty-peer-");
  readonly schedule: ScheduleParams;
  readonly servers: KeyPair[];
  readonly accounts: KeyPair[];
  readonly honest: number[];
  readonly ports: number[] = [0, 0, 0];
  readonly netPath: string;
  readonly genesis = new Map<string, number>();
  peer!: FaultyPeer;
  network!: Network;
  readonly t0 = Date.now();
  private readonly procs = new Map<number, ReturnType<typeof Bun.spawn>>();
  /** The honest nodes' URLs as the faulty peer sends to them (updated if the ports are chosen again). */
  private readonly peerUrls = new Map<number, string>();
  private readonly logs = new Map<number, string>();
  private readonly notes: string[] = [];

  private constructor(readonly o: FaultyNetOptions) {
    this.schedule = { serverCount: 3, intervalMs: o.intervalMs, blackoutMs: o.blackoutMs };
    this.servers = [0, 1, 2].map((i) => testKeyPair(o.keyBase + i));
    this.accounts = Array.from({ length: o.funded.length + o.payees }, (_, i) => testKeyPair(o.keyBase + 3 + i));
    this.honest = [0, 1, 2].filter((i) => i !== o.faultyIndex);
    this.netPath = join(this.dir.path, "network.json");
  }

  static async create(o: FaultyNetOptions): Promise<FaultyNet> {
    const n = new FaultyNet(o);
    n.peer = new FaultyPeer(n.servers[o.faultyIndex]!, o.faultyIndex, n.peerUrls);
    n.ports[o.faultyIndex] = n.peer.listen();
    let rest = o.supply;
    o.funded.forEach((b, i) => {
      n.genesis.set(toHex(n.accounts[i]!.publicKey), b);
      rest -= b;
    });
    n.genesis.set(toHex(n.servers[n.honest[0]!]!.publicKey), rest);
    for (const i of n.honest) await Bun.write(join(n.dir.path, `s${i}.seed`), n.servers[i]!.seed);
    await n.layout();
    return n;
  }

  /** Free ports for the honest nodes, and the network file that names them (the peer's port stays: it is bound). */
  private async layout(): Promise<void> {
    for (const i of this.honest) this.ports[i] = 0;
    for (const i of this.honest) {
      for (;;) {
        const p = await freePort();
        if (!this.ports.includes(p)) {
          this.ports[i] = p;
          break;
        }
      }
      this.peerUrls.set(i, this.url(i));
    }
    const file = {
      servers: this.servers.map((s, i) => ({ key: toHex(s.publicKey), address: `${HOST}:${this.ports[i]}` })),
      interval: this.o.intervalMs,
      blackout: this.o.blackoutMs,
      skew: this.o.skewMs,
      genesis: Object.fromEntries(this.genesis),
    };
    writeJson(this.netPath, file);
    this.network = parseNetwork(file);
    this.peer.begin(this.network);
  }

  url(i: number): string {
    return `http://${HOST}:${this.ports[i]}`;
  }

  since(ms = Date.now()): string {
    return `+${((ms - this.t0) / 1000).toFixed(2)} s`;
  }

  note(what: string): void {
    this.notes.push(`${this.since()} (window ${windowAt(Date.now(), this.schedule)}) ${what}`);
  }

  /**
   * Starts both honest nodes and waits, bounded, until each answers GET /status as itself. A port
   * taken between choosing it and the node binding it (another process on a busy machine) is
   * chosen again, with a new network file and fresh data directories: at most 3 tries.
   */
  async start(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const results = await Promise.allSettled(this.honest.map((i) => this.startOne(i, attempt)));
      const failed = results.flatMap((r) => (r.status === "rejected" ? [r.reason as Error] : []));
      if (failed.length === 0) break;
      const inUse = failed.every((e) => /already in use/.test(e.message));
      for (const proc of this.procs.values()) {
        proc.kill("SIGKILL");
        await proc.exited;
      }
      this.procs.clear();
      if (!inUse || attempt >= 2) throw failed[0]!;
      this.note(`a port was taken (${failed.map((e) => e.message.split("\n").find((l) => /already in use/.test(l))).join("; ")}): new ports, try ${attempt + 2}`);
      await this.layout();
    }
    this.note("both honest nodes answer");
  }

  private async startOne(i: number, attempt: number): Promise<void> {
    const args = [BINARY, "node", "--network", this.netPath, "--seed", join(this.dir.path, `s${i}.seed`), "--data", join(this.dir.path, `d${i}-${attempt}`), "--port", String(this.ports[i]), "--host", HOST];
    const proc = Bun.spawn(args, { cwd: this.dir.path, stdout: "ignore", stderr: "pipe" });
    this.procs.set(i, proc);
    this.logs.set(i, `${this.logs.get(i) ?? ""}---- ${this.since()} started on port ${this.ports[i]} (pid ${proc.pid}) ----\n`);
    const decoder = new TextDecoder();
    void (async () => {
      for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) this.logs.set(i, this.logs.get(i)! + decoder.decode(chunk, { stream: true }));
    })().catch(() => {});
    const key = toHex(this.servers[i]!.publicKey);
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (proc.exitCode !== null) {
        await Bun.sleep(100); // the rest of its stderr
        throw new Error(`server ${i} exited at start with ${proc.exitCode}: ${this.log(i)}`);
      }
      // Answered by this very node (its key), not by whatever else may hold the port.
      if ((await this.status(i))?.key === key) return;
      if (Date.now() > deadline) throw new Error(`server ${i} did not answer GET /status within 15 s: ${this.log(i)}`);
      await Bun.sleep(25);
    }
  }

  async close(): Promise<void> {
    this.peer.close();
    for (const proc of this.procs.values()) {
      proc.kill("SIGKILL");
      await proc.exited;
    }
    if (process.env.SCRYP_E2E_KEEP === "1") console.error(`[${this.o.label}] kept ${this.dir.path}`);
    else this.dir.cleanup();
  }

  log(i: number): string {
    return this.logs.get(i) ?? "";
  }

  async status(i: number): Promise<NodeStatus | null> {
    try {
      const r = await fetch(`${this.url(i)}/status`, { signal: AbortSignal.timeout(2_000) });
      return r.status === 200 ? ((await r.json()) as NodeStatus) : null;
    } catch {
      return null;
    }
  }

  async tx(i: number, idHex: string): Promise<TxStatus | null> {
    try {
      const r = await fetch(`${this.url(i)}/tx/${idHex}`, { signal: AbortSignal.timeout(2_000) });
      return r.status === 200 ? ((await r.json()) as TxStatus) : null;
    } catch {
      return null;
    }
  }

  async balance(i: number, account: KeyPair): Promise<number> {
    const r = await fetch(`${this.url(i)}/accounts/${toHex(account.publicKey)}`, { signal: AbortSignal.timeout(2_000) });
    if (r.status === 404) return 0;
    if (r.status !== 200) throw new Error(`GET /accounts on server ${i}: HTTP ${r.status}`);
    return ((await r.json()) as { balance: number }).balance;
  }

  /** One counter or gauge of GET /metrics (no labels), or null. */
  async metric(i: number, name: string): Promise<number | null> {
    try {
      const text = await (await fetch(`${this.url(i)}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
      const m = new RegExp(`^${name} ([0-9.eE+-]+)$`, "m").exec(text);
      return m ? Number(m[1]) : null;
    } catch {
      return null;
    }
  }

  /** Polls `check` every 50 ms until it holds or `timeoutMs` passes; the error says what was last seen. */
  async waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await check()) return;
      await Bun.sleep(50);
    }
    const seen = await Promise.all(this.honest.map(async (i) => {
      const s = await this.status(i);
      return s === null ? null : { server: i, window: s.window, agreed: s.agreed.window, hash: s.agreed.hash.slice(0, 12), state: s.ledger.stateHash.slice(0, 12), final: s.final.window, pending: s.ledger.pending, syncing: s.syncing };
    }));
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${JSON.stringify(seen)}`);
  }

  /** The notes, what the peer sent (and was answered) and received, and the nodes' log tails. */
  diagnostics(lines = 80): string {
    const out = [`---- [${this.o.label}] notes ----`, ...this.notes, `---- faulty peer (server ${this.o.faultyIndex}, ${HOST}:${this.ports[this.o.faultyIndex]}) sent ----`];
    for (const s of this.peer.sent) out.push(`${this.since(s.atMs)} → server ${s.to}: ${s.what} of window ${s.window}: HTTP ${s.status} ${s.answer.slice(0, 200)}`);
    out.push(`---- faulty peer received (bad auth: ${this.peer.badAuth}${this.peer.badAuthSeen.map((b) => `; ${b}`).join("")}) ----`);
    for (const r of this.peer.received) if (r.message.type !== "relay") out.push(`${this.since(r.atMs)} ← server ${r.from}: ${r.message.type} of window ${r.message.window}${r.message.type === "vote" ? ` ${toHex(r.message.hash).slice(0, 12)}` : ""}`);
    for (const i of this.honest) out.push(`---- server ${i} (${HOST}:${this.ports[i]}) log, last ${lines} lines ----`, this.log(i).trimEnd().split("\n").slice(-lines).join("\n"));
    return out.join("\n");
  }
}
