// Fuzz: the payment decoder and the stateless acceptance rules, on random bytes and on mutations
// of valid payments. They must never throw, must refuse only with their own codes, must decode
// only what re-encodes to the same 140 bytes, and must never accept bytes that are not a payment
// its payer signed (Ed25519 strict is not malleable: any change to a signed payment is refused).
import { describe, expect, test } from "bun:test";
import { decodePayment, encodeUnsigned, paymentToJson, signedPart } from "../../src/core/payment.ts";
import { checkBeforeSignature, checkStateless } from "../../src/core/acceptance.ts";
import { verifyNative, verifyNoble, verifySignature } from "../../src/core/verify.ts";
import { equalBytes } from "../../src/core/bytes.ts";
import type { ErrorCode } from "../../src/core/errors.ts";
import { PAYMENT_SIZE_BYTES, SKEW_MS_DEFAULT } from "../../src/core/limits.ts";
import { signedPayment, testKeyPair } from "../support/helpers.ts";
import { concatBytes, Fuzz, FUZZ_SEED, fuzzCases, mutate, randomLength, type IntegerField } from "./fuzz-support.ts";

/** The codes the stateless rules may give; anything else is a bug. */
const STATELESS_CODES: readonly ErrorCode[] = ["PAYMENT_SIZE", "AMOUNT_ZERO", "SELF_PAYMENT", "TIMESTAMP_SKEW", "SIGNATURE_INVALID"];
/** The integer fields of a payment (timestamp u64, amount u32), from its documented layout. */
const FIELDS: readonly IntegerField[] = [
  { offset: 0, widthBytes: 8 },
  { offset: 8, widthBytes: 4 },
];
const NOW_MS = Date.UTC(2027, 0, 15, 8, 0, 30);
const PAYERS = [testKeyPair(0x21), testKeyPair(0x22), testKeyPair(0x23)];

/** Bytes from a decoded payment's fields: must be the bytes it was decoded from. */
function reencode(p: NonNullable<ReturnType<typeof decodePayment>>): Uint8Array {
  const bytes = encodeUnsigned(p.timestampMs, p.amount, p.payee, p.payer);
  bytes.set(p.signature, 76);
  return bytes;
}

function randomValidPayment(fuzz: Fuzz): Uint8Array {
  const payer = fuzz.pick(PAYERS);
  const payee = fuzz.chance(0.5) ? fuzz.pick(PAYERS.filter((k) => k !== payer)).publicKey : fuzz.bytes(32);
  const amount = fuzz.pick([1, 2, 0x7fff_ffff, 0xffff_ffff, fuzz.int(1, 1_000_000)]);
  return signedPayment(payer, payee, amount, NOW_MS + fuzz.int(-SKEW_MS_DEFAULT, SKEW_MS_DEFAULT));
}

/** Signing is the slow part: a pool of valid payments, drawn once from the run's seed. */
const poolFuzz = new Fuzz(FUZZ_SEED);
const VALID_POOL = Array.from({ length: 48 }, () => randomValidPayment(poolFuzz));

/** The properties every input must have, whatever it is. */
function checkDecoders(fuzz: Fuzz, bytes: Uint8Array, nowMs: number): ReturnType<typeof checkStateless> {
  fuzz.input(bytes);
  const payment = decodePayment(bytes);
  expect(payment === null).toBe(bytes.length !== PAYMENT_SIZE_BYTES);
  if (payment !== null) {
    const timestamp = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, false);
    if (timestamp <= BigInt(Number.MAX_SAFE_INTEGER)) {
      expect(equalBytes(reencode(payment), bytes)).toBe(true);
    } else {
      // Deliberately lossy (see decodePayment): a time past 2^53 ms is no real time, so it is
      // clamped, and the clamped value is always outside the skew of any real clock.
      expect(payment.timestampMs).toBe(Number.MAX_SAFE_INTEGER);
      expect(equalBytes(reencode(payment).subarray(8), bytes.subarray(8))).toBe(true);
    }
    expect(paymentToJson(payment).tx.length).toBe(2 * PAYMENT_SIZE_BYTES);
  }
  const cheap = checkBeforeSignature(bytes, nowMs, SKEW_MS_DEFAULT);
  if (!cheap.ok) expect(STATELESS_CODES).toContain(cheap.code);
  const full = checkStateless(bytes, nowMs, SKEW_MS_DEFAULT, verifySignature);
  if (!full.ok) expect(STATELESS_CODES).toContain(full.code);
  // The signature is checked last, so the cheap rules must agree with the full check.
  if (!cheap.ok) expect(full).toEqual(cheap);
  if (full.ok) {
    expect(cheap.ok).toBe(true);
    expect(full.payment.timestampMs).not.toBe(Number.MAX_SAFE_INTEGER);
  }
  return full;
}

describe("fuzz: payment decoding and the stateless rules", () => {
  test("random bytes of random lengths", () => {
    fuzzCases("payment/random-bytes", 3000, (fuzz) => {
      const bytes = fuzz.bytes(randomLength(fuzz, [0, 1, 76, 139, 140, 140, 140, 141, 280], 1500));
      // Half the 140-byte inputs get a plausible timestamp and amount, so the later rules run.
      if (bytes.length === PAYMENT_SIZE_BYTES && fuzz.chance(0.5)) {
        bytes.set(encodeUnsigned(NOW_MS + fuzz.int(-10_000, 10_000), fuzz.int(0, 3), bytes.subarray(12, 44), fuzz.chance(0.2) ? bytes.subarray(12, 44) : bytes.subarray(44, 76)).subarray(0, 76));
      }
      const result = checkDecoders(fuzz, bytes, NOW_MS);
      // A random signature from a random key is no signature.
      expect(result.ok).toBe(false);
    });
  });

  test("mutations of valid payments are never accepted, and decode only to what they re-encode", () => {
    fuzzCases("payment/mutations", 3000, (fuzz) => {
      const valid = fuzz.pick(VALID_POOL);
      expect(checkStateless(valid, NOW_MS, SKEW_MS_DEFAULT, verifySignature).ok).toBe(true);
      const others = [fuzz.pick(VALID_POOL)];
      const bytes = mutate(fuzz, valid, FIELDS, others, [NOW_MS, 0]);
      const result = checkDecoders(fuzz, bytes, NOW_MS);
      if (result.ok) expect(equalBytes(bytes, valid) || others.some((o) => equalBytes(bytes, o))).toBe(true);
    });
  });

  test("a payment inside a larger buffer decodes like a copy of it (views honour the offset)", () => {
    fuzzCases("payment/offset-views", 500, (fuzz) => {
      const valid = fuzz.chance(0.5) ? fuzz.pick(VALID_POOL) : fuzz.bytes(PAYMENT_SIZE_BYTES);
      const before = fuzz.int(0, 17);
      const backing = concatBytes(fuzz.bytes(before), valid, fuzz.bytes(fuzz.int(0, 17)));
      const view = backing.subarray(before, before + PAYMENT_SIZE_BYTES);
      fuzz.input(view);
      expect(decodePayment(view)).toEqual(decodePayment(valid.slice()));
      expect(checkStateless(view, NOW_MS, SKEW_MS_DEFAULT, verifySignature)).toEqual(checkStateless(valid.slice(), NOW_MS, SKEW_MS_DEFAULT, verifySignature));
    });
  });

  test("the native verifier and the reference one agree on mutated signatures, keys and messages", () => {
    // noble is slow (a few ms a check): fewer cases here.
    fuzzCases("payment/verifiers-agree", 150, (fuzz) => {
      const valid = fuzz.pick(VALID_POOL);
      let bytes = mutate(fuzz, valid, FIELDS);
      if (bytes.length !== PAYMENT_SIZE_BYTES) bytes = concatBytes(bytes, new Uint8Array(PAYMENT_SIZE_BYTES)).subarray(0, PAYMENT_SIZE_BYTES);
      fuzz.input(bytes);
      const signature = bytes.subarray(76, 140);
      const payer = bytes.subarray(44, 76);
      expect(verifyNative(signature, signedPart(bytes), payer)).toBe(verifyNoble(signature, signedPart(bytes), payer));
    });
  });
});
