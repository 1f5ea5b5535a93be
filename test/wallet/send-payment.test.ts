// The wallet's pay (src/wallet/send-payment.ts) against a scripted server: who it sends to (the
// alpha by the schedule, a blackout waited out and said), and what each answer leads to. Above all
// the rule that keeps a payer from paying twice: a new payment is signed only after NOT_ACCEPTING
// to a first transmission; busy answers get the very same bytes again; no answer is "uncertain".
import { describe, expect, test } from "bun:test";
import { sendPayment, type SendEvent } from "../../src/wallet/send-payment.ts";
import { ManualClock } from "../../src/core/clock.ts";
import { decodePayment, paymentIdHex } from "../../src/core/payment.ts";
import { fromHex, toHex } from "../../src/core/bytes.ts";
import type { WalletNetwork } from "../../src/wallet/wallet-network.ts";
import { testKeyPair } from "../support/helpers.ts";

const INTERVAL = 10_000;
const BLACKOUT = 3_000;
const network: WalletNetwork = {
  servers: [7400, 7401, 7402].map((port, i) => ({ key: toHex(testKeyPair(20 + i).publicKey), address: `127.0.0.1:${port}`, host: "127.0.0.1", port })),
  intervalMs: INTERVAL,
  blackoutMs: BLACKOUT,
  // A payment is fresh (the same bytes may go again) for skew / 2 = 2.5 s.
  skewMs: 5_000,
};
const payer = testKeyPair(30);
const payee = testKeyPair(31).publicKey;
/** Window 180,000,001: its alpha is server 180000001 mod 3 = 1 (port 7401); the next one's, port 7402. */
const WINDOW = 180_000_001;
const windowStart = WINDOW * INTERVAL;

type Reply = { status: number; code?: string } | "no-answer";

function run(replies: Reply[], startMs: number) {
  const clock = new ManualClock(startMs);
  const sent: { url: string; tx: string }[] = [];
  const events: SendEvent[] = [];
  const fetch = async (url: string, init: RequestInit) => {
    sent.push({ url, tx: (JSON.parse(String(init.body)) as { tx: string }).tx });
    const reply = replies.shift() ?? { status: 200 };
    if (reply === "no-answer") throw new TypeError("Failed to fetch");
    const body = reply.code === undefined ? { id: "x", status: "accepted" } : { error: { code: reply.code, message: `the server says ${reply.code}` } };
    return new Response(JSON.stringify(body), { status: reply.status });
  };
  const sleep = async (ms: number) => clock.advance(ms);
  const result = sendPayment({ network, keyPair: payer, payee, amount: 25, clock, fetch, sleep, onEvent: (e) => events.push(e) });
  return { result, sent, events, clock };
}

describe("sendPayment", () => {
  test("to the alpha now: one signed payment of the amount, from the payer, stamped now", async () => {
    const { result, sent, events } = run([{ status: 200 }], windowStart + 1_000);
    const r = await result;
    expect(r).toMatchObject({ kind: "accepted", server: "127.0.0.1:7401", timestampMs: windowStart + 1_000, window: WINDOW });
    expect(sent.map((s) => s.url)).toEqual(["http://127.0.0.1:7401/tx"]);
    const payment = decodePayment(fromHex(sent[0]!.tx, 140)!)!;
    expect([payment.amount, toHex(payment.payee), toHex(payment.payer), payment.timestampMs]).toEqual([25, toHex(payee), toHex(payer.publicKey), windowStart + 1_000]);
    expect(r.id).toBe(paymentIdHex(fromHex(sent[0]!.tx, 140)!));
    expect(events).toEqual([{ kind: "sending", server: "127.0.0.1:7401", id: r.id }]);
  });

  test("in a blackout it waits for the next alpha, says so, and signs when that one accepts", async () => {
    const { result, sent, events } = run([{ status: 200 }], windowStart + INTERVAL - 2_000);
    const r = await result;
    expect(events[0]).toEqual({ kind: "waiting", ms: 2_000, server: "127.0.0.1:7402" });
    expect(sent.map((s) => s.url)).toEqual(["http://127.0.0.1:7402/tx"]);
    expect(r).toMatchObject({ kind: "accepted", timestampMs: windowStart + INTERVAL, window: WINDOW + 1 });
  });

  test("NOT_ACCEPTING to a first transmission: nothing was taken, so it signs anew (a few times at most)", async () => {
    const once = run([{ status: 421, code: "NOT_ACCEPTING" }, { status: 200 }], windowStart + 1_000);
    const r = await once.result;
    expect(r.kind).toBe("accepted");
    expect(once.sent.length).toBe(2);
    expect(once.sent[0]!.tx).not.toBe(once.sent[1]!.tx);
    expect(r.timestampMs).toBe(windowStart + 1_500);
    // Signed anew every 500 ms for 10 s at most, to whichever server the schedule names then.
    const always = run(Array.from({ length: 30 }, () => ({ status: 421, code: "NOT_ACCEPTING" })), windowStart + 1_000);
    expect(await always.result).toMatchObject({ kind: "refused", code: "NOT_ACCEPTING", message: "the server says NOT_ACCEPTING" });
    expect(always.sent.length).toBe(21);
    expect(new Set(always.sent.map((s) => s.tx)).size).toBe(21);
    // 1 s into window k: until its blackout at 7 s the alpha of k (7401), then the next one (7402).
    expect(new Set(always.sent.map((s) => s.url))).toEqual(new Set(["http://127.0.0.1:7401/tx", "http://127.0.0.1:7402/tx"]));
  });

  test("OVERLOADED or IN_PROGRESS: the very same bytes again while fresh; then refused (not queued) or uncertain (being checked)", async () => {
    const busy = run([{ status: 503, code: "OVERLOADED" }, { status: 503, code: "IN_PROGRESS" }, { status: 200 }], windowStart + 1_000);
    expect((await busy.result).kind).toBe("accepted");
    expect(new Set(busy.sent.map((s) => s.tx)).size).toBe(1);
    expect(busy.sent.length).toBe(3);
    const overloaded = run(Array.from({ length: 10 }, () => ({ status: 503, code: "OVERLOADED" })), windowStart + 1_000);
    expect(await overloaded.result).toMatchObject({ kind: "refused", code: "OVERLOADED" });
    expect(new Set(overloaded.sent.map((s) => s.tx)).size).toBe(1);
    const checking = run(Array.from({ length: 10 }, () => ({ status: 503, code: "IN_PROGRESS" })), windowStart + 1_000);
    expect((await checking.result).kind).toBe("uncertain");
    expect(new Set(checking.sent.map((s) => s.tx)).size).toBe(1);
  });

  test("NOT_ACCEPTING or WINDOW_FULL after a retransmission: an earlier copy may be in, so uncertain, nothing new signed", async () => {
    for (const code of ["NOT_ACCEPTING", "WINDOW_FULL"]) {
      const r = run([{ status: 503, code: "OVERLOADED" }, { status: 421, code }], windowStart + 1_000);
      expect((await r.result).kind).toBe("uncertain");
      expect(new Set(r.sent.map((s) => s.tx)).size).toBe(1);
    }
  });

  test("no answer at all is uncertain, never a second payment; any other refusal is final for this payment", async () => {
    const silent = run(["no-answer", { status: 200 }], windowStart + 1_000);
    expect(await silent.result).toMatchObject({ kind: "uncertain", detail: "127.0.0.1:7401 did not answer (Failed to fetch)" });
    expect(silent.sent.length).toBe(1);
    for (const [status, code] of [[422, "INSUFFICIENT_BALANCE"], [422, "UNKNOWN_PAYER"], [421, "WINDOW_FULL"], [400, "BAD_REQUEST"], [503, "STORAGE_FAILING"]] as const) {
      const r = run([{ status, code }], windowStart + 1_000);
      expect(await r.result).toMatchObject({ kind: "refused", code, message: `the server says ${code}` });
      expect(r.sent.length).toBe(1);
    }
    const bare = run([{ status: 502 }], windowStart + 1_000);
    // A 502 without the error document (a proxy's): named by its status.
    expect(await bare.result).toMatchObject({ kind: "refused", code: "HTTP_502" });
  });
});
