// A server whose storage fails (every ledger write throws StorageError, as the real ledger does
// while its disk is full) keeps running: nothing escapes the coordinator's tick, its relay
// pre-check, its message handling or its resync; it records no checkpoint it could not store, does
// not retry a resync every tick, and converges with the others once its storage works again.
import { describe, expect, test } from "bun:test";
import { StorageError } from "../../src/core/errors.ts";
import type { Ledger } from "../../src/ledger/ledger.ts";
import { RESYNC_RETRY_MS_MAX } from "../../src/core/consensus/coordinator.ts";
import { expectConverged, runToWindow, trafficUntil, view, windowNow, windowStart, withSim } from "./sim-helpers.ts";

const WRITES = ["applyGroup", "rollbackAfter", "recordAgreed", "attempt"] as const;

/** Makes a ledger's writes throw while `failing.on`; counts the calls refused, per method. */
function failingStorage(ledger: Ledger) {
  const state = { on: false, refused: new Map<string, number>() };
  for (const name of WRITES) {
    const real = (ledger[name] as (...args: unknown[]) => unknown).bind(ledger);
    Object.assign(ledger, {
      [name]: (...args: unknown[]) => {
        if (!state.on) return real(...args);
        state.refused.set(name, (state.refused.get(name) ?? 0) + 1);
        throw new StorageError(`ledger ${name} failed: database or disk is full (SQLITE_FULL)`, true, "SQLITE_FULL");
      },
    });
  }
  return state;
}

describe("a server whose storage fails", () => {
  for (const seed of [1, 2, 3]) {
    test(`keeps running, stores nothing it cannot, backs off its resyncs, and converges when the disk works again (seed ${seed})`, () => {
      withSim({ seed, servers: 3 }, (sim) => {
        const storage = failingStorage(sim.servers[2]!.ledger);
        runToWindow(sim, windowNow(sim) + 2);
        trafficUntil(sim, windowStart(sim, windowNow(sim) + 3));
        const before = view(sim, 2);

        storage.on = true;
        const failFromMs = sim.nowMs;
        // 12 windows of traffic with server 2 failing: its own windows are refused, the others go on.
        trafficUntil(sim, windowStart(sim, windowNow(sim) + 12));
        const failedMs = sim.nowMs - failFromMs;
        const during = view(sim, 2);
        // Nothing was stored, and the coordinator does not believe otherwise.
        expect(during.agreedWindow).toBe(before.agreedWindow);
        expect(during.payments).toBe(before.payments);
        expect(during.stateHash).toBe(before.stateHash);
        expect(view(sim, 0).agreedWindow).toBeGreaterThan(before.agreedWindow + 8);
        // The others agree without it (2 of 3).
        expectConverged(sim, "healthy servers while server 2 fails", [0, 1]);
        // Resyncs back off: with a retry every tick (50 ms) there would be failedMs / 50 of them.
        const resyncs = storage.refused.get("attempt") ?? 0;
        expect(resyncs).toBeGreaterThan(0);
        expect(resyncs).toBeLessThan(Math.ceil(Math.log2(failedMs / 250)) + failedMs / RESYNC_RETRY_MS_MAX + 3);

        storage.on = false;
        // Within the longest backoff (30 s = 30 windows here) it catches up, with no traffic.
        runToWindow(sim, windowNow(sim) + 35);
        expectConverged(sim, "after the storage works again");
        expect(view(sim, 2).agreedWindow).toBe(windowNow(sim) - 1);
      });
    });
  }
});
