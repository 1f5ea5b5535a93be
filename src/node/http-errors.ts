// Every HTTP error is {"error":{"code","message"}} with a stable code (core/errors.ts) and the
// status that code always gets.
import type { Context } from "hono";
import { ERROR_MESSAGES, type ErrorCode } from "../core/errors.ts";

/** HTTP status per error code: 4xx for the client's mistakes, 421/503 for "not here, not now". */
const STATUS_BY_CODE: Record<ErrorCode, 400 | 401 | 404 | 409 | 413 | 421 | 422 | 500 | 503> = {
  PAYMENT_SIZE: 400,
  AMOUNT_ZERO: 400,
  SELF_PAYMENT: 400,
  TIMESTAMP_SKEW: 400,
  SIGNATURE_INVALID: 400,
  DUPLICATE: 409,
  UNKNOWN_PAYER: 422,
  INSUFFICIENT_BALANCE: 422,
  NOT_ACCEPTING: 421,
  OVERLOADED: 503,
  INTERNAL: 500,
  BAD_REQUEST: 400,
  NOT_FOUND: 404,
  BODY_TOO_LARGE: 413,
  INVALID_ID: 400,
  PEER_REJECTED: 400,
  IN_PROGRESS: 503,
  PEER_UNAUTHORIZED: 401,
  // 421, as NOT_ACCEPTING: this server will take no more payments in this window, however often
  // asked; the payment belongs at the next alpha (named in the message). 503 would invite the
  // client to retry here, which is right for OVERLOADED (a queue drains) but not for a full window.
  WINDOW_FULL: 421,
  // Temporary: the node resumes by itself once its disk works again.
  STORAGE_FAILING: 503,
  // Not a refusal of the bytes: their window closed here without them. The client finds out from
  // the network whether a majority kept them (src/client/pay.ts) before it signs anything else.
  NOT_KEPT: 409,
};

export function errorBody(code: ErrorCode, message: string = ERROR_MESSAGES[code]) {
  return { error: { code, message } };
}

export function sendError(c: Context, code: ErrorCode, message?: string) {
  return c.json(errorBody(code, message), STATUS_BY_CODE[code]);
}
