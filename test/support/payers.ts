// Concurrent payers for the fault tests: each payer signs a payment stamped now, sends it over UDP
// to the alpha of now (from the schedule, on the node's real port), sends the very same bytes
// again until a reply comes or a bound passes, then pays again. Every payment is recorded with
// its outcome; one answered 0x00 (accepted) is "acknowledged", and the fault tests require every
// acknowledged payment to be on every server at the end.
//
// A payment without a reply (the alpha was killed) may or may not have been applied: it is never
// counted as acknowledged, but it may appear in a ledger. So the checks are: acknowledged ⊆ each
// ledger ⊆ sent.
import { toHex } from "../../src/core/bytes.ts";
import { buildPayment, paymentIdHex } from "../../src/core/payment.ts";
import { decodeReply } from "../../src/core/udp-reply.ts";
import { alphaOf, blackoutStartMs, windowAt, windowStartMs } from "../../src/core/schedule.ts";
import { SUPPLY } from "../../src/core/limits.ts";
import { HOST, PAYER_FUNDS, type Cluster, sleepUntil } from "./cluster.ts";

/** How often the same bytes go again while no reply came. */
const RETRANSMIT_MS = 150;
/** How long one payment waits for a reply in all before the payer gives up on it. */
const REPLY_WAIT_MS = 1_200;

export interface SentPayment {
  readonly id: string;
  readonly payer: number;
  readonly payee: number;
  readonly amount: number;
  /** The window of its timestamp, and the server it was sent to. */
  readonly window: number;
  readonly server: number;
  readonly sentAtMs: number;
  outcome: string;
  answeredAtMs: number | null;
}

export class Payers {
  readonly sent = new Map<string, SentPayment>();
  readonly codes = new Map<string, number>();
  private stopped = false;
  private loops: Promise<void>[] = [];
  private sockets: { close(): void }[] = [];
  /** Each payer's last amount: amounts differ, so no two payments share their signed bytes. */
  private readonly amounts: number[] = [];

  /** gapMs: pause between one payer's payments (keeps the load a few hundred a second in all). */
  constructor(
    private readonly cluster: Cluster,
    private readonly gapMs = 10,
  ) {}

  /** Starts one loop a payer (again, after stop(): the records are kept). */
  async start(): Promise<void> {
    this.stopped = false;
    this.loops = [];
    this.sockets = [];
    for (let p = 0; p < this.cluster.payers.length; p++) {
      const waiting = new Map<string, (reply: { outcome: string }) => void>();
      const socket = await Bun.udpSocket({
        hostname: HOST,
        socket: {
          data(_s, data) {
            const r = decodeReply(new Uint8Array(data), 140);
            if (r.kind === "malformed" || r.id === null) return;
            waiting.get(toHex(r.id))?.({ outcome: r.kind === "accepted" ? "accepted" : r.code });
          },
          error() {
            // ECONNREFUSED from a killed node: the reply deadline handles it
          },
        },
      });
      this.sockets.push(socket);
      this.loops.push(this.loop(p, socket, waiting));
    }
  }

  private async loop(p: number, socket: { send(b: Uint8Array, port: number, host: string): boolean }, waiting: Map<string, (r: { outcome: string }) => void>): Promise<void> {
    const c = this.cluster;
    const payer = c.payers[p]!;
    let amount = this.amounts[p] ?? 0;
    while (!this.stopped) {
      const now = Date.now();
      const w = windowAt(now, c.schedule);
      const alpha = alphaOf(w, c.schedule);
      // Not into the blackout (nobody accepts). A server that is down is paid all the same, as a
      // client that cannot know would: those payments go unanswered.
      if (now >= blackoutStartMs(w, c.schedule) - 30) {
        await sleepUntil(Math.min(windowStartMs(w + 1, c.schedule), now + 100));
        continue;
      }
      amount++;
      this.amounts[p] = amount;
      const payee = (p + amount) % c.payees.length;
      const bytes = buildPayment({ timestampMs: now, amount, payee: c.payees[payee]!.publicKey, payer: payer.publicKey, payerSeed: payer.seed });
      const id = paymentIdHex(bytes);
      const record: SentPayment = { id, payer: p, payee, amount, window: w, server: alpha, sentAtMs: now, outcome: "no reply", answeredAtMs: null };
      this.sent.set(id, record);
      const answered = new Promise<{ outcome: string } | null>((resolve) => {
        waiting.set(id, resolve);
        setTimeout(() => resolve(null), REPLY_WAIT_MS);
      });
      const port = c.ports[alpha]!;
      socket.send(bytes, port, HOST);
      const resend = setInterval(() => socket.send(bytes, port, HOST), RETRANSMIT_MS);
      const reply = await answered;
      clearInterval(resend);
      waiting.delete(id);
      if (reply !== null) {
        record.outcome = reply.outcome;
        record.answeredAtMs = Date.now();
      }
      this.codes.set(record.outcome, (this.codes.get(record.outcome) ?? 0) + 1);
      if (record.outcome === "NOT_ACCEPTING" || record.outcome === "STORAGE_FAILING" || record.outcome === "WINDOW_FULL") await Bun.sleep(50);
      else if (this.gapMs > 0) await Bun.sleep(this.gapMs);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    for (const s of this.sockets) s.close();
  }

  acknowledged(): SentPayment[] {
    return [...this.sent.values()].filter((s) => s.outcome === "accepted");
  }

  /** The window of the last payment sent (the checks wait for agreement past it). */
  lastWindow(): number {
    let w = -1;
    for (const s of this.sent.values()) w = Math.max(w, s.window);
    return w;
  }

  summary(): string {
    return [...this.codes.entries()].map(([k, n]) => `${k} ${n}`).join(", ");
  }
}

/**
 * The end of every fault test: all three agreed past the last payment at one state; the supply
 * holds on each; every acknowledged payment is on each (its id in the payer's history); each
 * payer's history is the same on all three, holds only payments that were sent, and its balance is
 * the funds minus what the history says it paid; the payees' balances match their incoming
 * payments. Returns the problems found (empty: all good), each one line. `ackedFromWindow`
 * limits the acknowledged-payment check to the payments of that window and later.
 */
export async function finalChecks(c: Cluster, payers: Payers, windowsMax = 6, ackedFromWindow = -Infinity): Promise<{ problems: string[]; summary: string }> {
  const problems: string[] = [];
  const statuses = await c.waitConverged(payers.lastWindow() + 1, windowsMax);
  for (const [i, s] of statuses.entries()) if (s.ledger.supply !== SUPPLY) problems.push(`server ${i}: supply ${s.ledger.supply}`);
  const ledgers: Set<string>[] = [new Set(), new Set(), new Set()];
  const incoming = new Map<number, number>();
  for (const [p, payer] of c.payers.entries()) {
    const histories = await Promise.all([0, 1, 2].map((i) => c.history(i, payer.publicKey)));
    const ids = histories.map((h) => h.map((x) => x.id).sort().join(","));
    if (new Set(ids).size !== 1) problems.push(`payer ${p}: histories differ between servers (${histories.map((h) => h.length).join(" / ")} payments)`);
    for (const [i, h] of histories.entries()) {
      let paid = 0;
      for (const x of h) {
        ledgers[i]!.add(x.id);
        if (x.payer === toHex(payer.publicKey)) paid += x.amount;
        if (!payers.sent.has(x.id)) problems.push(`server ${i}: payment ${x.id} of payer ${p} was never sent`);
      }
      const balance = await c.balance(i, payer.publicKey);
      if (balance !== PAYER_FUNDS - paid) problems.push(`server ${i}: payer ${p} balance ${balance}, its history says ${PAYER_FUNDS - paid}`);
      if (i === 0) for (const x of h) incoming.set(c.payees.findIndex((q) => toHex(q.publicKey) === x.payee), (incoming.get(c.payees.findIndex((q) => toHex(q.publicKey) === x.payee)) ?? 0) + x.amount);
    }
  }
  for (const [k, payee] of c.payees.entries()) {
    const onEach = await Promise.all([0, 1, 2].map((i) => c.balance(i, payee.publicKey)));
    if (onEach.some((b) => b !== (incoming.get(k) ?? 0))) problems.push(`payee ${k}: balances ${onEach.join(" / ")}, incoming payments ${incoming.get(k) ?? 0}`);
  }
  const missing: (SentPayment & { absentOn: number[] })[] = [];
  for (const a of payers.acknowledged()) {
    if (a.window < ackedFromWindow) continue;
    const absentOn = [0, 1, 2].filter((i) => !ledgers[i]!.has(a.id));
    if (absentOn.length > 0) missing.push({ ...a, absentOn });
  }
  if (missing.length > 0) {
    const byWindow = new Map<number, typeof missing>();
    for (const m of missing) byWindow.set(m.window, [...(byWindow.get(m.window) ?? []), m]);
    for (const [w, ms] of byWindow) {
      const acked = payers.acknowledged().filter((a) => a.window === w).length;
      problems.push(
        `window ${w} (alpha ${ms[0]!.server}): ${ms.length} of its ${acked} acknowledged payment(s) are missing (e.g. ${ms[0]!.id}, acknowledged at ${c.since(ms[0]!.answeredAtMs!)}, is not on server(s) ${ms[0]!.absentOn.join(", ")})`,
      );
    }
  }
  const acked = payers.acknowledged().length;
  const summary = `${payers.sent.size} sent, ${acked} acknowledged (${payers.summary()}); final agreed window ${statuses[0]!.agreed.window}, ${statuses[0]!.ledger.payments} payments in each ledger`;
  return { problems, summary };
}
