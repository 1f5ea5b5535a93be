// What the client commands ask each server (GET /status, /tx/:id, /accounts/:id/transactions),
// read with valibot: a server that answers something else is reported as an error of that
// server, never believed. One function a route; no decisions here (those are pure, beside).
// No Node or Bun APIs: the browser wallet (src/wallet/) asks the servers with these too.
import * as v from "valibot";
import { errorOf, requestJson } from "./http-client.ts";
import { httpBase } from "../core/network.ts";
import type { Clock } from "../core/clock.ts";

const Hex64 = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/));
const Whole = v.pipe(v.number(), v.integer());

const VoteSchema = v.object({ window: Whole, hash: Hex64, history: Hex64 });
export type LastVote = v.InferOutput<typeof VoteSchema>;

const StatusSchema = v.object({
  key: Hex64,
  clock: v.object({ nowMs: v.pipe(v.number(), v.finite()) }),
  window: Whole,
  alpha: v.nullable(Hex64),
  beta: v.nullable(Hex64),
  role: v.string(),
  accepting: v.optional(v.boolean()),
  syncing: v.optional(v.boolean()),
  agreed: v.object({ window: Whole, hash: Hex64 }),
  // The newest window this server knows final (absent from servers before finality; −1: none yet).
  final: v.optional(v.object({ window: v.pipe(v.number(), v.integer()), quorum: Whole })),
  peers: v.array(v.object({ key: Hex64, lastVote: v.nullable(VoteSchema) })),
});
export type StatusAnswer = v.InferOutput<typeof StatusSchema>;

const StoredPaymentSchema = v.object({
  id: Hex64,
  timestamp: Whole,
  amount: Whole,
  payee: Hex64,
  payer: Hex64,
  window: Whole,
  acceptedAt: Whole,
  // Whether the payment's window is final at that server (absent from servers before finality).
  final: v.optional(v.boolean()),
});
export type StoredPaymentAnswer = v.InferOutput<typeof StoredPaymentSchema>;

const PageSchema = v.object({ transactions: v.array(StoredPaymentSchema), next: v.nullable(Whole) });

type Server = { readonly host: string; readonly port: number };
const nameOf = (s: Server) => `${s.host}:${s.port}`;

export type Asked<T> = ({ readonly kind: "answer" } & T) | { readonly kind: "error"; readonly message: string };

/** GET url, then the schema; an HTTP error or a body of another shape is this server's error. */
async function ask<S extends v.GenericSchema>(url: string, schema: S, what: string): Promise<{ ok: true; value: v.InferOutput<S> } | { ok: false; status: number | null; message: string }> {
  let answer;
  try {
    answer = await requestJson(url);
  } catch (e) {
    return { ok: false, status: null, message: (e as Error).message };
  }
  if (answer.status !== 200) return { ok: false, status: answer.status, message: errorOf(answer.json)?.message ?? `HTTP ${answer.status}` };
  const parsed = v.safeParse(schema, answer.json);
  if (!parsed.success) return { ok: false, status: 200, message: `its ${what} is not what a scryp server answers` };
  return { ok: true, value: parsed.output };
}

export type StatusAsked = { readonly server: string } & Asked<{ readonly status: StatusAnswer; readonly sentMs: number; readonly receivedMs: number }>;

/** GET /status, with when it was sent and received by this machine's clock (for the offset). */
export async function askStatus(server: Server, clock: Clock): Promise<StatusAsked> {
  const sentMs = clock.now();
  const r = await ask(`${httpBase(server)}/status`, StatusSchema, "/status");
  const receivedMs = clock.now();
  if (!r.ok) return { server: nameOf(server), kind: "error", message: r.message };
  return { server: nameOf(server), kind: "answer", status: r.value, sentMs, receivedMs };
}

export type TxAsked = { readonly server: string } & (
  | Asked<{ readonly agreedWindow: number; readonly payment: StoredPaymentAnswer | null }>
);

/** GET /tx/:id and GET /status of one server: whether it holds the payment, and its agreed window. */
export async function askTx(server: Server, idHex: string, clock: Clock): Promise<TxAsked> {
  const [tx, status] = await Promise.all([ask(`${httpBase(server)}/tx/${idHex}`, StoredPaymentSchema, "/tx answer"), askStatus(server, clock)]);
  if (status.kind === "error") return status;
  if (!tx.ok && tx.status !== 404) return { server: nameOf(server), kind: "error", message: tx.message };
  return { server: nameOf(server), kind: "answer", agreedWindow: status.status.agreed.window, payment: tx.ok ? tx.value : null };
}

export type PageAsked = { readonly server: string } & Asked<{
  readonly agreedWindow: number;
  /** Whether the server holds an account with this id now (balance above 0). */
  readonly hasAccount: boolean;
  readonly transactions: readonly StoredPaymentAnswer[];
  /** The page holds every payment of the account this server has (no older page). */
  readonly complete: boolean;
}>;

/** The newest `limit` payments of an account on one server, its agreed window, and whether it knows the account. */
export async function askHistory(server: Server, idHex: string, limit: number, clock: Clock): Promise<PageAsked> {
  const base = httpBase(server);
  const [page, status, account] = await Promise.all([
    ask(`${base}/accounts/${idHex}/transactions?limit=${limit}`, PageSchema, "transactions page"),
    askStatus(server, clock),
    ask(`${base}/accounts/${idHex}`, v.object({ balance: Whole }), "account"),
  ]);
  if (status.kind === "error") return status;
  if (!page.ok) return { server: nameOf(server), kind: "error", message: page.message };
  if (!account.ok && account.status !== 404) return { server: nameOf(server), kind: "error", message: account.message };
  return {
    server: nameOf(server),
    kind: "answer",
    agreedWindow: status.status.agreed.window,
    hasAccount: account.ok,
    transactions: page.value.transactions,
    complete: page.value.next === null,
  };
}
