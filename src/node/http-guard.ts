// What every HTTP request passes before any route: response headers that tell browsers not to
// guess types, frame the page or leak the URL; a check that the request names a host and a path
// (else Hono routes a bare path from the wrong offset); cross-origin access for wallets on the public
// routes only (http-cors.ts); and a bound on requests in flight per client address, with a separate
// budget for the servers' own /peer/ traffic.
import type { Context, Hono, MiddlewareHandler } from "hono";
import { HTTP_HOST_LENGTH_MAX, HTTP_PEER_REQUESTS_IN_FLIGHT_PER_ADDRESS_MAX, HTTP_REQUESTS_IN_FLIGHT_PER_ADDRESS_MAX } from "../core/limits.ts";
import type { Faults } from "./faults.ts";
import { sendError } from "./http-errors.ts";
import { clientAddressKey } from "./client-address-key.ts";
import { publicCors } from "./http-cors.ts";

/**
 * The status page's policy: its script and style sheet come from this node (GET /page/script.js,
 * /page/style.css), its script fetches only from this node, and nothing inline runs. The only image
 * is the empty data: favicon that stops the browser asking for /favicon.ico.
 */
export const HTML_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

/** Headers on every response, whatever answered it (a route, notFound, onError, this guard). */
export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  const headers = c.res.headers;
  // A JSON error echoes the path; without this a browser may sniff it as HTML and run it.
  headers.set("x-content-type-options", "nosniff");
  // Account ids are in the page's URLs: no other site need learn which were looked at.
  headers.set("referrer-policy", "no-referrer");
  // No site may frame the page (X-Frame-Options for browsers older than frame-ancestors).
  headers.set("x-frame-options", "DENY");
  // A page with a policy of its own (the wallet: it talks to every server) keeps it.
  if ((headers.get("content-type") ?? "").startsWith("text/html") && !headers.has("content-security-policy")) {
    headers.set("content-security-policy", HTML_CONTENT_SECURITY_POLICY);
  }
};

// host[:port]: a DNS name or IPv4 address (letters, digits, dots, hyphens, underscores) or a
// bracketed IPv6 literal; the URL parser then checks the literal and the port (at most 65535).
const HOST_SYNTAX = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;
// Bun builds req.url as scheme://Host + origin-form target. A fragment never belongs in a request.
const ABSOLUTE_URL = /^https?:\/\/([^/?#]+)(\/[^#]*)$/;

export function validHost(host: string): boolean {
  return host.length <= HTTP_HOST_LENGTH_MAX && HOST_SYNTAX.test(host) && URL.canParse(`http://${host}/`);
}

/**
 * Why a request cannot be routed, or null. Bun builds req.url from the Host header and the request
 * target; with no Host header (HTTP/1.0) or a malformed one it leaves a bare path such as
 * "/abcd/peer/certificate", from which Hono's router skips the first segment ("/peer/certificate").
 */
export function requestProblem(url: string, hostHeader: string | null): string | null {
  if (hostHeader !== null && !validHost(hostHeader)) return "the Host header must be a host name or address, with an optional port";
  const match = ABSOLUTE_URL.exec(url);
  if (match === null) {
    return hostHeader === null ? "the request needs a Host header naming this server" : "the request target must be a path starting with /";
  }
  if (!validHost(match[1]!)) return "the Host header must be a host name or address, with an optional port";
  return null;
}


/** Requests in flight per key, at most `max` each. Keys leave when their count drops to 0, so the map holds at most one entry per open request. */
export class InFlightBudget {
  private readonly counts = new Map<string, number>();

  constructor(readonly max: number) {}

  take(key: string): boolean {
    const n = this.counts.get(key) ?? 0;
    if (n >= this.max) return false;
    this.counts.set(key, n + 1);
    return true;
  }

  release(key: string): void {
    const n = this.counts.get(key);
    if (n === undefined || n < 1) throw new Error(`in-flight budget released for ${key} with none taken`);
    if (n === 1) this.counts.delete(key);
    else this.counts.set(key, n - 1);
  }

  get keys(): number {
    return this.counts.size;
  }
}

/** The client's address as Bun saw the socket (Hono passes the server as env); null in process (app.request) or once the socket closed. */
export function clientAddress(c: Context): string | null {
  const server = c.env as { requestIP?: (request: Request) => { address: string } | null } | undefined;
  if (typeof server?.requestIP !== "function") return null;
  return server.requestIP(c.req.raw)?.address ?? null;
}

function isPeerPath(path: string): boolean {
  return path === "/peer" || path.startsWith("/peer/");
}

export interface HttpGuardOptions {
  readonly faults: Faults;
  readonly publicInFlightMax?: number;
  readonly peerInFlightMax?: number;
}

/** Puts the guard in front of every route of `app` (call before adding routes). */
export function guardHttp(app: Hono, options: HttpGuardOptions): { readonly publicBudget: InFlightBudget; readonly peerBudget: InFlightBudget } {
  const { faults } = options;
  const publicBudget = new InFlightBudget(options.publicInFlightMax ?? HTTP_REQUESTS_IN_FLIGHT_PER_ADDRESS_MAX);
  const peerBudget = new InFlightBudget(options.peerInFlightMax ?? HTTP_PEER_REQUESTS_IN_FLIGHT_PER_ADDRESS_MAX);
  app.use("*", securityHeaders);
  // Before the checks below, so that their refusals (OVERLOADED) are readable by a wallet too.
  app.use("*", publicCors);
  app.use("*", async (c, next) => {
    const problem = requestProblem(c.req.url, c.req.header("host") ?? null);
    if (problem === null) return next();
    faults.record("http_request_malformed", "http", `refused a malformed request: ${problem}`);
    return sendError(c, "BAD_REQUEST", problem);
  });
  app.use("*", async (c, next) => {
    const peer = isPeerPath(c.req.path);
    const budget = peer ? peerBudget : publicBudget;
    const key = clientAddressKey(clientAddress(c));
    if (!budget.take(key)) {
      faults.record("http_request_refused", "http", `refused a request from ${key}: ${budget.max} ${peer ? "peer " : ""}requests from that address are in flight`);
      c.header("retry-after", "1");
      return sendError(c, "OVERLOADED", `this address has ${budget.max} requests in flight; wait for their answers, then try again`);
    }
    try {
      await next();
    } finally {
      budget.release(key);
    }
  });
  return { publicBudget, peerBudget };
}
