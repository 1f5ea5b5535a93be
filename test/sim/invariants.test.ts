// The invariant checker must be able to fail: each rule of src/sim/invariants.ts, broken on
// purpose in a real simulation (a ledger or coordinator tampered with between events), throws
// InvariantViolation naming the rule, the seed and the event. And the event queue runs events in
// time order, ties in scheduling order.
import { describe, expect, test } from "bun:test";
import { InvariantViolation } from "../../src/sim/invariants.ts";
import { EventQueue } from "../../src/sim/event-queue.ts";
import { trafficUntil, windowNow, windowStart, withSim } from "./sim-helpers.ts";
import type { Simulation } from "../../src/sim/simulator.ts";

function violation(fn: () => void): InvariantViolation {
  try {
    fn();
  } catch (e) {
    if (e instanceof InvariantViolation) return e;
    throw e;
  }
  throw new Error("no invariant was broken");
}

/** A run with agreed, acknowledged payments on every server. */
function warmUp(sim: Simulation): void {
  trafficUntil(sim, windowStart(sim, windowNow(sim) + 6));
  sim.runWindows(2);
}

describe("invariants checked after every event", () => {
  test("a clean run breaks none, and payments were acknowledged and agreed (seed 1)", () => {
    withSim({ seed: 1, servers: 3 }, (sim) => {
      warmUp(sim);
      sim.checkSafety();
      expect(sim.invariants.agreedSomewhereTotal).toBeGreaterThan(10);
    });
  });

  test("supply: a ledger whose balances no longer sum to 2^32−1 (seed 2)", () => {
    withSim({ seed: 2, servers: 3 }, (sim) => {
      warmUp(sim);
      const ledger = sim.servers[1]!.ledger;
      const totals = ledger.totals.bind(ledger);
      ledger.totals = () => ({ ...totals(), supply: totals().supply - 1 });
      const v = violation(() => sim.runWindows(1));
      expect(v.invariant).toBe("supply");
      expect(v.message).toContain("seed 2");
      expect(v.message).toMatch(/after event: /);
    });
  });

  test("the agreed window going back on a server (seed 3)", () => {
    withSim({ seed: 3, servers: 3 }, (sim) => {
      warmUp(sim);
      const c = sim.servers[2]!.coordinator;
      const back = { window: c.agreed.window - 2, hash: c.agreed.hash };
      Object.defineProperty(c, "agreed", { get: () => back });
      expect(violation(() => sim.runWindows(1)).invariant).toBe("agreed-window-back");
    });
  });

  test("two checkpoints for one window (seed 4)", () => {
    withSim({ seed: 4, servers: 3 }, (sim) => {
      warmUp(sim);
      const c = sim.servers[0]!.coordinator;
      // Server 0 claims the next window at a hash nobody else will agree.
      const claimed = { window: c.agreed.window + 1, hash: "ff".repeat(32) };
      Object.defineProperty(c, "agreed", { get: () => claimed });
      expect(violation(() => sim.runWindows(3)).invariant).toBe("checkpoint-conflict");
    });
  });

  test("an acknowledged payment agreed somewhere missing on a server that agreed its window (seed 5)", () => {
    withSim({ seed: 5, servers: 3 }, (sim) => {
      warmUp(sim);
      // Server 2's ledger "forgets" every payment of its agreed windows: the next window it agrees
      // is checked. (Payments still pending there count, so the acknowledgements hold rule 6.)
      const ledger = sim.servers[2]!.ledger;
      const has = ledger.hasPayment.bind(ledger);
      ledger.hasPayment = (id) => has(id) && (ledger.payment(id)?.window ?? -1) > sim.servers[2]!.coordinator.agreed.window;
      const v = violation(() => {
        trafficUntil(sim, windowStart(sim, windowNow(sim) + 1));
        sim.runWindows(3);
      });
      expect(v.invariant).toBe("agreed-payment-lost");
      expect(v.message).toMatch(/missing on server 2/);
    });
  });

  test("an acknowledgement while only a minority holds the payment (seed 7)", () => {
    withSim({ seed: 7, servers: 3 }, (sim) => {
      warmUp(sim);
      // The two other servers "forget" what they store: the alpha acknowledges on their word.
      for (const s of sim.servers) {
        s.ledger.hasPayment = () => false;
        s.coordinator.holdsRelayed = () => false;
      }
      const v = violation(() => trafficUntil(sim, windowStart(sim, windowNow(sim) + 2)));
      expect(v.invariant).toBe("acknowledged-not-replicated");
      expect(v.message).toMatch(/acknowledged while only server\(s\) none of 3 hold it/);
    });
  });

  test("one signed part agreed in two windows (seed 6)", () => {
    withSim({ seed: 6, servers: 3 }, (sim) => {
      warmUp(sim);
      // Server 1 reports, for the windows it agrees next, a payment already agreed earlier.
      const ledger = sim.servers[1]!.ledger;
      const earlier = ledger.paymentsBetween(-1, ledger.agreed().window).at(0)!;
      const between = ledger.paymentsBetween.bind(ledger);
      ledger.paymentsBetween = (after, upto) => [...between(after, upto), { window: upto, bytes: earlier.bytes }];
      expect(violation(() => sim.runWindows(2)).invariant).toBe("applied-twice");
    });
  });
});

describe("the event queue", () => {
  test("pops in time order, ties in the order scheduled, and only what is due", () => {
    const queue = new EventQueue();
    const order: string[] = [];
    const times = [50, 10, 30, 10, 70, 30, 20, 10];
    times.forEach((atMs, seq) => queue.push({ atMs, seq, what: `${atMs}/${seq}`, run: () => order.push(`${atMs}/${seq}`) }));
    for (let e = queue.popUntil(60); e !== null; e = queue.popUntil(60)) e.run();
    expect(order).toEqual(["10/1", "10/3", "10/7", "20/6", "30/2", "30/5", "50/0"]);
    expect(queue.size).toBe(1);
    expect(queue.popUntil(100)?.what).toBe("70/4");
    expect(queue.popUntil(100)).toBeNull();
  });
});
