// Builds docs/test-vectors/ed25519.json: edge cases of scryp's Ed25519 verification rule
// (docs/PROTOCOL.md §1), each with the answer every server must give. Deterministic: fixed seeds,
// fixed nonces, messages found by counting, so running it again gives the same file.
//
//   bun scripts/ed25519-vectors.ts          write the file
//   bun scripts/ed25519-vectors.ts --check  exit 1 if the file is not what this script builds
//
// The points are built with noble's point arithmetic (ed.Point); no signature here comes from the
// code under test (src/core/verify.ts), which test/core/ed25519-vectors.test.ts checks against it.
import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { concatBytes as concat } from "../src/core/bytes.ts";

ed.hashes.sha512 = sha512;

/** L, the order of the prime-order subgroup; p, the field prime. */
export const L = 2n ** 252n + 27742317777372353535851937790883648493n;
export const P = 2n ** 255n - 19n;

const B = ed.Point.BASE;
const I = ed.Point.ZERO;
const enc = new TextEncoder();

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}
export function unhex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "hex"));
}
export function leToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}
export function bigIntToLe(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  if (n !== 0n) throw new Error("does not fit in 32 bytes");
  return out;
}

/** SHA-512(R ‖ A ‖ M) as a little-endian integer, unreduced. */
export function challengeFull(r: Uint8Array, a: Uint8Array, m: Uint8Array): bigint {
  return leToBigInt(sha512(concat(r, a, m)));
}
/** k = SHA-512(R ‖ A ‖ M) mod L: the challenge of RFC 8032 5.1.7. */
export function challenge(r: Uint8Array, a: Uint8Array, m: Uint8Array): bigint {
  return challengeFull(r, a, m) % L;
}

/** n·P for any n ≥ 0 (noble's multiply wants 1 ≤ n < L; torsion points need n mod 8 only). */
export function mul(point: ed.Point, n: bigint): ed.Point {
  const m = ((n % L) + L) % L;
  return m === 0n ? I : point.multiply(m, false);
}
function mulTorsion(t: ed.Point, n: bigint): ed.Point {
  const m = ((n % 8n) + 8n) % 8n;
  return m === 0n ? I : t.multiply(m, false);
}

/** A point of order 8 (the canonical encoding 26e8…05), and a check that it is. */
const T8 = ed.Point.fromBytes(unhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"));
if (T8.multiply(4n, false).is0() || !T8.multiply(8n, false).is0()) throw new Error("T8 is not of order 8");

/** The secret scalar a and public key A = a·B of a seed (RFC 8032 5.1.5). */
function keyOf(fill: number): { a: bigint; pub: Uint8Array; seed: Uint8Array } {
  const seed = new Uint8Array(32).fill(fill);
  const e = ed.utils.getExtendedPublicKey(seed);
  return { a: e.scalar, pub: e.pointBytes, seed };
}

/** S = r + k·a mod L for the given R bytes and A bytes. */
function sFor(rBytes: Uint8Array, aBytes: Uint8Array, msg: Uint8Array, r: bigint, a: bigint): bigint {
  return (((r + challenge(rBytes, aBytes, msg) * a) % L) + L) % L;
}

/** The first message "prefix i" (i = 0, 1, …) for which `ok` holds. */
function findMessage(prefix: string, ok: (msg: Uint8Array) => boolean): Uint8Array {
  for (let i = 0; i < 10_000; i++) {
    const msg = enc.encode(`${prefix} ${i}`);
    if (ok(msg)) return msg;
  }
  throw new Error(`no message found for ${prefix}`);
}

export interface Vector {
  readonly name: string;
  readonly publicKey: string;
  readonly message: string;
  readonly signature: string;
  /** What every scryp server answers: the rule of docs/PROTOCOL.md §1. */
  readonly valid: boolean;
  /** What a ZIP-215 verifier (noble, zip215: true; cofactored, lenient encodings) answers. */
  readonly zip215: boolean;
  /** Whether [8][S]B = [8]R + [8][k]A holds with A, R decoded strictly (null: they do not decode, or S ≥ L). */
  readonly cofactored: boolean | null;
  /** Whether [S]B = R + [k]A holds with A, R decoded strictly (null: they do not decode, or S ≥ L). */
  readonly cofactorless: boolean | null;
  readonly why: string;
}

function decodeStrict(bytes: Uint8Array): ed.Point | null {
  try {
    return ed.Point.fromBytes(bytes, false);
  } catch {
    return null;
  }
}

/** The two group equations, with A and R decoded strictly and k reduced mod L. */
export function equations(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): { cofactored: boolean | null; cofactorless: boolean | null } {
  if (sig.length !== 64 || pub.length !== 32) return { cofactored: null, cofactorless: null };
  const A = decodeStrict(pub);
  const R = decodeStrict(sig.subarray(0, 32));
  const s = leToBigInt(sig.subarray(32));
  if (A === null || R === null || s >= L) return { cofactored: null, cofactorless: null };
  const k = challenge(sig.subarray(0, 32), pub, msg);
  const diff = mul(B, s).subtract(R).subtract(mul(A, k));
  return { cofactored: diff.clearCofactor().is0(), cofactorless: diff.is0() };
}

function zip215(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  try {
    return ed.verify(sig, msg, pub, { zip215: true });
  } catch {
    return false;
  }
}

function vector(name: string, pub: Uint8Array, msg: Uint8Array, sig: Uint8Array, valid: boolean, why: string): Vector {
  return { name, publicKey: hex(pub), message: hex(msg), signature: hex(sig), valid, zip215: zip215(sig, msg, pub), ...equations(sig, msg, pub), why };
}

export function buildVectors(): Vector[] {
  const out: Vector[] = [];
  const key = keyOf(0x11);
  const msg = enc.encode("scryp ed25519 vector");
  const good = ed.sign(msg, key.seed);
  const goodS = leToBigInt(good.subarray(32));
  const goodR = good.subarray(0, 32);

  out.push(vector("valid", key.pub, msg, good, true, "An ordinary RFC 8032 signature."));
  out.push(vector("valid, other message", key.pub, enc.encode("scryp ed25519 vector!"), good, false, "The same signature for another message."));
  {
    const rBytes = I.toBytes();
    const sig = concat(rBytes, bigIntToLe(sFor(rBytes, key.pub, msg, 0n, key.a)));
    out.push(vector("R = identity (nonce 0)", key.pub, msg, sig, true, "R is of small order (the identity, canonically encoded) but the equation holds: a small-order R is not refused as such."));
  }

  // S
  out.push(vector("S + L", key.pub, msg, concat(goodR, bigIntToLe(goodS + L)), false, "S ≥ L: the same scalar mod L as a valid signature; refused (no malleability)."));
  out.push(vector("S = L", key.pub, msg, concat(goodR, bigIntToLe(L)), false, "S ≥ L."));
  out.push(vector("S + 15L", key.pub, msg, concat(goodR, bigIntToLe(goodS + 15n * L)), false, "S ≥ L, top three bits set."));
  out.push(vector("S = 2^256 − 1", key.pub, msg, concat(goodR, new Uint8Array(32).fill(0xff)), false, "S ≥ L."));

  // A: non-canonical encodings
  {
    // y = p + 1 ≡ 1: the identity. R = identity, S = 0 satisfies every equation for the identity.
    const pub = unhex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
    const sig = concat(I.toBytes(), new Uint8Array(32));
    out.push(vector("A non-canonical: y = p + 1 (the identity)", pub, msg, sig, false, "A's y ≥ p. A verifier that reduced y mod p would decode the identity and accept (ZIP-215 does)."));
  }
  {
    const pub = unhex("0100000000000000000000000000000000000000000000000000000000000080");
    const sig = concat(I.toBytes(), new Uint8Array(32));
    out.push(vector("A non-canonical: x = 0 with the sign bit (the identity)", pub, msg, sig, false, "A is \"negative zero\": y = 1, sign bit set. Accepted by ZIP-215."));
  }
  {
    // y = p + d for the first d whose y = d is on the curve and of large order: the encoding of a
    // point nobody knows the discrete log of, so no signature can be made for it; refused on decoding.
    let pub: Uint8Array | null = null;
    for (let d = 2n; d < 19n && pub === null; d++) {
      try {
        if (!ed.Point.fromBytes(bigIntToLe(d), false).isSmallOrder()) pub = bigIntToLe(P + d);
      } catch {
        // y = d is not on the curve
      }
    }
    if (pub === null) throw new Error("no large-order y < 19");
    out.push(vector("A non-canonical: y = p + d, a large-order point", pub, msg, good, false, "A's y ≥ p (y − p is on the curve). Refused when A is decoded, before any equation."));
  }
  {
    const pub = bigIntToLe(2n); // y = 2: x² is not a square
    out.push(vector("A not on the curve (y = 2)", pub, msg, good, false, "A does not decode."));
  }

  // A: small order
  {
    const pub = I.toBytes();
    const sig = concat(I.toBytes(), new Uint8Array(32));
    out.push(vector("A small order: the identity, R = identity, S = 0", pub, msg, sig, false, "A = identity: [S]B = R + [k]A holds for every message. Refused as a small-order key."));
  }
  {
    const pub = T8.toBytes();
    const rBytes = I.toBytes();
    // k ≡ 0 mod 8 makes [k]T8 the identity, so even the cofactorless equation holds.
    const m = findMessage("small-order key", (x) => challenge(rBytes, pub, x) % 8n === 0n);
    out.push(vector("A small order: order 8, R = identity, S = 0, k ≡ 0 mod 8", pub, m, concat(rBytes, new Uint8Array(32)), false, "A of order 8; both equations hold. Refused as a small-order key ([8]A = identity)."));
  }
  {
    const pub = T8.toBytes();
    const rBytes = I.toBytes();
    const m = findMessage("small-order key, cofactored", (x) => challenge(rBytes, pub, x) % 8n !== 0n);
    out.push(vector("A small order: order 8, R = identity, S = 0, k ≢ 0 mod 8", pub, m, concat(rBytes, new Uint8Array(32)), false, "A of order 8; only the cofactored equation holds. Refused as a small-order key."));
  }

  // R: non-canonical, off the curve, small order
  for (const [name, rHex] of [
    ["R non-canonical: y = p + 1 (the identity)", "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"],
    ["R non-canonical: x = 0 with the sign bit (the identity)", "0100000000000000000000000000000000000000000000000000000000000080"],
  ] as const) {
    const rBytes = unhex(rHex);
    const sig = concat(rBytes, bigIntToLe(sFor(rBytes, key.pub, msg, 0n, key.a)));
    out.push(vector(name, key.pub, msg, sig, false, "R encodes the identity non-canonically; S = k·a fitted to these bytes. Accepted by ZIP-215, refused here."));
  }
  {
    const sig = concat(bigIntToLe(2n), good.subarray(32));
    out.push(vector("R not on the curve (y = 2)", key.pub, msg, sig, false, "R does not decode."));
  }
  {
    const rBytes = T8.toBytes();
    const sig = concat(rBytes, bigIntToLe(sFor(rBytes, key.pub, msg, 0n, key.a)));
    out.push(vector("R small order (order 8), S = k·a: cofactored only", key.pub, msg, sig, false, "[S]B − [k]A = identity ≠ R, but [8]R = identity: valid only under the cofactored equation. Refused: the equation is cofactorless."));
  }

  // Mixed-order A = a·B + T8: accepted as a key (not of small order); the cofactorless equation decides.
  {
    const mk = keyOf(0x22);
    const Apt = mul(B, mk.a).add(T8);
    const pub = Apt.toBytes();
    const r = 0x5c5c5c5cn;
    const rBytes = mul(B, r).toBytes();
    const m0 = findMessage("mixed-order key", (x) => challenge(rBytes, pub, x) % 8n === 0n);
    out.push(vector("A mixed order, R = r·B, k ≡ 0 mod 8", pub, m0, concat(rBytes, bigIntToLe(sFor(rBytes, pub, m0, r, mk.a))), true, "A = a·B + T (T of order 8) is not of small order, so it is a key; [k]T = identity, so [S]B = R + [k]A holds."));
    const m1 = findMessage("mixed-order key, cofactored", (x) => challenge(rBytes, pub, x) % 8n !== 0n);
    out.push(vector("A mixed order, R = r·B, k ≢ 0 mod 8: cofactored only", pub, m1, concat(rBytes, bigIntToLe(sFor(rBytes, pub, m1, r, mk.a))), false, "[S]B − R − [k]A = −[k]T ≠ identity; [8] of it is the identity. Valid only under the cofactored equation: refused."));

    // R = r·B + T′ with T′ = −[k]T: a mixed-order R that makes the cofactorless equation hold.
    let mixedR: Vector | null = null;
    let unreduced: Vector | null = null;
    for (let i = 0; i < 10_000 && (mixedR === null || unreduced === null); i++) {
      const m = enc.encode(`mixed-order R ${i}`);
      for (let j = 1n; j < 8n; j++) {
        const Tp = mulTorsion(T8, j);
        const rb = mul(B, r).add(Tp).toBytes();
        const kFull = challengeFull(rb, pub, m);
        const k = kFull % L;
        const sig = concat(rb, bigIntToLe(sFor(rb, pub, m, r, mk.a)));
        if (mixedR === null && mulTorsion(T8, k).add(Tp).is0()) {
          mixedR = vector("A mixed order, R mixed order, cofactorless holds", pub, m, sig, true, "R = r·B + T′ with T′ = −[k]T: [S]B = R + [k]A holds exactly. A mixed-order R is not refused as such.");
        }
        if (unreduced === null && mulTorsion(T8, kFull).add(Tp).is0() && !mulTorsion(T8, k).add(Tp).is0()) {
          unreduced = vector("A mixed order, R mixed order: valid only with k not reduced mod L", pub, m, sig, false, "T′ = −[SHA-512(R‖A‖M)]T with the hash unreduced, ≠ −[k mod L]T: the cofactorless equation holds only if k is not reduced mod L. k is reduced: refused.");
        }
      }
    }
    if (mixedR === null || unreduced === null) throw new Error("mixed-order R vectors not found");
    out.push(mixedR, unreduced);
  }

  // Wrong lengths
  out.push(vector("signature of 63 bytes", key.pub, msg, good.subarray(0, 63), false, "A signature is exactly 64 bytes."));
  out.push(vector("public key of 31 bytes", key.pub.subarray(0, 31), msg, good, false, "A public key is exactly 32 bytes."));
  return out;
}

export const VECTOR_FILE = join(import.meta.dir, "../docs/test-vectors/ed25519.json");

export function vectorFileText(): string {
  const file = {
    about:
      "Edge cases of scryp's Ed25519 verification rule (docs/PROTOCOL.md §1), built by scripts/ed25519-vectors.ts. Hex fields; message is the signed bytes. valid is what every scryp server answers; zip215, cofactored and cofactorless are for comparison: what a ZIP-215 verifier answers, and whether each group equation holds with A and R decoded strictly and k = SHA-512(R ‖ A ‖ M) mod L (null: A or R does not decode strictly, or S ≥ L, or a length is wrong).",
    rule: "valid iff: signature 64 bytes, key 32 bytes; S < L; A and R canonical (y < p, not x = 0 with the sign bit) and on the curve; [8]A ≠ identity; [S]B = R + [k]A with k = SHA-512(R ‖ A ‖ M) mod L (cofactorless).",
    vectors: buildVectors(),
  };
  return JSON.stringify(file, null, 2) + "\n";
}

if (import.meta.main) {
  const text = vectorFileText();
  if (process.argv.includes("--check")) {
    const now = readFileSync(VECTOR_FILE, "utf8");
    if (now !== text) {
      console.error(`${VECTOR_FILE} is not what scripts/ed25519-vectors.ts builds; run it`);
      process.exit(1);
    }
    console.log("ed25519.json is up to date");
  } else {
    writeFileSync(VECTOR_FILE, text);
    console.log(`wrote ${VECTOR_FILE}`);
  }
}
