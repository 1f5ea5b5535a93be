// The UDP reply to one payment datagram, fixed (clients parse it). Never larger than the request,
// so the node cannot be used to amplify traffic toward a forged source address.
//   accepted:             0x00 | payment id (32)
//   rejected, 140 bytes:  tag (1, see errors.ts) | payment id (32) | error code in ASCII
//   rejected, otherwise:  tag (1) | error code in ASCII
// Cut to the request's length. An empty datagram gets no reply.
import { ERROR_CODES, errorCodeFromTag, type ErrorCode } from "./errors.ts";
import { PAYMENT_SIZE_BYTES } from "./limits.ts";
import { equalBytes } from "./bytes.ts";

export const ACCEPTED_TAG = 0;
const ID_BYTES = 32;

export function encodeAccepted(id: Uint8Array, requestBytes: number): Uint8Array {
  const out = new Uint8Array(1 + ID_BYTES);
  out[0] = ACCEPTED_TAG;
  out.set(id, 1);
  return out.subarray(0, Math.min(out.length, requestBytes));
}

export function encodeRejected(code: ErrorCode, id: Uint8Array | null, requestBytes: number): Uint8Array {
  const text = new TextEncoder().encode(code);
  const idPart = requestBytes === PAYMENT_SIZE_BYTES && id !== null ? id : new Uint8Array(0);
  const out = new Uint8Array(1 + idPart.length + text.length);
  out[0] = ERROR_CODES[code];
  out.set(idPart, 1);
  out.set(text, 1 + idPart.length);
  return out.subarray(0, Math.min(out.length, requestBytes));
}

export type UdpReply =
  | { kind: "accepted"; id: Uint8Array }
  | { kind: "rejected"; code: ErrorCode; id: Uint8Array | null }
  | { kind: "malformed" };

/** Parses a reply to a request of `requestBytes` bytes. */
export function decodeReply(reply: Uint8Array, requestBytes: number): UdpReply {
  if (reply.length === 0 || reply.length > requestBytes) return { kind: "malformed" };
  const tag = reply[0]!;
  if (tag === ACCEPTED_TAG) {
    if (reply.length !== 1 + ID_BYTES) return { kind: "malformed" };
    return { kind: "accepted", id: reply.slice(1) };
  }
  const code = errorCodeFromTag(tag);
  if (code === undefined) return { kind: "malformed" };
  const hasId = requestBytes === PAYMENT_SIZE_BYTES && reply.length >= 1 + ID_BYTES;
  const id = hasId ? reply.slice(1, 1 + ID_BYTES) : null;
  // The text after the tag (and id) must be the tag's own code, cut as a node cuts it: a reply
  // whose tag and text disagree, or with bytes after the code, is not a node's, and is not acted on.
  if (!equalBytes(reply, encodeRejected(code, id, requestBytes))) return { kind: "malformed" };
  return { kind: "rejected", code, id };
}
