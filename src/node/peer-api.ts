// Server-to-server HTTP routes under /peer (Hono). Messages are binary and signed (see
// core/consensus/peer-message.ts); the coordinator checks and applies them.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import * as v from "valibot";
import { HANDOVER_BYTES_MAX } from "../core/consensus/peer-message.ts";
import { PAYMENT_SIZE_BYTES } from "../core/limits.ts";
import { sendError } from "./http-api.ts";
import type { Coordinator, Effect } from "../core/consensus/coordinator.ts";
import type { Ledger } from "../ledger/ledger.ts";
import type { Clock } from "../core/clock.ts";

/** A resync answer is bounded; a server further behind catches up in several steps. */
export const RESYNC_PAYMENTS_MAX = 2_000_000;
const RESYNC_ROW_BYTES = 8 + PAYMENT_SIZE_BYTES;

const PaymentsQuerySchema = v.object({
  after: v.pipe(v.string(), v.regex(/^-?\d{1,15}$/, "after must be a window number"), v.transform(Number)),
  upto: v.pipe(v.string(), v.regex(/^-?\d{1,15}$/, "upto must be a window number"), v.transform(Number)),
});

export function encodePaymentRows(rows: readonly { window: number; bytes: Uint8Array }[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(rows.length * RESYNC_ROW_BYTES);
  const view = new DataView(out.buffer);
  rows.forEach((r, i) => {
    view.setBigInt64(i * RESYNC_ROW_BYTES, BigInt(r.window), false);
    out.set(r.bytes, i * RESYNC_ROW_BYTES + 8);
  });
  return out;
}

export function decodePaymentRows(bytes: Uint8Array): { window: number; bytes: Uint8Array }[] | null {
  if (bytes.length % RESYNC_ROW_BYTES !== 0) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rows = [];
  for (let o = 0; o < bytes.length; o += RESYNC_ROW_BYTES) {
    rows.push({ window: Number(view.getBigInt64(o, false)), bytes: bytes.slice(o + 8, o + RESYNC_ROW_BYTES) });
  }
  return rows;
}

export function createPeerApi(deps: {
  coordinator: Coordinator;
  ledger: Ledger;
  clock: Clock;
  run: (effects: Effect[]) => void;
  /** Starts checking relayed signatures in slices between other work. */
  schedulePreverify: () => void;
}): Hono {
  const app = new Hono();
  app.post(
    "/message",
    bodyLimit({ maxSize: HANDOVER_BYTES_MAX, onError: (c) => sendError(c, "BODY_TOO_LARGE", `peer messages are at most ${HANDOVER_BYTES_MAX} bytes`) }),
    async (c) => {
      const bytes = new Uint8Array(await c.req.arrayBuffer());
      const result = deps.coordinator.receive(bytes, deps.clock.now());
      deps.run(result.effects);
      if (deps.coordinator.preverifyPending > 0) deps.schedulePreverify();
      if (!result.ok) return sendError(c, "PEER_REJECTED", result.reason);
      return c.json({ ok: true });
    },
  );
  app.get("/certificate", (c) => {
    const agreed = deps.ledger.agreed();
    if (agreed.certificate.length === 0) return sendError(c, "NOT_FOUND", "no window agreed yet");
    return c.body(new Uint8Array(agreed.certificate) as Uint8Array<ArrayBuffer>, 200, { "content-type": "application/octet-stream", "x-scryp-window": String(agreed.window) });
  });
  app.get("/payments", (c) => {
    const q = v.safeParse(PaymentsQuerySchema, c.req.query());
    if (!q.success) return sendError(c, "BAD_REQUEST", q.issues[0].message);
    const { after, upto } = q.output;
    // Only agreed history is served: anything later may still be rolled back.
    if (upto > deps.ledger.agreed().window) return sendError(c, "NOT_FOUND", `window ${upto} is not agreed here`);
    const rows = deps.ledger.paymentsBetween(after, upto);
    if (rows.length > RESYNC_PAYMENTS_MAX) return sendError(c, "BODY_TOO_LARGE", `more than ${RESYNC_PAYMENTS_MAX} payments; ask for fewer windows`);
    return c.body(encodePaymentRows(rows) as Uint8Array<ArrayBuffer>, 200, { "content-type": "application/octet-stream" });
  });
  return app;
}
