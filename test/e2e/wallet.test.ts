// The wallet page in a real browser (headless Chromium, test/support/browser.ts) against three
// compiled nodes: create a wallet, receive from the demo account through a payment request
// (`scryp pay <uri>`), pay another account and see the payment agreed, reload and unlock with the
// passphrase; on a phone (390 px, the page a node serves) and a laptop (1280 px, the page
// `scryp wallet` serves); then a second browser imports the backup and pages through the history.
// Bad input (a malformed seed, a wrong passphrase, a bad amount, payee or
// request) gets a clear message and changes nothing. No console errors; screenshots in
// test-artifacts/.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { BINARY, freePort, tempDir, testKeyPair, waitFor } from "../support/helpers.ts";
import { ARTIFACTS, INSTALL_TIMEOUT_MS, launchChromium, openPage } from "../support/browser.ts";
import { runScryp, startBinaryNode, writeJson, type BinaryNode } from "../support/binary-node.ts";
import { HEX64, writeSeed } from "./e2e-support.ts";
import { SUPPLY } from "../../src/core/limits.ts";
import { toHex } from "../../src/core/bytes.ts";
import { keyPairFromSeed } from "../../src/core/keys.ts";

const INTERVAL = 3_000;
const BLACKOUT = 1_000;
const SKEW = 300;
/** A payment is agreed within a window or two of 3 s; generous for a loaded machine. */
const AGREED_TIMEOUT_MS = 20_000;
const PASSPHRASE = "correct horse battery staple";

const servers = [testKeyPair(71), testKeyPair(72), testKeyPair(73)];
const demo = testKeyPair(74);
const friend = testKeyPair(75);
const friendId = toHex(friend.publicKey);

let browser: Browser | null = null;
const nodes: BinaryNode[] = [];
let walletProcess: ReturnType<typeof Bun.spawn> | null = null;
let dir: { path: string; cleanup: () => void };
let networkPath: string;
let localWalletUrl: string;
/** Each flow's backup file and account, for the import test. */
const backups = new Map<string, { path: string; account: string }>();

/** 404 for an account or a payment a server does not hold is the API's answer, asked for on purpose. */
const expectedNotFound = (url: string, status: number) => status === 404 && /\/(accounts|tx)\/[0-9a-f]{64}$/.test(new URL(url).pathname);

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  dir = tempDir("scryp-wallet-");
  const ports = [await freePort(), await freePort(), await freePort()];
  networkPath = join(dir.path, "network.json");
  writeJson(networkPath, {
    servers: servers.map((s, i) => ({ key: toHex(s.publicKey), address: `127.0.0.1:${ports[i]}` })),
    interval: INTERVAL,
    blackout: BLACKOUT,
    skew: SKEW,
    genesis: { [toHex(demo.publicKey)]: SUPPLY },
  });
  writeSeed(join(dir.path, "demo.seed"), demo);
  for (const [i, s] of servers.entries()) {
    const seed = join(dir.path, `server-${i + 1}.seed`);
    writeSeed(seed, s);
    nodes.push(await startBinaryNode(dir.path, ["--network", networkPath, "--seed", seed, "--data", join(dir.path, `data-${i + 1}`)], ports[i]!));
  }
  // `scryp wallet` serves the laptop's page from "this machine".
  const port = await freePort();
  walletProcess = Bun.spawn([BINARY, "wallet", "--network", networkPath, "--port", String(port)], { cwd: dir.path, stdout: "pipe", stderr: "pipe" });
  const reader = (walletProcess.stdout as ReadableStream<Uint8Array>).getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  localWalletUrl = first.trim();
  expect(localWalletUrl).toBe(`http://127.0.0.1:${port}/wallet`);
  browser = await launchChromium();
  await waitFor(async () => ((await (await fetch(`${nodes[0]!.url}/status`)).json()) as { agreed: { window: number } }).agreed.window >= 0, 4 * INTERVAL, "a first agreed window");
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  walletProcess?.kill("SIGKILL");
  await Promise.all(nodes.map((n) => n.kill("SIGKILL")));
  dir?.cleanup();
});

const balanceOf = async (page: Page) => page.getAttribute("#balance", "data-balance");

async function waitForBalance(page: Page, balance: number): Promise<void> {
  await waitFor(
    async () => {
      if ((await balanceOf(page)) === String(balance)) return true;
      await page.getByRole("button", { name: "Refresh" }).click();
      await page.waitForTimeout(500);
      return (await balanceOf(page)) === String(balance);
    },
    AGREED_TIMEOUT_MS,
    `the page to show a balance of ${balance}`,
  );
}

async function expectMessage(page: Page, id: string, pattern: RegExp): Promise<void> {
  await waitFor(async () => pattern.test((await page.textContent(`#${id}`)) ?? ""), 5_000, `#${id} to say ${pattern}`);
}

/** The whole flow on one page; `label` names its screenshots. */
async function walletFlow(page: Page, label: string): Promise<void> {
  // A fresh browser: no wallet yet, so create or import.
  await page.locator("#setup-new").waitFor({ state: "visible", timeout: 5_000 });

  // Bad setup input: a clear message, nothing stored (the choice to create or import stays).
  await page.getByLabel("Seed (64 hex digits)").fill("12ab-not-a-seed");
  await page.locator("#import-form").getByLabel("Passphrase", { exact: true }).fill(PASSPHRASE);
  await page.locator("#import-form").getByLabel("Passphrase again").fill(PASSPHRASE);
  await page.getByRole("button", { name: "Import wallet" }).click();
  await expectMessage(page, "import-message", /a seed is 64 hex digits/);
  await page.getByLabel("Seed (64 hex digits)").fill("ab".repeat(31));
  await page.getByRole("button", { name: "Import wallet" }).click();
  await expectMessage(page, "import-message", /this has 62/);
  await page.locator("#create-form").getByLabel("Passphrase", { exact: true }).fill("short");
  await page.locator("#create-form").getByLabel("Passphrase again").fill("short");
  await page.getByRole("button", { name: "Create wallet" }).click();
  await expectMessage(page, "create-message", /at least 8 characters/);
  await page.locator("#create-form").getByLabel("Passphrase", { exact: true }).fill(PASSPHRASE);
  await page.locator("#create-form").getByLabel("Passphrase again").fill(PASSPHRASE + "!");
  await page.getByRole("button", { name: "Create wallet" }).click();
  await expectMessage(page, "create-message", /differ/);
  expect(await page.isVisible("#setup-new")).toBe(true);
  expect(await page.isVisible("#setup-open")).toBe(false);

  // Create: a seed made in the browser, sealed under the passphrase.
  await page.locator("#create-form").getByLabel("Passphrase again").fill(PASSPHRASE);
  await page.getByRole("button", { name: "Create wallet" }).click();
  await page.locator("#setup-open").waitFor({ state: "visible", timeout: 10_000 });
  const account = (await page.textContent("#account-id"))!;
  expect(account).toMatch(HEX64);
  expect(await page.textContent("#backup-warning")).toContain("no one can give");

  // The backup is the seed of that account, in the format `scryp --seed` reads.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download backup (.seed)" }).click()]);
  const backupPath = join(dir.path, `${label}.seed`);
  backups.set(label, { path: backupPath, account });
  await download.saveAs(backupPath);
  const backup = new Uint8Array(readFileSync(backupPath));
  expect(backup.length).toBe(32);
  expect(toHex(keyPairFromSeed(backup).publicKey)).toBe(account);

  // A new account: no server holds it, so its balance is 0.
  await waitForBalance(page, 0);

  // Receive: a bad amount is refused; then a request, as text and QR code.
  await page.getByLabel("Amount to request (scryp)").fill("12.5");
  await page.getByRole("button", { name: "Make request" }).click();
  await expectMessage(page, "request-message", /whole number/);
  expect(await page.isVisible("#request-output")).toBe(false);
  await page.getByLabel("Amount to request (scryp)").fill("1000");
  await page.getByRole("button", { name: "Make request" }).click();
  const uri = (await page.textContent("#request-uri"))!;
  expect(uri).toBe(`scryp:${account}?amount=1000`);
  expect(await page.getByRole("img", { name: /QR code of the payment request/ }).count()).toBe(1);
  expect((await page.getAttribute("#request-qr path", "d"))!.length).toBeGreaterThan(100);

  // The demo account pays the request with the CLI.
  const paid = await runScryp(["pay", uri, "--network", networkPath, "--seed", "demo.seed", "--wait"], dir.path);
  expect([paid.exitCode, paid.stderr]).toEqual([0, expect.stringContaining("waiting for a majority")]);
  await waitForBalance(page, 1000);

  // Bad payment input: a clear message, no confirmation step, nothing sent.
  const review = page.getByRole("button", { name: "Review payment" });
  const payee = page.getByLabel("Payee: account id or scryp: payment request");
  const amount = page.getByLabel("Amount (scryp)", { exact: true });
  const refusals: [string, string, RegExp][] = [
    ["hello", "5", /account id \(64 hex digits\) or a scryp: payment request/],
    ["scryp:xyz?amount=1", "", /payment request: the payee must be an account id/],
    [`scryp:${friendId}?amount=10&memo=rent`, "", /unknown parameter 'memo'/],
    [friendId, "-5", /whole number/],
    [friendId, "0", /at least 1/],
    [friendId, "5000", /more than your balance/],
    [account, "5", /your own account/],
  ];
  for (const [payeeText, amountText, message] of refusals) {
    await payee.fill(payeeText);
    await amount.fill(amountText);
    await review.click();
    await expectMessage(page, "pay-message", message);
    expect(await page.isVisible("#pay-confirm")).toBe(false);
  }
  // Review, then cancel: nothing sent.
  await payee.fill(friendId);
  await amount.fill("250");
  await review.click();
  await page.locator("#pay-confirm").waitFor({ state: "visible" });
  await page.getByRole("button", { name: "Cancel" }).click();
  await expectMessage(page, "pay-message", /nothing was sent/);
  expect(await page.isVisible("#pay-progress")).toBe(false);

  // Pay 250 to the friend: confirmed, sent to the alpha, followed to agreed.
  await review.click();
  await page.locator("#pay-confirm").waitFor({ state: "visible" });
  expect(await page.textContent("#confirm-amount")).toBe("250");
  expect(await page.textContent("#confirm-payee")).toBe(friendId);
  await page.getByRole("button", { name: "Confirm and send" }).click();
  await page
    .locator('#pay-state[data-state="agreed"], #pay-state[data-state="final"]')
    .waitFor({ timeout: AGREED_TIMEOUT_MS })
    .catch(async (e: Error) => {
      // Say what the page said: the steps are the story of the payment.
      throw new Error(`${e.message}\nthe page's steps: ${(await page.locator("#pay-steps li").allTextContents()).join(" | ")}; state ${await page.textContent("#pay-state")}`);
    });
  const paymentId = (await page.textContent("#pay-id"))!;
  expect(paymentId).toMatch(HEX64);
  const steps = (await page.locator("#pay-steps li").allTextContents()).join("\n");
  expect(steps).toContain("Acknowledged");
  expect(steps).toMatch(/Agreed: [23] of 3 servers/);
  // Final (3 of 3 voted its window) follows agreed within a moment when every server is up; it
  // may show or not by the time the page is read, but never before "Agreed".
  if (steps.includes("Final")) expect(steps.indexOf("Final")).toBeGreaterThan(steps.indexOf("Agreed"));
  await waitForBalance(page, 750);
  // The history: both payments, newest first, with their status.
  const row = page.locator(`#history-rows tr[data-payment="${paymentId}"]`);
  await row.waitFor({ timeout: 10_000 });
  expect(await page.locator("#history-rows tr").count()).toBe(2);
  expect(await page.getAttribute("#history-rows tr:first-child", "data-payment")).toBe(paymentId);
  expect(await row.textContent()).toContain("−250");
  await waitFor(async () => (await page.locator('#history-rows tr[data-status="agreed"]').count()) === 2, AGREED_TIMEOUT_MS, "both payments agreed in the history");

  // The servers agree: the friend got it (asked with the CLI, from the network file).
  const friendBalance = await runScryp(["balance", friendId, "--network", networkPath, "--json"], dir.path);
  expect(JSON.parse(friendBalance.stdout).balance).toBeGreaterThanOrEqual(250);
  await page.screenshot({ path: join(ARTIFACTS, `wallet-${label}.png`), fullPage: true });

  // Reload: locked; a wrong passphrase is refused and changes nothing; the right one opens it.
  await page.reload();
  await page.locator("#setup-locked").waitFor({ state: "visible", timeout: 5_000 });
  expect(await page.textContent("#locked-account")).toBe(account);
  expect(await page.isVisible("#balance-card")).toBe(false);
  await page.locator("#unlock-form").getByLabel("Passphrase", { exact: true }).fill("not the passphrase");
  await page.getByRole("button", { name: "Unlock" }).click();
  await expectMessage(page, "unlock-message", /Wrong passphrase/);
  expect(await page.isVisible("#setup-open")).toBe(false);
  await page.locator("#unlock-form").getByLabel("Passphrase", { exact: true }).fill(PASSPHRASE);
  await page.getByRole("button", { name: "Unlock" }).click();
  await page.locator("#setup-open").waitFor({ state: "visible", timeout: 10_000 });
  expect(await page.textContent("#account-id")).toBe(account);
  await waitForBalance(page, 750);
}

describe("wallet page in a browser", () => {
  test("laptop, 1280 px, the page `scryp wallet` serves: create, receive by request, pay, agreed, reload and unlock", async () => {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    const { page, problems, headers } = await openPage(context, localWalletUrl, expectedNotFound);
    // Its own policy: the network's servers and nothing else.
    const policy = headers["content-security-policy"]!;
    for (const n of nodes) expect(policy).toContain(`http://127.0.0.1:${n.port}`);
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toContain("unsafe");
    await walletFlow(page, "laptop");
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);

  test("phone, 390 px, the page a node serves: the same, and nothing wider than the screen", async () => {
    const context = await browser!.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, acceptDownloads: true });
    const { page, problems } = await openPage(context, `${nodes[1]!.url}/wallet`, expectedNotFound);
    await walletFlow(page, "phone");
    const widths = (await page.evaluate("({ page: document.documentElement.scrollWidth, screen: window.innerWidth })")) as { page: number; screen: number };
    expect(widths.page).toBeLessThanOrEqual(widths.screen);
    // No camera API in headless Chromium here: the page says so and offers paste.
    await page.getByRole("button", { name: "Scan QR code" }).click();
    await expectMessage(page, "pay-message", /paste the payment request/);
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);

  test("a page that is not a secure context (plain http under a name other than localhost) says why the wallet cannot open, and offers scryp wallet", async () => {
    // wallet.test resolves to this machine, but is not loopback by name: no WebCrypto there.
    const insecure = await launchChromium(["--host-resolver-rules=MAP wallet.test 127.0.0.1"]);
    try {
      const context = await insecure.newContext();
      const { page, problems } = await openPage(context, `http://wallet.test:${nodes[0]!.port}/wallet`);
      await page.locator("#unsupported").waitFor({ state: "visible", timeout: 5_000 });
      expect(await page.getByRole("alert").filter({ hasText: "not in a secure context" }).textContent()).toContain("scryp wallet");
      expect(await page.isVisible("#setup-new")).toBe(false);
      expect(await page.isVisible("#setup-loading")).toBe(false);
      expect(problems).toEqual([]);
    } finally {
      await insecure.close();
    }
  }, 30_000);

  test("another browser imports the backup (.seed file): the same account and balance", async () => {
    const backup = backups.get("laptop");
    expect(backup).toBeDefined();
    const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    const { page, problems } = await openPage(context, `${nodes[2]!.url}/wallet`, expectedNotFound);
    await page.locator("#setup-new").waitFor({ state: "visible", timeout: 5_000 });
    const form = page.locator("#import-form");
    // A seed typed and a file chosen: which one was meant? Refused.
    await form.getByLabel("Seed (64 hex digits)").fill("ab".repeat(32));
    await form.getByLabel("or a .seed file").setInputFiles(backup!.path);
    await form.getByLabel("Passphrase", { exact: true }).fill(PASSPHRASE);
    await form.getByLabel("Passphrase again").fill(PASSPHRASE);
    await page.getByRole("button", { name: "Import wallet" }).click();
    await expectMessage(page, "import-message", /not both/);
    await form.getByLabel("Seed (64 hex digits)").fill("");
    await page.getByRole("button", { name: "Import wallet" }).click();
    await page.locator("#setup-open").waitFor({ state: "visible", timeout: 10_000 });
    expect(await page.textContent("#account-id")).toBe(backup!.account);
    await waitForBalance(page, 750);
    expect(await page.locator("#history-rows tr").count()).toBe(2);
    expect(await page.isDisabled("#history-older")).toBe(true);
    expect(await page.isDisabled("#history-newer")).toBe(true);

    // Ten more payments in: the history pages, ten a page, newest first.
    // Distinct amounts: two processes signing the same amount to the same payee in the same
    // millisecond make the very same bytes (Ed25519 is deterministic) — one payment, applied once.
    const paid = await Promise.all(
      Array.from({ length: 10 }, (_, i) => runScryp(["pay", backup!.account, String(i + 1), "--network", networkPath, "--seed", "demo.seed", "--http"], dir.path)),
    );
    expect(paid.map((p) => p.exitCode)).toEqual(Array(10).fill(0));
    await waitForBalance(page, 750 + 55);
    await waitFor(async () => (await page.locator("#history-rows tr").count()) === 10 && !(await page.isDisabled("#history-older")), 10_000, "a full first page");
    expect(await page.textContent("#history-page")).toBe("page 1");
    await page.getByRole("button", { name: "Older" }).click();
    await waitFor(async () => (await page.textContent("#history-page")) === "page 2", 10_000, "page 2");
    expect(await page.locator("#history-rows tr").count()).toBe(2);
    // The oldest two: the 1,000 received by request and the 250 paid.
    expect((await page.locator("#history-rows tr .c-amount").allTextContents()).sort()).toEqual(["+1,000", "−250"]);
    expect(await page.isDisabled("#history-older")).toBe(true);
    await page.getByRole("button", { name: "Newer" }).click();
    await waitFor(async () => (await page.textContent("#history-page")) === "page 1", 10_000, "page 1 again");
    expect(problems).toEqual([]);
    await context.close();
  }, 30_000);
});
