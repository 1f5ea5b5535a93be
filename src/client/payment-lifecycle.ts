// `scryp tx`: one payment's lifecycle across the servers — who holds it (in which window, since
// when), each server's agreed window, and where it stands (payment-state.ts). Pure.
import { paymentTally, type PaymentState } from "./payment-state.ts";
import type { StoredPaymentAnswer, TxAsked } from "./server-answers.ts";

export type ServerHolding =
  | { readonly server: string; readonly reachable: true; readonly holds: boolean; readonly agreedWindow: number; readonly acceptedAt: number | null }
  | { readonly server: string; readonly reachable: false; readonly error: string };

export type Lifecycle =
  /** No server that answered holds it: never accepted, or gone with a window that was rolled back. */
  | { readonly kind: "not-found"; readonly answered: number; readonly servers: readonly ServerHolding[] }
  | {
      readonly kind: "found";
      readonly payment: StoredPaymentAnswer;
      readonly state: PaymentState;
      readonly holding: number;
      readonly agreedWith: number;
      readonly agreedWithout: number;
      /** Servers that report it final, and whether that is a strict majority (then it is final). */
      readonly finalWith: number;
      readonly final: boolean;
      readonly of: number;
      readonly servers: readonly ServerHolding[];
    };

export function paymentLifecycle(asked: readonly TxAsked[], serverCount: number): Lifecycle {
  const servers = asked.map((a): ServerHolding =>
    a.kind === "error"
      ? { server: a.server, reachable: false, error: a.message }
      : { server: a.server, reachable: true, holds: a.payment !== null, agreedWindow: a.agreedWindow, acceptedAt: a.payment?.acceptedAt ?? null },
  );
  // Every holder stores the same 140 bytes (the id is their hash); the window is the one the
  // alpha accepted it in, the same on every server that applied it.
  const payment = asked.flatMap((a) => (a.kind === "answer" && a.payment !== null ? [a.payment] : []))[0];
  const answered = asked.filter((a) => a.kind === "answer").length;
  if (payment === undefined) return { kind: "not-found", answered, servers };
  const tally = paymentTally(
    payment.window,
    asked.map((a) => (a.kind === "answer" ? { holds: a.payment !== null, agreedWindow: a.agreedWindow } : null)),
    serverCount,
  );
  const finalWith = asked.filter((a) => a.kind === "answer" && a.payment?.final === true).length;
  return { kind: "found", payment, ...tally, finalWith, final: finalWith * 2 > serverCount, servers };
}
