// The sizes that follow from a network's capacity, and the codec checking them on both sides: a
// handover or relay at the capacity is built and parsed; one payment more is a bug where it is
// built (an assertion) and a refusal where it is parsed.
import { describe, expect, test } from "bun:test";
import { peerLimits } from "../../src/core/consensus/peer-limits.ts";
import { encodeHandover, encodeRelay, handoverBytes, parsePeerMessage, relayBytes } from "../../src/core/consensus/peer-message.ts";
import { AssertionError } from "../../src/core/assert.ts";
import { keyPairFromSeed } from "../../src/core/keys.ts";
import { CAPACITY_PAYMENTS_DEFAULT, CAPACITY_PAYMENTS_MAX, HTTP_REQUEST_BODY_BYTES_MAX, RELAY_PAYMENTS_MAX, RESYNC_PAYMENTS_BASE, RESYNC_ROW_BYTES } from "../../src/core/limits.ts";

const server = keyPairFromSeed(new Uint8Array(32).fill(9));
const NETWORK_ID = new Uint8Array(32).fill(3);
const payments = (n: number) => Array.from({ length: n }, (_, i) => new Uint8Array(140).fill(i % 251));

function handover(n: number, limits = peerLimits(n)) {
  return encodeHandover(
    { networkId: NETWORK_ID, sender: server.publicKey, window: 7, sentAtMs: 1_000, baseWindow: 6, baseHash: new Uint8Array(32), hash: new Uint8Array(32).fill(1), payments: payments(n) },
    server.seed,
    limits,
  );
}

function relay(first: number, n: number, limits: ReturnType<typeof peerLimits>) {
  return encodeRelay({ networkId: NETWORK_ID, sender: server.publicKey, window: 7, sentAtMs: 1_000, first, payments: payments(n) }, server.seed, limits);
}

describe("derived limits", () => {
  test("the default network: 200,000 payments, a 28 MB handover, a rescue of 4,096 relays, the old relay and resync bounds", () => {
    const l = peerLimits(CAPACITY_PAYMENTS_DEFAULT);
    expect(l.handoverBytesMax).toBe(233 + 200_000 * 140);
    // The rescue carries the same payments inside at most 4,096 relays (169 bytes of framing each).
    expect(l.rescueRelaysMax).toBe(4096);
    expect(l.rescueBytesMax).toBe(233 + 4 * 4096 + 4096 * 165 + 200_000 * 140);
    expect(l.peerMessageBytesMax).toBe(l.rescueBytesMax);
    expect(l.relayPaymentsMax).toBe(RELAY_PAYMENTS_MAX);
    expect(l.resyncPaymentsMax).toBe(200_000);
    expect(l.resyncAnswerBytesMax).toBe(200_000 * RESYNC_ROW_BYTES);
    expect(l.preverifyQueueMax).toBe(400_000);
  });
  test("a small capacity shrinks the messages; resync answers keep their base so catching up stays cheap", () => {
    const l = peerLimits(20);
    expect(l.handoverBytesMax).toBe(handoverBytes(20));
    // A chain of relays adds at least one payment a relay: at most 20 of them.
    expect(l.rescueRelaysMax).toBe(20);
    expect(l.peerMessageBytesMax).toBe(233 + 20 * (4 + 165) + 20 * 140);
    expect(l.relayPaymentsMax).toBe(20);
    expect(l.resyncPaymentsMax).toBe(RESYNC_PAYMENTS_BASE);
    expect(l.preverifyQueueMax).toBe(40);
  });
  test("the largest capacity: one window fits one resync answer, the handover one request body", () => {
    const l = peerLimits(CAPACITY_PAYMENTS_MAX);
    expect(l.resyncPaymentsMax).toBe(CAPACITY_PAYMENTS_MAX);
    expect(l.peerMessageBytesMax).toBeLessThanOrEqual(HTTP_REQUEST_BODY_BYTES_MAX);
  });
  test("a capacity outside 1..max is a bug (the network file refuses it first)", () => {
    for (const c of [0, -1, 1.5, CAPACITY_PAYMENTS_MAX + 1]) expect(() => peerLimits(c)).toThrow(AssertionError);
  });
});

describe("handover: capacity and capacity + 1", () => {
  test("a handover of exactly capacity payments is built and parsed", () => {
    const l = peerLimits(20);
    const bytes = handover(20, l);
    expect(bytes.length).toBe(l.handoverBytesMax);
    const parsed = parsePeerMessage(bytes, NETWORK_ID, l);
    expect(parsed.ok && parsed.message.type === "handover" && parsed.message.payments.length).toBe(20);
  });
  test("building one of capacity + 1 is a bug: encodeHandover asserts", () => {
    expect(() => handover(21, peerLimits(20))).toThrow(AssertionError);
  });
  test("parsing one of capacity + 1 (built by a server with a larger capacity) is refused, from its count", () => {
    const bytes = handover(21, peerLimits(21));
    expect(parsePeerMessage(bytes, NETWORK_ID, peerLimits(21)).ok).toBe(true);
    const parsed = parsePeerMessage(bytes, NETWORK_ID, peerLimits(20));
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.reason).toContain("a handover of 21 payments, more than the window's capacity of 20");
  });
  test("a count field above the capacity is refused before the length it implies", () => {
    const l = peerLimits(20);
    const bytes = handover(20, l);
    // The count sits just before the payments: 4 bytes at offset 93 + 8 + 32 + 32 (the header is 93 bytes).
    new DataView(bytes.buffer).setUint32(93 + 72, 0xffff_ffff, false);
    const parsed = parsePeerMessage(bytes, NETWORK_ID, l);
    expect(!parsed.ok && parsed.reason).toContain("more than the window's capacity");
  });
});

describe("relay: count per relay and first + count ≤ capacity", () => {
  test("a relay ending exactly at the capacity is built and parsed", () => {
    const l = peerLimits(20);
    const parsed = parsePeerMessage(relay(15, 5, l), NETWORK_ID, l);
    expect(parsed.ok && parsed.message.type === "relay" && [parsed.message.first, parsed.message.payments.length]).toEqual([15, 5]);
  });
  test("one ending at capacity + 1 is a bug where built and refused where parsed", () => {
    expect(() => relay(16, 5, peerLimits(20))).toThrow(AssertionError);
    const parsed = parsePeerMessage(relay(16, 5, peerLimits(21)), NETWORK_ID, peerLimits(20));
    expect(!parsed.ok && parsed.reason).toContain("beyond the window's capacity of 20");
  });
  test("more payments in one relay than a relay holds is refused even within the capacity", () => {
    const big = peerLimits(CAPACITY_PAYMENTS_DEFAULT);
    expect(() => relay(0, RELAY_PAYMENTS_MAX + 1, big)).toThrow(AssertionError);
    const bytes = relay(0, RELAY_PAYMENTS_MAX, big);
    new DataView(bytes.buffer).setUint32(93 + 4, RELAY_PAYMENTS_MAX + 1, false);
    const parsed = parsePeerMessage(bytes, NETWORK_ID, big);
    expect(!parsed.ok && parsed.reason).toContain(`more than ${RELAY_PAYMENTS_MAX}`);
    expect(relayBytes(RELAY_PAYMENTS_MAX)).toBeLessThan(big.peerMessageBytesMax);
  });
  test("a message longer than any message of this network is refused from its length alone", () => {
    const l = peerLimits(20);
    const parsed = parsePeerMessage(handover(80, peerLimits(80)), NETWORK_ID, l);
    expect(!parsed.ok && parsed.reason).toContain(`longer than ${l.peerMessageBytesMax} bytes`);
  });
});
