// A balance as the servers report it: what one server answers to GET /accounts/:id, and what a
// strict majority of those asked report. No Node or Bun APIs: `scryp balance` and the browser
// wallet (src/wallet/) share it, so both apply the same rule.
import { errorOf, requestJson } from "./http-client.ts";
import { httpBase } from "../core/network.ts";

export type ServerAnswer =
  | { server: string; kind: "balance"; balance: number }
  | { server: string; kind: "no-account" }
  | { server: string; kind: "error"; message: string };

export async function askBalance(server: { host: string; port: number }, idHex: string): Promise<ServerAnswer> {
  const name = `${server.host}:${server.port}`;
  try {
    const answer = await requestJson(`${httpBase(server)}/accounts/${idHex}`);
    if (answer.status === 200) {
      const balance = (answer.json as { balance?: unknown }).balance;
      if (typeof balance === "number") return { server: name, kind: "balance", balance };
    }
    if (answer.status === 404) return { server: name, kind: "no-account" };
    return { server: name, kind: "error", message: errorOf(answer.json)?.message ?? `HTTP ${answer.status}` };
  } catch (e) {
    return { server: name, kind: "error", message: (e as Error).message };
  }
}

export type BalanceTally =
  | { readonly kind: "balance"; readonly balance: number; readonly disagreeing: readonly ServerAnswer[]; readonly unanswered: readonly ServerAnswer[] }
  | { readonly kind: "no-account"; readonly disagreeing: readonly ServerAnswer[]; readonly unanswered: readonly ServerAnswer[] }
  | { readonly kind: "no-majority"; readonly disagreeing: readonly ServerAnswer[]; readonly unanswered: readonly ServerAnswer[] };

/**
 * What a strict majority of the servers asked report (a balance, or no account), naming those
 * that report otherwise and those that did not answer. Pure.
 */
export function balanceTally(answers: readonly ServerAnswer[]): BalanceTally {
  const keyOf = (a: ServerAnswer) => (a.kind === "balance" ? String(a.balance) : a.kind === "no-account" ? "none" : null);
  const tally = new Map<string, number>();
  for (const a of answers) {
    const key = keyOf(a);
    if (key !== null) tally.set(key, (tally.get(key) ?? 0) + 1);
  }
  const majority = [...tally.entries()].find(([, n]) => n * 2 > answers.length)?.[0];
  const unanswered = answers.filter((a) => a.kind === "error");
  const disagreeing = majority === undefined ? [] : answers.filter((a) => a.kind !== "error" && keyOf(a) !== majority);
  if (majority === undefined) return { kind: "no-majority", disagreeing, unanswered };
  if (majority === "none") return { kind: "no-account", disagreeing, unanswered };
  return { kind: "balance", balance: Number(majority), disagreeing, unanswered };
}
