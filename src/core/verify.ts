// Signature verification: the hot path of the node.
//
// scryp's rule is strict RFC 8032 as @noble/ed25519 applies it with { zip215: false }: canonical
// encodings of A and R (y < p, no "negative zero"), S < L (non-canonical S rejected), and no
// small-order public key. `verifyNoble` is that rule. `verifyNative` gets the same answers ~20x
// faster from Bun's native Ed25519 (node:crypto): it applies the encoding checks itself, in JS,
// because the native library is laxer about encodings, then lets native code do the curve math.
// The one difference left is the group equation (native is cofactorless, noble cofactored); they
// differ only on signatures deliberately built with a torsion component, which every node
// rejects alike because every node verifies natively. Tests compare both on vectors and mutations.
import * as ed from "@noble/ed25519";
import { createPublicKey, verify as nodeVerify, type KeyObject } from "node:crypto";
import "./keys.ts"; // installs the synchronous SHA-512 noble needs
import { KEY_BYTES, SIGNATURE_BYTES } from "./limits.ts";
import { bytesKey } from "./bytes.ts";

export function verifyNoble(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== KEY_BYTES) return false;
  try {
    return ed.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

// L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const GROUP_ORDER_LE = new Uint8Array(Buffer.from("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010", "hex"));

/** S (little-endian, 32 bytes) is canonical when S < L. */
export function isCanonicalScalar(s: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const a = s[i]!;
    const b = GROUP_ORDER_LE[i]!;
    if (a < b) return true;
    if (a > b) return false;
  }
  return false; // S == L
}

/** A point encoding is canonical when y < p and it is not x = 0 with the sign bit set. */
export function isCanonicalPoint(p: Uint8Array): boolean {
  const top = p[31]! & 0x7f;
  const sign = p[31]! & 0x80;
  let middleAllOnes = true;
  let middleAllZero = true;
  for (let i = 1; i < 31; i++) {
    if (p[i] !== 0xff) middleAllOnes = false;
    if (p[i] !== 0) middleAllZero = false;
  }
  // y >= p = 2^255 - 19: top 0x7f, middle all 0xff, first byte >= 0xed.
  if (top === 0x7f && middleAllOnes && p[0]! >= 0xed) return false;
  // x = 0 happens only for y = 1 and y = p - 1; with the sign bit set that is "negative zero".
  if (sign !== 0) {
    if (top === 0 && middleAllZero && p[0] === 0x01) return false;
    if (top === 0x7f && middleAllOnes && p[0] === 0xec) return false;
  }
  return true;
}

// DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows it.
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
/** Payers repeat; keeping their parsed keys saves the decode. Bounded: cleared when full. */
const KEY_CACHE_ENTRIES_MAX = 100_000;
const keyCache = new Map<string, KeyObject | null>();

function nativeKey(publicKey: Uint8Array): KeyObject | null {
  const cacheKey = bytesKey(publicKey);
  const cached = keyCache.get(cacheKey);
  if (cached !== undefined) return cached;
  let key: KeyObject | null = null;
  // Decoding with noble checks the encoding rules once per key, and small order.
  try {
    const point = ed.Point.fromBytes(publicKey, false);
    if (!point.isSmallOrder()) {
      key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: "der", type: "spki" });
    }
  } catch {
    key = null;
  }
  if (keyCache.size >= KEY_CACHE_ENTRIES_MAX) keyCache.clear();
  keyCache.set(cacheKey, key);
  return key;
}

export function verifyNative(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== KEY_BYTES) return false;
  if (!isCanonicalScalar(signature.subarray(32))) return false;
  if (!isCanonicalPoint(signature.subarray(0, 32))) return false;
  const key = nativeKey(publicKey);
  if (key === null) return false;
  try {
    return nodeVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** What the node uses. */
export const verifySignature = verifyNative;
