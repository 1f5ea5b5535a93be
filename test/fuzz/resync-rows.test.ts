// Fuzz: the resync answer's rows (decodePaymentRows: window (8, big-endian signed) | payment (140),
// repeated), which a server catching up reads from a peer. It must never throw; must refuse a
// length that is not whole rows, an answer over RESYNC_ANSWER_BYTES_MAX, and a window below −1 or
// beyond 2^53 − 1; and must return only rows that encode back to the same bytes.
import { describe, expect, test } from "bun:test";
import { decodePaymentRows as decodeRows, encodePaymentRows } from "../../src/node/peer-api.ts";
import { peerLimits } from "../../src/core/consensus/peer-limits.ts";
import { CAPACITY_PAYMENTS_DEFAULT } from "../../src/core/limits.ts";

/** The bound of a network with the default capacity (a resync answer holds at least one full window). */
const RESYNC_ANSWER_BYTES_MAX = peerLimits(CAPACITY_PAYMENTS_DEFAULT).resyncAnswerBytesMax;
const decodePaymentRows = (bytes: Uint8Array) => decodeRows(bytes, RESYNC_ANSWER_BYTES_MAX);
import { toHex } from "../../src/core/bytes.ts";
import { PAYMENT_SIZE_BYTES } from "../../src/core/limits.ts";
import { fuzzCases, mutate, randomLength, writeInteger, type Fuzz, type IntegerField } from "./fuzz-support.ts";

const ROW_BYTES = 8 + PAYMENT_SIZE_BYTES;

function realRows(fuzz: Fuzz): Uint8Array {
  const rows = Array.from({ length: fuzz.int(0, 6) }, () => ({
    window: fuzz.pick([-1, 0, 1, fuzz.int(0, 30_000_000), Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]),
    bytes: fuzz.bytes(PAYMENT_SIZE_BYTES),
  }));
  return encodePaymentRows(rows);
}

/** The window fields of the rows in `bytes`. */
function windowFields(length: number): IntegerField[] {
  return Array.from({ length: Math.floor(length / ROW_BYTES) }, (_, i) => ({ offset: i * ROW_BYTES, widthBytes: 8 }));
}

/** A window a row may hold: −1 (genesis) up to the largest safe integer. */
const isWindow = (bytes: Uint8Array, offset: number) => {
  const w = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigInt64(offset, false);
  return w >= -1n && w <= BigInt(Number.MAX_SAFE_INTEGER);
};

/** Whether the decoder must take `bytes`, computed apart from it. */
function decodable(bytes: Uint8Array): boolean {
  if (bytes.length % ROW_BYTES !== 0 || bytes.length > RESYNC_ANSWER_BYTES_MAX) return false;
  for (let o = 0; o < bytes.length; o += ROW_BYTES) if (!isWindow(bytes, o)) return false;
  return true;
}

function checkRows(fuzz: Fuzz, bytes: Uint8Array): void {
  fuzz.input(bytes);
  const rows = decodePaymentRows(bytes);
  // A refused answer is the decoder's own null, never a throw.
  expect(rows !== null).toBe(decodable(bytes));
  if (rows === null) return;
  expect(rows.length).toBe(bytes.length / ROW_BYTES);
  for (const row of rows) expect(row.bytes.length).toBe(PAYMENT_SIZE_BYTES);
  for (const row of rows) expect(Number.isSafeInteger(row.window) && row.window >= -1).toBe(true);
  expect(toHex(encodePaymentRows(rows))).toBe(toHex(bytes));
}

describe("fuzz: resync rows", () => {
  test("random bytes of random lengths", () => {
    fuzzCases("resync-rows/random", 2000, (fuzz) => {
      const bytes = fuzz.bytes(randomLength(fuzz, [0, 8, ROW_BYTES, 2 * ROW_BYTES, 10 * ROW_BYTES], 40 * ROW_BYTES));
      // Mostly plausible windows, so the round trip is checked on random payments.
      for (const field of windowFields(bytes.length)) if (fuzz.chance(0.95)) writeInteger(bytes, field, BigInt(fuzz.int(-1, 30_000_000)));
      checkRows(fuzz, bytes);
    });
  });

  test("mutations of real answers", () => {
    fuzzCases("resync-rows/mutations", 2000, (fuzz) => {
      const real = realRows(fuzz);
      checkRows(fuzz, mutate(fuzz, real, windowFields(real.length), [realRows(fuzz)], [ROW_BYTES]));
    });
  });
});

describe("findings", () => {
  // Found by "resync-rows/random": Number(getBigInt64(...)) turned a window beyond 2^53 into a
  // rounded number, so 2^63 − 1 became 2^63, which encodes back as −2^63. A peer (or a corrupted
  // answer) could hand a catching-up server rows whose window is no window at all. The decoder
  // now refuses them, as decodePeerMessage refuses such windows.
  test("a row whose window is not a safe integer is refused", () => {
    const bytes = new Uint8Array(ROW_BYTES);
    writeInteger(bytes, { offset: 0, widthBytes: 8 }, 2n ** 63n - 1n);
    expect(decodePaymentRows(bytes)).toBeNull();
  });

  test("decoded rows encode back to the bytes received, for any 8-byte window", () => {
    const bytes = new Uint8Array(ROW_BYTES);
    writeInteger(bytes, { offset: 0, widthBytes: 8 }, 2n ** 53n + 1n);
    const rows = decodePaymentRows(bytes);
    expect(rows === null || toHex(encodePaymentRows(rows)) === toHex(bytes)).toBe(true);
  });

  test("the window's bounds: −1 and 2^53 − 1 are taken, −2 and 2^53 refused", () => {
    const row = (window: bigint) => {
      const bytes = new Uint8Array(ROW_BYTES);
      writeInteger(bytes, { offset: 0, widthBytes: 8 }, window);
      return decodePaymentRows(bytes);
    };
    expect(row(-1n)?.[0]?.window).toBe(-1);
    expect(row(2n ** 53n - 1n)?.[0]?.window).toBe(Number.MAX_SAFE_INTEGER);
    expect(row(-2n)).toBeNull();
    expect(row(2n ** 53n)).toBeNull();
  });

  test("an answer longer than RESYNC_ANSWER_BYTES_MAX is refused, one row short of it is not", () => {
    const at = (length: number) => decodePaymentRows(new Uint8Array(length));
    expect(at(RESYNC_ANSWER_BYTES_MAX)?.length).toBe(RESYNC_ANSWER_BYTES_MAX / ROW_BYTES);
    expect(at(RESYNC_ANSWER_BYTES_MAX + ROW_BYTES)).toBeNull();
  });
});
