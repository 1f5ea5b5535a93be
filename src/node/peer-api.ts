// Server-to-server HTTP routes under /peer (Hono). Only the network's servers are answered: every
// request passes peerGuard (signed by a listed server, bound to method, path, length and time)
// before its body is read. Messages are binary and signed (core/consensus/peer-message.ts); the
// coordinator checks and applies them. What each route serves is only what a member needs:
//   POST /peer/message      a peer message of any type (body ≤ the largest peer message of this network: a rescue)
//   GET  /peer/certificate  the certificate of this server's latest agreed window
//   GET  /peer/payments     agreed history for a resync, at most resyncPaymentsMax rows, streamed
//   GET  /peer/handover     the handover (or rescue) of ?window= this server took, for a peer that missed it
//   GET  /peer/relays       the relays of ?window= this server holds, for the window's rescue
//                           (framed: length (4) | message, at most rescueRelaysMax), or its handover
// The sizes follow from the network's capacity (core/consensus/peer-limits.ts).
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import * as v from "valibot";
import { peerLimits } from "../core/consensus/peer-limits.ts";
import { SENDER_OFFSET } from "../core/consensus/peer-message.ts";
import { KEY_BYTES, PAYMENT_SIZE_BYTES, RESYNC_ANSWERS_IN_FLIGHT_MAX, RESYNC_ROW_BYTES, RESYNC_ROWS_PER_CHUNK } from "../core/limits.ts";
import { equalBytes } from "../core/bytes.ts";
import { sendError } from "./http-errors.ts";
import type { Coordinator, Effect, ReceiveResult } from "../core/consensus/coordinator.ts";
import type { Ledger } from "../ledger/ledger.ts";
import type { Clock } from "../core/clock.ts";
import type { Network } from "../core/network.ts";
import type { Verify } from "../core/acceptance.ts";
import type { Faults } from "./faults.ts";
import { peerGuard, type PeerGuardVariables } from "./peer-guard.ts";


const PaymentsQuerySchema = v.object({
  after: v.pipe(v.string(), v.regex(/^-?\d{1,15}$/, "after must be a window number"), v.transform(Number)),
  upto: v.pipe(v.string(), v.regex(/^-?\d{1,15}$/, "upto must be a window number"), v.transform(Number)),
});

const WindowQuerySchema = v.object({
  window: v.pipe(v.string(), v.regex(/^-?\d{1,15}$/, "window must be a window number"), v.transform(Number)),
});

/** Messages framed as length (4, big-endian) | bytes, one after another. */
export function encodeFramedMessages(messages: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(messages.reduce((n, m) => n + 4 + m.length, 0));
  const view = new DataView(out.buffer);
  let o = 0;
  for (const m of messages) {
    view.setUint32(o, m.length, false);
    out.set(m, o + 4);
    o += 4 + m.length;
  }
  return out;
}

/** The messages of a framed answer; null if malformed or more than `countMax`. */
export function decodeFramedMessages(bytes: Uint8Array, countMax: number): Uint8Array[] | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const messages: Uint8Array[] = [];
  let o = 0;
  while (o < bytes.length) {
    if (o + 4 > bytes.length || messages.length >= countMax) return null;
    const length = view.getUint32(o, false);
    if (o + 4 + length > bytes.length) return null;
    messages.push(bytes.slice(o + 4, o + 4 + length));
    o += 4 + length;
  }
  return messages;
}

export function encodePaymentRows(rows: readonly { window: number; bytes: Uint8Array }[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(rows.length * RESYNC_ROW_BYTES);
  const view = new DataView(out.buffer);
  rows.forEach((r, i) => {
    if (r.bytes.length !== PAYMENT_SIZE_BYTES) throw new RangeError("a payment is 140 bytes");
    view.setBigInt64(i * RESYNC_ROW_BYTES, BigInt(r.window), false);
    out.set(r.bytes, i * RESYNC_ROW_BYTES + 8);
  });
  return out;
}

/** Rows of a resync answer; null if malformed or longer than `answerBytesMax` (peer-limits.ts). */
export function decodePaymentRows(bytes: Uint8Array, answerBytesMax: number): { window: number; bytes: Uint8Array }[] | null {
  if (bytes.length % RESYNC_ROW_BYTES !== 0 || bytes.length > answerBytesMax) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rows = [];
  for (let o = 0; o < bytes.length; o += RESYNC_ROW_BYTES) {
    const window = view.getBigInt64(o, false);
    if (window < -1n || window > BigInt(Number.MAX_SAFE_INTEGER)) return null;
    rows.push({ window: Number(window), bytes: bytes.slice(o + 8, o + RESYNC_ROW_BYTES) });
  }
  return rows;
}

export interface PeerApiDeps {
  readonly coordinator: Coordinator;
  readonly ledger: Ledger;
  readonly network: Network;
  readonly selfIndex: number;
  readonly clock: Clock;
  readonly verify: Verify;
  readonly faults: Faults;
  readonly run: (effects: Effect[]) => void;
  /** Hands a peer message to the node (compose.ts: the coordinator, then relayed signatures in slices). */
  readonly receive: (bytes: Uint8Array) => ReceiveResult;
}

export function createPeerApi(deps: PeerApiDeps): Hono<{ Variables: PeerGuardVariables }> {
  const app = new Hono<{ Variables: PeerGuardVariables }>();
  const limits = peerLimits(deps.network.capacity);
  const messageBytesMax = limits.peerMessageBytesMax;
  // At least one window's rows: a server behind must be able to fetch a full window at once.
  const resyncPaymentsMax = limits.resyncPaymentsMax;
  app.use(
    "*",
    peerGuard({
      network: deps.network,
      selfIndex: deps.selfIndex,
      clock: deps.clock,
      verify: deps.verify,
      faults: deps.faults,
      bodyBytesMax: (path) => (path === "/peer/message" ? messageBytesMax : 0),
    }),
  );
  app.post(
    "/message",
    bodyLimit({ maxSize: messageBytesMax, onError: (c) => sendError(c, "BODY_TOO_LARGE", `peer messages are at most ${messageBytesMax} bytes`) }),
    async (c) => {
      const bytes = new Uint8Array(await c.req.arrayBuffer());
      const sender = deps.network.servers[c.get("peerIndex")]!;
      const reject = (reason: string) => {
        deps.faults.record("peer_message_rejected", "peers", `rejected a peer message from ${sender.address}: ${reason}`);
        return sendError(c, "PEER_REJECTED", reason);
      };
      if (bytes.length !== c.get("peerContentLength")) return reject("the body's length is not the signed Content-Length");
      // The message must be the authenticated sender's own (its key sits at a fixed offset; the
      // coordinator checks the message's own signature).
      if (!messageFrom(bytes, sender.key)) return reject("the message is not signed by the server that sent the request");
      const result = deps.receive(bytes);
      deps.run(result.effects);
      if (!result.ok) return reject(result.reason);
      return c.json({ ok: true });
    },
  );
  app.get("/certificate", (c) => {
    // The newest certificate known here, recorded or only learned (see Coordinator.newestCertificate).
    const newest = deps.coordinator.newestCertificate();
    if (newest === null) return sendError(c, "NOT_FOUND", "no window agreed yet");
    return c.body(new Uint8Array(newest.certificate) as Uint8Array<ArrayBuffer>, 200, { "content-type": "application/octet-stream", "x-scryp-window": String(newest.window) });
  });
  const windowQuery = (c: { req: { query(): Record<string, string> } }): number | string => {
    const q = v.safeParse(WindowQuerySchema, c.req.query());
    return q.success ? q.output.window : q.issues[0].message;
  };
  app.get("/handover", (c) => {
    const window = windowQuery(c);
    if (typeof window === "string") return sendError(c, "BAD_REQUEST", window);
    const bytes = deps.coordinator.handoverOf(window);
    if (bytes === null) return sendError(c, "NOT_FOUND", `no handover of window ${window} here`);
    return c.body(new Uint8Array(bytes) as Uint8Array<ArrayBuffer>, 200, { "content-type": "application/octet-stream" });
  });
  app.get("/relays", (c) => {
    const window = windowQuery(c);
    if (typeof window === "string") return sendError(c, "BAD_REQUEST", window);
    // At most rescueRelaysMax messages (an honest alpha sends fewer a window), each bounded.
    const messages = deps.coordinator.relaysAnswer(window, c.get("peerIndex")).slice(0, limits.rescueRelaysMax);
    return c.body(encodeFramedMessages(messages), 200, { "content-type": "application/octet-stream" });
  });
  let resyncAnswers = 0;
  app.get("/payments", (c) => {
    const q = v.safeParse(PaymentsQuerySchema, c.req.query());
    if (!q.success) return sendError(c, "BAD_REQUEST", q.issues[0].message);
    const { after, upto } = q.output;
    if (after < -1 || upto <= after) return sendError(c, "BAD_REQUEST", "ask for windows after < upto, after ≥ -1");
    // Only agreed history is served: anything later may still be rolled back.
    if (upto > deps.ledger.agreed().window) return sendError(c, "NOT_FOUND", `window ${upto} is not agreed here`);
    // Counted in SQL with a limit, before a row is loaded.
    const count = deps.ledger.countPaymentsBetween(after, upto, resyncPaymentsMax + 1);
    if (count > resyncPaymentsMax) return sendError(c, "BODY_TOO_LARGE", `more than ${resyncPaymentsMax} payments; ask for fewer windows`);
    if (resyncAnswers >= RESYNC_ANSWERS_IN_FLIGHT_MAX) return sendError(c, "OVERLOADED", `${RESYNC_ANSWERS_IN_FLIGHT_MAX} resync answers are being sent; try again shortly`);
    resyncAnswers++;
    let released = false;
    const release = () => {
      if (!released) resyncAnswers--;
      released = true;
    };
    // Streamed a chunk at a time, each chunk its own query, so other requests are answered in between.
    let lastSeq = 0;
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        try {
          const page = deps.ledger.paymentsBetweenPage(after, upto, lastSeq, Math.min(RESYNC_ROWS_PER_CHUNK, count - sent));
          if (page.length === 0 || sent >= count) {
            release();
            controller.close();
            return;
          }
          lastSeq = page.at(-1)!.seq;
          sent += page.length;
          controller.enqueue(encodePaymentRows(page));
        } catch (e) {
          release();
          controller.error(e);
        }
      },
      cancel: release,
    });
    return c.body(stream, 200, { "content-type": "application/octet-stream", "content-length": String(count * RESYNC_ROW_BYTES) });
  });
  return app;
}

/** Whether the peer message's sender field (after magic, type and network id) is `key`. */
function messageFrom(bytes: Uint8Array, key: Uint8Array): boolean {
  if (bytes.length < SENDER_OFFSET + KEY_BYTES) return true; // too short: the coordinator says what is wrong
  return equalBytes(bytes.subarray(SENDER_OFFSET, SENDER_OFFSET + KEY_BYTES), key);
}
