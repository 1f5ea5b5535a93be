// The node's HTTP API (Hono): a thin adapter over the intake and the ledger. JSON in and out;
// every error is {"error":{"code","message"}} with a stable code.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import * as v from "valibot";
import { sendError } from "./http-errors.ts";
import { clientAddress, guardHttp } from "./http-guard.ts";
import { clientAddressKey } from "./client-address-key.ts";
import type { Faults } from "./faults.ts";
import { fromHex, toHex } from "../core/bytes.ts";
import { paymentToJson } from "../core/payment.ts";
import { HTTP_BODY_SIZE_BYTES_MAX, TRANSACTIONS_PAGE_DEFAULT, TRANSACTIONS_PAGE_MAX } from "../core/limits.ts";
import type { Ledger, StoredPayment } from "../ledger/ledger.ts";
import type { PaymentIntake } from "./payment-intake.ts";
import type { Network } from "../core/network.ts";
import type { Clock } from "../core/clock.ts";

export interface HttpDeps {
  readonly intake: PaymentIntake;
  readonly ledger: Ledger;
  readonly network: Network;
  readonly clock: Clock;
  readonly keyHex: string;
  readonly version: string;
  /** Counts and logs (throttled, through the node's Logger) failed answers and refused requests. */
  readonly faults: Faults;
  /** Extra fields for GET /status (the coordinator adds its own). */
  readonly statusExtra?: () => Record<string, unknown>;
  /** The newest window this server knows to be final (docs/PROTOCOL.md §7 step 9); −1: none yet. */
  readonly finalWindow?: () => number;
}

const TxJsonSchema = v.strictObject({
  tx: v.pipe(v.string(), v.regex(/^[0-9a-f]{280}$/, "tx must be 280 lowercase hex digits (a 140-byte payment)")),
});

const PageQuerySchema = v.object({
  limit: v.optional(
    v.pipe(v.string(), v.regex(/^\d{1,4}$/, "limit must be a whole number"), v.transform(Number), v.minValue(1), v.maxValue(TRANSACTIONS_PAGE_MAX)),
    String(TRANSACTIONS_PAGE_DEFAULT),
  ),
  before: v.optional(v.pipe(v.string(), v.regex(/^\d{1,15}$/, "before must be a sequence number"), v.transform(Number))),
});

function storedToJson(s: StoredPayment) {
  return { ...paymentToJson(s.payment), seq: s.seq, window: s.window, acceptedAt: s.acceptedAtMs };
}

export function createHttpApi(deps: HttpDeps): Hono {
  const app = new Hono();
  guardHttp(app, { faults: deps.faults });

  app.onError((err, c) => {
    // A client that closes mid-body (POST /tx, /peer/message) makes the body read throw: its
    // fault, not ours, and no one is left to read the answer.
    if (c.req.raw.signal.aborted || (err as Error).name === "AbortError") {
      deps.faults.record("http_upload_aborted", "http", `${c.req.method} ${c.req.path}: the client closed the connection before its request was read`);
      return sendError(c, "BAD_REQUEST", "the request was not received whole");
    }
    deps.faults.record("http_error", "http", `${c.req.method} ${c.req.path}: ${(err as Error).stack ?? String(err)}`);
    return sendError(c, "INTERNAL", "the server failed to answer this request");
  });
  app.notFound((c) => sendError(c, "NOT_FOUND", `no route ${c.req.method} ${c.req.path}`));

  app.post(
    "/tx",
    bodyLimit({ maxSize: HTTP_BODY_SIZE_BYTES_MAX, onError: (c) => sendError(c, "BODY_TOO_LARGE", `bodies are at most ${HTTP_BODY_SIZE_BYTES_MAX} bytes`) }),
    async (c) => {
      const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
      let bytes: Uint8Array;
      if (type === "application/octet-stream") {
        bytes = new Uint8Array(await c.req.arrayBuffer());
      } else if (type === "application/json") {
        let json: unknown;
        try {
          json = await c.req.json();
        } catch {
          return sendError(c, "BAD_REQUEST", "the body is not valid JSON");
        }
        const parsed = v.safeParse(TxJsonSchema, json);
        if (!parsed.success) return sendError(c, "BAD_REQUEST", parsed.issues[0].message);
        bytes = fromHex(parsed.output.tx, 140)!;
      } else {
        return sendError(c, "BAD_REQUEST", 'send the payment as application/octet-stream (140 bytes) or application/json {"tx":"<280 hex>"}');
      }
      const outcome = await deps.intake.submitAsync(bytes, clientAddressKey(clientAddress(c)));
      if (outcome.accepted) return c.json({ id: toHex(outcome.id), status: "accepted" });
      return sendError(c, outcome.code, outcome.message);
    },
  );

  app.get("/accounts/:id", (c) => {
    const id = fromHex(c.req.param("id"), 32);
    if (id === null) return sendError(c, "INVALID_ID", "an account id is 64 lowercase hex digits");
    const balance = deps.ledger.balance(id);
    if (balance === undefined) return sendError(c, "NOT_FOUND", "no account with that id");
    return c.json({ id: toHex(id), balance });
  });

  app.get("/accounts/:id/transactions", (c) => {
    const id = fromHex(c.req.param("id"), 32);
    if (id === null) return sendError(c, "INVALID_ID", "an account id is 64 lowercase hex digits");
    const query = v.safeParse(PageQuerySchema, c.req.query());
    if (!query.success) return sendError(c, "BAD_REQUEST", query.issues[0].message);
    const { limit, before } = query.output;
    // One more than asked tells whether an older page exists.
    const rows = deps.ledger.transactions(id, limit + 1, before);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return c.json({
      id: toHex(id),
      transactions: page.map(storedToJson),
      // Pass as ?before= for the next (older) page; null when this page is the last.
      next: rows.length > limit && last ? last.seq : null,
    });
  });

  app.get("/tx/:id", (c) => {
    const id = fromHex(c.req.param("id"), 32);
    if (id === null) return sendError(c, "INVALID_ID", "a payment id is 64 lowercase hex digits");
    const stored = deps.ledger.payment(id);
    if (stored === undefined) return sendError(c, "NOT_FOUND", "no accepted payment with that id");
    // agreed: in this server's agreed checkpoint; final: in a window agreed by the final quorum.
    const agreed = stored.window <= deps.ledger.agreed().window;
    const final = agreed && stored.window <= (deps.finalWindow?.() ?? -1);
    return c.json({ ...storedToJson(stored), status: "accepted", agreed, final });
  });

  app.get("/status", (c) => {
    const nowMs = deps.clock.now();
    return c.json({
      key: deps.keyHex,
      version: deps.version,
      clock: { nowMs, iso: new Date(nowMs).toISOString() },
      ledger: { ...deps.ledger.totals(), pending: deps.intake.pendingCount },
      ...deps.statusExtra?.(),
    });
  });

  app.get("/network", (c) => c.json(deps.network.file));

  return app;
}
