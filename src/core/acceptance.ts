// The acceptance rules for a payment, as pure functions. The node checks the rules that need no
// ledger first (cheap, and they can run before the commit group), then the ledger rules inside the
// commit group's transaction, where earlier payments of the same group are visible.
import { decodePayment, signedPart, type Payment } from "./payment.ts";
import { equalBytes } from "./bytes.ts";
import type { ErrorCode } from "./errors.ts";

export type Verify = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;

export type StatelessResult = { ok: true; payment: Payment } | { ok: false; code: ErrorCode };

/**
 * Rules 1–3: exactly 140 bytes, amount ≥ 1, payer ≠ payee; timestamp within ±skew of now;
 * signature valid (strict RFC 8032).
 */
export function checkStateless(bytes: Uint8Array, nowMs: number, skewMs: number, verify: Verify): StatelessResult {
  const result = checkBeforeSignature(bytes, nowMs, skewMs);
  if (!result.ok) return result;
  if (!verifyPaymentSignature(result.payment, verify)) return { ok: false, code: "SIGNATURE_INVALID" };
  return result;
}

/** The one home of a payment's signature check: the payer's signature over the signed part. */
export function verifyPaymentSignature(payment: Payment, verify: Verify): boolean {
  return verify(payment.signature, signedPart(payment.bytes), payment.payer);
}

/** Rules 1–2, the cheap ones: what may run before the signature is checked elsewhere (a worker). */
export function checkBeforeSignature(bytes: Uint8Array, nowMs: number, skewMs: number): StatelessResult {
  const payment = decodePayment(bytes);
  if (payment === null) return { ok: false, code: "PAYMENT_SIZE" };
  if (payment.amount < 1) return { ok: false, code: "AMOUNT_ZERO" };
  if (equalBytes(payment.payer, payment.payee)) return { ok: false, code: "SELF_PAYMENT" };
  if (Math.abs(payment.timestampMs - nowMs) > skewMs) return { ok: false, code: "TIMESTAMP_SKEW" };
  return { ok: true, payment };
}

/** What the ledger knows that rules 4–5 need. */
export interface LedgerFacts {
  /** The bytes of an accepted payment with the same first 76 bytes, if any. */
  readonly sameSignedPart: Uint8Array | undefined;
  /** The payer's balance, or undefined when the payer has no account. */
  readonly payerBalance: number | undefined;
}

export type LedgerDecision =
  | { kind: "apply" }
  /** The very same 140 bytes were accepted before: a retransmission. Answer "accepted" again, apply nothing. */
  | { kind: "already-accepted" }
  | { kind: "reject"; code: ErrorCode };

/**
 * Rules 4–5: not a duplicate (same first 76 bytes, never the signature alone), and the payer holds
 * at least the amount. Duplicates are checked first so a retransmitted payment is recognised even
 * after it spent the balance it needed.
 */
export function decideAgainstLedger(payment: Payment, facts: LedgerFacts): LedgerDecision {
  // Checked here too, not only in checkStateless: a self-payment reaching the ledger would be
  // applied as a credit without its debit (both sides are the same account) and mint money.
  if (equalBytes(payment.payer, payment.payee)) return { kind: "reject", code: "SELF_PAYMENT" };
  if (facts.sameSignedPart !== undefined) {
    return equalBytes(facts.sameSignedPart, payment.bytes) ? { kind: "already-accepted" } : { kind: "reject", code: "DUPLICATE" };
  }
  // An account exists only while its balance is above 0 (the ledger removes it at 0). A payer at 0
  // is therefore an unknown payer, whether or not some store still holds its row: every server must
  // answer the same code for the same payment.
  if (facts.payerBalance === undefined || facts.payerBalance === 0) return { kind: "reject", code: "UNKNOWN_PAYER" };
  if (facts.payerBalance < payment.amount) return { kind: "reject", code: "INSUFFICIENT_BALANCE" };
  return { kind: "apply" };
}
