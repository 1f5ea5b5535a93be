// The invariant checker must be able to fail: each rule of src/sim/invariants.ts, broken on
// purpose in a real simulation (a ledger or coordinator tampered with between events), throws
// InvariantViolation naming the rule, the seed and the event. And the event queue runs events in
// time order, ties in scheduling order.
import { describe, expect, test } from "bun:test";
import { InvariantViolation } from "../../src/sim/invariants.ts";
import { EventQueue } from "../../src/sim/event-queue.ts";
import { trafficUntil, windowNow, windowStart, withSim } from "./sim-helpers.ts";
import type { Simulation } from "../../src/sim/simulator.ts";
import { paymentIdHex } from "../../src/core/payment.ts";

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

describe("with a Byzantine server, the honest servers' invariants still fail when they should", () => {
  // Server 0 is "faulty" but does nothing (no behaviour): what the relaxations of src/sim/invariants.ts
  // let through is only what one faulty server can cause, so a break by an honest server still throws.
  const withQuietFaulty = <T>(seed: number, fn: (sim: Simulation) => T): T => withSim({ seed, servers: 3, byzantine: { server: 0, behaviours: [] } }, fn);

  test("two checkpoints for one window whose certificates share an honest voter (seed 11)", () => {
    withQuietFaulty(11, (sim) => {
      warmUp(sim);
      // Server 1 claims the next window at a hash nobody else will agree, with a certificate of
      // honest voters (its real one of the window before): any majority shares one with it.
      const c = sim.servers[1]!.coordinator;
      const claimed = { window: c.agreed.window + 1, hash: "ff".repeat(32) };
      Object.defineProperty(c, "agreed", { get: () => claimed });
      const ledger = sim.servers[1]!.ledger;
      const checkpoint = ledger.checkpoint.bind(ledger);
      ledger.checkpoint = (w) => checkpoint(w === claimed.window ? w - 1 : w);
      const v = violation(() => sim.runWindows(3));
      expect(v.invariant).toBe("checkpoint-conflict");
      expect(v.message).toMatch(/voters in both certificates: [12]/);
    });
  });

  test("two checkpoints for one window, one without a certificate (seed 15)", () => {
    withQuietFaulty(15, (sim) => {
      warmUp(sim);
      const c = sim.servers[2]!.coordinator;
      const claimed = { window: c.agreed.window + 1, hash: "ff".repeat(32) };
      Object.defineProperty(c, "agreed", { get: () => claimed });
      const v = violation(() => sim.runWindows(3));
      expect(v.invariant).toBe("checkpoint-conflict");
      expect(v.message).toMatch(/voters in both certificates: none/);
    });
  });

  test("the agreed window going back on an honest server without a proof against the faulty one (seed 12)", () => {
    withQuietFaulty(12, (sim) => {
      warmUp(sim);
      const c = sim.servers[2]!.coordinator;
      const back = { window: c.agreed.window - 2, hash: c.agreed.hash };
      Object.defineProperty(c, "agreed", { get: () => back });
      // A withdrawal counted, but no proof naming the faulty server for that window.
      c.counters.revoked++;
      expect(violation(() => sim.runWindows(1)).invariant).toBe("agreed-window-back");
    });
  });

  test("a payment the faulty server made up invalid, agreed by an honest server (seed 13)", () => {
    withQuietFaulty(13, (sim) => {
      warmUp(sim);
      // Pretend the next payment server 1 agrees was one the faulty server made up invalid.
      const ledger = sim.servers[1]!.ledger;
      const between = ledger.paymentsBetween.bind(ledger);
      ledger.paymentsBetween = (after, upto) => {
        const rows = between(after, upto);
        for (const row of rows) (sim.byzantine!.neverValid as Set<string>).add(paymentIdHex(row.bytes));
        return rows;
      };
      const v = violation(() => trafficUntil(sim, windowStart(sim, windowNow(sim) + 3)));
      expect(v.invariant).toBe("invalid-payment-applied");
      expect(v.message).toMatch(/server 1 agreed window \d+ with payment/);
    });
  });

  test("two servers holding different final hashes for one window (seed 14)", () => {
    withQuietFaulty(14, (sim) => {
      warmUp(sim);
      // Server 2's checkpoints read back with another hash: its final window's hash differs.
      const ledger = sim.servers[2]!.ledger;
      const checkpoint = ledger.checkpoint.bind(ledger);
      ledger.checkpoint = (w) => {
        const c = checkpoint(w);
        return c === undefined ? c : { ...c, hash: new Uint8Array(32).fill(0xee) };
      };
      expect(violation(() => sim.runWindows(2)).invariant).toBe("final-conflict");
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
