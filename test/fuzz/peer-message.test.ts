// Fuzz: server-to-server message decoding (core/consensus/peer-message.ts) through its exported
// functions only, with the node's real verifier. Random bytes, mutations of signed messages, and
// mutations signed again by the sender (so the checks after the signature see them too). Decoding
// must never throw, must never accept what the sender did not sign, and must return only messages
// that encode back to the very bytes received. The layout offsets below come from the format
// documented at the top of peer-message.ts, not from the decoder's code.
import { describe, expect, test } from "bun:test";
import {
  decodePeerMessage,
  encodeCertificate,
  encodeHandover,
  encodeRelay,
  encodeHeld,
  encodeProof,
  encodeRescue,
  encodeVote,
  HANDOVER_TYPE,
  PEER_MAGIC,
  RELAY_TYPE,
  splitCertificate,
  VOTE_BYTES,
  VOTE_TYPE,
  type PeerMessage,
} from "../../src/core/consensus/peer-message.ts";
import { verifySignature } from "../../src/core/verify.ts";
import { sign } from "../../src/core/keys.ts";
import { equalBytes, toHex } from "../../src/core/bytes.ts";
import { PAYMENT_SIZE_BYTES, SIGNATURE_BYTES } from "../../src/core/limits.ts";
import { testKeyPair } from "../support/helpers.ts";
import { peerLimits } from "../../src/core/consensus/peer-limits.ts";
import { CAPACITY_PAYMENTS_DEFAULT } from "../../src/core/limits.ts";

/** The limits of a network with the default capacity. */
const LIMITS = peerLimits(CAPACITY_PAYMENTS_DEFAULT);
import { concatBytes, Fuzz, FUZZ_SEED, fuzzCases, mutate, randomLength, type IntegerField } from "./fuzz-support.ts";

const SENDER = testKeyPair(0x51);
/** The network the messages are for and the decoder expects (any 32 bytes). */
const NETWORK_ID = new Uint8Array(32).fill(0x4e);
const NETWORK_ID_OFFSET = PEER_MAGIC.length + 1;
const HEADER_BYTES = PEER_MAGIC.length + 1 + 32 + 32 + 8 + 8;
const HANDOVER_PAYMENTS_OFFSET = HEADER_BYTES + 8 + 32 + 32 + 4;
const RELAY_PAYMENTS_OFFSET = HEADER_BYTES + 4 + 4;
const FIELDS: readonly IntegerField[] = [
  { offset: PEER_MAGIC.length, widthBytes: 1 }, // type
  { offset: NETWORK_ID_OFFSET, widthBytes: 1 }, // network id, first byte
  { offset: NETWORK_ID_OFFSET + 31, widthBytes: 1 }, // network id, last byte
  { offset: NETWORK_ID_OFFSET + 32 + 32, widthBytes: 8 }, // window
  { offset: NETWORK_ID_OFFSET + 32 + 32 + 8, widthBytes: 8 }, // sent at
  { offset: HEADER_BYTES, widthBytes: 8 }, // handover: base window
  { offset: HEADER_BYTES, widthBytes: 4 }, // relay: first
  { offset: HEADER_BYTES + 4, widthBytes: 4 }, // relay: count
  { offset: HANDOVER_PAYMENTS_OFFSET - 4, widthBytes: 4 }, // handover: count
  { offset: HEADER_BYTES + 32, widthBytes: 1 }, // vote: applied
];
const LENGTHS = [0, HEADER_BYTES + SIGNATURE_BYTES - 1, HEADER_BYTES + SIGNATURE_BYTES, VOTE_BYTES, RELAY_PAYMENTS_OFFSET + SIGNATURE_BYTES, HANDOVER_PAYMENTS_OFFSET + SIGNATURE_BYTES];

/** Counts that would match a message's length, for the count fields. */
function plausibleCounts(length: number): number[] {
  return [HANDOVER_PAYMENTS_OFFSET, RELAY_PAYMENTS_OFFSET].map((o) => Math.floor((length - o - SIGNATURE_BYTES) / PAYMENT_SIZE_BYTES));
}

function window(fuzz: Fuzz): number {
  return fuzz.pick([0, 1, -1, 2 ** 31, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, fuzz.int(0, 30_000_000)]);
}

function randomMessage(fuzz: Fuzz, seed = SENDER.seed, sender = SENDER.publicKey): Uint8Array {
  const common = { networkId: NETWORK_ID, sender, window: window(fuzz), sentAtMs: fuzz.pick([0, Number.MAX_SAFE_INTEGER, Date.UTC(2027, 0, 15) + fuzz.int(0, 1e9)]) };
  const payments = Array.from({ length: fuzz.pick([0, 1, 2, fuzz.int(0, 6)]) }, () => fuzz.bytes(PAYMENT_SIZE_BYTES));
  switch (fuzz.int(0, 5)) {
    case 5: {
      // A proof carries two messages as bytes; the parser checks only their framing (the coordinator parses them).
      const part = () => encodeRelay({ ...common, first: fuzz.int(0, 100), payments }, seed, LIMITS);
      return encodeProof({ ...common, first: part(), second: part() }, seed, LIMITS);
    }
    case 0: {
      // A vote is for a window after its base (−1 = genesis): a window of at least 0.
      const w = Math.max(0, common.window);
      return encodeVote({ ...common, window: w, baseWindow: fuzz.pick([-1, w - 1, fuzz.int(-1, w - 1)]), baseHash: fuzz.bytes(32), batch: fuzz.bytes(32), hash: fuzz.bytes(32), history: fuzz.bytes(32) }, seed);
    }
    case 2:
      return encodeHeld({ ...common, count: fuzz.pick([0, 1, LIMITS.capacity, fuzz.int(0, LIMITS.capacity)]) }, seed);
    case 3: {
      // A rescue carries relays as bytes; the parser checks only their framing (the coordinator parses them).
      const relays = Array.from({ length: fuzz.int(0, 3) }, () => encodeRelay({ ...common, first: fuzz.int(0, 100), payments }, seed, LIMITS));
      return encodeRescue({ ...common, baseWindow: fuzz.pick([-1, 0, window(fuzz)]), baseHash: fuzz.bytes(32), hash: fuzz.bytes(32), relays }, seed, LIMITS);
    }
    case 1:
      return encodeHandover({ ...common, baseWindow: fuzz.pick([-1, 0, window(fuzz)]), baseHash: fuzz.bytes(32), hash: fuzz.bytes(32), payments }, seed, LIMITS);
    default:
      // A real relay ends within the window's capacity (the encoder asserts it); mutations of
      // the count and `first` fields, below, go beyond.
      return encodeRelay({ ...common, first: fuzz.pick([0, 1, LIMITS.capacity - payments.length, fuzz.int(0, 100_000)]), payments }, seed, LIMITS);
  }
}

/** Encodes a decoded message again with `seed`. */
function reencode(m: PeerMessage, seed: Uint8Array): Uint8Array {
  switch (m.type) {
    case "vote":
      return encodeVote(m, seed);
    case "handover":
      return encodeHandover(m, seed, LIMITS);
    case "relay":
      return encodeRelay(m, seed, LIMITS);
    case "held":
      return encodeHeld(m, seed);
    case "rescue":
      return encodeRescue(m, seed, LIMITS);
    case "proof":
      return encodeProof(m, seed, LIMITS);
  }
}

/** Signs `bytes` again as SENDER (the last 64 bytes are the signature over all before them). */
function resign(bytes: Uint8Array): Uint8Array {
  if (bytes.length < SIGNATURE_BYTES) return bytes;
  const out = bytes.slice();
  const bodyEnd = out.length - SIGNATURE_BYTES;
  out.set(sign(out.subarray(0, bodyEnd), SENDER.seed), bodyEnd);
  return out;
}

/** Never throws; a decoded message is consistent and encodes back to the same bytes. */
function checkMessage(fuzz: Fuzz, bytes: Uint8Array, verify = verifySignature): ReturnType<typeof decodePeerMessage> {
  fuzz.input(bytes);
  const result = decodePeerMessage(bytes, verify, NETWORK_ID, LIMITS);
  if (!result.ok) {
    expect(typeof result.reason).toBe("string");
    return result;
  }
  const m = result.message;
  expect(equalBytes(m.bytes, bytes)).toBe(true);
  expect(Number.isSafeInteger(m.window) && Number.isSafeInteger(m.sentAtMs) && m.sentAtMs >= 0).toBe(true);
  if (m.type === "handover" || m.type === "relay") for (const p of m.payments) expect(p.length).toBe(PAYMENT_SIZE_BYTES);
  const again = reencode(m, SENDER.seed);
  if (verify === verifySignature) {
    // Signed by SENDER (nothing else can pass the real verifier here): the very same bytes.
    expect(toHex(again)).toBe(toHex(bytes));
  } else {
    expect(toHex(again.subarray(0, -SIGNATURE_BYTES))).toBe(toHex(bytes.subarray(0, -SIGNATURE_BYTES)));
  }
  return result;
}

const poolFuzz = new Fuzz(FUZZ_SEED);
const VALID_POOL = Array.from({ length: 48 }, () => randomMessage(poolFuzz));
const typeOf = (bytes: Uint8Array) => bytes[PEER_MAGIC.length];

describe("fuzz: peer message decoding", () => {
  test("the pool of valid messages decodes and round trips (the fuzz starts from real messages)", () => {
    fuzzCases("peer-message/pool", VALID_POOL.length, (fuzz, i) => {
      expect(checkMessage(fuzz, VALID_POOL[i]!).ok).toBe(true);
    });
  });

  test("random bytes, with and without the magic", () => {
    fuzzCases("peer-message/random", 3000, (fuzz) => {
      let bytes = fuzz.bytes(randomLength(fuzz, LENGTHS, 3000));
      if (fuzz.chance(0.8)) bytes = concatBytes(PEER_MAGIC, new Uint8Array([fuzz.pick([HANDOVER_TYPE, VOTE_TYPE, RELAY_TYPE, fuzz.int(0, 255)])]), fuzz.chance(0.7) ? NETWORK_ID : fuzz.bytes(32), bytes);
      expect(checkMessage(fuzz, bytes).ok).toBe(false);
    });
  });

  test("mutations of signed messages are refused unless they are a message SENDER signed", () => {
    fuzzCases("peer-message/mutations", 3000, (fuzz) => {
      const valid = fuzz.pick(VALID_POOL);
      const other = fuzz.pick(VALID_POOL);
      const bytes = mutate(fuzz, valid, FIELDS, [other], plausibleCounts(valid.length));
      const result = checkMessage(fuzz, bytes);
      if (result.ok) expect(VALID_POOL.some((v) => equalBytes(v, bytes))).toBe(true);
    });
  });

  test("mutations signed again by the sender: the checks after the signature", () => {
    fuzzCases("peer-message/mutations-resigned", 1500, (fuzz) => {
      const valid = fuzz.pick(VALID_POOL);
      const bytes = resign(mutate(fuzz, valid, FIELDS, [fuzz.pick(VALID_POOL)], plausibleCounts(valid.length)));
      const result = checkMessage(fuzz, bytes);
      // Each type has one length for its count: a different length of the same type is refused.
      if (result.ok && typeOf(bytes) === VOTE_TYPE) expect(bytes.length).toBe(VOTE_BYTES);
    });
  });

  test("with a verifier that accepts everything, the structure alone is checked the same way", () => {
    fuzzCases("peer-message/structure", 1500, (fuzz) => {
      const valid = fuzz.pick(VALID_POOL);
      const bytes = fuzz.chance(0.2)
        ? concatBytes(PEER_MAGIC, new Uint8Array([fuzz.int(1, 3)]), NETWORK_ID, fuzz.bytes(randomLength(fuzz, LENGTHS, 1000)))
        : mutate(fuzz, valid, FIELDS, [fuzz.pick(VALID_POOL)], plausibleCounts(valid.length));
      checkMessage(fuzz, bytes, () => true);
    });
  });
});

describe("another network's messages", () => {
  test("every valid message, expected for another network, is refused before its signature is checked", () => {
    const otherId = NETWORK_ID.slice();
    otherId[31] = otherId[31]! ^ 0x01;
    let verified = 0;
    const counting = () => {
      verified++;
      return true;
    };
    for (const bytes of VALID_POOL) {
      const result = decodePeerMessage(bytes, counting, otherId, LIMITS);
      expect(result.ok).toBe(false);
      expect(!result.ok && result.reason).toStartWith(`message for another network (id ${toHex(NETWORK_ID.subarray(0, 8))}…; this network is ${toHex(otherId.subarray(0, 8))}…)`);
    }
    expect(verified).toBe(0);
    // Control: for their own network they reach the signature check.
    for (const bytes of VALID_POOL) expect(decodePeerMessage(bytes, counting, NETWORK_ID, LIMITS).ok).toBe(true);
    expect(verified).toBe(VALID_POOL.length);
  });

  test("a message of the previous format (scryp-peer/2) is named as such", () => {
    const old = VALID_POOL[0]!.slice();
    old.set(new TextEncoder().encode("scryp-peer/2"), 0);
    const result = decodePeerMessage(old, verifySignature, NETWORK_ID, LIMITS);
    expect(!result.ok && result.reason).toBe("a scryp-peer/2 message (this server speaks scryp-peer/3)");
  });
});

describe("fuzz: certificates", () => {
  test("splitCertificate: votes of 293 bytes that concatenate back to the input, or null", () => {
    fuzzCases("peer-message/certificate", 1000, (fuzz) => {
      const votes = VALID_POOL.filter((m) => typeOf(m) === VOTE_TYPE);
      const real = encodeCertificate(Array.from({ length: fuzz.int(0, 5) }, () => (votes.length > 0 ? fuzz.pick(votes) : new Uint8Array(VOTE_BYTES))));
      const bytes = fuzz.chance(0.5) ? mutate(fuzz, real, [], votes) : fuzz.bytes(randomLength(fuzz, [0, VOTE_BYTES, 2 * VOTE_BYTES, 3 * VOTE_BYTES], 2000));
      fuzz.input(bytes);
      const parts = splitCertificate(bytes);
      expect(parts === null).toBe(bytes.length % VOTE_BYTES !== 0);
      if (parts === null) return;
      for (const part of parts) {
        expect(part.length).toBe(VOTE_BYTES);
        checkMessage(fuzz, part);
      }
      expect(toHex(encodeCertificate(parts))).toBe(toHex(bytes));
    });
  });
});
