// Cross-origin access (src/node/http-cors.ts) on the node's real HTTP app: a browser wallet on
// another origin may read the public routes and POST /tx, preflight included; nothing else (the
// /peer routes, the pages, /metrics) answers another origin.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { Hono } from "hono";
import { createHttpApi } from "../../src/node/http-api.ts";
import { corsMethods } from "../../src/node/http-cors.ts";
import { PaymentIntake } from "../../src/node/payment-intake.ts";
import { ManualClock } from "../../src/core/clock.ts";
import { verifySignature } from "../../src/core/verify.ts";
import { parseNetwork } from "../../src/core/network.ts";
import { toHex } from "../../src/core/bytes.ts";
import { SUPPLY } from "../../src/core/limits.ts";
import { Faults } from "../../src/node/faults.ts";
import { silentLogger } from "../../src/core/logger.ts";
import type { KeyPair } from "../../src/core/keys.ts";
import { T0, keyPairs, openTempLedger, signedPayment, testKeyPair, windowOf, type TempLedger } from "../ledger/fixtures.ts";

const [alice, bob] = keyPairs(2) as [KeyPair, KeyPair];
const server = testKeyPair(201);
const A = toHex(alice.publicKey);
const ORIGIN = "http://127.0.0.1:7480";

let app: Hono;
let t: TempLedger;
beforeEach(() => {
  const network = parseNetwork({ servers: [{ key: toHex(server.publicKey), address: "127.0.0.1:7400" }], genesis: { [A]: SUPPLY } });
  t = openTempLedger(network.genesis);
  const clock = new ManualClock(T0);
  const intake = new PaymentIntake({ ledger: t.ledger, clock, skewMs: network.skewMs, verify: verifySignature, gate: () => null, capacity: network.capacity, windowAt: windowOf });
  app = createHttpApi({ intake, ledger: t.ledger, network, clock, keyHex: toHex(server.publicKey), version: "test-1", faults: new Faults(silentLogger, clock) });
  // Stand-ins for what run-node.ts mounts beside the API.
  app.post("/peer/message", (c) => c.json({ ok: true }));
  app.get("/page/live", (c) => c.html("<p>live</p>"));
  app.get("/metrics", (c) => c.text("scryp_up 1\n"));
});
afterEach(() => t.cleanup());

const preflight = (path: string, method: string) =>
  app.request(path, { method: "OPTIONS", headers: { origin: ORIGIN, "access-control-request-method": method, "access-control-request-headers": "content-type" } });

describe("CORS", () => {
  test("the routes that answer other origins, and those that do not", () => {
    for (const path of ["/status", "/status/peers", "/network", `/accounts/${A}`, `/accounts/${A}/transactions`, `/tx/${"0".repeat(64)}`, "/payments/recent"]) {
      expect([path, corsMethods(path)]).toEqual([path, "GET"]);
    }
    expect(corsMethods("/tx")).toBe("POST");
    for (const path of ["/peer/message", "/peer", "/peer/tx", "/", "/wallet", "/page/live", "/metrics", "/accounts", "/accounts/a/b/c", "/tx/a/b", "/statusx"]) {
      expect([path, corsMethods(path)]).toEqual([path, null]);
    }
  });

  test("preflight for POST /tx: allowed with its content type, cached for a while", async () => {
    const r = await preflight("/tx", "POST");
    expect(r.status).toBe(204);
    expect(r.headers.get("access-control-allow-origin")).toBe("*");
    expect(r.headers.get("access-control-allow-methods")).toBe("POST");
    expect(r.headers.get("access-control-allow-headers")).toBe("content-type");
    expect(Number(r.headers.get("access-control-max-age"))).toBeGreaterThan(0);
    // And the real POST, refused or not, is readable by the page.
    const bytes = signedPayment(alice, bob.publicKey, 5, T0);
    const posted = await app.request("/tx", { method: "POST", headers: { origin: ORIGIN, "content-type": "application/json" }, body: JSON.stringify({ tx: toHex(bytes) }) });
    expect(posted.status).toBe(200);
    expect(posted.headers.get("access-control-allow-origin")).toBe("*");
    const refused = await app.request("/tx", { method: "POST", headers: { origin: ORIGIN, "content-type": "text/plain" }, body: "x" });
    expect(refused.status).toBe(400);
    expect(refused.headers.get("access-control-allow-origin")).toBe("*");
  });

  test("simple requests to the public read routes are readable by any origin, errors included", async () => {
    for (const path of ["/status", "/network", `/accounts/${A}`, `/accounts/${A}/transactions`, `/tx/${"0".repeat(64)}`, "/accounts/not-hex"]) {
      const r = await app.request(path, { headers: { origin: ORIGIN } });
      expect([path, r.headers.get("access-control-allow-origin")]).toEqual([path, "*"]);
      expect(r.headers.get("access-control-allow-credentials")).toBeNull();
    }
    const preflighted = await preflight(`/accounts/${A}`, "GET");
    expect([preflighted.status, preflighted.headers.get("access-control-allow-methods")]).toEqual([204, "GET"]);
  });

  test("never /peer/*, the pages or /metrics; no method other than the route's", async () => {
    for (const path of ["/peer/message", "/page/live", "/metrics"]) {
      const p = await preflight(path, "POST");
      expect([path, p.headers.get("access-control-allow-origin"), p.headers.get("access-control-allow-methods")]).toEqual([path, null, null]);
    }
    const peer = await app.request("/peer/message", { method: "POST", headers: { origin: ORIGIN, "content-type": "application/json" }, body: "{}" });
    expect(peer.status).toBe(200);
    expect(peer.headers.get("access-control-allow-origin")).toBeNull();
    for (const path of ["/page/live", "/metrics"]) {
      const r = await app.request(path, { headers: { origin: ORIGIN } });
      expect([path, r.status, r.headers.get("access-control-allow-origin")]).toEqual([path, 200, null]);
    }
    // GET /tx is no read route, POST /status no write route.
    expect((await app.request("/tx", { headers: { origin: ORIGIN } })).headers.get("access-control-allow-origin")).toBeNull();
    expect((await app.request("/status", { method: "POST", headers: { origin: ORIGIN } })).headers.get("access-control-allow-origin")).toBeNull();
  });
});
