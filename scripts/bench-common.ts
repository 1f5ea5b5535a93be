// Shared by scripts/bench.ts and scripts/bench-client.ts: the benchmark's deterministic payer
// accounts and fast pre-signing of payments.
//
// Signing uses Node's native Ed25519 (node:crypto) rather than noble: RFC 8032 signatures are
// deterministic, so both give the very same 64 bytes, and native is ~25x faster, which keeps the
// pre-signing of tens of thousands of payments under a second. `checkAgainstNoble` proves the
// equality on a sample before any figure is taken.
import { readFileSync } from "node:fs";
import { createHash, createPrivateKey, createPublicKey, sign as nativeSign, type KeyObject } from "node:crypto";
import { keyPairFromSeed, sign as nobleSign } from "../src/core/keys.ts";
import { verifyNoble } from "../src/core/verify.ts";
import { buildPayment, encodeUnsigned, paymentId, signedPart } from "../src/core/payment.ts";
import { PAYMENT_SIGNED_BYTES } from "../src/core/limits.ts";

/** DER prefix of an Ed25519 PKCS#8 private key; the raw 32-byte seed follows it. */
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte public key follows it. */
const SPKI_PREFIX_BYTES = 12;

export interface BenchPayer {
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly privateKey: KeyObject;
}

/** Payer n's seed: SHA-256("scryp-bench/payer/" + n). The same in every process, every run. */
export function payerSeed(n: number): Uint8Array {
  return new Uint8Array(createHash("sha256").update(`scryp-bench/payer/${n}`).digest());
}

export function benchPayer(n: number): BenchPayer {
  const seed = payerSeed(n);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  return { seed, publicKey: new Uint8Array(spki.subarray(SPKI_PREFIX_BYTES)), privateKey };
}

export function benchPayers(count: number): BenchPayer[] {
  return Array.from({ length: count }, (_, n) => benchPayer(n));
}

export interface SignedBatch {
  /** The 140-byte payments, in sending order. */
  readonly payments: Uint8Array[];
  /** Their ids (SHA-256 of the 140 bytes). */
  readonly ids: Uint8Array[];
}

/**
 * `count` payments of 1 scryp each, all distinct in their first 76 bytes, so every one of them is
 * accepted. Payment i is paid by payer i mod P (payers rotate fastest) to another payer, stamped
 * `baseMs + floor(i / P)`: a payer's payments differ in timestamp, and the whole batch spans
 * count/P ms, far inside any skew.
 */
export function signPayments(payers: readonly BenchPayer[], count: number, baseMs: number): SignedBatch {
  const P = payers.length;
  if (P < 2) throw new RangeError("need at least two payers");
  const payments: Uint8Array[] = new Array(count);
  const ids: Uint8Array[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const p = i % P;
    const round = Math.floor(i / P);
    const payer = payers[p]!;
    const payee = payers[(p + 1 + (round % (P - 1))) % P]!;
    const bytes = encodeUnsigned(baseMs + round, 1, payee.publicKey, payer.publicKey);
    const signature = nativeSign(null, bytes.subarray(0, PAYMENT_SIGNED_BYTES), payer.privateKey);
    bytes.set(signature, PAYMENT_SIGNED_BYTES);
    payments[i] = bytes;
    ids[i] = paymentId(bytes);
  }
  return { payments, ids };
}

/**
 * Proves the fast path gives what the project's own code gives: public keys equal noble's,
 * signatures equal noble's byte for byte (buildPayment), and they pass the strict noble verify.
 * Throws on any difference.
 */
export function checkAgainstNoble(payers: readonly BenchPayer[], batch: SignedBatch, samples = 4): void {
  const P = payers.length;
  for (let s = 0; s < Math.min(samples, batch.payments.length); s++) {
    const i = Math.floor((s * batch.payments.length) / samples);
    const bytes = batch.payments[i]!;
    const payer = payers[i % P]!;
    const pair = keyPairFromSeed(payer.seed);
    if (!Buffer.from(pair.publicKey).equals(Buffer.from(payer.publicKey))) throw new Error(`bench: payer ${i % P}: native public key differs from noble's`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const rebuilt = buildPayment({
      timestampMs: Number(view.getBigUint64(0, false)),
      amount: view.getUint32(8, false),
      payee: bytes.subarray(12, 44),
      payer: pair.publicKey,
      payerSeed: pair.seed,
    });
    if (!Buffer.from(rebuilt).equals(Buffer.from(bytes))) throw new Error(`bench: payment ${i}: native signature differs from noble's`);
    if (!verifyNoble(bytes.subarray(76), signedPart(bytes), payer.publicKey)) throw new Error(`bench: payment ${i}: fails the strict noble verify`);
    if (!Buffer.from(nobleSign(signedPart(bytes), pair.seed)).equals(Buffer.from(bytes.subarray(76)))) throw new Error(`bench: payment ${i}: noble sign differs`);
  }
}

/** What the client process prints, as one JSON line, when it is done. */
export interface ClientReport {
  readonly transport: "udp" | "http";
  readonly count: number;
  readonly accepted: number;
  /** Final rejections by code (the bench expects none). */
  readonly rejected: Record<string, number>;
  /** Transient answers that were retried (OVERLOADED, network errors), by kind. */
  readonly retried: Record<string, number>;
  /** UDP: datagrams sent again after the reply timeout. */
  readonly retransmits: number;
  /** From the first send to the last acceptance. */
  readonly elapsedMs: number;
  readonly perSecond: number;
  readonly signMs: number;
  /** The client's own CPU time during the timed part (user + system), ms. */
  readonly clientCpuMs: number;
  /** The client's CPU time over its whole life (signing included), ms. */
  readonly clientTotalCpuMs: number;
  readonly timedOut: boolean;
  /** Per-payment latency from first send to acceptance, ms. */
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly window: number;
}

export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Busy CPU ms of the whole host since boot (all CPUs), from /proc/stat; null where there is none. */
export function hostBusyCpuMs(): number | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0] as string;
    // cpu user nice system idle iowait irq softirq steal ...
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
    return (busy * 1000) / 100; // USER_HZ = 100
  } catch {
    return null;
  }
}

/**
 * The cluster benchmark's plan of timestamps: payments stamped evenly at `ratePerSecond` across
 * each window's accepting period, window after window. Payment j of the plan is paid by payer
 * j mod P, so one payer's payments are P / rate seconds apart: never two with the same signed bytes.
 */
export interface StampPlan {
  /** Accepting periods [fromMs, untilMs), in order. */
  readonly periods: readonly { readonly window: number; readonly fromMs: number; readonly untilMs: number }[];
  readonly ratePerSecond: number;
}

export function planCount(plan: StampPlan): number {
  return plan.periods.reduce((n, p) => n + perPeriod(plan, p), 0);
}

function perPeriod(plan: StampPlan, p: StampPlan["periods"][number]): number {
  return Math.floor(((p.untilMs - p.fromMs) * plan.ratePerSecond) / 1000);
}

/** The window and timestamp of payment j of the plan. */
export function planStamp(plan: StampPlan, j: number): { window: number; timestampMs: number } {
  let k = j;
  for (const p of plan.periods) {
    const n = perPeriod(plan, p);
    if (k < n) return { window: p.window, timestampMs: p.fromMs + Math.floor((k * 1000) / plan.ratePerSecond) };
    k -= n;
  }
  throw new RangeError(`payment ${j} is past the plan`);
}

/**
 * Signs payments [from, from + count) of the plan into one buffer of 140-byte payments and one of
 * their 32-byte ids (native Ed25519, as signPayments; checkAgainstNoble proves it on a sample).
 */
export function signPlanned(payers: readonly BenchPayer[], plan: StampPlan, from: number, count: number): { payments: Uint8Array; ids: Uint8Array } {
  const P = payers.length;
  if (P < 2) throw new RangeError("need at least two payers");
  const payments = new Uint8Array(count * 140);
  const ids = new Uint8Array(count * 32);
  for (let k = 0; k < count; k++) {
    const j = from + k;
    const p = j % P;
    const payer = payers[p]!;
    const payee = payers[(p + 1 + (Math.floor(j / P) % (P - 1))) % P]!;
    const bytes = encodeUnsigned(planStamp(plan, j).timestampMs, 1, payee.publicKey, payer.publicKey);
    bytes.set(nativeSign(null, bytes.subarray(0, PAYMENT_SIGNED_BYTES), payer.privateKey), PAYMENT_SIGNED_BYTES);
    payments.set(bytes, k * 140);
    ids.set(paymentId(bytes), k * 32);
  }
  return { payments, ids };
}

/** What scripts/bench-cluster-client.ts prints, as one JSON line, when it is done. */
export interface ClusterClientReport {
  readonly firstWindow: number;
  readonly windows: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly planned: number;
  readonly rate: number;
  readonly sent: number;
  readonly accepted: number;
  readonly acceptedPerWindow: number[];
  readonly rejected: Record<string, number>;
  readonly retried: Record<string, number>;
  readonly stale: number;
  readonly gaveUp: number;
  readonly retransmits: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly signMs: number;
  readonly signWorkers: number;
  /** How long after the first measured window's start the signing finished (0: in time). */
  readonly signLateMs: number;
  readonly clientCpuMs: number;
}
