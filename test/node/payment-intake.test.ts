// PaymentIntake with a ManualClock and a real ledger on a SQLite file: answers come only after the
// commit, every rejection carries its code and the payment id, the gate, the queue bound, stop(),
// a failing commit, and retransmissions.
import { afterEach, describe, expect, test } from "bun:test";
import { PaymentIntake, type AcceptGate, type Outcome } from "../../src/node/payment-intake.ts";
import { ManualClock } from "../../src/core/clock.ts";
import { verifySignature } from "../../src/core/verify.ts";
import type { Verify } from "../../src/core/acceptance.ts";
import { decodePayment, encodeUnsigned, paymentId, type Payment } from "../../src/core/payment.ts";
import { toHex } from "../../src/core/bytes.ts";
import { CAPACITY_PAYMENTS_DEFAULT, PENDING_PAYMENTS_MAX, PENDING_PER_PAYER_MAX, PENDING_PER_SOURCE_MAX, PENDING_WAITERS_MAX, SKEW_MS_DEFAULT } from "../../src/core/limits.ts";
import { keyPairFromSeed, type KeyPair } from "../../src/core/keys.ts";
import {
  T0,
  addFailTrigger,
  diskSnapshot,
  dropFailTrigger,
  genesisOf,
  keyPairs,
  openTempLedger,
  resignWithNonce,
  signedPayment,
  windowOf,
  type TempLedger,
} from "../ledger/fixtures.ts";

const [alice, bob, carol, dave] = keyPairs(4) as [KeyPair, KeyPair, KeyPair, KeyPair];
const everyone = [alice, bob, carol, dave].map((k) => k.publicKey);

interface Rig {
  t: TempLedger;
  clock: ManualClock;
  intake: PaymentIntake;
  refusal: ReturnType<AcceptGate>;
  committed: { applied: readonly Payment[]; window: number }[];
  errors: unknown[];
}

let rigs: Rig[] = [];
afterEach(() => {
  for (const r of rigs) r.t.cleanup();
  rigs = [];
});

function rig(opts: { genesis?: Map<string, number>; verify?: Verify; nowMs?: number; capacity?: number; heldByMajority?: () => number } = {}): Rig {
  const t = openTempLedger(opts.genesis ?? genesisOf([[alice, 1_000], [bob, 100]]));
  const clock = new ManualClock(opts.nowMs ?? T0);
  const r: Rig = { t, clock, intake: undefined as unknown as PaymentIntake, refusal: null, committed: [], errors: [] };
  r.intake = new PaymentIntake({
    ledger: t.ledger,
    clock,
    skewMs: SKEW_MS_DEFAULT,
    verify: opts.verify ?? verifySignature,
    gate: () => r.refusal,
    windowAt: windowOf,
    capacity: opts.capacity ?? CAPACITY_PAYMENTS_DEFAULT,
    windowFullMessage: (window) => `window ${window} is full`,
    // The replication stream: positions in commit order; held by a majority at once unless told.
    replicate: (applied, window) => {
      const first = r.committed.filter((c) => c.window === window).reduce((n, c) => n + c.applied.length, 0);
      r.committed.push({ applied: [...applied], window });
      return { first, heldByMajority: opts.heldByMajority?.() ?? Number.MAX_SAFE_INTEGER };
    },
    onError: (e) => r.errors.push(e),
  });
  rigs.push(r);
  return r;
}

/** Submits and records whether `done` ran synchronously. */
function submit(r: Rig, bytes: Uint8Array) {
  const answers: Outcome[] = [];
  r.intake.submit(bytes, (o) => answers.push(o));
  return { answers, sync: answers.length > 0, get outcome() { return answers[0]; } };
}

/** `n` distinct funded-payer key pairs, none of them alice, bob, carol or dave (testKeyPair has only 256). */
function manyPayers(n: number): KeyPair[] {
  return Array.from({ length: n }, (_, i) => {
    const seed = new Uint8Array(32).fill(0xa5);
    new DataView(seed.buffer).setUint32(0, i, false);
    return keyPairFromSeed(seed);
  });
}

const idHex = (bytes: Uint8Array) => toHex(paymentId(bytes));
const rejected = (code: string, bytes: Uint8Array | null) => ({ accepted: false, code, id: bytes === null ? null : paymentId(bytes) });

describe("acceptance happens after the commit", () => {
  test("done is not called synchronously; after the flush it says accepted and the ledger has the payment", async () => {
    const r = rig();
    const bytes = signedPayment(alice, bob.publicKey, 250, T0);
    let seenInLedgerAtAnswer: boolean | undefined;
    const answered = new Promise<Outcome>((resolve) =>
      r.intake.submit(bytes, (o) => {
        seenInLedgerAtAnswer = r.t.ledger.payment(paymentId(bytes)) !== undefined && r.t.ledger.balance(bob.publicKey) === 350;
        resolve(o);
      }),
    );
    expect(seenInLedgerAtAnswer).toBeUndefined(); // not answered yet
    expect(r.intake.pendingCount).toBe(1);
    expect(r.t.ledger.balance(alice.publicKey)).toBe(1_000);
    expect(r.t.ledger.totals().payments).toBe(0);

    const outcome = await answered; // the scheduled flush commits and answers
    expect(outcome.accepted).toBe(true);
    expect(toHex(outcome.id!)).toBe(idHex(bytes));
    expect(seenInLedgerAtAnswer).toBe(true); // durably applied before the answer
    expect(r.intake.pendingCount).toBe(0);
    expect(r.t.ledger.balance(alice.publicKey)).toBe(750);
    expect(diskSnapshot(r.t.path).payments).toBe(1);
    expect(r.intake.stats.accepted).toBe(1);
    expect(r.committed).toHaveLength(1);
    expect(r.committed[0]!.window).toBe(windowOf(T0));
    expect(r.committed[0]!.applied.map((p) => toHex(p.bytes))).toEqual([toHex(bytes)]);
  });

  test("an explicit flush() answers synchronously, and records window and commit time", () => {
    const r = rig();
    const a = submit(r, signedPayment(alice, bob.publicKey, 1, T0 - 2_000));
    const b = submit(r, signedPayment(alice, carol.publicKey, 2, T0 + 3_000));
    expect(a.sync || b.sync).toBe(false);
    r.clock.advance(400);
    r.intake.flush();
    expect(a.answers).toHaveLength(1);
    expect(b.answers).toHaveLength(1);
    expect(a.outcome!.accepted && b.outcome!.accepted).toBe(true);
    const stored = r.t.ledger.payment(b.outcome!.id!)!;
    expect(stored.window).toBe(windowOf(T0));
    expect(stored.acceptedAtMs).toBe(T0 + 400);
    // One group, one commit.
    expect(r.intake.stats.groupPayments.snapshot().count).toBe(1);
    expect(r.intake.stats.groupPayments.snapshot().max).toBe(2);
  });

  test("payments queued across a window switch are recorded under their own windows", () => {
    const w = windowOf(T0);
    const nearEnd = (w + 1) * 120_000 - 1_000;
    const r = rig({ nowMs: nearEnd });
    const first = signedPayment(alice, bob.publicKey, 10, nearEnd);
    submit(r, first);
    r.clock.advance(2_000); // now in window w + 1
    const second = signedPayment(alice, bob.publicKey, 20, nearEnd + 2_000);
    submit(r, second);
    r.intake.flush();
    expect(r.t.ledger.payment(paymentId(first))!.window).toBe(w);
    expect(r.t.ledger.payment(paymentId(second))!.window).toBe(w + 1);
    expect(r.committed.map((c) => c.window)).toEqual([w, w + 1]);
  });
});

describe("rejections", () => {
  test("every stateless rejection is immediate, with its code and the payment id", () => {
    const r = rig();
    const good = signedPayment(alice, bob.publicKey, 5, T0);
    const badSig = new Uint8Array(good);
    badSig[100] = badSig[100]! ^ 0xff;
    const tamperedAmount = new Uint8Array(good);
    tamperedAmount[11] = 6; // amount 5 -> 6 after signing
    // [code, bytes, whether the answer carries an id (only 140-byte inputs have one)]
    const cases: [string, Uint8Array, boolean][] = [
      ["PAYMENT_SIZE", new Uint8Array(139), false],
      ["PAYMENT_SIZE", new Uint8Array(141), false],
      ["PAYMENT_SIZE", new Uint8Array(0), false],
      ["AMOUNT_ZERO", signedPayment(alice, bob.publicKey, 0, T0), true],
      ["SELF_PAYMENT", signedPayment(alice, alice.publicKey, 5, T0), true],
      ["TIMESTAMP_SKEW", signedPayment(alice, bob.publicKey, 5, T0 + SKEW_MS_DEFAULT + 1), true],
      ["TIMESTAMP_SKEW", signedPayment(alice, bob.publicKey, 5, T0 - SKEW_MS_DEFAULT - 1), true],
      ["SIGNATURE_INVALID", badSig, true],
      ["SIGNATURE_INVALID", tamperedAmount, true],
    ];
    for (const [code, bytes, hasId] of cases) {
      const s = submit(r, bytes);
      expect(s.sync).toBe(true);
      expect(s.outcome).toEqual(rejected(code, hasId ? bytes : null) as Outcome);
    }
    expect(r.intake.pendingCount).toBe(0);
    expect(r.intake.stats.rejected.get("PAYMENT_SIZE")).toBe(3);
    expect(r.intake.stats.rejected.get("TIMESTAMP_SKEW")).toBe(2);
    expect(r.intake.stats.rejected.get("SIGNATURE_INVALID")).toBe(2);
    expect(r.t.ledger.totals().payments).toBe(0);
  });

  test("the skew bound is inclusive: exactly ±skew is accepted", () => {
    const r = rig();
    const early = submit(r, signedPayment(alice, bob.publicKey, 1, T0 - SKEW_MS_DEFAULT));
    const late = submit(r, signedPayment(alice, bob.publicKey, 1, T0 + SKEW_MS_DEFAULT));
    r.intake.flush();
    expect(early.outcome!.accepted).toBe(true);
    expect(late.outcome!.accepted).toBe(true);
  });

  test("an unknown payer is refused at once, before its signature is checked", () => {
    let verified = 0;
    const r = rig({ verify: (...args) => (verified++, verifySignature(...args)) });
    const unknown = signedPayment(carol, bob.publicKey, 1, T0);
    const s = submit(r, unknown);
    expect(s.sync).toBe(true);
    expect(s.outcome).toEqual(rejected("UNKNOWN_PAYER", unknown) as Outcome);
    // A balance below the amount, as committed now, too.
    const tooMuch = signedPayment(bob, carol.publicKey, 101, T0);
    expect(submit(r, tooMuch).outcome).toEqual(rejected("INSUFFICIENT_BALANCE", tooMuch) as Outcome);
    expect(verified).toBe(0);
    expect(r.intake.pendingCount).toBe(0);
  });

  test("ledger rejections that depend on pending payments (INSUFFICIENT_BALANCE, DUPLICATE) come after the commit with the id", () => {
    const r = rig();
    const first = signedPayment(alice, bob.publicKey, 900, T0);
    const twin = resignWithNonce(first, alice, 4242n);
    const tooMuch = signedPayment(alice, dave.publicKey, 101, T0 + 1); // 100 left after `first`
    const submissions = [first, tooMuch, twin].map((b) => submit(r, b));
    expect(submissions.some((s) => s.sync)).toBe(false);
    r.intake.flush();
    expect(submissions.map((s) => s.outcome)).toEqual([
      { accepted: true, id: paymentId(first) },
      rejected("INSUFFICIENT_BALANCE", tooMuch),
      rejected("DUPLICATE", twin),
    ] as Outcome[]);
    // In a later group the twin is refused at once, still as DUPLICATE although its payer could
    // not cover it any more: the code is the one the commit would give.
    const again = submit(r, twin);
    expect(again.sync).toBe(true);
    expect(again.outcome).toEqual(rejected("DUPLICATE", twin) as Outcome);
    expect(r.intake.stats.rejected.get("DUPLICATE")).toBe(2);
    expect(r.t.ledger.totals().payments).toBe(1);
    expect(r.t.ledger.balance(dave.publicKey)).toBeUndefined();
  });

  test("a closed gate answers NOT_ACCEPTING with the gate's message and queues nothing", () => {
    const r = rig();
    r.refusal = { code: "NOT_ACCEPTING", message: "server abc accepts from 08:02:00" };
    const bytes = signedPayment(alice, bob.publicKey, 5, T0);
    const s = submit(r, bytes);
    expect(s.sync).toBe(true);
    expect(s.outcome).toEqual({ accepted: false, code: "NOT_ACCEPTING", id: paymentId(bytes), message: "server abc accepts from 08:02:00" });
    expect(r.intake.pendingCount).toBe(0);
    // Format errors are answered before the gate.
    expect(submit(r, new Uint8Array(10)).outcome).toEqual(rejected("PAYMENT_SIZE", null) as Outcome);
    // Gate open again: the same bytes are accepted.
    r.refusal = null;
    const later = submit(r, bytes);
    r.intake.flush();
    expect(later.outcome).toEqual({ accepted: true, id: paymentId(bytes) });
  });

  test("the gate is asked with the clock's time", () => {
    const asked: number[] = [];
    const r = rig();
    const intake = new PaymentIntake({
      ledger: r.t.ledger,
      clock: r.clock,
      skewMs: SKEW_MS_DEFAULT,
      verify: verifySignature,
      gate: (now) => (asked.push(now), null),
      windowAt: windowOf,
      capacity: CAPACITY_PAYMENTS_DEFAULT,
    });
    r.clock.advance(1234);
    intake.submit(signedPayment(alice, bob.publicKey, 5, T0), () => {});
    expect(asked).toEqual([T0 + 1234]);
    intake.flush();
  });
});

describe("queue bound", () => {
  test(`past ${PENDING_PAYMENTS_MAX} pending payments the intake answers OVERLOADED, and an OVERLOADED payment never applies`, () => {
    // Signature checks are stubbed (verify → true) so 65,536 submissions stay fast. Enough funded
    // payers and source addresses that neither per-payer nor per-source bound is reached first.
    const payers = manyPayers(PENDING_PAYMENTS_MAX / PENDING_PER_PAYER_MAX + 1);
    const r = rig({ verify: () => true, genesis: genesisOf(payers.map((k) => [k, 10_000_000] as const)) });
    const payee = dave.publicKey;
    let answered = 0;
    const codes = new Map<string, number>();
    const done = (o: Outcome) => {
      answered++;
      const k = o.accepted ? "accepted" : o.code;
      codes.set(k, (codes.get(k) ?? 0) + 1);
    };
    for (let i = 0; i < PENDING_PAYMENTS_MAX; i++) {
      r.intake.submit(encodeUnsigned(T0, 1 + Math.floor(i / payers.length), payee, payers[i % payers.length]!.publicKey), done, `10.0.${i % 64}.1`);
    }
    expect(answered).toBe(0);
    expect(r.intake.pendingCount).toBe(PENDING_PAYMENTS_MAX);

    const over = encodeUnsigned(T0, 999_999, payee, payers[0]!.publicKey);
    const s = submit(r, over);
    expect(s.sync).toBe(true);
    expect(s.outcome).toMatchObject(rejected("OVERLOADED", over));
    expect(r.intake.pendingCount).toBe(PENDING_PAYMENTS_MAX);

    r.intake.flush();
    expect(answered).toBe(PENDING_PAYMENTS_MAX);
    expect(codes.get("accepted")).toBe(PENDING_PAYMENTS_MAX);
    expect(r.intake.pendingCount).toBe(0);
    // The answer was true: the refused payment is not in the ledger.
    expect(r.t.ledger.payment(paymentId(over))).toBeUndefined();
    // Room again.
    const roomAgain = encodeUnsigned(T0, 999_998, payee, payers[0]!.publicKey);
    const after = submit(r, roomAgain);
    expect(after.sync).toBe(false);
    r.intake.flush();
    expect(after.outcome).toEqual({ accepted: true, id: paymentId(roomAgain) });
  });

  test(`one source address holds at most ${PENDING_PER_SOURCE_MAX} pending payments, one payer at most ${PENDING_PER_PAYER_MAX}`, () => {
    const payers = manyPayers((2 * PENDING_PER_SOURCE_MAX) / PENDING_PER_PAYER_MAX + 2);
    const r = rig({ verify: () => true, genesis: genesisOf(payers.map((k) => [k, 10_000_000] as const)) });
    const payee = dave.publicKey;
    const answers: Outcome[] = [];
    // One payer from many addresses: the per-payer bound.
    for (let i = 0; i < PENDING_PER_PAYER_MAX; i++) r.intake.submit(encodeUnsigned(T0, i + 1, payee, payers[0]!.publicKey), (o) => answers.push(o), `10.1.0.${i % 200}`);
    const payerOver = encodeUnsigned(T0, 999_999, payee, payers[0]!.publicKey);
    const a = submit(r, payerOver);
    expect(a.outcome).toMatchObject(rejected("OVERLOADED", payerOver));
    expect((a.outcome as { message: string }).message).toContain("of this payer");
    // Many payers from one address: the per-source bound.
    for (let i = 0; i < PENDING_PER_SOURCE_MAX; i++) {
      r.intake.submit(encodeUnsigned(T0, i + 1, payee, payers[1 + (i % (payers.length - 2))]!.publicKey), (o) => answers.push(o), "192.0.2.7");
    }
    const fresh = payers.at(-1)!.publicKey; // a payer with nothing pending
    const sourceOver = encodeUnsigned(T0, 999_998, payee, fresh);
    const outcomes: Outcome[] = [];
    r.intake.submit(sourceOver, (o) => outcomes.push(o), "192.0.2.7");
    expect(outcomes[0]).toMatchObject(rejected("OVERLOADED", sourceOver));
    expect((outcomes[0] as { message: string }).message).toContain("from your address");
    // Another address still gets in.
    const other = encodeUnsigned(T0, 999_997, payee, fresh);
    r.intake.submit(other, (o) => outcomes.push(o), "192.0.2.8");
    expect(outcomes).toHaveLength(1);
    r.intake.flush();
    expect(outcomes[1]).toEqual({ accepted: true, id: paymentId(other) });
    expect(answers.every((o) => o.accepted)).toBe(true);
    expect(r.t.ledger.payment(paymentId(payerOver))).toBeUndefined();
    expect(r.t.ledger.payment(paymentId(sourceOver))).toBeUndefined();
  });
});

describe("stop()", () => {
  test("flushes what is pending, then every submission gets NOT_ACCEPTING", () => {
    const r = rig();
    const pending = [1, 2, 3].map((n) => submit(r, signedPayment(alice, bob.publicKey, n, T0 + n)));
    expect(pending.some((p) => p.answers.length > 0)).toBe(false);
    r.intake.stop();
    for (const p of pending) expect(p.outcome!.accepted).toBe(true);
    expect(r.t.ledger.balance(alice.publicKey)).toBe(994);
    expect(r.intake.pendingCount).toBe(0);

    const late = signedPayment(alice, bob.publicKey, 4, T0 + 4);
    const s = submit(r, late);
    expect(s.sync).toBe(true);
    expect(s.outcome).toMatchObject({ accepted: false, code: "NOT_ACCEPTING", id: paymentId(late) });
    expect(typeof (s.outcome as { message?: string }).message).toBe("string");
    expect(r.t.ledger.totals().payments).toBe(3);
  });
});

describe("a failing commit", () => {
  test("every payment of the group gets INTERNAL and nothing is applied", () => {
    const r = rig();
    r.t.ledger.applyGroup([], 0, T0); // no-op, just proves the ledger is live
    const before = { totals: r.t.ledger.totals(), balances: everyone.map((id) => r.t.ledger.balance(id)) };
    const disk = diskSnapshot(r.t.path);
    addFailTrigger(r.t.path, 13);

    const group = [
      signedPayment(alice, bob.publicKey, 5, T0),
      signedPayment(alice, carol.publicKey, 13, T0 + 1),
      signedPayment(bob, dave.publicKey, 7, T0 + 2),
    ];
    const subs = group.map((b) => submit(r, b));
    r.intake.flush();
    expect(subs.map((s) => s.outcome)).toEqual(group.map((b) => rejected("INTERNAL", b)) as Outcome[]);
    expect(r.errors).toHaveLength(1);
    expect(String(r.errors[0])).toContain("boom");
    expect(r.intake.stats.rejected.get("INTERNAL")).toBe(3);
    expect(r.intake.stats.accepted).toBe(0);
    expect(r.committed).toEqual([]);
    expect({ totals: r.t.ledger.totals(), balances: everyone.map((id) => r.t.ledger.balance(id)) }).toEqual(before);
    expect(diskSnapshot(r.t.path)).toEqual(disk);

    // The same payments go through once the fault is gone (nothing half-recorded blocks them).
    dropFailTrigger(r.t.path, 13);
    const retry = group.slice(0, 3).map((b) => submit(r, b));
    r.intake.flush();
    expect(retry.map((s) => s.outcome!.accepted)).toEqual([true, true, true]);
    expect(r.t.ledger.balance(alice.publicKey)).toBe(1_000 - 18);
  });

  test("a failure in one window's sub-group does not take down the next window's", () => {
    const w = windowOf(T0);
    const nearEnd = (w + 1) * 120_000 - 500;
    const r = rig({ nowMs: nearEnd });
    addFailTrigger(r.t.path, 13);
    const doomed = signedPayment(alice, bob.publicKey, 13, nearEnd);
    const a = submit(r, doomed);
    r.clock.advance(1_000);
    const fine = signedPayment(alice, bob.publicKey, 14, nearEnd + 1_000);
    const b = submit(r, fine);
    r.intake.flush();
    expect(a.outcome).toEqual(rejected("INTERNAL", doomed) as Outcome);
    expect(b.outcome).toEqual({ accepted: true, id: paymentId(fine) });
    expect(r.t.ledger.totals().payments).toBe(1);
    expect(r.t.ledger.payment(paymentId(fine))!.window).toBe(w + 1);
  });
});

describe("retransmissions", () => {
  test("identical bytes twice in one group: both answered accepted, applied once", () => {
    const r = rig();
    const bytes = signedPayment(alice, bob.publicKey, 600, T0);
    const one = submit(r, bytes);
    const two = submit(r, new Uint8Array(bytes)); // a fresh copy, as a second datagram would be
    r.intake.flush();
    expect(one.outcome).toEqual({ accepted: true, id: paymentId(bytes) });
    expect(two.outcome).toEqual({ accepted: true, id: paymentId(bytes) });
    expect(r.t.ledger.balance(alice.publicKey)).toBe(400);
    expect(r.t.ledger.balance(bob.publicKey)).toBe(700);
    expect(r.t.ledger.totals().payments).toBe(1);
    expect(r.intake.stats.groupPayments.snapshot().count).toBe(1);
    expect(r.committed).toHaveLength(1);
    expect(r.committed[0]!.applied).toHaveLength(1);
    // And in a later group, after the payment spent most of the balance: still accepted, not applied.
    const three = submit(r, bytes);
    r.intake.flush();
    expect(three.outcome).toEqual({ accepted: true, id: paymentId(bytes) });
    expect(r.t.ledger.balance(alice.publicKey)).toBe(400);
    expect(r.t.ledger.totals().payments).toBe(1);
    expect(r.committed).toHaveLength(1);
  });

  test("accepted bytes sent again while the gate is closed (the blackout) are answered accepted, not NOT_ACCEPTING", () => {
    // Issue 7, finding 2: a reply lost 250 ms before the blackout, the retransmission arriving in
    // it. NOT_ACCEPTING would make the payer sign a second payment and pay twice.
    const r = rig();
    const bytes = signedPayment(alice, bob.publicKey, 300, T0);
    submit(r, bytes);
    r.intake.flush();
    r.refusal = { code: "NOT_ACCEPTING", message: "blackout" };
    const again = submit(r, new Uint8Array(bytes));
    expect(again.sync).toBe(true);
    expect(again.outcome).toEqual({ accepted: true, id: paymentId(bytes) });
    expect(r.t.ledger.balance(alice.publicKey)).toBe(700);
    expect(r.intake.stats.retransmissions).toBe(1);
    // Bytes never accepted still meet the gate.
    const fresh = signedPayment(alice, bob.publicKey, 1, T0 + 1);
    expect(submit(r, fresh).outcome).toMatchObject({ accepted: false, code: "NOT_ACCEPTING" });
  });

  test("pending bytes sent again while the queue is full join the pending copy: one true answer for both", () => {
    // Issue 7, finding 3: the retransmission was answered OVERLOADED and the first copy applied.
    const payers = manyPayers(PENDING_PAYMENTS_MAX / PENDING_PER_PAYER_MAX + 1);
    const r = rig({ verify: () => true, genesis: genesisOf(payers.map((k) => [k, 10_000_000] as const)) });
    const target = encodeUnsigned(T0, 999_999, dave.publicKey, payers[0]!.publicKey);
    const first = submit(r, target);
    for (let i = 1; i < PENDING_PAYMENTS_MAX; i++) {
      r.intake.submit(encodeUnsigned(T0, 1 + Math.floor(i / payers.length), dave.publicKey, payers[i % payers.length]!.publicKey), () => {}, `10.2.${i % 64}.1`);
    }
    expect(r.intake.pendingCount).toBe(PENDING_PAYMENTS_MAX);
    const again = submit(r, new Uint8Array(target));
    expect(again.sync).toBe(false);
    // Past PENDING_WAITERS_MAX copies waiting, a retransmission is told the payment is in progress.
    const waiting = Array.from({ length: PENDING_WAITERS_MAX - 2 }, () => submit(r, new Uint8Array(target)));
    const tooMany = submit(r, new Uint8Array(target));
    expect(tooMany.outcome).toEqual(rejected("IN_PROGRESS", target) as Outcome);
    r.intake.flush();
    for (const s of [first, again, ...waiting]) expect(s.outcome).toEqual({ accepted: true, id: paymentId(target) });
    expect(r.t.ledger.balance(dave.publicKey)).toBeGreaterThan(0);
    expect(r.t.ledger.totals().payments).toBe(PENDING_PAYMENTS_MAX);
  });

  test("the caller reusing its buffer after submit does not change the queued payment", () => {
    const r = rig();
    const buffer = signedPayment(alice, bob.publicKey, 77, T0);
    const original = new Uint8Array(buffer);
    const s = submit(r, buffer);
    buffer.fill(0); // a socket would reuse its receive buffer for the next datagram
    r.intake.flush();
    expect(s.outcome).toEqual({ accepted: true, id: paymentId(original) });
    expect(r.t.ledger.balance(bob.publicKey)).toBe(177);
    expect(toHex(r.t.ledger.payment(paymentId(original))!.payment.bytes)).toBe(toHex(original));
  });
});

describe("window capacity (WINDOW_FULL)", () => {
  const codeOf = (o: Outcome | undefined) => (o === undefined ? "pending" : o.accepted ? "accepted" : o.code);

  test("payments up to the capacity are taken; number capacity + 1 is refused at once, even while the others wait", () => {
    const r = rig({ capacity: 3 });
    const taken = [1, 2, 3].map((n) => submit(r, signedPayment(alice, bob.publicKey, n, T0)));
    const over = submit(r, signedPayment(alice, bob.publicKey, 4, T0));
    // The first three are pending (not committed yet): they count, so the fourth cannot overshoot.
    expect(taken.map((s) => codeOf(s.outcome))).toEqual(["pending", "pending", "pending"]);
    expect(over.sync).toBe(true);
    expect(over.outcome).toEqual({ accepted: false, code: "WINDOW_FULL", id: paymentId(signedPayment(alice, bob.publicKey, 4, T0)), message: `window ${windowOf(T0)} is full` });
    r.intake.flush();
    expect(taken.map((s) => codeOf(s.outcome))).toEqual(["accepted", "accepted", "accepted"]);
    expect(r.t.ledger.windowPaymentCount(windowOf(T0))).toBe(3);
    // Committed now: still full. A retransmission of accepted bytes is still "accepted".
    expect(codeOf(submit(r, signedPayment(alice, bob.publicKey, 5, T0)).outcome)).toBe("WINDOW_FULL");
    expect(codeOf(submit(r, signedPayment(alice, bob.publicKey, 1, T0)).outcome)).toBe("accepted");
    expect(r.intake.stats.rejected.get("WINDOW_FULL")).toBe(2);
    // The next window has its own room.
    const next = (windowOf(T0) + 1) * 120_000 + 10;
    r.clock.set(next);
    const s = submit(r, signedPayment(alice, bob.publicKey, 6, next));
    r.intake.flush();
    expect(codeOf(s.outcome)).toBe("accepted");
  });

  test("a pending payment that fails gives its room back", () => {
    const r = rig({ capacity: 2 });
    const a = submit(r, signedPayment(alice, bob.publicKey, 900, T0));
    const b = submit(r, signedPayment(alice, carol.publicKey, 900, T0)); // passes now; fails at commit
    expect(codeOf(submit(r, signedPayment(bob, carol.publicKey, 1, T0)).outcome)).toBe("WINDOW_FULL");
    r.intake.flush();
    expect([codeOf(a.outcome), codeOf(b.outcome)]).toEqual(["accepted", "INSUFFICIENT_BALANCE"]);
    const c = submit(r, signedPayment(bob, carol.publicKey, 1, T0));
    r.intake.flush();
    expect(codeOf(c.outcome)).toBe("accepted");
    expect(codeOf(submit(r, signedPayment(bob, carol.publicKey, 2, T0)).outcome)).toBe("WINDOW_FULL");
  });

  test("the commit checks again: a payment that would be number capacity + 1 when committed is refused there", () => {
    const r = rig({ capacity: 2 });
    const a = submit(r, signedPayment(alice, bob.publicKey, 1, T0));
    const b = submit(r, signedPayment(alice, bob.publicKey, 2, T0));
    // Something else filled a place of the window meanwhile (here: the ledger directly).
    const other = decodePaymentOrThrow(signedPayment(bob, carol.publicKey, 3, T0));
    expect(r.t.ledger.applyGroup([other], windowOf(T0), T0)).toEqual([{ kind: "apply" }]);
    r.intake.flush();
    expect([codeOf(a.outcome), codeOf(b.outcome)]).toEqual(["accepted", "WINDOW_FULL"]);
    expect(b.outcome).toMatchObject({ message: `window ${windowOf(T0)} is full` });
    expect(r.t.ledger.windowPaymentCount(windowOf(T0))).toBe(2);
    expect(r.t.ledger.payment(paymentId(signedPayment(alice, bob.publicKey, 2, T0)))).toBeUndefined();
  });
});

function decodePaymentOrThrow(bytes: Uint8Array): Payment {
  const p = decodePayment(bytes);
  if (p === null) throw new Error("not a payment");
  return p;
}

describe("acknowledged once a majority holds it (the replication stream)", () => {
  // The replication stream says how many of the window's payments a majority holds; here it says
  // nothing at first, then what the test tells it.
  function held(): { rig: Rig; setHeld: (n: number) => void } {
    let n = 0;
    const r = rig({ heldByMajority: () => n });
    return { rig: r, setHeld: (m) => (n = m) };
  }

  test("committed payments wait; they are answered in order as the majority's position passes them", () => {
    const { rig: r } = held();
    const w = windowOf(T0);
    const first = submit(r, signedPayment(alice, bob.publicKey, 1, T0));
    const second = submit(r, signedPayment(alice, bob.publicKey, 2, T0 + 1));
    r.intake.flush();
    expect(r.t.ledger.totals().payments).toBe(2);
    expect([first.answers.length, second.answers.length]).toEqual([0, 0]);
    expect(r.intake.awaitingCount).toBe(2);
    r.intake.replicated(w, 1);
    expect(first.outcome?.accepted).toBe(true);
    expect(second.answers.length).toBe(0);
    r.intake.replicated(w, 2);
    expect(second.outcome?.accepted).toBe(true);
    expect(r.intake.awaitingCount).toBe(0);
  });

  test("a retransmission of a waiting payment waits with it, and gets the same answer", () => {
    const { rig: r } = held();
    const bytes = signedPayment(alice, bob.publicKey, 7, T0);
    const a = submit(r, bytes);
    r.intake.flush();
    const b = submit(r, bytes);
    expect([a.answers.length, b.answers.length]).toEqual([0, 0]);
    r.intake.replicated(windowOf(T0), 1);
    expect(a.outcome?.accepted && b.outcome?.accepted).toBe(true);
    expect(r.t.ledger.totals().payments).toBe(1);
  });

  test("its window undone here, or agreed without it: NOT_KEPT (the payer asks the network); agreed with it: accepted", () => {
    const { rig: r } = held();
    const w = windowOf(T0);
    const undone = submit(r, signedPayment(alice, bob.publicKey, 3, T0));
    r.intake.flush();
    r.intake.undone(w - 1);
    expect(undone.outcome?.accepted === false && undone.outcome.code).toBe("NOT_KEPT");
    expect(undone.outcome?.accepted === false && undone.outcome.message).toMatch(/scryp tx [0-9a-f]{64}/);

    const kept = submit(r, signedPayment(alice, carol.publicKey, 4, T0 + 1));
    const dropped = submit(r, signedPayment(alice, dave.publicKey, 5, T0 + 2));
    r.intake.flush();
    const droppedId = paymentId(signedPayment(alice, dave.publicKey, 5, T0 + 2));
    // The window agreed without `dropped`: the ledger (after a resync) no longer holds it.
    const has = r.t.ledger.hasPayment.bind(r.t.ledger);
    r.t.ledger.hasPayment = (id) => toHex(id) !== toHex(droppedId) && has(id);
    r.intake.agreed(w);
    expect(kept.outcome?.accepted).toBe(true);
    expect(dropped.outcome?.accepted === false && dropped.outcome.code).toBe("NOT_KEPT");
  });

  test("stopping answers what still waits NOT_KEPT, never 'accepted'", () => {
    const { rig: r } = held();
    const p = submit(r, signedPayment(alice, bob.publicKey, 9, T0));
    r.intake.flush();
    r.intake.stop();
    expect(p.outcome?.accepted === false && p.outcome.code).toBe("NOT_KEPT");
  });
});
