// A payment request: what a payee hands a payer (as text or a QR code) so the payer's wallet can
// fill in the payment. Format: `scryp:<payee: 64 lowercase hex>?amount=<1..4294967295>`.
//
// Parsed strictly, because a payer acts on it with money: one spelling per request (lowercase
// scheme and hex, no leading zeros, no percent-encoding), `amount` exactly once, and any other
// parameter refused rather than ignored — a wallet that skipped a parameter it did not know
// could pay something other than what the payee meant. So format(parse(text)) === text.
// Pure (valibot only): the CLI and a browser wallet share it.
import * as v from "valibot";
import { assert } from "./assert.ts";

export const PAYMENT_REQUEST_SCHEME = "scryp:";
/** The largest amount one payment carries: a u32 (PROTOCOL §1). */
const AMOUNT_MAX = 0xffff_ffff;
/** Longer than any valid request (6 + 64 + 18): anything longer is refused before it is split. */
export const PAYMENT_REQUEST_LENGTH_MAX = 128;

export interface PaymentRequest {
  /** The payee's account id, 64 lowercase hex digits. */
  readonly payee: string;
  /** Whole scryp, 1..2^32−1. */
  readonly amount: number;
}

/** A refusal's message reads after "payment request: " (the CLI's words; a wallet may use its own). */
export type ParsedPaymentRequest = { readonly ok: true; readonly request: PaymentRequest } | { readonly ok: false; readonly message: string };

const PayeeSchema = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, "the payee must be an account id: 64 lowercase hex digits"));
const AmountSchema = v.pipe(
  v.string(),
  v.regex(/^[1-9][0-9]{0,9}$/, "amount must be a whole number of scryp from 1, without leading zeros"),
  v.transform(Number),
  v.maxValue(AMOUNT_MAX, `amount must be at most ${AMOUNT_MAX}`),
);
const RequestSchema = v.object({ payee: PayeeSchema, amount: AmountSchema });

/** Whether text looks meant as a request (so a caller can tell it from a bare account id). */
export function isPaymentRequestText(text: string): boolean {
  return text.toLowerCase().startsWith(PAYMENT_REQUEST_SCHEME);
}

export function parsePaymentRequest(text: string): ParsedPaymentRequest {
  const refuse = (message: string): ParsedPaymentRequest => ({ ok: false, message });
  if (text.length > PAYMENT_REQUEST_LENGTH_MAX) return refuse(`it is longer than ${PAYMENT_REQUEST_LENGTH_MAX} characters`);
  if (!text.startsWith(PAYMENT_REQUEST_SCHEME)) return refuse(`it must start with "${PAYMENT_REQUEST_SCHEME}" (lowercase)`);
  const rest = text.slice(PAYMENT_REQUEST_SCHEME.length);
  const question = rest.indexOf("?");
  const payee = question === -1 ? rest : rest.slice(0, question);
  if (question === -1) return refuse("it has no amount (scryp:<payee>?amount=N)");
  let amount: string | undefined;
  for (const parameter of rest.slice(question + 1).split("&")) {
    const equals = parameter.indexOf("=");
    const name = equals === -1 ? parameter : parameter.slice(0, equals);
    if (name !== "amount") return refuse(`unknown parameter '${name}' (only amount is allowed)`);
    if (amount !== undefined) return refuse("amount is given more than once");
    if (equals === -1) return refuse("amount has no value (amount=N)");
    amount = parameter.slice(equals + 1);
  }
  const parsed = v.safeParse(RequestSchema, { payee, amount });
  if (!parsed.success) return refuse(parsed.issues[0].message);
  return { ok: true, request: parsed.output };
}

/** The request's one spelling. A request that is not valid is a bug of the caller: it throws. */
export function formatPaymentRequest(request: PaymentRequest): string {
  const text = `${PAYMENT_REQUEST_SCHEME}${request.payee}?amount=${request.amount}`;
  // Checked the way it will be read: what is written must parse back to the same request.
  const back = parsePaymentRequest(text);
  assert(back.ok && back.request.payee === request.payee && back.request.amount === request.amount, `not a valid payment request: ${back.ok ? text : back.message}`);
  return text;
}
