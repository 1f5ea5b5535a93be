// Where a payment stands across the servers, from what each one says: it holds the payment or
// not, and the last window it agreed. The rule is the one `pay --wait` waits on:
//  - agreed: a strict majority of the network's servers hold it in an agreed checkpoint (they
//    hold it and agreed its window or a later one, built on it);
//  - disappeared: a strict majority agreed its window or a later one without it. A payment is
//    acceptable only in its own window, so it can never apply after that;
//  - pending: neither yet (its window is still being handed over and voted on, or too few
//    servers answered to tell).
// "Final" (a payment that no rollback can take away) is not a separate state yet: another issue
// adds finality; until then `final` is reported as null.

export type PaymentState = "agreed" | "pending" | "disappeared";

/** One server's view of one payment; `unknown`: it did not answer, or cannot tell. */
export type ServerView = { readonly holds: boolean; readonly agreedWindow: number } | null;

export interface PaymentTally {
  readonly state: PaymentState;
  /** Servers holding it, whatever their agreed window. */
  readonly holding: number;
  /** Servers holding it in an agreed checkpoint. */
  readonly agreedWith: number;
  /** Servers that agreed its window or later without it. */
  readonly agreedWithout: number;
  /** The network's server count: the majority is of these, not of those that answered. */
  readonly of: number;
}

export function paymentTally(window: number, views: readonly ServerView[], serverCount: number): PaymentTally {
  let holding = 0;
  let agreedWith = 0;
  let agreedWithout = 0;
  for (const view of views) {
    if (view === null) continue;
    if (view.holds) holding++;
    if (view.agreedWindow < window) continue;
    if (view.holds) agreedWith++;
    else agreedWithout++;
  }
  const state: PaymentState = agreedWith * 2 > serverCount ? "agreed" : agreedWithout * 2 > serverCount ? "disappeared" : "pending";
  return { state, holding, agreedWith, agreedWithout, of: serverCount };
}
