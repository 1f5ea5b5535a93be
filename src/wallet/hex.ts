// Hex and payment ids without Node's Buffer or Bun's hashing: what the browser wallet uses where
// the node uses core/bytes.ts (tested equal to it). Text forms are lowercase hex, as everywhere.
import { sha256 } from "@noble/hashes/sha2.js";

const HEX_DIGITS = "0123456789abcdef";

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += HEX_DIGITS[byte >> 4]! + HEX_DIGITS[byte & 15]!;
  return out;
}

/** Lowercase hex of exactly `lengthBytes` bytes, or null. */
export function fromHex(text: string, lengthBytes: number): Uint8Array | null {
  if (text.length !== lengthBytes * 2 || !/^[0-9a-f]*$/.test(text)) return null;
  const out = new Uint8Array(lengthBytes);
  for (let i = 0; i < lengthBytes; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A payment's id: SHA-256 of its 140 bytes (core/payment.ts). */
export function paymentIdHex(bytes: Uint8Array): string {
  return toHex(sha256(bytes));
}
