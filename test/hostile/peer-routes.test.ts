// Issue 7, finding 5: /peer routes are for peers. A stranger's request is refused from its headers
// alone (no body read, no history loaded): GET /peer/payments served 5.6 MB to anyone, and a 28 MB
// POST /peer/message was buffered, hashed and verified before its sender was looked at.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { toHex } from "../../src/core/bytes.ts";
import { PEER_AUTH_HEADER, peerAuthHeader } from "../../src/core/consensus/peer-request-auth.ts";
import { encodeVote } from "../../src/core/consensus/peer-message.ts";
import { parseNetwork, type Network } from "../../src/core/network.ts";
import { peerLimits } from "../../src/core/consensus/peer-limits.ts";
import { CAPACITY_PAYMENTS_DEFAULT } from "../../src/core/limits.ts";

/** The node's network file has no `capacity`: the largest message is a default window's handover. */
const HANDOVER_BYTES_MAX = peerLimits(CAPACITY_PAYMENTS_DEFAULT).peerMessageBytesMax;
import { freePort, tempDir, testKeyPair } from "../support/helpers.ts";
import { startBinaryNode, writeJson, type BinaryNode } from "../support/binary-node.ts";
import { writeSeed } from "../e2e/e2e-support.ts";
import { parsePrometheusText, sampleValue } from "../support/prometheus-text.ts";

let dir: { path: string; cleanup: () => void };
let node: BinaryNode;
const SELF = testKeyPair(31);
const PEER = testKeyPair(32); // listed in the network file, never started: the test speaks as it
const STRANGER = testKeyPair(33);
let network: Network;
/** The same servers with another genesis: another network, whose messages the node must refuse. */
let otherNetwork: Network;

beforeAll(async () => {
  dir = tempDir("scryp-hostile-peer-");
  const port = await freePort();
  const other = await freePort();
  writeSeed(join(dir.path, "self.seed"), SELF);
  const file = {
    servers: [
      { key: toHex(SELF.publicKey), address: `127.0.0.1:${port}` },
      { key: toHex(PEER.publicKey), address: `127.0.0.1:${other}` },
    ],
    interval: 2_000,
    blackout: 800,
    skew: 300,
    genesis: { [toHex(testKeyPair(34).publicKey)]: 1_000 },
  };
  network = parseNetwork(file);
  otherNetwork = parseNetwork({ ...file, genesis: { [toHex(testKeyPair(34).publicKey)]: 1_001 } });
  writeJson(join(dir.path, "net.json"), file);
  node = await startBinaryNode(dir.path, ["--network", join(dir.path, "net.json"), "--seed", join(dir.path, "self.seed"), "--data", join(dir.path, "d")], port);
});
afterAll(async () => {
  await node?.kill("SIGKILL");
  dir.cleanup();
});

const signed = (kp: typeof PEER, method: string, pathAndQuery: string, contentLength: number, timeMs = Date.now(), networkId = network.id) => ({
  [PEER_AUTH_HEADER]: peerAuthHeader({ method, pathAndQuery, contentLength }, networkId, kp.publicKey, kp.seed, timeMs),
});

async function expectRefused(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
}

describe("strangers are refused from the headers", () => {
  test("no header, a malformed one, a key not in the network, a stale time, a bad signature: 401 PEER_UNAUTHORIZED", async () => {
    const path = "/peer/payments?after=-1&upto=0";
    await expectRefused(await fetch(node.url + path), 401, "PEER_UNAUTHORIZED");
    await expectRefused(await fetch(node.url + path, { headers: { [PEER_AUTH_HEADER]: "garbage" } }), 401, "PEER_UNAUTHORIZED");
    await expectRefused(await fetch(node.url + path, { headers: signed(STRANGER, "GET", path, 0) }), 401, "PEER_UNAUTHORIZED");
    await expectRefused(await fetch(node.url + path, { headers: signed(SELF, "GET", path, 0) }), 401, "PEER_UNAUTHORIZED");
    await expectRefused(await fetch(node.url + path, { headers: signed(PEER, "GET", path, 0, Date.now() - 60_000) }), 401, "PEER_UNAUTHORIZED");
    // Signed for another path: the signature does not cover this one.
    await expectRefused(await fetch(node.url + path, { headers: signed(PEER, "GET", "/peer/payments?after=-1&upto=9", 0) }), 401, "PEER_UNAUTHORIZED");
    await expectRefused(await fetch(node.url + "/peer/certificate"), 401, "PEER_UNAUTHORIZED");
  });

  test("a 28 MB upload from a stranger is answered before its body is sent", async () => {
    // Raw TCP: headers announcing a handover-sized body, and no body at all. The node must answer
    // from the headers; if it waited for the body this would time out.
    const answer = await rawRequest(node.port, `POST /peer/message HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: ${HANDOVER_BYTES_MAX}\r\n\r\n`);
    expect(answer).toStartWith("HTTP/1.1 401");
    // Signed by a member but longer than any peer message: refused as too large, also from the headers.
    const big = HANDOVER_BYTES_MAX + 1;
    const h = signed(PEER, "POST", "/peer/message", big);
    const tooLarge = await rawRequest(node.port, `POST /peer/message HTTP/1.1\r\nHost: 127.0.0.1\r\n${PEER_AUTH_HEADER}: ${h[PEER_AUTH_HEADER]}\r\nContent-Length: ${big}\r\n\r\n`);
    expect(tooLarge).toStartWith("HTTP/1.1 413");
    const metrics = parsePrometheusText(await (await fetch(`${node.url}/metrics`)).text());
    expect(sampleValue(metrics, "scryp_faults_total", { kind: "peer_request_refused" })).toBeGreaterThanOrEqual(2);
  });
});

describe("another network that shares the server keys is refused", () => {
  test("a request signed for another network: 401 PEER_UNAUTHORIZED", async () => {
    const path = "/peer/certificate";
    const res = await fetch(node.url + path, { headers: signed(PEER, "GET", path, 0, Date.now(), otherNetwork.id) });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("PEER_UNAUTHORIZED");
    expect(body.error.message).toContain("bad signature (or another network)");
    // Control: the same request signed for this network is answered.
    const ok = await fetch(node.url + path, { headers: signed(PEER, "GET", path, 0) });
    expect([200, 404]).toContain(ok.status);
    await ok.arrayBuffer();
  });

  test("a message of another network, in a request of this one: 400 PEER_REJECTED, logged", async () => {
    const body = encodeVote({ networkId: otherNetwork.id, sender: PEER.publicKey, window: Math.floor(Date.now() / 2_000), sentAtMs: Date.now(), hash: new Uint8Array(32), baseWindow: -1, baseHash: new Uint8Array(32), batch: new Uint8Array(32), history: new Uint8Array(32) }, PEER.seed);
    const res = await fetch(node.url + "/peer/message", { method: "POST", headers: { ...signed(PEER, "POST", "/peer/message", body.length), "content-type": "application/octet-stream" }, body });
    expect(res.status).toBe(400);
    const answer = (await res.json()) as { error: { code: string; message: string } };
    expect(answer.error.code).toBe("PEER_REJECTED");
    expect(answer.error.message).toContain("message for another network");
    await Bun.sleep(100);
    expect(node.log()).toContain(`message for another network (id ${otherNetwork.idHex.slice(0, 16)}…; this network is ${network.idHex.slice(0, 16)}…)`);
  });
});

describe("a listed server is answered", () => {
  test("signed requests get the routes' answers", async () => {
    // Nothing is agreed yet in this lone node's view (its peer never runs): 404, not 401.
    const path = "/peer/payments?after=-1&upto=0";
    const res = await fetch(node.url + path, { headers: signed(PEER, "GET", path, 0) });
    expect([200, 404]).toContain(res.status);
    await res.arrayBuffer();
    const cert = await fetch(node.url + "/peer/certificate", { headers: signed(PEER, "GET", "/peer/certificate", 0) });
    expect([200, 404]).toContain(cert.status);
    await cert.arrayBuffer();
    // A message from the peer that is not a peer message: PEER_REJECTED after authentication.
    const body = new Uint8Array(200);
    const msg = await fetch(node.url + "/peer/message", { method: "POST", headers: { ...signed(PEER, "POST", "/peer/message", body.length), "content-type": "application/octet-stream" }, body });
    await expectRefused(msg, 400, "PEER_REJECTED");
  });

  test("the node still serves /status", async () => {
    expect((await fetch(`${node.url}/status`)).status).toBe(200);
    expect(node.process.exitCode).toBeNull();
  });
});

/** Sends `head` on a fresh TCP connection and returns what comes back within 3 s. */
async function rawRequest(port: number, head: string): Promise<string> {
  let received = "";
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, data) {
        received += new TextDecoder().decode(data);
        if (received.includes("\r\n\r\n")) resolve();
      },
      close() {
        resolve();
      },
      error() {
        resolve();
      },
    },
  });
  socket.write(head);
  await Promise.race([done, Bun.sleep(3_000)]);
  socket.end();
  return received;
}

