// A server's own votes are written before they are sent, so a restarted server never casts a
// second, different vote for a window (issue 9, item 2; today a restart re-voted and peers saw
// a false "second, different vote" — indistinguishable from equivocation).
import { describe, expect, test } from "bun:test";
import { alphaOfWindow, blackoutStart, healAndExpectConverged, runToWindow, trafficUntil, windowNow, windowStart, withSim } from "./sim-helpers.ts";

describe("a restarted server never votes twice for one window", () => {
  for (const seed of [541, 542, 543]) {
    test(`a receiver voted "no batch", restarts, and then gets the handover again: it does not vote again (seed ${seed})`, () => {
      withSim({ seed, servers: 3 }, (sim) => {
        trafficUntil(sim, windowStart(sim, windowNow(sim) + 3), 10);
        const k = windowNow(sim) + 2;
        const beta = alphaOfWindow(sim, k);
        const receiver = (beta + 2) % 3;
        // The handover of window k does not reach `receiver` until after it voted "no batch".
        sim.dropRules = [(_from, to, kind, now) => kind === "handover" && to === receiver && now < windowStart(sim, k + 1) + 100];
        runToWindow(sim, k, 300);
        const o = sim.payAndFlush(0, 3, 1000, beta);
        expect(o !== "no-server" && o.accepted, `seed ${seed}: a payment in window ${k}`).toBe(true);
        sim.runUntil(windowStart(sim, k + 1) + 150);
        // Both restart: the beta hands window k over again (it forgot it had), the receiver forgot
        // its vote unless it kept it on disk.
        sim.stop(receiver);
        sim.stop(beta);
        sim.restart(receiver);
        sim.restart(beta);
        const reasons: string[] = [];
        for (const s of sim.servers) {
          const c = s.coordinator;
          const receive = c.receive.bind(c);
          c.receive = (bytes, now) => {
            const r = receive(bytes, now);
            if (!r.ok) reasons.push(`server ${s.index}: ${r.reason}`);
            return r;
          };
        }
        sim.runUntil(blackoutStart(sim, k + 1) - 50);
        // The beta's repeated handover is refused as a replay where it was seen; no vote is.
        expect(reasons.filter((r) => r.includes("vote")), `seed ${seed}: votes refused since the restarts (a second, different vote)`).toEqual([]);
        // Window k was agreed by the beta and the third server; the receiver resynced to it.
        expect(sim.servers[receiver]!.ledger.payment((o as { id: Uint8Array }).id), `seed ${seed}: the receiver holds window ${k}'s payment`).toBeDefined();
        sim.checkSafety();
        healAndExpectConverged(sim, "restart after voting");
      });
    });
  }
});
