// docs/test-vectors/ed25519.json against src/core/verify.ts: the node's verifier gives every
// vector's expected answer, the file is what scripts/ed25519-vectors.ts builds, and each vector's
// comparison fields (ZIP-215, the two equations) are what noble's arithmetic says.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import * as ed from "@noble/ed25519";
import { isCanonicalPoint, isCanonicalScalar, verifyNative, verifyNoble, verifySignature } from "../../src/core/verify.ts";
import { L, VECTOR_FILE, challenge, equations, leToBigInt, mul, unhex, vectorFileText, type Vector } from "../../scripts/ed25519-vectors.ts";

const FILE = JSON.parse(readFileSync(VECTOR_FILE, "utf8")) as { vectors: Vector[] };

/** The rule of docs/PROTOCOL.md §1 written out step by step with noble's point arithmetic. */
function protocolRule(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  if (sig.length !== 64 || pub.length !== 32) return false;
  if (leToBigInt(sig.subarray(32)) >= L) return false;
  let A: ed.Point;
  let R: ed.Point;
  try {
    A = ed.Point.fromBytes(pub, false);
    R = ed.Point.fromBytes(sig.subarray(0, 32), false);
  } catch {
    return false;
  }
  if (A.multiply(8n, false).is0()) return false;
  const k = challenge(sig.subarray(0, 32), pub, msg);
  return mul(ed.Point.BASE, leToBigInt(sig.subarray(32))).equals(R.add(mul(A, k)));
}

describe("docs/test-vectors/ed25519.json", () => {
  test("is what scripts/ed25519-vectors.ts builds", () => {
    expect(readFileSync(VECTOR_FILE, "utf8")).toBe(vectorFileText());
  });

  test("covers accept and reject, and every edge the rule names", () => {
    const names = FILE.vectors.map((v) => v.name).join("\n");
    expect(FILE.vectors.some((v) => v.valid)).toBe(true);
    expect(FILE.vectors.some((v) => !v.valid)).toBe(true);
    for (const edge of ["S + L", "A non-canonical", "R non-canonical", "A small order", "A mixed order", "cofactored only", "not reduced mod L"]) {
      expect(names).toContain(edge);
    }
  });

  for (const v of FILE.vectors) {
    describe(v.name, () => {
      const sig = unhex(v.signature);
      const msg = unhex(v.message);
      const pub = unhex(v.publicKey);

      test(`verifySignature → ${v.valid ? "accept" : "reject"}`, () => {
        expect(verifySignature(sig, msg, pub)).toBe(v.valid);
        expect(verifyNative(sig, msg, pub)).toBe(v.valid);
      });

      test("the rule as PROTOCOL.md §1 states it gives the same answer", () => {
        expect(protocolRule(sig, msg, pub)).toBe(v.valid);
      });

      test("its comparison fields: ZIP-215, the cofactored and cofactorless equations", () => {
        let zip = false;
        try {
          zip = ed.verify(sig, msg, pub, { zip215: true });
        } catch {
          zip = false;
        }
        expect(zip).toBe(v.zip215);
        expect(equations(sig, msg, pub)).toEqual({ cofactored: v.cofactored, cofactorless: v.cofactorless });
        // valid ⇒ the cofactorless equation holds; cofactorless ⇒ cofactored.
        if (v.valid) expect(v.cofactorless).toBe(true);
        if (v.cofactorless === true) expect(v.cofactored).toBe(true);
      });

      test("verifyNoble: the same rule with the cofactored equation", () => {
        const smallOrderKey = v.cofactored !== null && ed.Point.fromBytes(pub, false).isSmallOrder();
        expect(verifyNoble(sig, msg, pub)).toBe(v.cofactored === true && !smallOrderKey);
        if (v.cofactored === v.cofactorless) expect(verifyNoble(sig, msg, pub)).toBe(v.valid);
      });

      if (sig.length === 64 && pub.length === 32 && !v.valid && v.cofactored === null) {
        test("refused for its encoding: S ≥ L, or A or R not canonical or not on the curve", () => {
          let decodes = true;
          try {
            ed.Point.fromBytes(pub, false);
            ed.Point.fromBytes(sig.subarray(0, 32), false);
          } catch {
            decodes = false;
          }
          const canonical = isCanonicalScalar(sig.subarray(32)) && isCanonicalPoint(sig.subarray(0, 32)) && isCanonicalPoint(pub);
          expect(decodes && canonical).toBe(false);
        });
      }
    });
  }
});
