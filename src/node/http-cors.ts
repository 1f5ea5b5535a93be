// Cross-origin access for browser wallets (src/wallet/): a wallet page served by one server, or by
// `scryp wallet` on the user's own machine, reads balances and payments from every server and sends
// a payment to whichever is alpha. So the public read routes and POST /tx answer any origin, and
// nothing else does: never /peer/* (server-to-server), never the status page's parts, /metrics or
// the pages themselves. No credentials are involved (no cookies, no auth), so "*" is exact: any page
// may read what anyone may read with curl, and may send a signed payment, which is what a wallet is.
import type { MiddlewareHandler } from "hono";

/** GET routes a wallet reads, as path patterns (the ids are checked by the routes themselves). */
const CORS_READ_ROUTES: readonly RegExp[] = [
  /^\/status$/,
  /^\/status\/peers$/,
  /^\/network$/,
  /^\/accounts\/[^/]+$/,
  /^\/accounts\/[^/]+\/transactions$/,
  /^\/tx\/[^/]+$/,
  /^\/payments\/recent$/,
];
/** The one route a wallet writes to. */
const CORS_WRITE_ROUTE = "/tx";
/** How long a browser may reuse a preflight answer: ten minutes. */
const CORS_PREFLIGHT_MAX_AGE_S = 600;

/** The methods another origin may use on `path`, or null: no cross-origin access. */
export function corsMethods(path: string): "GET" | "POST" | null {
  if (path === CORS_WRITE_ROUTE) return "POST";
  return CORS_READ_ROUTES.some((route) => route.test(path)) ? "GET" : null;
}

/** Answers preflights for the routes above and marks their answers readable by any origin. */
export const publicCors: MiddlewareHandler = async (c, next) => {
  const allowed = corsMethods(c.req.path);
  if (allowed === null) return next();
  if (c.req.method === "OPTIONS") {
    // A preflight: POST /tx needs one (its content type is not one a form could send).
    return c.body(null, 204, {
      "access-control-allow-origin": "*",
      "access-control-allow-methods": allowed,
      "access-control-allow-headers": "content-type",
      "access-control-max-age": String(CORS_PREFLIGHT_MAX_AGE_S),
    });
  }
  await next();
  const method = c.req.method === "HEAD" ? "GET" : c.req.method;
  if (method !== allowed) return;
  c.res.headers.set("access-control-allow-origin", "*");
  // OVERLOADED answers say when to come back.
  c.res.headers.set("access-control-expose-headers", "retry-after");
};
