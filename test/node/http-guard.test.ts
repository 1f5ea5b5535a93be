// The HTTP guard in process: which Host headers and request targets are routed, how client
// addresses are grouped into budgets, the in-flight bound, and the headers every answer carries.
import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { HTML_CONTENT_SECURITY_POLICY, InFlightBudget, guardHttp, requestProblem, validHost } from "../../src/node/http-guard.ts";
import { clientAddressKey } from "../../src/node/client-address-key.ts";
import { Faults } from "../../src/node/faults.ts";
import { ManualClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";

describe("Host header and request target", () => {
  test("host names, IPv4 and IPv6 literals, with a port, are valid", () => {
    for (const host of ["localhost", "127.0.0.1", "127.0.0.1:7400", "node-1.example.org", "[::1]", "[::1]:7400", "[2001:db8::1]:80", "a", "x_y.lan:65535"]) {
      expect([host, validHost(host)]).toEqual([host, true]);
    }
  });

  test("anything else is not: empty, paths, spaces, userinfo, two headers, bad ports and literals, non-ASCII, too long", () => {
    const bad = ["", "a/b", "evil.com/x", "a b", "a@b", "a?b", "a#b", "a, b", "x:", "x:99999", "x:1:2", "[zz]", "[::1", "::1", "éx", "-", ".a", "a.", "x".repeat(262)];
    for (const host of bad) expect([host, validHost(host)]).toEqual([host, false]);
  });

  test("a bare path (what Bun gives for a missing or malformed Host) is refused, not routed from the wrong offset", () => {
    expect(requestProblem("/abcd/peer/certificate", null)).toBe("the request needs a Host header naming this server");
    expect(requestProblem("/peer/certificate", "a/b")).toBe("the Host header must be a host name or address, with an optional port");
    expect(requestProblem("/a", "")).toBe("the Host header must be a host name or address, with an optional port");
    expect(requestProblem("http://x/b?q=1#frag", "x")).toBe("the request target must be a path starting with /");
    expect(requestProblem("http://x", "x")).toBe("the request target must be a path starting with /");
    expect(requestProblem("http://[zz]/a", "[zz]")).toBe("the Host header must be a host name or address, with an optional port");
  });

  test("a normal request passes, with or without a Host header (in process there is none)", () => {
    expect(requestProblem("http://127.0.0.1:7400/peer/certificate", "127.0.0.1:7400")).toBeNull();
    expect(requestProblem("http://localhost/tx?x=1", null)).toBeNull();
    expect(requestProblem("http://example.com//status", "EXAMPLE.com:080")).toBeNull();
  });
});

describe("client address budgets", () => {
  test("IPv4 (also mapped into IPv6) counts alone; IPv6 by its /64", () => {
    expect(clientAddressKey("203.0.113.9")).toBe("203.0.113.9");
    expect(clientAddressKey("::ffff:203.0.113.9")).toBe("203.0.113.9");
    expect(clientAddressKey("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64");
    expect(clientAddressKey("2001:0db8:0001:0002:ffff::1")).toBe("2001:db8:1:2::/64");
    expect(clientAddressKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(clientAddressKey("2001:db8::2")).toBe(clientAddressKey("2001:db8::1"));
    expect(clientAddressKey("::1")).toBe("0:0:0:0::/64");
    expect(clientAddressKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(clientAddressKey(null)).toBe("unknown");
  });

  test("a budget holds at most max per key, frees on release, forgets keys at zero, and refuses a release it never gave", () => {
    const budget = new InFlightBudget(2);
    expect([budget.take("a"), budget.take("a"), budget.take("a"), budget.take("b")]).toEqual([true, true, false, true]);
    budget.release("a");
    expect(budget.take("a")).toBe(true);
    budget.release("a");
    budget.release("a");
    budget.release("b");
    expect(budget.keys).toBe(0);
    expect(() => budget.release("a")).toThrow();
  });
});

describe("the guard in front of an app", () => {
  function guarded(publicMax: number, peerMax: number) {
    const app = new Hono();
    const faults = new Faults(silentLogger, new ManualClock(0));
    const gates: (() => void)[] = [];
    const budgets = guardHttp(app, { faults, publicInFlightMax: publicMax, peerInFlightMax: peerMax });
    const hold = () => new Promise<void>((resolve) => gates.push(resolve));
    app.get("/slow", async (c) => (await hold(), c.json({ ok: true })));
    app.get("/peer/slow", async (c) => (await hold(), c.json({ ok: true })));
    app.get("/page", (c) => c.html("<p>hi</p>"));
    app.onError((_e, c) => c.json({ error: { code: "INTERNAL", message: "boom" } }, 500));
    app.get("/boom", () => {
      throw new Error("boom");
    });
    const env = { requestIP: () => ({ address: "198.51.100.7" }) };
    const request = (path: string) => app.request(path, {}, env);
    return { app, faults, budgets, request, release: () => gates.splice(0).forEach((g) => g()) };
  }

  test("beyond the public bound an address gets 503 OVERLOADED with Retry-After; /peer/ has its own budget", async () => {
    const g = guarded(2, 1);
    const held = [g.request("/slow"), g.request("/slow"), g.request("/peer/slow")];
    await Bun.sleep(5);
    const refused = await g.request("/slow");
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("OVERLOADED");
    expect((await g.request("/peer/slow")).status).toBe(503);
    expect(g.faults.count("http_request_refused")).toBe(2);
    g.release();
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200, 200]);
    expect([g.budgets.publicBudget.keys, g.budgets.peerBudget.keys]).toEqual([0, 0]);
    // Freed: the next one is answered.
    const again = g.request("/slow");
    await Bun.sleep(5);
    g.release();
    expect((await again).status).toBe(200);
  });

  test("every answer has nosniff, no-referrer and DENY; HTML also the strict CSP, JSON not", async () => {
    const g = guarded(8, 8);
    for (const path of ["/page", "/nowhere", "/boom"]) {
      const r = await g.request(path);
      expect([path, r.headers.get("x-content-type-options"), r.headers.get("referrer-policy"), r.headers.get("x-frame-options")]).toEqual([path, "nosniff", "no-referrer", "DENY"]);
      const html = (r.headers.get("content-type") ?? "").startsWith("text/html");
      expect(r.headers.get("content-security-policy")).toBe(html ? HTML_CONTENT_SECURITY_POLICY : null);
    }
    expect(HTML_CONTENT_SECURITY_POLICY).not.toContain("unsafe");
    for (const directive of ["default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"]) expect(HTML_CONTENT_SECURITY_POLICY).toContain(directive);
  });
});
