// The devnet's live line: one line a window on the terminal, once the window is agreed (or given up
// on), instead of every node's log. Pure: the command polls each node's GET /status and feeds the
// answers in; this says which lines to print and how they read.
//
// How many payments a window holds is read from a node's ledger count (GET /status ledger.payments),
// taken only when that count is exactly "every window up to the last closed one": the node is not
// the alpha (so nothing of the open window is in it) and its agreed window is the last closed one
// (so nothing applied is still unagreed). The difference between two such counts, one window
// apart, is the payments of the later window. With one server the alpha is always that server and
// accepts through its blackout for the next window, so there the count can include a few payments
// of the following window: an approximation, noted in the README.
import { assert } from "../core/assert.ts";
import { alphaOf, rolesAt, type ScheduleParams } from "../core/schedule.ts";

/**
 * A window not agreed this many windows after it closed is reported as not agreed: on loopback a
 * handover and its votes take milliseconds, so by then agreement is not merely slow.
 */
export const AGREED_LATE_WINDOWS = 2;

/** What the live line needs of a node's GET /status answer. */
export interface StatusSample {
  /** The node's clock when it answered (status.clock.nowMs). */
  readonly nowMs: number;
  readonly role: "alpha" | "beta" | "idle";
  /** The newest window agreed by a majority, as this node knows it. */
  readonly agreedWindow: number;
  /** Payments in this node's ledger, agreed or only applied. */
  readonly payments: number;
}

export interface LiveState {
  /** The newest window a line was printed for (or that was already past at the start). */
  readonly printedWindow: number;
  /** A ledger count known to be exactly every window up to `window`, or null. */
  readonly settled: { readonly window: number; readonly payments: number } | null;
}

/** One line to print: a window, its alpha, its payments (null when unknown), agreed or not. */
export interface WindowLine {
  readonly window: number;
  readonly alpha: number;
  readonly payments: number | null;
  readonly agreed: boolean;
}

/** The newest window whose accepting period is over at nowMs: the current one from its blackout on. */
export function lastClosedWindow(nowMs: number, p: ScheduleParams): number {
  const roles = rolesAt(nowMs, p);
  return roles.inBlackout ? roles.window : roles.window - 1;
}

/** The ledger count of a sample when it is exactly every window up to the last closed one. */
function settledCount(s: StatusSample, p: ScheduleParams): { window: number; payments: number } | null {
  const closed = lastClosedWindow(s.nowMs, p);
  if (s.agreedWindow !== closed) return null;
  if (p.serverCount > 1 && s.role === "alpha") return null;
  return { window: closed, payments: s.payments };
}

/** The state at the start: windows agreed already, or long past, get no line. */
export function startLive(nowMs: number, samples: readonly (StatusSample | null)[], p: ScheduleParams): LiveState {
  const answered = samples.filter((s): s is StatusSample => s !== null);
  const agreed = Math.max(-1, ...answered.map((s) => s.agreedWindow));
  const settled = newestSettled(answered, p, null);
  return { printedWindow: Math.max(agreed, lastClosedWindow(nowMs, p) - AGREED_LATE_WINDOWS), settled };
}

function newestSettled(answered: readonly StatusSample[], p: ScheduleParams, known: LiveState["settled"]): LiveState["settled"] {
  let settled = known;
  for (const s of answered) {
    const count = settledCount(s, p);
    if (count !== null && (settled === null || count.window > settled.window)) settled = count;
  }
  return settled;
}

/**
 * One poll: the lines to print for windows agreed since the last poll (any node's agreed window is
 * a majority's certificate), and for windows given up on; and the next state. `samples` has one
 * entry per node, null for a node that did not answer.
 */
export function advanceLive(state: LiveState, nowMs: number, samples: readonly (StatusSample | null)[], p: ScheduleParams): { state: LiveState; lines: WindowLine[] } {
  const answered = samples.filter((s): s is StatusSample => s !== null);
  const agreed = Math.max(-1, ...answered.map((s) => s.agreedWindow));
  const settled = newestSettled(answered, p, state.settled);
  const lines: WindowLine[] = [];
  let printed = state.printedWindow;
  for (let window = printed + 1; window <= agreed; window++) {
    // Known only when the counts on both sides of this one window were seen.
    const known = settled !== null && settled.window === window && state.settled !== null && state.settled.window === window - 1;
    const payments = known ? settled.payments - state.settled!.payments : null;
    // An agreed window's payments are never undone, so the count of every window up to it only grows.
    assert(payments === null || payments >= 0, `window ${window}: ${payments} payments`);
    lines.push({ window, alpha: alphaOf(window, p), payments, agreed: true });
    printed = window;
  }
  const closed = lastClosedWindow(nowMs, p);
  for (let window = printed + 1; window + AGREED_LATE_WINDOWS <= closed; window++) {
    lines.push({ window, alpha: alphaOf(window, p), payments: null, agreed: false });
    printed = window;
  }
  return { state: { printedWindow: printed, settled }, lines };
}

/** "window 898059993  alpha 127.0.0.1:7401  3 payments  agreed ✓". */
export function formatWindowLine(line: WindowLine, addresses: readonly string[]): string {
  const address = addresses[line.alpha];
  assert(address !== undefined, `no server ${line.alpha} among ${addresses.length}`);
  const payments = line.payments === null ? "? payments" : `${line.payments} payment${line.payments === 1 ? "" : "s"}`;
  return `window ${line.window}  alpha ${address}  ${payments}  ${line.agreed ? "agreed ✓" : "agreed ✗"}`;
}
