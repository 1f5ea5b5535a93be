// A deterministic simulator: many scryp servers in one process, with simulated time, per-server
// clock offsets, and a network that delays, loses, duplicates, replays and partitions messages.
// Each server runs the node's own composition (src/node/compose.ts: coordinator, intake and a
// SQLite ledger in memory); only time, transport and crashes are simulated. The intake commits
// its groups as events of simulated time, as a process does after setImmediate, so a commit can
// land before or after a handover tick. Every invariant (src/sim/invariants.ts) is checked after
// every event. Everything random comes from one seed, so a failure replays exactly:
// `bun run simulate --seed N`.
import { StorageError } from "../core/errors.ts";
import { Ledger } from "../ledger/ledger.ts";
import type { Coordinator, Effect, ReceiveResult } from "../core/consensus/coordinator.ts";
import type { Outcome, PaymentIntake } from "../node/payment-intake.ts";
import { composeNode, TICK_MS, type ComposedNode } from "../node/compose.ts";
import { parseNetwork, type Network } from "../core/network.ts";
import { keyPairFromSeed, type KeyPair } from "../core/keys.ts";
import { toHex } from "../core/bytes.ts";
import { buildPayment } from "../core/payment.ts";
import { verifySignature } from "../core/verify.ts";
import { acceptingWindowAt, nextAccepting, type ScheduleParams } from "../core/schedule.ts";
import { silentLogger, type Logger } from "../core/logger.ts";
import { SUPPLY } from "../core/limits.ts";
import { EventQueue } from "./event-queue.ts";
import { Invariants } from "./invariants.ts";
import { ByzantineServer, type ByzantineOptions, type OutgoingKind } from "./byzantine.ts";

/** A small, fast, seedable PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Faults of the network and the servers, each bounded; all drawn from the simulation's seed. */
export interface FaultOptions {
  /** Chance that a message is lost (0..1). */
  readonly lossRate?: number;
  /** Chance that a peer message (handover, vote, relay) is delivered a second time soon after. */
  readonly duplicateRate?: number;
  /** Chance that a peer message is delivered once more much later (up to replayDelayMsMax). */
  readonly replayRate?: number;
  readonly replayDelayMsMax?: number;
  /** Random delay 1..delayMsMax ms: messages overtake each other (reordering). */
  readonly delayMsMax?: number;
  /** Extra delay per KiB: a handover of many payments takes longer than a 190-byte vote. */
  readonly delayMsPerKibibyte?: number;
  /** Chance per server and simulated second that it crashes (restarted 0.2..restartDelayMsMax later). */
  readonly crashRatePerSecond?: number;
  readonly restartDelayMsMax?: number;
  /** Chance that a server crashes right after a commit group, before its answers leave. */
  readonly crashAfterCommitRate?: number;
  /** Random crashes never take down more than this many servers at once. */
  readonly crashedMax?: number;
}

export interface SimOptions extends FaultOptions {
  readonly seed: number;
  readonly servers: number;
  readonly accounts?: number;
  readonly intervalMs?: number;
  readonly blackoutMs?: number;
  readonly skewMs?: number;
  /** Payments per window (the network file's capacity); the default when absent. */
  readonly capacity?: number;
  /** Per-server clock offsets (ms), added to true time. */
  readonly clockOffsetsMs?: readonly number[];
  /** Most ms a deferred step of a node (a commit group, a pre-verify slice) waits: 0..this. */
  readonly deferMsMax?: number;
  readonly log?: Logger;
  /**
   * Check the stronger rule 5 (a payment agreed on any server stays), which the current protocol
   * breaks rarely (PROTOCOL §9); by default rule 5 holds from a majority (what it promises).
   */
  readonly strictAgreedInvariant?: boolean;
  /**
   * One faulty server (src/sim/byzantine.ts): its node runs as any other, but what it sends its
   * peers passes through an adversary. The invariants then hold for the honest servers.
   */
  readonly byzantine?: ByzantineOptions;
}

export type MessageKind = "handover" | "vote" | "relay" | "certificate" | "resync" | "held" | "rescue" | "proof" | "fetch-handover" | "collect-relays";
/** Return true to drop a message from → to. */
export type DropRule = (from: number, to: number, kind: MessageKind, nowMs: number) => boolean;

export interface SimServer {
  readonly index: number;
  readonly clockOffsetMs: number;
  readonly ledger: Ledger;
  /** The running composition; replaced by a restart. */
  node: ComposedNode;
  readonly coordinator: Coordinator;
  readonly intake: PaymentIntake;
  up: boolean;
  /** Counts starts: work scheduled by an earlier incarnation (a commit, an answer) is void. */
  incarnation: number;
  /** Agreed checkpoints seen over the run: window → hash (to check no two servers disagree). */
  readonly agreedHistory: Map<number, string>;
}

/** A payment a simulated client sent; `outcome` arrives with the server's answer (null until then). */
export interface SentPayment {
  readonly bytes: Uint8Array;
  readonly server: number;
  readonly sentAtMs: number;
  outcome: Outcome | "no-server" | null;
}

/** Simulated runs start at a fixed, realistic instant (window numbers like the real ones). */
const START_MS = Date.UTC(2026, 10, 25, 0, 0, 0);
/** A resync source that has not answered within this is given up for the next (PeerLink's timeout, scaled to simulated windows of ~1 s). */
const RESYNC_TIMEOUT_MS = 200;
/** A server's answer to a client (its datagram) takes this long to arrive. */
const REPLY_DELAY_MS = 1;
/** Duplicates arrive within this of the original. */
const DUPLICATE_DELAY_MS_MAX = 30;
/** At most this many peer messages are kept for late replays (the oldest is forgotten). */
const REPLAY_KEPT_MAX = 64;
/** A crashed server is restarted after at least this. */
const RESTART_DELAY_MS_MIN = 200;

export class Simulation {
  readonly network: Network;
  readonly schedule: ScheduleParams;
  readonly random: () => number;
  readonly accounts: KeyPair[];
  readonly servers: SimServer[] = [];
  readonly invariants: Invariants;
  private readonly serverKeys: KeyPair[];
  private readonly queue = new EventQueue();
  private seq = 0;
  nowMs = START_MS;
  /** Extra loss rules of a test; cleared by heal(). */
  dropRules: DropRule[] = [];
  readonly stats = { submitted: 0, accepted: 0, rejected: new Map<string, number>(), messages: 0, dropped: 0, duplicated: 0, replayed: 0, crashes: 0, events: 0 };
  /** Every payment a client was told is accepted, by hex id. */
  readonly acknowledged = new Map<string, Uint8Array>();
  /** The server that told the client so, by hex id (the last one, for a retransmission). */
  readonly acknowledgedBy = new Map<string, number>();
  /** The faulty server, if the run has one (options.byzantine). */
  readonly byzantine: ByzantineServer | null = null;
  private lossRate: number;
  private duplicateRate: number;
  private replayRate: number;
  private crashRatePerSecond: number;
  private crashAfterCommitRate: number;
  private readonly delayMsMax: number;
  private readonly delayMsPerKibibyte: number;
  private readonly replayDelayMsMax: number;
  private readonly restartDelayMsMax: number;
  private readonly crashedMax: number;
  private readonly deferMsMax: number;
  /** Servers in different groups cannot reach each other until untilMs (true time). */
  private partitionGroups: { readonly groupOf: readonly number[]; readonly untilMs: number } | null = null;
  /** Peer messages delivered, kept for a late replay. */
  private readonly replayable: { from: number; to: number; kind: MessageKind; message: Uint8Array }[] = [];
  private readonly log: Logger;

  constructor(readonly options: SimOptions) {
    this.random = prng(options.seed);
    this.lossRate = options.lossRate ?? 0;
    this.duplicateRate = options.duplicateRate ?? 0;
    this.replayRate = options.replayRate ?? 0;
    this.replayDelayMsMax = options.replayDelayMsMax ?? 3_000;
    this.delayMsMax = options.delayMsMax ?? 20;
    this.delayMsPerKibibyte = options.delayMsPerKibibyte ?? 0;
    this.crashRatePerSecond = options.crashRatePerSecond ?? 0;
    this.crashAfterCommitRate = options.crashAfterCommitRate ?? 0;
    this.restartDelayMsMax = Math.max(RESTART_DELAY_MS_MIN, options.restartDelayMsMax ?? 3_000);
    this.crashedMax = options.crashedMax ?? Math.floor((options.servers - 1) / 2);
    this.deferMsMax = options.deferMsMax ?? 2;
    this.log = options.log ?? silentLogger;
    this.serverKeys = Array.from({ length: options.servers }, (_, i) => keyPairFromSeed(new Uint8Array(32).fill(200 + i)));
    this.accounts = Array.from({ length: options.accounts ?? 8 }, (_, i) => keyPairFromSeed(new Uint8Array(32).fill(1 + i)));
    const genesis: Record<string, number> = {};
    // The whole supply, split among the accounts.
    const share = Math.floor(SUPPLY / this.accounts.length);
    this.accounts.forEach((a, i) => (genesis[toHex(a.publicKey)] = i === 0 ? SUPPLY - share * (this.accounts.length - 1) : share));
    this.network = parseNetwork({
      servers: this.serverKeys.map((k, i) => ({ key: toHex(k.publicKey), address: `127.0.0.1:${9000 + i}` })),
      interval: options.intervalMs ?? 1000,
      blackout: options.blackoutMs ?? 400,
      skew: options.skewMs ?? 150,
      ...(options.capacity === undefined ? {} : { capacity: options.capacity }),
      genesis,
    });
    this.schedule = { serverCount: options.servers, intervalMs: this.network.intervalMs, blackoutMs: this.network.blackoutMs };
    for (let i = 0; i < options.servers; i++) {
      const ledger = Ledger.open(":memory:", { genesis: this.network.genesis, nowMs: this.nowMs });
      const server: SimServer = {
        index: i,
        clockOffsetMs: options.clockOffsetsMs?.[i] ?? 0,
        ledger,
        node: null as unknown as ComposedNode,
        get coordinator() {
          return this.node.coordinator;
        },
        get intake() {
          return this.node.intake;
        },
        up: true,
        incarnation: 0,
        agreedHistory: new Map(),
      };
      this.start(server);
      this.servers.push(server);
      this.scheduleTicks(server);
    }
    if (options.byzantine !== undefined) {
      const faulty = options.byzantine.server;
      this.byzantine = new ByzantineServer(options.byzantine, {
        network: this.network,
        seed: this.serverKeys[faulty]!.seed,
        ledger: this.servers[faulty]!.ledger,
        accounts: this.accounts,
        random: this.random,
        log: this.log,
      });
    }
    this.invariants = new Invariants(
      options.seed,
      this.servers,
      options.strictAgreedInvariant ?? false,
      this.byzantine === null ? null : { server: this.byzantine.server, keys: this.network.servers.map((s) => s.keyHex), neverValid: this.byzantine.neverValid },
    );
    if (this.crashRatePerSecond > 0) this.scheduleCrashes();
  }

  /** (Re)creates a server's node over its ledger: a process start, wired as `scryp node` is. */
  private start(server: SimServer): void {
    server.incarnation++;
    const incarnation = server.incarnation;
    server.node = composeNode({
      network: this.network,
      selfIndex: server.index,
      seed: this.serverKeys[server.index]!.seed,
      ledger: server.ledger,
      clock: { now: () => this.nowMs + server.clockOffsetMs },
      verify: verifySignature,
      // Each line says which server wrote it.
      log: {
        info: (c, m, f) => this.log.info(c, `[server ${server.index}] ${m}`, f),
        warn: (c, m, f) => this.log.warn(c, `[server ${server.index}] ${m}`, f),
        error: (c, m, f) => this.log.error(c, `[server ${server.index}] ${m}`, f),
      },
      // As setImmediate: later, after other events; never run by a later incarnation.
      defer: (fn) => this.at(this.nowMs + Math.floor(this.random() * (this.deferMsMax + 1)), () => {
        if (server.up && server.incarnation === incarnation) fn();
      }, `server ${server.index}: deferred step`),
      runEffects: (effects) => this.runEffects(server.index, effects),
    });
  }

  localNow(i: number): number {
    return this.nowMs + this.servers[i]!.clockOffsetMs;
  }

  at(atMs: number, run: () => void, what = "scheduled"): void {
    this.queue.push({ atMs, seq: this.seq++, run, what });
  }

  private scheduleTicks(server: SimServer): void {
    // Ticks are phase-shifted per server, like real processes started at different moments.
    const phase = Math.floor(this.random() * TICK_MS);
    const what = `server ${server.index}: tick`;
    const tick = () => {
      if (server.up) this.runEffects(server.index, server.node.tick());
      this.at(this.nowMs + TICK_MS, tick, what);
    };
    this.at(this.nowMs + phase, tick, what);
  }

  private scheduleCrashes(): void {
    // Each server crashes at exponential intervals (a memoryless process) at the given rate.
    for (const server of this.servers) {
      const next = () => this.nowMs + Math.ceil((-Math.log(1 - this.random()) / this.crashRatePerSecond) * 1000);
      const crash = () => {
        if (this.crashRatePerSecond > 0) {
          this.crash(server.index, "random crash");
          this.at(next(), crash, `server ${server.index}: crash`);
        }
      };
      this.at(next(), crash, `server ${server.index}: crash`);
    }
  }

  /** Crashes a server (if that keeps at most crashedMax down) and restarts it a little later. */
  private crash(i: number, why: string): void {
    const server = this.servers[i]!;
    if (!server.up || this.servers.filter((s) => !s.up).length >= this.crashedMax) return;
    this.stats.crashes++;
    this.log.warn("coordinator", `sim: server ${i} crashes (${why})`);
    this.stop(i);
    const downMs = RESTART_DELAY_MS_MIN + Math.floor(this.random() * (this.restartDelayMsMax - RESTART_DELAY_MS_MIN));
    const incarnation = server.incarnation;
    this.at(this.nowMs + downMs, () => {
      // Not restarted meanwhile by a test (or another crash's restart).
      if (!server.up && server.incarnation === incarnation) this.restart(i);
    }, `server ${i}: restart after ${why}`);
  }

  private recordAgreed(server: SimServer): void {
    const agreed = server.coordinator.agreed;
    if (agreed.window < 0) return;
    if (!server.agreedHistory.has(agreed.window)) server.agreedHistory.set(agreed.window, agreed.hash);
  }

  private delay(sizeBytes: number): number {
    return 1 + Math.floor(this.random() * this.delayMsMax) + Math.floor((sizeBytes / 1024) * this.delayMsPerKibibyte);
  }

  private reachable(from: number, to: number): boolean {
    const p = this.partitionGroups;
    if (p === null) return true;
    if (this.nowMs >= p.untilMs) {
      this.partitionGroups = null;
      return true;
    }
    return p.groupOf[from] === p.groupOf[to];
  }

  /**
   * Delivers `deliver` at `to` after a delay that grows with the size, unless the network loses
   * it. A message in flight to a server that restarts meanwhile is lost (its connection was).
   */
  private send(from: number, to: number, kind: MessageKind, sizeBytes: number, deliver: () => void): void {
    this.stats.messages++;
    if (!this.reachable(from, to) || this.random() < this.lossRate || this.dropRules.some((rule) => rule(from, to, kind, this.nowMs))) {
      this.stats.dropped++;
      return;
    }
    const target = this.servers[to]!;
    const incarnation = target.incarnation;
    this.at(this.nowMs + this.delay(sizeBytes), () => {
      if (target.up && target.incarnation === incarnation) deliver();
    }, `deliver ${kind} ${from}→${to}`);
  }

  /** A peer message (POST /peer/message): may also be duplicated, or replayed much later. */
  private sendMessage(from: number, to: number, kind: MessageKind, message: Uint8Array): void {
    const deliver = () => this.deliverMessage(to, message);
    this.send(from, to, kind, message.length, deliver);
    if (this.duplicateRate > 0 && this.random() < this.duplicateRate) {
      this.stats.duplicated++;
      this.at(this.nowMs + this.delay(message.length) + Math.floor(this.random() * DUPLICATE_DELAY_MS_MAX), () => {
        if (this.servers[to]!.up) deliver();
      }, `duplicate ${kind} ${from}→${to}`);
    }
    if (this.replayRate > 0) {
      this.replayable.push({ from, to, kind, message });
      if (this.replayable.length > REPLAY_KEPT_MAX) this.replayable.shift();
      if (this.random() < this.replayRate) {
        // Replays an older message of any pair, not necessarily this one.
        const old = this.replayable[Math.floor(this.random() * this.replayable.length)]!;
        this.stats.replayed++;
        this.at(this.nowMs + 1 + Math.floor(this.random() * this.replayDelayMsMax), () => {
          if (this.servers[old.to]!.up) this.deliverMessage(old.to, old.message);
        }, `replay ${old.kind} ${old.from}→${old.to}`);
      }
    }
  }

  /** A peer message of a server's node; the faulty server's pass through its adversary first. */
  private sendPeer(from: number, to: number, kind: MessageKind & OutgoingKind, message: Uint8Array): void {
    if (this.byzantine === null || from !== this.byzantine.server) return this.sendMessage(from, to, kind, message);
    for (const o of this.byzantine.outgoing(kind, message, to, this.localNow(from))) this.sendMessage(from, to, o.what, o.message);
  }

  private deliverMessage(to: number, message: Uint8Array): void {
    const target = this.servers[to]!;
    // As POST /peer/message: the node takes it (compose.ts), the transport runs the effects.
    this.runEffects(to, target.node.receive(message).effects);
  }

  private runEffects(from: number, effects: readonly Effect[]): void {
    for (const effect of effects) {
      switch (effect.kind) {
        case "broadcast":
          for (const to of this.others(from)) this.sendPeer(from, to, effect.what, effect.message);
          break;
        case "pull-certificates":
          for (const to of this.others(from)) this.pullCertificate(from, to);
          break;
        case "resync":
          this.resync(from, effect, 0);
          break;
        case "send":
          this.sendPeer(from, effect.to, effect.what, effect.message);
          break;
        case "fetch-handover":
          for (const to of this.others(from)) this.fetchHandover(from, to, effect.window);
          break;
        case "collect-relays":
          for (const to of this.others(from)) this.collectRelays(from, to, effect.window);
          break;
        default:
          assertNever(effect);
      }
    }
  }

  /**
   * A GET from one server to another: the request crosses the network, the peer answers (null: a
   * 404, nothing comes back), the answer crosses back and reaches the requester's coordinator —
   * unless the requester restarted meanwhile (its connection went with it).
   */
  private request<T extends Uint8Array | readonly Uint8Array[]>(from: number, to: number, kind: MessageKind, serve: (peer: SimServer) => T | null, take: (requester: SimServer, answer: T) => ReceiveResult): void {
    const requester = this.servers[from]!;
    const incarnation = requester.incarnation;
    this.send(from, to, kind, 0, () => {
      const answer = serve(this.servers[to]!);
      if (answer === null) return;
      const size = answer instanceof Uint8Array ? answer.length : answer.reduce((n, m) => n + m.length, 0);
      this.send(to, from, kind, size, () => {
        if (requester.incarnation !== incarnation || !requester.up) return;
        this.runEffects(from, take(requester, answer).effects);
      });
    });
  }

  /** GET /peer/handover: the window's handover (or rescue), if the peer took one. */
  private fetchHandover(from: number, to: number, window: number): void {
    this.request(from, to, "fetch-handover", (peer) => peer.coordinator.handoverOf(window), (r, bytes) => r.node.receive(bytes));
  }

  /** GET /peer/relays: the relays of a window the peer holds (or its handover). */
  private collectRelays(from: number, to: number, window: number): void {
    this.request(from, to, "collect-relays", (peer) => peer.coordinator.relaysAnswer(window, from), (r, messages) => r.coordinator.receiveRelays(to, window, messages, this.localNow(from)));
  }

  /** GET /peer/certificate: the newest certificate the peer knows. */
  private pullCertificate(from: number, to: number): void {
    this.request(from, to, "certificate", (peer) => peer.coordinator.newestCertificate()?.certificate ?? null, (r, certificate) => r.coordinator.receiveCertificate(certificate, this.localNow(from)));
  }

  private resync(from: number, effect: Extract<Effect, { kind: "resync" }>, attempt: number): void {
    const requester = this.servers[from]!;
    const incarnation = requester.incarnation;
    const source = effect.sources[attempt];
    if (source === undefined) {
      requester.coordinator.resyncFailed(this.localNow(from), "no source answered");
      return;
    }
    let answered = false;
    const current = () => requester.up && requester.incarnation === incarnation;
    // A source that is down or unreachable times out; then the next one is tried. Its answer
    // may still come late, after the next try began: the coordinator must take that too.
    this.at(this.nowMs + RESYNC_TIMEOUT_MS, () => {
      if (!answered && current()) this.resync(from, effect, attempt + 1);
    }, `server ${from}: resync timeout`);
    this.send(from, source, "resync", 0, () => {
      const src = this.servers[source]!;
      if (effect.window > src.ledger.agreed().window) return;
      const rows = src.ledger.paymentsBetween(effect.afterWindow, effect.window);
      this.send(source, from, "resync", rows.length * 148, () => {
        if (answered || !current()) return;
        answered = true;
        let ok: boolean;
        try {
          ok = requester.coordinator.completeResync(effect.afterWindow, effect.window, effect.hash, rows, this.localNow(from));
        } catch (e) {
          // As the node's peer link: a ledger that cannot store it fails the resync, no next source.
          if (!(e instanceof StorageError)) throw e;
          requester.coordinator.resyncFailed(this.localNow(from), e.message);
          return;
        }
        if (!ok) this.resync(from, effect, attempt + 1);
      });
    });
  }

  private others(i: number): number[] {
    return this.servers.map((s) => s.index).filter((j) => j !== i);
  }

  /** Runs every event up to untilMs (true time), checking every invariant after each. */
  runUntil(untilMs: number): void {
    for (;;) {
      const event = this.queue.popUntil(untilMs);
      if (event === null) break;
      this.nowMs = Math.max(this.nowMs, event.atMs);
      event.run();
      this.stats.events++;
      this.afterEvent(event.what);
    }
    this.nowMs = Math.max(this.nowMs, untilMs);
  }

  private afterEvent(what: string): void {
    for (const s of this.servers) if (s.up) this.recordAgreed(s);
    this.invariants.check(what, this.nowMs);
    if (!this.majorityUpAndConnected()) this.windowsWithoutMajority.add(Math.floor(this.nowMs / this.network.intervalMs));
  }

  /**
   * Windows during which, at some instant, no strict majority of the servers was up, not catching
   * up, and able to reach each other (crashes, resyncs and partitions together; a Byzantine server
   * never counts). The protocol promises that an acknowledged
   * payment is kept when one server fails (a minority); beyond, a window may roll back.
   */
  readonly windowsWithoutMajority = new Set<number>();

  private majorityUpAndConnected(): boolean {
    const p = this.partitionGroups !== null && this.nowMs < this.partitionGroups.untilMs ? this.partitionGroups : null;
    const sizes = new Map<number, number>();
    for (const s of this.servers) {
      // A server catching up (resyncing) holds no base to vote on: not one of a working majority.
      if (!s.up || s.coordinator.isSyncing) continue;
      // The faulty server is not one of a working majority either: what it promises counts for nothing.
      if (this.byzantine !== null && s.index === this.byzantine.server) continue;
      const g = p === null ? 0 : p.groupOf[s.index]!;
      sizes.set(g, (sizes.get(g) ?? 0) + 1);
    }
    return [...sizes.values()].some((n) => n * 2 > this.servers.length);
  }

  runWindows(count: number): void {
    this.runUntil(this.nowMs + count * this.network.intervalMs);
  }

  private signed(payer: number, payee: number, amount: number, timestampMs: number): Uint8Array {
    return buildPayment({
      timestampMs,
      amount,
      payee: this.accounts[payee]!.publicKey,
      payer: this.accounts[payer]!.publicKey,
      payerSeed: this.accounts[payer]!.seed,
    });
  }

  /**
   * A client pays, as in production: it sends to the server it computes as accepting now (true
   * time is its clock); the server's intake checks it and commits it in a group scheduled as an
   * event; the answer reaches the client REPLY_DELAY_MS later, unless the server crashed first.
   * `outcome` of the returned payment is filled in then.
   */
  pay(payer: number, payee: number, amount: number, toServer?: number, timestampMs = this.nowMs): SentPayment {
    const server = toServer ?? nextAccepting(this.nowMs, this.schedule).server;
    const bytes = this.signed(payer, payee, amount, timestampMs);
    const sent: SentPayment = { bytes, server, sentAtMs: this.nowMs, outcome: null };
    this.stats.submitted++;
    const target = this.servers[server]!;
    if (!target.up) {
      sent.outcome = "no-server";
      return sent;
    }
    const incarnation = target.incarnation;
    target.intake.submit(bytes, (outcome) => {
      // The commit group is done (or a rule refused it). The process may crash right here,
      // between its commit and the answer leaving: then the payer never hears.
      if (outcome.accepted && this.crashAfterCommitRate > 0 && this.random() < this.crashAfterCommitRate) {
        this.at(this.nowMs, () => this.crash(server, "crash after a commit"), `server ${server}: crash after a commit`);
      }
      this.at(this.nowMs + REPLY_DELAY_MS, () => {
        if (!target.up || target.incarnation !== incarnation) return;
        this.answered(sent, outcome, target);
      }, `reply ${server}→client`);
    });
    return sent;
  }

  /**
   * A client pays and waits for its answer: the intake is flushed inside this call (the commit
   * group runs now, not as a later event), then simulated time moves on, 1 ms at a time, until
   * the answer comes (an acceptance needs a majority of servers to hold the payment: one round
   * of relays and "held" answers) or a window has passed. For tests that need the answer at a
   * precise point; random traffic uses pay().
   */
  payAndFlush(payer: number, payee: number, amount: number, toServer?: number, timestampMs = this.nowMs): Outcome | "no-server" {
    const server = toServer ?? nextAccepting(this.nowMs, this.schedule).server;
    const target = this.servers[server]!;
    this.stats.submitted++;
    if (!target.up) return "no-server";
    const bytes = this.signed(payer, payee, amount, timestampMs);
    return this.submitAndWait(server, bytes);
  }

  /** Exact bytes to one server's intake, as a client's datagram would; waits for the answer as payAndFlush(). */
  submitAndWait(server: number, bytes: Uint8Array): Outcome {
    const target = this.servers[server]!;
    const sent: SentPayment = { bytes, server, sentAtMs: this.nowMs, outcome: null };
    target.intake.submit(bytes, (outcome) => this.answered(sent, outcome, target));
    target.intake.flush();
    const deadline = this.nowMs + this.network.intervalMs;
    while (sent.outcome === null && this.nowMs < deadline) this.runUntil(this.nowMs + 1);
    const result = sent.outcome as Outcome | "no-server" | null;
    if (result === null || result === "no-server") throw new Error(`server ${server} did not answer within a window`);
    return result;
  }

  private answered(sent: SentPayment, outcome: Outcome, server: SimServer): void {
    sent.outcome = outcome;
    if (outcome.accepted) {
      this.stats.accepted++;
      this.acknowledged.set(toHex(outcome.id), sent.bytes);
      this.acknowledgedBy.set(toHex(outcome.id), server.index);
      const window = server.ledger.payment(outcome.id)?.window ?? acceptingWindowAt(this.localNow(server.index), this.schedule);
      this.invariants.acknowledged(outcome.id, window, sent.bytes, server.index);
    } else {
      this.stats.rejected.set(outcome.code, (this.stats.rejected.get(outcome.code) ?? 0) + 1);
    }
  }

  /** Random payments for `windows` windows: `perWindow` attempts spread over each window. */
  randomTraffic(windows: number, perWindow: number): void {
    const end = this.nowMs + windows * this.network.intervalMs;
    while (this.nowMs < end) {
      const step = Math.floor(this.network.intervalMs / perWindow);
      this.runUntil(this.nowMs + 1 + Math.floor(this.random() * step * 2));
      // Clients wait out a blackout instead of sending into it.
      if (nextAccepting(this.nowMs, this.schedule).fromMs > this.nowMs) continue;
      const payer = Math.floor(this.random() * this.accounts.length);
      let payee = Math.floor(this.random() * this.accounts.length);
      if (payee === payer) payee = (payee + 1) % this.accounts.length;
      // Mostly small amounts; now and then an attempt to spend (nearly) everything.
      const amount = this.random() < 0.1 ? 0x7fff_ffff : 1 + Math.floor(this.random() * 1_000_000);
      this.pay(payer, payee, amount);
    }
  }

  /** Sets the chance that a message is lost from now on. */
  setLossRate(lossRate: number): void {
    this.lossRate = lossRate;
  }

  /**
   * Splits the network: servers in different groups cannot reach each other until `untilMs`
   * (true time), or heal(). A server in no group is alone.
   */
  partition(groups: readonly (readonly number[])[], untilMs: number): void {
    const groupOf = this.servers.map((s) => -1 - s.index);
    groups.forEach((group, g) => group.forEach((i) => (groupOf[i] = g)));
    this.partitionGroups = { groupOf, untilMs };
  }

  /** The network works again: no loss, no partition, no drop rules, no duplicates or replays; a faulty server sends what its node sends. */
  heal(): void {
    this.byzantine?.stop();
    this.dropRules = [];
    this.partitionGroups = null;
    this.lossRate = 0;
    this.duplicateRate = 0;
    this.replayRate = 0;
  }

  /** No more random crashes; every server down is restarted. */
  endCrashes(): void {
    this.crashRatePerSecond = 0;
    this.crashAfterCommitRate = 0;
    for (const s of this.servers) if (!s.up) this.restart(s.index);
  }

  stop(i: number): void {
    const server = this.servers[i]!;
    server.up = false;
    // Whatever it had scheduled (commits, answers in flight to it) dies with the process.
    server.incarnation++;
  }

  /** Restarts a stopped server: a new node composition over the same ledger. */
  restart(i: number): void {
    const server = this.servers[i]!;
    this.log.info("coordinator", `sim: server ${i} restarts`);
    this.start(server);
    server.up = true;
  }

  /** Checks every invariant the protocol promises, over everything. Throws with details on a violation. */
  checkSafety(): void {
    this.invariants.checkAll("checkSafety", this.nowMs);
    for (const s of this.honestServers()) {
      const totals = s.ledger.totals();
      if (totals.supply !== SUPPLY) throw new Error(`seed ${this.options.seed}: server ${s.index} supply ${totals.supply} ≠ ${SUPPLY}`);
    }
    // No window was ever agreed with two different hashes anywhere.
    const byWindow = new Map<number, { hash: string; server: number }>();
    for (const s of this.honestServers()) {
      for (const [window, hash] of s.agreedHistory) {
        const other = byWindow.get(window);
        // A fork of "agreed" one faulty server can make, checked to be no more than that (invariant 3).
        if (other && other.hash !== hash && !this.invariants.forkedWindows.has(window)) {
          throw new Error(`seed ${this.options.seed}: window ${window} agreed as ${other.hash} on server ${other.server} and ${hash} on server ${s.index}`);
        }
        byWindow.set(window, { hash, server: s.index });
      }
    }
  }

  /** The servers that are not faulty (all of them, without options.byzantine). */
  honestServers(): SimServer[] {
    return this.servers.filter((s) => s.index !== this.byzantine?.server);
  }

  /** Whether every up honest server is at the same agreed window and state hash (the detail lists every server). */
  converged(): { ok: boolean; detail: string } {
    const view = (s: SimServer) => ({ i: s.index, agreed: s.coordinator.agreed, hash: s.ledger.stateHashHex() });
    const views = this.honestServers().filter((s) => s.up).map(view);
    const first = views[0]!;
    const ok = views.every((v) => v.agreed.window === first.agreed.window && v.agreed.hash === first.agreed.hash && v.hash === first.hash);
    const all = this.servers.filter((s) => s.up).map(view);
    const faulty = this.byzantine?.server;
    return { ok, detail: all.map((v) => `server ${v.i}${v.i === faulty ? " (faulty)" : ""}: agreed ${v.agreed.window} ${v.agreed.hash.slice(0, 12)} state ${v.hash.slice(0, 12)}`).join("; ") };
  }

  close(): void {
    for (const s of this.servers) s.ledger.close();
  }
}

function assertNever(value: never): never {
  throw new Error(`unexpected effect ${JSON.stringify(value)}`);
}
