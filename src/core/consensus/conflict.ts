// When two messages signed by one server for one window prove it faulty (PROTOCOL §7 step 10). An
// honest server signs, per window, one vote, one handover per base, and relays of one sequence of
// payments (positions 0, 1, 2, … of its acceptance order, which a commit never reorders): so
//  - two votes conflict when their bytes differ (an honest server resends its stored vote as is);
//  - two handovers conflict when they are built on the same base (window and hash) and differ in
//    their state hash or their payments (a restarted beta hands the same batch over again, with
//    another time: not a conflict; a beta that caught up hands over on another base: not either);
//  - two relays, or a relay and the handover, conflict when both carry a payment at one position
//    and the payments differ (a relay shorter than the handover, or a handover shorter than the
//    relays after its window was undone, is not a conflict: nothing is claimed twice).
// Pure: the coordinator has checked both signatures (or checks them) before acting on a conflict.
import { equalBytes } from "../bytes.ts";
import type { Handover, PeerMessage, Relay } from "./peer-message.ts";

/** Positions [first, first + payments) of a window: a relay, or a handover from position 0. */
export interface Claim {
  readonly first: number;
  readonly payments: readonly Uint8Array[];
}

/** The first position both claims fill with different payments, or null. */
export function conflictingPosition(a: Claim, b: Claim): number | null {
  const from = Math.max(a.first, b.first);
  const to = Math.min(a.first + a.payments.length, b.first + b.payments.length);
  for (let p = from; p < to; p++) if (!equalBytes(a.payments[p - a.first]!, b.payments[p - b.first]!)) return p;
  return null;
}

/** A relay's or a handover's claim on the window's positions. */
export function claimOf(m: Relay | Handover): Claim {
  return m.type === "relay" ? { first: m.first, payments: m.payments } : { first: 0, payments: m.payments };
}

/**
 * Why two parsed messages of one sender and one window prove it faulty, or null if they do not.
 * The caller checks sender, window and signatures.
 */
export function conflictBetween(a: PeerMessage, b: PeerMessage): string | null {
  if (a.type === "vote" && b.type === "vote") return equalBytes(a.bytes, b.bytes) ? null : "two different votes";
  if (a.type === "handover" && b.type === "handover") {
    if (a.baseWindow !== b.baseWindow || !equalBytes(a.baseHash, b.baseHash)) return null;
    if (!equalBytes(a.hash, b.hash) || a.payments.length !== b.payments.length || conflictingPosition(claimOf(a), claimOf(b)) !== null) return "two different handovers on one base";
    return null;
  }
  if ((a.type === "relay" || a.type === "handover") && (b.type === "relay" || b.type === "handover")) {
    const p = conflictingPosition(claimOf(a), claimOf(b));
    if (p === null) return null;
    return a.type === "relay" && b.type === "relay" ? `two relays with different payments at position ${p}` : `a relay and the handover with different payments at position ${p}`;
  }
  return null;
}

/**
 * Two of these claims (relays of one alpha, say those a rescuer collected from a majority) that
 * fill one position with different payments, or null. Costs one look-up per payment claimed.
 */
export function conflictingPair<T extends Claim>(claims: readonly T[]): [T, T] | null {
  const seen = new Map<number, { payment: Uint8Array; claim: T }>();
  for (const claim of claims) {
    claim.payments.forEach((payment, i) => {
      const p = claim.first + i;
      if (!seen.has(p)) seen.set(p, { payment, claim });
    });
  }
  for (const claim of claims) {
    for (let i = 0; i < claim.payments.length; i++) {
      const first = seen.get(claim.first + i)!;
      if (first.claim !== claim && !equalBytes(first.payment, claim.payments[i]!)) return [first.claim, claim];
    }
  }
  return null;
}
