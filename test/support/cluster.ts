// A three-server network of compiled nodes on loopback with short windows, for fault tests: start,
// kill -9, restart, pause (SIGSTOP) and resume each server; optionally a lossy proxy in front of
// every server's peer address (test/support/lossy-proxy.ts); and the checks every fault test ends
// with: the servers agree (window, state hash), the supply holds, every acknowledged payment is on
// every server, and each payer's history and balance are the same everywhere and add up.
//
// Addresses: the network file names each server's *peer* address. Without proxies that is the
// node's own port; with them it is the proxy's port, and the node listens on its real port
// (--port). Payers always send to the real port: a client's datagram is not a peer request.
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { SUPPLY } from "../../src/core/limits.ts";
import { toHex } from "../../src/core/bytes.ts";
import type { KeyPair } from "../../src/core/keys.ts";
import { alphaOf, blackoutStartMs, windowAt, windowStartMs, type ScheduleParams } from "../../src/core/schedule.ts";
import { BINARY, freePort, tempDir, testKeyPair } from "./helpers.ts";
import { writeJson } from "./binary-node.ts";
import { LossyProxy } from "./lossy-proxy.ts";

export const HOST = "127.0.0.1";

export interface ClusterOptions {
  /** Names the temp dir and the log lines. */
  readonly label: string;
  readonly intervalMs: number;
  readonly blackoutMs: number;
  readonly skewMs: number;
  readonly capacity?: number;
  /** Funded payer accounts (PAYER_FUNDS each); the first server's key holds the rest of the supply. */
  readonly payers: number;
  /** Put a LossyProxy in front of every server's peer address (loss 0 until set). */
  readonly proxies?: boolean;
  /** Seed of the proxies' loss; printed by the test. */
  readonly lossSeed?: number;
  /** First byte of the deterministic test keys (servers, payers, payees follow): distinct per test file. */
  readonly keyBase: number;
  /** A data directory for some servers (one on a small tmpfs, say); the others get d<i> in the cluster's temp dir. */
  readonly dataDirs?: Readonly<Record<number, string>>;
}

export const PAYER_FUNDS = 10_000_000;
export const PAYEES = 3;

export interface NodeStatus {
  window: number;
  role: string;
  accepting: boolean;
  syncing: boolean;
  agreed: { window: number; hash: string };
  ledger: { stateHash: string; supply: number; payments: number; accounts: number; pending: number };
  storage: { ok: boolean; error: string | null; code: string | null; sinceMs: number | null; freeBytes: number | null };
  recent: { window: number; kind: string; atMs: number; detail: string }[];
}

interface Running {
  readonly proc: ReturnType<typeof Bun.spawn>;
  readonly done: Promise<void>;
}

/** One entry of the fault timeline, printed when a test fails. */
export interface FaultEvent {
  readonly atMs: number;
  readonly what: string;
}

export class Cluster {
  readonly dir: { path: string; cleanup: () => void };
  readonly schedule: ScheduleParams;
  readonly servers: KeyPair[];
  readonly payers: KeyPair[];
  readonly payees: KeyPair[];
  /** Where each node listens (UDP and HTTP). */
  readonly ports: number[] = [];
  /** The address in the network file: the node's port, or its proxy's. */
  readonly peerPorts: number[] = [];
  readonly proxies: LossyProxy[] = [];
  readonly netPath: string;
  readonly timeline: FaultEvent[] = [];
  private readonly running: (Running | null)[] = [null, null, null];
  /** Every log line of every process of each server, across restarts. */
  private readonly logs: string[] = ["", "", ""];
  readonly t0 = Date.now();

  private constructor(readonly o: ClusterOptions) {
    this.dir = tempDir(`scryp-${o.label}-`);
    this.schedule = { serverCount: 3, intervalMs: o.intervalMs, blackoutMs: o.blackoutMs };
    this.servers = [0, 1, 2].map((i) => testKeyPair(o.keyBase + i));
    this.payers = Array.from({ length: o.payers }, (_, i) => testKeyPair(o.keyBase + 3 + i));
    this.payees = Array.from({ length: PAYEES }, (_, i) => testKeyPair(o.keyBase + 3 + o.payers + i));
    this.netPath = join(this.dir.path, "network.json");
  }

  static async create(o: ClusterOptions): Promise<Cluster> {
    const c = new Cluster(o);
    const taken = new Set<number>();
    const port = async () => {
      for (;;) {
        const p = await freePort();
        if (!taken.has(p)) {
          taken.add(p);
          return p;
        }
      }
    };
    for (let i = 0; i < 3; i++) c.ports.push(await port());
    for (let i = 0; i < 3; i++) {
      if (o.proxies) {
        const proxy = new LossyProxy(`${HOST}:${await port()}`, `${HOST}:${c.ports[i]}`, (o.lossSeed ?? 1) * 3 + i);
        c.proxies.push(proxy);
        c.peerPorts.push(proxy.port);
      } else {
        c.peerPorts.push(c.ports[i]!);
      }
    }
    const genesis: Record<string, number> = {};
    let rest = SUPPLY;
    for (const p of c.payers) {
      genesis[toHex(p.publicKey)] = PAYER_FUNDS;
      rest -= PAYER_FUNDS;
    }
    genesis[toHex(c.servers[0]!.publicKey)] = rest;
    writeJson(c.netPath, {
      servers: c.servers.map((s, i) => ({ key: toHex(s.publicKey), address: `${HOST}:${c.peerPorts[i]}` })),
      interval: o.intervalMs,
      blackout: o.blackoutMs,
      skew: o.skewMs,
      ...(o.capacity === undefined ? {} : { capacity: o.capacity }),
      genesis,
    });
    for (const [i, s] of c.servers.entries()) await Bun.write(join(c.dir.path, `s${i}.seed`), s.seed);
    return c;
  }

  url(i: number): string {
    return `http://${HOST}:${this.ports[i]}`;
  }

  dataDir(i: number): string {
    return this.o.dataDirs?.[i] ?? join(this.dir.path, `d${i}`);
  }

  /** Seconds since the cluster was made, for the timeline. */
  since(ms = Date.now()): string {
    return `+${((ms - this.t0) / 1000).toFixed(2)} s`;
  }

  note(what: string): void {
    this.timeline.push({ atMs: Date.now(), what });
  }

  /** The process id of server i now (a restart gives a new one). */
  pid(i: number): number {
    const r = this.running[i] ?? null;
    if (r === null) throw new Error(`server ${i} is not running`);
    return r.proc.pid;
  }

  isUp(i: number): boolean {
    return this.running[i] !== null;
  }

  /** The exit code of server i's current process: null while it runs (or was never started). */
  exitCode(i: number): number | null {
    return this.running[i]?.proc.exitCode ?? null;
  }

  /** Starts server i (again) and waits, bounded, until GET /status answers. */
  async start(i: number): Promise<void> {
    if ((this.running[i] ?? null) !== null) throw new Error(`server ${i} is already running`);
    const args = [BINARY, "node", "--network", this.netPath, "--seed", join(this.dir.path, `s${i}.seed`), "--data", this.dataDir(i), "--port", String(this.ports[i]), "--host", HOST];
    const proc = Bun.spawn(args, { cwd: this.dir.path, stdout: "ignore", stderr: "pipe" });
    this.logs[i] += `---- ${this.since()} started (pid ${proc.pid}) ----\n`;
    const decoder = new TextDecoder();
    const done = (async () => {
      for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) this.logs[i] += decoder.decode(chunk, { stream: true });
    })().catch(() => {});
    this.running[i] = { proc, done };
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`server ${i} exited at start with ${proc.exitCode}: ${this.tail(i, 20)}`);
      if ((await this.status(i)) !== null) break;
      if (Date.now() > deadline) throw new Error(`server ${i} did not answer GET /status within 15 s: ${this.tail(i, 20)}`);
      await Bun.sleep(25);
    }
    this.note(`server ${i} started`);
  }

  async startAll(): Promise<void> {
    await Promise.all([0, 1, 2].map((i) => this.start(i)));
  }

  /** Kills server i with SIGKILL and waits for it to be gone. */
  async kill(i: number, why = ""): Promise<void> {
    const r = this.running[i] ?? null;
    if (r === null) return;
    const w = windowAt(Date.now(), this.schedule);
    r.proc.kill("SIGKILL");
    await r.proc.exited;
    await Promise.race([r.done, Bun.sleep(500)]);
    this.running[i] = null;
    this.logs[i] += `---- ${this.since()} SIGKILL ----\n`;
    this.note(`server ${i} SIGKILL in window ${w} (${this.roleOf(i, Date.now())})${why ? `: ${why}` : ""}`);
  }

  /** SIGSTOP: the process stays, frozen (a long GC pause, a VM migration). */
  pause(i: number): void {
    this.running[i]!.proc.kill("SIGSTOP");
    this.logs[i] += `---- ${this.since()} SIGSTOP ----\n`;
    this.note(`server ${i} SIGSTOP in window ${windowAt(Date.now(), this.schedule)} (${this.roleOf(i, Date.now())})`);
  }

  resume(i: number): void {
    this.running[i]!.proc.kill("SIGCONT");
    this.logs[i] += `---- ${this.since()} SIGCONT ----\n`;
    this.note(`server ${i} SIGCONT in window ${windowAt(Date.now(), this.schedule)}`);
  }

  /** Whose turn it is for server i at `nowMs`: alpha, beta (in its blackout/beta period), idle. */
  roleOf(i: number, nowMs: number): string {
    const w = windowAt(nowMs, this.schedule);
    const inBlackout = nowMs >= blackoutStartMs(w, this.schedule);
    if (!inBlackout && alphaOf(w, this.schedule) === i) return `alpha of ${w}`;
    const betaWindow = inBlackout ? w : w - 1;
    if (alphaOf(betaWindow, this.schedule) === i) return `beta of ${betaWindow}`;
    return "idle";
  }

  async close(): Promise<void> {
    for (const [i, r] of this.running.entries()) {
      if (r === null) continue;
      r.proc.kill("SIGCONT");
      r.proc.kill("SIGKILL");
      await r.proc.exited;
      this.running[i] = null;
    }
    for (const p of this.proxies) p.close();
    if (process.env.SCRYP_E2E_KEEP === "1") console.error(`[${this.o.label}] kept ${this.dir.path}`);
    else this.dir.cleanup();
  }

  log(i: number): string {
    return this.logs[i]!;
  }

  tail(i: number, lines: number): string {
    return this.logs[i]!.trimEnd().split("\n").slice(-lines).join("\n");
  }

  async status(i: number): Promise<NodeStatus | null> {
    if (this.running[i] === null) return null;
    try {
      const r = await fetch(`${this.url(i)}/status`, { signal: AbortSignal.timeout(2_000) });
      return r.status === 200 ? ((await r.json()) as NodeStatus) : null;
    } catch {
      return null;
    }
  }

  async statuses(): Promise<(NodeStatus | null)[]> {
    return Promise.all([0, 1, 2].map((i) => this.status(i)));
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

  /** Waits, bounded, until every server has agreed some window. */
  async waitFirstAgreement(): Promise<void> {
    await this.waitUntil("a first agreed window on all three", 6 * this.o.intervalMs + 5_000, async () => {
      const s = await this.statuses();
      return s.every((x) => x !== null && x.agreed.window >= 0 && !x.syncing);
    });
    this.note("first agreement on all three");
  }

  /** Waits (bounded by the schedule) for the start of a window in which `ok(window)` holds, `leadMs` into it. */
  async waitForWindow(ok: (window: number) => boolean, what: string, leadMs = 0, windowsMax = 8): Promise<number> {
    const now = Date.now();
    let w = windowAt(now, this.schedule);
    if (now > windowStartMs(w, this.schedule) + leadMs) w++;
    for (let k = 0; k < windowsMax && !ok(w); k++) w++;
    if (!ok(w)) throw new Error(`no window within ${windowsMax} where ${what}`);
    await sleepUntil(windowStartMs(w, this.schedule) + leadMs);
    return w;
  }

  async waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await check()) return;
      await Bun.sleep(100);
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${JSON.stringify(await this.brief())}`);
  }

  async brief(): Promise<unknown> {
    return (await this.statuses()).map((s) =>
      s === null ? null : { window: s.window, agreed: s.agreed.window, hash: s.ledger.stateHash.slice(0, 12), agreedHash: s.agreed.hash.slice(0, 12), pending: s.ledger.pending, syncing: s.syncing },
    );
  }

  /**
   * Waits until all three are up, agreed at or past `window`, at one agreed hash equal to each
   * one's state hash, nothing pending, none syncing. Bounded by `windowsMax` windows of the schedule.
   */
  async waitConverged(window: number, windowsMax = 5): Promise<NodeStatus[]> {
    let last: (NodeStatus | null)[] = [];
    const deadline = windowStartMs(Math.max(window, windowAt(Date.now(), this.schedule)) + windowsMax, this.schedule);
    await this.waitUntil(`all three agreed at or past window ${window} at one state`, Math.max(1_000, deadline - Date.now()), async () => {
      last = await this.statuses();
      if (!last.every((s) => s !== null && s.agreed.window >= window && s.ledger.pending === 0 && !s.syncing)) return false;
      const all = last as NodeStatus[];
      return (
        new Set(all.map((s) => s.agreed.window)).size === 1 &&
        new Set(all.map((s) => s.agreed.hash)).size === 1 &&
        all.every((s) => s.ledger.stateHash === s.agreed.hash)
      );
    });
    this.note(`converged at window ${(last[0] as NodeStatus).agreed.window}`);
    return last as NodeStatus[];
  }

  /** Every payment of `account` on server i, newest first, over every page. Bounded by `pagesMax`. */
  async history(i: number, account: Uint8Array, pagesMax = 200): Promise<{ id: string; amount: number; payer: string; payee: string; window: number }[]> {
    const out: { id: string; amount: number; payer: string; payee: string; window: number }[] = [];
    let before: number | null = null;
    for (let page = 0; page < pagesMax; page++) {
      const q = `limit=500${before === null ? "" : `&before=${before}`}`;
      const r = await fetch(`${this.url(i)}/accounts/${toHex(account)}/transactions?${q}`, { signal: AbortSignal.timeout(5_000) });
      if (r.status !== 200) throw new Error(`GET /accounts/${toHex(account)}/transactions on server ${i}: HTTP ${r.status}`);
      const body = (await r.json()) as { transactions: { id: string; amount: number; payer: string; payee: string; window: number }[]; next: number | null };
      out.push(...body.transactions);
      if (body.next === null) return out;
      before = body.next;
    }
    throw new Error(`more than ${pagesMax} pages of history`);
  }

  async balance(i: number, account: Uint8Array): Promise<number> {
    const r = await fetch(`${this.url(i)}/accounts/${toHex(account)}`, { signal: AbortSignal.timeout(5_000) });
    if (r.status === 404) return 0;
    if (r.status !== 200) throw new Error(`GET /accounts on server ${i}: HTTP ${r.status}`);
    return ((await r.json()) as { balance: number }).balance;
  }

  /**
   * This server's own votes as stored in its ledger (window → state hash and history hex), read by a
   * separate read-only connection: the authoritative record of what it voted, restarts included.
   */
  ownVotes(i: number): Map<number, { hash: string; history: string }> {
    const out = new Map<number, { hash: string; history: string }>();
    let db: Database | null = null;
    try {
      db = new Database(join(this.dataDir(i), "ledger.sqlite"), { readonly: true });
      for (const row of db.query<{ window: number; bytes: Uint8Array }, []>("SELECT window, bytes FROM own_votes").all()) {
        const b = new Uint8Array(row.bytes);
        // PROTOCOL §5: header (93) · base window (8) · base hash · batch digest · state hash · history digest.
        out.set(row.window, { hash: toHex(b.subarray(165, 197)), history: toHex(b.subarray(197, 229)) });
      }
    } catch {
      // the file is being created or locked for a moment: the next poll reads it
    } finally {
      db?.close();
    }
    return out;
  }

  /** Rollbacks each server logged: window → the log line (its own process logs, across restarts). */
  rollbacksLogged(i: number): Map<number, string> {
    const out = new Map<number, string>();
    for (const line of this.logs[i]!.split("\n")) {
      const m = /rollback: no majority for window (\d+)/.exec(line);
      if (m) out.set(Number(m[1]), line);
    }
    return out;
  }

  /** The timeline and the last log lines of each server: what a failing test prints. */
  diagnostics(lines = 60): string {
    const out = [`---- [${this.o.label}] timeline ----`, ...this.timeline.map((e) => `${this.since(e.atMs)} (window ${windowAt(e.atMs, this.schedule)}) ${e.what}`)];
    for (const p of this.proxies) out.push(`proxy ${p.port} → ${p.target}: ${p.describe()}`);
    for (let i = 0; i < 3; i++) out.push(`---- server ${i} (${HOST}:${this.ports[i]}) log, last ${lines} lines ----`, this.tail(i, lines));
    return out.join("\n");
  }
}

export async function sleepUntil(atMs: number): Promise<void> {
  const ms = atMs - Date.now();
  if (ms > 0) await Bun.sleep(ms);
}

/** A small deterministic PRNG (mulberry32): a failing run replays from its printed seed. */
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
