// The HTTP API in process (Hono's app.request), over a real intake and a ledger on a SQLite file.
import { afterEach, beforeEach, describe, expect, spyOn, test } from "bun:test";
import type { Hono } from "hono";
import { createHttpApi } from "../../src/node/http-api.ts";
import { PaymentIntake, type AcceptGate } from "../../src/node/payment-intake.ts";
import { ManualClock } from "../../src/core/clock.ts";
import { verifySignature } from "../../src/core/verify.ts";
import { parseNetwork, type Network } from "../../src/core/network.ts";
import { paymentIdHex } from "../../src/core/payment.ts";
import { toHex } from "../../src/core/bytes.ts";
import { SKEW_MS_DEFAULT, SUPPLY } from "../../src/core/limits.ts";
import type { KeyPair } from "../../src/core/keys.ts";
import { Faults } from "../../src/node/faults.ts";
import type { Logger } from "../../src/core/logger.ts";
import { T0, addFailTrigger, diskSnapshot, keyPairs, openTempLedger, resignWithNonce, signedPayment, testKeyPair, windowOf, type TempLedger } from "../ledger/fixtures.ts";

const [alice, bob, carol] = keyPairs(3) as [KeyPair, KeyPair, KeyPair];
const server = testKeyPair(200);
const serverHex = toHex(server.publicKey);
const A = toHex(alice.publicKey);
const B = toHex(bob.publicKey);
const C = toHex(carol.publicKey);

interface Api {
  app: Hono;
  t: TempLedger;
  clock: ManualClock;
  network: Network;
  intake: PaymentIntake;
  gate: { refusal: ReturnType<AcceptGate> };
  faults: Faults;
  /** What the node's Logger was given. */
  logged: string[];
}

let api: Api;
beforeEach(() => {
  const network = parseNetwork({
    servers: [{ key: serverHex, address: "127.0.0.1:7400" }],
    genesis: { [A]: SUPPLY - 1_000, [B]: 1_000 },
  });
  const t = openTempLedger(network.genesis);
  const clock = new ManualClock(T0);
  const gate = { refusal: null as ReturnType<AcceptGate> };
  const intake = new PaymentIntake({
    ledger: t.ledger,
    clock,
    skewMs: network.skewMs,
    verify: verifySignature,
    gate: () => gate.refusal,
    capacity: network.capacity,
    windowAt: windowOf,
  });
  const logged: string[] = [];
  const log: Logger = { info: (c, m) => logged.push(`info ${c} ${m}`), warn: (c, m) => logged.push(`warn ${c} ${m}`), error: (c, m) => logged.push(`error ${c} ${m}`) };
  const faults = new Faults(log, clock);
  const app = createHttpApi({ intake, ledger: t.ledger, network, clock, keyHex: serverHex, version: "test-1", faults });
  api = { app, t, clock, network, intake, gate, faults, logged };
});
afterEach(() => api.t.cleanup());

const postBytes = (body: Uint8Array | string, type = "application/octet-stream") =>
  api.app.request("/tx", { method: "POST", headers: { "content-type": type }, body });
const postJson = (value: unknown) => postBytes(typeof value === "string" ? value : JSON.stringify(value), "application/json");
const get = (path: string) => api.app.request(path);

async function expectError(res: Response | Promise<Response>, status: number, code: string): Promise<string> {
  const r = await res;
  expect(r.status).toBe(status);
  expect(r.headers.get("content-type") ?? "").toContain("application/json");
  const body = (await r.json()) as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(["error"]);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  expect(body.error.message.length).toBeGreaterThan(0);
  return body.error.message;
}

function snapshot() {
  return {
    totals: api.t.ledger.totals(),
    balances: [alice, bob, carol].map((k) => api.t.ledger.balance(k.publicKey)),
    disk: diskSnapshot(api.t.path),
  };
}

describe("POST /tx", () => {
  test("140 bytes as application/octet-stream → 200 accepted, applied", async () => {
    const bytes = signedPayment(alice, bob.publicKey, 123, T0);
    const res = await postBytes(bytes);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: paymentIdHex(bytes), status: "accepted" });
    expect(api.t.ledger.balance(bob.publicKey)).toBe(1_123);
    expect(api.t.ledger.totals().payments).toBe(1);
  });

  test('JSON {"tx": hex} → 200 accepted; charset parameter and case of the media type are tolerated', async () => {
    const bytes = signedPayment(bob, carol.publicKey, 10, T0);
    const res = await postBytes(JSON.stringify({ tx: toHex(bytes) }), "Application/JSON; charset=utf-8");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: paymentIdHex(bytes), status: "accepted" });
    expect(api.t.ledger.balance(carol.publicKey)).toBe(10);
  });

  test("a retransmission is answered 200 accepted again and applied once", async () => {
    const bytes = signedPayment(bob, carol.publicKey, 1_000, T0); // spends bob's whole balance
    const [r1, r2] = await Promise.all([postBytes(bytes), postJson({ tx: toHex(bytes) })]);
    const r3 = await postBytes(bytes);
    for (const r of [r1!, r2!, r3]) {
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ id: paymentIdHex(bytes), status: "accepted" });
    }
    expect(api.t.ledger.balance(bob.publicKey)).toBeUndefined(); // emptied once: no account
    expect(api.t.ledger.totals().payments).toBe(1);
  });

  test("malformed requests → 400 with a stable code", async () => {
    const hexTx = toHex(signedPayment(alice, bob.publicKey, 1, T0));
    await expectError(postBytes(hexTx, "text/plain"), 400, "BAD_REQUEST");
    await expectError(api.app.request("/tx", { method: "POST", body: "x" }), 400, "BAD_REQUEST"); // no content type
    await expectError(postBytes(new Uint8Array(140), "application/x-www-form-urlencoded"), 400, "BAD_REQUEST");
    expect(await expectError(postJson("{not json"), 400, "BAD_REQUEST")).toContain("JSON");
    await expectError(postJson(""), 400, "BAD_REQUEST");
    await expectError(postJson({ tx: hexTx.toUpperCase() }), 400, "BAD_REQUEST"); // hex must be lowercase
    await expectError(postJson({ tx: hexTx.slice(0, -1) + "g" }), 400, "BAD_REQUEST"); // not hex
    await expectError(postJson({ tx: hexTx.slice(2) }), 400, "BAD_REQUEST"); // 139 bytes
    await expectError(postJson({ tx: hexTx + "00" }), 400, "BAD_REQUEST"); // 141 bytes
    await expectError(postJson({ tx: 5 }), 400, "BAD_REQUEST");
    await expectError(postJson({}), 400, "BAD_REQUEST");
    await expectError(postJson({ tx: hexTx, extra: 1 }), 400, "BAD_REQUEST");
    await expectError(postJson([hexTx]), 400, "BAD_REQUEST");
    await expectError(postJson("null"), 400, "BAD_REQUEST");
    // Raw bytes of the wrong length: the payment format's own code.
    await expectError(postBytes(new Uint8Array(139)), 400, "PAYMENT_SIZE");
    await expectError(postBytes(new Uint8Array(141)), 400, "PAYMENT_SIZE");
    await expectError(postBytes(new Uint8Array(0)), 400, "PAYMENT_SIZE");
    await expectError(postBytes(new Uint8Array(4096)), 400, "PAYMENT_SIZE"); // at the limit: not too large
    expect(api.t.ledger.totals().payments).toBe(0);
  });

  test("bodies over 4096 bytes → 413 BODY_TOO_LARGE", async () => {
    await expectError(postBytes(new Uint8Array(4097)), 413, "BODY_TOO_LARGE");
    await expectError(postBytes(new Uint8Array(100_000)), 413, "BODY_TOO_LARGE");
    await expectError(postJson({ tx: "a".repeat(5_000) }), 413, "BODY_TOO_LARGE");
    // Streamed without a Content-Length, the limit still holds.
    const chunk = new Uint8Array(1_000);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 5; i++) controller.enqueue(chunk);
        controller.close();
      },
    });
    const res = await api.app.request("/tx", { method: "POST", headers: { "content-type": "application/octet-stream" }, body: stream, duplex: "half" } as RequestInit);
    await expectError(res, 413, "BODY_TOO_LARGE");
  });

  test("a streamed body within the limit is read whole", async () => {
    const bytes = signedPayment(alice, carol.publicKey, 3, T0);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, 70));
        controller.enqueue(bytes.slice(70));
        controller.close();
      },
    });
    const res = await api.app.request("/tx", { method: "POST", headers: { "content-type": "application/octet-stream" }, body: stream, duplex: "half" } as RequestInit);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: paymentIdHex(bytes), status: "accepted" });
  });

  test("rejections map to HTTP statuses", async () => {
    const first = signedPayment(bob, carol.publicKey, 600, T0);
    expect((await postBytes(first)).status).toBe(200);

    await expectError(postBytes(resignWithNonce(first, bob, 31337n)), 409, "DUPLICATE");
    await expectError(postBytes(signedPayment(bob, carol.publicKey, 401, T0 + 1)), 422, "INSUFFICIENT_BALANCE");
    await expectError(postBytes(signedPayment(testKeyPair(99), carol.publicKey, 1, T0)), 422, "UNKNOWN_PAYER");
    await expectError(postBytes(signedPayment(bob, carol.publicKey, 1, T0 + SKEW_MS_DEFAULT + 1)), 400, "TIMESTAMP_SKEW");
    await expectError(postBytes(signedPayment(bob, carol.publicKey, 0, T0)), 400, "AMOUNT_ZERO");
    await expectError(postBytes(signedPayment(bob, bob.publicKey, 1, T0)), 400, "SELF_PAYMENT");
    const forged = signedPayment(bob, carol.publicKey, 1, T0 + 2);
    forged[130] = forged[130]! ^ 1;
    await expectError(postBytes(forged), 400, "SIGNATURE_INVALID");

    api.gate.refusal = { code: "NOT_ACCEPTING", message: "not now; server x accepts from 08:02:00Z" };
    const message = await expectError(postBytes(signedPayment(bob, carol.publicKey, 1, T0 + 3)), 421, "NOT_ACCEPTING");
    expect(message).toBe("not now; server x accepts from 08:02:00Z");
    api.gate.refusal = null;

    addFailTrigger(api.t.path, 13);
    await expectError(postBytes(signedPayment(bob, carol.publicKey, 13, T0 + 4)), 500, "INTERNAL");

    expect(api.t.ledger.totals().payments).toBe(1);
    expect(api.t.ledger.balance(bob.publicKey)).toBe(400);
  });

  test("a rejected request changes nothing", async () => {
    await postBytes(signedPayment(alice, carol.publicKey, 50, T0 - 1));
    const paid = signedPayment(bob, carol.publicKey, 900, T0);
    await postBytes(paid);
    const before = snapshot();
    expect(before.totals.payments).toBe(2);

    const attempts: (Response | Promise<Response>)[] = [
      postBytes(signedPayment(bob, alice.publicKey, 101, T0 + 1)), // insufficient
      postBytes(resignWithNonce(paid, bob, 5n)), // duplicate
      postBytes(signedPayment(carol, alice.publicKey, 1, T0 + 10_000)), // skew
      postBytes(signedPayment(testKeyPair(98), alice.publicKey, 1, T0)), // unknown payer
      postJson("{"),
      postBytes(new Uint8Array(5_000)),
      postBytes(new Uint8Array(139)),
    ];
    for (const r of await Promise.all(attempts)) expect(r.status).toBeGreaterThanOrEqual(400);
    api.gate.refusal = { code: "NOT_ACCEPTING", message: "closed" };
    expect((await postBytes(signedPayment(carol, alice.publicKey, 1, T0 + 2))).status).toBe(421);
    addFailTrigger(api.t.path, 13);
    api.gate.refusal = null;
    expect((await postBytes(signedPayment(carol, alice.publicKey, 13, T0 + 3))).status).toBe(500);

    expect(snapshot()).toEqual(before);
  });
});

describe("GET /accounts/:id", () => {
  test("200 with the balance, 404 for an unknown account, 400 for a malformed id", async () => {
    const ok = await get(`/accounts/${A}`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ id: A, balance: SUPPLY - 1_000 });
    await expectError(get(`/accounts/${C}`), 404, "NOT_FOUND");
    await expectError(get(`/accounts/${A.toUpperCase()}`), 400, "INVALID_ID");
    await expectError(get(`/accounts/${A.slice(0, 62)}`), 400, "INVALID_ID");
    await expectError(get(`/accounts/${A}00`), 400, "INVALID_ID");
    await expectError(get(`/accounts/${"z".repeat(64)}`), 400, "INVALID_ID");

    await postBytes(signedPayment(bob, carol.publicKey, 1_000, T0));
    expect(await (await get(`/accounts/${C}`)).json()).toEqual({ id: C, balance: 1_000 });
    // Emptied: no account any more (an account exists while its balance is above 0), but its
    // payment history is still listed.
    await expectError(get(`/accounts/${B}`), 404, "NOT_FOUND");
    const history = await get(`/accounts/${B}/transactions`);
    expect(history.status).toBe(200);
    expect(((await history.json()) as { transactions: { payer: string }[] }).transactions.map((t) => t.payer)).toEqual([B]);
  });
});

describe("GET /accounts/:id/transactions", () => {
  test("pages newest first with limit, before and next", async () => {
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 5; i++) {
      const b = signedPayment(alice, bob.publicKey, 10 + i, T0 + i);
      expect((await postBytes(b)).status).toBe(200);
      sent.push(b);
    }
    expect((await postBytes(signedPayment(bob, carol.publicKey, 1, T0 + 9))).status).toBe(200); // not alice's
    const newestFirst = sent.map((b) => toHex(b)).reverse();

    type Page = { id: string; transactions: { id: string; tx: string; seq: number; amount: number; payer: string; payee: string; timestamp: number; window: number; acceptedAt: number }[]; next: number | null };
    const pageOf = async (query: string) => {
      const r = await get(`/accounts/${A}/transactions${query}`);
      expect(r.status).toBe(200);
      return (await r.json()) as Page;
    };

    const all = await pageOf("");
    expect(all.id).toBe(A);
    expect(all.transactions.map((t) => t.tx)).toEqual(newestFirst);
    expect(all.next).toBeNull();
    const newest = all.transactions[0]!;
    expect(newest).toEqual({
      id: paymentIdHex(sent[4]!),
      timestamp: T0 + 4,
      amount: 14,
      payee: B,
      payer: A,
      tx: toHex(sent[4]!),
      seq: newest.seq,
      window: windowOf(T0),
      acceptedAt: T0,
    });

    const p1 = await pageOf("?limit=2");
    expect(p1.transactions.map((t) => t.tx)).toEqual(newestFirst.slice(0, 2));
    expect(p1.next).toBe(p1.transactions[1]!.seq);
    const p2 = await pageOf(`?limit=2&before=${p1.next}`);
    expect(p2.transactions.map((t) => t.tx)).toEqual(newestFirst.slice(2, 4));
    const p3 = await pageOf(`?limit=2&before=${p2.next}`);
    expect(p3.transactions.map((t) => t.tx)).toEqual(newestFirst.slice(4));
    expect(p3.next).toBeNull();

    // bob's list holds both sides
    const bobs = (await (await get(`/accounts/${B}/transactions`)).json()) as Page;
    expect(bobs.transactions).toHaveLength(6);
    // an account with no history: empty, not 404
    const none = await get(`/accounts/${toHex(testKeyPair(77).publicKey)}/transactions`);
    expect(none.status).toBe(200);
    expect(((await none.json()) as Page).transactions).toEqual([]);
  });

  // BUG (minor, src/node/http-api.ts, GET /accounts/:id/transactions): `next` is computed as
  // `page.length === limit && last ? last.seq : null`, so when the remaining history is an exact
  // multiple of `limit` the last page still carries a non-null `next` (pointing at an empty page),
  // contrary to the route's own comment "null when this page is the last". Fetching limit + 1 rows
  // (or checking for an older row) would make it exact.
  test("next is null on the last page even when that page is exactly full", async () => {
    for (let i = 0; i < 4; i++) expect((await postBytes(signedPayment(alice, bob.publicKey, 1 + i, T0 + i))).status).toBe(200);
    const p1 = (await (await get(`/accounts/${A}/transactions?limit=2`)).json()) as { transactions: unknown[]; next: number | null };
    expect(p1.transactions).toHaveLength(2);
    expect(p1.next).not.toBeNull();
    const p2 = (await (await get(`/accounts/${A}/transactions?limit=2&before=${p1.next}`)).json()) as { transactions: unknown[]; next: number | null };
    expect(p2.transactions).toHaveLength(2);
    expect(p2.next).toBeNull(); // there is nothing older
    const whole = (await (await get(`/accounts/${A}/transactions?limit=4`)).json()) as { transactions: unknown[]; next: number | null };
    expect(whole.transactions).toHaveLength(4);
    expect(whole.next).toBeNull();
  });

  test("bad limit, before or id → 400", async () => {
    for (const q of ["limit=0", "limit=501", "limit=abc", "limit=-1", "limit=1.5", "limit=", "limit=99999", "before=abc", "before=-3"]) {
      await expectError(get(`/accounts/${A}/transactions?${q}`), 400, "BAD_REQUEST");
    }
    expect((await get(`/accounts/${A}/transactions?limit=500`)).status).toBe(200);
    expect((await get(`/accounts/${A}/transactions?limit=1`)).status).toBe(200);
    await expectError(get(`/accounts/${A.toUpperCase()}/transactions`), 400, "INVALID_ID");
    await expectError(get(`/accounts/abc/transactions`), 400, "INVALID_ID");
  });
});

describe("GET /tx/:id", () => {
  test("200 for an accepted payment, 404 otherwise, 400 for a malformed id", async () => {
    const bytes = signedPayment(alice, carol.publicKey, 42, T0);
    await postBytes(bytes);
    api.clock.advance(1);
    const res = await get(`/tx/${paymentIdHex(bytes)}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ id: paymentIdHex(bytes), status: "accepted", amount: 42, payer: A, payee: C, tx: toHex(bytes), timestamp: T0, window: windowOf(T0), acceptedAt: T0 });
    expect(typeof body.seq).toBe("number");

    const rejected = signedPayment(carol, alice.publicKey, 43, T0); // carol has 42
    expect((await postBytes(rejected)).status).toBe(422);
    await expectError(get(`/tx/${paymentIdHex(rejected)}`), 404, "NOT_FOUND");
    await expectError(get(`/tx/${paymentIdHex(bytes).toUpperCase()}`), 400, "INVALID_ID");
    await expectError(get(`/tx/1234`), 400, "INVALID_ID");
  });
});

describe("GET /status and /network", () => {
  test("/status reports the key, the clock and the ledger totals", async () => {
    api.clock.set(T0 + 777);
    const res = await get("/status");
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>;
    expect(body.key).toBe(serverHex);
    expect(body.version).toBe("test-1");
    expect(body.clock).toEqual({ nowMs: T0 + 777, iso: new Date(T0 + 777).toISOString() });
    expect(body.ledger).toEqual({ accounts: 2, payments: 0, supply: 4_294_967_295, stateHash: api.t.ledger.stateHashHex(), pending: 0 });

    await postBytes(signedPayment(alice, carol.publicKey, 5, T0 + 777));
    const after = (await (await get("/status")).json()) as Record<string, any>;
    expect(after.ledger).toMatchObject({ accounts: 3, payments: 1, supply: 4_294_967_295, pending: 0 });
    expect(after.ledger.stateHash).not.toBe(body.ledger.stateHash);
  });

  test("/network returns the network file", async () => {
    const res = await get("/network");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      servers: [{ key: serverHex, address: "127.0.0.1:7400" }],
      interval: 120_000,
      blackout: 15_000,
      skew: 5_000,
      genesis: { [A]: SUPPLY - 1_000, [B]: 1_000 },
    });
    expect(await (await get("/network")).json()).toEqual(api.network.file);
  });

  test("unknown routes → 404 JSON", async () => {
    expect(await expectError(get("/nope"), 404, "NOT_FOUND")).toContain("/nope");
    await expectError(get("/tx"), 404, "NOT_FOUND"); // GET on a POST-only route
    await expectError(api.app.request("/status", { method: "POST" }), 404, "NOT_FOUND");
    await expectError(get("/accounts"), 404, "NOT_FOUND");
  });
});

describe("failures and headers", () => {
  test("a route that throws: 500 INTERNAL, counted and logged through the node's Logger, never console.error", async () => {
    api.app.get("/boom", () => {
      throw new Error("disk on fire");
    });
    const consoleError = spyOn(console, "error").mockImplementation(() => {});
    try {
      await expectError(get("/boom"), 500, "INTERNAL");
      expect(consoleError).not.toHaveBeenCalled();
    } finally {
      consoleError.mockRestore();
    }
    expect(api.faults.count("http_error")).toBe(1);
    expect(api.logged.filter((l) => l.startsWith("warn http GET /boom: Error: disk on fire"))).toHaveLength(1);
  });

  test("every answer, success or error, says nosniff", async () => {
    for (const res of [await get("/status"), await get("/nope"), await postBytes("x")]) {
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
    }
  });
});
