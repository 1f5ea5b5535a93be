// `scryp status`: the network now, from this machine's clock and the network file (the schedule)
// and what each server's GET /status says (agreed checkpoint, vote, clock). Pure: answers in, view out.
//
// The clock offset is measured as the status page measures its peers (like NTP): the server's
// clock minus the midpoint of the request by this machine's clock, uncertain by half the round
// trip. An offset near the network's skew means this machine's payments may be refused
// TIMESTAMP_SKEW, or this machine believes another server is alpha than the servers do.
import { rolesAt, windowStartMs, blackoutStartMs } from "../core/schedule.ts";
import type { Network } from "../core/network.ts";
import { voteVerdict, type VoteVerdict } from "../node/status-view.ts";
import type { LastVote, StatusAsked } from "./server-answers.ts";
import { scheduleOf } from "../core/network.ts";

export interface ServerRef {
  readonly index: number;
  readonly key: string;
  readonly address: string;
}

export interface ServerStatus extends ServerRef {
  readonly reachable: boolean;
  readonly error: string | null;
  /** The server's clock minus this machine's, ms (see above); null when it did not answer. */
  readonly offsetMs: number | null;
  readonly roundTripMs: number | null;
  /** What the server says of itself. */
  readonly role: string | null;
  readonly window: number | null;
  readonly accepting: boolean | null;
  readonly syncing: boolean | null;
  readonly agreed: { readonly window: number; readonly hash: string } | null;
  /** Its latest vote, as it reports it (or, when it does not, as the other servers saw it). */
  readonly vote: LastVote | null;
  /** That vote against the network's last agreed checkpoint. */
  readonly verdict: VoteVerdict | null;
}

export interface NetworkStatus {
  readonly nowMs: number;
  /** The window, alpha and beta by this machine's clock and the network file. */
  readonly window: number;
  readonly blackout: boolean;
  readonly alpha: ServerRef | null;
  readonly beta: ServerRef;
  /** The next change of roles: the current window's blackout, or the next window's start. */
  readonly nextSwitch: { readonly atMs: number; readonly inMs: number; readonly window: number; readonly blackout: boolean; readonly alpha: ServerRef | null; readonly beta: ServerRef };
  /** The newest checkpoint any server reports agreed (a majority's certificate stands behind it), and how many are at it. */
  readonly agreed: { readonly window: number; readonly hash: string; readonly servers: number } | null;
  /** The newest window a strict majority of the servers reports final, and how many report it; null if none. */
  readonly final: { readonly window: number; readonly servers: number } | null;
  readonly servers: readonly ServerStatus[];
  readonly reachable: number;
  readonly of: number;
}

export function networkStatus(network: Network, nowMs: number, asked: readonly StatusAsked[]): NetworkStatus {
  const p = scheduleOf(network);
  const ref = (index: number | null): ServerRef | null => {
    if (index === null) return null;
    const s = network.servers[index]!;
    return { index, key: s.keyHex, address: s.address };
  };
  const roles = rolesAt(nowMs, p);
  const switchAtMs = roles.inBlackout ? windowStartMs(roles.window + 1, p) : blackoutStartMs(roles.window, p);
  const after = rolesAt(switchAtMs, p);

  const answers = asked.flatMap((a) => (a.kind === "answer" ? [a.status] : []));
  let agreed: NetworkStatus["agreed"] = null;
  for (const s of answers) if (agreed === null || s.agreed.window > agreed.window) agreed = { ...s.agreed, servers: 0 };
  if (agreed !== null) {
    const newest = agreed;
    agreed = { ...newest, servers: answers.filter((s) => s.agreed.window === newest.window && s.agreed.hash === newest.hash).length };
  }

  const servers = network.servers.map((entry, index): ServerStatus => {
    const a = asked[index];
    const base = { index, key: entry.keyHex, address: entry.address };
    if (a === undefined || a.kind === "error") {
      return { ...base, reachable: false, error: a?.message ?? "not asked", offsetMs: null, roundTripMs: null, role: null, window: null, accepting: null, syncing: null, agreed: null, vote: null, verdict: null };
    }
    const s = a.status;
    const own = s.peers.find((peer) => peer.key === entry.keyHex)?.lastVote ?? null;
    const seen = answers.flatMap((other) => other.peers.filter((peer) => peer.key === entry.keyHex && peer.lastVote !== null).map((peer) => peer.lastVote!));
    const vote = own ?? seen.sort((x, y) => y.window - x.window)[0] ?? null;
    return {
      ...base,
      // A server that answers with another key is not the server the network file names there.
      reachable: true,
      error: s.key === entry.keyHex ? null : `it answers with key ${s.key}, not the network file's`,
      offsetMs: Math.round(s.clock.nowMs - (a.sentMs + a.receivedMs) / 2),
      roundTripMs: a.receivedMs - a.sentMs,
      role: s.role,
      window: s.window,
      accepting: s.accepting ?? null,
      syncing: s.syncing ?? null,
      agreed: s.agreed,
      vote,
      verdict: agreed === null ? null : voteVerdict(vote, agreed),
    };
  });

  return {
    nowMs,
    window: roles.window,
    blackout: roles.inBlackout,
    alpha: ref(roles.alpha),
    beta: ref(roles.beta)!,
    nextSwitch: { atMs: switchAtMs, inMs: switchAtMs - nowMs, window: after.window, blackout: after.inBlackout, alpha: ref(after.alpha), beta: ref(after.beta)! },
    agreed,
    final: majorityFinal(answers.map((s) => s.final?.window ?? -1), network.servers.length),
    servers,
    reachable: servers.filter((s) => s.reachable).length,
    of: network.servers.length,
  };
}

/** The newest window at least a strict majority of the n servers report final (−1s for the silent). */
export function majorityFinal(reported: readonly number[], n: number): { window: number; servers: number } | null {
  const sorted = [...reported, ...Array<number>(Math.max(0, n - reported.length)).fill(-1)].sort((a, b) => b - a);
  const window = sorted[Math.floor(n / 2)]!;
  return window < 0 ? null : { window, servers: reported.filter((w) => w >= window).length };
}
