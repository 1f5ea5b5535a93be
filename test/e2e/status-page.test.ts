// The status page in a real browser: Debian's headless Chromium, driven by playwright-core,
// against the compiled binary. The page must load without console errors, show the alpha that
// GET /status reports, show a payment made with `scryp pay` (with its id) once the page refreshes
// itself, and find an account by id with its balance and payments; on a phone-sized screen too.
// Screenshots go to test-artifacts/ (gitignored), to be looked at.
//
// Chromium is installed by scripts/install-chromium.sh when /usr/bin/chromium is missing (root
// and apt-get needed); if that fails, the test fails and says why.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { freePort, tempDir, testKeyPair, waitFor } from "../support/helpers.ts";
import { ARTIFACTS, INSTALL_TIMEOUT_MS, launchChromium, openPage } from "../support/browser.ts";
import { runScryp, startBinaryNode, startSoloNode, writeJson, type BinaryNode } from "../support/binary-node.ts";
import { HEX64, writeSeed } from "./e2e-support.ts";
import { SUPPLY } from "../../src/core/limits.ts";
import { toHex } from "../../src/core/bytes.ts";
import { HTML_CONTENT_SECURITY_POLICY } from "../../src/node/http-guard.ts";

/** The page refreshes every 2 s; a payment must show within a few refreshes. */
const PAGE_UPDATE_TIMEOUT_MS = 10_000;
const ACCEPTED = /^accepted: payment ([0-9a-f]{64}) /m;

let browser: Browser | null = null;
const dirs: { cleanup: () => void }[] = [];
const nodes: BinaryNode[] = [];

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await Promise.all(nodes.map((n) => n.kill("SIGKILL")));
  for (const d of dirs) d.cleanup();
});

async function statusOf(url: string): Promise<any> {
  const r = await fetch(`${url}/status`, { signal: AbortSignal.timeout(2_000) });
  expect(r.status).toBe(200);
  return r.json();
}

describe("status page, one-server network", () => {
  let node: BinaryNode;
  let cwd: string;

  beforeAll(async () => {
    const dir = tempDir("scryp-status-page-");
    dirs.push(dir);
    cwd = dir.path;
    node = await startSoloNode(cwd);
    nodes.push(node);
  });

  test("loads without console errors; alpha as /status; a payment appears; search finds the account", async () => {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    const { page, problems, headers } = await openPage(context, `${node.url}/`);

    // Served with a strict policy (nothing inline), no sniffing, no framing, no referrer; and the
    // style sheet and script it names did load and run under it.
    expect(headers["content-security-policy"]).toBe(HTML_CONTENT_SECURITY_POLICY);
    expect(headers["x-content-type-options"]).toBe("nosniff");
    expect(headers["x-frame-options"]).toBe("DENY");
    expect(headers["referrer-policy"]).toBe("no-referrer");
    expect(await page.evaluate("getComputedStyle(document.querySelector('table.schedule')).maxWidth")).toBe("430px");

    // The alpha shown is the one /status reports (a lone server is always its own alpha).
    const status = await statusOf(node.url);
    expect(status.alpha).toMatch(HEX64);
    expect(await page.getAttribute("#alpha", "data-key")).toBe(status.alpha);
    expect(await page.textContent("#node-key")).toBe(status.key);
    expect(await page.getAttribute("#role", "data-role")).toBe(status.role);
    expect((await page.textContent("#agreed-hash"))?.trim()).toBe(status.agreed.hash);
    expect(await page.getAttribute("#supply-check", "data-ok")).toBe("true");
    expect(await page.locator("#no-payments").count()).toBe(1);
    // The schedule: one server column, a "now" row, a ticking countdown.
    expect(await page.locator("table.schedule thead th").count()).toBe(3);
    expect(await page.locator("table.schedule tr.now").count()).toBe(1);
    const countdown1 = await page.textContent("#countdown");
    expect(countdown1).toMatch(/^\d+:\d\d(\.\d)?$/);
    await waitFor(async () => (await page.textContent("#countdown")) !== countdown1, 3_000, "the countdown to tick");

    // A payment made with the CLI shows up, with its id, after the page refreshes by itself.
    const payee = await runScryp(["keygen", "--seed", "payee.seed"], cwd);
    expect(payee.exitCode).toBe(0);
    const payeeId = payee.stdout.trim().split("\n").at(-1)!;
    expect(payeeId).toMatch(HEX64);
    const paid = await runScryp(["pay", payeeId, "1234", "--node", node.url, "--seed", "server.seed"], cwd);
    expect(paid.exitCode).toBe(0);
    const paymentId = ACCEPTED.exec(paid.stdout)![1]!;
    const row = page.locator(`#ledger tr[data-payment="${paymentId}"]`);
    await row.waitFor({ state: "visible", timeout: PAGE_UPDATE_TIMEOUT_MS });
    expect(await row.locator("a[title]").first().getAttribute("title")).toBe(paymentId);
    expect(await row.textContent()).toContain("1,234");
    // "agreed" only once a majority agreed on its window (agreement only moves forward).
    const shownStatus = await row.locator(".badge").textContent();
    expect(["agreed", "pending"]).toContain(shownStatus!);
    if (shownStatus === "agreed") {
      const window = ((await (await fetch(`${node.url}/tx/${paymentId}`)).json()) as { window: number }).window;
      expect((await statusOf(node.url)).agreed.window).toBeGreaterThanOrEqual(window);
    }
    expect(await page.textContent("#payments-count")).toBe("1");

    // Search: the payee's balance and its payment, in place.
    await page.fill("#search-input", payeeId);
    await page.click("#search-form button");
    const found = page.locator('#account-result [data-result="found"]');
    await found.waitFor({ state: "visible", timeout: 5_000 });
    expect(await found.getAttribute("data-account")).toBe(payeeId);
    expect(await page.getAttribute("#account-balance", "data-balance")).toBe("1234");
    expect(await page.textContent("#account-balance")).toBe("1,234 scryp");
    expect(await page.locator(`#account-result tr[data-payment="${paymentId}"]`).count()).toBe(1);
    expect(new URL(page.url()).searchParams.get("account")).toBe(payeeId);

    // A refresh keeps the result; then the full-page screenshot, for a person to look at.
    await page.waitForTimeout(2_500);
    expect(await found.count()).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, "status-page.png"), fullPage: true });

    // Not an id, and an id with no account: said in words, no error in the console.
    await page.fill("#search-input", "not-an-id");
    await page.click("#search-form button");
    await page.locator('#account-result [data-result="invalid"]').waitFor({ timeout: 5_000 });
    await page.fill("#search-input", "ab".repeat(32));
    await page.click("#search-form button");
    await page.locator('#account-result [data-result="unknown"]').waitFor({ timeout: 5_000 });

    // Clicking an account id anywhere on the page searches for it.
    await page.click(`#ledger tr[data-payment="${paymentId}"] a.account[data-account="${payeeId}"]`);
    await page.locator(`#account-result [data-result="found"][data-account="${payeeId}"]`).waitFor({ timeout: 5_000 });

    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  test("the browser enforces the policy: an injected inline script does not run, and says so in the console", async () => {
    const context = await browser!.newContext();
    const { page, problems } = await openPage(context, `${node.url}/`);
    const ran = await page.evaluate(
      "(() => { const s = document.createElement('script'); s.textContent = 'window.injected = true'; document.body.appendChild(s); return window.injected === true; })()",
    );
    expect(ran).toBe(false);
    await waitFor(() => problems.length > 0, 2_000, "the violation in the console");
    expect(problems.join("\n")).toContain("Content Security Policy");
    // Fragments and assets carry the headers too.
    for (const path of ["/page/live", "/page/script.js", "/page/style.css", "/status"]) {
      const r = await fetch(`${node.url}${path}`);
      expect([path, r.status, r.headers.get("x-content-type-options")]).toEqual([path, 200, "nosniff"]);
      expect(r.headers.get("content-security-policy")).toBe(path === "/page/live" ? HTML_CONTENT_SECURITY_POLICY : null);
    }
    await context.close();
  }, 30_000);

  test("works without JavaScript: ?account= renders the result on the server", async () => {
    const context = await browser!.newContext({ javaScriptEnabled: false });
    // The server's own account: it holds the whole supply but what it paid above.
    const serverId = (await statusOf(node.url)).key as string;
    const { page, problems } = await openPage(context, `${node.url}/?account=${serverId}`);
    expect(await page.getAttribute("#account-result [data-result]", "data-result")).toBe("found");
    expect(Number(await page.getAttribute("#account-balance", "data-balance"))).toBe(SUPPLY - 1234);
    expect(problems).toEqual([]);
    await context.close();
  }, 30_000);

  test("phone-sized screen: nothing wider than the screen, everything there", async () => {
    const context = await browser!.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const { page, problems } = await openPage(context, `${node.url}/`);
    for (const id of ["#node", "#consensus", "#schedule", "#ledger", "#search"]) expect(await page.isVisible(id)).toBe(true);
    // Wide tables scroll inside their card; the page itself never scrolls sideways.
    // (A string: the test is type-checked without the DOM's types.)
    const widths = (await page.evaluate("({ page: document.documentElement.scrollWidth, screen: window.innerWidth })")) as { page: number; screen: number };
    expect(widths.page).toBeLessThanOrEqual(widths.screen);
    await page.screenshot({ path: join(ARTIFACTS, "status-page-phone.png"), fullPage: true });
    expect(problems).toEqual([]);
    await context.close();
  }, 30_000);
});

describe("status page, three servers", () => {
  const INTERVAL = 3_000;
  const BLACKOUT = 1_000;
  const SKEW = 300;
  const servers = [testKeyPair(61), testKeyPair(62), testKeyPair(63)];
  const threeNodes: BinaryNode[] = [];
  let cwd: string;
  let networkPath: string;

  beforeAll(async () => {
    const dir = tempDir("scryp-status-page-3-");
    dirs.push(dir);
    cwd = dir.path;
    const ports = [await freePort(), await freePort(), await freePort()];
    networkPath = join(dir.path, "network.json");
    writeJson(networkPath, {
      servers: servers.map((s, i) => ({ key: toHex(s.publicKey), address: `127.0.0.1:${ports[i]}` })),
      interval: INTERVAL,
      blackout: BLACKOUT,
      skew: SKEW,
      genesis: { [toHex(servers[0]!.publicKey)]: SUPPLY },
    });
    for (const [i, s] of servers.entries()) {
      const seed = join(dir.path, `server-${i + 1}.seed`);
      writeSeed(seed, s);
      const n = await startBinaryNode(dir.path, ["--network", networkPath, "--seed", seed, "--data", join(dir.path, `data-${i + 1}`)], ports[i]!);
      threeNodes.push(n);
      nodes.push(n);
    }
  });

  test("a column per server; every vote agrees; peers' clocks measured; a payment goes from accepted to agreed", async () => {
    const url = threeNodes[1]!.url;
    // Wait for a window agreed by all three, so the votes have something to agree on.
    await waitFor(async () => (await statusOf(url)).agreed.window >= 0, 4 * INTERVAL, "a first agreed window");
    const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    const { page, problems } = await openPage(context, `${url}/`);
    expect(await page.locator("table.schedule thead th").count()).toBe(2 + 3);
    expect(await page.locator("table.schedule tbody tr").count()).toBe(2 * 3 + 1);
    expect(await page.locator("table.schedule td.role.alpha").count()).toBeGreaterThan(0);
    expect(await page.locator("table.schedule tr.blackout").count()).toBeGreaterThan(0);
    await waitFor(
      async () => (await page.locator('#consensus .votes li[data-verdict="agrees"]').count()) === 3,
      PAGE_UPDATE_TIMEOUT_MS,
      "three agreeing votes on the page",
    );
    // The alpha the page shows matches /status whenever both are read inside one phase.
    await waitFor(
      async () => {
        const before = await statusOf(url);
        await page.reload();
        const shown = await page.getAttribute("#alpha", "data-key");
        const after = await statusOf(url);
        return before.alpha === after.alpha && before.window === after.window && shown === (after.alpha ?? "");
      },
      PAGE_UPDATE_TIMEOUT_MS,
      "the page's alpha to equal /status's",
    );
    // Two peers measured, both reachable on loopback; one clock, so offsets are within the
    // measurement's error (half a round trip: generous here, for a loaded CI machine).
    const peers = (await (await fetch(`${url}/status/peers`)).json()) as { peers: { self: boolean; offsetMs: number | null }[] };
    expect(peers.peers.filter((p) => !p.self).map((p) => p.offsetMs !== null && Math.abs(p.offsetMs) < 1_000)).toEqual([true, true]);
    expect(await page.locator("#node td.offset-unknown").count()).toBe(0);
    expect(await page.locator("#node td[class*=offset-]").count()).toBe(3);

    // A payment through whichever server is alpha, confirmed by a majority (--wait), shows as
    // agreed on server 2's page.
    const payee = (await runScryp(["keygen", "--seed", "payee.seed"], cwd)).stdout.trim().split("\n").at(-1)!;
    const paid = await runScryp(["pay", payee, "500", "--network", networkPath, "--seed", join(cwd, "server-1.seed"), "--wait"], cwd);
    expect(paid.exitCode).toBe(0);
    const paymentId = ACCEPTED.exec(paid.stdout)![1]!;
    const row = page.locator(`#ledger tr[data-payment="${paymentId}"]`);
    await row.waitFor({ state: "visible", timeout: PAGE_UPDATE_TIMEOUT_MS });
    await waitFor(async () => (await row.locator(".badge").textContent()) === "agreed", PAGE_UPDATE_TIMEOUT_MS, "the payment to show as agreed");
    await page.screenshot({ path: join(ARTIFACTS, "status-page-three.png"), fullPage: true });
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);
});
