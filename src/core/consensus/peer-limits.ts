// The sizes that follow from a network's capacity (the most payments one window may hold), derived
// in this one place so that what a server writes and what its peers read agree, and checked
// against each other once, when they are built. Pure.
//   handover          ≤ capacity payments                        (written: encodeHandover; read: parse)
//   relay             ≤ min(RELAY_PAYMENTS_MAX, capacity) payments, and first + count ≤ capacity
//   /peer/message     body ≤ the largest handover, in bytes     (peer guard and body limit)
//   resync answer     ≤ max(RESYNC_PAYMENTS_BASE, capacity) rows (served and read)
//   relay check queue ≤ 2 × capacity payments (relays are taken for the current and previous window)
//   rescue            ≤ RESCUE_RELAYS_MAX relays holding ≤ capacity payments: the largest peer message
import { assert } from "../assert.ts";
import {
  CAPACITY_PAYMENTS_MAX,
  CAPACITY_PAYMENTS_MIN,
  HTTP_REQUEST_BODY_BYTES_MAX,
  RELAY_PAYMENTS_MAX,
  RESYNC_PAYMENTS_BASE,
  RESYNC_ROW_BYTES,
  RESCUE_RELAYS_MAX,
  PAYMENT_SIZE_BYTES,
} from "../limits.ts";
import { handoverBytes, relayBytes, RESCUE_BYTES_PER_RELAY, rescueBytes, VOTE_BYTES } from "./peer-message.ts";

export interface PeerLimits {
  /** Payments one window may hold: the network file's `capacity`. */
  readonly capacity: number;
  /** Payments one relay message may hold. */
  readonly relayPaymentsMax: number;
  /** Bytes of the largest handover (capacity payments). */
  readonly handoverBytesMax: number;
  /** Bytes of the largest peer message of any type: the body bound of POST /peer/message. */
  readonly peerMessageBytesMax: number;
  /** Rows one resync answer may hold, and its bytes. */
  readonly resyncPaymentsMax: number;
  readonly resyncAnswerBytesMax: number;
  /** Relayed payments a receiver queues for a signature check; beyond, they are checked at the handover. */
  readonly preverifyQueueMax: number;
  /** Relays one rescue (or one GET /peer/relays answer) may carry, and the largest rescue's bytes. */
  readonly rescueRelaysMax: number;
  readonly rescueBytesMax: number;
}

export function peerLimits(capacity: number): PeerLimits {
  assert(Number.isSafeInteger(capacity) && capacity >= CAPACITY_PAYMENTS_MIN && capacity <= CAPACITY_PAYMENTS_MAX, `capacity ${capacity} out of range`);
  const relayPaymentsMax = Math.min(RELAY_PAYMENTS_MAX, capacity);
  const handoverBytesMax = handoverBytes(capacity);
  // A rescue's relays form a chain in which each adds at least one payment: at most `capacity`.
  const rescueRelaysMax = Math.min(RESCUE_RELAYS_MAX, capacity);
  // Relays of the whole window, each with its fixed part and length prefix.
  const rescueBytesMax = rescueBytes(rescueRelaysMax, rescueRelaysMax * (RESCUE_BYTES_PER_RELAY - 4) + capacity * PAYMENT_SIZE_BYTES);
  const peerMessageBytesMax = Math.max(handoverBytesMax, relayBytes(relayPaymentsMax), VOTE_BYTES, rescueBytesMax);
  const resyncPaymentsMax = Math.max(RESYNC_PAYMENTS_BASE, capacity);
  const limits: PeerLimits = {
    capacity,
    relayPaymentsMax,
    handoverBytesMax,
    peerMessageBytesMax,
    resyncPaymentsMax,
    resyncAnswerBytesMax: resyncPaymentsMax * RESYNC_ROW_BYTES,
    preverifyQueueMax: 2 * capacity,
    rescueRelaysMax,
    rescueBytesMax,
  };
  // The relations the protocol relies on.
  assert(limits.peerMessageBytesMax === limits.rescueBytesMax && limits.rescueBytesMax >= limits.handoverBytesMax, "a rescue is the largest peer message");
  assert(limits.resyncPaymentsMax >= capacity, "one window fits in one resync answer");
  assert(limits.relayPaymentsMax <= capacity, "one relay never holds more than a window");
  assert(limits.preverifyQueueMax >= 2 * capacity, "the relay check queue holds the current and the previous window");
  return limits;
}

// Once, at load: the largest network this build accepts still fits Bun's request bodies.
assert(peerLimits(CAPACITY_PAYMENTS_MAX).peerMessageBytesMax <= HTTP_REQUEST_BODY_BYTES_MAX, "the largest rescue fits one HTTP request body");
assert(RESYNC_PAYMENTS_BASE >= RELAY_PAYMENTS_MAX, "a resync answer holds at least a relay's worth");
