// The acceptance rules, each with its exact code, and the order they are checked in.
import { describe, expect, test } from "bun:test";
import { checkStateless, decideAgainstLedger, type LedgerFacts, type Verify } from "../../src/core/acceptance.ts";
import { buildPayment, decodePayment, encodeUnsigned, type Payment } from "../../src/core/payment.ts";
import { keyPairFromSeed, sign } from "../../src/core/keys.ts";
import { verifyNative, verifyNoble, verifySignature } from "../../src/core/verify.ts";
import { ERROR_CODES, ERROR_MESSAGES, ScrypError, errorCodeFromTag } from "../../src/core/errors.ts";
import { SKEW_MS_DEFAULT } from "../../src/core/limits.ts";
import { signedPayment, testKeyPair } from "../support/helpers.ts";
import { hex, signWithNonce } from "./fixtures.ts";

const NOW = 1_700_000_000_000;
const SKEW = SKEW_MS_DEFAULT;
const alice = testKeyPair(1);
const bob = testKeyPair(2);
const carol = testKeyPair(3);

function pay(amount: number, ts = NOW, payer = alice, payee = bob.publicKey): Uint8Array {
  return signedPayment(payer, payee, amount, ts);
}

/** A verify that counts its calls and records its arguments. */
function spyVerify(answer: boolean) {
  const calls: { signature: string; message: string; publicKey: string }[] = [];
  const fn: Verify = (signature, message, publicKey) => {
    calls.push({ signature: hex(signature), message: hex(message), publicKey: hex(publicKey) });
    return answer;
  };
  return { fn, calls };
}

function payment(bytes: Uint8Array): Payment {
  const p = decodePayment(bytes);
  if (p === null) throw new Error("test payment is not 140 bytes");
  return p;
}

function facts(sameSignedPart: Uint8Array | undefined, payerBalance: number | undefined): LedgerFacts {
  return { sameSignedPart, payerBalance };
}

describe("error codes", () => {
  test("tags are fixed (other programs match on them)", () => {
    expect(ERROR_CODES).toEqual({
      PAYMENT_SIZE: 1,
      AMOUNT_ZERO: 2,
      SELF_PAYMENT: 3,
      TIMESTAMP_SKEW: 4,
      SIGNATURE_INVALID: 5,
      DUPLICATE: 6,
      UNKNOWN_PAYER: 7,
      INSUFFICIENT_BALANCE: 8,
      NOT_ACCEPTING: 9,
      OVERLOADED: 10,
      INTERNAL: 11,
      BAD_REQUEST: 12,
      NOT_FOUND: 13,
      BODY_TOO_LARGE: 14,
      INVALID_ID: 15,
      PEER_REJECTED: 16,
      IN_PROGRESS: 17,
      PEER_UNAUTHORIZED: 18,
      WINDOW_FULL: 19,
      STORAGE_FAILING: 20,
      NOT_KEPT: 21,
    });
  });
  test("errorCodeFromTag inverts every tag, and knows nothing else", () => {
    for (const [code, tag] of Object.entries(ERROR_CODES)) expect(errorCodeFromTag(tag)).toBe(code as keyof typeof ERROR_CODES);
    for (const tag of [0, 22, 255, -1]) expect(errorCodeFromTag(tag)).toBeUndefined();
  });
  test("every code has a message, and ScrypError carries the code", () => {
    for (const code of Object.keys(ERROR_CODES) as (keyof typeof ERROR_CODES)[]) {
      expect(ERROR_MESSAGES[code].length).toBeGreaterThan(0);
      const e = new ScrypError(code);
      expect(e.code).toBe(code);
      expect(e.message).toBe(ERROR_MESSAGES[code]);
      expect(e).toBeInstanceOf(Error);
    }
  });
});

describe("checkStateless: a good payment", () => {
  for (const [name, verify] of [
    ["verifyNative", verifyNative],
    ["verifyNoble", verifyNoble],
    ["verifySignature", verifySignature],
  ] as const) {
    test(`is accepted with ${name}, and the decoded payment comes back`, () => {
      const bytes = pay(10);
      const r = checkStateless(bytes, NOW, SKEW, verify);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.payment.amount).toBe(10);
      expect(r.payment.timestampMs).toBe(NOW);
      expect(hex(r.payment.payer)).toBe(hex(alice.publicKey));
      expect(hex(r.payment.payee)).toBe(hex(bob.publicKey));
      expect(r.payment.bytes).toBe(bytes);
    });
  }

  test("verify is called with (signature bytes 76..140, first 76 bytes, payer key)", () => {
    const bytes = pay(10);
    const spy = spyVerify(true);
    expect(checkStateless(bytes, NOW, SKEW, spy.fn).ok).toBe(true);
    expect(spy.calls).toEqual([{ signature: hex(bytes.subarray(76)), message: hex(bytes.subarray(0, 76)), publicKey: hex(alice.publicKey) }]);
  });
});

describe("checkStateless: each rule with its code", () => {
  test("PAYMENT_SIZE for 0, 1, 139, 141 bytes", () => {
    const good = pay(10);
    for (const n of [0, 1, 139, 141]) {
      const b = new Uint8Array(n);
      b.set(good.subarray(0, Math.min(n, 140)));
      expect(checkStateless(b, NOW, SKEW, verifySignature)).toEqual({ ok: false, code: "PAYMENT_SIZE" });
    }
  });

  test("AMOUNT_ZERO for a correctly signed zero amount", () => {
    const bytes = pay(0);
    expect(checkStateless(bytes, NOW, SKEW, verifySignature)).toEqual({ ok: false, code: "AMOUNT_ZERO" });
  });

  test("amount 1 and amount 2^32 - 1 pass", () => {
    expect(checkStateless(pay(1), NOW, SKEW, verifySignature).ok).toBe(true);
    expect(checkStateless(pay(0xffff_ffff), NOW, SKEW, verifySignature).ok).toBe(true);
  });

  test("SELF_PAYMENT for a correctly signed payment to oneself", () => {
    const bytes = pay(10, NOW, alice, alice.publicKey);
    expect(checkStateless(bytes, NOW, SKEW, verifySignature)).toEqual({ ok: false, code: "SELF_PAYMENT" });
  });

  test("payer and payee differing in one bit is not a self payment", () => {
    const payee = alice.publicKey.slice();
    payee[31]! ^= 1;
    expect(checkStateless(pay(10, NOW, alice, payee), NOW, SKEW, verifySignature).ok).toBe(true);
  });

  describe("TIMESTAMP_SKEW boundaries (skew 5000 ms)", () => {
    for (const [offset, ok] of [
      [0, true],
      [SKEW, true],
      [-SKEW, true],
      [SKEW + 1, false],
      [-SKEW - 1, false],
      [SKEW - 1, true],
      [-(SKEW - 1), true],
      [60_000, false],
      [-60_000, false],
    ] as const) {
      test(`timestamp = now ${offset >= 0 ? "+" : "−"} ${Math.abs(offset)} → ${ok ? "passes" : "TIMESTAMP_SKEW"}`, () => {
        const r = checkStateless(pay(10, NOW + offset), NOW, SKEW, verifySignature);
        if (ok) expect(r.ok).toBe(true);
        else expect(r).toEqual({ ok: false, code: "TIMESTAMP_SKEW" });
      });
    }
    test("skew 0: only the exact millisecond passes", () => {
      expect(checkStateless(pay(10, NOW), NOW, 0, verifySignature).ok).toBe(true);
      expect(checkStateless(pay(10, NOW + 1), NOW, 0, verifySignature)).toEqual({ ok: false, code: "TIMESTAMP_SKEW" });
      expect(checkStateless(pay(10, NOW - 1), NOW, 0, verifySignature)).toEqual({ ok: false, code: "TIMESTAMP_SKEW" });
    });
    test("a u64 timestamp far in the future (clamped on decode) is TIMESTAMP_SKEW", () => {
      const bytes = pay(10);
      bytes.fill(0xff, 0, 8);
      expect(checkStateless(bytes, NOW, SKEW, () => true)).toEqual({ ok: false, code: "TIMESTAMP_SKEW" });
    });
  });

  describe("SIGNATURE_INVALID", () => {
    test("signed with a different key than the payer field names", () => {
      const bytes = encodeUnsigned(NOW, 10, bob.publicKey, alice.publicKey);
      bytes.set(sign(bytes.subarray(0, 76), carol.seed), 76);
      expect(checkStateless(bytes, NOW, SKEW, verifySignature)).toEqual({ ok: false, code: "SIGNATURE_INVALID" });
      expect(checkStateless(bytes, NOW, SKEW, verifyNoble)).toEqual({ ok: false, code: "SIGNATURE_INVALID" });
    });
    test("payer field changed after signing", () => {
      const bytes = pay(10);
      bytes.set(carol.publicKey, 44);
      expect(checkStateless(bytes, NOW, SKEW, verifySignature)).toEqual({ ok: false, code: "SIGNATURE_INVALID" });
    });
    test("amount, payee or timestamp changed after signing", () => {
      const a = pay(10);
      a[11] = 11; // amount 10 → 11
      expect(decodePayment(a)!.amount).toBe(11);
      expect(checkStateless(a, NOW, SKEW, verifySignature)).toEqual({ ok: false, code: "SIGNATURE_INVALID" });
      const b = pay(10);
      b.set(carol.publicKey, 12);
      expect(checkStateless(b, NOW, SKEW, verifySignature)).toEqual({ ok: false, code: "SIGNATURE_INVALID" });
      const c = pay(10);
      c[7]! ^= 1; // timestamp ± 1 ms
      expect(checkStateless(c, NOW, SKEW, verifySignature)).toEqual({ ok: false, code: "SIGNATURE_INVALID" });
    });
    test("all-zero signature", () => {
      const bytes = pay(10);
      bytes.fill(0, 76);
      expect(checkStateless(bytes, NOW, SKEW, verifySignature)).toEqual({ ok: false, code: "SIGNATURE_INVALID" });
    });
  });
});

describe("checkStateless: rule order", () => {
  /** A payment breaking the chosen stateless rules (and, with none chosen, none). */
  function failing(opts: { zero?: boolean; self?: boolean; skew?: boolean; badSig?: boolean }): Uint8Array {
    const payee = opts.self ? alice.publicKey : bob.publicKey;
    const ts = opts.skew ? NOW + SKEW + 1 : NOW;
    const bytes = signedPayment(alice, payee, opts.zero ? 0 : 10, ts);
    if (opts.badSig) bytes[100]! ^= 0x10;
    return bytes;
  }

  test("zero amount AND bad signature → AMOUNT_ZERO, verify never called", () => {
    const spy = spyVerify(false);
    expect(checkStateless(failing({ zero: true, badSig: true }), NOW, SKEW, spy.fn)).toEqual({ ok: false, code: "AMOUNT_ZERO" });
    expect(spy.calls.length).toBe(0);
  });

  test("zero amount, self payment, skewed, bad signature → AMOUNT_ZERO", () => {
    const r = checkStateless(failing({ zero: true, self: true, skew: true, badSig: true }), NOW, SKEW, verifySignature);
    expect(r).toEqual({ ok: false, code: "AMOUNT_ZERO" });
  });

  test("self payment, skewed, bad signature → SELF_PAYMENT", () => {
    const spy = spyVerify(false);
    expect(checkStateless(failing({ self: true, skew: true, badSig: true }), NOW, SKEW, spy.fn)).toEqual({ ok: false, code: "SELF_PAYMENT" });
    expect(spy.calls.length).toBe(0);
  });

  test("skewed and bad signature → TIMESTAMP_SKEW, verify never called", () => {
    const spy = spyVerify(false);
    expect(checkStateless(failing({ skew: true, badSig: true }), NOW, SKEW, spy.fn)).toEqual({ ok: false, code: "TIMESTAMP_SKEW" });
    expect(spy.calls.length).toBe(0);
  });

  test("only a bad signature → SIGNATURE_INVALID, verify called once", () => {
    const spy = spyVerify(false);
    expect(checkStateless(failing({ badSig: true }), NOW, SKEW, spy.fn)).toEqual({ ok: false, code: "SIGNATURE_INVALID" });
    expect(spy.calls.length).toBe(1);
  });

  test("wrong size beats everything", () => {
    const bytes = new Uint8Array(139);
    expect(checkStateless(bytes, NOW, SKEW, () => true)).toEqual({ ok: false, code: "PAYMENT_SIZE" });
  });
});

describe("decideAgainstLedger", () => {
  const bytes = pay(100);
  const p = payment(bytes);

  test("no duplicate, balance ≥ amount → apply", () => {
    expect(decideAgainstLedger(p, facts(undefined, 100))).toEqual({ kind: "apply" });
    expect(decideAgainstLedger(p, facts(undefined, 101))).toEqual({ kind: "apply" });
    expect(decideAgainstLedger(p, facts(undefined, 0xffff_ffff))).toEqual({ kind: "apply" });
  });

  test("INSUFFICIENT_BALANCE at amount − 1 and at 1; amount itself is enough", () => {
    expect(decideAgainstLedger(p, facts(undefined, 99))).toEqual({ kind: "reject", code: "INSUFFICIENT_BALANCE" });
    expect(decideAgainstLedger(p, facts(undefined, 1))).toEqual({ kind: "reject", code: "INSUFFICIENT_BALANCE" });
    expect(decideAgainstLedger(p, facts(undefined, 100))).toEqual({ kind: "apply" });
  });

  test("amount 2^32 − 1: balance 2^32 − 2 rejected, 2^32 − 1 applied", () => {
    const big = payment(pay(0xffff_ffff));
    expect(decideAgainstLedger(big, facts(undefined, 0xffff_fffe))).toEqual({ kind: "reject", code: "INSUFFICIENT_BALANCE" });
    expect(decideAgainstLedger(big, facts(undefined, 0xffff_ffff))).toEqual({ kind: "apply" });
  });

  test("UNKNOWN_PAYER when the payer has no account", () => {
    expect(decideAgainstLedger(p, facts(undefined, undefined))).toEqual({ kind: "reject", code: "UNKNOWN_PAYER" });
  });

  test("a payer at balance 0 is the same as no account: UNKNOWN_PAYER, whatever the store holds", () => {
    expect(decideAgainstLedger(p, facts(undefined, 0))).toEqual({ kind: "reject", code: "UNKNOWN_PAYER" });
    const one = payment(pay(1));
    expect(decideAgainstLedger(one, facts(undefined, 0))).toEqual(decideAgainstLedger(one, facts(undefined, undefined)));
    // A retransmission is still recognised after it emptied the payer (duplicates come first).
    expect(decideAgainstLedger(p, facts(bytes.slice(), 0))).toEqual({ kind: "already-accepted" });
  });

  test("identical 140 bytes accepted before → already-accepted", () => {
    expect(decideAgainstLedger(p, facts(bytes.slice(), 100))).toEqual({ kind: "already-accepted" });
  });

  test("already-accepted even once the payment has spent the balance it needed, or the payer is gone", () => {
    expect(decideAgainstLedger(p, facts(bytes.slice(), 0))).toEqual({ kind: "already-accepted" });
    expect(decideAgainstLedger(p, facts(bytes.slice(), undefined))).toEqual({ kind: "already-accepted" });
  });

  test("DUPLICATE: same first 76 bytes, a different (also valid) signature", () => {
    const second = bytes.slice();
    second.set(signWithNonce(987654321n, bytes.subarray(0, 76), alice.seed, alice.publicKey), 76);
    expect(hex(second.subarray(76))).not.toBe(hex(bytes.subarray(76)));
    // Both versions pass every stateless rule…
    expect(checkStateless(bytes, NOW, SKEW, verifySignature).ok).toBe(true);
    const r = checkStateless(second, NOW, SKEW, verifySignature);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    // …but once one was accepted, the other is a duplicate.
    expect(decideAgainstLedger(r.payment, facts(bytes, 1000))).toEqual({ kind: "reject", code: "DUPLICATE" });
    expect(decideAgainstLedger(p, facts(second, 1000))).toEqual({ kind: "reject", code: "DUPLICATE" });
  });

  test("DUPLICATE when only the last signature byte differs", () => {
    const other = bytes.slice();
    other[139]! ^= 0x01;
    expect(decideAgainstLedger(p, facts(other, 1000))).toEqual({ kind: "reject", code: "DUPLICATE" });
  });

  test("duplicate is checked before the payer and the balance", () => {
    const other = bytes.slice();
    other[80]! ^= 0xff;
    expect(decideAgainstLedger(p, facts(other, undefined))).toEqual({ kind: "reject", code: "DUPLICATE" });
    expect(decideAgainstLedger(p, facts(other, 0))).toEqual({ kind: "reject", code: "DUPLICATE" });
  });

  test("a self-payment reaching the ledger is rejected there too (it would mint money), whatever the balance", () => {
    const self = payment(pay(10, NOW, alice, alice.publicKey));
    expect(decideAgainstLedger(self, facts(undefined, 1000))).toEqual({ kind: "reject", code: "SELF_PAYMENT" });
    expect(decideAgainstLedger(self, facts(undefined, 10))).toEqual({ kind: "reject", code: "SELF_PAYMENT" });
  });

  test("unknown payer is checked before the balance", () => {
    const zero = payment(pay(1));
    expect(decideAgainstLedger(zero, facts(undefined, undefined))).toEqual({ kind: "reject", code: "UNKNOWN_PAYER" });
  });
});

describe("a whole pipeline over a small ledger", () => {
  test("a payer spending down their balance, with a retransmission and a replay", () => {
    const balances = new Map<string, number>([[hex(alice.publicKey), 25]]);
    const accepted = new Map<string, Uint8Array>(); // first 76 bytes (hex) → bytes
    const outcomes: string[] = [];
    function submit(bytes: Uint8Array): void {
      const s = checkStateless(bytes, NOW, SKEW, verifySignature);
      if (!s.ok) return void outcomes.push(s.code);
      const key = hex(bytes.subarray(0, 76));
      const d = decideAgainstLedger(s.payment, facts(accepted.get(key), balances.get(hex(s.payment.payer))));
      if (d.kind === "reject") return void outcomes.push(d.code);
      if (d.kind === "already-accepted") return void outcomes.push("again");
      accepted.set(key, bytes);
      const from = hex(s.payment.payer);
      const to = hex(s.payment.payee);
      balances.set(from, balances.get(from)! - s.payment.amount);
      balances.set(to, (balances.get(to) ?? 0) + s.payment.amount);
      outcomes.push("applied");
    }
    const p1 = pay(10, NOW);
    const p2 = pay(15, NOW + 1);
    submit(p1);
    submit(p1); // retransmission
    submit(p2); // exactly the rest
    submit(pay(1, NOW + 2)); // nothing left: the emptied account no longer exists
    submit(buildPayment({ timestampMs: NOW, amount: 1, payee: alice.publicKey, payer: carol.publicKey, payerSeed: carol.seed })); // no account
    const forged = p1.slice();
    forged.set(signWithNonce(5n, p1.subarray(0, 76), alice.seed, alice.publicKey), 76);
    submit(forged); // same payment, another valid signature
    expect(outcomes).toEqual(["applied", "again", "applied", "UNKNOWN_PAYER", "UNKNOWN_PAYER", "DUPLICATE"]);
    expect(balances.get(hex(alice.publicKey))).toBe(0);
    expect(balances.get(hex(bob.publicKey))).toBe(25);
  });
});

test("keyPairFromSeed is deterministic (the helpers rely on it)", () => {
  expect(hex(keyPairFromSeed(new Uint8Array(32).fill(1)).publicKey)).toBe(hex(alice.publicKey));
});
