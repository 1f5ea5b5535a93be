// Fuzz: the UDP reply decoder (the client's side of core/udp-reply.ts), on random replies to
// requests of random sizes and on mutations of real replies. It must never throw, and whatever it
// does not call malformed must be exactly what a node would have sent: re-encoding the decoded
// reply for the same request size gives the same bytes.
import { describe, expect, test } from "bun:test";
import { decodeReply, encodeAccepted, encodeRejected } from "../../src/core/udp-reply.ts";
import { ERROR_CODES, type ErrorCode } from "../../src/core/errors.ts";
import { equalBytes, toHex } from "../../src/core/bytes.ts";
import { PAYMENT_SIZE_BYTES } from "../../src/core/limits.ts";
import { fuzzCases, mutate, type Fuzz } from "./fuzz-support.ts";

const CODES = Object.keys(ERROR_CODES) as ErrorCode[];
const TAGS = Object.values(ERROR_CODES) as number[];

function requestSize(fuzz: Fuzz): number {
  return fuzz.pick([0, 1, 2, 12, 13, 32, 33, 34, 139, 140, 140, 140, 141, 1500, 65_000, fuzz.int(0, 65_507)]);
}

function realReply(fuzz: Fuzz, requestBytes: number): Uint8Array {
  const id = fuzz.bytes(32);
  return fuzz.chance(0.3) ? encodeAccepted(id, requestBytes) : encodeRejected(fuzz.pick(CODES), fuzz.chance(0.8) ? id : null, requestBytes);
}

/** Never throws; a reply it does not call malformed re-encodes to itself. */
function checkReply(fuzz: Fuzz, reply: Uint8Array, requestBytes: number): void {
  fuzz.input(reply);
  fuzz.note = `request ${requestBytes} bytes; reply ${fuzz.note}`;
  const decoded = decodeReply(reply, requestBytes);
  if (decoded.kind === "malformed") return;
  const again = decoded.kind === "accepted" ? encodeAccepted(decoded.id, requestBytes) : encodeRejected(decoded.code, decoded.id, requestBytes);
  expect(toHex(again)).toBe(toHex(reply));
  // Decoded ids are copies: the caller may reuse its receive buffer.
  if (decoded.id !== null) expect(decoded.id.buffer).not.toBe(reply.buffer);
}

describe("fuzz: UDP reply decoding", () => {
  test("random replies to requests of random sizes", () => {
    fuzzCases("udp-reply/random", 5000, (fuzz) => {
      const requestBytes = requestSize(fuzz);
      const reply = fuzz.bytes(fuzz.pick([0, 1, 13, 33, 34, 46, fuzz.int(0, 200)]));
      // Mostly a known tag first, so the decoder gets past it.
      if (reply.length > 0 && fuzz.chance(0.8)) reply[0] = fuzz.pick([0, ...TAGS]);
      checkReply(fuzz, reply, requestBytes);
    });
  });

  test("mutations of real replies", () => {
    fuzzCases("udp-reply/mutations", 5000, (fuzz) => {
      const requestBytes = requestSize(fuzz);
      const real = realReply(fuzz, requestBytes);
      checkReply(fuzz, mutate(fuzz, real, [], [realReply(fuzz, requestBytes)]), requestBytes);
    });
  });

  test("every real reply decodes to what was encoded", () => {
    fuzzCases("udp-reply/round-trip", 3000, (fuzz) => {
      const requestBytes = requestSize(fuzz);
      const id = fuzz.bytes(32);
      const code = fuzz.pick(CODES);
      const withId = fuzz.chance(0.5);
      const rejected = encodeRejected(code, withId ? id : null, requestBytes);
      fuzz.input(rejected);
      const decoded = decodeReply(rejected, requestBytes);
      if (requestBytes === 0) expect(decoded.kind).toBe("malformed");
      else expect(decoded).toEqual({ kind: "rejected", code, id: withId && requestBytes === PAYMENT_SIZE_BYTES ? id : null });
      const accepted = decodeReply(encodeAccepted(id, requestBytes), requestBytes);
      expect(accepted.kind).toBe(requestBytes >= 33 ? "accepted" : "malformed");
      if (accepted.kind === "accepted") expect(equalBytes(accepted.id, id)).toBe(true);
    });
  });
});

describe("findings", () => {
  test("a rejection whose text is not its tag's code is malformed (it did not come from a node)", () => {
    // Found by "udp-reply/random": the decoder read the tag and ignored the rest, so a reply of
    // INSUFFICIENT_BALANCE's tag followed by any bytes decoded as that rejection.
    const reply = new Uint8Array([ERROR_CODES.INSUFFICIENT_BALANCE, ...new TextEncoder().encode("ACCEPTED!")]);
    expect(decodeReply(reply, 1000)).toEqual({ kind: "malformed" });
    const withId = new Uint8Array([ERROR_CODES.DUPLICATE, ...new Uint8Array(32), ...new TextEncoder().encode("SIGNATURE_INVALID")]);
    expect(decodeReply(withId, PAYMENT_SIZE_BYTES)).toEqual({ kind: "malformed" });
    // A code cut short to fit a short request is still the node's own reply.
    expect(decodeReply(encodeRejected("PAYMENT_SIZE", null, 5), 5)).toEqual({ kind: "rejected", code: "PAYMENT_SIZE", id: null });
  });
});
