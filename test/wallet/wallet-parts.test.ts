// The wallet's pure parts, in Bun: what the user types (refused with a sentence, or read), the
// sealed seed (WebCrypto here as in a browser), browser hex and ids equal to the node's, the QR
// drawing, the embedded network, and where a followed payment stands.
import { describe, expect, test } from "bun:test";
import { readAmount, readNewPassphrase, readPayment, readSeedFile, readSeedText } from "../../src/wallet/wallet-input.ts";
import { isSealedSeed, openSeed, sealSeed, WrongPassphraseError } from "../../src/wallet/seed-vault.ts";
import { fromHex, paymentIdHex, toHex } from "../../src/wallet/hex.ts";
import * as coreBytes from "../../src/core/bytes.ts";
import { paymentIdHex as corePaymentIdHex } from "../../src/core/payment.ts";
import { qrDrawing } from "../../src/wallet/qr.ts";
import { embeddedNetwork, readEmbeddedNetwork } from "../../src/wallet/wallet-network.ts";
import { paymentProgress, settled } from "../../src/wallet/follow-payment.ts";
import { parseNetwork } from "../../src/core/network.ts";
import { formatPaymentRequest } from "../../src/core/payment-request.ts";
import type { StoredPaymentAnswer, TxAsked } from "../../src/client/server-answers.ts";
import { signedPayment, testKeyPair } from "../support/helpers.ts";

const self = toHex(testKeyPair(1).publicKey);
const other = toHex(testKeyPair(2).publicKey);
const refused = (r: { ok: boolean; message?: string }) => (r.ok ? "read" : r.message);

describe("seed input", () => {
  test("64 hex digits, either case, spaces around ignored", () => {
    const seed = testKeyPair(3).seed;
    const read = readSeedText(`  ${toHex(seed).toUpperCase()}\n`);
    expect(read.ok && toHex(read.value)).toBe(toHex(seed));
  });

  test("anything else is refused, saying why", () => {
    expect(refused(readSeedText(""))).toBe("enter the seed: 64 hex digits");
    expect(refused(readSeedText("zz".repeat(32)))).toBe("a seed is 64 hex digits (0-9, a-f); this has other characters");
    expect(refused(readSeedText("ab".repeat(31)))).toBe("a seed is 64 hex digits; this has 62");
    expect(refused(readSeedText("ab".repeat(33)))).toBe("a seed is 64 hex digits; this has 66");
    expect(refused(readSeedText(`${"ab".repeat(16)} ${"ab".repeat(16)}`))).toMatch(/other characters/);
  });

  test("a .seed file: the 32 bytes scryp keygen writes, or 64 hex digits; nothing else", () => {
    const seed = testKeyPair(4).seed;
    const raw = readSeedFile(seed);
    expect(raw.ok && toHex(raw.value)).toBe(toHex(seed));
    const hexFile = readSeedFile(new TextEncoder().encode(`${toHex(seed)}\n`));
    expect(hexFile.ok && toHex(hexFile.value)).toBe(toHex(seed));
    expect(refused(readSeedFile(new Uint8Array(0)))).toBe("a .seed file holds 32 bytes; this one holds 0");
    expect(refused(readSeedFile(new Uint8Array(31)))).toMatch(/holds 32 bytes \(or 64 hex digits\); this one holds 31 bytes/);
    expect(refused(readSeedFile(new Uint8Array(33)))).toMatch(/this one holds 33 bytes/);
    expect(refused(readSeedFile(new Uint8Array(4096)))).toBe("a .seed file holds 32 bytes; this one holds 4096");
  });

  test("a new passphrase: long enough, typed the same twice", () => {
    expect(refused(readNewPassphrase("short", "short"))).toBe("choose a passphrase of at least 8 characters");
    expect(refused(readNewPassphrase("long enough", "long enougH"))).toBe("the two passphrases differ");
    expect(readNewPassphrase("long enough", "long enough")).toEqual({ ok: true, value: "long enough" });
  });
});

describe("amounts and payees", () => {
  test("an amount is whole scryp, 1 to 2^32-1", () => {
    expect(readAmount(" 250 ")).toEqual({ ok: true, value: 250 });
    expect(readAmount("4294967295")).toEqual({ ok: true, value: 4294967295 });
    for (const [text, message] of [
      ["", /enter an amount/],
      ["12.5", /whole number/],
      ["-5", /whole number/],
      ["1e3", /whole number/],
      ["0", /at least 1/],
      ["4294967296", /at most 4294967295/],
      ["99999999999999999999", /at most 4294967295/],
    ] as const) {
      expect([text, refused(readAmount(text))]).toEqual([text, expect.stringMatching(message)]);
    }
  });

  test("a payee by id (with the amount field), or a payment request (its own amount)", () => {
    expect(readPayment(other.toUpperCase(), "7", self, null)).toEqual({ ok: true, value: { payee: other, amount: 7, fromRequest: false } });
    const uri = formatPaymentRequest({ payee: other, amount: 40 });
    expect(readPayment(uri, "", self, 100)).toEqual({ ok: true, value: { payee: other, amount: 40, fromRequest: true } });
    expect(readPayment(uri, "40", self, 100)).toEqual({ ok: true, value: { payee: other, amount: 40, fromRequest: true } });
  });

  test("refusals: no payee, not an id, a bad request, a conflicting amount, oneself, more than the balance", () => {
    const uri = formatPaymentRequest({ payee: other, amount: 40 });
    expect(refused(readPayment(" ", "5", self, null))).toMatch(/enter the payee/);
    expect(refused(readPayment("hello", "5", self, null))).toMatch(/account id \(64 hex digits\) or a scryp: payment request/);
    expect(refused(readPayment(other.slice(1), "5", self, null))).toMatch(/account id/);
    expect(refused(readPayment("scryp:xyz?amount=1", "", self, null))).toMatch(/^payment request: the payee must be an account id/);
    expect(refused(readPayment(`${uri}&memo=rent`, "", self, null))).toBe("payment request: unknown parameter 'memo' (only amount is allowed)");
    expect(refused(readPayment(`scryp:${other}?amount=007`, "", self, null))).toMatch(/^payment request: amount must be a whole number/);
    expect(refused(readPayment(uri, "41", self, null))).toBe("the payment request asks for 40 scryp but the amount field says 41: clear one of them");
    expect(refused(readPayment(other, "abc", self, null))).toMatch(/whole number/);
    expect(refused(readPayment(self, "5", self, null))).toMatch(/your own account/);
    expect(refused(readPayment(formatPaymentRequest({ payee: self, amount: 5 }), "", self, null))).toMatch(/your own account/);
    expect(refused(readPayment(other, "101", self, 100))).toBe("101 scryp is more than your balance (100 scryp)");
  });
});

describe("the sealed seed", () => {
  // Few iterations: the format and the checks are under test here, not PBKDF2's cost.
  const ITERATIONS = 1_000;

  test("opens with its passphrase to the same key pair; the record names the account and holds no seed", async () => {
    const kp = testKeyPair(5);
    const record = await sealSeed(kp.seed, "a good passphrase", ITERATIONS);
    expect(isSealedSeed(record)).toBe(true);
    expect(record.account).toBe(toHex(kp.publicKey));
    expect(JSON.stringify(record)).not.toContain(toHex(kp.seed));
    const opened = await openSeed(record, "a good passphrase");
    expect(toHex(opened.seed)).toBe(toHex(kp.seed));
    // Fresh salt and iv every time.
    const again = await sealSeed(kp.seed, "a good passphrase", ITERATIONS);
    expect([again.kdf.salt === record.kdf.salt, again.iv === record.iv, again.sealed === record.sealed]).toEqual([false, false, false]);
  });

  test("the full cost by default", async () => {
    const record = await sealSeed(testKeyPair(6).seed, "a good passphrase");
    expect(record.kdf.iterations).toBe(600_000);
  });

  test("a wrong passphrase, or a record tampered with (id, sealed bytes, iv), does not open", async () => {
    const kp = testKeyPair(7);
    const record = await sealSeed(kp.seed, "a good passphrase", ITERATIONS);
    await expect(openSeed(record, "a good passphrasE")).rejects.toBeInstanceOf(WrongPassphraseError);
    await expect(openSeed({ ...record, account: other }, "a good passphrase")).rejects.toBeInstanceOf(WrongPassphraseError);
    const flipped = (hex: string) => (hex[0] === "0" ? "1" : "0") + hex.slice(1);
    await expect(openSeed({ ...record, sealed: flipped(record.sealed) }, "a good passphrase")).rejects.toBeInstanceOf(WrongPassphraseError);
    await expect(openSeed({ ...record, iv: flipped(record.iv) }, "a good passphrase")).rejects.toBeInstanceOf(WrongPassphraseError);
  });

  test("what IndexedDB hands back is checked before it is used", async () => {
    const record = await sealSeed(testKeyPair(8).seed, "a good passphrase", ITERATIONS);
    for (const bad of [null, 1, "x", {}, { ...record, format: 2 }, { ...record, account: "AB" }, { ...record, kdf: { ...record.kdf, iterations: 0 } }, { ...record, sealed: record.sealed.slice(2) }, { ...record, iv: "00" }]) {
      expect(isSealedSeed(bad)).toBe(false);
    }
  });
});

describe("browser hex, ids and QR codes", () => {
  test("the same hex and payment ids as the node's", () => {
    const bytes = signedPayment(testKeyPair(9), testKeyPair(10).publicKey, 12, 1_796_000_000_000);
    expect(toHex(bytes)).toBe(coreBytes.toHex(bytes));
    expect(paymentIdHex(bytes)).toBe(corePaymentIdHex(bytes));
    expect(toHex(fromHex(toHex(bytes), 140)!)).toBe(toHex(bytes));
    expect([fromHex("AB", 1), fromHex("a", 1), fromHex("zz", 1), fromHex("abab", 1)]).toEqual([null, null, null, null]);
  });

  test("a QR drawing: a square of modules with a border, dark modules as unit squares", () => {
    const qr = qrDrawing(formatPaymentRequest({ payee: other, amount: 1000 }));
    expect(qr.size).toBeGreaterThanOrEqual(21 + 4);
    const squares = qr.path.match(/M\d+ \d+h1v1h-1z/g)!;
    expect(squares.join("")).toBe(qr.path);
    // The border (2 modules) stays light; the top-left finder's corner is dark.
    expect(qr.path.startsWith("M2 2h1v1h-1z")).toBe(true);
    expect(squares.some((s) => /^M[01] |^M\d+ [01]h/.test(s))).toBe(false);
  });
});

describe("the embedded network", () => {
  const network = parseNetwork({
    servers: [
      { key: self, address: "127.0.0.1:7400" },
      { key: other, address: "[::1]:7401" },
    ],
    interval: 10_000,
    blackout: 3_000,
    skew: 1_000,
    genesis: { [self]: 5 },
  });

  test("what the page embeds reads back: servers (IPv6 too) and schedule, no genesis", () => {
    const embedded = embeddedNetwork(network);
    expect(JSON.stringify(embedded)).not.toContain("genesis");
    expect(readEmbeddedNetwork(JSON.stringify(embedded))).toEqual({
      servers: [
        { key: self, address: "127.0.0.1:7400", host: "127.0.0.1", port: 7400 },
        { key: other, address: "[::1]:7401", host: "::1", port: 7401 },
      ],
      intervalMs: 10_000,
      blackoutMs: 3_000,
      skewMs: 1_000,
    });
  });

  test("anything else is not read", () => {
    const embedded = embeddedNetwork(network);
    for (const bad of ["", "{", "[]", JSON.stringify({ ...embedded, servers: [] }), JSON.stringify({ ...embedded, extra: 1 }), JSON.stringify({ ...embedded, interval: "10s" })]) {
      expect(readEmbeddedNetwork(bad)).toBeNull();
    }
  });
});

describe("following a payment", () => {
  const WINDOW = 100;
  const held = (extra: Partial<StoredPaymentAnswer> = {}): StoredPaymentAnswer => ({ id: "a".repeat(64), timestamp: 1, amount: 1, payee: other, payer: self, window: WINDOW, acceptedAt: 1, ...extra });
  const answer = (agreedWindow: number, payment: StoredPaymentAnswer | null): TxAsked => ({ server: "s", kind: "answer", agreedWindow, payment });
  const silent: TxAsked = { server: "s", kind: "error", message: "down" };

  test("pending while its window is not agreed by a majority; then agreed; settled once agreed when no server reports finality", () => {
    const pending = paymentProgress(WINDOW, [answer(WINDOW - 1, held()), answer(WINDOW - 1, null), silent], 3);
    expect([pending.stage, pending.tally.holding, settled(pending, 0, 1)]).toEqual(["pending", 1, false]);
    expect(settled(pending, 1, 1)).toBe(true);
    const agreed = paymentProgress(WINDOW, [answer(WINDOW, held()), answer(WINDOW + 1, held()), silent], 3);
    expect([agreed.stage, agreed.tally.agreedWith, agreed.finalityReported, settled(agreed, 0, 1)]).toEqual(["agreed", 2, false, true]);
  });

  test("disappeared when a majority agreed its window without it", () => {
    const gone = paymentProgress(WINDOW, [answer(WINDOW, null), answer(WINDOW + 2, null), answer(WINDOW - 1, held())], 3);
    expect([gone.stage, gone.tally.agreedWithout, settled(gone, 0, 1)]).toEqual(["disappeared", 2, true]);
    // One server's "agreed without it" of three is no majority.
    expect(paymentProgress(WINDOW, [answer(WINDOW, null), silent, silent], 3).stage).toBe("pending");
  });

  test("final only once a majority of servers report it (a field today's nodes do not send); until then it waits for it", () => {
    const reporting = paymentProgress(WINDOW, [answer(WINDOW, held({ final: false })), answer(WINDOW, held({ final: true })), answer(WINDOW, held({ final: false }))], 3);
    expect([reporting.stage, reporting.finalityReported, reporting.finalCount, settled(reporting, 0, 1)]).toEqual(["agreed", true, 1, false]);
    const final = paymentProgress(WINDOW, [answer(WINDOW, held({ final: true })), answer(WINDOW, held({ final: true })), silent], 3);
    expect([final.stage, settled(final, 0, 1)]).toEqual(["final", true]);
  });
});
