// The peer link's resync fetch: a source answers at most a bounded number of payments at once
// (413 beyond), and the link splits the window range until every part fits, keeping the order.
import { afterAll, expect, test } from "bun:test";
import { PeerLink } from "../../src/node/peer-link.ts";
import { encodePaymentRows } from "../../src/node/peer-api.ts";
import { parseNetwork } from "../../src/core/network.ts";
import { toHex } from "../../src/core/bytes.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { testKeyPair } from "../support/helpers.ts";
import type { Coordinator } from "../../src/core/consensus/coordinator.ts";
import { PEER_AUTH_HEADER, parsePeerAuth, verifyPeerAuth } from "../../src/core/consensus/peer-request-auth.ts";
import { verifySignature } from "../../src/core/verify.ts";

// The source's history: windows 1..40, three payments each, told apart by their first byte.
const HISTORY = Array.from({ length: 40 * 3 }, (_, i) => {
  const bytes = new Uint8Array(140);
  bytes[0] = i;
  return { window: 1 + Math.floor(i / 3), bytes };
});
const ANSWER_ROWS_MAX = 7;
const requests: string[] = [];
/** The network both servers are of (set by the test, which knows the source's port). */
let sourceNetworkId: Uint8Array = new Uint8Array(32);

const source = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch(req) {
    const url = new URL(req.url);
    requests.push(url.search);
    // Every request is signed by the asking server (its key is server 0's).
    const auth = parsePeerAuth(req.headers.get(PEER_AUTH_HEADER));
    if (!auth.ok || !verifyPeerAuth(auth, { method: "GET", pathAndQuery: url.pathname + url.search, contentLength: 0 }, sourceNetworkId, verifySignature)) {
      return new Response("unsigned", { status: 401 });
    }
    const after = Number(url.searchParams.get("after"));
    const upto = Number(url.searchParams.get("upto"));
    const rows = HISTORY.filter((r) => r.window > after && r.window <= upto);
    if (rows.length > ANSWER_ROWS_MAX) return new Response("too many", { status: 413 });
    return new Response(encodePaymentRows(rows));
  },
});
afterAll(() => source.stop(true));

test("a resync larger than one answer is fetched in parts, complete and in order", async () => {
  const network = parseNetwork({
    servers: [
      { key: toHex(testKeyPair(1).publicKey), address: "127.0.0.1:1" },
      { key: toHex(testKeyPair(2).publicKey), address: `127.0.0.1:${source.port}` },
    ],
    genesis: {},
  });
  sourceNetworkId = network.id;
  let received: { window: number; bytes: Uint8Array }[] | null = null;
  const coordinator = {
    completeResync: (_after: number, _window: number, _hash: Uint8Array, rows: { window: number; bytes: Uint8Array }[]) => {
      received = rows;
      return true;
    },
    resyncFailed: () => {
      throw new Error("resync failed");
    },
  } as unknown as Coordinator;
  const link = new PeerLink(network, 0, coordinator, { now: () => 0 }, silentLogger, testKeyPair(1).seed);
  link.run([{ kind: "resync", afterWindow: 0, window: 40, hash: new Uint8Array(32), sources: [1] }]);
  const deadline = Date.now() + 5_000;
  while (received === null && Date.now() < deadline) await Bun.sleep(10);
  expect(received).not.toBeNull();
  const rows = received! as { window: number; bytes: Uint8Array }[];
  expect(rows.length).toBe(HISTORY.length);
  expect(rows.map((r) => r.bytes[0])).toEqual(HISTORY.map((r) => r.bytes[0]));
  expect(rows.map((r) => r.window)).toEqual(HISTORY.map((r) => r.window));
  expect(requests.length).toBeGreaterThan(1); // it had to split
});
