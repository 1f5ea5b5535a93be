// The history digest and the batch digest (PROTOCOL.md §6a): what a vote commits to beside the
// state hash, so that servers whose balances agree but whose payment histories differ (a window
// whose payments cancel out, applied at one server and not at another) never certify one state.
//
//   history before any payment:  h = 32 zero bytes
//   after window k with payments: h_k = SHA-256("scryp/history/v1" ‖ h_prev ‖ k (i64) ‖ ids of k's payments in order)
//   a window without payments leaves h unchanged (so the chain costs nothing for empty windows,
//   and a server that resynced several windows at once gets the same value as one that saw each)
//   batch digest of window k:     SHA-256("scryp/batch/v1" ‖ k (i64) ‖ ids of the payments applied, in order)
//
// A payment's id is SHA-256 of its 140 bytes (core/payment.ts). Pure functions: the ledger keeps
// the chain, the coordinator puts both digests in its votes.
import { createHash } from "node:crypto";
import { assert } from "./assert.ts";

export const DIGEST_BYTES = 32;
export const HISTORY_DOMAIN = new TextEncoder().encode("scryp/history/v1");
export const BATCH_DOMAIN = new TextEncoder().encode("scryp/batch/v1");
/** The history of a ledger that holds no payment (the genesis). */
export const EMPTY_HISTORY: Uint8Array = new Uint8Array(DIGEST_BYTES);

function windowBytes(window: number): Uint8Array {
  assert(Number.isSafeInteger(window), `a window is an integer, not ${window}`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, BigInt(window), false);
  return out;
}

function digestOf(domain: Uint8Array, parts: readonly Uint8Array[], ids: Uint8Array): Uint8Array {
  const h = createHash("sha256").update(domain);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.update(ids).digest());
}

/** The ids one after another (one hash update instead of one per id: a window may hold 500,000). */
function joined(ids: readonly Uint8Array[]): Uint8Array {
  for (const id of ids) assert(id.length === DIGEST_BYTES, "a payment id is 32 bytes");
  return Buffer.concat(ids);
}

/** The history after window `window`, from the history before it. No payments: unchanged. */
export function historyStep(previous: Uint8Array, window: number, ids: readonly Uint8Array[]): Uint8Array {
  return windowDigests(previous, window, ids).history;
}

/** The digest of the payments applied for `window`, in order (none: the digest of no ids). */
export function batchDigest(window: number, ids: readonly Uint8Array[]): Uint8Array {
  return digestOf(BATCH_DOMAIN, [windowBytes(window)], joined(ids));
}

/** Both digests of a window from one pass over its ids: the history after it and its batch digest. */
export function windowDigests(previous: Uint8Array, window: number, ids: readonly Uint8Array[]): { history: Uint8Array; batch: Uint8Array } {
  assert(previous.length === DIGEST_BYTES, "a history digest is 32 bytes");
  const all = joined(ids);
  const k = windowBytes(window);
  return { history: ids.length === 0 ? previous : digestOf(HISTORY_DOMAIN, [previous, k], all), batch: digestOf(BATCH_DOMAIN, [k], all) };
}
