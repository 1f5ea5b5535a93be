// What the status page shows, computed from the node's state by pure functions: the schedule as
// a table of switches (the style of the design's rotation table), each server's vote compared with
// the last agreed checkpoint, and each payment's status. The page (status-page.tsx) only renders.
import { rolesAt, windowAt, windowStartMs, blackoutStartMs, type ScheduleParams } from "../core/schedule.ts";

export type ScheduleRole = "alpha" | "beta" | "alpha beta" | "";

/** One row of the schedule table: from `atMs` on, until the next row. */
export interface ScheduleRow {
  readonly atMs: number;
  readonly window: number;
  /** The window's alpha has stopped accepting (with one server it accepts on, for the next window). */
  readonly blackout: boolean;
  /** Per server, in network-file order. */
  readonly roles: readonly ScheduleRole[];
}

/** Windows the schedule table covers: a full rotation, within these bounds. */
export const SCHEDULE_WINDOWS_MIN = 3;
export const SCHEDULE_WINDOWS_MAX = 6;

/**
 * The switches from the one in force at nowMs on: two per window (its start and its blackout),
 * for a full rotation and the switch after it. Row 0 is now; row 1 is the next switch.
 */
export function scheduleRows(nowMs: number, p: ScheduleParams): ScheduleRow[] {
  const windows = Math.min(SCHEDULE_WINDOWS_MAX, Math.max(SCHEDULE_WINDOWS_MIN, p.serverCount));
  const current = windowAt(nowMs, p);
  const switches: number[] = [];
  for (let w = current; switches.length < 2 * windows + 2; w++) switches.push(windowStartMs(w, p), blackoutStartMs(w, p));
  const first = nowMs >= blackoutStartMs(current, p) ? 1 : 0;
  return switches.slice(first, first + 2 * windows + 1).map((atMs) => {
    const roles = rolesAt(atMs, p);
    return {
      atMs,
      window: roles.window,
      blackout: roles.inBlackout,
      roles: Array.from({ length: p.serverCount }, (_, i): ScheduleRole => {
        const alpha = roles.alpha === i;
        const beta = roles.beta === i;
        return alpha && beta ? "alpha beta" : alpha ? "alpha" : beta ? "beta" : "";
      }),
    };
  });
}

export interface LastVote {
  readonly window: number;
  readonly hash: string;
  /** The history digest it voted with (PROTOCOL §6a). */
  readonly history: string;
}

export type VoteVerdict = "agrees" | "disagrees" | "missing" | "ahead";

/**
 * A server's last vote against the last agreed checkpoint: for that window with that hash
 * (agrees) or another (disagrees); none, or for an older window (missing); or already for a
 * newer window that is not agreed yet (ahead).
 */
export function voteVerdict(lastVote: LastVote | null, agreed: { window: number; hash: string }): VoteVerdict {
  if (lastVote === null || lastVote.window < agreed.window) return "missing";
  if (lastVote.window > agreed.window) return "ahead";
  return lastVote.hash === agreed.hash ? "agrees" : "disagrees";
}

export type PaymentStatus = "agreed" | "pending";

/** A payment is agreed once a majority agreed on its window (or a later one, built on it). */
export function paymentStatus(window: number, agreedWindow: number): PaymentStatus {
  return window <= agreedWindow ? "agreed" : "pending";
}

/** How a clock offset compares with the skew every server tolerates. */
export function offsetLevel(offsetMs: number | null, skewMs: number): "ok" | "warn" | "bad" | "unknown" {
  if (offsetMs === null) return "unknown";
  const size = Math.abs(offsetMs);
  if (size >= skewMs) return "bad";
  return size >= skewMs / 2 ? "warn" : "ok";
}

/** "HH:MM:SS" in UTC, with milliseconds when the schedule's switches are not on whole seconds. */
export function utcTime(ms: number, withMs: boolean): string {
  const iso = new Date(ms).toISOString();
  return withMs ? iso.slice(11, 23) : iso.slice(11, 19);
}

/** "1,234,567": scryp are whole numbers, grouped for reading. */
export function groupDigits(n: number): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: 0 });
}

/** "ae647b68…385b": enough of a 64-hex id to tell ids apart on screen. */
export function shortId(hex: string): string {
  return hex.length <= 16 ? hex : `${hex.slice(0, 8)}…${hex.slice(-4)}`;
}
