// Hostile HTTP against the compiled binary, over raw TCP: requests with no Host or a malformed one
// are refused (they used to be routed from the wrong offset: GET /abcd/peer/certificate served the
// certificate); one address with many requests in flight is answered 503 and cannot crowd out the
// servers' /peer/ traffic; uploads abandoned mid-body are counted, never a crash; slow and idle
// connections are closed, and the node answers others meanwhile.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { tempDir } from "../support/helpers.ts";
import { startFundedNode, type FundedNode } from "../e2e/e2e-support.ts";
import { parsePrometheusText, sampleValue } from "../support/prometheus-text.ts";
import { HTTP_IDLE_TIMEOUT_S, HTTP_REQUESTS_IN_FLIGHT_PER_ADDRESS_MAX } from "../../src/core/limits.ts";

/** Bun looks at its timers every 4 s: a silent connection goes between the timeout and 4 s after it. */
const TIMER_GRANULARITY_MS = 4_000;
/** Bun's own limit for a first request head that never completes (not configurable): about 10 s. */
const HEAD_TIMEOUT_MS = 12_000;
const SLOW_CONNECTIONS = 300;

let dir: { path: string; cleanup: () => void };
let f: FundedNode;

beforeAll(async () => {
  dir = tempDir("scryp-hostile-http-");
  f = await startFundedNode(dir.path, []);
});
afterAll(async () => {
  await f?.node.kill("SIGKILL");
  dir.cleanup();
});

interface Raw {
  readonly socket: Socket;
  /** Everything the node sent so far. */
  received(): string;
  /** Resolves with ms since open when the node closes the connection. */
  readonly closed: Promise<number>;
}

/** A raw TCP connection to the node that sends `bytes` and keeps reading. */
function open(bytes: string): Promise<Raw> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    let received = "";
    let closedAt: (ms: number) => void = () => {};
    const closed = new Promise<number>((r) => (closedAt = r));
    const socket = connect(f.port, "127.0.0.1", () => {
      if (bytes !== "") socket.write(bytes);
      resolve({ socket, received: () => received, closed });
    });
    // Reading is what lets the node's FIN arrive as 'close'.
    socket.on("data", (d) => (received += d.toString("latin1")));
    socket.on("close", () => closedAt(Date.now() - t0));
    socket.on("error", reject);
  });
}

/** Sends one raw request and returns what the node answered by the time it closed (or 2 s). */
async function rawRequest(bytes: string): Promise<{ status: number; headers: string; body: string }> {
  const c = await open(bytes);
  await Promise.race([c.closed, Bun.sleep(2_000)]);
  c.socket.destroy();
  const text = c.received();
  const [head = "", body = ""] = text.split("\r\n\r\n");
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), headers: head.toLowerCase(), body };
}

async function faultCount(kind: string): Promise<number> {
  return sampleValue(parsePrometheusText(await (await fetch(`${f.url}/metrics`)).text()), "scryp_faults_total", { kind });
}

test("the node says at start how many files (connections) it may hold open", () => {
  expect(f.node.log()).toMatch(/\[node\] open-file limit (raised from \d+ to )?(\d+|unlimited)/);
});

describe("Host header and request target", () => {
  test("no Host (HTTP/1.0), an empty one or one with a path: 400 BAD_REQUEST, not the certificate", async () => {
    const requests = [
      "GET /abcd/peer/certificate HTTP/1.0\r\n\r\n",
      "GET /abcd/peer/certificate HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n",
      "GET /peer/certificate HTTP/1.1\r\nHost: a/b\r\nConnection: close\r\n\r\n",
      "GET /status HTTP/1.1\r\nHost: evil.example/x\r\nConnection: close\r\n\r\n",
      "GET /status HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n",
      "GET /status HTTP/1.1\r\nHost: x:99999\r\nConnection: close\r\n\r\n",
    ];
    const before = await faultCount("http_request_malformed");
    for (const request of requests) {
      const r = await rawRequest(request);
      expect([request, r.status]).toEqual([request, 400]);
      expect(r.headers).toContain("x-content-type-options: nosniff");
      const body = JSON.parse(r.body) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("BAD_REQUEST");
      expect(body.error.message).toMatch(/Host header/);
    }
    expect(await faultCount("http_request_malformed")).toBe(before + requests.length);
  });

  test("a well-formed request still gets its route", async () => {
    const status = await rawRequest(`GET /status HTTP/1.1\r\nHost: 127.0.0.1:${f.port}\r\nConnection: close\r\n\r\n`);
    expect(status.status).toBe(200);
    expect(JSON.parse(status.body).key).toMatch(/^[0-9a-f]{64}$/);
    // The certificate route answers for itself: 401, this unsigned request is not from a server.
    const certificate = await rawRequest(`GET /peer/certificate HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
    expect(certificate.status).toBe(401);
    expect(certificate.headers).toContain("x-frame-options: deny");
  });
});

describe("requests in flight from one address", () => {
  test(`beyond ${HTTP_REQUESTS_IN_FLIGHT_PER_ADDRESS_MAX} held uploads: 503 OVERLOADED for public routes, /peer/ still answered; abandoned uploads counted`, async () => {
    const abortedBefore = await faultCount("http_upload_aborted");
    // Uploads that declare 140 bytes and send 10: each is in flight, its handler reading the body.
    const upload = (path: string) => `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: 140\r\n\r\n0123456789`;
    const held = await Promise.all(Array.from({ length: HTTP_REQUESTS_IN_FLIGHT_PER_ADDRESS_MAX }, () => open(upload("/tx"))));
    let refused: Response | null = null;
    await Bun.sleep(200);
    refused = await fetch(`${f.url}/status`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("OVERLOADED");
    // The servers' own routes keep their budget: answered (401 for this unsigned request), not 503.
    const peer = await fetch(`${f.url}/peer/certificate`);
    expect(peer.status).toBe(401);

    // The clients give up mid-body: each abandoned upload is counted and the budget is free again.
    for (const c of held) c.socket.destroy();
    await Promise.all(held.map((c) => c.closed));
    const expected = abortedBefore + HTTP_REQUESTS_IN_FLIGHT_PER_ADDRESS_MAX;
    let aborted = 0;
    for (let i = 0; i < 40 && aborted < expected; i++) {
      await Bun.sleep(50);
      aborted = await faultCount("http_upload_aborted");
    }
    expect(aborted).toBe(expected);
    expect((await fetch(`${f.url}/status`)).status).toBe(200);
    expect(f.node.process.exitCode).toBeNull();
    // Throttled lines through the logger; no stack trace, nothing unhandled.
    expect(f.node.log()).toContain("fault=http_upload_aborted");
    expect(f.node.log()).not.toMatch(/AbortError|unhandled|uncaught/i);
  }, 20_000);
});

describe("slow and idle connections", () => {
  test(`${SLOW_CONNECTIONS} slow connections: /status answers meanwhile; they and an idle kept-alive one are closed after the timeout`, async () => {
    // Half never finish their first request head; half finish one request and start another.
    const answered = `GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
    const slow = await Promise.all(
      Array.from({ length: SLOW_CONNECTIONS }, (_, i) => open(i % 2 === 0 ? "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " : `${answered}GET /status HTTP/1.1\r\nHost:`)),
    );
    const idle = await open(answered);
    const t0 = Date.now();
    const status = await fetch(`${f.url}/status`, { signal: AbortSignal.timeout(1_000) });
    expect(status.status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(1_000);

    const idleMs = await Promise.race([idle.closed, Bun.sleep(HTTP_IDLE_TIMEOUT_S * 1000 + TIMER_GRANULARITY_MS + 1_000).then(() => -1)]);
    expect(idle.received()).toStartWith("HTTP/1.1 200");
    expect(idleMs).toBeGreaterThanOrEqual(HTTP_IDLE_TIMEOUT_S * 1000 - 100);
    expect(idleMs).toBeLessThanOrEqual(HTTP_IDLE_TIMEOUT_S * 1000 + TIMER_GRANULARITY_MS + 500);

    const closedMs = await Promise.all(slow.map((c) => Promise.race([c.closed, Bun.sleep(HEAD_TIMEOUT_MS + 2_000).then(() => -1)])));
    expect(closedMs.filter((ms) => ms < 0)).toHaveLength(0);
    // The started second requests went with the idle timeout, not Bun's head timeout.
    expect(Math.max(...closedMs.filter((_, i) => i % 2 === 1))).toBeLessThanOrEqual(HTTP_IDLE_TIMEOUT_S * 1000 + TIMER_GRANULARITY_MS + 500);
    for (const c of [...slow, idle]) c.socket.destroy();
    expect((await fetch(`${f.url}/status`)).status).toBe(200);
  }, 30_000);
});
