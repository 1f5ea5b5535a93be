// The gate in front of every /peer/* route: only the network's servers get through, cheaply
// checked before any body is read or any history loaded (core/consensus/peer-request-auth.ts has
// the header's format). A refused request costs a header parse, a lookup, and at most one
// signature check over ~200 bytes; it changes nothing and is logged with a throttle.
import type { MiddlewareHandler } from "hono";
import { equalBytes } from "../core/bytes.ts";
import type { Clock } from "../core/clock.ts";
import type { Verify } from "../core/acceptance.ts";
import type { Network } from "../core/network.ts";
import { PEER_AUTH_HEADER, parsePeerAuth, verifyPeerAuth } from "../core/consensus/peer-request-auth.ts";
import { PEER_REQUEST_TRANSIT_MS_MAX, PEER_REQUESTS_IN_FLIGHT_MAX } from "../core/limits.ts";
import type { Faults } from "./faults.ts";
import { sendError } from "./http-errors.ts";
import { clientAddress } from "./http-guard.ts";

export interface PeerGuardOptions {
  readonly network: Network;
  readonly selfIndex: number;
  readonly clock: Clock;
  readonly verify: Verify;
  readonly faults: Faults;
  /** The largest body a peer may send to this route, in bytes (0: none). */
  readonly bodyBytesMax: (path: string) => number;
}

/** Hono variables the guard sets for the routes behind it. */
export interface PeerGuardVariables {
  /** Index of the authenticated sender in the network file. */
  peerIndex: number;
  /** The declared (and signed) body length. */
  peerContentLength: number;
}

export function peerGuard(options: PeerGuardOptions): MiddlewareHandler<{ Variables: PeerGuardVariables }> {
  const inFlight = new Map<number, number>();
  const ageMsMax = options.network.skewMs + PEER_REQUEST_TRANSIT_MS_MAX;
  return async (c, next) => {
    const refuse = (code: "PEER_UNAUTHORIZED" | "BODY_TOO_LARGE" | "OVERLOADED", reason: string) => {
      options.faults.record("peer_request_refused", "peers", `refused ${c.req.method} ${c.req.path} from ${clientAddress(c) ?? "an unknown address"}: ${reason}`);
      return sendError(c, code, reason);
    };
    const auth = parsePeerAuth(c.req.header(PEER_AUTH_HEADER));
    if (!auth.ok) return refuse("PEER_UNAUTHORIZED", auth.reason);
    const sender = options.network.servers.findIndex((s) => equalBytes(s.key, auth.sender));
    if (sender < 0) return refuse("PEER_UNAUTHORIZED", "the sender is not a server of this network");
    if (sender === options.selfIndex) return refuse("PEER_UNAUTHORIZED", "the request claims to come from this server");
    const skewMs = auth.timeMs - options.clock.now();
    if (Math.abs(skewMs) > ageMsMax) return refuse("PEER_UNAUTHORIZED", `the request is signed ${Math.round(skewMs / 1000)} s from this server's clock (at most ${ageMsMax / 1000} s)`);
    const lengthText = c.req.header("content-length");
    const contentLength = lengthText === undefined ? 0 : Number(lengthText);
    if (!/^\d{1,10}$/.test(lengthText ?? "0")) return refuse("PEER_UNAUTHORIZED", "a peer request states its Content-Length");
    const bodyMax = options.bodyBytesMax(c.req.path);
    if (contentLength > bodyMax) return refuse("BODY_TOO_LARGE", `bodies of ${c.req.path} are at most ${bodyMax} bytes`);
    const url = new URL(c.req.url);
    if (!verifyPeerAuth(auth, { method: c.req.method, pathAndQuery: url.pathname + url.search, contentLength }, options.network.id, options.verify)) {
      // The network id is signed, not sent: a request of another network fails here as well.
      return refuse("PEER_UNAUTHORIZED", "bad signature (or another network)");
    }
    const busy = inFlight.get(sender) ?? 0;
    if (busy >= PEER_REQUESTS_IN_FLIGHT_MAX) return refuse("OVERLOADED", `${PEER_REQUESTS_IN_FLIGHT_MAX} requests of this server are being answered; try again shortly`);
    inFlight.set(sender, busy + 1);
    c.set("peerIndex", sender);
    c.set("peerContentLength", contentLength);
    try {
      await next();
    } finally {
      inFlight.set(sender, (inFlight.get(sender) ?? 1) - 1);
    }
  };
}

