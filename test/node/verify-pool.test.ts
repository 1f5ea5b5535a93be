// The verification workers: real worker threads checking real signatures, and the intake's use
// of them (answers only after the commit, bad signatures rejected, flush() never waits on a worker).
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { VerifyPool } from "../../src/node/verify-pool.ts";
import { PaymentIntake, type Outcome } from "../../src/node/payment-intake.ts";
import { Ledger } from "../../src/ledger/ledger.ts";
import { ManualClock } from "../../src/core/clock.ts";
import { verifyNative } from "../../src/core/verify.ts";
import { toHex } from "../../src/core/bytes.ts";
import { signedPayment, tempDir, testKeyPair, waitFor } from "../support/helpers.ts";

const pool = new VerifyPool(2);
const dir = tempDir();
afterAll(() => {
  pool.close();
  dir.cleanup();
});

const payer = testKeyPair(1);
const payee = testKeyPair(2);
const NOW = 1_800_000_000_000;

test("workers give the same verdicts as verifyNative, valid and tampered", async () => {
  const payments = Array.from({ length: 50 }, (_, i) => signedPayment(payer, payee.publicKey, 1 + i, NOW + i));
  const tampered = payments.map((p, i) => {
    const copy = new Uint8Array(p);
    if (i % 2 === 1) copy[80]! ^= 1 << (i % 8);
    return copy;
  });
  const verdicts = await pool.verify(tampered);
  expect(verdicts.length).toBe(50);
  tampered.forEach((p, i) => {
    const expected = verifyNative(p.subarray(76), p.subarray(0, 76), p.subarray(44, 76));
    expect(verdicts[i], `payment ${i}`).toBe(expected ? 1 : 0);
    expect(verdicts[i], `payment ${i}`).toBe(i % 2 === 0 ? 1 : 0);
  });
});

function intakeWith(name: string) {
  const ledger = Ledger.open(join(dir.path, `${name}.sqlite`), { genesis: new Map([[toHex(payer.publicKey), 1_000]]), nowMs: NOW });
  const intake = new PaymentIntake({
    ledger,
    clock: new ManualClock(NOW),
    skewMs: 5_000,
    verify: verifyNative,
    gate: () => null,
    windowAt: () => 1,
    capacity: 200_000,
    verifyPool: pool,
  });
  return { ledger, intake };
}

test("with workers: valid payments are accepted after the commit, a bad signature is SIGNATURE_INVALID", async () => {
  const { ledger, intake } = intakeWith("async");
  const good = signedPayment(payer, payee.publicKey, 10, NOW);
  const bad = new Uint8Array(signedPayment(payer, payee.publicKey, 11, NOW));
  bad[100]! ^= 0x40;
  const outcomes: Outcome[] = [];
  intake.submit(good, (o) => outcomes.push(o));
  intake.submit(bad, (o) => outcomes.push(o));
  expect(outcomes).toEqual([]); // nothing is answered before the worker and the commit
  await waitFor(() => outcomes.length === 2, 5_000, "both answers");
  const byAccepted = outcomes.map((o) => (o.accepted ? "accepted" : o.code)).sort();
  expect(byAccepted).toEqual(["SIGNATURE_INVALID", "accepted"]);
  expect(ledger.balance(payer.publicKey)).toBe(990);
  expect(ledger.totals().payments).toBe(1);
  ledger.close();
});

test("flush() settles payments still with a worker, synchronously (a handover cannot wait)", () => {
  const { ledger, intake } = intakeWith("flush");
  const outcomes: Outcome[] = [];
  for (let i = 0; i < 20; i++) intake.submit(signedPayment(payer, payee.publicKey, 1, NOW + i), (o) => outcomes.push(o));
  expect(intake.pendingCount).toBe(20);
  intake.flush();
  expect(outcomes.length).toBe(20);
  expect(outcomes.every((o) => o.accepted)).toBe(true);
  expect(intake.pendingCount).toBe(0);
  expect(ledger.balance(payer.publicKey)).toBe(980);
  ledger.close();
});
