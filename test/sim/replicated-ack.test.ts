// Issue 8 items 2 and 3: an acknowledged payment is held durably by a strict majority of the
// servers before its payer hears "accepted", and a window whose beta dies before its handover
// leaves is completed from what a majority holds instead of being rolled back.
import { describe, expect, test } from "bun:test";
import {
  alphaOfWindow,
  blackoutStart,
  healAndExpectConverged,
  runToWindow,
  trafficUntil,
  view,
  windowNow,
  windowStart,
  withSim,
} from "./sim-helpers.ts";

const idOf = (hex: string) => Uint8Array.from(Buffer.from(hex, "hex"));

describe("a window survives its beta", () => {
  for (const [servers, seed] of [
    [3, 1101],
    [3, 1102],
    [5, 1103],
  ] as const) {
    test(`the beta is killed just before its handover; every acknowledged payment stays (${servers} servers, seed ${seed})`, () => {
      withSim({ seed, servers }, (sim) => {
        trafficUntil(sim, windowStart(sim, windowNow(sim) + 3));
        const k = windowNow(sim) + 1;
        const beta = alphaOfWindow(sim, k);
        const traffic = trafficUntil(sim, blackoutStart(sim, k) - 5, 20);
        const acked = traffic.acknowledged.filter((a) => a.server === beta);
        expect(acked.length, `seed ${seed}: payments acknowledged in window ${k}`).toBeGreaterThan(0);
        // kill -9 of the beta at its blackout: its handover never leaves.
        sim.stop(beta);
        runToWindow(sim, k + 2, 300);
        const survivors = sim.servers.filter((s) => s.index !== beta).map((s) => s.index);
        for (const i of survivors) {
          expect(view(sim, i).agreedWindow, `seed ${seed}: server ${i} agreed window`).toBeGreaterThanOrEqual(k);
          for (const a of acked) expect(sim.servers[i]!.ledger.hasPayment(idOf(a.id)), `seed ${seed}: acknowledged ${a.id.slice(0, 12)} on server ${i}`).toBe(true);
        }
        sim.restart(beta);
        trafficUntil(sim, windowStart(sim, windowNow(sim) + 2));
        healAndExpectConverged(sim, `beta ${beta} killed at its blackout`);
        for (const a of acked) expect(sim.servers[beta]!.ledger.hasPayment(idOf(a.id)), `seed ${seed}: acknowledged ${a.id.slice(0, 12)} on the restarted beta`).toBe(true);
      });
    });
  }
});
