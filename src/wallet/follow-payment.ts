// Where a sent payment stands, asked of every server again and again until it settles: the rule
// of `scryp tx` and `pay --wait` (src/client/payment-state.ts). Acknowledged (the alpha said
// "accepted") → agreed (a strict majority hold it in an agreed checkpoint) → final (only once
// servers report it: finality is another issue's, and today no server does); or disappeared (a
// majority agreed its window without it: it can never apply, paying again is safe).
import { paymentTally, type PaymentTally, type ServerView } from "../client/payment-state.ts";
import type { TxAsked } from "../client/server-answers.ts";

export type Stage = "pending" | "agreed" | "final" | "disappeared";

export interface Progress {
  readonly stage: Stage;
  readonly tally: PaymentTally;
  /** Servers reporting it final, and whether any server reports finality at all (a newer node). */
  readonly finalCount: number;
  readonly finalityReported: boolean;
  readonly answered: number;
}

/** The stage from the servers' answers; `window` from the payment's timestamp (the same on every holder). Pure. */
export function paymentProgress(window: number, asked: readonly TxAsked[], serverCount: number): Progress {
  const views: ServerView[] = asked.map((a) => (a.kind === "answer" ? { holds: a.payment !== null, agreedWindow: a.agreedWindow } : null));
  const tally = paymentTally(window, views, serverCount);
  const held = asked.flatMap((a) => (a.kind === "answer" && a.payment !== null ? [a.payment] : []));
  const finalCount = held.filter((p) => p.final === true).length;
  const finalityReported = held.some((p) => p.final !== undefined);
  const stage: Stage = tally.state === "agreed" && finalCount * 2 > serverCount ? "final" : tally.state;
  return { stage, tally, finalCount, finalityReported, answered: asked.filter((a) => a.kind === "answer").length };
}

/**
 * Whether to stop asking: it disappeared or is final; or agreed and no server reports finality
 * (asking more would learn nothing today); or the deadline passed.
 */
export function settled(progress: Progress, nowMs: number, deadlineMs: number): boolean {
  if (progress.stage === "disappeared" || progress.stage === "final") return true;
  if (progress.stage === "agreed" && !progress.finalityReported) return true;
  return nowMs >= deadlineMs;
}
