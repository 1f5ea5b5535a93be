// Small helpers shared by the core unit tests: hex, little-endian scalars, a seeded PRNG, and
// hand-built Ed25519 signatures (for constructing edge cases the normal signer never produces).
// Nothing here imports the code under test except keys.ts (to install noble's SHA-512).
import * as ed from "@noble/ed25519";
import { createHash } from "node:crypto";
import "../../src/core/keys.ts";

/** L, the order of the Ed25519 prime-order subgroup. */
export const L = 2n ** 252n + 27742317777372353535851937790883648493n;
/** p, the field prime. */
export const P = 2n ** 255n - 19n;

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

export function unhex(text: string): Uint8Array {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) throw new Error(`bad hex in test: ${text}`);
  return new Uint8Array(Buffer.from(text, "hex"));
}

export function leToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

export function bigIntToLe(n: bigint, length = 32): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  if (n !== 0n) throw new Error("value does not fit");
  return out;
}

export function beToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

export function bigIntToBe(n: bigint, length = 32): Uint8Array {
  return bigIntToLe(n, length).reverse();
}

export function nodeSha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}

export function nodeSha512(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha512");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** mulberry32, the simulator's seeded PRNG: a failing random case replays exactly. */
export { prng } from "../../src/sim/simulator.ts";

export function randomInt(rand: () => number, maxExclusive: number): number {
  return Math.floor(rand() * maxExclusive);
}

export function randomBytes(rand: () => number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = randomInt(rand, 256);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The secret scalar a of a seed (RFC 8032 5.1.5), reduced mod L. */
export function secretScalar(seed: Uint8Array): bigint {
  return ed.utils.getExtendedPublicKey(seed).scalar;
}

/** k = SHA-512(R || A || M) mod L. */
export function challenge(r: Uint8Array, publicKey: Uint8Array, message: Uint8Array): bigint {
  return leToBigInt(nodeSha512(r, publicKey, message)) % L;
}

/**
 * An Ed25519 signature built by hand: R is given as raw bytes (any encoding), S = nonce + k·a mod L,
 * where the caller guarantees R encodes nonce·B (or a point whose difference from it is what the
 * test is about).
 */
export function handSignature(rBytes: Uint8Array, nonce: bigint, message: Uint8Array, seed: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const k = challenge(rBytes, publicKey, message);
  const s = (((nonce + k * secretScalar(seed)) % L) + L) % L;
  return concat(rBytes, bigIntToLe(s));
}

/** A second valid signature for the same message, with a nonce other than the deterministic one. */
export function signWithNonce(nonce: bigint, message: Uint8Array, seed: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const r = ed.Point.BASE.multiply(nonce).toBytes();
  return handSignature(r, nonce, message, seed, publicKey);
}

/** The eight points of the torsion subgroup E[8], canonical encodings. */
export const TORSION_POINTS: readonly string[] = [
  "0100000000000000000000000000000000000000000000000000000000000000", // identity (order 1)
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // (0, -1), order 2
  "0000000000000000000000000000000000000000000000000000000000000000", // order 4
  "0000000000000000000000000000000000000000000000000000000000000080", // order 4
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", // order 8
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", // order 8
];

/** Non-canonical encodings of small-order points (y ≥ p, or x = 0 with the sign bit set). */
export const NON_CANONICAL_SMALL_ORDER: readonly string[] = [
  "0100000000000000000000000000000000000000000000000000000000000080", // identity, "negative zero"
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // (0,-1), "negative zero"
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p ≡ 0
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // y = p ≡ 0, sign set
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p + 1 ≡ 1: identity
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // y = p + 1, sign set
];
