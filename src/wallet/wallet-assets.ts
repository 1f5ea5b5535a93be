// The wallet page's style sheet and script, served apart from the page (never inline) so that its
// Content-Security-Policy forbids every inline script and style. The script is src/wallet/browser/
// bundled at build time (bundle-macro.ts); no front-end build step, nothing from outside the node.
import { walletScriptBundle } from "./bundle-macro.ts" with { type: "macro" };

export const WALLET_SCRIPT: string = walletScriptBundle();

export const WALLET_CSS = `
:root {
  color-scheme: light dark;
  --bg: #f5f6f8; --card: #fff; --text: #1c2330; --muted: #667085; --line: #d5d9e0; --soft: #f0f2f5;
  --good: #137a3b; --good-bg: #dcf5e4; --warn: #9a5b00; --warn-bg: #fdf0d5; --bad: #b42318; --bad-bg: #fde4e1;
  --accent: #1f4fd1; --accent-text: #fff;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1217; --card: #171b22; --text: #e6e9ee; --muted: #98a2b3; --line: #343b47; --soft: #1e232c;
    --good: #6fdc98; --good-bg: #173a25; --warn: #f5c46b; --warn-bg: #3a2c0c; --bad: #ff8a80; --bad-bg: #45191a;
    --accent: #93b2ff; --accent-text: #0f1217;
  }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--text); font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.88em; }
code.id { word-break: break-all; }
a { color: var(--accent); }
.top { display: flex; flex-wrap: wrap; gap: 4px 16px; align-items: baseline; justify-content: space-between; padding: 12px 16px; background: var(--card); border-bottom: 1px solid var(--line); }
.logo { font-weight: 700; font-size: 1.2em; }
.muted { color: var(--muted); }
main { max-width: 1080px; margin: 0 auto; padding: 16px; display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 16px; align-items: start; }
main > .wide { grid-column: 1 / -1; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 16px; min-width: 0; }
h2 { margin: 0 0 12px; font-size: 1.1em; }
h3 { margin: 16px 0 8px; font-size: 1em; }
.setup-choices { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 16px; }
form { display: flex; flex-direction: column; gap: 8px; margin: 0; }
label { font-weight: 600; font-size: 0.92em; }
input[type=text], input[type=password], input:not([type]), input[type=file] {
  font: inherit; width: 100%; padding: 9px 10px; border: 1px solid var(--line); border-radius: 8px; background: var(--bg); color: var(--text); min-width: 0;
}
input.mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 0.9em; }
button { font: inherit; font-weight: 600; padding: 9px 16px; border-radius: 8px; border: 1px solid var(--line); background: var(--soft); color: var(--text); cursor: pointer; }
button.primary { background: var(--accent); color: var(--accent-text); border-color: var(--accent); }
button:disabled { opacity: 0.5; cursor: default; }
.row { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
.field-row { display: flex; gap: 8px; }
.field-row input { flex: 1; }
.message { margin: 4px 0 0; min-height: 1.2em; }
.message.error, .error { color: var(--bad); }
.message.info { color: var(--good); }
.warning { background: var(--warn-bg); color: var(--warn); border-radius: 8px; padding: 10px 12px; margin: 12px 0 0; }
.notice { background: var(--bad-bg); color: var(--bad); border-radius: 8px; padding: 10px 12px; margin: 0; }
.balance { font-size: 2em; font-weight: 700; font-variant-numeric: tabular-nums; margin: 0; }
.notes { margin: 6px 0 0; padding-left: 18px; color: var(--warn); font-size: 0.92em; }
.confirm { border: 2px solid var(--accent); border-radius: 10px; padding: 12px; margin-top: 12px; }
.steps { margin: 12px 0 0; padding-left: 22px; }
.steps li { margin: 2px 0; }
.steps li.done::marker { color: var(--good); }
.steps li.bad { color: var(--bad); }
.qr { width: 220px; max-width: 100%; height: auto; background: #fff; margin-top: 8px; display: block; }
.qr path { fill: #000; }
.scanner video { width: 100%; max-width: 320px; border-radius: 8px; background: #000; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 0.8em; color: var(--muted); font-weight: 600; }
td.amount { text-align: right; white-space: nowrap; font-weight: 600; }
td.amount.in { color: var(--good); }
.badge { display: inline-block; font-size: 0.8em; font-weight: 600; padding: 1px 8px; border-radius: 999px; background: var(--soft); }
.badge.agreed, .badge.final { color: var(--good); background: var(--good-bg); }
.badge.pending { color: var(--warn); background: var(--warn-bg); }
.badge.disappeared { color: var(--bad); background: var(--bad-bg); }
.pager { display: flex; gap: 8px; align-items: center; justify-content: flex-end; margin-top: 8px; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
footer { max-width: 1080px; margin: 0 auto; padding: 0 16px 24px; font-size: 0.85em; }
@media (max-width: 760px) {
  main { grid-template-columns: minmax(0, 1fr); padding: 10px; gap: 10px; }
  .setup-choices { grid-template-columns: minmax(0, 1fr); }
  .card { padding: 12px; }
  /* History rows stack: amount and status, then the other account, then when. */
  table.history thead { display: none; }
  table.history tr { display: grid; grid-template-columns: minmax(0, 1fr) auto; grid-template-areas: "amount status" "other other" "time time"; padding: 6px 0; border-bottom: 1px solid var(--line); }
  table.history td { border: 0; padding: 0; }
  table.history .c-time { grid-area: time; color: var(--muted); font-size: 0.85em; }
  table.history .c-amount { grid-area: amount; text-align: left; }
  table.history .c-other { grid-area: other; }
  table.history .c-status { grid-area: status; text-align: right; }
}
`;
