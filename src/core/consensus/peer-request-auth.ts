// Authentication of server-to-server HTTP requests (every /peer/* route), so a stranger's request
// is refused before its body is read or any history is served.
//
// The requesting server adds one header:
//   x-scryp-peer: <sender key, 64 hex>.<time, Unix ms, decimal>.<Ed25519 signature, 128 hex>
// signed over the UTF-8 text
//   "scryp-peer-request/2\n" NETWORK-ID "\n" METHOD "\n" PATH-AND-QUERY "\n" TIME "\n" CONTENT-LENGTH
// (NETWORK-ID is the network id in 64 lowercase hex, core/network-id.ts; CONTENT-LENGTH is the
// body's length in bytes, 0 without a body). The network id is not in the header: a request signed
// for another network that shares a server key fails as a bad signature. The receiver checks, cheapest
// first: the header's form; the sender is a server of the network and not itself; |time − its
// clock| ≤ skew + PEER_REQUEST_TRANSIT_MS_MAX; the declared length is within the route's bound; then the
// signature. A captured header is good only for the same method, path, length, and a few seconds.
import { fromHex, toHex } from "../bytes.ts";
import { sign } from "../keys.ts";
import type { Verify } from "../acceptance.ts";

export const PEER_AUTH_HEADER = "x-scryp-peer";
const DOMAIN = "scryp-peer-request/2";
const HEADER_PATTERN = /^([0-9a-f]{64})\.(\d{1,16})\.([0-9a-f]{128})$/;

export interface PeerRequest {
  readonly method: string;
  /** The path and query exactly as sent, e.g. "/peer/payments?after=3&upto=9". */
  readonly pathAndQuery: string;
  readonly contentLength: number;
}

function signedText(r: PeerRequest, networkId: Uint8Array, timeMs: number): Uint8Array {
  return new TextEncoder().encode(`${DOMAIN}\n${toHex(networkId)}\n${r.method.toUpperCase()}\n${r.pathAndQuery}\n${timeMs}\n${r.contentLength}`);
}

/** The header value a server of the network `networkId` sends with `request`. */
export function peerAuthHeader(request: PeerRequest, networkId: Uint8Array, senderKey: Uint8Array, seed: Uint8Array, timeMs: number): string {
  return `${toHex(senderKey)}.${timeMs}.${toHex(sign(signedText(request, networkId, timeMs), seed))}`;
}

export type ParsedPeerAuth = { ok: true; sender: Uint8Array; timeMs: number; signature: Uint8Array } | { ok: false; reason: string };

/** The header's form only: no cryptography. */
export function parsePeerAuth(header: string | undefined | null): ParsedPeerAuth {
  if (header === undefined || header === null || header === "") return { ok: false, reason: `no ${PEER_AUTH_HEADER} header: /peer routes are for the network's servers` };
  const m = HEADER_PATTERN.exec(header);
  if (m === null) return { ok: false, reason: `malformed ${PEER_AUTH_HEADER} header` };
  const timeMs = Number(m[2]);
  if (!Number.isSafeInteger(timeMs)) return { ok: false, reason: `malformed ${PEER_AUTH_HEADER} header` };
  return { ok: true, sender: fromHex(m[1]!, 32)!, timeMs, signature: fromHex(m[3]!, 64)! };
}

/** The signature, over the request as received and this server's network id. */
export function verifyPeerAuth(auth: Extract<ParsedPeerAuth, { ok: true }>, request: PeerRequest, networkId: Uint8Array, verify: Verify): boolean {
  return verify(auth.signature, signedText(request, networkId, auth.timeMs), auth.sender);
}
