// The history digest and the batch digest (PROTOCOL §6a): checked against an independent reference
// (node:crypto over hand-built preimages), against the known-answer file another implementation
// checks itself with, and as the ledger keeps it through commits, rollbacks, a failed attempt and a
// reopen: always the digest of the payments it holds, as if computed from scratch.
import { afterEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { batchDigest, EMPTY_HISTORY, historyStep } from "../../src/core/history-digest.ts";
import { parsePeerMessage, VOTE_BYTES } from "../../src/core/consensus/peer-message.ts";
import { peerLimits } from "../../src/core/consensus/peer-limits.ts";
import { verifySignature } from "../../src/core/verify.ts";
import { verifyPeerMessage } from "../../src/core/consensus/peer-message.ts";
import { decodePayment, paymentId } from "../../src/core/payment.ts";
import { Ledger } from "../../src/ledger/ledger.ts";
import { T0, genesisOf, keyPairs, openTempLedger, prng, signedPayment, type TempLedger } from "../ledger/fixtures.ts";
import { hex, unhex } from "./fixtures.ts";

const i64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
};
const refStep = (prev: Uint8Array, window: number, ids: Uint8Array[]) =>
  ids.length === 0 ? prev : new Uint8Array(createHash("sha256").update(Buffer.concat([Buffer.from("scryp/history/v1"), prev, i64(window), ...ids])).digest());
const refBatch = (window: number, ids: Uint8Array[]) => new Uint8Array(createHash("sha256").update(Buffer.concat([Buffer.from("scryp/batch/v1"), i64(window), ...ids])).digest());

/** From scratch: the chain over a ledger's payments, window by window in acceptance order. */
function refHistory(ledger: Ledger): string {
  let h: Uint8Array = new Uint8Array(32);
  const rows = ledger.paymentsBetween(-2, Number.MAX_SAFE_INTEGER);
  const windows = [...new Set(rows.map((r) => r.window))].sort((a, b) => a - b);
  for (const w of windows) h = refStep(h, w, rows.filter((r) => r.window === w).map((r) => paymentId(r.bytes)));
  return hex(h);
}

interface Vector {
  historyDomain: string;
  batchDomain: string;
  emptyHistory: string;
  steps: { window: number; ids: string[]; historyBefore: string; historyAfter: string; batch: string }[];
  vote: { seed: string; networkId: string; sender: string; window: number; sentAtMs: number; baseWindow: number; baseHash: string; batch: string; hash: string; history: string; bytesHex: string };
}
const VECTOR = JSON.parse(readFileSync(join(import.meta.dir, "../../docs/test-vectors/history-digest.json"), "utf8")) as Vector;

describe("the digests", () => {
  test("the test vector: every step of the chain, every batch digest", () => {
    expect([VECTOR.historyDomain, VECTOR.batchDomain, VECTOR.emptyHistory]).toEqual(["scryp/history/v1", "scryp/batch/v1", hex(EMPTY_HISTORY)]);
    let h = EMPTY_HISTORY;
    for (const s of VECTOR.steps) {
      const ids = s.ids.map(unhex);
      expect(hex(h)).toBe(s.historyBefore);
      h = historyStep(h, s.window, ids);
      expect(hex(h), `window ${s.window}`).toBe(s.historyAfter);
      expect(hex(refStep(unhex(s.historyBefore), s.window, ids))).toBe(s.historyAfter);
      expect(hex(batchDigest(s.window, ids))).toBe(s.batch);
      expect(hex(refBatch(s.window, ids))).toBe(s.batch);
    }
    // A window without payments changes nothing; with some it does, and the window number counts.
    expect(VECTOR.steps.some((s) => s.ids.length === 0 && s.historyBefore === s.historyAfter)).toBe(true);
    const one = [unhex("11".repeat(32))];
    expect(hex(historyStep(EMPTY_HISTORY, 5, one))).not.toBe(hex(historyStep(EMPTY_HISTORY, 6, one)));
  });

  test("the test vector's vote: its bytes, field by field at the offsets of PROTOCOL §5, and its signature", () => {
    const v = VECTOR.vote;
    const bytes = unhex(v.bytesHex);
    expect(bytes.length).toBe(VOTE_BYTES);
    expect(VOTE_BYTES).toBe(293);
    expect(Buffer.from(bytes.subarray(0, 12)).toString("latin1")).toBe("scryp-peer/3");
    expect(bytes[12]).toBe(2);
    const at = (o: number, n: number) => hex(bytes.subarray(o, o + n));
    expect([at(13, 32), at(45, 32), at(101, 32), at(133, 32), at(165, 32), at(197, 32)]).toEqual([v.networkId, v.sender, v.baseHash, v.batch, v.hash, v.history]);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    expect([Number(view.getBigInt64(77)), Number(view.getBigUint64(85)), Number(view.getBigInt64(93))]).toEqual([v.window, v.sentAtMs, v.baseWindow]);
    const parsed = parsePeerMessage(bytes, unhex(v.networkId), peerLimits(200_000));
    expect(parsed.ok && parsed.message.type === "vote" && verifyPeerMessage(parsed.message, verifySignature)).toBe(true);
    // The vector's batch and history are those of its steps' last window.
    expect(v.batch).toBe(VECTOR.steps.at(-1)!.batch);
    expect(v.history).toBe(VECTOR.steps.at(-1)!.historyAfter);
  });
});

describe("the ledger keeps the history digest", () => {
  const [alice, bob, carol] = keyPairs(3);
  let open: TempLedger[] = [];
  afterEach(() => {
    for (const t of open) t.cleanup();
    open = [];
  });

  test("through random commits, rollbacks, a failed attempt and a reopen, it is the digest from scratch", () => {
    const t = openTempLedger(genesisOf([[alice!, 100_000], [bob!, 100_000]]));
    open.push(t);
    const rand = prng(9_001);
    const parties = [alice!, bob!, carol!];
    let window = 100;
    let nonce = 0;
    expect(hex(t.ledger.historyDigest())).toBe(hex(EMPTY_HISTORY));
    for (let step = 0; step < 120; step++) {
      const action = rand.int(0, 9);
      if (action <= 5) {
        const group = Array.from({ length: rand.int(1, 4) }, () => {
          const from = parties[rand.int(0, 1)]!;
          const to = parties.filter((p) => p !== from)[rand.int(0, 1)]!;
          return decodePayment(signedPayment(from, to.publicKey, 1 + rand.int(0, 5), T0 + nonce++))!;
        });
        t.ledger.applyGroup(group, window, T0);
      } else if (action <= 7) {
        window += rand.int(1, 3);
      } else if (action === 8) {
        t.ledger.rollbackAfter(window - rand.int(1, 4));
      } else {
        // A failed attempt: undone and read back from the file.
        t.ledger.attempt(() => {
          t.ledger.rollbackAfter(window - 2);
          return false;
        });
      }
      expect(hex(t.ledger.historyDigest()), `step ${step}`).toBe(refHistory(t.ledger));
      const ids = t.ledger.windowPayments(window).map(paymentId);
      expect(hex(t.ledger.batchDigest(window))).toBe(hex(refBatch(window, ids)));
    }
    const before = hex(t.ledger.historyDigest());
    const reopened = t.reopen();
    expect(hex(reopened.historyDigest())).toBe(before);
  });

  test("two ledgers with the same balances but different histories differ (a window whose payments cancel out)", () => {
    const [a, b] = [0, 1].map(() => openTempLedger(genesisOf([[alice!, 1_000], [bob!, 1_000]])));
    open.push(a!, b!);
    a!.ledger.applyGroup([decodePayment(signedPayment(alice!, bob!.publicKey, 5, T0))!, decodePayment(signedPayment(bob!, alice!.publicKey, 5, T0 + 1))!], 7, T0);
    expect(hex(a!.ledger.stateHashBytes())).toBe(hex(b!.ledger.stateHashBytes()));
    expect(hex(a!.ledger.historyDigest())).not.toBe(hex(b!.ledger.historyDigest()));
  });
});
