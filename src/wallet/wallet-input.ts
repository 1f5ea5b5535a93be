// What a wallet user types or picks, read strictly: a seed (64 hex, or a .seed file), a
// passphrase, an amount, a payee (an account id or a scryp: payment request). Each refusal is a
// sentence the page shows as it is. Pure: the page and the tests share it.
import { SEED_BYTES } from "../core/limits.ts";
import { isPaymentRequestText, parsePaymentRequest } from "../core/payment-request.ts";
import { fromHex } from "./hex.ts";

export type Read<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

const ok = <T>(value: T): Read<T> => ({ ok: true, value });
const refuse = <T>(message: string): Read<T> => ({ ok: false, message });

/** The largest amount one payment carries: a u32 (PROTOCOL §1). */
const AMOUNT_MAX = 0xffff_ffff;
/** A passphrase shorter than this is refused: the seed is only as safe as it. */
export const PASSPHRASE_LENGTH_MIN = 8;
/** A .seed file larger than this is not read at all (a seed file is 32 bytes; 64 hex and a newline at most). */
const SEED_FILE_BYTES_MAX = 130;

/** A seed typed or pasted: 64 hex digits (either case; spaces around are ignored). */
export function readSeedText(text: string): Read<Uint8Array> {
  const trimmed = text.trim();
  if (trimmed === "") return refuse("enter the seed: 64 hex digits");
  if (!/^[0-9a-fA-F]*$/.test(trimmed)) return refuse("a seed is 64 hex digits (0-9, a-f); this has other characters");
  if (trimmed.length !== SEED_BYTES * 2) return refuse(`a seed is 64 hex digits; this has ${trimmed.length}`);
  return ok(fromHex(trimmed.toLowerCase(), SEED_BYTES)!);
}

/** A .seed file: the 32 bytes `scryp keygen` writes (or, written by hand, 64 hex digits). */
export function readSeedFile(bytes: Uint8Array): Read<Uint8Array> {
  if (bytes.length === SEED_BYTES) return ok(bytes.slice());
  if (bytes.length > SEED_FILE_BYTES_MAX || bytes.length === 0) return refuse(`a .seed file holds ${SEED_BYTES} bytes; this one holds ${bytes.length}`);
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  const asText = readSeedText(text);
  return asText.ok ? asText : refuse(`a .seed file holds ${SEED_BYTES} bytes (or 64 hex digits); this one holds ${bytes.length} bytes that are neither`);
}

/** A new passphrase, typed twice. */
export function readNewPassphrase(passphrase: string, again: string): Read<string> {
  if (passphrase.length < PASSPHRASE_LENGTH_MIN) return refuse(`choose a passphrase of at least ${PASSPHRASE_LENGTH_MIN} characters`);
  if (passphrase !== again) return refuse("the two passphrases differ");
  return ok(passphrase);
}

/** An amount of whole scryp, 1..2^32−1. */
export function readAmount(text: string): Read<number> {
  const trimmed = text.trim();
  if (trimmed === "") return refuse("enter an amount: a whole number of scryp");
  if (!/^[0-9]+$/.test(trimmed)) return refuse("the amount must be a whole number of scryp (digits only)");
  const amount = Number(trimmed);
  if (amount < 1) return refuse("the amount must be at least 1 scryp");
  if (trimmed.length > 10 || amount > AMOUNT_MAX) return refuse(`the amount must be at most ${AMOUNT_MAX} scryp`);
  return ok(amount);
}

export interface PayInput {
  readonly payee: string;
  readonly amount: number;
  /** Whether the payee and amount came from a payment request. */
  readonly fromRequest: boolean;
}

/**
 * What to pay: the payee field holds an account id (then the amount field counts) or a scryp:
 * payment request (its amount counts; an amount field that says otherwise is refused, so the user
 * sees the conflict rather than the wallet picking one). Never the payer's own account.
 */
export function readPayment(payeeText: string, amountText: string, selfHex: string, balance: number | null): Read<PayInput> {
  const payeeTrimmed = payeeText.trim();
  if (payeeTrimmed === "") return refuse("enter the payee: an account id or a scryp: payment request");
  let payee: string;
  let amount: number;
  let fromRequest = false;
  if (isPaymentRequestText(payeeTrimmed)) {
    const parsed = parsePaymentRequest(payeeTrimmed);
    if (!parsed.ok) return refuse(`payment request: ${parsed.message}`);
    payee = parsed.request.payee;
    amount = parsed.request.amount;
    fromRequest = true;
    if (amountText.trim() !== "" && amountText.trim() !== String(amount)) {
      return refuse(`the payment request asks for ${amount} scryp but the amount field says ${amountText.trim()}: clear one of them`);
    }
  } else {
    if (!/^[0-9a-fA-F]{64}$/.test(payeeTrimmed)) return refuse("the payee must be an account id (64 hex digits) or a scryp: payment request");
    payee = payeeTrimmed.toLowerCase();
    const read = readAmount(amountText);
    if (!read.ok) return read;
    amount = read.value;
  }
  if (payee === selfHex) return refuse("that is your own account: a payment to yourself is refused");
  if (balance !== null && amount > balance) return refuse(`${amount} scryp is more than your balance (${balance} scryp)`);
  return ok({ payee, amount, fromRequest });
}
