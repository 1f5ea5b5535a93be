// A deterministic simulator: many scryp servers in one process, with simulated time, per-server
// clock offsets, and a network that delays, drops and partitions messages. Each server runs the
// real coordinator, intake and SQLite ledger (in memory); only time and transport are simulated.
// Everything random comes from one seed, so a failure replays exactly: `bun run simulate --seed N`.
import { StorageError } from "../core/errors.ts";
import { Ledger } from "../ledger/ledger.ts";
import { Coordinator, type Effect } from "../core/consensus/coordinator.ts";
import { PaymentIntake, type Outcome } from "../node/payment-intake.ts";
import { parseNetwork, type Network } from "../core/network.ts";
import { keyPairFromSeed, type KeyPair } from "../core/keys.ts";
import { toHex } from "../core/bytes.ts";
import { buildPayment } from "../core/payment.ts";
import { verifySignature } from "../core/verify.ts";
import { acceptingWindowAt, nextAccepting, type ScheduleParams } from "../core/schedule.ts";
import { silentLogger, type Logger } from "../core/logger.ts";
import { SUPPLY } from "../core/limits.ts";
import { windowFullMessage } from "../core/window-full.ts";

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

export interface SimOptions {
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
  /** Chance that a message is lost (0..1). */
  readonly lossRate?: number;
  readonly delayMsMax?: number;
  readonly log?: Logger;
}

export type MessageKind = "handover" | "vote" | "relay" | "certificate" | "resync";
/** Return true to drop a message from → to. */
export type DropRule = (from: number, to: number, kind: MessageKind, nowMs: number) => boolean;

interface SimServer {
  readonly index: number;
  readonly clockOffsetMs: number;
  ledger: Ledger;
  coordinator: Coordinator;
  intake: PaymentIntake;
  up: boolean;
  /** Agreed checkpoints seen over the run: window → hash (to check no two servers disagree). */
  readonly agreedHistory: Map<number, string>;
}

interface Scheduled {
  readonly atMs: number;
  readonly seq: number;
  readonly run: () => void;
}

const TICK_MS = 50;
/** Simulated runs start at a fixed, realistic instant (window numbers like the real ones). */
const START_MS = Date.UTC(2026, 10, 25, 0, 0, 0);

export class Simulation {
  readonly network: Network;
  readonly schedule: ScheduleParams;
  readonly random: () => number;
  readonly accounts: KeyPair[];
  readonly servers: SimServer[] = [];
  private readonly serverKeys: KeyPair[];
  private readonly queue: Scheduled[] = [];
  private seq = 0;
  nowMs = START_MS;
  dropRules: DropRule[] = [];
  readonly stats = { submitted: 0, accepted: 0, rejected: new Map<string, number>(), messages: 0, dropped: 0 };
  /** Every payment any alpha acknowledged, by hex id. */
  readonly acknowledged = new Map<string, Uint8Array>();
  private readonly lossRate: number;
  private readonly delayMsMax: number;
  private readonly log: Logger;

  constructor(readonly options: SimOptions) {
    this.random = prng(options.seed);
    this.lossRate = options.lossRate ?? 0;
    this.delayMsMax = options.delayMsMax ?? 20;
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
      const server = { index: i, clockOffsetMs: options.clockOffsetsMs?.[i] ?? 0, ledger, up: true, agreedHistory: new Map() } as unknown as SimServer;
      this.wire(server);
      this.servers.push(server);
      this.scheduleTicks(server);
    }
  }

  /** (Re)creates a server's coordinator and intake over its ledger: a process start. */
  private wire(server: SimServer): void {
    const clock = { now: () => this.nowMs + server.clockOffsetMs };
    let intake: PaymentIntake | null = null;
    server.coordinator = new Coordinator({
      network: this.network,
      selfIndex: server.index,
      seed: this.serverKeys[server.index]!.seed,
      ledger: server.ledger,
      verify: verifySignature,
      log: this.log,
      flushIntake: () => intake?.flush(),
    });
    intake = new PaymentIntake({
      ledger: server.ledger,
      clock,
      skewMs: this.network.skewMs,
      verify: verifySignature,
      gate: (now) => server.coordinator.gate(now),
      windowAt: (now) => acceptingWindowAt(now, this.schedule),
      capacity: this.network.capacity,
      windowFullMessage: (window) => windowFullMessage(this.network, window),
      onCommitted: (applied, window) => server.coordinator.accepted(applied.map((p) => p.bytes), window),
    });
    server.intake = intake;
  }

  localNow(i: number): number {
    return this.nowMs + this.servers[i]!.clockOffsetMs;
  }

  at(atMs: number, run: () => void): void {
    this.queue.push({ atMs, seq: this.seq++, run });
  }

  private scheduleTicks(server: SimServer): void {
    // Ticks are phase-shifted per server, like real processes started at different moments.
    const phase = Math.floor(this.random() * TICK_MS);
    const tick = () => {
      if (server.up) {
        this.runEffects(server.index, server.coordinator.tick(this.localNow(server.index)));
        this.recordAgreed(server);
      }
      this.at(this.nowMs + TICK_MS, tick);
    };
    this.at(this.nowMs + phase, tick);
  }

  private recordAgreed(server: SimServer): void {
    const agreed = server.coordinator.agreed;
    if (agreed.window < 0) return;
    const known = server.agreedHistory.get(agreed.window);
    if (known === undefined) server.agreedHistory.set(agreed.window, agreed.hash);
  }

  private delay(): number {
    return 1 + Math.floor(this.random() * this.delayMsMax);
  }

  /** Delivers `deliver` at `to` after a delay, unless the network loses it. */
  private send(from: number, to: number, kind: MessageKind, deliver: () => void): void {
    this.stats.messages++;
    if (this.random() < this.lossRate || this.dropRules.some((rule) => rule(from, to, kind, this.nowMs))) {
      this.stats.dropped++;
      return;
    }
    this.at(this.nowMs + this.delay(), () => {
      if (this.servers[to]!.up) deliver();
    });
  }

  private runEffects(from: number, effects: readonly Effect[]): void {
    for (const effect of effects) {
      if (effect.kind === "broadcast") {
        for (const to of this.others(from)) {
          this.send(from, to, effect.what, () => {
            const target = this.servers[to]!;
            const result = target.coordinator.receive(effect.message, this.localNow(to));
            // The real node checks relayed signatures between other work; here, at once.
            target.coordinator.preverify(Number.MAX_SAFE_INTEGER, this.localNow(to));
            this.runEffects(to, result.effects);
            this.recordAgreed(target);
          });
        }
      } else if (effect.kind === "pull-certificates") {
        for (const to of this.others(from)) {
          // Request, then answer: both legs cross the network.
          this.send(from, to, "certificate", () => {
            // As GET /peer/certificate: the newest certificate the peer knows.
            const certificate = this.servers[to]!.coordinator.newestCertificate()?.certificate;
            if (certificate === undefined) return;
            this.send(to, from, "certificate", () => {
              const requester = this.servers[from]!;
              const result = requester.coordinator.receiveCertificate(certificate, this.localNow(from));
              this.runEffects(from, result.effects);
              this.recordAgreed(requester);
            });
          });
        }
      } else {
        this.resync(from, effect, 0);
      }
    }
  }

  private resync(from: number, effect: Extract<Effect, { kind: "resync" }>, attempt: number): void {
    const requester = this.servers[from]!;
    const source = effect.sources[attempt];
    if (source === undefined) {
      requester.coordinator.resyncFailed(this.localNow(from), "no source answered");
      return;
    }
    let answered = false;
    // A source that is down or unreachable times out; then the next one is tried.
    this.at(this.nowMs + 200, () => {
      if (!answered && requester.up) this.resync(from, effect, attempt + 1);
    });
    this.send(from, source, "resync", () => {
      const src = this.servers[source]!;
      if (effect.window > src.ledger.agreed().window) return;
      const rows = src.ledger.paymentsBetween(effect.afterWindow, effect.window);
      this.send(source, from, "resync", () => {
        if (answered) return;
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
        if (ok) this.recordAgreed(requester);
        else this.resync(from, effect, attempt + 1);
      });
    });
  }

  private others(i: number): number[] {
    return this.servers.map((s) => s.index).filter((j) => j !== i);
  }

  /** Runs every event up to untilMs (true time). Bounded by the queue, which ticks refill. */
  runUntil(untilMs: number): void {
    while (true) {
      let best = -1;
      for (let i = 0; i < this.queue.length; i++) {
        const e = this.queue[i]!;
        const b = best >= 0 ? this.queue[best]! : null;
        if (e.atMs > untilMs) continue;
        if (b === null || e.atMs < b.atMs || (e.atMs === b.atMs && e.seq < b.seq)) best = i;
      }
      if (best < 0) break;
      const [event] = this.queue.splice(best, 1);
      this.nowMs = Math.max(this.nowMs, event!.atMs);
      event!.run();
    }
    this.nowMs = untilMs;
  }

  runWindows(count: number): void {
    this.runUntil(this.nowMs + count * this.network.intervalMs);
  }

  /** A client pays, sending to the server it computes as accepting now; true time is its clock. */
  pay(payer: number, payee: number, amount: number, toServer?: number, timestampMs = this.nowMs): Outcome | "no-server" {
    const target = toServer ?? nextAccepting(this.nowMs, this.schedule).server;
    const server = this.servers[target]!;
    this.stats.submitted++;
    if (!server.up) return "no-server";
    const bytes = buildPayment({
      timestampMs,
      amount,
      payee: this.accounts[payee]!.publicKey,
      payer: this.accounts[payer]!.publicKey,
      payerSeed: this.accounts[payer]!.seed,
    });
    let outcome: Outcome | null = null;
    server.intake.submit(bytes, (o) => (outcome = o));
    server.intake.flush();
    const result = outcome as Outcome | null;
    if (result === null) throw new Error("intake did not answer after flush");
    if (result.accepted) {
      this.stats.accepted++;
      this.acknowledged.set(toHex(result.id), bytes);
    } else {
      this.stats.rejected.set(result.code, (this.stats.rejected.get(result.code) ?? 0) + 1);
    }
    return result;
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

  stop(i: number): void {
    this.servers[i]!.up = false;
  }

  /** Restarts a stopped server: a new coordinator and intake over the same ledger. */
  restart(i: number): void {
    const server = this.servers[i]!;
    this.wire(server);
    server.up = true;
  }

  /** Checks every invariant the protocol promises. Throws with details on a violation. */
  checkSafety(): void {
    for (const s of this.servers) {
      const totals = s.ledger.totals();
      if (totals.supply !== SUPPLY) throw new Error(`seed ${this.options.seed}: server ${s.index} supply ${totals.supply} ≠ ${SUPPLY}`);
    }
    // No window was ever agreed with two different hashes anywhere.
    const byWindow = new Map<number, { hash: string; server: number }>();
    for (const s of this.servers) {
      for (const [window, hash] of s.agreedHistory) {
        const other = byWindow.get(window);
        if (other && other.hash !== hash) {
          throw new Error(`seed ${this.options.seed}: window ${window} agreed as ${other.hash} on server ${other.server} and ${hash} on server ${s.index}`);
        }
        byWindow.set(window, { hash, server: s.index });
      }
    }
  }

  /** Whether every up server is at the same agreed window and state hash. */
  converged(): { ok: boolean; detail: string } {
    const up = this.servers.filter((s) => s.up);
    const views = up.map((s) => ({ i: s.index, agreed: s.coordinator.agreed, hash: s.ledger.stateHashHex() }));
    const first = views[0]!;
    const ok = views.every((v) => v.agreed.window === first.agreed.window && v.agreed.hash === first.agreed.hash && v.hash === first.hash);
    return { ok, detail: views.map((v) => `server ${v.i}: agreed ${v.agreed.window} ${v.agreed.hash.slice(0, 12)} state ${v.hash.slice(0, 12)}`).join("; ") };
  }

  close(): void {
    for (const s of this.servers) s.ledger.close();
  }
}
