// The status page's style sheet and script, compiled into the binary because the page must work on
// a node with no internet and nothing beside the binary: no CDN, no asset files, no build step. The
// node serves them at GET /page/style.css and /page/script.js (same origin), not inline, so that
// the page's Content-Security-Policy can forbid inline scripts and styles.

export const STATUS_PAGE_CSS = `
:root {
  color-scheme: light dark;
  --bg: #f5f6f8; --card: #fff; --text: #1c2330; --muted: #667085; --line: #e3e6eb; --soft: #f0f2f5;
  --alpha: #137a3b; --alpha-bg: #dcf5e4; --beta: #1f4fd1; --beta-bg: #dfe8fd;
  --blackout-bg: #eceef2; --now: #e59500; --now-bg: #fff6e0;
  --good: #137a3b; --good-bg: #dcf5e4; --warn: #9a5b00; --warn-bg: #fdf0d5; --bad: #b42318; --bad-bg: #fde4e1;
  --link: #1f4fd1;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1217; --card: #171b22; --text: #e6e9ee; --muted: #98a2b3; --line: #2a303a; --soft: #1e232c;
    --alpha: #6fdc98; --alpha-bg: #173a25; --beta: #93b2ff; --beta-bg: #1c2a4d;
    --blackout-bg: #20252e; --now: #f5b63c; --now-bg: #33290f;
    --good: #6fdc98; --good-bg: #173a25; --warn: #f5c46b; --warn-bg: #3a2c0c; --bad: #ff8a80; --bad-bg: #45191a;
    --link: #93b2ff;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
code, .mono { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.88em; }
code.id { word-break: break-all; }
a { color: var(--link); text-decoration: none; }
a:hover { text-decoration: underline; }
.top {
  display: flex; flex-wrap: wrap; gap: 6px 16px; align-items: center; justify-content: space-between;
  padding: 12px 20px; background: var(--card); border-bottom: 1px solid var(--line);
}
.brand { display: flex; flex-wrap: wrap; align-items: baseline; gap: 8px; }
.logo { font-weight: 700; font-size: 1.2em; letter-spacing: 0.02em; }
.top-right { display: flex; gap: 12px; align-items: center; font-size: 0.9em; }
.conn { font-size: 0.8em; font-weight: 600; padding: 2px 8px; border-radius: 999px; }
.conn.ok { color: var(--good); background: var(--good-bg); }
.conn.bad { color: var(--bad); background: var(--bad-bg); }
main { max-width: 1180px; margin: 0 auto; padding: 16px; display: flex; flex-direction: column; gap: 16px; }
.live { display: flex; flex-direction: column; gap: 16px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 16px; }
.two { display: grid; grid-template-columns: minmax(0, 2fr) minmax(0, 1fr); gap: 20px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 16px 18px; min-width: 0; }
.card-head { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: 4px 16px; }
h2 { font-size: 1.05em; margin: 0 0 10px; }
h3 { font-size: 0.8em; text-transform: uppercase; letter-spacing: 0.06em; color: var(--muted); margin: 16px 0 6px; font-weight: 600; }
.muted { color: var(--muted); }
.small-text { font-size: 0.88em; }
.good-text { color: var(--good); }
.bad-text { color: var(--bad); }
.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 6px 14px; margin: 0; }
.facts dt { color: var(--muted); font-size: 0.9em; }
.facts dd { margin: 0; min-width: 0; }
.badge { display: inline-block; font-size: 0.78em; font-weight: 600; padding: 1px 8px; border-radius: 999px; background: var(--soft); color: var(--muted); white-space: nowrap; }
.badge.good, .role-alpha, .vote-agrees, .pay-agreed, .ev-agreed { color: var(--good); background: var(--good-bg); }
.role-beta { color: var(--beta); background: var(--beta-bg); }
.badge.warn, .pay-pending, .vote-ahead, .ev-resync { color: var(--warn); background: var(--warn-bg); }
.badge.bad, .vote-disagrees, .ev-rollback, .ev-disagree { color: var(--bad); background: var(--bad-bg); }
.vote-missing { color: var(--muted); background: var(--soft); }
.you { font-size: 0.75em; color: var(--now); margin-left: 6px; font-weight: 600; }
.sub { display: block; font-size: 0.85em; color: var(--muted); }
.phone-only { display: none; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { font-size: 0.78em; color: var(--muted); font-weight: 600; }
table.small td { font-size: 0.92em; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
td.in { color: var(--good); }
.time { font-variant-numeric: tabular-nums; }
.offset-ok { color: var(--good); }
.offset-warn { color: var(--warn); }
.offset-bad, .offset-unknown { color: var(--bad); }
.votes, .events { list-style: none; margin: 0; padding: 0; }
.votes li { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; padding: 5px 0; border-bottom: 1px solid var(--line); }
.votes li .badge { margin-left: auto; }
.events li { display: grid; grid-template-columns: max-content max-content minmax(0, 1fr); gap: 8px; align-items: baseline; padding: 4px 0; font-size: 0.88em; }
.event-time { color: var(--muted); font-variant-numeric: tabular-nums; }
.countdown { margin: 0 0 10px; }
#countdown { font-variant-numeric: tabular-nums; font-size: 1.15em; }
table.schedule th, table.schedule td { text-align: center; }
table.schedule th:first-child, table.schedule td:first-child { text-align: left; }
/* Time and window take what they need; the servers share the rest. */
table.schedule th:first-child, table.schedule .col-window { width: 1%; }
table.schedule th:not(:first-child):not(.col-window) { min-width: 64px; }
.th-sub { display: block; font-weight: 400; font-size: 0.9em; }
th.self { color: var(--now); }
td.role { font-weight: 600; font-size: 0.9em; }
td.role.alpha { color: var(--alpha); background: var(--alpha-bg); }
td.role.beta { color: var(--beta); background: var(--beta-bg); }
td.role.alpha-beta { color: var(--alpha); background: linear-gradient(90deg, var(--alpha-bg) 50%, var(--beta-bg) 50%); }
td.role.none { color: var(--muted); font-weight: 400; }
tr.blackout td { background-image: repeating-linear-gradient(135deg, transparent 0 6px, var(--blackout-bg) 6px 12px); }
tr.now td { box-shadow: inset 0 2px 0 var(--now), inset 0 -2px 0 var(--now); }
tr.now td:first-child { box-shadow: inset 4px 0 0 var(--now), inset 0 2px 0 var(--now), inset 0 -2px 0 var(--now); background-color: var(--now-bg); }
.now-marker { color: var(--now); font-weight: 700; margin-right: 6px; }
.tag { display: inline-block; margin-left: 6px; font-size: 0.72em; padding: 0 6px; border-radius: 4px; background: var(--blackout-bg); color: var(--muted); }
.legend { margin: 10px 0 0; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; vertical-align: middle; }
.swatch.alpha { background: var(--alpha); }
.swatch.beta { background: var(--beta); }
.swatch.blackout { background: repeating-linear-gradient(135deg, var(--muted) 0 2px, transparent 2px 4px); }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: 10px; margin-bottom: 10px; }
.stat { background: var(--soft); border-radius: 8px; padding: 10px 12px; display: flex; flex-direction: column; min-width: 0; }
.stat-value { font-size: 1.3em; font-weight: 700; font-variant-numeric: tabular-nums; }
.stat-label { font-size: 0.8em; color: var(--muted); }
.stat-good .stat-value { color: var(--good); }
.stat-bad { background: var(--bad-bg); }
.stat-bad .stat-value { color: var(--bad); }
.search { display: flex; gap: 8px; margin-bottom: 12px; }
.search input {
  flex: 1; min-width: 0; font: inherit; font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 0.9em;
  padding: 8px 10px; border: 1px solid var(--line); border-radius: 8px; background: var(--bg); color: var(--text);
}
.search button {
  font: inherit; font-weight: 600; padding: 8px 16px; border-radius: 8px; border: 0; background: var(--text); color: var(--card); cursor: pointer;
}
.balance { font-size: 1.25em; }
.notice { margin: 0; }
footer { max-width: 1180px; margin: 0 auto; padding: 4px 20px 28px; font-size: 0.82em; }
@media (max-width: 760px) {
  body { font-size: 14px; }
  main { padding: 10px; gap: 10px; }
  .live { gap: 10px; }
  .grid { grid-template-columns: minmax(0, 1fr); gap: 10px; }
  .two { grid-template-columns: minmax(0, 1fr); }
  .card { padding: 12px; }
  .top { padding: 10px 12px; }
  th, td { padding: 5px 7px; }
  /* The schedule fits a phone for up to 3 servers: the window number and the blackout tag go
     (the hatching still marks a blackout), the servers get narrower. */
  table.schedule .col-window, table.schedule .tag { display: none; }
  table.schedule .th-sub { display: none; }
  table.schedule th:not(:first-child):not(.col-window) { min-width: 56px; }
  table.schedule th, table.schedule td { padding: 5px 4px; }
  table.schedule th:first-child, table.schedule td:first-child { padding-left: 10px; }
  .now-word { display: none; }
  /* Payments as stacked rows: id and amount, who to whom and status, then when. */
  table.payments thead { display: none; }
  table.payments tr {
    display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: 2px 10px;
    grid-template-areas: "id amount" "parties status" "time window";
    padding: 7px 0; border-bottom: 1px solid var(--line);
  }
  table.payments td { border: 0; padding: 0; white-space: normal; }
  table.payments .c-id { grid-area: id; }
  table.payments .c-amount { grid-area: amount; font-weight: 600; }
  table.payments .c-parties { grid-area: parties; }
  table.payments .c-status { grid-area: status; text-align: right; }
  table.payments .c-time { grid-area: time; color: var(--muted); font-size: 0.85em; }
  table.payments .c-window { grid-area: window; color: var(--muted); font-size: 0.85em; text-align: right; }
  .phone-only { display: inline; }
}
`;

/**
 * Swaps in fresh server-rendered parts (GET /page/live) every data-refresh-ms, ticks the
 * countdown against the server's clock (not the browser's), and runs the search in place
 * (GET /page/account/:id). Plain ES2017 with no dependencies; it only ever inserts HTML the
 * node rendered and escaped.
 */
export const STATUS_PAGE_SCRIPT = `
(function () {
  "use strict";
  var live = document.getElementById("live");
  var refreshMs = Number(live.getAttribute("data-refresh-ms")) || 2000;
  var connection = document.getElementById("connection");
  var updated = document.getElementById("updated");
  var form = document.getElementById("search-form");
  var input = document.getElementById("search-input");
  var result = document.getElementById("account-result");
  var serverMinusBrowserMs = 0;
  var switchAtMs = NaN;
  var busy = false;
  var lastRefreshMs = 0;
  var shownAccount = new URLSearchParams(location.search).get("account");

  function adopt(browserMs) {
    var part = live.querySelector(".live");
    if (!part) return;
    var serverNowMs = Number(part.getAttribute("data-now-ms"));
    serverMinusBrowserMs = serverNowMs - browserMs;
    switchAtMs = Number(part.getAttribute("data-switch-at-ms"));
    updated.textContent = new Date(serverNowMs).toISOString().slice(11, 19);
    tick();
  }

  function countdownText(ms) {
    var clamped = Math.max(0, ms);
    var totalSeconds = Math.floor(clamped / 1000);
    var rest = String(totalSeconds % 60);
    if (rest.length < 2) rest = "0" + rest;
    var text = Math.floor(totalSeconds / 60) + ":" + rest;
    return clamped < 10000 ? text + "." + Math.floor((clamped % 1000) / 100) : text;
  }

  function tick() {
    if (!isFinite(switchAtMs)) return;
    var leftMs = switchAtMs - (Date.now() + serverMinusBrowserMs);
    var el = document.getElementById("countdown");
    if (el) el.textContent = countdownText(leftMs);
    // At the switch, fetch the new parts at once (not more than twice a second).
    if (leftMs <= 0 && Date.now() - lastRefreshMs >= 500) refresh();
  }

  function setConnection(ok, text) {
    connection.textContent = text;
    connection.className = ok ? "conn ok" : "conn bad";
  }

  function get(path) {
    return fetch(path, { cache: "no-store" }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.text();
    });
  }

  function refresh() {
    if (busy) return;
    // Do not pull the page from under a reader who is selecting text.
    var selection = window.getSelection && window.getSelection();
    if (selection && String(selection).length > 0) return;
    busy = true;
    var sentMs = Date.now();
    lastRefreshMs = sentMs;
    get("/page/live")
      .then(function (html) {
        var receivedMs = Date.now();
        live.innerHTML = html;
        adopt((sentMs + receivedMs) / 2);
        setConnection(true, "live");
        if (shownAccount) return showAccount(shownAccount, false);
      })
      .catch(function () {
        setConnection(false, "offline: retrying");
      })
      .then(function () {
        busy = false;
      });
  }

  function showAccount(id, moveTo) {
    return get("/page/account/" + encodeURIComponent(id)).then(function (html) {
      result.innerHTML = html;
      shownAccount = id;
      if (moveTo) {
        history.replaceState(null, "", "/?account=" + encodeURIComponent(id));
        document.getElementById("search").scrollIntoView({ behavior: "smooth", block: "start" });
      }
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var id = input.value.trim();
    if (id === "") {
      result.innerHTML = "";
      shownAccount = null;
      history.replaceState(null, "", "/");
      return;
    }
    showAccount(id, true).catch(function () {
      setConnection(false, "offline: retrying");
    });
  });

  // Account ids anywhere on the page open their search result in place.
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a.account") : null;
    if (!link || event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    input.value = link.getAttribute("data-account");
    showAccount(input.value, true).catch(function () {
      setConnection(false, "offline: retrying");
    });
  });

  var navigation = performance.getEntriesByType && performance.getEntriesByType("navigation")[0];
  adopt(navigation ? performance.timeOrigin + navigation.responseStart : Date.now());
  setInterval(refresh, refreshMs);
  setInterval(tick, 100);
})();
`;
