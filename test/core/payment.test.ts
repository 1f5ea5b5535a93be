// The payment format, byte for byte: other programs build and parse these 140 bytes.
import { describe, expect, test } from "bun:test";
import * as ed from "@noble/ed25519";
import {
  buildPayment,
  decodePayment,
  encodeUnsigned,
  paymentId,
  paymentIdHex,
  paymentToJson,
  signedPart,
} from "../../src/core/payment.ts";
import { keyPairFromSeed, sign } from "../../src/core/keys.ts";
import { verifyNative, verifyNoble } from "../../src/core/verify.ts";
import { PAYMENT_SIGNED_BYTES, PAYMENT_SIZE_BYTES } from "../../src/core/limits.ts";
import { signedPayment, testKeyPair } from "../support/helpers.ts";
import { beToBigInt, concat, hex, nodeSha256, prng, randomBytes, randomInt, unhex } from "./fixtures.ts";

const payer = testKeyPair(1);
const payee = testKeyPair(2).publicKey;

/** 32 bytes start, start+1, … (mod 256): makes every offset visible. */
function ramp(start: number): Uint8Array {
  return new Uint8Array(32).map((_, i) => (start + i) & 0xff);
}

describe("limits", () => {
  test("a payment is 140 bytes and its signed part 76", () => {
    expect(PAYMENT_SIZE_BYTES).toBe(140);
    expect(PAYMENT_SIGNED_BYTES).toBe(76);
  });
});

describe("encode / decode round trip", () => {
  test("buildPayment then decodePayment gives back every field", () => {
    const bytes = signedPayment(payer, payee, 12_345, 1_700_000_000_123);
    expect(bytes.length).toBe(140);
    const p = decodePayment(bytes)!;
    expect(p).not.toBeNull();
    expect(p.timestampMs).toBe(1_700_000_000_123);
    expect(p.amount).toBe(12_345);
    expect(hex(p.payee)).toBe(hex(payee));
    expect(hex(p.payer)).toBe(hex(payer.publicKey));
    expect(p.signature.length).toBe(64);
    expect(hex(p.signature)).toBe(hex(sign(bytes.subarray(0, 76), payer.seed)));
    expect(p.bytes).toBe(bytes);
  });

  test("round trip over many seeded random field values", () => {
    const rand = prng(0x5c7e9);
    for (let i = 0; i < 200; i++) {
      const ts = randomInt(rand, Number.MAX_SAFE_INTEGER);
      const amount = randomInt(rand, 0x1_0000_0000);
      const pe = randomBytes(rand, 32);
      const pr = randomBytes(rand, 32);
      const bytes = encodeUnsigned(ts, amount, pe, pr);
      const p = decodePayment(bytes)!;
      expect(p.timestampMs).toBe(ts);
      expect(p.amount).toBe(amount);
      expect(hex(p.payee)).toBe(hex(pe));
      expect(hex(p.payer)).toBe(hex(pr));
      expect(hex(p.signature)).toBe("00".repeat(64));
    }
  });

  test("extreme field values survive the round trip", () => {
    for (const [ts, amount] of [
      [0, 0],
      [0, 0xffff_ffff],
      [Number.MAX_SAFE_INTEGER, 1],
      [2 ** 32, 2 ** 31],
      [2 ** 32 - 1, 2 ** 16],
    ] as const) {
      const p = decodePayment(encodeUnsigned(ts, amount, ramp(0), ramp(100)))!;
      expect(p.timestampMs).toBe(ts);
      expect(p.amount).toBe(amount);
    }
  });

  test("decodes a payment that is a view into a larger buffer (non-zero byteOffset)", () => {
    const bytes = signedPayment(payer, payee, 77, 1_650_000_000_000);
    const big = new Uint8Array(300).fill(0xee);
    big.set(bytes, 13);
    const view = big.subarray(13, 13 + 140);
    const p = decodePayment(view)!;
    expect(p.timestampMs).toBe(1_650_000_000_000);
    expect(p.amount).toBe(77);
    expect(hex(p.payee)).toBe(hex(payee));
    expect(hex(p.payer)).toBe(hex(payer.publicKey));
    expect(hex(p.signature)).toBe(hex(bytes.subarray(76)));
    expect(verifyNative(p.signature, signedPart(view), p.payer)).toBe(true);
    expect(verifyNoble(p.signature, signedPart(view), p.payer)).toBe(true);
  });
});

describe("exact byte layout", () => {
  // 0x000a0b0c0d0e0f10 is below 2^53, so it is a safe integer.
  const TS = 0x000a_0b0c_0d0e_0f10;
  const AMOUNT = 0xdeadbeef;
  const PAYEE = ramp(0x20);
  const PAYER = ramp(0x80);
  const bytes = encodeUnsigned(TS, AMOUNT, PAYEE, PAYER);

  test("timestamp is a big-endian u64 at offset 0", () => {
    expect(hex(bytes.subarray(0, 8))).toBe("000a0b0c0d0e0f10");
    expect(beToBigInt(bytes.subarray(0, 8))).toBe(BigInt(TS));
  });

  test("amount is a big-endian u32 at offset 8", () => {
    expect(hex(bytes.subarray(8, 12))).toBe("deadbeef");
  });

  test("payee at 12..44, payer at 44..76", () => {
    expect(hex(bytes.subarray(12, 44))).toBe(hex(PAYEE));
    expect(hex(bytes.subarray(44, 76))).toBe(hex(PAYER));
    expect(bytes[12]).toBe(0x20);
    expect(bytes[43]).toBe(0x3f);
    expect(bytes[44]).toBe(0x80);
    expect(bytes[75]).toBe(0x9f);
  });

  test("the unsigned encoding leaves the signature slot 76..140 zero", () => {
    expect(bytes.length).toBe(140);
    expect(hex(bytes.subarray(76))).toBe("00".repeat(64));
  });

  test("the whole unsigned encoding equals the hand-concatenated hex", () => {
    expect(hex(bytes)).toBe("000a0b0c0d0e0f10" + "deadbeef" + hex(PAYEE) + hex(PAYER) + "00".repeat(64));
  });

  test("decoding reads each field from its own offset", () => {
    const hand = unhex("0000018bcfe56800" + "000003e8" + "11".repeat(32) + "22".repeat(32) + "33".repeat(64));
    const p = decodePayment(hand)!;
    expect(p.timestampMs).toBe(1_700_000_000_000);
    expect(p.amount).toBe(1000);
    expect(hex(p.payee)).toBe("11".repeat(32));
    expect(hex(p.payer)).toBe("22".repeat(32));
    expect(hex(p.signature)).toBe("33".repeat(64));
  });

  test("the signature is written at offset 76 and covers exactly the first 76 bytes", () => {
    const built = signedPayment(payer, payee, 5, 1_700_000_000_000);
    const expectedSig = ed.sign(built.slice(0, 76), payer.seed);
    expect(hex(built.subarray(76, 140))).toBe(hex(expectedSig));
    expect(hex(signedPart(built))).toBe(hex(built.subarray(0, 76)));
    expect(signedPart(built).length).toBe(76);
  });

  test("decoding a u64 timestamp above 2^53 clamps to MAX_SAFE_INTEGER", () => {
    const b = encodeUnsigned(0, 1, PAYEE, PAYER);
    b.fill(0xff, 0, 8);
    expect(decodePayment(b)!.timestampMs).toBe(Number.MAX_SAFE_INTEGER);
    b.set([0x00, 0x20, 0, 0, 0, 0, 0, 0], 0); // exactly 2^53
    expect(decodePayment(b)!.timestampMs).toBe(Number.MAX_SAFE_INTEGER);
    b.set([0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0); // 2^53 - 1
    expect(decodePayment(b)!.timestampMs).toBe(2 ** 53 - 1);
  });
});

describe("length must be exactly 140", () => {
  const good = signedPayment(payer, payee, 1, 1_700_000_000_000);
  for (const n of [0, 1, 75, 76, 139, 141, 280]) {
    test(`${n} bytes → null`, () => {
      const b = new Uint8Array(n);
      b.set(good.subarray(0, Math.min(n, 140)));
      expect(decodePayment(b)).toBeNull();
    });
  }
  test("140 bytes → a payment", () => {
    expect(decodePayment(good)).not.toBeNull();
    expect(decodePayment(new Uint8Array(140))).not.toBeNull();
  });
});

describe("encodeUnsigned rejects values that do not fit", () => {
  const k = ramp(0);
  test.each([
    ["negative timestamp", () => encodeUnsigned(-1, 1, k, k)],
    ["fractional timestamp", () => encodeUnsigned(1.5, 1, k, k)],
    ["timestamp above 2^53-1", () => encodeUnsigned(2 ** 53, 1, k, k)],
    ["NaN timestamp", () => encodeUnsigned(Number.NaN, 1, k, k)],
    ["negative amount", () => encodeUnsigned(0, -1, k, k)],
    ["amount 2^32", () => encodeUnsigned(0, 2 ** 32, k, k)],
    ["fractional amount", () => encodeUnsigned(0, 0.5, k, k)],
    ["short payee", () => encodeUnsigned(0, 1, new Uint8Array(31), k)],
    ["long payer", () => encodeUnsigned(0, 1, k, new Uint8Array(33))],
  ])("%s → RangeError", (_name, f) => {
    expect(f).toThrow(RangeError);
  });
});

describe("payment id", () => {
  test("id = SHA-256 of the 140 bytes (node:crypto)", () => {
    const bytes = signedPayment(payer, payee, 9, 1_700_000_000_000);
    expect(hex(paymentId(bytes))).toBe(hex(nodeSha256(bytes)));
    expect(paymentIdHex(bytes)).toBe(hex(nodeSha256(bytes)));
    expect(paymentIdHex(bytes)).toMatch(/^[0-9a-f]{64}$/);
  });

  test("id of a view into a larger buffer hashes only the view", () => {
    const bytes = signedPayment(payer, payee, 9, 1_700_000_000_000);
    const big = concat(new Uint8Array(5).fill(1), bytes, new Uint8Array(9).fill(2));
    expect(paymentIdHex(big.subarray(5, 145))).toBe(hex(nodeSha256(bytes)));
  });

  test("the id covers the signature: same first 76 bytes, different signature → different id", () => {
    const bytes = signedPayment(payer, payee, 9, 1_700_000_000_000);
    const other = bytes.slice();
    other[139]! ^= 1;
    expect(paymentIdHex(other)).not.toBe(paymentIdHex(bytes));
    expect(paymentIdHex(other)).toBe(hex(nodeSha256(other)));
  });
});

describe("known vector", () => {
  // Seed 00 01 02 … 1f; payee 32 × 0x42; 2023-11-14T22:13:20Z; 1000 scryp.
  const seed = new Uint8Array(32).map((_, i) => i);
  const kp = keyPairFromSeed(seed);
  const PAYEE = new Uint8Array(32).fill(0x42);
  const bytes = buildPayment({ timestampMs: 1_700_000_000_000, amount: 1000, payee: PAYEE, payer: kp.publicKey, payerSeed: seed });

  test("the public key of seed 000102…1f", () => {
    expect(hex(kp.publicKey)).toBe("03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
  });

  test("the signed part is the hand-built 76 bytes", () => {
    const hand = "0000018bcfe56800" + "000003e8" + "42".repeat(32) + "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
    expect(hex(bytes.subarray(0, 76))).toBe(hand);
  });

  test("the signature verifies (both verifiers and noble directly) and is the deterministic one", () => {
    const sig = bytes.subarray(76);
    const msg = bytes.subarray(0, 76);
    expect(verifyNative(sig, msg, kp.publicKey)).toBe(true);
    expect(verifyNoble(sig, msg, kp.publicKey)).toBe(true);
    expect(ed.verify(sig.slice(), msg.slice(), kp.publicKey, { zip215: false })).toBe(true);
    expect(hex(sig)).toBe(
      "2c48ecd643d28212d864e7f08a6db0a6811bc3cc2ce040e9012a4a4e0a0a6c05472080d963dd97abf75da5441d2cb9a720f4ced8a6b7c10b85cdcfda4b72ff02",
    );
  });

  test("its id", () => {
    expect(paymentIdHex(bytes)).toBe("1d4a02575471f1d48bf341269597132bf314f166318b5fb999a0918f63c5724e");
    expect(paymentIdHex(bytes)).toBe(hex(nodeSha256(bytes)));
  });

  test("the signature no longer verifies once any signed field changes", () => {
    for (const offset of [0, 7, 8, 11, 12, 43, 44, 75]) {
      const m = bytes.slice();
      m[offset]! ^= 0x01;
      expect(verifyNative(m.subarray(76), m.subarray(0, 76), m.subarray(44, 76))).toBe(false);
      expect(verifyNoble(m.subarray(76), m.subarray(0, 76), m.subarray(44, 76))).toBe(false);
    }
  });
});

describe("paymentToJson", () => {
  test("carries id, fields and the raw bytes in lowercase hex", () => {
    const bytes = signedPayment(payer, payee, 321, 1_700_000_000_999);
    const json = paymentToJson(decodePayment(bytes)!);
    expect(json).toEqual({
      id: hex(nodeSha256(bytes)),
      timestamp: 1_700_000_000_999,
      amount: 321,
      payee: hex(payee),
      payer: hex(payer.publicKey),
      tx: hex(bytes),
    });
  });
});
