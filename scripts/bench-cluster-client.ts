// The load generator of the cluster benchmark (scripts/bench.ts, section "cluster"), in its own
// process: payers paying over UDP, as fast as the network answers, to whichever server is the
// alpha now, for N whole windows of a three-server network; one JSON line (ClusterClientReport) on
// stdout at the end. Progress and problems go to stderr.
//
//   bun scripts/bench-cluster-client.ts --ports P0,P1,P2 --interval MS --blackout MS --skew MS
//       --windows N --payers P --rate R [--window 256] [--sign-workers 2] [--timeout-ms 200]
//       [--give-up-ms 3000]
//
// Signing, untimed and off the nodes' cores while they are measured: a node accepts a payment
// only if its timestamp is within skew of its clock, so every payment is stamped for the moment it
// will be sent, R a second across each window's accepting period, and all are signed (in worker
// threads) before the first measured window starts. The first measured window is chosen once every
// node has agreed a first window and the signing time is known. At each moment the client sends
// the payments whose stamp is within skew/2 of now, oldest first, at most --window in
// flight; a payment whose stamp has gone stale before it could be sent (the network was slower
// than R) is skipped, never sent, and counted. R above what the network can take keeps it busy.
//
// A payment goes to the alpha of its stamp's window; a payment without a reply after --timeout-ms
// is sent again, the very same bytes, to the same server, until --give-up-ms. NOT_ACCEPTING (the
// window's alpha is still waiting for the previous window's agreement) and OVERLOADED are tried
// again while the payment is fresh.
import { parseArgs } from "node:util";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { benchPayers, checkAgainstNoble, percentile, planCount, planStamp, signPlanned, type ClusterClientReport, type StampPlan } from "./bench-common.ts";
import { ACCEPTED_TAG } from "../src/core/udp-reply.ts";
import { errorCodeFromTag } from "../src/core/errors.ts";
import { acceptingPeriod, alphaOf, blackoutStartMs, windowAt, windowStartMs, type ScheduleParams } from "../src/core/schedule.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    ports: { type: "string" },
    interval: { type: "string" },
    blackout: { type: "string" },
    skew: { type: "string" },
    windows: { type: "string", default: "6" },
    payers: { type: "string", default: "1000" },
    rate: { type: "string" },
    window: { type: "string", default: "256" },
    "sign-workers": { type: "string", default: String(Math.max(1, availableParallelism())) },
    "timeout-ms": { type: "string", default: "200" },
    "give-up-ms": { type: "string", default: "3000" },
  },
  strict: true,
});

function intArg(name: string, text: string | undefined, min: number): number {
  const n = Number(text);
  if (text === undefined || !Number.isSafeInteger(n) || n < min) {
    process.stderr.write(`bench-cluster-client: --${name} must be a whole number ≥ ${min}\n`);
    process.exit(2);
  }
  return n;
}

const HOST = "127.0.0.1";
const ports = (values.ports ?? "").split(",").map((p) => intArg("ports", p, 1));
if (ports.length !== 3) {
  process.stderr.write("bench-cluster-client: --ports must name three ports\n");
  process.exit(2);
}
const schedule: ScheduleParams = { serverCount: 3, intervalMs: intArg("interval", values.interval, 1000), blackoutMs: intArg("blackout", values.blackout, 1) };
const skewMs = intArg("skew", values.skew, 50);
const windowCount = intArg("windows", values.windows, 1);
const payerCount = intArg("payers", values.payers, 2);
const rate = intArg("rate", values.rate, 1);
const inFlightMax = intArg("window", values.window, 1);
const signWorkers = intArg("sign-workers", values["sign-workers"], 1);
const timeoutMs = intArg("timeout-ms", values["timeout-ms"], 1);
const giveUpMs = intArg("give-up-ms", values["give-up-ms"], 1);
/**
 * A payment is sent only while its stamp is within ±skew/2 of now: the other half of the skew is
 * for the datagram's flight and the node's queue (under full load a payment waits up to a few
 * hundred ms for its signature check and commit, and the timestamp is checked on arrival).
 */
const FRESH_MARGIN_MS = Math.floor(skewMs / 2);


const bump = (m: Record<string, number>, k: string) => {
  m[k] = (m[k] ?? 0) + 1;
};

async function json(url: string): Promise<any> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return r.ok ? await r.json() : null;
  } catch {
    return null;
  }
}

// Orphaned (the bench was killed)? Then stop too.
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) process.exit(3);
}, 500).unref();

// ---- 1. Every node has agreed a first window ------------------------------------------------
{
  const deadline = Date.now() + 4 * schedule.intervalMs + 10_000;
  for (;;) {
    const s = await Promise.all(ports.map((p) => json(`http://${HOST}:${p}/status`)));
    if (s.every((x) => x !== null && x.agreed.window >= 0)) break;
    if (Date.now() > deadline) {
      process.stderr.write("bench-cluster-client: the network agreed no first window in time\n");
      process.exit(1);
    }
    await Bun.sleep(100);
  }
}

// ---- 2. Choose the first window, sign every payment of the plan (untimed) -------------------
const payers = benchPayers(payerCount);
const probePlan: StampPlan = { periods: [{ window: 0, fromMs: 0, untilMs: 1_000_000 }], ratePerSecond: rate };
const probeStart = performance.now();
signPlanned(payers, probePlan, 0, 2_000);
const usPerPayment = ((performance.now() - probeStart) * 1000) / 2_000;
const perWindow = Math.floor(((schedule.intervalMs - schedule.blackoutMs) * rate) / 1000);
const estimateMs = (perWindow * windowCount * usPerPayment) / 1000 / Math.min(signWorkers, 2) * 1.5 + 1_000;
const firstWindow = windowAt(Date.now() + estimateMs, schedule) + 1;
const plan: StampPlan = {
  periods: Array.from({ length: windowCount }, (_, k) => {
    const { fromMs, untilMs } = acceptingPeriod(firstWindow + k, schedule);
    return { window: firstWindow + k, fromMs, untilMs };
  }),
  ratePerSecond: rate,
};
const N = planCount(plan);
process.stderr.write(`bench-cluster-client: signing ${N} payments (${rate}/s over ${windowCount} accepting periods) in ${signWorkers} worker(s), ~${usPerPayment.toFixed(0)} µs each; first measured window ${firstWindow}, starting in ${((windowStartMs(firstWindow, schedule) - Date.now()) / 1000).toFixed(1)} s\n`);
const signStart = performance.now();
const payments = new Uint8Array(N * 140);
const ids = new Uint8Array(N * 32);
{
  const slice = Math.ceil(N / signWorkers);
  await Promise.all(
    Array.from({ length: signWorkers }, (_, w) => {
      const from = w * slice;
      const count = Math.max(0, Math.min(slice, N - from));
      if (count === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const worker = new Worker(join(import.meta.dir, "bench-sign-worker.ts"));
        worker.onmessage = (e: MessageEvent<{ from: number; payments: Uint8Array; ids: Uint8Array }>) => {
          payments.set(e.data.payments, e.data.from * 140);
          ids.set(e.data.ids, e.data.from * 32);
          worker.terminate();
          resolve();
        };
        worker.onerror = (e) => reject(new Error(`sign worker: ${e.message}`));
        worker.postMessage({ payerCount, plan, from, count });
      });
    }),
  );
}
const signMs = performance.now() - signStart;
// The workers' bytes are what the project's own code makes (noble, strict verify): a sample from
// the start (checkAgainstNoble takes payment i as payer i mod P's, as the plan does), and three
// payments re-signed here.
{
  const head = Math.min(N, 4 * payerCount);
  checkAgainstNoble(payers, {
    payments: Array.from({ length: head }, (_, j) => payments.subarray(j * 140, j * 140 + 140)),
    ids: Array.from({ length: head }, (_, j) => ids.subarray(j * 32, j * 32 + 32)),
  });
  for (const j of [0, Math.floor(N / 2), N - 1]) {
    if (!Buffer.from(signPlanned(payers, plan, j, 1).payments).equals(Buffer.from(payments.subarray(j * 140, j * 140 + 140)))) throw new Error(`bench: payment ${j} signed in a worker differs`);
  }
}
const signLateMs = Math.max(0, Date.now() - windowStartMs(firstWindow, schedule));
if (signLateMs > 0) process.stderr.write(`bench-cluster-client: WARNING: signing ended ${signLateMs} ms after the first measured window began\n`);

// Stamps and windows by index, for the send loop.
const stamps = new Float64Array(N);
const windowOf = new Int32Array(N);
for (let j = 0; j < N; j++) {
  const s = planStamp(plan, j);
  stamps[j] = s.timestampMs;
  windowOf[j] = s.window;
}
// Replies are matched by id: a map keyed by the id's first 6 bytes (a number: far lighter than
// half a million strings), the whole id compared on lookup; the rare collision goes to a second map.
const byIdHead = new Map<number, number>();
const byIdCollided = new Map<string, number>();
const idHead = (b: Uint8Array, at: number) => b[at]! * 2 ** 40 + b[at + 1]! * 2 ** 32 + ((b[at + 2]! << 24) >>> 0) + (b[at + 3]! << 16) + (b[at + 4]! << 8) + b[at + 5]!;
for (let j = 0; j < N; j++) {
  const head = idHead(ids, j * 32);
  if (byIdHead.has(head)) byIdCollided.set(Buffer.from(ids.buffer, j * 32, 32).toString("latin1"), j);
  else byIdHead.set(head, j);
}
/** The plan index of the payment whose id is at `at` in `b`, or undefined. */
function lookup(b: Uint8Array, at: number): number | undefined {
  const j = byIdHead.get(idHead(b, at));
  if (j !== undefined && Buffer.compare(Buffer.from(b.buffer, b.byteOffset + at, 32), Buffer.from(ids.buffer, j * 32, 32)) === 0) return j;
  return byIdCollided.get(Buffer.from(b.buffer, b.byteOffset + at, 32).toString("latin1"));
}

// ---- 3. The timed part: N windows -------------------------------------------------------------
const startMs = windowStartMs(firstWindow, schedule);
const endMs = windowStartMs(firstWindow + windowCount, schedule);
const lastBlackoutMs = blackoutStartMs(firstWindow + windowCount - 1, schedule);
while (Date.now() < startMs) await Bun.sleep(Math.min(50, startMs - Date.now()));

// 0 not sent, 1 in flight, 2 accepted, 3 rejected, 4 stale (never sent), 5 gave up (no reply)
const state = new Uint8Array(N);
const firstSentAt = new Float64Array(N);
const lastSentAt = new Float64Array(N);
const target = new Int8Array(N);
const latencies = new Float64Array(N);
const acceptedPerWindow = new Array<number>(windowCount).fill(0);
const inFlight = new Set<number>();
const rejected: Record<string, number> = {};
const retried: Record<string, number> = {};
let next = 0;
let accepted = 0;
let sent = 0;
let stale = 0;
let gaveUp = 0;
let retransmits = 0;
let resend: number[] = [];
const blocked = [false, false, false];
const cpuBefore = process.cpuUsage();

const report = await new Promise<ClusterClientReport>((resolve) => {
  const sockets: (Bun.udp.ConnectedSocket<"uint8array"> | undefined)[] = [undefined, undefined, undefined];
  let timer: ReturnType<typeof setInterval> | undefined;
  let ended = false;
  let pumpScheduled = false;

  const end = () => {
    if (ended) return;
    ended = true;
    if (timer !== undefined) clearInterval(timer);
    for (const s of sockets) s?.close();
    const cpu = process.cpuUsage(cpuBefore);
    const sorted = latencies.slice(0, accepted).sort();
    resolve({
      firstWindow,
      windows: windowCount,
      startMs,
      endMs,
      planned: N,
      rate,
      sent,
      accepted,
      acceptedPerWindow,
      rejected,
      retried,
      stale,
      gaveUp,
      retransmits,
      latencyMs: { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted.length > 0 ? sorted[sorted.length - 1]! : 0 },
      signMs,
      signWorkers,
      signLateMs,
      clientCpuMs: (cpu.user + cpu.system) / 1000,
    });
  };

  const fresh = (j: number, nowMs: number) => stamps[j]! >= nowMs - skewMs + FRESH_MARGIN_MS;

  const pump = () => {
    pumpScheduled = false;
    if (ended) return;
    const nowMs = Date.now();
    const now = performance.now();
    const packets: Uint8Array[][] = [[], [], []];
    const which: number[][] = [[], [], []];
    for (const j of resend) {
      if (state[j] !== 1) continue;
      packets[target[j]!]!.push(payments.subarray(j * 140, j * 140 + 140));
      which[target[j]!]!.push(j);
      lastSentAt[j] = now;
    }
    resend = [];
    const w = windowAt(nowMs, schedule);
    const accepting = nowMs < blackoutStartMs(w, schedule);
    while (next < N && !fresh(next, nowMs)) {
      state[next] = 4;
      stale++;
      next++;
    }
    while (accepting && inFlight.size < inFlightMax && next < N && windowOf[next] === w && stamps[next]! <= nowMs + skewMs - FRESH_MARGIN_MS) {
      const j = next++;
      const t = alphaOf(w, schedule);
      state[j] = 1;
      target[j] = t;
      inFlight.add(j);
      firstSentAt[j] = now;
      lastSentAt[j] = now;
      sent++;
      packets[t]!.push(payments.subarray(j * 140, j * 140 + 140));
      which[t]!.push(j);
    }
    for (let t = 0; t < 3; t++) {
      const list = packets[t]!;
      if (list.length === 0) continue;
      const socket = sockets[t]!;
      const n = blocked[t] ? 0 : list.length === 1 ? (socket.send(list[0]!) ? 1 : 0) : socket.sendMany(list);
      if (n < list.length) {
        blocked[t] = true;
        for (let k = n; k < list.length; k++) resend.push(which[t]![k]!);
      }
    }
  };
  const schedulePump = () => {
    if (pumpScheduled) return;
    pumpScheduled = true;
    setImmediate(pump);
  };

  const onData = (buf: Uint8Array) => {
    if (buf.length < 33) {
      bump(retried, "malformed-reply");
      return;
    }
    const j = lookup(buf, 1);
    if (j === undefined || state[j] !== 1) return; // a second reply to a retransmission
    const tag = buf[0]!;
    if (tag === ACCEPTED_TAG) {
      state[j] = 2;
      latencies[accepted++] = performance.now() - firstSentAt[j]!;
      acceptedPerWindow[windowOf[j]! - firstWindow]!++;
      inFlight.delete(j);
    } else {
      const code = errorCodeFromTag(tag) ?? `tag-${tag}`;
      const nowMs = Date.now();
      if ((code === "NOT_ACCEPTING" || code === "OVERLOADED") && fresh(j, nowMs) && nowMs < blackoutStartMs(windowOf[j]!, schedule)) {
        bump(retried, code);
        lastSentAt[j] = performance.now() - timeoutMs + 20; // again in ~20 ms
        return;
      }
      state[j] = 3;
      bump(rejected, code);
      inFlight.delete(j);
    }
    schedulePump();
  };

  Promise.all(
    ports.map((port, t) =>
      Bun.udpSocket({
        binaryType: "uint8array",
        connect: { hostname: HOST, port },
        socket: {
          data: (_s, buf) => onData(buf),
          drain: () => {
            blocked[t] = false;
            schedulePump();
          },
          error: (_s, error) => bump(retried, `socket-error:${(error as { code?: string }).code ?? "unknown"}`),
        },
      }),
    ),
  ).then((s) => {
    s.forEach((socket, t) => (sockets[t] = socket));
    timer = setInterval(() => {
      const now = performance.now();
      const nowMs = Date.now();
      blocked.fill(false); // in case a "drain" never comes
      for (const j of inFlight) {
        if (now - firstSentAt[j]! >= giveUpMs) {
          state[j] = 5;
          gaveUp++;
          inFlight.delete(j);
        } else if (now - lastSentAt[j]! >= timeoutMs) {
          retransmits++;
          lastSentAt[j] = now;
          resend.push(j);
        }
      }
      if (nowMs >= lastBlackoutMs && inFlight.size === 0) return end();
      if (nowMs >= lastBlackoutMs + giveUpMs + 500) return end();
      schedulePump();
    }, 10);
    pump();
  });
});

process.stderr.write(`bench-cluster-client: ${report.accepted} accepted of ${report.sent} sent (${report.stale} stale, never sent), per window ${report.acceptedPerWindow.join(" ")}\n`);
process.stdout.write(JSON.stringify(report) + "\n");
process.exit(0);
