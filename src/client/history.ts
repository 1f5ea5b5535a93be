// `scryp history`: the payments of one account, merged from every server asked, newest first,
// each with where it stands (payment-state.ts). Pure: answers in, entries out.
import { paymentTally, type PaymentState, type ServerView } from "./payment-state.ts";
import type { PageAsked, StoredPaymentAnswer } from "./server-answers.ts";

export interface HistoryEntry {
  readonly id: string;
  readonly timestamp: number;
  readonly window: number;
  readonly amount: number;
  readonly payer: string;
  readonly payee: string;
  /** From the account's side: "in" when it is the payee, "out" when it is the payer. */
  readonly direction: "in" | "out";
  readonly status: PaymentState;
  /** How many of the servers asked hold it. */
  readonly servers: number;
}

export interface History {
  /** Newest first: by window, then timestamp, then id (servers agree on windows; ids break ties). */
  readonly payments: readonly HistoryEntry[];
  /** Whether any server answering knows the account: an account now, or payments of it. */
  readonly known: boolean;
  readonly answered: number;
}

const newerFirst = (a: StoredPaymentAnswer, b: StoredPaymentAnswer) =>
  b.window - a.window || b.timestamp - a.timestamp || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Merges the servers' pages. A server whose page does not list a payment counts as not holding
 * it only when its page reaches back that far (it is complete, or its oldest entry is older);
 * otherwise it cannot tell.
 */
export function mergeHistory(accountHex: string, asked: readonly PageAsked[], serverCount: number, limit: number): History {
  const answers = asked.filter((a) => a.kind === "answer");
  const byId = new Map<string, StoredPaymentAnswer>();
  for (const a of answers) for (const p of a.transactions) if (!byId.has(p.id)) byId.set(p.id, p);
  const newest = [...byId.values()].sort(newerFirst).slice(0, limit);
  const payments = newest.map((p): HistoryEntry => {
    const views: ServerView[] = answers.map((a) => {
      const holds = a.transactions.some((t) => t.id === p.id);
      const oldest = a.transactions.at(-1);
      const reachesBack = a.complete || (oldest !== undefined && newerFirst(oldest, p) > 0);
      return holds || reachesBack ? { holds, agreedWindow: a.agreedWindow } : null;
    });
    const tally = paymentTally(p.window, views, serverCount);
    return {
      id: p.id,
      timestamp: p.timestamp,
      window: p.window,
      amount: p.amount,
      payer: p.payer,
      payee: p.payee,
      direction: p.payee === accountHex ? "in" : "out",
      status: tally.state,
      servers: tally.holding,
    };
  });
  return { payments, known: byId.size > 0 || answers.some((a) => a.hasAccount), answered: answers.length };
}
