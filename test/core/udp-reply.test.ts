// The UDP reply: never larger than the request, and parseable by clients.
import { describe, expect, test } from "bun:test";
import { ACCEPTED_TAG, decodeReply, encodeAccepted, encodeRejected } from "../../src/core/udp-reply.ts";
import { ERROR_CODES, type ErrorCode } from "../../src/core/errors.ts";
import { hex, nodeSha256 } from "./fixtures.ts";

const CODES = Object.keys(ERROR_CODES) as ErrorCode[];
const ID = nodeSha256(new TextEncoder().encode("a payment"));
const ascii = (s: string) => hex(new TextEncoder().encode(s));

describe("never larger than the request", () => {
  test("encodeAccepted, every request length 1..200", () => {
    for (let n = 1; n <= 200; n++) {
      const r = encodeAccepted(ID, n);
      expect({ n, len: r.length }).toEqual({ n, len: Math.min(33, n) });
      expect(r[0]).toBe(ACCEPTED_TAG);
    }
  });

  test("encodeRejected, every code, with and without id, every request length 1..200", () => {
    for (const code of CODES) {
      for (const id of [ID, null]) {
        for (let n = 1; n <= 200; n++) {
          const r = encodeRejected(code, id, n);
          expect(r.length).toBeLessThanOrEqual(n);
          expect(r.length).toBeGreaterThan(0);
          expect(r[0]).toBe(ERROR_CODES[code]);
        }
      }
    }
  });

  test("request length 0 gets an empty reply (the node then sends nothing)", () => {
    expect(encodeAccepted(ID, 0).length).toBe(0);
    expect(encodeRejected("PAYMENT_SIZE", null, 0).length).toBe(0);
  });
});

describe("exact layouts", () => {
  test("accepted: 0x00 | id", () => {
    expect(hex(encodeAccepted(ID, 140))).toBe("00" + hex(ID));
    expect(ACCEPTED_TAG).toBe(0);
  });

  test("rejected to a 140-byte request: tag | id | code in ASCII", () => {
    expect(hex(encodeRejected("INSUFFICIENT_BALANCE", ID, 140))).toBe("08" + hex(ID) + ascii("INSUFFICIENT_BALANCE"));
    expect(hex(encodeRejected("DUPLICATE", ID, 140))).toBe("06" + hex(ID) + ascii("DUPLICATE"));
  });

  test("rejected to a 140-byte request without an id: tag | code", () => {
    expect(hex(encodeRejected("NOT_ACCEPTING", null, 140))).toBe("09" + ascii("NOT_ACCEPTING"));
  });

  test("rejected to a request of another length: tag | code, never the id", () => {
    expect(hex(encodeRejected("PAYMENT_SIZE", ID, 141))).toBe("01" + ascii("PAYMENT_SIZE"));
    expect(hex(encodeRejected("PAYMENT_SIZE", ID, 200))).toBe("01" + ascii("PAYMENT_SIZE"));
  });

  test("short requests get a truncated reply", () => {
    expect(hex(encodeRejected("PAYMENT_SIZE", null, 1))).toBe("01");
    expect(hex(encodeRejected("PAYMENT_SIZE", null, 5))).toBe("01" + ascii("PAYM"));
    expect(hex(encodeRejected("PAYMENT_SIZE", null, 13))).toBe("01" + ascii("PAYMENT_SIZE"));
    expect(hex(encodeRejected("PAYMENT_SIZE", null, 12))).toBe("01" + ascii("PAYMENT_SIZ"));
    expect(hex(encodeAccepted(ID, 10))).toBe("00" + hex(ID.subarray(0, 9)));
  });
});

describe("decodeReply", () => {
  test("accepted round trips for a 140-byte request", () => {
    const d = decodeReply(encodeAccepted(ID, 140), 140);
    expect(d.kind).toBe("accepted");
    if (d.kind === "accepted") expect(hex(d.id)).toBe(hex(ID));
  });

  test("every rejection code round trips, with id, for a 140-byte request", () => {
    for (const code of CODES) {
      const d = decodeReply(encodeRejected(code, ID, 140), 140);
      expect(d.kind).toBe("rejected");
      if (d.kind !== "rejected") continue;
      expect(d.code).toBe(code);
      expect(d.id === null ? null : hex(d.id)).toBe(hex(ID));
    }
  });

  test("every rejection code round trips without id for a 140-byte request", () => {
    for (const code of CODES) expect(decodeReply(encodeRejected(code, null, 140), 140)).toEqual({ kind: "rejected", code, id: null });
  });

  test("rejections to other lengths decode with id null, even when truncated to the tag", () => {
    for (const n of [1, 2, 5, 33, 139, 141, 200]) {
      expect(decodeReply(encodeRejected("PAYMENT_SIZE", ID, n), n)).toEqual({ kind: "rejected", code: "PAYMENT_SIZE", id: null });
    }
  });

  test("an accepted reply cut short is malformed", () => {
    expect(decodeReply(encodeAccepted(ID, 10), 10)).toEqual({ kind: "malformed" });
    expect(decodeReply(encodeAccepted(ID, 32), 32)).toEqual({ kind: "malformed" });
    expect(decodeReply(encodeAccepted(ID, 33), 33).kind).toBe("accepted");
  });

  test("unknown tag → malformed", () => {
    for (const tag of [21, 42, 0x7f, 0xff]) {
      const reply = new Uint8Array(1 + 32 + 3);
      reply[0] = tag;
      expect(decodeReply(reply, 140)).toEqual({ kind: "malformed" });
    }
  });

  test("empty reply, or a reply longer than the request → malformed", () => {
    expect(decodeReply(new Uint8Array(0), 140)).toEqual({ kind: "malformed" });
    expect(decodeReply(encodeAccepted(ID, 140), 32)).toEqual({ kind: "malformed" });
    expect(decodeReply(new Uint8Array(141).fill(1), 140)).toEqual({ kind: "malformed" });
  });

  test("accepted tag with extra bytes → malformed", () => {
    const r = new Uint8Array(40);
    r.set(encodeAccepted(ID, 140));
    expect(decodeReply(r, 140)).toEqual({ kind: "malformed" });
  });

  test("decoded ids are copies, not views into the reply", () => {
    const reply = encodeAccepted(ID, 140).slice();
    const d = decodeReply(reply, 140);
    reply.fill(0xaa);
    expect(d.kind === "accepted" && hex(d.id)).toBe(hex(ID));
  });
});
