// The coordinator: the rotating-alpha schedule and the consensus between servers, as one
// deterministic state machine. It is driven by events — clock ticks, peer messages, answers to
// its own requests — and answers with effects for the adapters to carry out (send, fetch). Time
// and transport are injected, so many servers run in one process under simulated time.
//
// The protocol, in short (docs/PROTOCOL.md has it in full):
//  - During window k its alpha relays what it accepts to the others (the replication stream);
//    each stores the relays durably and says how far it holds the window. A payment is
//    acknowledged to its payer once a strict majority of the servers, the alpha included, hold it.
//  - At its blackout, the beta of window k hands over: its payments of k, its agreed checkpoint
//    (the base it built on) and its state hash after them; it votes for that hash.
//  - A server whose state is that base re-validates and applies the batch and votes its hash.
//    One that got no handover by the start of window k+1 asks the others for it. The alpha of
//    window k+1 then rescues window k: it collects the relays of k from a majority, takes the
//    longest prefix the alpha signed, and sends it (with those relays as evidence) as the batch
//    (if it cannot, the alpha of k+2 tries next, and so on). A rescue of no relays leaves the
//    state unchanged: what was once the "no batch" vote.
//  - A hash with a strict majority of the configured servers' votes is window k's consensus; the
//    votes form its certificate. Servers at that hash record the checkpoint; others resync.
//  - Window k+1's alpha accepts nothing until window k is agreed at its own state.
//  - With no majority by the end of the beta period, everyone returns to the last checkpoint.
import type { Network } from "../network.ts";
import { assert } from "../assert.ts";
import type { Verify } from "../acceptance.ts";
import { StorageError, type ErrorCode } from "../errors.ts";
import { bytesKey, equalBytes, toHex } from "../bytes.ts";
import { decodePayment } from "../payment.ts";
import {
  alphaOf,
  blackoutStartMs,
  nextAccepting,
  rolesAt,
  timestampFitsWindow,
  windowStartMs,
  type ScheduleParams,
} from "../schedule.ts";
import {
  parsePeerMessage,
  verifyPeerMessage,
  encodeCertificate,
  encodeHandover,
  encodeRelay,
  encodeVote,
  encodeHeld,
  encodeProof,
  proofBytes,
  encodeRescue,
  isCertificateOf,
  splitCertificate,
  type Handover,
  type PeerMessage,
  type Proof,
  type Relay,
  type Rescue,
  type Vote,
} from "./peer-message.ts";
import { RelayInbox, linkOf, longestPrefix, type ChainLink } from "./relay-chain.ts";
import { claimOf, conflictBetween, conflictingPair, conflictingPosition } from "./conflict.ts";
import { ReplicationOutbox } from "./replication.ts";
import { peerLimits, type PeerLimits } from "./peer-limits.ts";
import type { Logger } from "../logger.ts";
import type { LedgerDecision } from "../acceptance.ts";
import type { Payment } from "../payment.ts";

/** The last state a strict majority agreed on. Window -1 is genesis. */
export interface Checkpoint {
  readonly window: number;
  readonly hash: Uint8Array;
  readonly certificate: Uint8Array;
}

/**
 * What the coordinator needs of the ledger (src/ledger/ledger.ts implements it over SQLite). A write
 * that cannot be stored (full disk, I/O error) throws StorageError and changes nothing, on disk or
 * in memory; the coordinator then acts as if it had not been tried (see stored()).
 */
export interface ConsensusLedger {
  agreed(): Checkpoint;
  /** A recorded checkpoint (the last 16 are kept), if any. */
  checkpoint(window: number): Checkpoint | undefined;
  latestWindow(): number | null;
  windowPayments(window: number): Uint8Array[];
  stateHashBytes(): Uint8Array;
  /** The history digest of every payment held (PROTOCOL §6a). */
  historyDigest(): Uint8Array;
  /** The digest of `window`'s payments held, in acceptance order (§6a). */
  batchDigest(window: number): Uint8Array;
  /** With `capacity`, a payment that would exceed it in `window` is refused WINDOW_FULL. */
  applyGroup(group: readonly Payment[], window: number, nowMs: number, capacity?: number): LedgerDecision[];
  rollbackAfter(window: number): number;
  recordAgreed(window: number, hash: Uint8Array, certificate: Uint8Array, nowMs: number): void;
  /** Runs fn as one transaction, kept only if it returns true (the ledger is unchanged otherwise). */
  attempt(fn: () => boolean): boolean;
  /** This server's own vote for a window, durably, before it is sent; never replaced once stored. */
  recordOwnVote(window: number, bytes: Uint8Array, nowMs: number): void;
  /** This server's stored votes (recent windows). */
  ownVotes(): { window: number; bytes: Uint8Array }[];
  /** A relay this server holds, durably, before it says so; relays of windows before keepFrom are forgotten. */
  storeRelay(window: number, first: number, bytes: Uint8Array, keepFrom: number): void;
  /** The stored relays (recent windows). */
  storedRelays(): { window: number; first: number; bytes: Uint8Array }[];
  /** Withdraws the checkpoint of `window` and every later one, and undoes what follows the one before it. */
  revokeCheckpoint(window: number): number;
  /** Replaces the certificate of a recorded checkpoint (the same outcome, other voters). */
  replaceCertificate(window: number, certificate: Uint8Array): void;
  /** Whether that checkpoint is recorded and the state before it known (a kept checkpoint, or the genesis). */
  canRevoke(window: number): boolean;
  /** A proof that `server` signed two conflicting messages for `window` (conflict.ts), kept once. */
  recordEquivocation(window: number, server: Uint8Array, first: Uint8Array, second: Uint8Array, nowMs: number): void;
  /** Who was proven to equivocate in which window (the proofs kept), newest first, without the bytes. */
  equivocationList(): { window: number; server: Uint8Array; foundAtMs: number }[];
  /** The stored proofs (the most recent kept), of windows from `fromWindow` on if given. */
  equivocations(fromWindow?: number): { window: number; server: Uint8Array; first: Uint8Array; second: Uint8Array; foundAtMs: number }[];
  /** Forgets this server's stored vote of `window` (one of an older format, never sent). */
  forgetOwnVote(window: number): void;
}

/**
 * A batch a server has taken for a window, as evidence and its payments: the beta's handover
 * (turn 0), or a rescue (the rescuer's turn). A later rescuer that finds one among its answers
 * sends the same batch again (the one of the highest turn), as a Paxos proposer adopts the value
 * accepted under the highest ballot; so all rescues a majority can vote for give one state.
 */
interface TakenBatch {
  readonly turn: number;
  readonly evidence: readonly Uint8Array[];
  readonly payments: readonly Uint8Array[];
}

/** A rescue this server is running: the relays collected per server, or a batch one had taken. */
interface RescueRun {
  readonly answers: Map<number, ChainLink[]>;
  adopted: TakenBatch | null;
  askedMs: number;
  done: boolean;
}

/** What a handover or a rescue brings: a window's payments, in order, on a base checkpoint. */
type Batch = Pick<Handover, "window" | "baseWindow" | "baseHash" | "payments">;

export type Effect =
  /** Send to every other server. */
  | { readonly kind: "broadcast"; readonly what: "handover" | "vote" | "relay" | "rescue" | "proof"; readonly message: Uint8Array }
  /** Send to one server (a relay it lacks, "held" to the alpha, or proofs it may lack). */
  | { readonly kind: "send"; readonly to: number; readonly what: "relay" | "held" | "proof"; readonly message: Uint8Array }
  /** Ask every other server for the handover of `window` (GET /peer/handover); answers go to receive(). */
  | { readonly kind: "fetch-handover"; readonly window: number }
  /** Ask every other server for the relays of `window` it holds (GET /peer/relays); answers go to receiveRelays(). */
  | { readonly kind: "collect-relays"; readonly window: number }
  /** Ask every other server for its latest certificate; answers go to receiveCertificate. */
  | { readonly kind: "pull-certificates" }
  /** Fetch payments of windows (afterWindow, window] from one of `sources`; answer to completeResync. */
  | { readonly kind: "resync"; readonly afterWindow: number; readonly window: number; readonly hash: Uint8Array; readonly sources: readonly number[] };

export type ReceiveResult = { ok: true; effects: Effect[] } | { ok: false; reason: string; effects: Effect[] };

export interface CoordinatorOptions {
  readonly network: Network;
  readonly selfIndex: number;
  /** The server key's seed, to sign handovers and votes. */
  readonly seed: Uint8Array;
  readonly ledger: ConsensusLedger;
  readonly verify: Verify;
  readonly log: Logger;
  /** Commits payments still queued in the intake, so the handover includes every acceptance. */
  readonly flushIntake: () => void;
  /** A ledger write failed on storage and will be retried (the node logs it, throttled). */
  readonly onStorageError?: (what: string, error: StorageError) => void;
  /** This alpha's payments of `window` at positions [0, count) are held by a strict majority. */
  readonly onReplicated?: (window: number, count: number) => void;
  /** This server's agreed checkpoint moved to `window` (recorded or resynced). */
  readonly onAgreed?: (window: number) => void;
  /** Everything after the checkpoint of `window` was undone here (a rollback). */
  readonly onUndone?: (window: number) => void;
}

/** How long to wait for a handover to catch up with a consensus learned before it (reordering). */
const CONSENSUS_GRACE_MS_MIN = 200;
/** How often a server that is behind asks its peers for their latest certificate: interval/8, within these. */
const PULL_INTERVAL_MS_MIN = 100;
const PULL_INTERVAL_MS_MAX = 5_000;
/** How many windows of votes and replay records to remember. */
const WINDOWS_REMEMBERED = 8;
/** Recent consensus events kept for the status page. */
const EVENTS_KEPT = 20;
/** A resync logs its progress every this many payments. */
const RESYNC_PROGRESS_EVERY = 100_000;
/**
 * The alpha relays what it committed at once, but not more often than interval / (this): at most
 * half of RESCUE_RELAYS_MAX relays a window by time; the others go when relayPaymentsMax wait.
 */
const RELAYS_PER_WINDOW_BY_TIME = 2048;
/** A peer that has said nothing new for this long while behind is sent the relays it lacks again. */
const RELAY_RESEND_QUIET_MS = 300;
/** Relays resent to one peer at a time (the peer link's in-flight bound). */
const RELAY_RESENDS_MAX = 8;
// How many payments one relay holds (limits.relayPaymentsMax) and the relay check queue's bound
// (limits.preverifyQueueMax) follow the network's capacity: core/consensus/peer-limits.ts.
/**
 * After a failed resync the next waits this long, doubling per failure up to the max: a resync
 * fetches history from a peer, and one that fails (full disk, bad source) must not loop every tick.
 */
export const RESYNC_RETRY_MS_MIN = 250;
export const RESYNC_RETRY_MS_MAX = 30_000;

export interface ConsensusEvent {
  readonly window: number;
  readonly kind: "agreed" | "rollback" | "resync" | "disagree" | "rescue" | "equivocation";
  readonly atMs: number;
  readonly detail: string;
}

interface Certified {
  readonly hash: Uint8Array;
  /** The history digest the majority voted with the hash (PROTOCOL §6a). */
  readonly history: Uint8Array;
  readonly voters: number[];
  readonly certificate: Uint8Array;
  readonly learnedAtMs: number;
}

export class Coordinator {
  private readonly schedule: ScheduleParams;
  /** Message sizes of this network, from its capacity. */
  private readonly limits: PeerLimits;
  private readonly networkId: Uint8Array;
  private readonly n: number;
  private readonly self: number;
  private readonly selfKey: Uint8Array;
  private agreedCheckpoint: Checkpoint;
  private readonly votes = new Map<number, Map<number, Vote>>();
  private readonly handoversSeen = new Set<number>();
  private readonly voted = new Set<number>();
  /** When this server last sent its vote for a window (for resending until the outcome is everywhere). */
  private readonly lastVoteSentMs = new Map<number, number>();
  private readonly handedOver = new Set<number>();
  private readonly certified = new Map<number, Certified>();
  private deferredHandover: Batch | null = null;
  private syncing: { window: number; startedMs: number } | null = null;
  private lastPullMs = -Infinity;
  private deepResync = false;
  /** Failed resyncs in a row, and when the next may start. */
  private resyncFailures = 0;
  private resyncRetryAtMs = -Infinity;
  /** This alpha's replication stream of its latest window: committed, relayed, held by whom. */
  private outbox: ReplicationOutbox | null = null;
  /** What this server holds of other alphas' windows (on disk too). */
  private readonly inbox = new RelayInbox();
  /** Handovers received (as signed by their beta), served to a peer that missed one. */
  private readonly handoversKept = new Map<number, Uint8Array>();
  /** When this server last asked its peers for a window's missing handover. */
  private readonly handoverAskedMs = new Map<number, number>();
  /** The rescue of a window this server (its next alpha) is running: relays collected per server. */
  private readonly rescues = new Map<number, RescueRun>();
  /**
   * Windows whose relays this server gave a rescuer, with the rescuer's turn (1 = the next alpha):
   * it takes no handover of them any more, nor a rescue from an earlier turn (as a Paxos acceptor
   * that promised a higher ballot: the rescue that collected from a majority is then the only one
   * a majority can vote for).
   */
  private readonly promised = new Map<number, number>();
  /**
   * Windows whose relays this server gave a rescuer, or is rescuing itself: it stores no more of
   * their relays, so it never tells the alpha it holds a payment the rescue may not include.
   */
  private readonly relaysClosed = new Set<number>();
  /** Relayed payments waiting for a signature check, with their window. */
  private preverifyQueue: { window: number; bytes: Uint8Array }[] = [];
  /**
   * Relayed payments applied ahead of the handover, in the alpha's order, on this server's
   * checkpoint. When the handover lists the same payments first, they are already applied and
   * only the rest is; otherwise they are undone first. Null when not speculating.
   */
  private speculation: { window: number; baseWindow: number; payments: Uint8Array[]; broken: boolean } | null = null;
  /** Per window: payments (as latin1 strings of their 140 bytes) whose signature checked out. */
  private readonly verified = new Map<number, Set<string>>();
  private readonly peerLastVote = new Map<number, { window: number; hash: string; history: string }>();
  /**
   * The newest window this server knows to be final: agreed here, and voted for at its hash by a
   * final quorum q (2q − n ≥ 2; a lone server: itself). Learned from the votes (which are resent
   * until every server has moved on), so a restarted server knows it again from the next one.
   */
  private finalWindow = -1;
  /** A window this server resynced to without having voted for it: it votes the agreed hash. */
  private voteAfterResync: number | null = null;
  readonly events: ConsensusEvent[] = [];
  readonly counters = { agreed: 0, rollbacks: 0, resyncs: 0, peerRejected: 0, lateHandovers: 0, rescues: 0, equivocations: 0, revoked: 0 };
  /** Per window, the servers proven to have signed two conflicting messages for it (on disk too). */
  private readonly equivocators = new Map<number, Map<number, { foundAtMs: number }>>();
  /**
   * Checkpoints whose majority needed a proven equivocator, kept while no fork is shown: by the
   * deadline (the end of the next window's beta period) servers not proven faulty must back them
   * (their votes for the window's outcome), or they are withdrawn.
   */
  private readonly provisional = new Map<number, number>();
  /**
   * The window in which a withdrawal undid this alpha's own accepted payments: it accepts nothing
   * more in it, or its next relays would restart positions its peers hold other payments at.
   */
  private undoneOwnWindow: number | null = null;
  /** Checkpoints withdrawn here ("window:hash"): votes and certificates built on them count for nothing. */
  private readonly withdrawnBases = new Set<string>();
  /** Per window, the peers this server sent its proofs of that window to (once each). */
  private readonly proofsSentTo = new Map<number, Set<number>>();

  constructor(private readonly o: CoordinatorOptions) {
    this.n = o.network.servers.length;
    this.self = o.selfIndex;
    this.selfKey = o.network.servers[o.selfIndex]!.key;
    this.schedule = { serverCount: this.n, intervalMs: o.network.intervalMs, blackoutMs: o.network.blackoutMs };
    this.limits = peerLimits(o.network.capacity);
    this.networkId = o.network.id;
    this.agreedCheckpoint = o.ledger.agreed();
    this.loadOwnVotes();
    this.loadRelays();
    this.restoreOutbox();
    this.loadEquivocations();
    // A checkpoint recorded by an older scryp (votes of scryp-peer/1 or /2: without the network id, or without the history digest)
    // stays this server's checkpoint, but its certificate is not served: every peer would refuse
    // it. The next agreed window brings one of this format.
    if (this.agreedCheckpoint.certificate.length > 0 && !isCertificateOf(this.agreedCheckpoint.certificate, this.networkId)) {
      o.log.warn("coordinator", `the certificate of window ${this.agreedCheckpoint.window} was recorded by an older scryp (another peer message format); it is not served to peers`);
    }
  }

  get agreed(): { window: number; hash: string } {
    return { window: this.agreedCheckpoint.window, hash: toHex(this.agreedCheckpoint.hash) };
  }

  /** The smallest q with 2q − n ≥ 2: any two sets of q servers share two, so at least one honest. */
  get finalQuorum(): number {
    return this.n === 1 ? 1 : Math.ceil((this.n + 2) / 2);
  }

  get final(): { window: number } {
    return { window: this.finalWindow };
  }

  /** Window `window` is final here once this server recorded it and q votes back its hash. */
  private noteFinal(window: number): void {
    if (window <= this.finalWindow || window > this.agreedCheckpoint.window) return;
    const recorded = window === this.agreedCheckpoint.window ? this.agreedCheckpoint : this.o.ledger.checkpoint(window);
    const forWindow = this.votes.get(window);
    if (recorded === undefined || forWindow === undefined) return;
    const agreedVote = this.certificateVote(recorded.certificate);
    if (agreedVote === null) return;
    let backing = 0;
    for (const vote of forWindow.values()) if (sameOutcome(vote, agreedVote)) backing++;
    if (backing >= this.finalQuorum) this.finalWindow = window;
  }

  get isSyncing(): boolean {
    return this.syncing !== null;
  }

  private majority(count: number): boolean {
    return count * 2 > this.n;
  }

  /** The newest window whose payments are applied to this server's state but not agreed, if any. */
  private pendingWindow(): number | null {
    const latest = this.o.ledger.latestWindow();
    return latest !== null && latest > this.agreedCheckpoint.window ? latest : null;
  }

  /** Null when this server may accept a payment now; otherwise the refusal to give. */
  gate(nowMs: number): { code: ErrorCode; message: string } | null {
    const roles = rolesAt(nowMs, this.schedule);
    if (roles.alpha !== this.self) {
      const next = nextAccepting(nowMs, this.schedule);
      const who = this.o.network.servers[next.server]!;
      return {
        code: "NOT_ACCEPTING",
        message: `this server is not accepting payments now; server ${who.keyHex} (${who.address}) accepts from ${new Date(next.fromMs).toISOString()} until ${new Date(next.untilMs).toISOString()}`,
      };
    }
    const me = this.o.network.servers[this.self]!;
    const until = new Date(blackoutStartMs(roles.window, this.schedule)).toISOString();
    if (this.syncing !== null) {
      return {
        code: "NOT_ACCEPTING",
        message: `server ${me.keyHex} (${me.address}) is the alpha until ${until} but is catching up with the agreed ledger; it accepts as soon as it has (try again in a moment)`,
      };
    }
    // Accepting before the previous window is agreed here is how double spends get in: a payer
    // could spend again what the previous alpha already accepted. A lone server agrees with itself.
    if (this.n > 1 && this.agreedCheckpoint.window !== roles.window - 1) {
      return {
        code: "NOT_ACCEPTING",
        message: `server ${me.keyHex} (${me.address}) is the alpha until ${until} and accepts once the previous window's handover is agreed (normally within a second; try again in a moment)`,
      };
    }
    // Its majority needed a server proven faulty: payments accepted on it could go with it.
    if (this.provisional.size > 0 || this.undoneOwnWindow === roles.window) {
      return {
        code: "NOT_ACCEPTING",
        message: `server ${me.keyHex} (${me.address}) is the alpha until ${until}, but a recent window was agreed with the vote of a server proven faulty; it accepts once the other servers confirm it (or, if the window was withdrawn, from the next window on)`,
      };
    }
    return null;
  }

  tick(nowMs: number): Effect[] {
    const effects: Effect[] = [];
    const roles = rolesAt(nowMs, this.schedule);
    for (const [window, deadline] of this.provisional) if (nowMs >= deadline) this.reconsiderCheckpoint(window, nowMs);
    this.expirePending(nowMs, effects);

    this.flushRelay(nowMs, effects, false);
    this.resendRelays(nowMs, effects);
    if (this.voteAfterResync !== null) {
      const w = this.voteAfterResync;
      this.voteAfterResync = null;
      // Only while it is still this server's state (nothing applied after it since).
      if (w === this.agreedCheckpoint.window && this.pendingWindow() === null && this.votes.get(w)?.get(this.self) === undefined) this.castVote(w, nowMs, effects);
    }
    // A handover kept while this server was behind is applied as soon as it reaches the base,
    // whichever way it got there (resync, rollback, restart), before anything votes "no batch".
    if (this.deferredHandover !== null && this.syncing === null) this.retryDeferred(nowMs, effects);
    // Hand over at the blackout: flush the intake first so every acceptance is in the batch.
    const k = roles.betaWindow;
    if (k !== null && roles.beta === this.self && nowMs >= blackoutStartMs(k, this.schedule) && !this.handedOver.has(k)) {
      this.handOver(k, nowMs, effects);
    }
    // No handover by the start of the next window: ask for it, rescue the window, or at last
    // vote the unchanged state.
    if (k !== null && roles.beta !== this.self && nowMs >= windowStartMs(k + 1, this.schedule) && !this.voted.has(k)) this.missingHandover(k, nowMs, effects);
    // A consensus this server is not at, once the handover had its chance: resync.
    for (const [window, c] of this.certified) {
      if (window <= this.agreedCheckpoint.window || this.syncing !== null) continue;
      const graceMs = Math.max(CONSENSUS_GRACE_MS_MIN, this.o.network.skewMs);
      if (nowMs - c.learnedAtMs >= graceMs || this.voted.has(window)) this.settle(window, nowMs, effects, true);
    }
    // Voted but no consensus seen yet: the votes may have been lost on the way here while a
    // majority exists elsewhere. Ask for certificates well before the rollback deadline.
    // (Also after a "no batch" vote, which leaves nothing pending.)
    for (const w of this.voted) {
      if (w <= this.agreedCheckpoint.window || this.certified.has(w) || this.syncing !== null) continue;
      if (nowMs >= blackoutStartMs(w, this.schedule) + this.pullIntervalMs()) this.pull(nowMs, effects);
    }
    this.resendVotes(nowMs, effects);
    // Far behind (restarted, or missed certificates): ask the peers now and then.
    if (this.n > 1 && this.syncing === null && this.agreedCheckpoint.window < roles.window - 2) this.pull(nowMs, effects);
    this.prune(roles.window);
    return effects;
  }

  /**
   * No handover of window k by the start of window k+1: its beta crashed, or its messages were
   * lost. A server at k's base asks the others for it (one that took it, or a rescue, answers with
   * it), and in turn the alphas after k rescue the window from the relays a majority hold
   * (rescue()). A rescue of no relays is the unchanged state — what a "no batch" vote was, now in
   * the rescue's order, so that no server votes it over relays a majority may hold. A server that
   * is behind asks for certificates instead.
   */
  private missingHandover(k: number, nowMs: number, effects: Effect[]): void {
    if (this.agreedCheckpoint.window < k - 1) return this.pull(nowMs, effects);
    if (this.agreedCheckpoint.window !== k - 1 || this.syncing !== null) return;
    if (!this.handoversSeen.has(k) && nowMs - (this.handoverAskedMs.get(k) ?? -Infinity) >= this.pullIntervalMs()) {
      this.handoverAskedMs.set(k, nowMs);
      effects.push({ kind: "fetch-handover", window: k });
    }
    if (nowMs >= this.rescueStartMs(k, this.self)) this.rescue(k, nowMs, effects);
  }

  /**
   * The rest of window k's beta period after the handover's deadline is split into n steps: the
   * alpha of k+1 may rescue from the first, the alpha of k+2 from the second (the first may be cut
   * off from a majority), and so on, each until the beta period ends.
   */
  private rescueStepMs(k: number): number {
    return Math.floor((blackoutStartMs(k + 1, this.schedule) - windowStartMs(k + 1, this.schedule)) / this.n);
  }

  /** The turn of `server` to rescue window k: i for the alpha of k+i, 0 for k's own alpha (never). */
  private rescueTurn(k: number, server: number): number {
    return (((server - alphaOf(k, this.schedule)) % this.n) + this.n) % this.n;
  }

  /** When `server` may rescue window k: the alpha of k+i from step i−1 (never, for k's own alpha). */
  private rescueStartMs(k: number, server: number): number {
    const i = this.rescueTurn(k, server);
    return i === 0 ? Infinity : windowStartMs(k + 1, this.schedule) + (i - 1) * this.rescueStepMs(k);
  }

  private promise(window: number, rescuer: number): void {
    this.promised.set(window, Math.max(this.promised.get(window) ?? 0, this.rescueTurn(window, rescuer)));
  }

  /**
   * This server's turn to rescue window k, whose handover did not come: collect the relays of k
   * that the others hold (each answer is also a promise, see relaysAnswer), and once a strict
   * majority (this server included) answered, send the longest prefix the alpha signed as k's
   * batch. Every acknowledged payment is in it: a majority
   * held it, and any two majorities share a server.
   */
  private rescue(k: number, nowMs: number, effects: Effect[]): void {
    let r = this.rescues.get(k);
    if (r === undefined) {
      // Own relays count as one answer. (No promise here: until it sends its rescue, the rescuer
      // takes the window's handover if one reaches it, and then votes for that instead.)
      this.relaysClosed.add(k);
      this.promise(k, this.self);
      r = { answers: new Map([[this.self, [...this.inbox.chain(k)]]]), adopted: null, askedMs: -Infinity, done: false };
      this.rescues.set(k, r);
      this.o.log.warn("coordinator", `no handover of window ${k} from its beta; rescuing it from the relays the servers hold`, { window: k });
    }
    if (r.done) return;
    // A batch reached this server meanwhile (and it voted for it): nothing to rescue.
    if (this.handoversSeen.has(k)) {
      r.done = true;
      return;
    }
    if (this.majority(r.answers.size)) return this.completeRescue(k, r, nowMs, effects);
    if (nowMs - r.askedMs < this.pullIntervalMs()) return;
    r.askedMs = nowMs;
    effects.push({ kind: "collect-relays", window: k });
  }

  private completeRescue(k: number, r: RescueRun, nowMs: number, effects: Effect[]): void {
    r.done = true;
    // Answers that come after the beta period are too late: the window is rolled back here (and
    // everywhere) at that moment, and a vote for it now could only form a majority with votes cast
    // before, after the others went on from the checkpoint before it.
    if (nowMs >= blackoutStartMs(k + 1, this.schedule)) {
      this.o.log.warn("coordinator", `rescue of window ${k}: the answers came after its beta period; not rescued`, { window: k });
      return;
    }
    // The alpha's relays as a majority holds them: two that differ at one position prove it faulty.
    const pair = conflictingPair([...r.answers.values()].flat());
    if (pair !== null) {
      const [a, b] = pair.map((l) => parsePeerMessage(l.bytes, this.networkId, this.limits));
      if (a?.ok && b?.ok) this.proveEquivocation(alphaOf(k, this.schedule), a.message, b.message, `two relays with different payments at one position`, nowMs, effects);
    }
    let batch: TakenBatch;
    if (r.adopted !== null) {
      batch = r.adopted;
    } else {
      let prefix = longestPrefix([...r.answers.values()].flat());
      // A faulty alpha could have split its window into more relays than a rescue carries.
      if (prefix.links.length > this.limits.rescueRelaysMax) prefix = longestPrefix(prefix.links.slice(0, this.limits.rescueRelaysMax));
      batch = { turn: this.rescueTurn(k, this.self), evidence: prefix.links.map((l) => l.bytes), payments: prefix.payments };
    }
    const base = this.agreedCheckpoint;
    this.handoversSeen.add(k);
    this.counters.rescues++;
    this.applyHandover({ window: k, baseWindow: base.window, baseHash: base.hash, payments: batch.payments }, nowMs, effects);
    const message = encodeRescue(
      { networkId: this.networkId, sender: this.selfKey, window: k, sentAtMs: nowMs, baseWindow: base.window, baseHash: base.hash, hash: this.o.ledger.stateHashBytes(), relays: batch.evidence },
      this.o.seed,
      this.limits,
    );
    this.handoversKept.set(k, message);
    const from = r.adopted === null ? `the relays of ${r.answers.size} of ${this.n} servers` : `the batch a server had taken (${r.adopted.turn === 0 ? "the beta's handover" : `a rescue of turn ${r.adopted.turn}`})`;
    this.event(k, "rescue", nowMs, `rescued from ${from}: ${batch.payments.length} payment(s)`);
    this.o.log.info("coordinator", `rescue of window ${k}: ${batch.payments.length} payment(s) from ${from}`, { window: k });
    effects.push({ kind: "broadcast", what: "rescue", message });
  }

  /**
   * A peer's answer to collect-relays for `window`: the relays it holds, or the batch it took for
   * the window (the beta's handover, or a rescue), which this rescue then adopts (TakenBatch).
   */
  receiveRelays(from: number, window: number, messages: readonly Uint8Array[], nowMs: number): ReceiveResult {
    const effects: Effect[] = [];
    const r = this.rescues.get(window);
    if (r === undefined || r.done || r.answers.has(from)) return { ok: true, effects };
    const refuse = (reason: string): ReceiveResult => this.rejected(`relays answer of server ${from}: ${reason}`, effects);
    const links: ChainLink[] = [];
    for (const bytes of messages) {
      const parsed = parsePeerMessage(bytes, this.networkId, this.limits);
      if (parsed.ok && (parsed.message.type === "handover" || parsed.message.type === "rescue") && parsed.message.window === window) {
        const taken = this.takenBatch(parsed.message);
        if (typeof taken === "string") return refuse(taken);
        if (r.adopted === null || taken.turn > r.adopted.turn) r.adopted = taken;
        continue;
      }
      const relay = this.windowRelay(bytes, window);
      if (typeof relay === "string") return refuse(relay);
      links.push(linkOf(relay));
    }
    r.answers.set(from, links);
    if (this.majority(r.answers.size)) this.completeRescue(window, r, nowMs, effects);
    return { ok: true, effects };
  }

  /** A handover or rescue another server took, checked (signatures, evidence) as if it came here. */
  private takenBatch(m: Handover | Rescue): TakenBatch | string {
    if (!verifyPeerMessage(m, this.o.verify)) return `a ${m.type} with a bad signature`;
    const sender = this.serverIndexOf(m.sender);
    if (m.type === "handover") {
      if (sender !== alphaOf(m.window, this.schedule)) return `a handover of window ${m.window} not from its beta`;
      return { turn: 0, evidence: [m.bytes], payments: m.payments };
    }
    const turn = sender < 0 ? 0 : this.rescueTurn(m.window, sender);
    if (turn === 0) return `a rescue of window ${m.window} not from one of its rescuers`;
    const payments = this.rescueEvidence(m.relays, m.window);
    if (typeof payments === "string") return payments;
    return { turn, evidence: m.relays, payments };
  }

  /**
   * The payments a rescue's evidence gives: the beta's own handover (adopted from a server that
   * had taken it), or relays of the window's alpha, of which the longest prefix counts.
   */
  private rescueEvidence(evidence: readonly Uint8Array[], window: number): readonly Uint8Array[] | string {
    if (evidence.length === 1) {
      const parsed = parsePeerMessage(evidence[0]!, this.networkId, this.limits);
      if (parsed.ok && parsed.message.type === "handover") {
        const m = parsed.message;
        if (m.window !== window || !equalBytes(m.sender, this.o.network.servers[alphaOf(window, this.schedule)]!.key)) return `a handover in the rescue not of window ${window} from its beta`;
        if (!verifyPeerMessage(m, this.o.verify)) return "a handover in the rescue with a bad signature";
        return m.payments;
      }
    }
    const links: ChainLink[] = [];
    for (const bytes of evidence) {
      const relay = this.windowRelay(bytes, window);
      if (typeof relay === "string") return `rescue of window ${window}: ${relay}`;
      links.push(linkOf(relay));
    }
    return longestPrefix(links).payments;
  }

  /**
   * Whether this server is rescuing `window` itself and has not sent its rescue: then it still
   * takes the window's handover if one reaches it, unless it promised a later rescuer.
   */
  private rescuing(window: number): boolean {
    const r = this.rescues.get(window);
    return r !== undefined && !r.done && (this.promised.get(window) ?? 0) <= this.rescueTurn(window, this.self);
  }

  /**
   * A relay of `window` signed by that window's alpha, or why not. `checkSignature` false only for
   * the relays this server stored itself, each checked before it was stored.
   */
  private windowRelay(bytes: Uint8Array, window: number, checkSignature = true): Relay | string {
    const parsed = parsePeerMessage(bytes, this.networkId, this.limits);
    if (!parsed.ok) return parsed.reason;
    const m = parsed.message;
    if (m.type !== "relay") return `a ${m.type} where a relay was expected`;
    if (m.window !== window) return `a relay of window ${m.window}, not ${window}`;
    if (!equalBytes(m.sender, this.o.network.servers[alphaOf(window, this.schedule)]!.key)) return `a relay not signed by the alpha of window ${window}`;
    if (checkSignature && !verifyPeerMessage(m, this.o.verify)) return "a relay with a bad signature";
    return m;
  }

  /**
   * What GET /peer/relays answers for `window`: its handover or rescue if this server has one,
   * else the relays it holds (its own, if it is the window's alpha). Answering with relays is a
   * promise to the asking rescuer: this server will not take the window's handover any more, so
   * it cannot vote for a batch other than the rescue it is about to get from a majority's relays.
   */
  relaysAnswer(window: number, requester: number): Uint8Array[] {
    const kept = this.handoversKept.get(window);
    if (kept !== undefined) return [kept];
    if (!this.voted.has(window)) this.promise(window, requester);
    this.relaysClosed.add(window);
    if (this.outbox !== null && this.outbox.window === window) return this.outbox.sent.map((l) => l.bytes);
    return this.inbox.chain(window).map((l) => l.bytes);
  }

  /** Whether this server holds these 140 bytes among the relays of `window` (the simulator's checks). */
  holdsRelayed(window: number, payment: Uint8Array): boolean {
    return this.inbox.holds(window, payment);
  }

  /** What GET /peer/handover answers: the handover (or rescue) of `window` this server took, if any. */
  handoverOf(window: number): Uint8Array | null {
    return this.handoversKept.get(window) ?? null;
  }

  /**
   * Votes are sent again, every pull interval, until every peer has shown it holds the window's
   * outcome (a vote of its own for a later window), for at most one window past the window's
   * rollback deadline. A vote lost on the way is otherwise never repaired, and a peer that voted
   * for a window a majority agreed on, but never learned it, would roll it back.
   */
  private resendVotes(nowMs: number, effects: Effect[]): void {
    if (this.n === 1) return;
    for (const [window, sentMs] of this.lastVoteSentMs) {
      if (nowMs >= blackoutStartMs(window + 2, this.schedule)) {
        this.lastVoteSentMs.delete(window);
        continue;
      }
      if (nowMs - sentMs < this.pullIntervalMs()) continue;
      const everyoneMovedOn = this.o.network.servers.every((_, i) => i === this.self || (this.peerLastVote.get(i)?.window ?? -Infinity) > window);
      // In a window with a proven equivocator, every server decides on the votes it holds at the
      // deadline (reconsiderCheckpoint): they are resent until then, whoever moved on.
      if (everyoneMovedOn && !this.equivocators.has(window)) {
        this.lastVoteSentMs.delete(window);
        continue;
      }
      const own = this.votes.get(window)?.get(this.self);
      if (own === undefined) continue;
      this.lastVoteSentMs.set(window, nowMs);
      effects.push({ kind: "broadcast", what: "vote", message: own.bytes });
    }
  }

  /**
   * The newest certificate this server knows, recorded or only learned (a server resyncing to
   * it, or holding it while its own state differs, still serves it): what GET /peer/certificate
   * answers, so a peer that missed the votes learns the outcome from anyone who has it.
   */
  newestCertificate(): { window: number; certificate: Uint8Array } | null {
    // A few comparisons of ≤ 45 bytes a vote, no signature (see the constructor).
    const served = this.agreedCheckpoint.certificate.length > 0 && isCertificateOf(this.agreedCheckpoint.certificate, this.networkId);
    let best: { window: number; certificate: Uint8Array } | null =
      served ? { window: this.agreedCheckpoint.window, certificate: this.agreedCheckpoint.certificate } : null;
    for (const [window, c] of this.certified) if (best === null || window > best.window) best = { window, certificate: c.certificate };
    return best;
  }

  /** Everything after the last checkpoint whose beta period is over without a majority is undone. */
  private expirePending(nowMs: number, effects: Effect[]): void {
    const pending = this.pendingWindow();
    if (pending === null || this.syncing !== null) return;
    if (nowMs < blackoutStartMs(pending + 1, this.schedule)) return;
    if (this.certified.has(pending)) return; // settle() will resync to it
    if (this.n === 1) {
      // A lone server is its own majority: agree with itself instead of dropping its payments.
      if (!this.voted.has(pending)) this.castVote(pending, nowMs, effects);
      return;
    }
    this.rollback(nowMs, `no majority for window ${pending} by the end of its beta period`, pending);
  }

  private rollback(nowMs: number, why: string, window: number): void {
    this.speculation = null;
    let undone = 0;
    // Not stored: the payments stay pending, and expirePending() tries again on a later tick.
    if (!this.stored(`rollback to window ${this.agreedCheckpoint.window}`, () => (undone = this.o.ledger.rollbackAfter(this.agreedCheckpoint.window)))) return;
    this.counters.rollbacks++;
    this.o.onUndone?.(this.agreedCheckpoint.window);
    this.event(window, "rollback", nowMs, `${why}; returned to window ${this.agreedCheckpoint.window}, ${undone} payment(s) undone`);
    this.o.log.warn("coordinator", `rollback: ${why}; returned to the checkpoint of window ${this.agreedCheckpoint.window}`, { undone });
  }

  private handOver(k: number, nowMs: number, effects: Effect[]): void {
    this.o.flushIntake();
    // The rest of the replication stream first: peers then hold the whole window, should the
    // handover itself be lost.
    this.flushRelay(nowMs, effects, true);
    this.handedOver.add(k);
    // Already at a checkpoint of this window or later (a certificate came first, a resync): the
    // window is decided; a handover on that base would be no batch of window k.
    if (this.agreedCheckpoint.window >= k) {
      this.o.log.info("coordinator", `window ${k} is already agreed here (at window ${this.agreedCheckpoint.window}): no handover`, { window: k });
      return;
    }
    this.handoversSeen.add(k);
    const payments = this.o.ledger.windowPayments(k);
    const hash = this.o.ledger.stateHashBytes();
    const message = encodeHandover(
      {
        networkId: this.networkId,
        sender: this.selfKey,
        window: k,
        sentAtMs: nowMs,
        baseWindow: this.agreedCheckpoint.window,
        baseHash: this.agreedCheckpoint.hash,
        hash,
        payments,
      },
      this.o.seed,
      this.limits,
    );
    this.handoversKept.set(k, message);
    this.o.log.info("coordinator", `handover of window ${k}: ${payments.length} payment(s)`, { window: k, hash: toHex(hash) });
    if (this.n > 1) effects.push({ kind: "broadcast", what: "handover", message });
    this.castVote(k, nowMs, effects);
  }

  /**
   * Votes for the current state in `window`: written to disk first, then sent. A server votes at
   * most once per window, also across restarts: a vote already cast (in memory, or on disk from
   * before a restart) is sent again as it is, never replaced by a different one.
   *
   * The vote commits to the base the window was applied on (this server's checkpoint; for a window
   * already agreed here, the base the majority voted with), the digest of the window's payments
   * held here, the state hash and the history digest (PROTOCOL §6a).
   */
  private castVote(window: number, nowMs: number, effects: Effect[]): void {
    const earlier = this.votes.get(window)?.get(this.self);
    const now = { hash: this.o.ledger.stateHashBytes(), history: this.o.ledger.historyDigest() };
    if (earlier !== undefined) {
      this.voted.add(window);
      if (!sameOutcome(earlier, now)) {
        this.o.log.warn("coordinator", `window ${window}: this server already voted for another state (before a restart); not voting again`, { window });
        return;
      }
      this.lastVoteSentMs.set(window, nowMs);
      if (this.n > 1) effects.push({ kind: "broadcast", what: "vote", message: earlier.bytes });
      this.checkConsensus(window, nowMs, effects);
      return;
    }
    let base: { window: number; hash: Uint8Array } = this.agreedCheckpoint;
    if (window === this.agreedCheckpoint.window) {
      const majorityVote = this.certificateVote(this.agreedCheckpoint.certificate);
      if (majorityVote === null) return; // a checkpoint of an older format: nothing to vote with
      base = { window: majorityVote.baseWindow, hash: majorityVote.baseHash };
    }
    // A vote is for a window after its base (§5); anything else is a state this server should not vote on.
    if (window <= base.window) {
      this.o.log.warn("coordinator", `window ${window}: not voting on base ${base.window}`, { window });
      return;
    }
    const message = encodeVote(
      { networkId: this.networkId, sender: this.selfKey, window, sentAtMs: nowMs, baseWindow: base.window, baseHash: base.hash, batch: this.o.ledger.batchDigest(window), hash: now.hash, history: now.history },
      this.o.seed,
    );
    const decoded = parsePeerMessage(message, this.networkId, this.limits);
    assert(decoded.ok && decoded.message.type === "vote", "own vote does not parse");
    // On disk before anyone sees it. If the disk refuses, no vote: as if it had been lost.
    if (!this.stored(`recording this server's vote for window ${window}`, () => this.o.ledger.recordOwnVote(window, message, nowMs))) return;
    this.voted.add(window);
    this.recordVote(this.self, decoded.message);
    this.lastVoteSentMs.set(window, nowMs);
    if (this.n > 1) effects.push({ kind: "broadcast", what: "vote", message });
    this.checkConsensus(window, nowMs, effects);
  }

  /**
   * This server's votes from before a restart: it knows what it voted, and will not vote again.
   * A stored vote that does not decode was written by an older scryp (scryp-peer/1 or /2, without the
   * network id): it is skipped with a warning. No peer of this format would take it, so it cannot
   * be sent again, and a new vote for its window cannot be shown as a second one: votes of the two
   * formats are of different protocols, which all servers of a network switch to together.
   */
  private loadOwnVotes(): void {
    for (const { window, bytes } of this.o.ledger.ownVotes()) {
      const decoded = parsePeerMessage(bytes, this.networkId, this.limits);
      if (!decoded.ok) {
        this.o.log.warn("coordinator", `the stored vote of this server for window ${window} is not of this format (${decoded.reason}): made by an older scryp; ignored`, { window });
        // Its row would keep a vote of this format from being stored for the window (a vote is
        // never replaced), so that one could be cast again after a restart: forget it.
        this.stored(`forgetting the old-format vote of window ${window}`, () => this.o.ledger.forgetOwnVote(window));
        continue;
      }
      // Of this format but not this server's well-signed vote: the data directory is corrupt.
      assert(decoded.message.type === "vote" && verifyPeerMessage(decoded.message, this.o.verify) && equalBytes(decoded.message.sender, this.selfKey) && decoded.message.window === window, `stored vote for window ${window} is not this server's`);
      this.voted.add(window);
      this.recordVote(this.self, decoded.message);
    }
  }

  /**
   * The intake committed these payments (this server is the alpha of `window`): they join the
   * window's replication stream. Returns the position of the first in the window, how many of the
   * window's payments a majority holds now (a lone server: all), and the relays to send.
   */
  accepted(payments: readonly Uint8Array[], window: number, nowMs: number): { first: number; heldByMajority: number; effects: Effect[] } {
    const effects: Effect[] = [];
    if (this.outbox === null || this.outbox.window < window) this.outbox = new ReplicationOutbox(window, this.n, this.self, nowMs);
    const out = this.outbox;
    assert(out.window === window, `payments committed for window ${window} while window ${out.window} is being replicated`);
    const first = out.commit(payments);
    this.flushRelay(nowMs, effects, false);
    return { first, heldByMajority: out.heldByMajority, effects };
  }

  /** Relays what this alpha committed: at once, but by time at most RELAYS_PER_WINDOW_BY_TIME a window. */
  private flushRelay(nowMs: number, effects: Effect[], force: boolean): void {
    const out = this.outbox;
    if (out === null || out.unsent.length === 0 || this.n === 1) {
      if (out !== null && this.n === 1) out.unsent.length = 0; // a lone server has no one to relay to
      return;
    }
    const gapMs = this.o.network.intervalMs / RELAYS_PER_WINDOW_BY_TIME;
    if (!force && out.unsent.length < this.limits.relayPaymentsMax && nowMs - out.lastRelayMs < gapMs) return;
    while (out.unsent.length > 0 && out.sent.length < this.limits.rescueRelaysMax) {
      const { first, payments } = out.takeUnsent(this.limits.relayPaymentsMax);
      const message = encodeRelay({ networkId: this.networkId, sender: this.selfKey, window: out.window, sentAtMs: nowMs, first, payments }, this.o.seed, this.limits);
      out.recordSent({ first, payments, bytes: message });
      effects.push({ kind: "broadcast", what: "relay", message });
    }
    out.lastRelayMs = nowMs;
  }

  /** A peer behind on this alpha's window that has been quiet a while gets the relays it lacks again. */
  private resendRelays(nowMs: number, effects: Effect[]): void {
    const out = this.outbox;
    if (out === null || this.n === 1 || out.window <= this.agreedCheckpoint.window) return;
    for (let i = 0; i < this.n; i++) {
      if (i === this.self) continue;
      for (const l of out.resendsFor(i, nowMs, RELAY_RESEND_QUIET_MS, RELAY_RESENDS_MAX)) effects.push({ kind: "send", to: i, what: "relay", message: l.bytes });
    }
  }

  /** The relays this server stored before a restart: it still holds them, and says so when asked. */
  private loadRelays(): void {
    for (const row of this.o.ledger.storedRelays()) {
      // Not checked again: up to 8 windows of relays, each checked before this server stored it.
      const relay = this.windowRelay(row.bytes, row.window, false);
      if (typeof relay === "string") {
        this.o.log.warn("coordinator", `a stored relay of window ${row.window} is not usable (${relay}); ignored`);
        continue;
      }
      this.inbox.add(row.window, linkOf(relay));
    }
  }

  /**
   * After a restart in (or just after) its own window, the alpha's committed payments of that
   * window are relayed again from position 0: peers that hold them already just say so.
   */
  private restoreOutbox(): void {
    const latest = this.o.ledger.latestWindow();
    if (this.n === 1 || latest === null || latest <= this.agreedCheckpoint.window || alphaOf(latest, this.schedule) !== this.self) return;
    this.outbox = new ReplicationOutbox(latest, this.n, this.self, -Infinity);
    this.outbox.commit(this.o.ledger.windowPayments(latest));
  }

  /**
   * Checks the signatures of up to `max` relayed payments; returns how many still wait. The
   * adapter calls it at its own pace (between other work), so the check is done before the
   * handover arrives and the handover costs little more than applying the batch.
   */
  preverify(max: number, nowMs: number): number {
    const batch = this.preverifyQueue.splice(0, max);
    const byWindow = new Map<number, Uint8Array[]>();
    for (const { window, bytes } of batch) {
      const p = decodePayment(bytes);
      if (p !== null && this.o.verify(p.signature, bytes.subarray(0, 76), p.payer)) {
        let set = this.verified.get(window);
        if (!set) this.verified.set(window, (set = new Set()));
        set.add(bytesKey(bytes));
      }
      // In order, valid or not: the speculation replays the alpha's sequence as the handover will.
      let list = byWindow.get(window);
      if (!list) byWindow.set(window, (list = []));
      list.push(bytes);
    }
    for (const [window, payments] of byWindow) this.speculate(window, payments, nowMs);
    return this.preverifyQueue.length;
  }

  /** Applies relayed payments of `window` ahead of its handover, when this server is at its base. */
  private speculate(window: number, payments: Uint8Array[], nowMs: number): void {
    if (this.syncing !== null || window !== this.agreedCheckpoint.window + 1 || alphaOf(window, this.schedule) === this.self) return;
    if (this.voted.has(window) || this.handoversSeen.has(window)) return;
    if (this.speculation === null) {
      if (this.pendingWindow() !== null) return;
      this.speculation = { window, baseWindow: this.agreedCheckpoint.window, payments: [], broken: false };
    }
    const sp = this.speculation;
    if (sp.window !== window || sp.broken) return;
    // Not stored: the sequence applied ahead has a gap, so it is marked broken and the handover is
    // applied whole (after undoing what was applied ahead).
    if (!this.stored(`applying relayed payments of window ${window} ahead`, () => this.applyBatch(window, payments, nowMs))) {
      sp.broken = true;
      return;
    }
    for (const p of payments) sp.payments.push(p);
  }

  /** Undoes a speculation (the handover differs, or none came). */
  private dropSpeculation(): void {
    if (this.speculation === null) return;
    this.speculation = null;
    // Not stored: the payments applied ahead stay pending; no vote is cast on them (pendingWindow()
    // is not null) and expirePending() undoes them after the beta period, retrying until it can.
    this.stored("undoing payments applied ahead", () => this.o.ledger.rollbackAfter(this.agreedCheckpoint.window));
  }

  /**
   * Runs a ledger write. A StorageError (the ledger is unchanged) is reported and gives false, so
   * the caller leaves its own state as if the write had not been tried; anything else is a bug.
   */
  private stored(what: string, write: () => unknown): boolean {
    try {
      write();
      return true;
    } catch (e) {
      if (!(e instanceof StorageError)) throw e;
      if (this.o.onStorageError) this.o.onStorageError(what, e);
      else this.o.log.warn("coordinator", `${what} failed, will retry: ${e.message}`);
      return false;
    }
  }

  get preverifyPending(): number {
    return this.preverifyQueue.length;
  }

  /** A peer message arrived (bytes as received). Rejections change nothing. */
  receive(bytes: Uint8Array, nowMs: number): ReceiveResult {
    const effects: Effect[] = [];
    // Counted here; the adapter logs it, throttled (a stranger can send thousands a second).
    const reject = (reason: string): ReceiveResult => this.rejected(reason, effects);
    // Cheap checks first (layout, sender, window); the signature only for what could be used.
    // A message of another network (one that shares a server key) is refused here, before its
    // signature, with a reason that names both ids.
    const parsed = parsePeerMessage(bytes, this.networkId, this.limits);
    if (!parsed.ok) return reject(parsed.reason);
    const m = parsed.message;
    const sender = this.serverIndexOf(m.sender);
    if (sender < 0) return reject("sender is not a server of this network");
    if (sender === this.self) return reject("message claims to be from this server");
    const roles = rolesAt(nowMs, this.schedule);
    if (m.window > roles.window + 1) return reject(`window ${m.window} is in the future`);
    if (m.window < roles.window - WINDOWS_REMEMBERED) return reject(`window ${m.window} is stale`);
    if (!verifyPeerMessage(m, this.o.verify)) return reject("bad signature");

    switch (m.type) {
      case "relay":
        return this.receiveRelay(m, sender, nowMs);
      case "held": {
        const out = this.outbox;
        // About an older window of this alpha (or one before a restart): nothing to do.
        if (out === null || out.window !== m.window) return { ok: true, effects };
        if (!out.plausible(m.count)) return reject(`server ${sender} claims to hold ${m.count} payments of window ${m.window}; ${out.relayed} were relayed`);
        if (out.peerHolds(sender, m.count, nowMs)) this.o.onReplicated?.(m.window, out.heldByMajority);
        return { ok: true, effects };
      }
      case "vote": {
        const known = this.votes.get(m.window)?.get(sender);
        // The very same vote again is the sender resending until it knows the outcome arrived.
        if (known && equalBytes(known.bytes, m.bytes)) {
          this.checkForFork(m, nowMs, effects);
          return { ok: true, effects };
        }
        if (known) {
          // Both are validly signed (the known one when it came, this one above): a proof.
          this.proveEquivocation(sender, known, m, "two different votes", nowMs, effects);
          return reject("a second, different vote for the same window (proof of equivocation kept and sent)");
        }
        this.recordVote(sender, m);
        this.forwardProofs(sender, m.window, nowMs, effects);
        // A vote for a provisional checkpoint's window may confirm it.
        if (this.provisional.has(m.window)) this.reconsiderCheckpoint(m.window, nowMs);
        this.checkConsensus(m.window, nowMs, effects);
        this.noteFinal(m.window);
        this.checkForFork(m, nowMs, effects);
        return { ok: true, effects };
      }
      case "rescue":
        return this.receiveRescue(m, sender, nowMs);
      case "proof":
        return this.receiveProof(m, nowMs);
      case "handover":
        break;
      default:
        assertNever(m);
    }

    if (alphaOf(m.window, this.schedule) !== sender) return reject(`server ${sender} is not the beta of window ${m.window}`);
    const skew = this.o.network.skewMs;
    if (nowMs < blackoutStartMs(m.window, this.schedule) - skew) return reject(`handover of window ${m.window} before its blackout`);
    if (nowMs >= blackoutStartMs(m.window + 1, this.schedule) + skew) return reject(`handover of window ${m.window} after its beta period`);
    // A second handover of the window, or one that contradicts the relays held: is it a conflict?
    if (this.detectConflict(sender, m, nowMs, effects)) return reject(`server ${sender} is proven faulty in window ${m.window} (proof kept and sent)`);
    if (this.handoversSeen.has(m.window)) return reject("replayed handover");
    // This server gave its relays of the window to a rescuer: it votes for the rescue, not this.
    if (this.promised.has(m.window) && !this.rescuing(m.window)) return reject(`handover of window ${m.window} after this server joined its rescue`);
    this.handoversSeen.add(m.window);
    this.handoversKept.set(m.window, m.bytes);
    this.noteSlowHandover(m, sender, nowMs);
    this.applyHandover(m, nowMs, effects);
    return { ok: true, effects };
  }

  /**
   * A relay of the window's alpha: stored (on disk) if it extends what this server holds of the
   * window, then answered with how far this server holds it, whatever it was (a repeat, or beyond
   * a gap that a resend will fill). Its new payments are queued for the signature check ahead.
   */
  private receiveRelay(m: Relay, sender: number, nowMs: number): ReceiveResult {
    const effects: Effect[] = [];
    const roles = rolesAt(nowMs, this.schedule);
    if (alphaOf(m.window, this.schedule) !== sender) return this.rejected(`server ${sender} is not the alpha of window ${m.window}`, effects);
    if (m.window < roles.window - 1) return this.rejected(`relay for window ${m.window} is stale`, effects);
    if (this.detectConflict(sender, m, nowMs, effects)) return this.rejected(`server ${sender} is proven faulty in window ${m.window} (proof kept and sent)`, effects);
    // Closed (its rescue has what this server held): held stays where it is.
    if (!this.relaysClosed.has(m.window)) {
      if (m.first > this.inbox.held(m.window)) this.inbox.keepAhead(m.window, linkOf(m));
      // This relay, then any kept ones the gap's filling lets follow.
      let link: ChainLink | null = this.inbox.extends(m.window, m.first, m.payments.length) ? linkOf(m) : this.inbox.takeAhead(m.window);
      while (link !== null) {
        const l = link;
        // Not stored (a failing disk): not held, and not said; the alpha sends it again.
        if (!this.stored(`storing a relay of window ${m.window}`, () => this.o.ledger.storeRelay(m.window, l.first, l.bytes, roles.window - WINDOWS_REMEMBERED))) break;
        this.queueAhead(m.window, this.inbox.add(m.window, l));
        link = this.inbox.takeAhead(m.window);
      }
    }
    const held = encodeHeld({ networkId: this.networkId, sender: this.selfKey, window: m.window, sentAtMs: nowMs, count: this.inbox.held(m.window) }, this.o.seed);
    effects.push({ kind: "send", to: sender, what: "held", message: held });
    return { ok: true, effects };
  }

  /** Relayed payments new to this server, queued for the signature check and the apply ahead. */
  private queueAhead(window: number, fresh: readonly Uint8Array[]): void {
    const room = this.limits.preverifyQueueMax - this.preverifyQueue.length;
    if (fresh.length > room) {
      // The check queue is full: the sequence cannot be replayed ahead, so the batch will be
      // applied whole. Signatures checked so far still count.
      if (this.speculation?.window === window) this.speculation.broken = true;
      else if (this.speculation === null) this.speculation = { window, baseWindow: this.agreedCheckpoint.window, payments: [], broken: true };
    }
    for (const p of fresh.slice(0, Math.max(0, room))) this.preverifyQueue.push({ window, bytes: p });
  }

  /**
   * The next alpha's rescue of a window whose handover did not come: its relays (each checked
   * against the window's alpha key) give the batch, applied and voted for like a handover.
   */
  private receiveRescue(m: Rescue, sender: number, nowMs: number): ReceiveResult {
    const effects: Effect[] = [];
    const reject = (reason: string): ReceiveResult => this.rejected(reason, effects);
    const skew = this.o.network.skewMs;
    if (nowMs < this.rescueStartMs(m.window, sender) - skew) return reject(`rescue of window ${m.window} from server ${sender} before its turn to rescue`);
    const promisedTurn = this.promised.get(m.window) ?? 0;
    // A promise to itself only (its own rescue not sent yet) is no promise to anyone: like the
    // handover, an earlier turn's rescue is taken then, and its own rescue is dropped (it would
    // adopt that batch anyway). Found by the swarm: seed 224963620, a turn-2 rescuer refusing the
    // turn-1 rescue while its own could not gather a majority of answers, the window rolled back.
    const ownPromiseOnly = this.rescuing(m.window) && promisedTurn === this.rescueTurn(m.window, this.self);
    if (this.rescueTurn(m.window, sender) < promisedTurn && !ownPromiseOnly) return reject(`rescue of window ${m.window} from server ${sender}, after this server gave its relays to a later rescuer`);
    if (nowMs >= blackoutStartMs(m.window + 1, this.schedule) + skew) return reject(`rescue of window ${m.window} after its beta period`);
    // A batch of the window came already (the handover, or this very rescue again).
    if (this.handoversSeen.has(m.window)) return { ok: true, effects };
    const payments = this.rescueEvidence(m.relays, m.window);
    if (typeof payments === "string") return reject(payments);
    this.handoversSeen.add(m.window);
    this.handoversKept.set(m.window, m.bytes);
    this.event(m.window, "rescue", nowMs, `rescued by server ${sender}: ${payments.length} payment(s)`);
    this.o.log.info("coordinator", `rescue of window ${m.window} from server ${sender}: ${payments.length} payment(s)`, { window: m.window });
    this.applyHandover({ window: m.window, baseWindow: m.baseWindow, baseHash: m.baseHash, payments }, nowMs, effects);
    return { ok: true, effects };
  }

  /**
   * A handover that arrives after this server's "no batch" deadline (the start of the next window)
   * loses its window. Say so with the measured latency and the setting to raise: a link slower
   * than the blackout is an operating problem, not a protocol one.
   */
  private noteSlowHandover(m: Handover, sender: number, nowMs: number): void {
    const deadlineMs = windowStartMs(m.window + 1, this.schedule);
    if (nowMs < deadlineMs) return;
    this.counters.lateHandovers++;
    const latencyMs = nowMs - m.sentAtMs;
    const blackoutMs = this.o.network.blackoutMs;
    this.o.log.warn(
      "coordinator",
      `handover of window ${m.window} from ${this.o.network.servers[sender]!.address} arrived ${latencyMs} ms after it was sent, ` +
        `past the deadline (the blackout, ${blackoutMs} ms, after the beta's blackout began): the window is lost. ` +
        `The link is too slow for this network's timing: raise "blackout" in the network file on every server (it must stay above 2 × "skew"), or fix the link`,
      { window: m.window, latencyMs, blackoutMs },
    );
  }

  private applyHandover(m: Batch, nowMs: number, effects: Effect[]): void {
    if (this.voted.has(m.window)) {
      this.o.log.warn("coordinator", `handover of window ${m.window} came after this server voted; ignored`);
      return;
    }
    // Its beta period is over by this server's clock: the window was rolled back here, and the
    // others went on from the checkpoint before it (step 7). Applied now, it could still gather a
    // majority with votes cast before, and reopen a window the network has left.
    if (nowMs >= blackoutStartMs(m.window + 1, this.schedule)) {
      this.o.log.warn("coordinator", `batch of window ${m.window} came after its beta period here; ignored`, { window: m.window });
      return;
    }
    const atBase = m.baseWindow === this.agreedCheckpoint.window && equalBytes(m.baseHash, this.agreedCheckpoint.hash);
    // Payments relayed and applied ahead: keep them if the handover lists exactly them first.
    let done = 0;
    const sp = this.speculation;
    if (sp !== null && sp.window === m.window && !sp.broken && atBase && sp.baseWindow === this.agreedCheckpoint.window) {
      const same = sp.payments.length <= m.payments.length && sp.payments.every((p, i) => Buffer.compare(p, m.payments[i]!) === 0);
      if (same) done = sp.payments.length;
      else this.dropSpeculation();
    } else if (sp !== null && sp.window <= m.window) {
      this.dropSpeculation();
    }
    this.speculation = null;
    if (atBase && done === 0 && this.syncing === null && this.pendingWindow() === m.window) {
      // At the base but holding payments of this very window that no speculation accounts for:
      // relayed and applied ahead before a restart (this server has not voted for the window).
      // The handover is authoritative: undo them and apply it whole. Payments of an earlier,
      // unresolved window are never undone here: this server may have voted for them.
      let undone = 0;
      // Not stored (a failing disk): as if the handover had not come.
      if (!this.stored("undoing payments applied ahead before a restart", () => (undone = this.o.ledger.rollbackAfter(this.agreedCheckpoint.window)))) return;
      this.o.log.info("coordinator", `handover of window ${m.window}: undid ${undone} payment(s) applied ahead before a restart`);
    }
    if (!atBase || (done === 0 && this.pendingWindow() !== null) || this.syncing !== null) {
      if (m.baseWindow >= this.agreedCheckpoint.window) {
        // The beta built on a checkpoint this server has not reached: catch up, then apply.
        this.deferredHandover = m;
        this.o.log.info("coordinator", `handover of window ${m.window} builds on window ${m.baseWindow}; this server is at ${this.agreedCheckpoint.window}: catching up`);
        this.pull(nowMs, effects, true);
      } else {
        this.o.log.warn("coordinator", `handover of window ${m.window} builds on an old checkpoint (${m.baseWindow}); ignored`);
        this.forgetBatch(m.window);
      }
      return;
    }
    let skipped = 0;
    // Not stored: no vote, as if the handover had been lost (a vote must be for a state on disk);
    // the tick votes "no batch" or the certificate brings a resync.
    if (!this.stored(`applying the handover of window ${m.window}`, () => ({ skipped } = this.applyBatch(m.window, m.payments.slice(done), nowMs)))) return;
    this.o.log.info("coordinator", `applied window ${m.window}: ${m.payments.length} payment(s), ${done} of them relayed and applied ahead, ${skipped} rejected`, {
      window: m.window,
    });
    this.castVote(m.window, nowMs, effects);
  }

  /** Re-validates every payment as if it arrived now at the alpha (timestamp: inside that window). */
  private applyBatch(window: number, payments: readonly Uint8Array[], nowMs: number): { applied: number; skipped: number } {
    const valid = [];
    const verified = this.verified.get(window);
    for (const bytes of payments) {
      const p = decodePayment(bytes);
      if (p === null || p.amount < 1 || equalBytes(p.payer, p.payee)) continue;
      if (!timestampFitsWindow(p.timestampMs, window, this.o.network.skewMs, this.schedule)) continue;
      // Checked already when relayed (the very same 140 bytes), or checked now.
      if (!verified?.has(bytesKey(bytes)) && !this.o.verify(p.signature, bytes.subarray(0, 76), p.payer)) continue;
      valid.push(p);
    }
    // The capacity holds in every window of the ledger, whoever built the batch.
    const decisions = this.o.ledger.applyGroup(valid, window, nowMs, this.o.network.capacity);
    const applied = decisions.filter((d) => d.kind === "apply").length;
    return { applied, skipped: payments.length - applied };
  }

  private recordVote(sender: number, vote: Vote): void {
    let forWindow = this.votes.get(vote.window);
    if (!forWindow) this.votes.set(vote.window, (forWindow = new Map()));
    forWindow.set(sender, vote);
    const last = this.peerLastVote.get(sender);
    if (!last || last.window <= vote.window) this.peerLastVote.set(sender, { window: vote.window, hash: toHex(vote.hash), history: toHex(vote.history) });
  }

  private checkConsensus(window: number, nowMs: number, effects: Effect[]): void {
    if (this.certified.has(window) || window <= this.agreedCheckpoint.window) return;
    const forWindow = this.votes.get(window);
    if (!forWindow) return;
    const byHash = new Map<string, number[]>();
    for (const [sender, vote] of forWindow) {
      // A server proven to equivocate in this window counts for nothing in it; nor does a vote
      // built on a checkpoint withdrawn here.
      if (this.equivocated(window, sender) || this.withdrawnBases.has(`${vote.baseWindow}:${toHex(vote.baseHash)}`)) continue;
      const key = toHex(vote.hash) + toHex(vote.history);
      byHash.set(key, [...(byHash.get(key) ?? []), sender]);
    }
    for (const voters of byHash.values()) {
      if (!this.majority(voters.length)) continue;
      const votes = voters.map((s) => forWindow.get(s)!);
      this.certified.set(window, {
        hash: votes[0]!.hash,
        history: votes[0]!.history,
        voters,
        certificate: encodeCertificate(votes.map((v) => v.bytes)),
        learnedAtMs: nowMs,
      });
      this.settle(window, nowMs, effects, false);
      return;
    }
  }

  /**
   * A majority agreed on window's hash. At that state: record the checkpoint. Otherwise resync,
   * unless (force false) the handover may still bring this server there.
   */
  private settle(window: number, nowMs: number, effects: Effect[], force: boolean): void {
    const c = this.certified.get(window);
    if (!c || window <= this.agreedCheckpoint.window || this.syncing !== null) return;
    const pending = this.pendingWindow();
    const atHash = (pending === null || pending <= window) && sameOutcome({ hash: this.o.ledger.stateHashBytes(), history: this.o.ledger.historyDigest() }, c);
    if (atHash) {
      // Not stored: the checkpoint stays where it was (the gate keeps refusing) and tick() settles
      // again on a later tick, still at this hash.
      if (!this.stored(`recording the checkpoint of window ${window}`, () => this.o.ledger.recordAgreed(window, c.hash, c.certificate, nowMs))) return;
      if (this.speculation !== null && this.speculation.window <= window) this.speculation = null;
      this.agreedCheckpoint = this.o.ledger.agreed();
      this.counters.agreed++;
      this.event(window, "agreed", nowMs, `${c.voters.length} of ${this.n} servers`);
      this.o.log.info("coordinator", `window ${window} agreed by ${c.voters.length} of ${this.n}`, { window, hash: toHex(c.hash) });
      this.o.onAgreed?.(window);
      // Votes held for this window at another state: the fork one faulty server can make shows.
      for (const vote of this.votes.get(window)?.values() ?? []) this.checkForFork(vote, nowMs, effects);
      // Reached without a vote of its own (the certificate came before the batch, or the relays
      // gave the same state): vote it now, so the window can become final (3 of 3 needs everyone).
      if (!this.voted.has(window)) this.castVote(window, nowMs, effects);
      this.noteFinal(window);
      this.retryDeferred(nowMs, effects);
      return;
    }
    // Still waiting for this window's handover (votes can overtake it): nothing applied beyond
    // the checkpoint, or only the relayed payments applied ahead.
    const expectingHandover =
      !this.voted.has(window) &&
      this.agreedCheckpoint.window === window - 1 &&
      (pending === null || (this.speculation?.window === window && pending === window));
    if (!force && expectingHandover) return; // tick() comes back after a grace period
    const sources = c.voters.filter((s) => s !== this.self);
    if (sources.length === 0) return;
    if (nowMs < this.resyncRetryAtMs) return; // backing off after a failed resync
    this.event(window, "disagree", nowMs, `this server's state differs from the majority's; resyncing from ${sources.length} server(s)`);
    this.o.log.warn("coordinator", `window ${window}: the majority agreed on ${toHex(c.hash).slice(0, 16)}…, this server differs: resyncing`);
    this.syncing = { window, startedMs: nowMs };
    // If replaying the missed windows on this server's checkpoint did not give the agreed hash,
    // that checkpoint is not on the majority's history (its certificate was known only here):
    // replay the whole history instead. Rare, and always converges.
    const afterWindow = this.deepResync ? -1 : this.agreedCheckpoint.window;
    effects.push({ kind: "resync", afterWindow, window, hash: c.hash, sources });
  }

  /**
   * A batch that can never apply here (built on an old or another base; a beta that fell behind,
   * e.g. on a full disk) is as if it had not come: the window is then asked for and rescued
   * (missingHandover), and the batch is not served to a rescuer as one this server took.
   */
  private forgetBatch(window: number): void {
    if (this.voted.has(window)) return;
    this.handoversSeen.delete(window);
    this.handoversKept.delete(window);
  }

  private retryDeferred(nowMs: number, effects: Effect[]): void {
    const m = this.deferredHandover;
    if (!m || m.window <= this.agreedCheckpoint.window) {
      this.deferredHandover = null;
      return;
    }
    if (m.baseWindow !== this.agreedCheckpoint.window) return;
    if (!equalBytes(m.baseHash, this.agreedCheckpoint.hash)) {
      // Built on another state of the same window: it can never apply here (not a catch-up).
      this.deferredHandover = null;
      this.o.log.warn("coordinator", `handover of window ${m.window} builds on another state of window ${m.baseWindow}; ignored`);
      this.forgetBatch(m.window);
      return;
    }
    if (nowMs >= blackoutStartMs(m.window + 1, this.schedule)) {
      this.deferredHandover = null;
      return;
    }
    this.deferredHandover = null;
    this.applyHandover(m, nowMs, effects);
  }

  private pullIntervalMs(): number {
    return Math.min(PULL_INTERVAL_MS_MAX, Math.max(PULL_INTERVAL_MS_MIN, this.o.network.intervalMs / 8));
  }

  /**
   * A vote for a window this server recorded, at another state: the sender holds another
   * certificate of it, or none — a fork one faulty server can make (PROTOCOL §7 step 9). Asking
   * every server for its newest certificate (at most every interval/8) brings the conflicting votes
   * here within a round trip, instead of at the next catch-up.
   */
  private checkForFork(vote: Vote, nowMs: number, effects: Effect[]): void {
    if (vote.window > this.agreedCheckpoint.window) return;
    const recorded = vote.window === this.agreedCheckpoint.window ? this.agreedCheckpoint : this.o.ledger.checkpoint(vote.window);
    const agreedVote = recorded === undefined ? null : this.certificateVote(recorded.certificate);
    if (agreedVote === null || sameOutcome(vote, agreedVote)) return;
    this.pull(nowMs, effects);
    this.reconsiderCheckpoint(vote.window, nowMs);
  }

  private pull(nowMs: number, effects: Effect[], now = false): void {
    if (!now && nowMs - this.lastPullMs < this.pullIntervalMs()) return;
    if (effects.some((e) => e.kind === "pull-certificates")) return;
    this.lastPullMs = nowMs;
    effects.push({ kind: "pull-certificates" });
  }

  /** A peer's answer to pull-certificates: its latest certificate. Checked vote by vote. */
  receiveCertificate(bytes: Uint8Array, nowMs: number): ReceiveResult {
    const effects: Effect[] = [];
    const reject = (reason: string): ReceiveResult => {
      this.o.log.warn("peers", `rejected a certificate: ${reason}`);
      return this.rejected(reason, effects);
    };
    const parts = splitCertificate(bytes);
    if (parts === null || parts.length === 0) return reject("malformed");
    const votes: { sender: number; vote: Vote }[] = [];
    // Cheap checks first, as in receive(): the signatures only for a certificate that is used.
    for (const part of parts) {
      const d = parsePeerMessage(part, this.networkId, this.limits);
      if (!d.ok || d.message.type !== "vote") return reject(d.ok ? "not a vote" : d.reason);
      const sender = this.serverIndexOf(d.message.sender);
      if (sender < 0) return reject("a vote from outside the network");
      if (votes.some((v) => v.sender === sender)) return reject("two votes from one server");
      votes.push({ sender, vote: d.message });
    }
    const first = votes[0]!.vote;
    if (!votes.every((v) => v.vote.window === first.window && sameOutcome(v.vote, first))) return reject("votes for different windows, hashes or histories");
    // A vote here that differs from one this server holds of the same server and window: if
    // validly signed, the two prove that server equivocated (how a fork between two halves of the
    // network comes to light: each learns the other's certificate).
    for (const { sender, vote } of votes) {
      const known = this.votes.get(vote.window)?.get(sender);
      if (known !== undefined && !equalBytes(known.bytes, vote.bytes) && verifyPeerMessage(vote, this.o.verify)) this.proveEquivocation(sender, known, vote, "two different votes", nowMs, effects);
    }
    // A certificate of a window recorded here at another state: a fork. Its votes (checked) are
    // what shows it, so they are kept like votes that came directly.
    if (first.window <= this.agreedCheckpoint.window) {
      const recorded = first.window === this.agreedCheckpoint.window ? this.agreedCheckpoint : this.o.ledger.checkpoint(first.window);
      const agreedVote = recorded === undefined ? null : this.certificateVote(recorded.certificate);
      if (agreedVote !== null && !sameOutcome(first, agreedVote)) {
        for (const { sender, vote } of votes) if (sender !== this.self && !this.votes.get(vote.window)?.has(sender) && verifyPeerMessage(vote, this.o.verify)) this.recordVote(sender, vote);
        this.reconsiderCheckpoint(first.window, nowMs);
      }
    }
    if (votes.some((v) => this.withdrawnBases.has(`${v.vote.baseWindow}:${toHex(v.vote.baseHash)}`))) return reject("a certificate built on a checkpoint withdrawn here");
    let counted = votes.filter((v) => !this.equivocated(first.window, v.sender));
    let certificate: Uint8Array = new Uint8Array(bytes);
    if (counted.length < votes.length) {
      // Without the equivocator's vote, the votes for this outcome held here may still make a
      // majority: the certificate is then made of those.
      counted = this.honestBacking(first.window, votes, first);
      certificate = encodeCertificate(counted.map((v) => v.vote.bytes));
    }
    if (!this.majority(counted.length)) return { ...reject(counted.length < votes.length ? "not a majority without the votes of servers proven to equivocate" : "not a majority"), effects };
    if (first.window <= this.agreedCheckpoint.window || this.certified.has(first.window)) return { ok: true, effects };
    if (!counted.every((v) => verifyPeerMessage(v.vote, this.o.verify))) return reject("bad signature");
    this.certified.set(first.window, {
      hash: first.hash,
      history: first.history,
      voters: counted.map((v) => v.sender),
      certificate,
      learnedAtMs: nowMs,
    });
    this.settle(first.window, nowMs, effects, true);
    return { ok: true, effects };
  }

  /**
   * The answer to a resync effect: the source's payments of windows (afterWindow, window], in its
   * acceptance order. Applied on top of the last checkpoint and accepted only if the state hash
   * then equals the agreed one. Returns false (state unchanged) otherwise. Throws StorageError when
   * the ledger cannot store it (state unchanged too); the caller then reports resyncFailed.
   */
  completeResync(
    afterWindow: number,
    window: number,
    hash: Uint8Array,
    payments: readonly { window: number; bytes: Uint8Array }[],
    nowMs: number,
  ): boolean {
    const c = this.certified.get(window);
    // Only the answer to the resync under way counts: a late answer to an earlier one, or one
    // for a window already reached, is dropped.
    if (!c || !equalBytes(c.hash, hash) || this.syncing?.window !== window || afterWindow > this.agreedCheckpoint.window) return false;
    const base = afterWindow;
    let skipped = 0;
    // All or nothing: if the payments do not give the agreed hash, the ledger is left exactly as
    // it was (its own checkpoint and what it held after it), and the next source is tried.
    const installed = this.o.ledger.attempt(() => {
      this.o.ledger.rollbackAfter(base);
      let start = 0;
      while (start < payments.length) {
        const w = payments[start]!.window;
        let end = start + 1;
        while (end < payments.length && payments[end]!.window === w) end++;
        if (w > base && w <= window) skipped += this.applyBatch(w, payments.slice(start, end).map((p) => p.bytes), nowMs).skipped;
        else skipped += end - start;
        // A large catch-up takes a while: say how far it is.
        if (Math.floor(end / RESYNC_PROGRESS_EVERY) > Math.floor(start / RESYNC_PROGRESS_EVERY)) {
          this.o.log.info("coordinator", `resync to window ${window}: applied ${end} of ${payments.length} payment(s)`);
        }
        start = end;
      }
      if (!sameOutcome({ hash: this.o.ledger.stateHashBytes(), history: this.o.ledger.historyDigest() }, c)) return false;
      this.o.ledger.recordAgreed(window, hash, c.certificate, nowMs);
      return true;
    });
    if (!installed) {
      // Replaying on this server's checkpoint cannot give the hash when that checkpoint is not
      // on the majority's history: the next attempt replays the whole history.
      this.deepResync = true;
      this.o.log.warn("coordinator", `resync to window ${window} failed: the ${payments.length} payment(s) fetched (${skipped} rejected here) do not give the agreed hash`);
      return false;
    }
    this.speculation = null;
    this.agreedCheckpoint = this.o.ledger.agreed();
    this.syncing = null;
    this.deepResync = false;
    this.resyncFailures = 0;
    this.resyncRetryAtMs = -Infinity;
    // Voted at the next tick (this answer has no effects to send it with), for the final quorum.
    if (!this.voted.has(window)) this.voteAfterResync = window;
    this.voted.add(window);
    this.counters.resyncs++;
    this.event(window, "resync", nowMs, `installed the agreed ledger of window ${window} (${payments.length} payment(s) fetched)`);
    this.o.onAgreed?.(window);
    this.o.log.info("coordinator", `resynced to window ${window}`, { hash: toHex(hash), payments: payments.length });
    return true;
  }

  /**
   * The resync could not be done from any source; try again later. One not even tried because
   * this server's storage is failing (`storage`: nothing was fetched, the peers paid nothing) is
   * retried at the shortest wait, so the catch-up starts as soon as the disk takes writes again.
   */
  resyncFailed(nowMs: number, reason: string, storage = false): void {
    this.syncing = null;
    if (!storage) this.resyncFailures++;
    const waitMs = storage ? RESYNC_RETRY_MS_MIN : Math.min(RESYNC_RETRY_MS_MAX, RESYNC_RETRY_MS_MIN * 2 ** Math.min(this.resyncFailures - 1, 30));
    this.resyncRetryAtMs = nowMs + waitMs;
    this.certified.forEach((c, w) => {
      if (w > this.agreedCheckpoint.window) this.certified.set(w, { ...c, learnedAtMs: nowMs });
    });
    this.o.log.warn("coordinator", `resync failed: ${reason}; will retry in ${waitMs} ms`, { failures: this.resyncFailures });
  }

  /** A refusal of a peer's message or answer: counted, and it changes nothing. */
  private rejected(reason: string, effects: Effect[] = []): ReceiveResult {
    this.counters.peerRejected++;
    return { ok: false, reason, effects };
  }

  /** The index of the server with this key in the network file, or −1. */
  /**
   * The votes for `outcome` (state hash and history) of `window` from servers not proven to
   * equivocate in it: the certificate's own and those held here (each checked when it came), one
   * per server.
   */
  private honestBacking(window: number, certified: readonly SenderVote[], outcome: Vote): SenderVote[] {
    const bySender = new Map<number, Vote>(certified.map((v) => [v.sender, v.vote]));
    for (const [sender, vote] of this.votes.get(window) ?? []) if (!bySender.has(sender) && sameOutcome(vote, outcome)) bySender.set(sender, vote);
    return [...bySender].filter(([sender]) => sender >= 0 && !this.equivocated(window, sender)).map(([sender, vote]) => ({ sender, vote }));
  }

  /** A recorded certificate's votes with their senders (checked when it was learned); none if of another format. */
  private certificateVotes(certificate: Uint8Array): SenderVote[] {
    return (splitCertificate(certificate) ?? []).flatMap((part) => {
      const d = parsePeerMessage(part, this.networkId, this.limits);
      return d.ok && d.message.type === "vote" ? [{ sender: this.serverIndexOf(d.message.sender), vote: d.message }] : [];
    });
  }

  /** The first vote of a recorded certificate, or null if of another format. */
  private certificateVote(certificate: Uint8Array): Vote | null {
    return this.certificateVotes(certificate)[0]?.vote ?? null;
  }

  private serverIndexOf(key: Uint8Array): number {
    return this.o.network.servers.findIndex((s) => equalBytes(s.key, key));
  }

  /** Whether `server` is proven to have signed two conflicting messages for `window`. */
  private equivocated(window: number, server: number): boolean {
    return this.equivocators.get(window)?.has(server) ?? false;
  }

  /**
   * A proof sent by a peer: two messages of one server for one window that conflict (conflict.ts),
   * both signatures checked here, cheap checks first.
   */
  private receiveProof(m: Proof, nowMs: number): ReceiveResult {
    const effects: Effect[] = [];
    const reject = (reason: string): ReceiveResult => this.rejected(reason, effects);
    const a = parsePeerMessage(m.first, this.networkId, this.limits);
    const b = parsePeerMessage(m.second, this.networkId, this.limits);
    if (!a.ok || !b.ok) return reject(`a proof holds a malformed message (${!a.ok ? a.reason : !b.ok ? b.reason : ""})`);
    const [ma, mb] = [a.message, b.message];
    if (ma.window !== m.window || mb.window !== m.window) return reject("a proof's messages are of another window");
    if (!equalBytes(ma.sender, mb.sender)) return reject("a proof's messages are of two servers");
    const accused = this.serverIndexOf(ma.sender);
    if (accused < 0) return reject("a proof about a server outside the network");
    const why = conflictBetween(ma, mb);
    if (why === null) return reject("a proof's messages do not conflict");
    if (this.equivocated(m.window, accused)) return { ok: true, effects };
    if (!verifyPeerMessage(ma, this.o.verify) || !verifyPeerMessage(mb, this.o.verify)) return reject("a proof with a bad signature");
    this.proveEquivocation(accused, ma, mb, why, nowMs, effects);
    return { ok: true, effects };
  }

  /**
   * Whether `m` (validly signed by `server`) conflicts with a message of the same window this
   * server holds from it: the relays it holds, the handover it took. If so, the proof is kept and
   * sent (proveEquivocation), and true is returned.
   */
  private detectConflict(server: number, m: Relay | Handover, nowMs: number, effects: Effect[]): boolean {
    // A server already proven faulty in the window still has its messages that conflict with
    // nothing held here taken: with n ≥ 4 the honest majority may agree on its batch without it.
    // The relays held are compared as they are (positions and payments, no parsing), and only those
    // that overlap this message: a relay costs the few links it touches, not the window's chain.
    const claim = claimOf(m);
    const held: Uint8Array[] = this.inbox
      .chain(m.window)
      .filter((l) => l.first < claim.first + claim.payments.length && claim.first < l.first + l.payments.length && conflictingPosition(l, claim) !== null)
      .map((l) => l.bytes);
    const taken = this.handoversKept.get(m.window);
    if (taken !== undefined) held.push(taken);
    for (const bytes of held) {
      if (equalBytes(bytes, m.bytes)) continue;
      const d = parsePeerMessage(bytes, this.networkId, this.limits);
      if (!d.ok || !equalBytes(d.message.sender, m.sender)) continue;
      const why = conflictBetween(d.message, m);
      if (why === null) continue;
      this.proveEquivocation(server, d.message, m, why, nowMs, effects);
      return true;
    }
    return false;
  }

  /**
   * `server` signed two conflicting messages for one window (both checked): keep the proof on disk, say
   * so loudly, send it to every server, and stop counting that server's votes in the window. A
   * certificate of the window that needed them no longer counts; if it was this server's latest
   * checkpoint, the checkpoint is withdrawn and the window undone (the network then continues from
   * the checkpoint before, as after a window with no majority).
   */
  private proveEquivocation(server: number, a: PeerMessage, b: PeerMessage, why: string, nowMs: number, effects: Effect[]): void {
    const window = a.window;
    if (this.equivocated(window, server) || server === this.self) return;
    if (!this.stored(`storing the proof that server ${server} equivocated in window ${window}`, () => this.o.ledger.recordEquivocation(window, a.sender, a.bytes, b.bytes, nowMs))) return;
    this.noteEquivocator(window, server, nowMs);
    const who = this.o.network.servers[server]!;
    this.o.log.error("coordinator", `ALARM: server ${who.keyHex} (${who.address}) signed ${why} for window ${window}: it is faulty or its key is compromised. The proof is kept and sent to every server; its votes of that window do not count`, { window, server: who.keyHex });
    this.event(window, "equivocation", nowMs, `server ${who.address} signed ${why} for this window`);
    // Two handovers near the capacity do not fit one peer message: such a proof is kept and shown
    // here only (each receiver of the two handovers finds the conflict itself when it meets both).
    if (proofBytes(a.bytes.length, b.bytes.length) <= this.limits.peerMessageBytesMax) {
      effects.push({ kind: "broadcast", what: "proof", message: encodeProof({ networkId: this.networkId, sender: this.selfKey, window, sentAtMs: nowMs, first: a.bytes, second: b.bytes }, this.o.seed, this.limits) });
    } else {
      this.o.log.warn("coordinator", `the proof against server ${who.keyHex} in window ${window} is larger than a peer message: kept here, not sent`, { window });
    }
    // A certificate that needed the equivocator's vote is void.
    const c = this.certified.get(window);
    if (c !== undefined && !this.majority(c.voters.filter((v) => !this.equivocated(window, v)).length)) {
      this.certified.delete(window);
      this.checkConsensus(window, nowMs, effects); // the votes held may still make one without it
    }
    this.reconsiderCheckpoint(window, nowMs);
  }

  /**
   * A peer that votes in (or after) a window this server holds proofs for gets them, once: a proof is
   * broadcast once when found, and a server that was down then (or lost the message) would count
   * the equivocator's votes of that window, or resync to a certificate that needs them.
   */
  private forwardProofs(peer: number, votedWindow: number, nowMs: number, effects: Effect[]): void {
    // The proofs of the recent windows up to the one it voted (it may have resynced past them).
    const windows = [...this.equivocators.keys()].filter((w) => w <= votedWindow && w > votedWindow - WINDOWS_REMEMBERED && !this.proofsSentTo.get(w)?.has(peer));
    if (windows.length === 0) return;
    for (const w of windows) {
      let sent = this.proofsSentTo.get(w);
      if (sent === undefined) this.proofsSentTo.set(w, (sent = new Set()));
      sent.add(peer);
    }
    for (const e of this.o.ledger.equivocations(Math.min(...windows))) {
      if (!windows.includes(e.window) || proofBytes(e.first.length, e.second.length) > this.limits.peerMessageBytesMax) continue;
      effects.push({ kind: "send", to: peer, what: "proof", message: encodeProof({ networkId: this.networkId, sender: this.selfKey, window: e.window, sentAtMs: nowMs, first: e.first, second: e.second }, this.o.seed, this.limits) });
    }
  }

  /**
   * This server's checkpoint of `window` (the latest, or one of the 16 kept before it) after a
   * server was proven to equivocate in it. Every vote held for the checkpoint's outcome counts, not
   * only the certificate's (the first majority that arrived): if the servers not proven faulty
   * make a majority, the checkpoint stands, with a certificate of their votes. If not, it
   * is provisional (no payment is accepted on it) until the end of the next window's beta period,
   * checked again on every vote; still unconfirmed then, it is withdrawn with every later
   * checkpoint (built on it). Deciding on the votes alone, at a deadline, makes every honest server
   * decide alike: both sides of a fork withdraw, and a window the honest servers share stands.
   */
  private reconsiderCheckpoint(window: number, nowMs: number): void {
    const equivocators = this.equivocators.get(window);
    if (equivocators === undefined || equivocators.size === 0) return;
    const recorded = window === this.agreedCheckpoint.window ? this.agreedCheckpoint : window < this.agreedCheckpoint.window ? this.o.ledger.checkpoint(window) : undefined;
    const certified = recorded === undefined ? [] : this.certificateVotes(recorded.certificate);
    const outcome = certified[0]?.vote;
    // No checkpoint of the window here, or one whose certificate did not need an equivocator.
    if (recorded === undefined || outcome === undefined || !certified.some((v) => this.equivocated(window, v.sender))) {
      this.provisional.delete(window);
      return;
    }
    const backing = this.honestBacking(window, certified, outcome);
    if (this.majority(backing.length)) {
      this.provisional.delete(window);
      const certificate = encodeCertificate(backing.map((v) => v.vote.bytes));
      if (!this.stored(`re-recording the certificate of window ${window} without the equivocator`, () => this.o.ledger.replaceCertificate(window, certificate))) return;
      if (window === this.agreedCheckpoint.window) this.agreedCheckpoint = this.o.ledger.agreed();
      this.o.log.warn("coordinator", `the checkpoint of window ${window} stands without the equivocating server: ${backing.length} of ${this.n} other servers voted for it`, { window });
      return;
    }
    // Final here (q votes, 2q − n ≥ 2): no other final outcome can exist (§7 step 9); it stands.
    if (this.finalWindow >= window) {
      this.provisional.delete(window);
      return;
    }
    // A fork shown: servers not proven faulty voted the window on this checkpoint's base to
    // another state (the beta gave them another batch), so many that the rest cannot make an
    // honest majority for this outcome: the deadline would withdraw it anyway, so withdraw now,
    // before the fork lasts. (A vote on another base is a server that was behind, not a fork.)
    const ownVote = this.votes.get(window)?.get(this.self);
    const base = ownVote ?? backing[0]?.vote ?? outcome;
    const elsewhere = [...(this.votes.get(window) ?? [])].filter(
      ([sender, vote]) => !this.equivocated(window, sender) && vote.baseWindow === base.baseWindow && equalBytes(vote.baseHash, base.baseHash) && !sameOutcome(vote, outcome),
    ).length;
    const forked = elsewhere > 0 && !this.majority(this.n - (this.equivocators.get(window)?.size ?? 0) - elsewhere);
    // Else kept, provisionally, until the end of the next window's beta period: by then the others'
    // votes (resent until then) have arrived. Every honest server decides on the same votes, so
    // the two sides of a fork both withdraw, and a window the honest servers share stands.
    const deadline = blackoutStartMs(window + 2, this.schedule);
    if (!forked && nowMs < deadline) {
      if (!this.provisional.has(window)) this.o.log.warn("coordinator", `the checkpoint of window ${window} had its majority only with the equivocating server's vote; kept until the end of the next window's beta period for the other servers to confirm it (not accepting on it meanwhile)`, { window });
      this.provisional.set(window, deadline);
      return;
    }
    this.provisional.delete(window);
    // Back to the checkpoint before it, which must still be kept (or be the genesis, before the
    // first): a fork found more than 15 checkpoints on is logged, and left to the resync.
    if (!this.o.ledger.canRevoke(window)) {
      this.o.log.error("coordinator", `the checkpoint of window ${window} had its majority only with the equivocating server's vote, but the checkpoint before it is no longer kept: not withdrawn`, { window });
      return;
    }
    let undone = 0;
    const later = this.agreedCheckpoint.window > window;
    const ownWindowHeld = this.o.ledger.latestWindow() === rolesAt(nowMs, this.schedule).window;
    if (!this.stored(`withdrawing the checkpoint of window ${window}`, () => (undone = this.o.ledger.revokeCheckpoint(window)))) return;
    this.speculation = null;
    this.withdrawnBases.add(`${window}:${toHex(outcome.hash)}`);
    for (const w of [...this.certified.keys()]) if (w >= window) this.certified.delete(w);
    if (ownWindowHeld && alphaOf(rolesAt(nowMs, this.schedule).window, this.schedule) === this.self) this.undoneOwnWindow = rolesAt(nowMs, this.schedule).window;
    this.agreedCheckpoint = this.o.ledger.agreed();
    this.counters.revoked++;
    if (this.finalWindow >= window) this.finalWindow = this.agreedCheckpoint.window; // cannot happen with one faulty server (PROTOCOL §7 step 9)
    this.o.onUndone?.(this.agreedCheckpoint.window);
    const also = later ? " with the later ones built on it" : "";
    this.o.log.error("coordinator", `the checkpoint of window ${window} had its majority only with the equivocating server's vote, and the other servers did not confirm it: withdrawn${also}; back at window ${this.agreedCheckpoint.window}, ${undone} payment(s) undone`, { window });
    this.event(window, "rollback", nowMs, `checkpoint withdrawn${also} (its majority needed an equivocating server, and the others did not confirm it); ${undone} payment(s) undone`);
  }

  private noteEquivocator(window: number, server: number, foundAtMs: number): void {
    let m = this.equivocators.get(window);
    if (m === undefined) this.equivocators.set(window, (m = new Map()));
    m.set(server, { foundAtMs });
    this.counters.equivocations++;
  }

  /** The proofs this server kept before a restart: those servers' votes of those windows stay void. */
  private loadEquivocations(): void {
    for (const e of this.o.ledger.equivocationList()) {
      const server = this.serverIndexOf(e.server);
      if (server >= 0) this.noteEquivocator(e.window, server, e.foundAtMs);
    }
  }

  /** The proven equivocations, newest window first (for /status and the status page). */
  equivocations(): { window: number; server: string; address: string; foundAtMs: number }[] {
    // From disk: the in-memory record is only of the recent windows (it decides what counts).
    return this.o.ledger.equivocationList().flatMap((e) => {
      const i = this.serverIndexOf(e.server);
      return i < 0 ? [] : [{ window: e.window, server: this.o.network.servers[i]!.keyHex, address: this.o.network.servers[i]!.address, foundAtMs: e.foundAtMs }];
    });
  }

  private event(window: number, kind: ConsensusEvent["kind"], atMs: number, detail: string): void {
    this.events.push({ window, kind, atMs, detail });
    if (this.events.length > EVENTS_KEPT) this.events.shift();
  }

  private prune(currentWindow: number): void {
    const oldest = currentWindow - WINDOWS_REMEMBERED;
    for (const w of this.votes.keys()) if (w < oldest) this.votes.delete(w);
    for (const set of [this.handoversSeen, this.voted, this.handedOver]) for (const w of set) if (w < oldest) set.delete(w);
    for (const w of this.certified.keys()) if (w < oldest || w <= this.agreedCheckpoint.window) this.certified.delete(w);
    for (const w of this.verified.keys()) if (w < currentWindow - 2) this.verified.delete(w);
    this.inbox.prune(oldest);
    for (const map of [this.handoversKept, this.handoverAskedMs, this.rescues]) for (const w of map.keys()) if (w < oldest) map.delete(w);
    for (const w of this.promised.keys()) if (w < oldest) this.promised.delete(w);
    for (const w of this.relaysClosed) if (w < oldest) this.relaysClosed.delete(w);
    for (const w of this.proofsSentTo.keys()) if (w < oldest) this.proofsSentTo.delete(w);
    for (const w of this.provisional.keys()) if (w < oldest) this.provisional.delete(w);
    for (const w of this.equivocators.keys()) if (w < oldest) this.equivocators.delete(w);
    if (this.undoneOwnWindow !== null && this.undoneOwnWindow < currentWindow) this.undoneOwnWindow = null;
  }

  /** For GET /status. */
  status(nowMs: number) {
    const roles = rolesAt(nowMs, this.schedule);
    const key = (i: number | null) => (i === null ? null : this.o.network.servers[i]!.keyHex);
    const role = roles.alpha === this.self ? "alpha" : roles.beta === this.self ? "beta" : "idle";
    return {
      window: roles.window,
      alpha: key(roles.alpha),
      beta: key(roles.beta),
      role,
      accepting: this.gate(nowMs) === null,
      agreed: this.agreed,
      final: { window: this.finalWindow, quorum: this.finalQuorum },
      equivocations: this.equivocations(),
      syncing: this.syncing !== null,
      peers: this.o.network.servers.map((s, i) => ({ key: s.keyHex, address: s.address, lastVote: this.peerLastVote.get(i) ?? null })),
      recent: [...this.events].reverse(),
    };
  }
}

/** A vote and the index of the server that signed it. */
type SenderVote = { readonly sender: number; readonly vote: Vote };

/** Two votes (or a state and a certificate) count together only for one state hash and one history. */
function sameOutcome(a: { readonly hash: Uint8Array; readonly history: Uint8Array }, b: { readonly hash: Uint8Array; readonly history: Uint8Array }): boolean {
  return equalBytes(a.hash, b.hash) && equalBytes(a.history, b.history);
}

function assertNever(value: never): never {
  throw new Error(`unexpected peer message ${JSON.stringify(value)}`);
}
