// The benchmark's load generator, run by scripts/bench.ts in its own process (so its CPU is not the
// node's). It signs every payment first, untimed, then sends them all to one node over UDP or HTTP
// and prints one JSON line (ClientReport) on stdout. Progress and problems go to stderr.
//
//   bun scripts/bench-client.ts --transport udp|http --host 127.0.0.1 --port P --count N
//       --payers P --base-ms T [--window W] [--timeout-ms 200] [--deadline-ms 60000]
//
// UDP: one connected socket, at most W payments in flight; a reply is matched to its payment by the
// id it carries; a payment without a reply after --timeout-ms is sent again, the very same bytes.
// HTTP: W concurrent keep-alive POST /tx requests with 140-byte application/octet-stream bodies.
// Every loop is bounded by --deadline-ms (counted from the first send).
import { parseArgs } from "node:util";
import { benchPayers, checkAgainstNoble, percentile, signPayments, type ClientReport, type SignedBatch } from "./bench-common.ts";
import { ACCEPTED_TAG } from "../src/core/udp-reply.ts";
import { errorCodeFromTag } from "../src/core/errors.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    transport: { type: "string" },
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string" },
    count: { type: "string" },
    payers: { type: "string", default: "1000" },
    "base-ms": { type: "string" },
    window: { type: "string" },
    "timeout-ms": { type: "string", default: "200" },
    "deadline-ms": { type: "string", default: "60000" },
  },
  strict: true,
});

function intArg(name: string, text: string | undefined, min: number): number {
  const n = Number(text);
  if (text === undefined || !Number.isSafeInteger(n) || n < min) {
    process.stderr.write(`bench-client: --${name} must be a whole number ≥ ${min}\n`);
    process.exit(2);
  }
  return n;
}

const transport = values.transport;
if (transport !== "udp" && transport !== "http") {
  process.stderr.write("bench-client: --transport must be udp or http\n");
  process.exit(2);
}
const host = values.host!;
const port = intArg("port", values.port, 1);
const count = intArg("count", values.count, 1);
const payerCount = intArg("payers", values.payers, 2);
const baseMs = intArg("base-ms", values["base-ms"], 0);
const window = intArg("window", values.window ?? (transport === "udp" ? "256" : "64"), 1);
const timeoutMs = intArg("timeout-ms", values["timeout-ms"], 1);
const deadlineMs = intArg("deadline-ms", values["deadline-ms"], 1);

/** Transient answers worth trying again; anything else is final. */
const RETRY_CODES = new Set(["OVERLOADED"]);

interface RunResult {
  accepted: number;
  rejected: Record<string, number>;
  retried: Record<string, number>;
  retransmits: number;
  elapsedMs: number;
  timedOut: boolean;
  latencies: Float64Array;
}

const bump = (m: Record<string, number>, k: string) => {
  m[k] = (m[k] ?? 0) + 1;
};

function runUdp(batch: SignedBatch): Promise<RunResult> {
  const N = batch.payments.length;
  const byId = new Map<string, number>();
  batch.ids.forEach((id, i) => byId.set(Buffer.from(id).toString("latin1"), i));
  // 0 not sent yet, 1 in flight, 2 accepted, 3 rejected
  const state = new Uint8Array(N);
  const firstSentAt = new Float64Array(N);
  const lastSentAt = new Float64Array(N);
  const latencies = new Float64Array(N);
  const inFlight = new Set<number>();
  let resend: number[] = [];
  let next = 0;
  let finished = 0;
  let accepted = 0;
  let lastAcceptAt = 0;
  let retransmits = 0;
  let blocked = false;
  let pumpScheduled = false;
  const rejected: Record<string, number> = {};
  const retried: Record<string, number> = {};

  return new Promise<RunResult>((resolve, reject) => {
    let socket: Bun.udp.ConnectedSocket<"uint8array"> | undefined;
    let startAt = 0;
    let timer: ReturnType<typeof setInterval> | undefined;
    let ended = false;

    const end = (timedOut: boolean) => {
      if (ended) return;
      ended = true;
      if (timer !== undefined) clearInterval(timer);
      socket?.close();
      resolve({ accepted, rejected, retried, retransmits, elapsedMs: (timedOut ? performance.now() : lastAcceptAt) - startAt, timedOut, latencies: latencies.slice(0, accepted) });
    };

    const finish = (i: number) => {
      inFlight.delete(i);
      finished++;
      if (finished === N) end(false);
    };

    const pump = () => {
      pumpScheduled = false;
      if (ended || blocked || socket === undefined) return;
      const packets: Uint8Array[] = [];
      const which: number[] = [];
      const now = performance.now();
      while (resend.length > 0) {
        const i = resend.pop()!;
        if (state[i] !== 1) continue;
        packets.push(batch.payments[i]!);
        which.push(i);
        lastSentAt[i] = now;
      }
      while (inFlight.size < window && next < N) {
        const i = next++;
        state[i] = 1;
        inFlight.add(i);
        firstSentAt[i] = now;
        lastSentAt[i] = now;
        packets.push(batch.payments[i]!);
        which.push(i);
      }
      if (packets.length === 0) return;
      const sent = packets.length === 1 ? (socket.send(packets[0]!) ? 1 : 0) : socket.sendMany(packets);
      if (sent < packets.length) {
        // The socket buffer is full: the rest go out on "drain".
        blocked = true;
        for (let k = sent; k < which.length; k++) resend.push(which[k]!);
      }
    };
    const schedulePump = () => {
      if (pumpScheduled) return;
      pumpScheduled = true;
      setImmediate(pump);
    };

    Bun.udpSocket({
      binaryType: "uint8array",
      connect: { hostname: host, port },
      socket: {
        data(_sock, buf) {
          if (buf.length < 33) {
            bump(retried, "malformed-reply");
            return;
          }
          const i = byId.get(Buffer.from(buf.buffer, buf.byteOffset + 1, 32).toString("latin1"));
          if (i === undefined || state[i] !== 1) return; // a second reply to a retransmitted payment
          const tag = buf[0]!;
          if (tag === ACCEPTED_TAG) {
            state[i] = 2;
            accepted++;
            lastAcceptAt = performance.now();
            latencies[accepted - 1] = lastAcceptAt - firstSentAt[i]!;
            finish(i);
          } else {
            const code = errorCodeFromTag(tag) ?? `tag-${tag}`;
            if (RETRY_CODES.has(code)) {
              bump(retried, code);
              lastSentAt[i] = performance.now() - timeoutMs + 20; // try again in ~20 ms
              return;
            }
            state[i] = 3;
            bump(rejected, code);
            finish(i);
          }
          schedulePump();
        },
        drain() {
          blocked = false;
          schedulePump();
        },
        error(_sock, error) {
          // E.g. ECONNREFUSED once the node is gone: count it; the retransmit timer and the
          // deadline bound what follows.
          const name = (error as { code?: string } | undefined)?.code ?? (error as Error | undefined)?.name ?? "unknown";
          bump(retried, `socket-error:${name}`);
        },
      },
    }).then((s) => {
      socket = s;
      startAt = performance.now();
      const deadline = startAt + deadlineMs;
      timer = setInterval(() => {
        const now = performance.now();
        if (now > deadline) return end(true);
        blocked = false; // in case a "drain" never comes: trying again costs one short send
        for (const i of inFlight) {
          if (now - lastSentAt[i]! >= timeoutMs) {
            retransmits++;
            lastSentAt[i] = now;
            resend.push(i);
          }
        }
        schedulePump();
      }, 10);
      pump();
    }, reject);
  });
}

async function runHttp(batch: SignedBatch): Promise<RunResult> {
  const N = batch.payments.length;
  const url = `http://${host}:${port}/tx`;
  const latencies = new Float64Array(N);
  const rejected: Record<string, number> = {};
  const retried: Record<string, number> = {};
  let accepted = 0;
  let lastAcceptAt = 0;
  let next = 0;
  const startAt = performance.now();
  const deadline = startAt + deadlineMs;
  let timedOut = false;

  const worker = async () => {
    while (true) {
      if (performance.now() > deadline) {
        timedOut = true;
        return;
      }
      const i = next++;
      if (i >= N) return;
      const sentAt = performance.now();
      while (true) {
        if (performance.now() > deadline) {
          timedOut = true;
          return;
        }
        let status: number;
        let text: string;
        try {
          const res = await fetch(url, {
            method: "POST",
            headers: { "content-type": "application/octet-stream" },
            body: batch.payments[i]!,
            signal: AbortSignal.timeout(Math.max(1, Math.min(10_000, deadline - performance.now()))),
          });
          status = res.status;
          text = await res.text();
        } catch (e) {
          bump(retried, `fetch-error:${(e as Error).name}`);
          await Bun.sleep(50);
          continue;
        }
        if (status === 200) {
          accepted++;
          lastAcceptAt = performance.now();
          latencies[accepted - 1] = lastAcceptAt - sentAt;
          break;
        }
        let code = `http-${status}`;
        try {
          code = (JSON.parse(text) as { error: { code: string } }).error.code;
        } catch {
          // keep the status
        }
        if (RETRY_CODES.has(code)) {
          bump(retried, code);
          await Bun.sleep(20);
          continue;
        }
        bump(rejected, code);
        break;
      }
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  return { accepted, rejected, retried, retransmits: 0, elapsedMs: (timedOut ? performance.now() : lastAcceptAt) - startAt, timedOut, latencies: latencies.slice(0, accepted) };
}

// Orphaned (the bench was killed)? Then stop too, whatever the deadline says.
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) process.exit(3);
}, 500).unref();

// Untimed: derive the payers, sign every payment, prove the signatures are what noble makes.
const signStart = performance.now();
const payers = benchPayers(payerCount);
const batch = signPayments(payers, count, baseMs);
checkAgainstNoble(payers, batch);
const signMs = performance.now() - signStart;
process.stderr.write(`bench-client: signed ${count} payments in ${signMs.toFixed(0)} ms; sending over ${transport.toUpperCase()} to ${host}:${port}, ${window} in flight\n`);

// Timed.
const cpuBefore = process.cpuUsage();
const result = transport === "udp" ? await runUdp(batch) : await runHttp(batch);
const cpu = process.cpuUsage(cpuBefore);
const cpuTotal = process.cpuUsage();
const sorted = result.latencies.sort();
const report: ClientReport = {
  transport,
  count,
  accepted: result.accepted,
  rejected: result.rejected,
  retried: result.retried,
  retransmits: result.retransmits,
  elapsedMs: result.elapsedMs,
  perSecond: result.elapsedMs > 0 ? (result.accepted / result.elapsedMs) * 1000 : 0,
  signMs,
  clientCpuMs: (cpu.user + cpu.system) / 1000,
  clientTotalCpuMs: (cpuTotal.user + cpuTotal.system) / 1000,
  timedOut: result.timedOut,
  latencyMs: { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted.length > 0 ? sorted[sorted.length - 1]! : 0 },
  window,
};
process.stdout.write(JSON.stringify(report) + "\n");
process.exit(0);
