// Strict RFC 8032 Ed25519: the RFC's own vectors, and verifyNoble / verifyNative agreeing on every
// edge the rule names (non-canonical S, R and A, small-order keys, wrong lengths, random mutations).
import { describe, expect, test } from "bun:test";
import * as ed from "@noble/ed25519";
import { createPublicKey, verify as nodeVerify } from "node:crypto";
import { keyPairFromSeed, randomSeed, sign } from "../../src/core/keys.ts";
import { isCanonicalPoint, isCanonicalScalar, verifyNative, verifyNoble, verifySignature } from "../../src/core/verify.ts";
import {
  L,
  NON_CANONICAL_SMALL_ORDER,
  P,
  TORSION_POINTS,
  bigIntToLe,
  challenge,
  concat,
  handSignature,
  hex,
  leToBigInt,
  nodeSha512,
  prng,
  randomBytes,
  randomInt,
  secretScalar,
  signWithNonce,
  unhex,
} from "./fixtures.ts";

const enc = new TextEncoder();

type Verifier = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;
const VERIFIERS: [string, Verifier][] = [
  ["verifyNoble", verifyNoble],
  ["verifyNative", verifyNative],
];

/** Both verifiers give `expected`. Reports which one disagreed. */
function expectBoth(sig: Uint8Array, msg: Uint8Array, key: Uint8Array, expected: boolean): void {
  expect({ noble: verifyNoble(sig, msg, key), native: verifyNative(sig, msg, key) }).toEqual({ noble: expected, native: expected });
}

// RFC 8032 section 7.1.
const TEST_1024_MESSAGE =
  "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed185ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f27088d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128bab27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb751fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34dff7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e488acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5fb93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380db2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0";

const RFC8032: { name: string; secret: string; publicKey: string; message: string; signature: string }[] = [
  {
    name: "TEST 1",
    secret: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    message: "",
    signature:
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  },
  {
    name: "TEST 2",
    secret: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    message: "72",
    signature:
      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  },
  {
    name: "TEST 3",
    secret: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
    publicKey: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
    message: "af82",
    signature:
      "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
  },
  {
    name: "TEST 1024",
    secret: "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
    publicKey: "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
    message: TEST_1024_MESSAGE,
    signature:
      "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03",
  },
  {
    name: "TEST SHA(abc)",
    secret: "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
    publicKey: "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
    // SHA-512("abc")
    message:
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    signature:
      "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
  },
];

describe("RFC 8032 section 7.1 vectors", () => {
  test("TEST 1024's message is 1023 bytes and TEST SHA(abc)'s is SHA-512(\"abc\")", () => {
    expect(unhex(TEST_1024_MESSAGE).length).toBe(1023);
    expect(hex(nodeSha512(enc.encode("abc")))).toBe(RFC8032[4]!.message);
  });

  for (const v of RFC8032) {
    describe(v.name, () => {
      const seed = unhex(v.secret);
      const msg = unhex(v.message);
      const sig = unhex(v.signature);
      const pub = unhex(v.publicKey);

      test("public key from the secret", () => {
        expect(hex(keyPairFromSeed(seed).publicKey)).toBe(v.publicKey);
      });
      test("sign() gives the RFC signature", () => {
        expect(hex(sign(msg, seed))).toBe(v.signature);
      });
      test("verifyNoble and verifyNative accept it", () => {
        expect(verifyNoble(sig, msg, pub)).toBe(true);
        expect(verifyNative(sig, msg, pub)).toBe(true);
        expect(verifySignature(sig, msg, pub)).toBe(true);
      });
      test("both reject it under another vector's key, or for another message", () => {
        const otherKey = unhex(RFC8032.find((o) => o.name !== v.name)!.publicKey);
        expectBoth(sig, msg, otherKey, false);
        expectBoth(sig, concat(msg, new Uint8Array([0])), pub, false);
      });
    });
  }
});

describe("keys", () => {
  test("keyPairFromSeed rejects a seed that is not 32 bytes", () => {
    expect(() => keyPairFromSeed(new Uint8Array(31))).toThrow(RangeError);
    expect(() => keyPairFromSeed(new Uint8Array(33))).toThrow(RangeError);
  });
  test("randomSeed gives 32 bytes, different each time", () => {
    const a = randomSeed();
    const b = randomSeed();
    expect(a.length).toBe(32);
    expect(hex(a)).not.toBe(hex(b));
  });
});

describe("random mutations: both verifiers reject every one (seeded)", () => {
  const SEED = 0x2c0ffee;
  const rand = prng(SEED);
  const cases = Array.from({ length: 8 }, (_, i) => {
    const kp = keyPairFromSeed(randomBytes(rand, 32));
    const msg = randomBytes(rand, i * 19); // includes the empty message
    return { kp, msg, sig: sign(msg, kp.seed) };
  });

  test("the unmutated signatures verify", () => {
    for (const c of cases) expectBoth(c.sig, c.msg, c.kp.publicKey, true);
  });

  function flipBits(bytes: Uint8Array, r: () => number): Uint8Array {
    const out = bytes.slice();
    const flips = 1 + randomInt(r, 3);
    for (let f = 0; f < flips; f++) {
      const bit = randomInt(r, out.length * 8);
      out[bit >> 3]! ^= 1 << (bit & 7);
    }
    // Two flips of the same bit can cancel; make sure something changed.
    if (hex(out) === hex(bytes)) out[0]! ^= 0x80;
    return out;
  }

  for (const target of ["signature", "message", "publicKey"] as const) {
    test(`${target}: 150 bit-flip mutations (PRNG seed ${SEED})`, () => {
      const r = prng(SEED ^ target.length);
      let checked = 0;
      for (let i = 0; i < 150; i++) {
        const c = cases[i % cases.length]!;
        let sig = c.sig;
        let msg = c.msg;
        let key = c.kp.publicKey;
        if (target === "signature") sig = flipBits(sig, r);
        else if (target === "message") msg = c.msg.length === 0 ? new Uint8Array([randomInt(r, 256)]) : flipBits(msg, r);
        else key = flipBits(key, r);
        const got = { i, noble: verifyNoble(sig, msg, key), native: verifyNative(sig, msg, key) };
        expect(got).toEqual({ i, noble: false, native: false });
        checked++;
      }
      expect(checked).toBe(150);
    });
  }

  test("random garbage signatures and keys: both reject", () => {
    const r = prng(SEED + 1);
    for (let i = 0; i < 100; i++) {
      const sig = randomBytes(r, 64);
      const key = i % 2 === 0 ? randomBytes(r, 32) : cases[i % cases.length]!.kp.publicKey;
      const msg = randomBytes(r, randomInt(r, 100));
      expect({ i, noble: verifyNoble(sig, msg, key), native: verifyNative(sig, msg, key) }).toEqual({ i, noble: false, native: false });
    }
  });
});

describe("S must be canonical (S < L)", () => {
  const kp = keyPairFromSeed(new Uint8Array(32).fill(3));
  const msg = enc.encode("non-canonical S");
  const sig = sign(msg, kp.seed);
  const s = leToBigInt(sig.subarray(32));

  test("the valid signature's S is below L", () => {
    expect(s < L).toBe(true);
    expect(isCanonicalScalar(sig.subarray(32))).toBe(true);
    expectBoth(sig, msg, kp.publicKey, true);
  });

  test("S + L (same scalar mod L): both reject, isCanonicalScalar false", () => {
    const malleated = concat(sig.subarray(0, 32), bigIntToLe(s + L));
    expect(isCanonicalScalar(malleated.subarray(32))).toBe(false);
    expectBoth(malleated, msg, kp.publicKey, false);
    // It would pass a verifier that reduced S mod L: the equation itself still holds.
    expect(ed.Point.BASE.multiply(s).equals(ed.Point.BASE.multiply((s + L) % L))).toBe(true);
  });

  test("S + 2L, S + 15L (still 32 bytes): both reject", () => {
    for (const k of [2n, 15n]) {
      const malleated = concat(sig.subarray(0, 32), bigIntToLe(s + k * L));
      expect(isCanonicalScalar(malleated.subarray(32))).toBe(false);
      expectBoth(malleated, msg, kp.publicKey, false);
    }
  });

  test("S = L and S = 2^256 - 1: both reject", () => {
    for (const bad of [L, 2n ** 256n - 1n]) {
      const forged = concat(sig.subarray(0, 32), bigIntToLe(bad));
      expect(isCanonicalScalar(forged.subarray(32))).toBe(false);
      expectBoth(forged, msg, kp.publicKey, false);
    }
  });

  test("S = 0 with a real key: both reject", () => {
    const forged = concat(sig.subarray(0, 32), new Uint8Array(32));
    expect(isCanonicalScalar(forged.subarray(32))).toBe(true);
    expectBoth(forged, msg, kp.publicKey, false);
  });
});

describe("isCanonicalScalar edge values", () => {
  const cases: [string, bigint, boolean][] = [
    ["0", 0n, true],
    ["1", 1n, true],
    ["L - 1", L - 1n, true],
    ["L", L, false],
    ["L + 1", L + 1n, false],
    ["2^252", 2n ** 252n, true],
    ["2^252 - 1", 2n ** 252n - 1n, true],
    ["2^253", 2n ** 253n, false],
    ["2^255", 2n ** 255n, false],
    ["2^256 - 1", 2n ** 256n - 1n, false],
    // Same top byte as L (0x10), a larger byte lower down: ≥ L.
    ["2^252 + 0x15·2^120", 2n ** 252n + 0x15n * 2n ** 120n, false],
    // Same top byte as L, a smaller byte lower down even though lower bytes are all 0xff: < L.
    ["2^252 + 0x13ff…ff (bytes 0..15)", 2n ** 252n + 0x13n * 2n ** 120n + (2n ** 120n - 1n), true],
    // Top byte 0x0f, everything else 0xff: < L.
    ["2^252 - 1 written as 0f ff…ff", 0x0fn * 2n ** 248n + (2n ** 248n - 1n), true],
  ];
  for (const [name, value, expected] of cases) {
    test(`${name} → ${expected}`, () => {
      expect(value < L).toBe(expected); // the table itself is right
      expect(isCanonicalScalar(bigIntToLe(value))).toBe(expected);
    });
  }

  test("agrees with S < L on seeded random scalars near L", () => {
    const r = prng(99);
    for (let i = 0; i < 2000; i++) {
      const delta = leToBigInt(randomBytes(r, 1 + randomInt(r, 16)));
      const v = i % 2 === 0 ? L + delta : L - delta;
      if (v < 0n || v >= 2n ** 256n) continue;
      expect({ v: v.toString(16), c: isCanonicalScalar(bigIntToLe(v)) }).toEqual({ v: v.toString(16), c: v < L });
    }
  });
});

describe("isCanonicalPoint edge values", () => {
  const le = (n: bigint, signBit = false) => {
    const b = bigIntToLe(n);
    if (signBit) b[31]! |= 0x80;
    return b;
  };
  const cases: [string, Uint8Array, boolean][] = [
    ["y = 0", le(0n), true],
    ["y = 0, sign set (x ≠ 0 there)", le(0n, true), true],
    ["y = 1 (identity)", le(1n), true],
    ["y = 1, sign set (negative zero)", le(1n, true), false],
    ["y = 2, sign set", le(2n, true), true],
    ["y = p - 1", le(P - 1n), true],
    ["y = p - 1, sign set (negative zero)", le(P - 1n, true), false],
    ["y = p - 2, sign set", le(P - 2n, true), true],
    ["y = p", le(P), false],
    ["y = p, sign set", le(P, true), false],
    ["y = p + 1", le(P + 1n), false],
    ["y = p + 18 = 2^255 - 1", le(P + 18n), false],
    ["y = 2^255 - 1, sign set (all ff)", le(P + 18n, true), false],
    ["y = p - 20", le(P - 20n), true],
    ["y = 2^255 - 2^248 (byte 30 not ff)", le(2n ** 255n - 2n ** 248n), true],
    ["the base point", ed.Point.BASE.toBytes(), true],
  ];
  for (const [name, bytes, expected] of cases) {
    test(`${name} → ${expected}`, () => {
      expect(isCanonicalPoint(bytes)).toBe(expected);
    });
  }

  test("every y in [p, 2^255) is rejected with either sign; every y in [p - 40, p) accepted unless negative zero", () => {
    for (let d = 0n; d < 19n; d++) {
      expect(isCanonicalPoint(le(P + d))).toBe(false);
      expect(isCanonicalPoint(le(P + d, true))).toBe(false);
    }
    for (let d = 1n; d <= 40n; d++) {
      expect(isCanonicalPoint(le(P - d))).toBe(true);
      expect(isCanonicalPoint(le(P - d, true))).toBe(d !== 1n);
    }
  });

  test("agrees with noble's strict decoding on every point it can decode leniently (seeded)", () => {
    const r = prng(7);
    let decodable = 0;
    const candidates: Uint8Array[] = [];
    for (let d = 0n; d < 19n; d++) candidates.push(le(P + d), le(P + d, true), le(d), le(d, true), le(P - 1n - d), le(P - 1n - d, true));
    for (let i = 0; i < 300; i++) candidates.push(randomBytes(r, 32));
    for (const c of candidates) {
      let lenient = true;
      try {
        ed.Point.fromBytes(c, true);
      } catch {
        lenient = false;
      }
      if (!lenient) continue;
      decodable++;
      let strict = true;
      try {
        ed.Point.fromBytes(c, false);
      } catch {
        strict = false;
      }
      expect({ c: hex(c), canonical: isCanonicalPoint(c) }).toEqual({ c: hex(c), canonical: strict });
    }
    expect(decodable).toBeGreaterThan(50);
  });
});

describe("R must be canonical", () => {
  const kp = keyPairFromSeed(new Uint8Array(32).fill(5));
  const msg = enc.encode("non-canonical R");

  test("R = identity (nonce 0), canonical encoding: a valid signature, both accept", () => {
    const sig = handSignature(unhex(TORSION_POINTS[0]!), 0n, msg, kp.seed, kp.publicKey);
    expectBoth(sig, msg, kp.publicKey, true);
  });

  test("a second valid signature with another nonce: both accept", () => {
    const sig = signWithNonce(123456789n, msg, kp.seed, kp.publicKey);
    expect(hex(sig)).not.toBe(hex(sign(msg, kp.seed)));
    expectBoth(sig, msg, kp.publicKey, true);
  });

  for (const rHex of [
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // identity as y = p + 1
    "0100000000000000000000000000000000000000000000000000000000000080", // identity, negative zero
  ]) {
    test(`R = identity encoded non-canonically (${rHex.slice(0, 4)}…${rHex.slice(-2)}), S fitted to those bytes: both reject`, () => {
      const r = unhex(rHex);
      expect(isCanonicalPoint(r)).toBe(false);
      const sig = handSignature(r, 0n, msg, kp.seed, kp.publicKey);
      // A lenient (ZIP-215) verifier accepts it: the signature is "valid" but for the encoding.
      expect(ed.verify(sig, msg, kp.publicKey, { zip215: true })).toBe(true);
      expectBoth(sig, msg, kp.publicKey, false);
    });
  }

  test("R with y ≥ p for every y in [p, 2^255), both signs: both reject", () => {
    const good = sign(msg, kp.seed);
    for (let d = 0n; d < 19n; d++) {
      for (const signBit of [false, true]) {
        const r = bigIntToLe(P + d);
        if (signBit) r[31]! |= 0x80;
        expectBoth(concat(r, good.subarray(32)), msg, kp.publicKey, false);
      }
    }
  });

  test("documented divergence: R = a torsion point (order 8), S = k·a — noble (cofactored) accepts, native rejects", () => {
    // verify.ts states this is the one difference left; the node uses verifyNative, so it rejects.
    const sig = handSignature(unhex(TORSION_POINTS[4]!), 0n, msg, kp.seed, kp.publicKey);
    expect(verifyNoble(sig, msg, kp.publicKey)).toBe(true);
    expect(verifyNative(sig, msg, kp.publicKey)).toBe(false);
    expect(verifySignature(sig, msg, kp.publicKey)).toBe(false);
  });
});

describe("A (the public key) must be canonical and not of small order", () => {
  const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
  /** Bun's native verifier without scryp's checks: what verifyNative would say without its guards. */
  function rawNative(sig: Uint8Array, msg: Uint8Array, key: Uint8Array): boolean {
    try {
      return nodeVerify(null, msg, createPublicKey({ key: Buffer.concat([SPKI_PREFIX, key]), format: "der", type: "spki" }), sig);
    } catch {
      return false;
    }
  }

  /**
   * For a small-order key T, the signature (R = identity, S = 0) satisfies the cofactorless
   * equation [S]B = R + [k]T whenever k·T = identity; try messages until that holds.
   */
  function forgeForSmallOrderKey(key: Uint8Array): { sig: Uint8Array; msg: Uint8Array } {
    const r = unhex(TORSION_POINTS[0]!);
    const point = ed.Point.fromBytes(key, true);
    for (let i = 0; i < 1000; i++) {
      const msg = enc.encode(`small order ${i}`);
      const k = challenge(r, key, msg);
      if (k === 0n || point.multiply(k, false).is0()) return { sig: concat(r, new Uint8Array(32)), msg };
    }
    throw new Error("no message found");
  }

  test("the eight torsion points are distinct, decode strictly, and are all of small order", () => {
    expect(new Set(TORSION_POINTS).size).toBe(8);
    for (const t of TORSION_POINTS) {
      const point = ed.Point.fromBytes(unhex(t), false);
      expect(point.isSmallOrder()).toBe(true);
      expect(point.multiply(8n, false).is0()).toBe(true);
      expect(isCanonicalPoint(unhex(t))).toBe(true);
    }
  });

  for (const t of TORSION_POINTS) {
    test(`small-order key ${t.slice(0, 8)}…${t.slice(-2)}: a forgery valid for the raw equation is rejected by both`, () => {
      const key = unhex(t);
      const { sig, msg } = forgeForSmallOrderKey(key);
      // Proof the forgery is real: a lenient verifier and raw native verification accept it.
      expect(ed.verify(sig, msg, key, { zip215: true })).toBe(true);
      expect(rawNative(sig, msg, key)).toBe(true);
      expectBoth(sig, msg, key, false);
    });
  }

  for (const t of NON_CANONICAL_SMALL_ORDER) {
    test(`non-canonical small-order key ${t.slice(0, 8)}…${t.slice(-2)}: both reject a forgery`, () => {
      const key = unhex(t);
      expect(isCanonicalPoint(key)).toBe(false);
      const { sig, msg } = forgeForSmallOrderKey(key);
      expect(ed.verify(sig, msg, key, { zip215: true })).toBe(true);
      expectBoth(sig, msg, key, false);
    });
  }

  test("non-canonical encodings (y = p + d) of large-order points: both reject", () => {
    const kp = keyPairFromSeed(new Uint8Array(32).fill(6));
    const msg = enc.encode("non-canonical A");
    const sig = sign(msg, kp.seed);
    let tried = 0;
    for (let d = 2n; d < 19n; d++) {
      const key = bigIntToLe(P + d);
      let decodes = true;
      try {
        decodes = !ed.Point.fromBytes(key, true).isSmallOrder();
      } catch {
        decodes = false;
      }
      if (!decodes) continue;
      tried++;
      expect(isCanonicalPoint(key)).toBe(false);
      expectBoth(sig, msg, key, false);
    }
    expect(tried).toBeGreaterThan(3);
  });

  test("a key that is not on the curve: both reject", () => {
    const msg = enc.encode("x");
    const sig = sign(msg, new Uint8Array(32).fill(6));
    // y = 2 gives a non-square x²; noble refuses to decode it.
    const key = bigIntToLe(2n);
    expect(() => ed.Point.fromBytes(key, true)).toThrow();
    expectBoth(sig, msg, key, false);
  });

  test("the result for a key does not depend on what was verified before (cache)", () => {
    const kp = keyPairFromSeed(new Uint8Array(32).fill(8));
    const msg = enc.encode("cache");
    const sig = sign(msg, kp.seed);
    for (let i = 0; i < 3; i++) {
      expect(verifyNative(sig, msg, kp.publicKey)).toBe(true);
      expect(verifyNative(sig, enc.encode("other"), kp.publicKey)).toBe(false);
      expect(verifyNative(sig, msg, unhex(TORSION_POINTS[4]!))).toBe(false);
    }
  });
});

describe("wrong lengths", () => {
  const kp = keyPairFromSeed(new Uint8Array(32).fill(4));
  const msg = enc.encode("lengths");
  const sig = sign(msg, kp.seed);

  test("signature of 0, 63, 65, 128 bytes: both reject, no throw", () => {
    for (const n of [0, 1, 32, 63, 65, 128]) {
      const s = new Uint8Array(n);
      s.set(sig.subarray(0, Math.min(n, 64)));
      expectBoth(s, msg, kp.publicKey, false);
    }
  });

  test("public key of 0, 31, 33, 64 bytes: both reject, no throw", () => {
    for (const n of [0, 31, 33, 64]) {
      const k = new Uint8Array(n);
      k.set(kp.publicKey.subarray(0, Math.min(n, 32)));
      expectBoth(sig, msg, k, false);
    }
  });

  test("a 33-byte key whose first 32 bytes are the real key: both reject", () => {
    expectBoth(sig, msg, concat(kp.publicKey, new Uint8Array([0])), false);
  });

  test("views with non-zero byteOffset verify like copies", () => {
    const buf = concat(new Uint8Array(3), sig, kp.publicKey, msg);
    const s = buf.subarray(3, 67);
    const k = buf.subarray(67, 99);
    const m = buf.subarray(99);
    expectBoth(s, m, k, true);
  });
});

describe("secret scalar sanity (the hand-built signatures above rely on it)", () => {
  test("a·B is the public key", () => {
    const kp = keyPairFromSeed(new Uint8Array(32).fill(5));
    expect(hex(ed.Point.BASE.multiply(secretScalar(kp.seed)).toBytes())).toBe(hex(kp.publicKey));
  });
});
