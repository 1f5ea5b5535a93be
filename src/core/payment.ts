// The payment format, fixed byte for byte (other programs build and parse it):
//   timestamp (8, big-endian u64, Unix ms) | amount (4, big-endian u32, whole scryp)
//   | payee (32) | payer (32) | payer's Ed25519 signature over the first 76 bytes (64)
// A payment's id is SHA-256 of its 140 bytes.
import { PAYMENT_SIGNED_BYTES, PAYMENT_SIZE_BYTES, KEY_BYTES, SIGNATURE_BYTES } from "./limits.ts";
import { sha256, toHex } from "./bytes.ts";
import { sign } from "./keys.ts";

const OFFSET_AMOUNT = 8;
const OFFSET_PAYEE = 12;
const OFFSET_PAYER = OFFSET_PAYEE + KEY_BYTES; // 44
const OFFSET_SIGNATURE = OFFSET_PAYER + KEY_BYTES; // 76

export interface Payment {
  /** The 140 bytes exactly as received or built. */
  readonly bytes: Uint8Array;
  readonly timestampMs: number;
  readonly amount: number;
  readonly payee: Uint8Array;
  readonly payer: Uint8Array;
  readonly signature: Uint8Array;
}

/** Splits 140 bytes into fields. Views share the input's memory; callers must not mutate it. */
export function decodePayment(bytes: Uint8Array): Payment | null {
  if (bytes.length !== PAYMENT_SIZE_BYTES) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const timestamp = view.getBigUint64(0, false);
  // Unix ms beyond 2^53 is not a real time; keeping numbers safe keeps comparisons exact.
  const timestampMs = timestamp > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(timestamp);
  return {
    bytes,
    timestampMs,
    amount: view.getUint32(OFFSET_AMOUNT, false),
    payee: bytes.subarray(OFFSET_PAYEE, OFFSET_PAYER),
    payer: bytes.subarray(OFFSET_PAYER, OFFSET_SIGNATURE),
    signature: bytes.subarray(OFFSET_SIGNATURE, OFFSET_SIGNATURE + SIGNATURE_BYTES),
  };
}

/** The signed first 76 bytes: what the signature covers and what dedupe compares. */
export function signedPart(bytes: Uint8Array): Uint8Array {
  return bytes.subarray(0, PAYMENT_SIGNED_BYTES);
}

export function encodeUnsigned(timestampMs: number, amount: number, payee: Uint8Array, payer: Uint8Array): Uint8Array {
  if (!Number.isSafeInteger(timestampMs) || timestampMs < 0) throw new RangeError("timestamp must be a non-negative integer");
  if (!Number.isInteger(amount) || amount < 0 || amount > 0xffff_ffff) throw new RangeError("amount must be a u32");
  if (payee.length !== KEY_BYTES || payer.length !== KEY_BYTES) throw new RangeError("keys are 32 bytes");
  const bytes = new Uint8Array(PAYMENT_SIZE_BYTES);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(timestampMs), false);
  view.setUint32(OFFSET_AMOUNT, amount, false);
  bytes.set(payee, OFFSET_PAYEE);
  bytes.set(payer, OFFSET_PAYER);
  return bytes;
}

/** Builds and signs a payment with the payer's secret seed. */
export function buildPayment(opts: {
  timestampMs: number;
  amount: number;
  payee: Uint8Array;
  payerSeed: Uint8Array;
  payer: Uint8Array;
}): Uint8Array {
  const bytes = encodeUnsigned(opts.timestampMs, opts.amount, opts.payee, opts.payer);
  bytes.set(sign(signedPart(bytes), opts.payerSeed), OFFSET_SIGNATURE);
  return bytes;
}

export function paymentId(bytes: Uint8Array): Uint8Array {
  return sha256(bytes);
}

export function paymentIdHex(bytes: Uint8Array): string {
  return toHex(paymentId(bytes));
}

/** The JSON shape of a payment in HTTP answers. */
export function paymentToJson(p: Payment) {
  return {
    id: paymentIdHex(p.bytes),
    timestamp: p.timestampMs,
    amount: p.amount,
    payee: toHex(p.payee),
    payer: toHex(p.payer),
    tx: toHex(p.bytes),
  };
}
