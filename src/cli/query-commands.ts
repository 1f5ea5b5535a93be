// The payer's questions: history (an account's payments), tx (one payment's lifecycle), status
// (the network now), request (a payment request to hand a payer). Thin: the servers are asked by
// src/client/server-answers.ts, what their answers mean is decided by the pure functions beside it,
// and this file only prints. Each takes --json (output.ts).
import { renderUnicodeCompact } from "uqr";
import * as v from "valibot";
import { parse, value, UsageError, AmountSchema, NonEmptySchema } from "./args.ts";
import { JSON_OPTION, Output } from "./output.ts";
import { TARGET_OPTIONS, accountFrom, seedPathFrom, targetFrom } from "./client-commands.ts";
import { DEFAULT_DATA_DIR } from "./node-command.ts";
import { NETWORK_FILE_NAME } from "../node/run-node.ts";
import { systemClock } from "../core/clock.ts";
import { toHex } from "../core/bytes.ts";
import { TRANSACTIONS_PAGE_MAX } from "../core/limits.ts";
import { formatPaymentRequest } from "../core/payment-request.ts";
import { readNetworkFile } from "../io/network-file.ts";
import { loadSeed } from "../io/seed-file.ts";
import { nodeEntry, type Target } from "../client/target.ts";
import { askHistory, askStatus, askTx, type Asked } from "../client/server-answers.ts";
import { mergeHistory } from "../client/history.ts";
import { paymentLifecycle } from "../client/payment-lifecycle.ts";
import { networkStatus, type ServerRef } from "../client/network-status.ts";
import { join } from "node:path";

/** `history` shows this many payments unless --limit says otherwise. */
export const HISTORY_LIMIT_DEFAULT = 20;

const LimitSchema = v.pipe(
  v.string(),
  v.regex(/^\d{1,4}$/, "must be a whole number"),
  v.transform(Number),
  v.minValue(1, `must be 1 to ${TRANSACTIONS_PAGE_MAX}`),
  // A server answers at most one page of this many; more would need paging every server.
  v.maxValue(TRANSACTIONS_PAGE_MAX, `must be 1 to ${TRANSACTIONS_PAGE_MAX}`),
);
const PaymentIdSchema = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, "must be a payment id: 64 lowercase hex digits"));


const iso = (ms: number) => new Date(ms).toISOString();
const short = (hex: string) => `${hex.slice(0, 8)}…${hex.slice(-4)}`;
const serversOf = (target: Target) => (target.kind === "node" ? [nodeEntry(target.url)] : target.network.servers);

/** Every server asked failed: the command has nothing to report. */
function noServerAnswered(o: Output, asked: readonly ({ server: string } & Asked<object>)[]): number {
  const reasons = asked.map((a) => (a.kind === "error" ? `${a.server}: ${a.message}` : a.server)).join("; ");
  return o.fail({ code: "UNREACHABLE", message: `no server answered (${reasons})` });
}

function noteUnanswered(o: Output, asked: readonly ({ server: string } & Asked<object>)[]): void {
  for (const a of asked) if (a.kind === "error") o.note(`server ${a.server} did not answer: ${a.message}`);
}

export async function historyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...TARGET_OPTIONS, limit: { type: "string" } }, 1);
  if (values.help) return -1;
  const o = new Output(values.json === true);
  const limit = values.limit === undefined ? HISTORY_LIMIT_DEFAULT : value(LimitSchema, values.limit, "--limit");
  const idHex = accountFrom(positionals[0], values);
  const target = targetFrom(values);
  const servers = serversOf(target);
  const asked = await Promise.all(servers.map((s) => askHistory(s, idHex, limit, systemClock)));
  const history = mergeHistory(idHex, asked, servers.length, limit);
  if (history.answered === 0) return noServerAnswered(o, asked);
  noteUnanswered(o, asked);
  if (!history.known) {
    return o.fail({ code: "UNKNOWN_ACCOUNT", message: `account ${idHex} is unknown to the servers: it has never received or made a payment` });
  }
  o.document({
    id: idHex,
    limit,
    payments: history.payments,
    servers: asked.map((a) => (a.kind === "answer" ? { server: a.server, reachable: true } : { server: a.server, reachable: false, error: a.message })),
  });
  if (history.payments.length === 0) {
    o.line(`no payments of account ${idHex} (its balance is from the genesis)`);
    return 0;
  }
  o.line(`payments of account ${idHex}, newest first (${history.payments.length} shown, at most ${limit}):`);
  for (const p of history.payments) {
    const signed = p.direction === "in" ? `+${p.amount}` : `-${p.amount}`;
    const other = p.direction === "in" ? `from ${short(p.payer)}` : `to ${short(p.payee)}`;
    o.line(`${iso(p.timestamp)}  ${signed.padStart(11)}  ${other}  ${p.status.padEnd(11)}  window ${p.window}  ${p.id}`);
  }
  return 0;
}

export async function txCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { network: TARGET_OPTIONS.network, node: TARGET_OPTIONS.node, ...JSON_OPTION }, 1);
  if (values.help) return -1;
  const o = new Output(values.json === true);
  if (positionals[0] === undefined) throw new UsageError("tx needs a payment ID");
  const idHex = value(PaymentIdSchema, positionals[0], "ID");
  const target = targetFrom(values);
  const servers = serversOf(target);
  const asked = await Promise.all(servers.map((s) => askTx(s, idHex, systemClock)));
  const lifecycle = paymentLifecycle(asked, servers.length);
  if (asked.every((a) => a.kind === "error")) return noServerAnswered(o, asked);
  noteUnanswered(o, asked);
  if (lifecycle.kind === "not-found") {
    return o.fail({
      code: "NOT_FOUND",
      message: `no server holds payment ${idHex} (${lifecycle.answered} of ${servers.length} answered): it was never accepted, or it disappeared with a window that found no consensus`,
    });
  }
  const p = lifecycle.payment;
  const { state, holding, agreedWith, agreedWithout, of } = lifecycle;
  o.document({ id: idHex, payment: p, state, final: lifecycle.final, finalWith: lifecycle.finalWith, holding, agreedWith, agreedWithout, of, servers: lifecycle.servers });
  o.line(`payment ${idHex}`);
  o.line(`  ${p.amount} scryp from ${p.payer} to ${p.payee}`);
  o.line(`  signed at ${iso(p.timestamp)}, window ${p.window}`);
  if (state === "agreed") o.line(`agreed: ${agreedWith} of ${of} servers hold it in an agreed checkpoint`);
  else if (state === "disappeared") o.line(`disappeared: ${agreedWithout} of ${of} servers agreed on window ${p.window} or later without it; it can never apply (pay again)`);
  else o.line(`pending: ${holding} of ${of} servers hold it; window ${p.window} is not agreed by a majority yet`);
  o.line(lifecycle.final ? `final: ${lifecycle.finalWith} of ${of} servers report its window final` : `not final yet: ${lifecycle.finalWith} of ${of} servers report its window final (a majority is needed)`);
  for (const s of lifecycle.servers) {
    if (!s.reachable) o.line(`  ${s.server}  did not answer: ${s.error}`);
    else if (s.holds) o.line(`  ${s.server}  holds it (accepted ${iso(s.acceptedAt!)}), agreed up to window ${s.agreedWindow}`);
    else o.line(`  ${s.server}  does not hold it, agreed up to window ${s.agreedWindow}`);
  }
  return 0;
}

export async function statusCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { network: { type: "string" }, ...JSON_OPTION }, 0);
  if (values.help) return -1;
  const o = new Output(values.json === true);
  const path = values.network === undefined ? join(DEFAULT_DATA_DIR, NETWORK_FILE_NAME) : value(NonEmptySchema, values.network, "--network");
  const network = readNetworkFile(path);
  const asked = await Promise.all(network.servers.map((s) => askStatus(s, systemClock)));
  if (asked.every((a) => a.kind === "error")) return noServerAnswered(o, asked);
  const view = networkStatus(network, systemClock.now(), asked);
  o.document(view);
  const name = (r: ServerRef | null) => (r === null ? "none" : `${r.address} (${short(r.key)})`);
  const secondsText = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  o.line(`network: ${view.of} server(s), interval ${secondsText(network.intervalMs)}, blackout ${secondsText(network.blackoutMs)}, skew ${secondsText(network.skewMs)}`);
  o.line(`now ${iso(view.nowMs)}: window ${view.window}${view.blackout ? " (blackout)" : ""}, alpha ${name(view.alpha)}, beta ${name(view.beta)}`);
  const next = view.nextSwitch;
  o.line(
    `next switch in ${secondsText(next.inMs)} (${iso(next.atMs)}): ${next.blackout ? `blackout of window ${next.window}` : `window ${next.window} starts`}; then alpha ${name(next.alpha)}, beta ${name(next.beta)}`,
  );
  o.line(view.agreed === null ? "last agreed: none reported" : `last agreed: window ${view.agreed.window}, hash ${short(view.agreed.hash)} (${view.agreed.servers} of ${view.of} servers at it)`);
  o.line(view.final === null ? "last final: none reported by a majority" : `last final: window ${view.final.window} (${view.final.servers} of ${view.of} servers report it)`);
  for (const s of view.servers) {
    if (!s.reachable) {
      o.line(`  ${s.address}  unreachable: ${s.error}`);
      continue;
    }
    const offset = `offset ${s.offsetMs! >= 0 ? "+" : ""}${s.offsetMs} ms (±${Math.ceil(s.roundTripMs! / 2)} ms)`;
    const vote = s.vote === null ? "no vote yet" : `vote window ${s.vote.window} ${short(s.vote.hash)}${s.verdict === null ? "" : ` ${s.verdict}`}`;
    o.line(`  ${s.address}  ${s.role}  ${offset}  agreed ${s.agreed!.window}  ${vote}${s.syncing ? "  syncing" : ""}${s.error === null ? "" : `  (${s.error})`}`);
  }
  noteUnanswered(o, asked);
  return 0;
}

export function requestCommand(argv: string[]): number {
  const { values, positionals } = parse(argv, { seed: { type: "string" }, ...JSON_OPTION }, 1);
  if (values.help) return -1;
  const o = new Output(values.json === true);
  if (positionals[0] === undefined) throw new UsageError("request needs an AMOUNT");
  const amount = value(AmountSchema, positionals[0], "AMOUNT");
  const payee = toHex(loadSeed(seedPathFrom(values)).publicKey);
  const uri = formatPaymentRequest({ payee, amount });
  o.document({ uri, payee, amount });
  o.line(uri);
  // ECC M: a phone camera still reads it off a screen with some glare or a scratched print.
  o.line(renderUnicodeCompact(uri, { ecc: "M", border: 2 }));
  return 0;
}
