// The schedule, fixed (clients compute it too). Window k spans Unix ms [k·interval, (k+1)·interval),
// aligned to UTC. With n servers in network-file order, server k mod n is the alpha of window k:
// it accepts payments from the window's start until `blackout` ms before its end. From then it is
// the beta for `interval` ms, up to the blackout of window k+1. At any instant there is at most
// one alpha and one beta.
//
// The blackout exists so one payment (valid for ±skew around its timestamp) can never be accepted
// by two consecutive alphas. With a single server the next alpha is itself and dedupe already
// holds, so a one-server network accepts through its blackout: what it accepts from the blackout
// of window k on belongs to window k+1 (its accepting period is [blackout of k, blackout of k+1)).

export interface ScheduleParams {
  readonly serverCount: number;
  readonly intervalMs: number;
  readonly blackoutMs: number;
}

export function windowAt(nowMs: number, p: ScheduleParams): number {
  return Math.floor(nowMs / p.intervalMs);
}

export function windowStartMs(window: number, p: ScheduleParams): number {
  return window * p.intervalMs;
}

/** First instant of the window's blackout: the alpha stops accepting, and becomes the beta. */
export function blackoutStartMs(window: number, p: ScheduleParams): number {
  return (window + 1) * p.intervalMs - p.blackoutMs;
}

export function alphaOf(window: number, p: ScheduleParams): number {
  return ((window % p.serverCount) + p.serverCount) % p.serverCount;
}

export interface Roles {
  readonly window: number;
  /** Index of the server accepting payments now, or null (blackout). */
  readonly alpha: number | null;
  /** Index of the server handing over now, or null. */
  readonly beta: number | null;
  /** The window whose payments the beta is handing over, or null. */
  readonly betaWindow: number | null;
  /** Whether the alpha of this window is in its blackout. */
  readonly inBlackout: boolean;
}

export function rolesAt(nowMs: number, p: ScheduleParams): Roles {
  const window = windowAt(nowMs, p);
  const inBlackout = nowMs >= blackoutStartMs(window, p);
  const single = p.serverCount === 1;
  const alpha = inBlackout && !single ? null : alphaOf(window, p);
  // The beta of window w serves from blackoutStart(w) to blackoutStart(w+1).
  const betaWindow = inBlackout ? window : window - 1;
  return { window, alpha, beta: alphaOf(betaWindow, p), betaWindow, inBlackout };
}

/** When the next accepting period starts at or after nowMs, and whose it is. */
export function nextAccepting(nowMs: number, p: ScheduleParams): { server: number; window: number; fromMs: number; untilMs: number } {
  if (p.serverCount === 1) {
    const window = acceptingWindowAt(nowMs, p);
    return { server: 0, window, fromMs: nowMs, untilMs: blackoutStartMs(window, p) };
  }
  const roles = rolesAt(nowMs, p);
  const window = roles.alpha !== null ? roles.window : roles.window + 1;
  const fromMs = roles.alpha !== null ? nowMs : windowStartMs(window, p);
  return { server: alphaOf(window, p), window, fromMs, untilMs: blackoutStartMs(window, p) };
}

/** The accepting period of window w: [from, until). */
export function acceptingPeriod(window: number, p: ScheduleParams): { fromMs: number; untilMs: number } {
  const fromMs = p.serverCount === 1 ? blackoutStartMs(window - 1, p) : windowStartMs(window, p);
  return { fromMs, untilMs: blackoutStartMs(window, p) };
}

/** The window a payment accepted at nowMs belongs to (its handover batch). */
export function acceptingWindowAt(nowMs: number, p: ScheduleParams): number {
  const window = windowAt(nowMs, p);
  return p.serverCount === 1 && nowMs >= blackoutStartMs(window, p) ? window + 1 : window;
}

/** Whether a payment stamped at timestampMs may belong to window w's accepting period (± skew). */
export function timestampFitsWindow(timestampMs: number, window: number, skewMs: number, p: ScheduleParams): boolean {
  const { fromMs, untilMs } = acceptingPeriod(window, p);
  return timestampMs >= fromMs - skewMs && timestampMs < untilMs + skewMs;
}
