// The wallet page as the server renders it (in process): its own Content-Security-Policy naming
// the network's servers, the network embedded for the script, the script and style sheet served
// from the node, and an accessible name for every control.
import { describe, expect, test } from "bun:test";
import { createWalletPage, walletContentSecurityPolicy } from "../../src/wallet/wallet-page.tsx";
import { readEmbeddedNetwork } from "../../src/wallet/wallet-network.ts";
import { parseNetwork } from "../../src/core/network.ts";
import { toHex } from "../../src/core/bytes.ts";
import { testKeyPair } from "../support/helpers.ts";

const keys = [1, 2, 3].map((n) => toHex(testKeyPair(40 + n).publicKey));
const network = parseNetwork({
  servers: [
    { key: keys[0]!, address: "10.0.0.1:7400" },
    { key: keys[1]!, address: "node-2.example.org:7401" },
    { key: keys[2]!, address: "[2001:db8::1]:7402" },
  ],
  genesis: { [keys[0]!]: 1 },
});
const app = createWalletPage({ network, clock: { now: () => 1_796_000_000_123 }, version: "test-1", servedBy: "test" });

describe("GET /wallet", () => {
  test("its policy: scripts and styles from the node, fetches to the node and the network's servers, nothing inline, no frames", async () => {
    const r = await app.request("/wallet");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toStartWith("text/html");
    expect(r.headers.get("cache-control")).toBe("no-store");
    const policy = r.headers.get("content-security-policy")!;
    expect(policy).toBe(walletContentSecurityPolicy(network));
    expect(policy.split("; ")).toEqual([
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      // CSP cannot name an IPv6 literal: that server is left out rather than opening http: to all.
      "connect-src 'self' http://10.0.0.1:7400 http://node-2.example.org:7401",
      "img-src data:",
      "form-action 'none'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ]);
  });

  test("the network and the server's clock are embedded; no inline script or style; assets under content-named URLs", async () => {
    const html = await (await app.request("/wallet")).text();
    const main = /<main id="wallet" data-network="([^"]*)" data-now-ms="(\d+)"/.exec(html)!;
    const json = main[1]!.replaceAll("&quot;", '"').replaceAll("&amp;", "&");
    expect(readEmbeddedNetwork(json)?.servers.map((s) => s.address)).toEqual(["10.0.0.1:7400", "node-2.example.org:7401", "[2001:db8::1]:7402"]);
    expect(main[2]).toBe("1796000000123");
    expect(html).not.toContain("genesis");
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=/);
    expect(html).not.toMatch(/\son[a-z]+=/);
    const script = /<script type="module" src="(\/wallet\/script\.js\?v=[0-9a-f]{16})"/.exec(html)![1]!;
    const style = /<link rel="stylesheet" href="(\/wallet\/style\.css\?v=[0-9a-f]{16})"/.exec(html)![1]!;
    const js = await app.request(script);
    expect([js.status, js.headers.get("content-type")]).toEqual([200, "text/javascript; charset=utf-8"]);
    const body = await js.text();
    // The bundle: the browser code with its dependencies, nothing fetched from elsewhere.
    expect(body.length).toBeGreaterThan(10_000);
    expect(body).toContain("noble-ed25519");
    expect(body).not.toMatch(/\bimport\s*\(|\bfrom\s*["']https?:/);
    const css = await app.request(style);
    expect([css.status, css.headers.get("content-type")]).toEqual([200, "text/css; charset=utf-8"]);
  });

  test("every control has an accessible name: a label for each input, text for each button", async () => {
    const html = await (await app.request("/wallet")).text();
    const labelled = new Set([...html.matchAll(/<label for="([^"]+)"/g)].map((m) => m[1]));
    const inputs = [...html.matchAll(/<input ([^>]*)>/g)].map((m) => m[1]!);
    expect(inputs.length).toBeGreaterThan(8);
    for (const attributes of inputs) {
      const id = /id="([^"]+)"/.exec(attributes)?.[1];
      expect([id, labelled.has(id) || /aria-label="/.test(attributes)]).toEqual([id, true]);
    }
    for (const [, inner] of html.matchAll(/<button[^>]*>([^<]*)<\/button>/g)) expect(inner!.trim().length).toBeGreaterThan(0);
    for (const region of ["setup-message", "create-message", "import-message", "unlock-message", "pay-message", "request-message"]) {
      expect(html).toMatch(new RegExp(`<p id="${region}" class="message" role="alert"`));
    }
    expect(html).toMatch(/<div id="pay-progress" role="status" aria-live="polite"/);
  });
});
