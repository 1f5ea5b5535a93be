// The real browser of the browser tests: Debian's headless Chromium, driven by playwright-core.
// Chromium is installed by scripts/install-chromium.sh when /usr/bin/chromium is missing (root and
// apt-get needed); if that fails, the test fails and says why.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { $ } from "bun";
import { expect } from "bun:test";
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from "playwright-core";
import { ROOT } from "./helpers.ts";

export const CHROMIUM = "/usr/bin/chromium";
export const ARTIFACTS = join(ROOT, "test-artifacts");
/** apt-get update and install of chromium: about a minute on a good day. */
export const INSTALL_TIMEOUT_MS = 600_000;
/** The flags a closed, root-run machine needs (see .library notes): no sandbox, no background calls home. */
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

async function ensureChromium(): Promise<void> {
  if (existsSync(CHROMIUM)) return;
  const result = await $`bash ${join(ROOT, "scripts", "install-chromium.sh")}`.nothrow().quiet();
  if (result.exitCode !== 0 || !existsSync(CHROMIUM)) {
    throw new Error(
      `the browser tests need Chromium at ${CHROMIUM}, and scripts/install-chromium.sh could not install it ` +
        `(exit ${result.exitCode}):\n${result.stderr.toString().slice(-2000)}${result.stdout.toString().slice(-1000)}`,
    );
  }
}

/** Installs Chromium when missing, then starts it (with a fresh, empty profile of its own), with `extraArgs` after the usual flags. */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  await ensureChromium();
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs], timeout: 30_000 });
}

export interface OpenedPage {
  readonly page: Page;
  /** Every console error or warning (a Content-Security-Policy violation is one), uncaught exception, failed request and HTTP error seen so far. */
  readonly problems: string[];
  readonly headers: Record<string, string>;
}

/**
 * Opens `url` in a new page of `context`, recording problems. `expected(url, status)` names HTTP
 * errors that are answers the page asked for (a wallet asking for an account no server has yet
 * gets 404: the API's "no such account"); Chromium logs each as a console error, which is then
 * not counted either. Nothing else is let through.
 */
export async function openPage(context: BrowserContext, url: string, expected: (url: string, status: number) => boolean = () => false): Promise<OpenedPage> {
  const page = await context.newPage();
  const problems: string[] = [];
  const expectedUrls = new Set<string>();
  const isExpectedConsole = (m: ConsoleMessage) =>
    /^Failed to load resource: the server responded with a status of \d+/.test(m.text()) && expectedUrls.has(m.location().url);
  page.on("console", (m) => {
    if ((m.type() === "error" || m.type() === "warning") && !isExpectedConsole(m)) problems.push(`console ${m.type()}: ${m.text()} (${m.location().url})`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ""}`));
  page.on("response", (r) => {
    if (r.status() < 400) return;
    if (expected(r.url(), r.status())) expectedUrls.add(r.url());
    else problems.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  const response = await page.goto(url, { waitUntil: "load" });
  expect(response?.status()).toBe(200);
  return { page, problems, headers: response!.headers() };
}
