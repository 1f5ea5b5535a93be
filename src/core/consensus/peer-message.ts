// Server-to-server messages, binary and signed by the sender's server key. Fixed layout:
//   magic "scryp-peer/3" (12) | type (1) | network id (32) | sender key (32)
//   | window (8, big-endian signed) | sent at (8, big-endian, Unix ms) | payload
//   | Ed25519 signature over all before it (64)
// The network id (core/network-id.ts) is signed with the rest, so a message signed for another
// network that shares a server key is refused here, by a comparison, before its signature.
// Payloads:
//   handover (1): base window (8, signed; -1 = genesis) | base hash (32) | state hash (32)
//                 | count (4) | count × 140-byte payments, in acceptance order
//   vote (2):     base window (8, signed) | base hash (32) | batch digest (32) | state hash (32)
//                 | history digest (32): what the voter applied the window on, what it applied,
//                 and where that took it (core/history-digest.ts). Two votes count together only
//                 for one state hash and one history digest.
//   relay (3):    first (4: index of its first payment in the window's acceptance order)
//                 | count (4) | count × 140-byte payments the alpha accepted since its last relay.
//                 Sent during the window so peers check signatures ahead of the handover; the
//                 handover stays the complete, authoritative batch. A receiver stores each relay
//                 that extends what it holds of the window (on disk) before it answers with:
//   held (4):     count (4: how many of the window's payments, from index 0, this server holds)
//                 Sent to the window's alpha; the alpha acknowledges a payment once a strict
//                 majority (itself included) holds it.
//   rescue (5):   base window (8, signed) | base hash (32) | state hash (32) | relay count (4)
//                 | relay count × (length (4) | a relay of the window, signed by its alpha)
//                 Sent when the beta's handover did not come, by the alpha of the next window (or,
//                 in turn, of the ones after it): the window is completed with the longest prefix
//                 of the alpha's relays that a majority of servers answered with (PROTOCOL.md §7).
//   proof (6):    length (4) | a message | length (4) | a message: two validly signed messages of
//                 one server for the header's window that conflict (conflict.ts: two votes, two
//                 handovers on one base, relays or a relay and the handover with different payments
//                 at one position) — proof that it is faulty. Sent by whoever finds them to every
//                 server; each checks both signatures and the conflict before using it.
// The counts are bounded by the network's capacity (peer-limits.ts): checked where a message is
// built (a bug if exceeded) and where it is parsed (a refusal), so encoders and parsers take the limits.
import { KEY_BYTES, PAYMENT_SIZE_BYTES, SIGNATURE_BYTES } from "../limits.ts";
import { sign } from "../keys.ts";
import { equalBytes, toHex } from "../bytes.ts";
import { NETWORK_ID_BYTES } from "../network-id.ts";
import { assert } from "../assert.ts";
import type { Verify } from "../acceptance.ts";
import type { PeerLimits } from "./peer-limits.ts";

export const PEER_MAGIC = new TextEncoder().encode("scryp-peer/3");
/** The magic without its version: a message that starts so but differs is of another scryp. */
const PEER_MAGIC_STEM = new TextEncoder().encode("scryp-peer/");
export const HANDOVER_TYPE = 1;
export const VOTE_TYPE = 2;
export const RELAY_TYPE = 3;
export const HELD_TYPE = 4;
export const RESCUE_TYPE = 5;
export const PROOF_TYPE = 6;
export const NETWORK_ID_OFFSET = PEER_MAGIC.length + 1; // 13
export const SENDER_OFFSET = NETWORK_ID_OFFSET + NETWORK_ID_BYTES; // 45
const HEADER_BYTES = SENDER_OFFSET + KEY_BYTES + 8 + 8; // 93
export const VOTE_BYTES = HEADER_BYTES + 8 + 4 * 32 + SIGNATURE_BYTES; // 293
const HANDOVER_FIXED_BYTES = HEADER_BYTES + 8 + 32 + 32 + 4 + SIGNATURE_BYTES;
const RELAY_FIXED_BYTES = HEADER_BYTES + 4 + 4 + SIGNATURE_BYTES;
export const HELD_BYTES = HEADER_BYTES + 4 + SIGNATURE_BYTES;
const RESCUE_FIXED_BYTES = HEADER_BYTES + 8 + 32 + 32 + 4 + SIGNATURE_BYTES;
/** Bytes of a proof holding two messages of these lengths. */
export function proofBytes(first: number, second: number): number {
  return HEADER_BYTES + 8 + first + second + SIGNATURE_BYTES;
}
/** The shortest message a proof may hold: a bare header and signature. */
const PROVEN_MESSAGE_BYTES_MIN = HEADER_BYTES + SIGNATURE_BYTES;
/** Bytes a relay adds inside a rescue beyond its payments: its length prefix and fixed part. */
export const RESCUE_BYTES_PER_RELAY = 4 + RELAY_FIXED_BYTES;

/** Bytes of a handover of `count` payments. */
export function handoverBytes(count: number): number {
  return HANDOVER_FIXED_BYTES + count * PAYMENT_SIZE_BYTES;
}

/** Bytes of a relay of `count` payments. */
export function relayBytes(count: number): number {
  return RELAY_FIXED_BYTES + count * PAYMENT_SIZE_BYTES;
}

/** Bytes of a rescue carrying relays of `relayBytesTotal` bytes in all, `relayCount` of them. */
export function rescueBytes(relayCount: number, relayBytesTotal: number): number {
  return RESCUE_FIXED_BYTES + 4 * relayCount + relayBytesTotal;
}

export interface Handover {
  readonly type: "handover";
  readonly networkId: Uint8Array;
  readonly sender: Uint8Array;
  readonly window: number;
  readonly sentAtMs: number;
  readonly baseWindow: number;
  readonly baseHash: Uint8Array;
  readonly hash: Uint8Array;
  readonly payments: readonly Uint8Array[];
  readonly bytes: Uint8Array;
}

export interface Vote {
  readonly type: "vote";
  readonly networkId: Uint8Array;
  readonly sender: Uint8Array;
  readonly window: number;
  readonly sentAtMs: number;
  /** The checkpoint the voter applied the window on. */
  readonly baseWindow: number;
  readonly baseHash: Uint8Array;
  /** The digest of the window's payments the voter applied (§6a). */
  readonly batch: Uint8Array;
  /** The state hash after them. */
  readonly hash: Uint8Array;
  /** The history digest after them (§6a). */
  readonly history: Uint8Array;
  readonly bytes: Uint8Array;
}

export interface Relay {
  readonly type: "relay";
  readonly networkId: Uint8Array;
  readonly sender: Uint8Array;
  readonly window: number;
  readonly sentAtMs: number;
  readonly first: number;
  readonly payments: readonly Uint8Array[];
  readonly bytes: Uint8Array;
}

export interface Held {
  readonly type: "held";
  readonly networkId: Uint8Array;
  readonly sender: Uint8Array;
  readonly window: number;
  readonly sentAtMs: number;
  readonly count: number;
  readonly bytes: Uint8Array;
}

export interface Rescue {
  readonly type: "rescue";
  readonly networkId: Uint8Array;
  readonly sender: Uint8Array;
  readonly window: number;
  readonly sentAtMs: number;
  readonly baseWindow: number;
  readonly baseHash: Uint8Array;
  readonly hash: Uint8Array;
  /** The alpha's relays, as sent (each parsed as a relay only by the receiver's coordinator). */
  readonly relays: readonly Uint8Array[];
  readonly bytes: Uint8Array;
}

export interface Proof {
  readonly type: "proof";
  readonly networkId: Uint8Array;
  readonly sender: Uint8Array;
  readonly window: number;
  readonly sentAtMs: number;
  /** The two messages, as signed by the server they prove faulty (parsed by the coordinator). */
  readonly first: Uint8Array;
  readonly second: Uint8Array;
  readonly bytes: Uint8Array;
}

export type PeerMessage = Handover | Vote | Relay | Held | Rescue | Proof;

export function encodeProof(m: Omit<Proof, "type" | "bytes">, seed: Uint8Array, limits: PeerLimits): Uint8Array {
  const out = new Uint8Array(proofBytes(m.first.length, m.second.length));
  assert(out.length <= limits.peerMessageBytesMax, `a proof of ${out.length} bytes is over the peer message bound`);
  const view = new DataView(out.buffer);
  writeFramed(view, out, writeHeader(view, out, PROOF_TYPE, m), [m.first, m.second]);
  return signInto(out, seed);
}

export function encodeHeld(m: Omit<Held, "type" | "bytes">, seed: Uint8Array): Uint8Array {
  assert(Number.isSafeInteger(m.count) && m.count >= 0 && m.count <= 0xffff_ffff, `a held count is a u32, not ${m.count}`);
  const out = new Uint8Array(HELD_BYTES);
  const view = new DataView(out.buffer);
  const o = writeHeader(view, out, HELD_TYPE, m);
  view.setUint32(o, m.count, false);
  return signInto(out, seed);
}

export function encodeRescue(m: Omit<Rescue, "type" | "bytes">, seed: Uint8Array, limits: PeerLimits): Uint8Array {
  assert(m.relays.length <= limits.rescueRelaysMax, `a rescue carries at most ${limits.rescueRelaysMax} relays, not ${m.relays.length}`);
  const total = m.relays.reduce((sum, r) => sum + r.length, 0);
  const out = new Uint8Array(rescueBytes(m.relays.length, total));
  assert(out.length <= limits.peerMessageBytesMax, `a rescue of ${out.length} bytes is over the peer message bound`);
  const view = new DataView(out.buffer);
  let o = writeBatchBase(view, out, writeHeader(view, out, RESCUE_TYPE, m), m);
  view.setUint32(o, m.relays.length, false);
  writeFramed(view, out, o + 4, m.relays);
  return signInto(out, seed);
}

export function encodeRelay(m: Omit<Relay, "type" | "bytes">, seed: Uint8Array, limits: PeerLimits): Uint8Array {
  assert(m.payments.length <= limits.relayPaymentsMax, `a relay holds at most ${limits.relayPaymentsMax} payments, not ${m.payments.length}`);
  assert(Number.isSafeInteger(m.first) && m.first >= 0 && m.first + m.payments.length <= limits.capacity, `a relay ends within the window's capacity of ${limits.capacity} payments`);
  const out = new Uint8Array(relayBytes(m.payments.length));
  const view = new DataView(out.buffer);
  let o = writeHeader(view, out, RELAY_TYPE, m);
  view.setUint32(o, m.first, false);
  o += 4;
  writePayments(view, out, o, m.payments);
  return signInto(out, seed);
}

/** count (4) | count × 140 bytes, at offset o. */
function writePayments(view: DataView, out: Uint8Array, o: number, payments: readonly Uint8Array[]): void {
  view.setUint32(o, payments.length, false);
  o += 4;
  for (const p of payments) {
    if (p.length !== PAYMENT_SIZE_BYTES) throw new RangeError("a payment is 140 bytes");
    out.set(p, o);
    o += PAYMENT_SIZE_BYTES;
  }
}

/** base window (8) | base hash (32) | state hash (32) at offset o; returns the offset after. */
function writeBatchBase(view: DataView, out: Uint8Array, o: number, m: { readonly baseWindow: number; readonly baseHash: Uint8Array; readonly hash: Uint8Array }): number {
  view.setBigInt64(o, BigInt(m.baseWindow), false);
  out.set(m.baseHash, o + 8);
  out.set(m.hash, o + 40);
  return o + 72;
}

type Header = { readonly networkId: Uint8Array; readonly sender: Uint8Array; readonly window: number; readonly sentAtMs: number };

function writeHeader(view: DataView, out: Uint8Array, type: number, m: Header): number {
  assert(m.networkId.length === NETWORK_ID_BYTES, `a network id is ${NETWORK_ID_BYTES} bytes, not ${m.networkId.length}`);
  assert(m.sender.length === KEY_BYTES, `a sender key is ${KEY_BYTES} bytes, not ${m.sender.length}`);
  out.set(PEER_MAGIC, 0);
  let o = PEER_MAGIC.length;
  out[o++] = type;
  out.set(m.networkId, o);
  o += NETWORK_ID_BYTES;
  out.set(m.sender, o);
  o += KEY_BYTES;
  view.setBigInt64(o, BigInt(m.window), false);
  o += 8;
  view.setBigUint64(o, BigInt(m.sentAtMs), false);
  return o + 8;
}

function signInto(out: Uint8Array, seed: Uint8Array): Uint8Array {
  const bodyEnd = out.length - SIGNATURE_BYTES;
  out.set(sign(out.subarray(0, bodyEnd), seed), bodyEnd);
  return out;
}

export function encodeHandover(m: Omit<Handover, "type" | "bytes">, seed: Uint8Array, limits: PeerLimits): Uint8Array {
  // A window never holds more than the capacity (the intake and the ledger refuse WINDOW_FULL): a
  // longer batch here is a bug, and every peer would refuse it.
  assert(m.payments.length <= limits.capacity, `a handover holds at most ${limits.capacity} payments, not ${m.payments.length}`);
  const out = new Uint8Array(handoverBytes(m.payments.length));
  const view = new DataView(out.buffer);
  const o = writeBatchBase(view, out, writeHeader(view, out, HANDOVER_TYPE, m), m);
  writePayments(view, out, o, m.payments);
  return signInto(out, seed);
}

export function encodeVote(m: Omit<Vote, "type" | "bytes">, seed: Uint8Array): Uint8Array {
  for (const [name, digest] of [["base hash", m.baseHash], ["batch digest", m.batch], ["state hash", m.hash], ["history digest", m.history]] as const) {
    assert(digest.length === 32, `a vote's ${name} is 32 bytes, not ${digest.length}`);
  }
  const out = new Uint8Array(VOTE_BYTES);
  const view = new DataView(out.buffer);
  let o = writeHeader(view, out, VOTE_TYPE, m);
  view.setBigInt64(o, BigInt(m.baseWindow), false);
  o += 8;
  for (const digest of [m.baseHash, m.batch, m.hash, m.history]) {
    out.set(digest, o);
    o += 32;
  }
  return signInto(out, seed);
}



export type DecodeResult = { ok: true; message: PeerMessage } | { ok: false; reason: string };

const safeNumber = (n: bigint): number | null => (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(-Number.MAX_SAFE_INTEGER) ? null : Number(n));

/**
 * Parses and checks the signature against the sender key in the message. Membership and role are
 * the coordinator's, which checks them between parsePeerMessage and verifyPeerMessage instead.
 */
export function decodePeerMessage(bytes: Uint8Array, verify: Verify, networkId: Uint8Array, limits: PeerLimits): DecodeResult {
  const parsed = parsePeerMessage(bytes, networkId, limits);
  if (!parsed.ok) return parsed;
  if (!verifyPeerMessage(parsed.message, verify)) return { ok: false, reason: "bad signature" };
  return parsed;
}

/** The sender's signature over everything before it. */
export function verifyPeerMessage(m: PeerMessage, verify: Verify): boolean {
  const bodyEnd = m.bytes.length - SIGNATURE_BYTES;
  return verify(m.bytes.subarray(bodyEnd), m.bytes.subarray(0, bodyEnd), m.sender);
}

/** The id's first 8 bytes in hex: enough to tell two networks apart in a log line. */
const shortId = (id: Uint8Array): string => `${toHex(id.subarray(0, 8))}…`;

/**
 * The layout alone — magic, network id, type, exact length, counts, integer ranges — with no
 * cryptography: what may be checked before the signature, so a malformed or foreign message
 * costs nothing. Counts are checked against this network's limits before the length they imply.
 */
export function parsePeerMessage(bytes: Uint8Array, networkId: Uint8Array, limits: PeerLimits): DecodeResult {
  if (bytes.length < HEADER_BYTES + SIGNATURE_BYTES) return { ok: false, reason: "too short" };
  if (bytes.length > limits.peerMessageBytesMax) return { ok: false, reason: `longer than ${limits.peerMessageBytesMax} bytes` };
  if (!startsWith(bytes, PEER_MAGIC)) {
    if (!startsWith(bytes, PEER_MAGIC_STEM)) return { ok: false, reason: "not a scryp peer message" };
    const version = new TextDecoder().decode(bytes.subarray(0, PEER_MAGIC.length)).replace(/[^\x20-\x7e]/g, "?");
    return { ok: false, reason: `a ${version} message (this server speaks ${new TextDecoder().decode(PEER_MAGIC)})` };
  }
  const messageNetworkId = bytes.subarray(NETWORK_ID_OFFSET, SENDER_OFFSET);
  if (!equalBytes(messageNetworkId, networkId)) return { ok: false, reason: `message for another network (id ${shortId(messageNetworkId)}; this network is ${shortId(networkId)})` };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = bytes[PEER_MAGIC.length]!;
  let o = SENDER_OFFSET;
  const sender = bytes.slice(o, o + KEY_BYTES);
  o += KEY_BYTES;
  const window = safeNumber(view.getBigInt64(o, false));
  o += 8;
  const sentAtMs = safeNumber(view.getBigUint64(o, false));
  o += 8;
  if (window === null || sentAtMs === null) return { ok: false, reason: "window or time out of range" };
  if (type === VOTE_TYPE) {
    if (bytes.length !== VOTE_BYTES) return { ok: false, reason: `a vote is ${VOTE_BYTES} bytes` };
    const baseWindow = safeNumber(view.getBigInt64(o, false));
    if (baseWindow === null || baseWindow < -1 || baseWindow >= window) return { ok: false, reason: "base window out of range" };
    o += 8;
    const digest = (i: number) => bytes.slice(o + 32 * i, o + 32 * (i + 1));
    return { ok: true, message: { type: "vote", networkId: messageNetworkId.slice(), sender, window, sentAtMs, baseWindow, baseHash: digest(0), batch: digest(1), hash: digest(2), history: digest(3), bytes } };
  }
  if (type === HANDOVER_TYPE) {
    if (bytes.length < HANDOVER_FIXED_BYTES) return { ok: false, reason: "handover too short" };
    const { baseWindow, baseHash, hash, count } = readBatchHead(view, bytes, o);
    o += BATCH_HEAD_BYTES;
    if (baseWindow === null) return { ok: false, reason: "base window out of range" };
    if (count > limits.capacity) return { ok: false, reason: `a handover of ${count} payments, more than the window's capacity of ${limits.capacity}` };
    if (bytes.length !== handoverBytes(count)) return { ok: false, reason: "length does not match the payment count" };
    const payments = paymentViews(bytes, o, count);
    return { ok: true, message: { type: "handover", networkId: messageNetworkId.slice(), sender, window, sentAtMs, baseWindow, baseHash, hash, payments, bytes } };
  }
  if (type === RELAY_TYPE) {
    if (bytes.length < RELAY_FIXED_BYTES) return { ok: false, reason: "relay too short" };
    const first = view.getUint32(o, false);
    o += 4;
    const count = view.getUint32(o, false);
    o += 4;
    if (count > limits.relayPaymentsMax) return { ok: false, reason: `a relay of ${count} payments, more than ${limits.relayPaymentsMax}` };
    if (first + count > limits.capacity) return { ok: false, reason: `a relay ending at payment ${first + count}, beyond the window's capacity of ${limits.capacity}` };
    if (bytes.length !== relayBytes(count)) return { ok: false, reason: "length does not match the payment count" };
    const payments = paymentViews(bytes, o, count);
    return { ok: true, message: { type: "relay", networkId: messageNetworkId.slice(), sender, window, sentAtMs, first, payments, bytes } };
  }
  if (type === HELD_TYPE) {
    if (bytes.length !== HELD_BYTES) return { ok: false, reason: `a held message is ${HELD_BYTES} bytes` };
    const count = view.getUint32(o, false);
    if (count > limits.capacity) return { ok: false, reason: `holds ${count} payments, more than the window's capacity of ${limits.capacity}` };
    return { ok: true, message: { type: "held", networkId: messageNetworkId.slice(), sender, window, sentAtMs, count, bytes } };
  }
  if (type === PROOF_TYPE) {
    const parts = readFramed(view, bytes, o, 2, PROVEN_MESSAGE_BYTES_MIN, "proof", "a message");
    if (typeof parts === "string") return { ok: false, reason: parts };
    return { ok: true, message: { type: "proof", networkId: messageNetworkId.slice(), sender, window, sentAtMs, first: parts[0]!.slice(), second: parts[1]!.slice(), bytes } };
  }
  if (type === RESCUE_TYPE) {
    if (bytes.length < RESCUE_FIXED_BYTES) return { ok: false, reason: "rescue too short" };
    const { baseWindow, baseHash, hash, count } = readBatchHead(view, bytes, o);
    o += BATCH_HEAD_BYTES;
    if (baseWindow === null) return { ok: false, reason: "base window out of range" };
    if (count > limits.rescueRelaysMax) return { ok: false, reason: `a rescue of ${count} relays, more than ${limits.rescueRelaysMax}` };
    const relays = readFramed(view, bytes, o, count, RELAY_FIXED_BYTES, "rescue", "a relay");
    if (typeof relays === "string") return { ok: false, reason: relays };
    return { ok: true, message: { type: "rescue", networkId: messageNetworkId.slice(), sender, window, sentAtMs, baseWindow, baseHash, hash, relays, bytes } };
  }
  return { ok: false, reason: `unknown message type ${type}` };
}

/** parts.length × (length (4) | part) at offset o: how a rescue carries relays and a proof messages. */
function writeFramed(view: DataView, out: Uint8Array, o: number, parts: readonly Uint8Array[]): void {
  for (const part of parts) {
    view.setUint32(o, part.length, false);
    out.set(part, o + 4);
    o += 4 + part.length;
  }
}

/**
 * `count` × (length (4) | message) from offset o, each at least `lengthMin` bytes, filling the
 * payload exactly (up to the signature): views of the bytes, or why not.
 */
function readFramed(view: DataView, bytes: Uint8Array, o: number, count: number, lengthMin: number, what: string, part: string): Uint8Array[] | string {
  const end = bytes.length - SIGNATURE_BYTES;
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    if (o + 4 > end) return `${what} truncated`;
    const length = view.getUint32(o, false);
    o += 4;
    if (length < lengthMin || o + length > end) return `${part} in the ${what} has a bad length`;
    parts.push(bytes.subarray(o, o + length));
    o += length;
  }
  return o === end ? parts : `length does not match the ${what}'s messages`;
}

/** base window (8) | base hash (32) | state hash (32) | count (4): how a handover and a rescue begin. */
const BATCH_HEAD_BYTES = 8 + 32 + 32 + 4;

function readBatchHead(view: DataView, bytes: Uint8Array, o: number) {
  return {
    baseWindow: safeNumber(view.getBigInt64(o, false)),
    baseHash: bytes.slice(o + 8, o + 40),
    hash: bytes.slice(o + 40, o + 72),
    count: view.getUint32(o + 72, false),
  };
}

/** `count` 140-byte payments from offset o, as views of the message (no copies). */
function paymentViews(bytes: Uint8Array, o: number, count: number): Uint8Array[] {
  const payments: Uint8Array[] = new Array(count);
  for (let i = 0; i < count; i++) payments[i] = bytes.subarray(o + i * PAYMENT_SIZE_BYTES, o + (i + 1) * PAYMENT_SIZE_BYTES);
  return payments;
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** A consensus certificate: the signed votes of a strict majority for one window and hash, concatenated. */
export function encodeCertificate(votes: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(votes.length * VOTE_BYTES);
  votes.forEach((v, i) => out.set(v, i * VOTE_BYTES));
  return out;
}

export function splitCertificate(bytes: Uint8Array): Uint8Array[] | null {
  if (bytes.length % VOTE_BYTES !== 0) return null;
  const votes: Uint8Array[] = [];
  for (let o = 0; o < bytes.length; o += VOTE_BYTES) votes.push(bytes.subarray(o, o + VOTE_BYTES));
  return votes;
}

/**
 * Whether a stored certificate is of this format and network: votes of VOTE_BYTES each, every one
 * with this magic and network id. No signatures: for a certificate a data directory already holds
 * (one written by an older scryp is not, and is not served).
 */
export function isCertificateOf(bytes: Uint8Array, networkId: Uint8Array): boolean {
  const parts = splitCertificate(bytes);
  if (parts === null || parts.length === 0) return false;
  return parts.every((p) => startsWith(p, PEER_MAGIC) && equalBytes(p.subarray(NETWORK_ID_OFFSET, SENDER_OFFSET), networkId));
}
