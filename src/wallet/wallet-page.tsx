/** @jsxImportSource hono/jsx */
// The wallet page, GET /wallet: on every node, and from `scryp wallet` on the user's own machine.
// Rendered here with Hono's JSX; everything the wallet does happens in the browser, in the script
// (src/wallet/browser/, bundled into the binary): the seed is made or imported there, kept there
// encrypted (IndexedDB), and payments are signed there. The server only hands out the page, its
// script and style sheet, and the network's public part (servers and schedule) embedded in it.
//
// The page talks to every server of the network (balances by majority; the payment to the alpha),
// so its Content-Security-Policy names them in connect-src, and nothing else: no other origin,
// nothing inline, no frames. A server that serves this page could serve another one instead; that
// is why `scryp wallet` exists (README, "Wallet").
import { createHash } from "node:crypto";
import { Hono } from "hono";
import type { FC } from "hono/jsx";
import { raw } from "hono/html";
import type { Network } from "../core/network.ts";
import type { Clock } from "../core/clock.ts";
import { WALLET_CSS, WALLET_SCRIPT } from "./wallet-assets.ts";
import { embeddedNetwork } from "./wallet-network.ts";

/** Cached for a day under a URL that names the content, as the status page's assets. */
const ASSET_CACHE_CONTROL = "public, max-age=86400, immutable";

export interface WalletPageDeps {
  readonly network: Network;
  readonly clock: Clock;
  readonly version: string;
  /** Who serves the page, in words: "node 1a2b…" or "scryp wallet on this machine". */
  readonly servedBy: string;
}

/**
 * The page's policy: script and style from where the page came from, fetches to it and to the
 * network's servers only. CSP cannot name an IPv6 literal, so a server listed by one is left out
 * (the page says it cannot reach it). form-action 'none': the forms are the script's; without it
 * nothing is ever submitted (a seed must never end up in a URL).
 */
export function walletContentSecurityPolicy(network: Network): string {
  const servers = network.servers.filter((s) => !s.host.includes(":")).map((s) => `http://${s.host}:${s.port}`);
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    ["connect-src 'self'", ...new Set(servers)].join(" "),
    "img-src data:",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join("; ");
}

export function createWalletPage(deps: WalletPageDeps): Hono {
  const app = new Hono();
  const policy = walletContentSecurityPolicy(deps.network);
  const networkJson = JSON.stringify(embeddedNetwork(deps.network));
  const assetVersion = createHash("sha256").update(WALLET_CSS).update(WALLET_SCRIPT).digest("hex").slice(0, 16);

  app.get("/wallet", (c) => {
    c.header("cache-control", "no-store");
    c.header("content-security-policy", policy);
    return c.html(
      <>
        {raw("<!doctype html>")}
        <WalletPage deps={deps} networkJson={networkJson} nowMs={deps.clock.now()} assetVersion={assetVersion} />
      </>,
    );
  });
  app.get("/wallet/style.css", (c) => c.body(WALLET_CSS, 200, { "content-type": "text/css; charset=utf-8", "cache-control": ASSET_CACHE_CONTROL }));
  app.get("/wallet/script.js", (c) => c.body(WALLET_SCRIPT, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": ASSET_CACHE_CONTROL }));
  return app;
}

const Message: FC<{ id: string }> = ({ id }) => <p id={id} class="message" role="alert" aria-live="assertive"></p>;

const WalletPage: FC<{ deps: WalletPageDeps; networkJson: string; nowMs: number; assetVersion: string }> = ({ deps, networkJson, nowMs, assetVersion }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>scryp wallet</title>
      <link rel="icon" href="data:," />
      <link rel="stylesheet" href={`/wallet/style.css?v=${assetVersion}`} />
    </head>
    <body>
      <header class="top">
        <span class="logo">scryp wallet</span>
        <span class="muted">
          {deps.network.servers.length} server(s) · served by {deps.servedBy}
        </span>
      </header>
      <main id="wallet" data-network={networkJson} data-now-ms={String(nowMs)}>
        <noscript>
          <p class="notice wide">The wallet runs in your browser: it needs JavaScript. Without it, nothing here works.</p>
        </noscript>
        <p id="unsupported" class="notice wide" role="alert" hidden></p>

        <section class="card wide" id="setup" aria-labelledby="setup-title">
          <h2 id="setup-title">Your wallet</h2>
          <p id="setup-loading" class="muted">Opening the wallet kept in this browser…</p>

          <div id="setup-new" class="setup-choices" hidden>
            <form id="create-form" aria-labelledby="create-title">
              <h3 id="create-title">Create a new wallet</h3>
              <p class="muted">A new secret seed is made here, in this browser, and never leaves it. It is kept encrypted under your passphrase.</p>
              <label for="create-passphrase">Passphrase</label>
              <input id="create-passphrase" type="password" autocomplete="new-password" />
              <label for="create-passphrase-again">Passphrase again</label>
              <input id="create-passphrase-again" type="password" autocomplete="new-password" />
              <button type="submit" class="primary">Create wallet</button>
              <Message id="create-message" />
            </form>
            <form id="import-form" aria-labelledby="import-title">
              <h3 id="import-title">Import a wallet</h3>
              <label for="import-seed">Seed (64 hex digits)</label>
              <input id="import-seed" type="password" class="mono" autocomplete="off" spellcheck={false} />
              <label for="import-file">or a .seed file</label>
              <input id="import-file" type="file" accept=".seed,application/octet-stream" />
              <label for="import-passphrase">Passphrase</label>
              <input id="import-passphrase" type="password" autocomplete="new-password" />
              <label for="import-passphrase-again">Passphrase again</label>
              <input id="import-passphrase-again" type="password" autocomplete="new-password" />
              <button type="submit" class="primary">Import wallet</button>
              <Message id="import-message" />
            </form>
          </div>

          <div id="setup-locked" hidden>
            <form id="unlock-form" aria-labelledby="unlock-title">
              <h3 id="unlock-title">Unlock your wallet</h3>
              <p>
                Account <code class="id" id="locked-account"></code>
              </p>
              <label for="unlock-passphrase">Passphrase</label>
              <input id="unlock-passphrase" type="password" autocomplete="current-password" />
              <div class="row">
                <button type="submit" class="primary">Unlock</button>
                <button type="button" id="forget">Forget this wallet…</button>
              </div>
              <Message id="unlock-message" />
            </form>
            <div id="forget-confirm" class="confirm" role="group" aria-labelledby="forget-title" hidden>
              <p id="forget-title">
                <strong>Forget this wallet?</strong> This browser then no longer holds its seed. Without a backup, the scryp of this account are lost for ever.
              </p>
              <div class="row">
                <button type="button" id="forget-yes">Yes, forget it</button>
                <button type="button" id="forget-no" class="primary">Keep it</button>
              </div>
            </div>
          </div>

          <div id="setup-open" hidden>
            <p>
              Account <code class="id" id="account-id"></code>
            </p>
            <div class="row">
              <button type="button" id="backup">Download backup (.seed)</button>
              <button type="button" id="show-seed" aria-expanded="false" aria-controls="seed-hex">
                Show seed
              </button>
              <button type="button" id="lock">Lock</button>
            </div>
            <p id="seed-box" hidden>
              Seed: <code class="id" id="seed-hex"></code>
            </p>
            <p class="warning" id="backup-warning">
              Your seed is your money. Anyone who has it can spend your scryp; if you lose it (a lost phone, this browser's data cleared, a forgotten passphrase) and have no backup, no one can give
              them back: there is no account recovery. Download the backup and keep it somewhere safe, offline.
            </p>
            <Message id="setup-message" />
          </div>
        </section>

        <section class="card" id="balance-card" aria-labelledby="balance-title" hidden>
          <h2 id="balance-title">Balance</h2>
          <p id="balance" class="balance" aria-live="polite" data-balance="">
            …
          </p>
          <ul id="balance-notes" class="notes" aria-label="What the servers say"></ul>
          <div class="row">
            <button type="button" id="refresh">Refresh</button>
            <span id="refreshed" class="muted"></span>
          </div>
        </section>

        <section class="card" id="receive-card" aria-labelledby="receive-title" hidden>
          <h2 id="receive-title">Receive</h2>
          <p>
            Your account id: <code class="id" id="receive-account"></code>
          </p>
          <button type="button" id="copy-account">Copy account id</button>
          <form id="request-form" aria-labelledby="request-title">
            <h3 id="request-title">Payment request</h3>
            <label for="request-amount">Amount to request (scryp)</label>
            <div class="field-row">
              <input id="request-amount" type="text" inputmode="numeric" autocomplete="off" />
              <button type="submit">Make request</button>
            </div>
            <Message id="request-message" />
          </form>
          <div id="request-output" hidden>
            <p>
              <code class="id" id="request-uri"></code>
            </p>
            <button type="button" id="copy-request">Copy payment request</button>
            <div id="request-qr"></div>
            <p class="muted">The payer scans this with the wallet, or runs: scryp pay &lt;request&gt;</p>
          </div>
        </section>

        <section class="card wide" id="pay-card" aria-labelledby="pay-title" hidden>
          <h2 id="pay-title">Pay</h2>
          <form id="pay-form">
            <label for="pay-payee">Payee: account id or scryp: payment request</label>
            <div class="field-row">
              <input id="pay-payee" type="text" class="mono" autocomplete="off" spellcheck={false} />
              <button type="button" id="scan">Scan QR code</button>
            </div>
            <div id="scanner" class="scanner" hidden>
              <video id="scan-video" aria-label="Camera view for scanning a QR code" muted playsinline></video>
              <button type="button" id="scan-stop">Stop scanning</button>
            </div>
            <label for="pay-amount">Amount (scryp)</label>
            <input id="pay-amount" type="text" inputmode="numeric" autocomplete="off" />
            <button type="submit" class="primary">Review payment</button>
            <Message id="pay-message" />
          </form>
          <div id="pay-confirm" class="confirm" role="group" aria-labelledby="confirm-title" hidden>
            <p id="confirm-title">
              Pay <strong id="confirm-amount"></strong> scryp to <code class="id" id="confirm-payee"></code>?
            </p>
            <p class="muted">It is signed here and sent to the server accepting payments now. A payment cannot be taken back.</p>
            <div class="row">
              <button type="button" id="confirm-send" class="primary">
                Confirm and send
              </button>
              <button type="button" id="confirm-cancel">Cancel</button>
            </div>
          </div>
          <div id="pay-progress" role="status" aria-live="polite" hidden>
            <h3>
              Payment <code class="id" id="pay-id"></code>
            </h3>
            <ol id="pay-steps" class="steps"></ol>
            <p>
              Now: <span id="pay-state" class="badge" data-state=""></span>
            </p>
          </div>
        </section>

        <section class="card wide" id="history-card" aria-labelledby="history-title" hidden>
          <h2 id="history-title">History</h2>
          <table class="history">
            <caption class="sr-only">Payments of this account, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When (UTC)</th>
                <th scope="col">Amount</th>
                <th scope="col">Other account</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody id="history-rows"></tbody>
          </table>
          <p id="history-empty" class="muted" hidden>
            No payments yet.
          </p>
          <nav class="pager" aria-label="History pages">
            <button type="button" id="history-newer">
              Newer
            </button>
            <span id="history-page" class="muted"></span>
            <button type="button" id="history-older">
              Older
            </button>
          </nav>
        </section>
      </main>
      <footer class="muted">
        scryp {deps.version} · The seed never leaves this browser. A page served by a server could be altered by that server: for a page from your own machine, run <code>scryp wallet</code>.
      </footer>
      <script type="module" src={`/wallet/script.js?v=${assetVersion}`} />
    </body>
  </html>
);
