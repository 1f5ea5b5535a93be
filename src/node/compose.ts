// One composition of a scryp node: its ledger, coordinator and payment intake, wired once, with
// the clock, the signature check and the scheduler injected. `scryp node` (run-node.ts) adds the
// sockets, timers and HTTP routes; the simulator (src/sim/simulator.ts) adds a simulated network
// and simulated time. Both run exactly this wiring, so every simulated run tests the node users run.
//
// The intake and the coordinator need each other: the intake asks the coordinator whether it may
// accept (`gate`) and tells it what it committed (`accepted`, the relay outbox); the coordinator
// flushes the intake before a handover, so every acceptance is in the batch. The cycle is closed
// here, once: both are constants of one function, and neither calls the other while it is built.
import type { Verify } from "../core/acceptance.ts";
import type { Clock } from "../core/clock.ts";
import type { ErrorCode, StorageError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Network } from "../core/network.ts";
import { Coordinator, type Effect, type ReceiveResult } from "../core/consensus/coordinator.ts";
import { acceptingWindowAt } from "../core/schedule.ts";
import { windowFullMessage } from "../core/window-full.ts";
import type { Ledger } from "../ledger/ledger.ts";
import { PaymentIntake, type AcceptGate } from "./payment-intake.ts";
import type { VerifyPool } from "./verify-pool.ts";
import { scheduleOf } from "../core/network.ts";

/** How often the coordinator looks at the clock: the precision of handovers and deadlines. */
export const TICK_MS = 50;
/** Relayed payments checked per slice: ~20 ms of work, so requests are never kept waiting long. */
export const PREVERIFY_SLICE_PAYMENTS = 500;

export interface ComposeOptions {
  readonly network: Network;
  readonly selfIndex: number;
  /** This server's key seed: it signs handovers and votes. */
  readonly seed: Uint8Array;
  readonly ledger: Ledger;
  readonly clock: Clock;
  readonly verify: Verify;
  readonly log: Logger;
  /**
   * Runs `fn` after the current event (setImmediate in a process, an event of simulated time in
   * the simulator): how the intake starts its commit groups and relayed signatures are checked
   * in slices, never inside the handler of the event that brought them.
   */
  readonly defer: (fn: () => void) => void;
  /** Worker threads for the payments' signatures; without, they are checked on this thread. */
  readonly verifyPool?: VerifyPool;
  /** A refusal that comes before the coordinator's (the node's storage), or null. */
  readonly refusal?: () => { code: ErrorCode; message: string } | null;
  /** A commit group that failed (nothing of it was applied; every payer has been told). */
  readonly onCommitError?: (error: unknown) => void;
  /** A consensus write the ledger refused (the coordinator retries it). */
  readonly onStorageError?: (what: string, error: StorageError) => void;
  /**
   * Effects that arise outside tick() and receive(): the relays of a commit group, sent as soon
   * as it is committed (the transport carries them out as it does the others).
   */
  readonly runEffects: (effects: Effect[]) => void;
}

export interface ComposedNode {
  readonly coordinator: Coordinator;
  readonly intake: PaymentIntake;
  /** Whether this node accepts a payment now: the storage first, then the coordinator. */
  readonly gate: AcceptGate;
  /** One look at the clock by the coordinator; the effects are the transport's to carry out. */
  tick(): Effect[];
  /** A peer message arrived; relayed signatures it brought are checked later, in slices. */
  receive(bytes: Uint8Array): ReceiveResult;
}

export function composeNode(options: ComposeOptions): ComposedNode {
  const { network, clock } = options;
  const schedule = scheduleOf(network);
  const coordinator = new Coordinator({
    network,
    selfIndex: options.selfIndex,
    seed: options.seed,
    ledger: options.ledger,
    verify: options.verify,
    log: options.log,
    flushIntake: () => intake.flush(),
    ...(options.onStorageError === undefined ? {} : { onStorageError: options.onStorageError }),
    // The payers hear "accepted" as a majority of servers come to hold their payments.
    onReplicated: (window, count) => intake.replicated(window, count),
    onAgreed: (window) => intake.agreed(window),
    onUndone: (window) => intake.undone(window),
  });
  const gate: AcceptGate = (nowMs) => options.refusal?.() ?? coordinator.gate(nowMs);
  const intake = new PaymentIntake({
    ledger: options.ledger,
    clock,
    skewMs: network.skewMs,
    verify: options.verify,
    gate,
    windowAt: (nowMs) => acceptingWindowAt(nowMs, schedule),
    capacity: network.capacity,
    windowFullMessage: (window) => windowFullMessage(network, window),
    // A lone server is its own majority: acknowledged at its commit, as before.
    ...(network.servers.length === 1
      ? {}
      : {
          replicate: (applied: readonly { bytes: Uint8Array }[], window: number) => {
            const r = coordinator.accepted(applied.map((p) => p.bytes), window, clock.now());
            if (r.effects.length > 0) options.runEffects(r.effects);
            return r;
          },
        }),
    defer: options.defer,
    ...(options.onCommitError === undefined ? {} : { onError: options.onCommitError }),
    ...(options.verifyPool === undefined ? {} : { verifyPool: options.verifyPool }),
  });

  // Relayed signatures are checked PREVERIFY_SLICE_PAYMENTS at a time, other events in between.
  let preverifyScheduled = false;
  const schedulePreverify = (): void => {
    if (preverifyScheduled) return;
    preverifyScheduled = true;
    options.defer(function slice() {
      if (coordinator.preverify(PREVERIFY_SLICE_PAYMENTS, clock.now()) > 0) options.defer(slice);
      else preverifyScheduled = false;
    });
  };

  return {
    coordinator,
    intake,
    gate,
    tick: () => coordinator.tick(clock.now()),
    receive(bytes) {
      const result = coordinator.receive(bytes, clock.now());
      if (coordinator.preverifyPending > 0) schedulePreverify();
      return result;
    },
  };
}
