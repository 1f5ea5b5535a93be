// Fuzz: the compiled node, over every door it opens to strangers. Random datagrams (0 to 1500
// bytes, a few up to 65,000), mutated payments, datagrams from sockets closed at once, random
// POST /tx bodies and content types, uploads cut off mid-body, random and oversized peer
// messages, random resync queries. None of it can be a valid payment (mutations of a signed
// payment are never the payment; well-formed ones come from unfunded keys), so afterwards the
// node must still run, answer, and hold exactly the ledger it held before.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { decodeReply } from "../../src/core/udp-reply.ts";
import { ERROR_CODES } from "../../src/core/errors.ts";
import { equalBytes, toHex } from "../../src/core/bytes.ts";
import { paymentIdHex } from "../../src/core/payment.ts";
import { encodeHandover, encodeRelay, encodeVote, HANDOVER_BYTES_MAX, PEER_MAGIC } from "../../src/core/consensus/peer-message.ts";
import { HTTP_BODY_SIZE_BYTES_MAX, PAYMENT_SIZE_BYTES } from "../../src/core/limits.ts";
import { signedPayment, tempDir, testKeyPair } from "../support/helpers.ts";
import { getJson, HOST, startFundedNode, udpClient, type FundedNode } from "../e2e/e2e-support.ts";
import { Fuzz, fuzzCasesAsync, mutate, randomLength, type IntegerField } from "./fuzz-support.ts";

const PAYER = testKeyPair(2);
const PAYEE = testKeyPair(3);
/** Not in the network: signs peer messages and payments that are well formed but not valid. */
const STRANGER = testKeyPair(0x51);
const PAYMENT_FIELDS: readonly IntegerField[] = [
  { offset: 0, widthBytes: 8 },
  { offset: 8, widthBytes: 4 },
];
const KNOWN_CODES = new Set(Object.keys(ERROR_CODES));
/** Each test's own bound; the whole file stays well under it. */
const TEST_TIMEOUT_MS = 30_000;

let dir: { path: string; cleanup: () => void };
let f: FundedNode;
let ledgerBefore: Record<string, unknown>;

async function ledgerNow(): Promise<Record<string, unknown>> {
  const { status, json } = await getJson(`${f.url}/status`);
  expect(status).toBe(200);
  const { pending: _pending, ...ledger } = json.ledger as Record<string, unknown>;
  return ledger;
}

/**
 * The known finding below: an upload cut off mid-body is logged as a handler failure with no
 * detail ("[http] POST /tx: " and nothing after). Any other "[http] " line is a new failure.
 */
const ABORTED_UPLOAD_LINE = /^\[http\] POST \/(tx|peer\/message): $/;

/** Lines the node logged for requests that failed inside it (answered INTERNAL), since `fromLine`. */
function handlerFailures(fromLine = 0): string[] {
  return f.node.log().split("\n").slice(fromLine).filter((line) => line.includes("[http] "));
}

/** The node still runs, answers, and holds the ledger it held before; no request failed inside it. */
async function expectNodeUnharmed(): Promise<void> {
  expect(f.node.process.exitCode, `the node exited; it printed:\n${f.node.log()}`).toBeNull();
  expect(await ledgerNow()).toEqual(ledgerBefore);
  // An exception in a handler is logged as "[http] METHOD /path: <stack>" and answered INTERNAL.
  expect(handlerFailures().filter((line) => !ABORTED_UPLOAD_LINE.test(line))).toEqual([]);
}

beforeAll(async () => {
  dir = tempDir("scryp-fuzz-node-");
  f = await startFundedNode(dir.path, [[PAYER, 10_000]]);
  ledgerBefore = await ledgerNow();
});
afterAll(async () => {
  // FUZZ_NODE_LOG=<file> keeps what the node printed, to study a failure.
  if (process.env.FUZZ_NODE_LOG) await Bun.write(process.env.FUZZ_NODE_LOG, f.node.log());
  await f?.node.kill("SIGKILL");
  dir?.cleanup();
});

/** A payment that cannot be valid: a mutation of a real one (never the real one), or an unfunded payer's. */
function invalidPayment(fuzz: Fuzz): Uint8Array {
  const now = Date.now();
  if (fuzz.chance(0.3)) return signedPayment(STRANGER, PAYEE.publicKey, fuzz.int(1, 5000), now + fuzz.int(-3000, 3000));
  const real = signedPayment(PAYER, PAYEE.publicKey, fuzz.int(1, 5000), now);
  for (;;) {
    const bytes = mutate(fuzz, real, PAYMENT_FIELDS);
    if (!equalBytes(bytes, real)) return bytes;
  }
}

function randomDatagram(fuzz: Fuzz): Uint8Array {
  if (fuzz.chance(0.4)) return invalidPayment(fuzz);
  return fuzz.bytes(randomLength(fuzz, [0, 1, 12, 13, 33, 139, 140, 141, 1500], 1500));
}

describe("fuzz: the compiled node", () => {
  test(
    "random datagrams and invalid payments over UDP: a reply no larger than the request, never accepted",
    async () => {
      const client = await udpClient();
      // Woken by the reply itself: polling (waitReplies) would cost 25 ms a datagram.
      let wake: (() => void) | null = null;
      client.onReply(() => wake?.());
      const nextReply = (count: number, timeoutMs: number) =>
        new Promise<boolean>((resolve) => {
          if (client.replies.length >= count) return resolve(true);
          const timer = setTimeout(() => resolve(false), timeoutMs);
          wake = () => {
            if (client.replies.length < count) return;
            clearTimeout(timer);
            resolve(true);
          };
        });
      try {
        let sent = 0;
        let answered = 0;
        await fuzzCasesAsync("node/udp", 1500, async (fuzz, i) => {
          // A few near the largest datagram loopback carries.
          const bytes = i % 250 === 249 ? fuzz.bytes(fuzz.int(60_000, 65_000)) : randomDatagram(fuzz);
          fuzz.input(bytes);
          const before = client.replies.length;
          if (!client.send(bytes, f.port)) return;
          sent++;
          if (bytes.length === 0) return; // no reply by design
          // UDP may drop; the property is about what does arrive.
          if (!(await nextReply(before + 1, 2_000))) return;
          answered++;
          const reply = client.replies[before]!.bytes;
          expect(reply.length).toBeLessThanOrEqual(bytes.length);
          const decoded = decodeReply(reply, bytes.length);
          expect(decoded.kind).toBe("rejected");
          if (decoded.kind === "rejected" && decoded.id !== null) expect(toHex(decoded.id)).toBe(paymentIdHex(bytes));
        });
        // Loopback drops almost nothing: most must have been answered.
        expect(answered).toBeGreaterThan(sent * 0.8);
      } finally {
        client.close();
      }
      await expectNodeUnharmed();
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "datagrams from sockets closed right after sending",
    async () => {
      await fuzzCasesAsync("node/udp-closed", 300, async (fuzz) => {
        const bytes = randomDatagram(fuzz);
        fuzz.input(bytes);
        const socket = await Bun.udpSocket({ hostname: HOST });
        socket.send(bytes, f.port, HOST);
        socket.close();
      });
      await Bun.sleep(200);
      await expectNodeUnharmed();
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "POST /tx with random bodies and content types: an error with a known code, never 500",
    async () => {
      const types = [
        "application/octet-stream", "application/json", "application/json; charset=utf-8", "APPLICATION/OCTET-STREAM",
        "text/plain", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "", ";", "application/json;;;", "\u00e9",
      ];
      await fuzzCasesAsync("node/http-tx", 500, async (fuzz) => {
        const type = fuzz.pick(types);
        let body: Uint8Array;
        switch (fuzz.int(0, 4)) {
          case 0:
            body = invalidPayment(fuzz);
            break;
          case 1:
            body = new TextEncoder().encode(JSON.stringify({ tx: toHex(invalidPayment(fuzz)) }));
            break;
          case 2:
            body = new TextEncoder().encode(fuzz.pick(['{"tx":1}', '{"tx":null}', '{"tx":[]}', '{"tx":"00","x":1}', "[]", "null", '"x"', '{"__proto__":{"tx":"00"}}', "{", '{"tx":"' + "g".repeat(280) + '"}']));
            break;
          case 3:
            body = fuzz.bytes(fuzz.pick([HTTP_BODY_SIZE_BYTES_MAX, HTTP_BODY_SIZE_BYTES_MAX + 1, 20_000]));
            break;
          default:
            body = fuzz.bytes(randomLength(fuzz, [0, 1, 139, 140, 141, 300], 4000));
        }
        fuzz.input(body);
        fuzz.note = `content-type ${JSON.stringify(type)}; body ${fuzz.note}`;
        const headers: Record<string, string> = type === "" ? {} : { "content-type": type };
        const response = await fetch(`${f.url}/tx`, { method: "POST", headers, body: body as Uint8Array<ArrayBuffer> });
        const text = await response.text();
        expect(response.status).toBeGreaterThanOrEqual(400);
        expect(response.status).not.toBe(500);
        const json = JSON.parse(text);
        expect(KNOWN_CODES.has(json.error?.code)).toBe(true);
      });
      await expectNodeUnharmed();
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "uploads cut off mid-body (raw TCP: a large Content-Length, part of the body, then close)",
    async () => {
      await fuzzCasesAsync("node/aborted-upload", 100, async (fuzz) => {
        const path = fuzz.pick(["/tx", "/peer/message", "/tx", "/nowhere"]);
        const declared = fuzz.pick([141, HTTP_BODY_SIZE_BYTES_MAX, 1_000_000, HANDOVER_BYTES_MAX, 2 ** 31, fuzz.int(1, 100_000)]);
        const type = fuzz.pick(["application/octet-stream", "application/json"]);
        const head = `POST ${path} HTTP/1.1\r\nHost: ${HOST}:${f.port}\r\nContent-Type: ${type}\r\nContent-Length: ${declared}\r\n\r\n`;
        const sent = fuzz.bytes(Math.min(declared - 1, fuzz.pick([0, 1, 100, 4000, 60_000])));
        // Sometimes only part of the headers.
        const headBytes = new TextEncoder().encode(head);
        const cutHead = fuzz.chance(0.2) ? headBytes.subarray(0, fuzz.int(1, headBytes.length - 1)) : headBytes;
        fuzz.note = `${JSON.stringify(new TextDecoder().decode(cutHead))} + ${sent.length} body bytes`;
        const socket = await Bun.connect({ hostname: HOST, port: f.port, socket: { data() {}, error() {} } });
        socket.write(cutHead);
        if (cutHead === headBytes) socket.write(sent);
        socket.flush();
        if (fuzz.chance(0.5)) await Bun.sleep(fuzz.int(0, 20));
        socket.end();
      });
      await Bun.sleep(200);
      await expectNodeUnharmed();
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "POST /peer/message with random, mutated and oversized bodies: refused, never 500",
    async () => {
      const now = Date.now();
      const common = { sender: STRANGER.publicKey, window: Math.floor(now / 120_000), sentAtMs: now };
      const real = [
        encodeVote({ ...common, hash: new Uint8Array(32), applied: true }, STRANGER.seed),
        encodeHandover({ ...common, baseWindow: common.window - 1, baseHash: new Uint8Array(32), hash: new Uint8Array(32), payments: [signedPayment(STRANGER, PAYEE.publicKey, 1, now)] }, STRANGER.seed),
        encodeRelay({ ...common, first: 0, payments: [signedPayment(STRANGER, PAYEE.publicKey, 2, now)] }, STRANGER.seed),
      ];
      const post = (body: Uint8Array) =>
        fetch(`${f.url}/peer/message`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: body as Uint8Array<ArrayBuffer> });
      await fuzzCasesAsync("node/peer-message", 400, async (fuzz) => {
        const pick = fuzz.int(0, 3);
        const body =
          pick === 0 ? fuzz.bytes(randomLength(fuzz, [0, 1, 125, 158, 200], 3000))
          : pick === 1 ? new Uint8Array([...PEER_MAGIC, ...fuzz.bytes(fuzz.int(0, 400))])
          : pick === 2 ? fuzz.pick(real)
          : mutate(fuzz, fuzz.pick(real), [{ offset: 45, widthBytes: 8 }, { offset: 53, widthBytes: 8 }], real);
        fuzz.input(body);
        const response = await post(body);
        const json = (await response.json()) as { error: { code: string } };
        expect(response.status).toBe(400);
        expect(json.error.code).toBe("PEER_REJECTED");
      });
      // One body past the limit: refused by size, read no further.
      const oversized = await post(new Uint8Array(HANDOVER_BYTES_MAX + 1));
      expect(oversized.status).toBe(413);
      expect(((await oversized.json()) as { error: { code: string } }).error.code).toBe("BODY_TOO_LARGE");
      await expectNodeUnharmed();
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "GET /peer/payments with random after and upto: whole rows or an error, never 500",
    async () => {
      const values = ["0", "-1", "1", "-0", "", "x", "1e3", "0x10", "999999999999999", "9999999999999999", "-999999999999999", "1.5", " 1", "%00", "NaN", "Infinity", "9007199254740993"];
      await fuzzCasesAsync("node/peer-payments", 300, async (fuzz) => {
        const value = () => (fuzz.chance(0.2) ? String(fuzz.int(-5, 30_000_000)) : fuzz.pick(values));
        const parts: string[] = [];
        if (fuzz.chance(0.9)) parts.push(`after=${value()}`);
        if (fuzz.chance(0.9)) parts.push(`upto=${value()}`);
        if (fuzz.chance(0.2)) parts.push(`${fuzz.pick(["after", "upto"])}=${value()}`);
        if (fuzz.chance(0.1)) parts.push("after");
        const query = parts.join("&");
        fuzz.input(query);
        const response = await fetch(`${f.url}/peer/payments?${query}`);
        const bytes = new Uint8Array(await response.arrayBuffer());
        expect([200, 400, 404, 413]).toContain(response.status);
        if (response.status === 200) expect(bytes.length % (8 + PAYMENT_SIZE_BYTES)).toBe(0);
        else expect(KNOWN_CODES.has(JSON.parse(new TextDecoder().decode(bytes)).error?.code)).toBe(true);
      });
      await expectNodeUnharmed();
    },
    TEST_TIMEOUT_MS,
  );
});

describe("findings (http-api.ts is owned elsewhere: reported, not fixed here)", () => {
  // Found by "node/aborted-upload". Minimal input: one TCP connection that sends
  //   POST /tx HTTP/1.1 | Content-Type: application/octet-stream | Content-Length: 1000
  // and no body, then closes. Reading the body rejects; Hono's onError logs it as a failure
  // inside the node, with no detail at all ("[http] POST /tx: "), and answers 500 INTERNAL to a
  // client that is gone. Same for POST /peer/message, and for any body shorter than declared
  // (within the body limit; a larger Content-Length is refused by bodyLimit before reading).
  // The node survives, but anyone can write a line to its log per connection, unthrottled, and a
  // client's fault is counted as the node's. Expected: a cut-off upload is the client's error,
  // counted (like UDP socket errors in scryp_faults_total) and logged with a throttle.
  // test.failing: passes while the bug is there; make it a plain test when http-api.ts is fixed.
  test.failing(
    "an upload cut off mid-body is not logged as a failure inside the node",
    async () => {
      const fromLine = f.node.log().split("\n").length - 1;
      const socket = await Bun.connect({ hostname: HOST, port: f.port, socket: { data() {}, error() {} } });
      socket.write(`POST /tx HTTP/1.1\r\nHost: ${HOST}:${f.port}\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n`);
      socket.flush();
      socket.end();
      await Bun.sleep(300);
      expect(f.node.process.exitCode).toBeNull();
      expect(handlerFailures(fromLine)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});
