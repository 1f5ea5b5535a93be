// Raw UDP against the running binary: malformed datagrams get a PAYMENT_SIZE reply never larger than
// the request; a retransmitted payment is acknowledged every time and applied once.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ERROR_CODES } from "../../src/core/errors.ts";
import { paymentIdHex } from "../../src/core/payment.ts";
import { toHex } from "../../src/core/bytes.ts";
import { SUPPLY } from "../../src/core/limits.ts";
import { signedPayment, tempDir, testKeyPair } from "../support/helpers.ts";
import { ascii, getJson, hexOf, httpBalance, startFundedNode, udpClient, type FundedNode } from "./e2e-support.ts";

const PAYER = testKeyPair(2);
const PAYEE = testKeyPair(3);
const PAYER_START = 10_000;

let dir: { path: string; cleanup: () => void };
let f: FundedNode;

beforeAll(async () => {
  dir = tempDir("scryp-e2e-udp-");
  f = await startFundedNode(dir.path, [[PAYER, PAYER_START]]);
});
afterAll(async () => {
  await f?.node.kill("SIGKILL");
  dir.cleanup();
});

/** Sends one datagram from a fresh socket and returns the first reply (bounded wait). */
async function exchange(bytes: Uint8Array): Promise<Uint8Array> {
  const client = await udpClient();
  try {
    client.send(bytes, f.port);
    const [reply] = await client.waitReplies(1, 3_000);
    expect(reply!.port).toBe(f.port);
    return reply!.bytes;
  } finally {
    client.close();
  }
}

const paymentSizeReply = new Uint8Array([ERROR_CODES.PAYMENT_SIZE, ...new TextEncoder().encode("PAYMENT_SIZE")]);

describe("malformed datagrams", () => {
  test("1 byte → the PAYMENT_SIZE tag alone (1 byte)", async () => {
    const reply = await exchange(new Uint8Array([0x42]));
    expect([...reply]).toEqual([ERROR_CODES.PAYMENT_SIZE]);
  });

  test("12 bytes → tag and the code cut to 12 bytes", async () => {
    const reply = await exchange(new Uint8Array(12).fill(7));
    expect(reply.length).toBe(12);
    expect([...reply]).toEqual([...paymentSizeReply.subarray(0, 12)]);
  });

  test.each([139, 141, 1000, 60_000])("%d bytes → tag | 'PAYMENT_SIZE' (13 bytes)", async (size) => {
    // A real payment with a byte cut or added must not be mistaken for one.
    const valid = signedPayment(PAYER, PAYEE.publicKey, 1, Date.now());
    const bytes = new Uint8Array(size);
    bytes.set(valid.subarray(0, Math.min(140, size)));
    const reply = await exchange(bytes);
    expect(reply.length).toBeLessThanOrEqual(size);
    expect(reply[0]).toBe(ERROR_CODES.PAYMENT_SIZE);
    expect(ascii(reply.subarray(1))).toBe("PAYMENT_SIZE");
    expect(await httpBalance(f.url, hexOf(PAYER))).toBe(PAYER_START);
  });

  test("an empty datagram gets no reply (the next one is answered normally)", async () => {
    const client = await udpClient();
    try {
      client.send(new Uint8Array(0), f.port);
      client.send(new Uint8Array([1]), f.port);
      await client.waitReplies(1, 3_000);
      // Give a stray second reply a moment to show up.
      await Bun.sleep(150);
      expect(client.replies.map((r) => [...r.bytes])).toEqual([[ERROR_CODES.PAYMENT_SIZE]]);
    } finally {
      client.close();
    }
  });

  test("140 bytes with a bad signature → tag | id | 'SIGNATURE_INVALID'", async () => {
    const bytes = signedPayment(PAYER, PAYEE.publicKey, 5, Date.now());
    bytes[139]! ^= 0x01;
    const reply = await exchange(bytes);
    expect(reply[0]).toBe(ERROR_CODES.SIGNATURE_INVALID);
    expect(toHex(reply.subarray(1, 33))).toBe(paymentIdHex(bytes));
    expect(ascii(reply.subarray(33))).toBe("SIGNATURE_INVALID");
    expect(await httpBalance(f.url, hexOf(PAYER))).toBe(PAYER_START);
  });

  test("140 bytes stamped an hour ago → TIMESTAMP_SKEW", async () => {
    const bytes = signedPayment(PAYER, PAYEE.publicKey, 5, Date.now() - 3_600_000);
    const reply = await exchange(bytes);
    expect(reply[0]).toBe(ERROR_CODES.TIMESTAMP_SKEW);
    expect(ascii(reply.subarray(33))).toBe("TIMESTAMP_SKEW");
  });

  test("140 bytes of amount 0 → AMOUNT_ZERO", async () => {
    const bytes = signedPayment(PAYER, PAYEE.publicKey, 0, Date.now());
    const reply = await exchange(bytes);
    expect(reply[0]).toBe(ERROR_CODES.AMOUNT_ZERO);
    expect(ascii(reply.subarray(33))).toBe("AMOUNT_ZERO");
  });
});

describe("retransmission", () => {
  test("the same payment 5 times at once: 5 × accepted with the same id, debited once", async () => {
    const amount = 123;
    const bytes = signedPayment(PAYER, PAYEE.publicKey, amount, Date.now());
    const id = paymentIdHex(bytes);
    const paymentsBefore = (await getJson(`${f.url}/status`)).json.ledger.payments as number;
    const client = await udpClient();
    try {
      for (let i = 0; i < 5; i++) client.send(bytes, f.port);
      const replies = await client.waitReplies(5, 3_000);
      for (const r of replies) {
        expect(r.bytes.length).toBe(33);
        expect(r.bytes[0]).toBe(0);
        expect(toHex(r.bytes.subarray(1))).toBe(id);
      }
      // Once more after the commit: still accepted, still once.
      client.send(bytes, f.port);
      const [, , , , , sixth] = await client.waitReplies(6, 3_000);
      expect([...sixth!.bytes]).toEqual([0, ...Buffer.from(id, "hex")]);
    } finally {
      client.close();
    }
    expect(await httpBalance(f.url, hexOf(PAYER))).toBe(PAYER_START - amount);
    expect(await httpBalance(f.url, hexOf(PAYEE))).toBe(amount);
    const status = (await getJson(`${f.url}/status`)).json;
    expect(status.ledger.payments).toBe(paymentsBefore + 1);
    expect(status.ledger.supply).toBe(SUPPLY);
    const tx = await getJson(`${f.url}/tx/${id}`);
    expect(tx.status).toBe(200);
    expect(tx.json).toMatchObject({ id, amount, payer: hexOf(PAYER), payee: hexOf(PAYEE) });
  });

  test("the same payment twice over HTTP: 200 both times, debited once", async () => {
    const before = (await httpBalance(f.url, hexOf(PAYER)))!;
    const payeeBefore = (await httpBalance(f.url, hexOf(PAYEE)))!;
    const bytes = signedPayment(PAYER, PAYEE.publicKey, 11, Date.now());
    const id = paymentIdHex(bytes);
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`${f.url}/tx`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: bytes });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ id, status: "accepted" });
    }
    // And once more as JSON, and once more over UDP.
    const asJson = await fetch(`${f.url}/tx`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ tx: toHex(bytes) }) });
    expect(asJson.status).toBe(200);
    const reply = await exchange(bytes);
    expect(toHex(reply)).toBe("00" + id);
    expect(await httpBalance(f.url, hexOf(PAYER))).toBe(before - 11);
    expect(await httpBalance(f.url, hexOf(PAYEE))).toBe(payeeBefore + 11);
  });
});
