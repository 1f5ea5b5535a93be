/** @jsxImportSource hono/jsx */
// The status page every node serves at GET /: rendered here with Hono's JSX, no front-end build.
// A small script (status-page-assets.ts) swaps in fresh server-rendered parts every REFRESH_MS and
// ticks the countdown; without JavaScript the page still works (search included), it just does not
// refresh by itself. Script and style sheet are served apart from the page, never inline, so that
// the page's Content-Security-Policy (http-guard.ts) can forbid every inline script and style.
//
// Routes: GET / (the page; ?account=ID adds a search result), GET /page/live and
// GET /page/account/:id (the parts the script swaps in), GET /page/script.js and
// GET /page/style.css, GET /status/peers (clock offsets, JSON), GET /payments/recent?limit= (JSON).
import { createHash } from "node:crypto";
import { Hono } from "hono";
import type { Child, FC } from "hono/jsx";
import { raw } from "hono/html";
import * as v from "valibot";
import { fromHex, toHex } from "../core/bytes.ts";
import { paymentToJson } from "../core/payment.ts";
import { SUPPLY, TRANSACTIONS_PAGE_DEFAULT } from "../core/limits.ts";
import type { Network } from "../core/network.ts";
import type { Clock } from "../core/clock.ts";
import type { Coordinator } from "../core/consensus/coordinator.ts";
import type { Ledger, StoredPayment } from "../ledger/ledger.ts";
import { sendError } from "./http-errors.ts";
import { PeerClocks, type PeerClocksSnapshot } from "./peer-clock.ts";
import { STATUS_PAGE_CSS, STATUS_PAGE_SCRIPT } from "./status-page-assets.ts";
import type { StorageStatus } from "./storage-monitor.ts";
import { scheduleOf } from "../core/network.ts";
import {
  groupDigits,
  offsetLevel,
  paymentStatus,
  scheduleRows,
  shortId,
  utcTime,
  voteVerdict,
  type ScheduleRow,
} from "./status-view.ts";

/** How often an open page asks for fresh parts. */
export const REFRESH_MS = 2_000;
/** Payments in the page's "recent payments" table. */
export const RECENT_PAYMENTS_SHOWN = 12;
/** GET /payments/recent: default and largest ?limit=. */
export const RECENT_PAYMENTS_DEFAULT = 20;
export const RECENT_PAYMENTS_MAX = 100;
/** Largest accounts listed. Finding them scans every balance: a few ms per 100,000 accounts. */
export const LARGEST_ACCOUNTS_SHOWN = 8;
/** Up to this many accounts the list is found again whenever the ledger changed... */
export const LARGEST_ACCOUNTS_SCAN_ALWAYS_MAX = 100_000;
/** ...beyond, at most this often, so open pages cannot keep a large node busy scanning. */
export const LARGEST_ACCOUNTS_REUSE_MS = 10_000;
/** Widths the schedule table grows to: its time and window columns, then each server's. */
const SCHEDULE_TIME_COLUMNS_PX = 260;
const SCHEDULE_SERVER_COLUMN_PX = 170;
/**
 * The script and style sheet: cached for a day, under a URL that names their content
 * (?v=<hash>), so that a node running a new version is never shown with an old script.
 */
const ASSET_CACHE_CONTROL = "public, max-age=86400, immutable";
/** Consensus events listed (the coordinator keeps the last 20). */
export const EVENTS_SHOWN = 8;

export type ConsensusStatus = ReturnType<Coordinator["status"]>;

export interface StatusPageDeps {
  readonly ledger: Ledger;
  readonly network: Network;
  readonly clock: Clock;
  readonly keyHex: string;
  readonly selfIndex: number;
  readonly version: string;
  /** The coordinator's view now: roles, agreed checkpoint, votes, recent events. */
  readonly status: (nowMs: number) => ConsensusStatus;
  /** Payments received and not committed yet. */
  readonly pendingCount?: () => number;
  /** Peer clock readings; by default measured over HTTP (src/node/peer-clock.ts). */
  readonly peerClocks?: PeerClocks;
  /** Whether the ledger's disk takes writes (src/node/storage-monitor.ts). */
  readonly storage?: () => StorageStatus;
}

interface LiveView {
  readonly nowMs: number;
  readonly keyHex: string;
  readonly version: string;
  readonly network: Network;
  readonly selfIndex: number;
  readonly status: ConsensusStatus;
  readonly clocks: PeerClocksSnapshot;
  readonly rows: ScheduleRow[];
  readonly withMs: boolean;
  readonly totals: ReturnType<Ledger["totals"]>;
  readonly pending: number | null;
  readonly storage: StorageStatus | null;
  readonly genesisTotal: number;
  readonly largest: { id: string; balance: number }[];
  readonly recent: StoredPayment[];
}

const LimitQuerySchema = v.object({
  limit: v.optional(
    v.pipe(v.string(), v.regex(/^\d{1,4}$/, "limit must be a whole number"), v.transform(Number), v.minValue(1, "limit must be at least 1"), v.maxValue(RECENT_PAYMENTS_MAX, `limit must be at most ${RECENT_PAYMENTS_MAX}`)),
    String(RECENT_PAYMENTS_DEFAULT),
  ),
});

export function createStatusPage(deps: StatusPageDeps): Hono {
  const app = new Hono();
  const clocks = deps.peerClocks ?? new PeerClocks(deps.network, deps.selfIndex, deps.clock);
  const schedule = scheduleOf(deps.network);
  const withMs = deps.network.intervalMs % 1000 !== 0 || deps.network.blackoutMs % 1000 !== 0;
  const genesisTotal = [...deps.network.genesis.values()].reduce((a, b) => a + b, 0);
  // The schedule table grows to the servers' columns and no wider (a lone server's column need not
  // span the page): a rule of this node's style sheet, as inline styles are forbidden.
  const css = `${STATUS_PAGE_CSS}table.schedule { max-width: ${SCHEDULE_TIME_COLUMNS_PX + deps.network.servers.length * SCHEDULE_SERVER_COLUMN_PX}px; }\n`;
  const assetVersion = createHash("sha256").update(css).update(STATUS_PAGE_SCRIPT).digest("hex").slice(0, 16);
  let largest: { atMs: number; stateHash: string; list: { id: string; balance: number }[] } | null = null;

  const largestAccounts = (nowMs: number, totals: ReturnType<Ledger["totals"]>) => {
    const stale = largest !== null && largest.stateHash !== totals.stateHash;
    const cheap = totals.accounts <= LARGEST_ACCOUNTS_SCAN_ALWAYS_MAX;
    if (largest === null || (stale && (cheap || nowMs - largest.atMs >= LARGEST_ACCOUNTS_REUSE_MS))) {
      const list = deps.ledger.largestAccounts(LARGEST_ACCOUNTS_SHOWN).map((a) => ({ id: toHex(a.id), balance: a.balance }));
      largest = { atMs: nowMs, stateHash: totals.stateHash, list };
    }
    return largest.list;
  };

  const liveView = async (): Promise<LiveView> => {
    const snapshot = await clocks.read();
    const nowMs = deps.clock.now();
    const totals = deps.ledger.totals();
    return {
      nowMs,
      keyHex: deps.keyHex,
      version: deps.version,
      network: deps.network,
      selfIndex: deps.selfIndex,
      status: deps.status(nowMs),
      clocks: snapshot,
      rows: scheduleRows(nowMs, schedule),
      withMs,
      totals,
      pending: deps.pendingCount?.() ?? null,
      storage: deps.storage?.() ?? null,
      genesisTotal,
      largest: largestAccounts(nowMs, totals),
      recent: deps.ledger.recentPayments(RECENT_PAYMENTS_SHOWN),
    };
  };

  const accountView = (idText: string): AccountView => {
    const idHex = idText.trim().toLowerCase();
    const id = fromHex(idHex, 32);
    if (id === null) return { kind: "invalid", query: idText };
    const balance = deps.ledger.balance(id);
    if (balance === undefined) return { kind: "unknown", id: idHex };
    const agreedWindow = deps.status(deps.clock.now()).agreed.window;
    const rows = deps.ledger.transactions(id, TRANSACTIONS_PAGE_DEFAULT + 1);
    return { kind: "found", id: idHex, balance, payments: rows.slice(0, TRANSACTIONS_PAGE_DEFAULT), more: rows.length > TRANSACTIONS_PAGE_DEFAULT, agreedWindow };
  };

  app.get("/", async (c) => {
    const query = c.req.query("account");
    const account = query === undefined || query.trim() === "" ? null : accountView(query);
    const view = await liveView();
    c.header("cache-control", "no-store");
    return c.html(
      <>
        {raw("<!doctype html>")}
        <Page view={view} account={account} query={query ?? ""} assetVersion={assetVersion} />
      </>,
    );
  });

  app.get("/page/live", async (c) => {
    c.header("cache-control", "no-store");
    return c.html(<Live view={await liveView()} />);
  });

  app.get("/page/account/:id", (c) => {
    const account = accountView(c.req.param("id"));
    c.header("cache-control", "no-store");
    // 200 even for a bad or unknown id: this is a part of the page, and its text says what is wrong
    // (the JSON API answers 400 and 404).
    return c.html(<AccountResult account={account} withMs={withMs} />);
  });

  app.get("/page/style.css", (c) => c.body(css, 200, { "content-type": "text/css; charset=utf-8", "cache-control": ASSET_CACHE_CONTROL }));
  app.get("/page/script.js", (c) => c.body(STATUS_PAGE_SCRIPT, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": ASSET_CACHE_CONTROL }));

  app.get("/status/peers", async (c) => {
    const snapshot = await clocks.read();
    return c.json({ skewMs: deps.network.skewMs, ...snapshot });
  });

  app.get("/payments/recent", (c) => {
    const query = v.safeParse(LimitQuerySchema, c.req.query());
    if (!query.success) return sendError(c, "BAD_REQUEST", query.issues[0].message);
    const agreedWindow = deps.status(deps.clock.now()).agreed.window;
    return c.json({
      agreed: agreedWindow,
      payments: deps.ledger.recentPayments(query.output.limit).map((s) => ({
        ...paymentToJson(s.payment),
        seq: s.seq,
        window: s.window,
        acceptedAt: s.acceptedAtMs,
        status: paymentStatus(s.window, agreedWindow),
      })),
    });
  });

  return app;
}

// ---- Components ------------------------------------------------------------------------------

type AccountView =
  | { kind: "invalid"; query: string }
  | { kind: "unknown"; id: string }
  | { kind: "found"; id: string; balance: number; payments: StoredPayment[]; more: boolean; agreedWindow: number };

const Page: FC<{ view: LiveView; account: AccountView | null; query: string; assetVersion: string }> = ({ view, account, query, assetVersion }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>scryp · {shortId(view.keyHex)}</title>
      {/* No favicon request: the page loads nothing but itself. */}
      <link rel="icon" href="data:," />
      <link rel="stylesheet" href={`/page/style.css?v=${assetVersion}`} />
    </head>
    <body>
      <header class="top">
        <div class="brand">
          <span class="logo">scryp</span>
          <span class="muted">status of node</span> <code title={view.keyHex}>{shortId(view.keyHex)}</code>
        </div>
        <div class="top-right">
          <span id="connection" class="conn ok" role="status">
            live
          </span>
          <span class="muted">
            updated <span id="updated">{utcTime(view.nowMs, false)}</span> UTC
          </span>
        </div>
      </header>
      <main>
        <div id="live" data-refresh-ms={String(REFRESH_MS)}>
          <Live view={view} />
        </div>
        <section class="card" id="search" aria-labelledby="search-title">
          <h2 id="search-title">Look up an account</h2>
          <form id="search-form" method="get" action="/" class="search">
            <input
              id="search-input"
              name="account"
              type="search"
              value={query}
              placeholder="account id: 64 hex digits"
              autocomplete="off"
              spellcheck={false}
              aria-label="account id"
            />
            <button type="submit">Search</button>
          </form>
          <div id="account-result">{account === null ? null : <AccountResult account={account} withMs={view.withMs} />}</div>
        </section>
      </main>
      <footer class="muted">
        scryp {view.version} · {view.network.servers.length} server(s) · windows of {seconds(view.network.intervalMs)}, blackout{" "}
        {seconds(view.network.blackoutMs)}, skew ±{seconds(view.network.skewMs)} · JSON: <a href="/status">/status</a> ·{" "}
        <a href="/status/peers">/status/peers</a> · <a href="/payments/recent">/payments/recent</a> · <a href="/network">/network</a> · <a href="/wallet">wallet</a>
      </footer>
      <script src={`/page/script.js?v=${assetVersion}`} />
    </body>
  </html>
);

/** The parts that refresh: everything but the search. */
const Live: FC<{ view: LiveView }> = ({ view }) => (
  <div class="live" data-now-ms={String(view.nowMs)} data-switch-at-ms={String(view.rows[1]?.atMs ?? "")}>
    <div class="grid">
      <NodeCard view={view} />
      <ConsensusCard view={view} />
    </div>
    <ScheduleCard view={view} />
    <LedgerCard view={view} />
  </div>
);

/** The disk: a visible warning while it refuses writes (and so this node refuses payments). */
const StorageLine: FC<{ storage: StorageStatus }> = ({ storage }) => {
  const free = storage.freeBytes === null ? "free space unknown" : `${formatBytes(storage.freeBytes)} free`;
  return (
    <>
      <dt>storage</dt>
      <dd id="storage" data-ok={String(storage.ok)}>
        {storage.ok ? (
          <span class="badge good">writing</span>
        ) : (
          <>
            <span class="badge bad">failing</span>{" "}
            <span class="bad-text">
              since {new Date(storage.sinceMs ?? 0).toISOString()}: {storage.error}; not accepting payments until the disk takes writes again
            </span>
          </>
        )}{" "}
        <span class="muted">{free}</span>
      </dd>
    </>
  );
};

function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

const NodeCard: FC<{ view: LiveView }> = ({ view }) => {
  const s = view.status;
  return (
    <section class="card" id="node" aria-labelledby="node-title">
      <h2 id="node-title">This node</h2>
      <dl class="facts">
        <dt>key</dt>
        <dd>
          <code class="id" id="node-key">
            {view.keyHex}
          </code>
        </dd>
        <dt>address</dt>
        <dd>{view.network.servers[view.selfIndex]?.address}</dd>
        <dt>role now</dt>
        <dd>
          <span id="role" class={`badge role-${s.role}`} data-role={s.role}>
            {s.role}
          </span>{" "}
          {s.accepting ? <span class="badge good">accepting payments</span> : <span class="badge muted-badge">not accepting</span>}
          {s.syncing ? <span class="badge warn"> catching up</span> : null}
        </dd>
        {view.storage === null ? null : <StorageLine storage={view.storage} />}
        <dt>alpha now</dt>
        <dd>
          {s.alpha === null ? (
            <span id="alpha" data-key="">
              none: blackout
            </span>
          ) : (
            <span id="alpha" data-key={s.alpha}>
              <code title={s.alpha}>{shortId(s.alpha)}</code> {serverLabel(view, s.alpha)}
            </span>
          )}
        </dd>
        <dt>clock</dt>
        <dd>
          {new Date(view.nowMs).toISOString().replace("T", " ").slice(0, 23)} UTC
        </dd>
      </dl>
      <h3>Clock offset to peers</h3>
      <div class="scroll">
        <table class="small">
          <thead>
            <tr>
              <th>server</th>
              <th class="num">offset</th>
              <th class="num">round trip</th>
            </tr>
          </thead>
          <tbody>
            {view.clocks.peers.map((p, i) => (
              <tr>
                <td>
                  <code title={p.key}>{`${i + 1}. ${shortId(p.key)}`}</code>
                  {p.self ? <span class="you">this node</span> : null}
                  <span class="sub">{p.address}</span>
                </td>
                <td class={`num offset-${offsetLevel(p.offsetMs, view.network.skewMs)}`}>
                  {p.self ? "—" : p.offsetMs === null ? <span title={p.error ?? ""}>unreachable</span> : signedMs(p.offsetMs)}
                </td>
                <td class="num">{p.self || p.roundTripMs === null ? "—" : `${p.roundTripMs} ms`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {view.clocks.peers.length === 1 ? <p class="muted small-text">A one-server network: no peers to compare with.</p> : null}
    </section>
  );
};

const ConsensusCard: FC<{ view: LiveView }> = ({ view }) => {
  const s = view.status;
  const agreed = s.agreed;
  const trouble = s.recent.filter((e) => e.kind !== "agreed");
  const agreedEvent = s.recent.find((e) => e.kind === "agreed" && e.window === agreed.window);
  return (
    <section class="card" id="consensus" aria-labelledby="consensus-title">
      <h2 id="consensus-title">Consensus</h2>
      <dl class="facts">
        <dt>last agreed</dt>
        <dd>
          <span id="agreed-window">{agreed.window < 0 ? "genesis" : `window ${agreed.window}`}</span>
          {agreedEvent ? <span class="muted"> · agreed at {utcTime(agreedEvent.atMs, view.withMs)} UTC</span> : null}
        </dd>
        <dt>hash</dt>
        <dd>
          <code class="id" id="agreed-hash">
            {agreed.hash}
          </code>
        </dd>
        <dt>last final</dt>
        <dd id="final-window">
          {s.final.window < 0 ? "none known yet" : `window ${s.final.window}`}
          <span class="muted"> · {s.final.quorum} of {s.peers.length} servers</span>
        </dd>
      </dl>
      {s.equivocations.length === 0 ? null : (
        <p class="bad-text" id="equivocations" role="alert">
          {s.equivocations.map((e) => (
            <span>
              Server <code title={e.server}>{shortId(e.server)}</code> ({e.address}) signed two conflicting messages for window {e.window} (two votes, two handovers, or relays that contradict each other or the handover): it is
              faulty or its key is compromised; its votes of that window do not count.{" "}
            </span>
          ))}
        </p>
      )}
      <h3>Votes on window {agreed.window < 0 ? "—" : agreed.window}</h3>
      <ul class="votes">
        {s.peers.map((p, i) => {
          const verdict = voteVerdict(p.lastVote, agreed);
          return (
            <li data-key={p.key} data-verdict={verdict}>
              <code title={p.key}>{`${i + 1}. ${shortId(p.key)}`}</code>
              {i === view.selfIndex ? <span class="you">this node</span> : null}
              <span class={`badge vote-${verdict}`}>{verdict === "ahead" ? `voted window ${p.lastVote?.window}` : verdict}</span>
              {p.lastVote !== null && verdict !== "agrees" && verdict !== "ahead" ? (
                <span class="muted small-text"> last vote: window {p.lastVote.window}</span>
              ) : null}
            </li>
          );
        })}
      </ul>
      <h3>Recent events</h3>
      <p class="small-text" id="trouble">
        {trouble.length === 0 ? (
          <span class="good-text">No rollback, resync or disagreement in the recent windows.</span>
        ) : (
          <span class="bad-text">
            {count(trouble, "rollback")} rollback(s), {count(trouble, "resync")} resync(s), {count(trouble, "disagree")} disagreement(s) in
            the recent windows.
          </span>
        )}
      </p>
      {s.recent.length === 0 ? (
        <p class="muted small-text">No consensus events yet.</p>
      ) : (
        <ul class="events">
          {s.recent.slice(0, EVENTS_SHOWN).map((e) => (
            <li class={`event-${e.kind}`}>
              <span class="event-time">{utcTime(e.atMs, view.withMs)}</span>
              <span class={`badge ev-${e.kind}`}>{e.kind}</span>
              <span>
                window {e.window}: {e.detail}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
};

const ScheduleCard: FC<{ view: LiveView }> = ({ view }) => {
  const next = view.rows[1];
  return (
    <section class="card" id="schedule" aria-labelledby="schedule-title">
      <div class="card-head">
        <h2 id="schedule-title">Schedule</h2>
        <p class="countdown">
          next switch in <strong id="countdown">{next ? countdownText(next.atMs - view.nowMs) : "—"}</strong>
          {next ? <span class="muted"> at {utcTime(next.atMs, view.withMs)} UTC</span> : null}
        </p>
      </div>
      <div class="scroll">
        {/* As wide as the servers need: a rule of the node's style sheet (GET /page/style.css). */}
        <table class="schedule">
          <thead>
            <tr>
              <th>time (UTC)</th>
              <th class="col-window">window</th>
              {view.network.servers.map((s, i) => (
                <th class={i === view.selfIndex ? "self" : ""} title={s.keyHex}>
                  server {i + 1}
                  <span class="th-sub">{i === view.selfIndex ? "this node" : shortId(s.keyHex)}</span>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {view.rows.map((row, r) => (
              <tr class={`${r === 0 ? "now" : ""} ${row.blackout ? "blackout" : ""}`.trim()}>
                <td class="time">
                  {r === 0 ? (
                    <span class="now-marker">
                      <span class="now-word">now </span>▸
                    </span>
                  ) : null}
                  {utcTime(row.atMs, view.withMs)}
                  {row.blackout ? <span class="tag">blackout</span> : null}
                </td>
                <td class="col-window">{row.window}</td>
                {row.roles.map((role, i) => (
                  <td class={`role ${role === "" ? "none" : role.replace(" ", "-")} ${i === view.selfIndex ? "self" : ""}`.trim()}>
                    {role === "" ? "-" : role === "alpha beta" ? "alpha · beta" : role}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="muted small-text legend">
        <span class="swatch alpha" /> alpha accepts payments · <span class="swatch beta" /> beta hands over the window it accepted ·{" "}
        <span class="swatch blackout" /> blackout: the alpha stops {seconds(view.network.blackoutMs)} before its window ends
        {view.network.servers.length === 1 ? " (a lone server accepts on, for the next window)" : ""}.
      </p>
    </section>
  );
};

const LedgerCard: FC<{ view: LiveView }> = ({ view }) => {
  const t = view.totals;
  const supplyOk = t.supply === view.genesisTotal;
  const agreedWindow = view.status.agreed.window;
  return (
    <section class="card" id="ledger" aria-labelledby="ledger-title">
      <h2 id="ledger-title">Ledger</h2>
      <div class="stats">
        <div class="stat">
          <span class="stat-value" id="accounts-count">
            {groupDigits(t.accounts)}
          </span>
          <span class="stat-label">accounts</span>
        </div>
        <div class="stat">
          <span class="stat-value" id="payments-count">
            {groupDigits(t.payments)}
          </span>
          <span class="stat-label">payments</span>
        </div>
        <div class="stat">
          <span class="stat-value">{view.pending === null ? "—" : groupDigits(view.pending)}</span>
          <span class="stat-label">queued to commit</span>
        </div>
        <div class={`stat ${supplyOk ? "stat-good" : "stat-bad"}`} id="supply-check" data-ok={String(supplyOk)}>
          <span class="stat-value">{supplyOk ? "✓ supply" : "✗ supply"}</span>
          <span class="stat-label">
            balances sum to {groupDigits(t.supply)}
            {supplyOk ? (view.genesisTotal === SUPPLY ? " = 2³²−1" : " = genesis") : ` ≠ genesis ${groupDigits(view.genesisTotal)}`}
          </span>
        </div>
      </div>
      <p class="small-text">
        state hash <code class="id">{t.stateHash}</code>
      </p>
      <div class="two">
        <div>
          <h3>Recent payments</h3>
          {view.recent.length === 0 ? (
            <p class="muted small-text" id="no-payments">
              No payments yet.
            </p>
          ) : (
            <PaymentTable payments={view.recent} agreedWindow={agreedWindow} withMs={view.withMs} />
          )}
        </div>
        <div>
          <h3>Largest accounts</h3>
          <div class="scroll">
            <table class="small">
              <thead>
                <tr>
                  <th>account</th>
                  <th class="num">balance</th>
                </tr>
              </thead>
              <tbody>
                {view.largest.map((a) => (
                  <tr>
                    <td>
                      <AccountLink id={a.id} />
                    </td>
                    <td class="num">{groupDigits(a.balance)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      </div>
    </section>
  );
};

const PaymentTable: FC<{ payments: StoredPayment[]; agreedWindow: number; withMs: boolean; account?: string }> = ({
  payments,
  agreedWindow,
  withMs,
  account,
}) => (
  <div class="scroll">
    <table class="small payments">
      <thead>
        <tr>
          <th>accepted (UTC)</th>
          <th>payment</th>
          <th>{account === undefined ? "payer → payee" : "with"}</th>
          <th class="num">amount</th>
          <th>window</th>
          <th>status</th>
        </tr>
      </thead>
      <tbody>
        {payments.map((s) => {
          const json = paymentToJson(s.payment);
          const status = paymentStatus(s.window, agreedWindow);
          const outgoing = account !== undefined && json.payer === account;
          return (
            <tr data-payment={json.id}>
              <td class="c-time time">{utcTime(s.acceptedAtMs, withMs)}</td>
              <td class="c-id">
                <a href={`/tx/${json.id}`} title={json.id}>
                  <code>{shortId(json.id)}</code>
                </a>
              </td>
              <td class="c-parties">
                {account === undefined ? (
                  <>
                    <AccountLink id={json.payer} />
                    <span class="muted"> → </span>
                    <AccountLink id={json.payee} />
                  </>
                ) : (
                  <>
                    <span class="muted">{outgoing ? "to " : "from "}</span>
                    <AccountLink id={outgoing ? json.payee : json.payer} />
                  </>
                )}
              </td>
              <td class={`c-amount num ${account === undefined ? "" : outgoing ? "out" : "in"}`.trim()}>
                {account === undefined ? "" : outgoing ? "−" : "+"}
                {groupDigits(json.amount)}
              </td>
              <td class="c-window">
                <span class="phone-only muted">window </span>
                {s.window}
              </td>
              <td class="c-status">
                <span class={`badge pay-${status}`}>{status}</span>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  </div>
);

const AccountResult: FC<{ account: AccountView; withMs: boolean }> = ({ account, withMs }) => {
  if (account.kind === "invalid") {
    return (
      <p class="notice bad-text" data-result="invalid">
        “{account.query.slice(0, 80)}” is not an account id: an account id is 64 hex digits.
      </p>
    );
  }
  if (account.kind === "unknown") {
    return (
      <p class="notice" data-result="unknown">
        No account <code class="id">{account.id}</code> on this node: it never received a payment.
      </p>
    );
  }
  return (
    <div data-result="found" data-account={account.id}>
      <dl class="facts">
        <dt>account</dt>
        <dd>
          <code class="id">{account.id}</code>
        </dd>
        <dt>balance</dt>
        <dd>
          <strong class="balance" id="account-balance" data-balance={String(account.balance)}>
            {groupDigits(account.balance)} scryp
          </strong>
        </dd>
      </dl>
      {account.payments.length === 0 ? (
        <p class="muted small-text">No payments (its balance comes from genesis).</p>
      ) : (
        <>
          <PaymentTable payments={account.payments} agreedWindow={account.agreedWindow} withMs={withMs} account={account.id} />
          {account.more ? (
            <p class="muted small-text">
              The latest {TRANSACTIONS_PAGE_DEFAULT} payments; older ones: <a href={`/accounts/${account.id}/transactions`}>/accounts/…/transactions</a>.
            </p>
          ) : null}
        </>
      )}
    </div>
  );
};

const AccountLink: FC<{ id: string }> = ({ id }) => (
  <a class="account" href={`/?account=${id}`} data-account={id} title={id}>
    <code>{shortId(id)}</code>
  </a>
);

// ---- Formatting ------------------------------------------------------------------------------

function serverLabel(view: LiveView, keyHex: string): Child {
  const i = view.network.servers.findIndex((s) => s.keyHex === keyHex);
  if (i < 0) return null;
  return <span class="muted">(server {i + 1}{i === view.selfIndex ? ", this node" : ""})</span>;
}

function count(events: readonly { kind: string }[], kind: string): number {
  return events.filter((e) => e.kind === kind).length;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

function signedMs(ms: number): string {
  return `${ms > 0 ? "+" : ms < 0 ? "−" : "±"}${groupDigits(Math.abs(ms))} ms`;
}

/** "1:05" or "0:03.2": the script keeps it ticking between refreshes. */
export function countdownText(ms: number): string {
  const clamped = Math.max(0, ms);
  const totalSeconds = Math.floor(clamped / 1000);
  const minutes = Math.floor(totalSeconds / 60);
  const rest = String(totalSeconds % 60).padStart(2, "0");
  return clamped < 10_000 ? `${minutes}:${rest}.${Math.floor((clamped % 1000) / 100)}` : `${minutes}:${rest}`;
}
