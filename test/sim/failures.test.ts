// Server failures and the schedule's edges, in simulated time (interval 1000 ms, blackout 400,
// skew 150): a server down for its own window, a server down for many windows, the beta's
// handover lost to the next alpha, two of three down, one payment sent to both sides of a switch,
// and a server whose clock is off by half the skew.
import { describe, expect, test } from "bun:test";
import { toHex } from "../../src/core/bytes.ts";
import { paymentId } from "../../src/core/payment.ts";
import {
  alphaOfWindow,
  balance,
  balances,
  blackoutStart,
  expectSameAgreed,
  healAndExpectConverged,
  nextWindowOf,
  paymentBytes,
  runToWindow,
  submitBytes,
  trafficUntil,
  view,
  windowNow,
  windowStart,
  withSim,
} from "./sim-helpers.ts";

const idOf = (hex: string) => Uint8Array.from(Buffer.from(hex, "hex"));

describe("a server down for its own window", () => {
  for (const [victim, seed] of [
    [0, 101],
    [1, 102],
    [2, 103],
  ] as const) {
    test(`server ${victim} stopped just before its window as alpha, restarted after (seed ${seed})`, () => {
      withSim({ seed, servers: 3 }, (sim) => {
        const k = nextWindowOf(sim, victim, windowNow(sim) + 5);
        const next = alphaOfWindow(sim, k + 1);
        const others = [0, 1, 2].filter((i) => i !== victim);
        trafficUntil(sim, windowStart(sim, k) - 30);
        // Window k−1 is agreed everywhere before the stop.
        for (const i of [0, 1, 2]) expect(view(sim, i).agreedWindow, `seed ${seed}: server ${i} before the stop`).toBe(k - 1);
        const rollbacksBefore = others.map((i) => sim.servers[i]!.coordinator.counters.rollbacks);

        sim.stop(victim);
        const during = trafficUntil(sim, windowStart(sim, k + 1));
        // Nobody accepts in window k: its alpha is down.
        expect(during.accepted, `seed ${seed}: accepted while the alpha of window ${k} was down`).toBe(0);
        expect(during.rejected.get("no-server") ?? 0, `seed ${seed}: attempts at the stopped alpha`).toBeGreaterThan(0);

        // The next alpha accepts once window k is agreed (no batch: the unchanged state).
        runToWindow(sim, k + 1, 250);
        const p = sim.payAndFlush(3, 4, 1234, next);
        expect(p !== "no-server" && p.accepted, `seed ${seed}: the next alpha (server ${next}) accepts in window ${k + 1}: ${JSON.stringify(p)}`).toBe(true);
        sim.restart(victim);
        trafficUntil(sim, windowStart(sim, k + 5) + 300);

        for (const [j, i] of others.entries()) {
          const history = sim.servers[i]!.agreedHistory;
          // No consensus lost: every window from k−1 on was agreed by the survivors, in order.
          for (let w = k - 1; w <= k + 4; w++) expect(history.has(w), `seed ${seed}: server ${i} agreed window ${w}`).toBe(true);
          // Window k had no batch: agreed at window k−1's hash.
          expect(history.get(k), `seed ${seed}: server ${i} window ${k} hash = window ${k - 1} hash`).toBe(history.get(k - 1)!);
          expect(sim.servers[i]!.coordinator.counters.rollbacks, `seed ${seed}: server ${i} rollbacks`).toBe(rollbacksBefore[j]!);
        }
        // The acknowledged payment of window k+1 is in every ledger, the restarted one too.
        if (p !== "no-server" && p.accepted) {
          for (const i of [0, 1, 2]) expect(sim.servers[i]!.ledger.payment(p.id), `seed ${seed}: payment in server ${i}`).toBeDefined();
        }
        expectSameAgreed(sim, `server ${victim} down for its window`);
        expect(view(sim, victim).agreedWindow, `seed ${seed}: restarted server agreed window`).toBe(windowNow(sim) - 1);
        healAndExpectConverged(sim, `server ${victim} down for its window`);
      });
    });
  }
});

describe("a server down for many windows", () => {
  for (const [servers, lossRate, seed] of [
    [3, 0, 201],
    [5, 0.05, 202],
  ] as const) {
    test(`${servers} servers, loss ${lossRate}: down 10 windows during traffic, restarted, catches up (seed ${seed})`, () => {
      withSim({ seed, servers, lossRate }, (sim) => {
        const victim = 1;
        const others = sim.servers.map((s) => s.index).filter((i) => i !== victim);
        trafficUntil(sim, windowStart(sim, windowNow(sim) + 6) + 450);
        const stoppedAt = windowNow(sim);
        sim.stop(victim);
        const down = trafficUntil(sim, windowStart(sim, stoppedAt + 10) + 450);
        // The others kept agreeing: their agreed window advanced with the windows.
        for (const i of others) {
          expect(view(sim, i).agreedWindow, `seed ${seed}: server ${i} agreed window while ${victim} was down`).toBeGreaterThanOrEqual(stoppedAt + 8);
        }
        expect(down.accepted, `seed ${seed}: payments accepted while server ${victim} was down`).toBeGreaterThan(30);
        const victimBehind = view(sim, victim).agreedWindow;
        expect(victimBehind, `seed ${seed}: the stopped server is behind`).toBeLessThanOrEqual(stoppedAt);

        sim.restart(victim);
        const restartedAt = windowNow(sim);
        // Catches up within a few windows: same agreed window and state hash as the others.
        let caughtUpIn: number | null = null;
        for (let w = 1; w <= 6 && caughtUpIn === null; w++) {
          trafficUntil(sim, windowStart(sim, restartedAt + w) + 300);
          const mine = view(sim, victim);
          const theirs = view(sim, others[0]!);
          if (mine.agreedWindow === theirs.agreedWindow && mine.agreedHash === theirs.agreedHash && mine.stateHash === theirs.stateHash) caughtUpIn = w;
        }
        expect(caughtUpIn, `seed ${seed}: windows until the restarted server caught up (${sim.converged().detail})`).not.toBeNull();
        expect(caughtUpIn!, `seed ${seed}: caught up within 3 windows`).toBeLessThanOrEqual(3);
        expect(sim.servers[victim]!.coordinator.counters.resyncs, `seed ${seed}: the restarted server resynced`).toBeGreaterThanOrEqual(1);
        // And it takes part again: it accepts as alpha once it is its turn.
        const before = sim.servers[victim]!.intake.stats.accepted;
        trafficUntil(sim, windowStart(sim, windowNow(sim) + servers + 1) + 300);
        expect(sim.servers[victim]!.intake.stats.accepted, `seed ${seed}: the restarted server accepted as alpha`).toBeGreaterThan(before);
        healAndExpectConverged(sim, `server ${victim} down 10 windows`);
      });
    });
  }
});

describe("the beta's handover lost to the next alpha", () => {
  // What is lost on the way to alpha k+1 (or to both other servers) during window k and its beta
  // period, and whether the first (acknowledged) spend survives. The alpha relays what it accepts
  // during the window, so "handover lost" alone still leaves the next alpha the payments.
  const variants = [
    { seed: 301, what: "the handover to alpha k+1", lostTo: "next", kinds: ["handover"], firstStands: true, mustResync: false },
    { seed: 302, what: "the handover and the relays to alpha k+1", lostTo: "next", kinds: ["handover", "relay"], firstStands: true, mustResync: true },
    { seed: 303, what: "the handover, relays and votes to alpha k+1", lostTo: "next", kinds: ["handover", "relay", "vote"], firstStands: true, mustResync: true },
    // Nobody but the beta got the batch. With the relays, the next alpha rescues the window from
    // them; without (the first spend is then acknowledged only once window k is agreed), the two
    // ask the beta for its handover at the start of k+1 (GET /peer/handover). The first stands.
    { seed: 304, what: "the handover to both other servers", lostTo: "both", kinds: ["handover"], firstStands: true, mustResync: false },
    { seed: 305, what: "the handover and the relays to both other servers", lostTo: "both", kinds: ["handover", "relay"], firstStands: true, mustResync: false },
  ] as const;
  for (const v of variants) {
    test(`${v.what} lost: a payer spends everything at alpha k and again at alpha k+1, at most one counts (seed ${v.seed})`, () => {
      const seed = v.seed;
      withSim({ seed, servers: 3 }, (sim) => {
        // A little history first, among accounts 0–2 only, so the payer's balance is its own.
        trafficUntil(sim, windowStart(sim, windowNow(sim) + 4), 10, [0, 1, 2]);
        const k = windowNow(sim) + 2;
        const alphaK = alphaOfWindow(sim, k);
        const alphaK1 = alphaOfWindow(sim, k + 1);
        const third = 3 - alphaK - alphaK1;
        const [payer, payee1, payee2] = [5, 6, 7];
        let dropped = 0;
        sim.dropRules = [
          (from, to, kind, now) => {
            const hit =
              (v.kinds as readonly string[]).includes(kind) &&
              (kind === "vote" ? true : from === alphaK) &&
              (to === alphaK1 || (v.lostTo === "both" && to === third)) &&
              now >= windowStart(sim, k) &&
              now < blackoutStart(sim, k + 1);
            if (hit && kind === "handover") dropped++;
            return hit;
          },
        ];
        runToWindow(sim, k, 100);
        const start = balance(sim, alphaK, payer);
        const start1 = balance(sim, alphaK, payee1);
        const start2 = balance(sim, alphaK, payee2);
        const first = sim.payAndFlush(payer, payee1, start, alphaK);
        if (first === "no-server" || !first.accepted) throw new Error(`seed ${seed}: alpha ${alphaK} should accept the whole balance: ${JSON.stringify(first)}`);

        // Window k+1: try to spend it again at its alpha, again and again through the window.
        const second: string[] = [];
        const secondIds: Uint8Array[] = [];
        for (const offset of [1, 20, 60, 120, 200, 300, 450, 590]) {
          sim.runUntil(windowStart(sim, k + 1) + offset);
          const o = sim.payAndFlush(payer, payee2, start, alphaK1);
          if (o === "no-server") throw new Error("alpha k+1 is up");
          if (o.id) secondIds.push(o.id);
          second.push(o.accepted ? "accepted" : o.code);
        }
        runToWindow(sim, k + 4);
        expect(dropped, `seed ${seed}: handovers dropped`).toBe(v.lostTo === "both" ? 2 : 1);
        const acceptedSecond = second.filter((s) => s === "accepted").length;
        if (v.firstStands) {
          // The next alpha did not get the batch by handover: it reached the majority's state from
          // the relayed payments or by resync, and refused the second spend meanwhile (waiting) and
          // after (balance).
          expect(sim.servers[alphaK1]!.agreedHistory.get(k), `seed ${seed}: alpha k+1 agreed window ${k} at the beta's hash`).toBe(sim.servers[alphaK]!.agreedHistory.get(k)!);
          if (v.mustResync) expect(sim.servers[alphaK1]!.coordinator.counters.resyncs, `seed ${seed}: alpha k+1 resynced`).toBeGreaterThanOrEqual(1);
          expect(acceptedSecond, `seed ${seed}: second spends acknowledged (${second.join(", ")})`).toBe(0);
        } else {
          expect(acceptedSecond, `seed ${seed}: second spends acknowledged (${second.join(", ")})`).toBeLessThanOrEqual(1);
        }

        healAndExpectConverged(sim, `${v.what} lost`);
        for (const i of [alphaK, alphaK1, third]) {
          const b = balance(sim, i, payer);
          const out1 = balance(sim, i, payee1) - start1;
          const out2 = balance(sim, i, payee2) - start2;
          const where = `seed ${seed}: server ${i} (second attempts: ${second.join(", ")})`;
          expect(b, `${where}: payer balance`).toBeGreaterThanOrEqual(0);
          expect(out1 + out2, `${where}: total outflow`).toBeLessThanOrEqual(start);
          expect(out1 + out2 + b, `${where}: outflow + balance`).toBe(start);
          expect(out1, `${where}: first payee's gain`).toBe(v.firstStands ? start : 0);
          expect(out2, `${where}: second payee's gain`).toBe(acceptedSecond * start);
          expect(sim.servers[i]!.ledger.payment(first.id) !== undefined, `${where}: first payment present`).toBe(v.firstStands);
          const secondsPresent = secondIds.filter((id) => sim.servers[i]!.ledger.payment(id) !== undefined).length;
          expect(secondsPresent, `${where}: second spends present`).toBe(acceptedSecond);
        }
      });
    });
  }
});

describe("two of three servers down", () => {
  for (const [survivor, seed] of [
    [0, 401],
    [2, 402],
  ] as const) {
    test(`server ${survivor} alone: no consensus, its acceptances roll back, consensus returns with the others (seed ${seed})`, () => {
      withSim({ seed, servers: 3 }, (sim) => {
        const down = [0, 1, 2].filter((i) => i !== survivor);
        const s = sim.servers[survivor]!;
        const k = nextWindowOf(sim, survivor, windowNow(sim) + 4);
        trafficUntil(sim, windowStart(sim, k) + 50);
        expect(view(sim, survivor).agreedWindow, `seed ${seed}: window ${k - 1} agreed before the failure`).toBe(k - 1);
        for (const i of down) sim.stop(i);
        const before = view(sim, survivor);
        const balancesBefore = balances(sim, survivor);
        const rollbacksBefore = s.coordinator.counters.rollbacks;

        // The survivor is alpha of window k, at the agreed state of k−1: it takes payments and
        // commits them, but acknowledges none: no majority holds them (issue 8, item 2).
        const sent = [];
        for (const offset of [100, 200, 300, 400, 500]) {
          sim.runUntil(windowStart(sim, k) + offset);
          sent.push(sim.pay(offset % 3, 3 + (offset % 4), 1000 + offset, survivor));
        }
        sim.runUntil(windowStart(sim, k) + 550);
        expect(sent.map((p) => p.outcome), `seed ${seed}: nothing acknowledged while alone`).toEqual([null, null, null, null, null]);
        expect(view(sim, survivor).payments, `seed ${seed}: committed on the survivor`).toBe(before.payments + 5);

        // No majority by the end of the beta period: back to the checkpoint of k−1, and the payers
        // are told NOT_KEPT (they ask the network before paying again).
        runToWindow(sim, k + 1, 700);
        expect(s.coordinator.counters.rollbacks, `seed ${seed}: survivor rollbacks`).toBe(rollbacksBefore + 1);
        expect(sent.map((p) => p.outcome !== null && p.outcome !== "no-server" && !p.outcome.accepted && p.outcome.code), `seed ${seed}: answers after the rollback`).toEqual(Array(5).fill("NOT_KEPT"));
        for (const p of sent) expect(s.ledger.hasPayment(paymentId(p.bytes)), `seed ${seed}: committed payment after rollback`).toBe(false);
        // Back at the checkpoint of k−1 exactly (the traffic before the failure may itself have
        // left a payment of window k, which goes with the rest).
        const rolledBack = view(sim, survivor);
        expect(rolledBack.agreedWindow, `seed ${seed}: survivor agreed window after rollback`).toBe(before.agreedWindow);
        expect(rolledBack.stateHash, `seed ${seed}: survivor state after rollback is its checkpoint`).toBe(before.agreedHash);
        if (before.stateHash === before.agreedHash) {
          expect(balances(sim, survivor), `seed ${seed}: survivor balances after rollback`).toEqual(balancesBefore);
        }

        // Alone for several windows, through its next turn as alpha: the agreed window stays put
        // and it accepts nothing (it cannot know the previous window is agreed).
        const alone = trafficUntil(sim, windowStart(sim, k + 7) + 300);
        expect(view(sim, survivor).agreedWindow, `seed ${seed}: survivor agreed window while alone`).toBe(k - 1);
        expect(alone.accepted, `seed ${seed}: accepted while alone (${JSON.stringify([...alone.rejected])})`).toBe(0);
        expect(view(sim, survivor).payments, `seed ${seed}: survivor payment count while alone`).toBe(rolledBack.payments);

        // The two return: consensus comes back by itself.
        for (const i of down) sim.restart(i);
        const restartedAt = windowNow(sim);
        const after = trafficUntil(sim, windowStart(sim, restartedAt + 4) + 300);
        expect(view(sim, survivor).agreedWindow, `seed ${seed}: agreed window after the others returned`).toBe(windowNow(sim) - 1);
        expect(after.accepted, `seed ${seed}: payments accepted after the others returned`).toBeGreaterThan(10);
        expectSameAgreed(sim, "two of three down, back");
        healAndExpectConverged(sim, "two of three down, back");
      });
    });
  }
});

describe("one payment sent to both sides of a switch", () => {
  test("the same bytes at alpha k just before its blackout and at alpha k+1 just after its start apply at most once (seed 501)", () => {
    withSim({ seed: 501, servers: 3 }, (sim) => {
      trafficUntil(sim, windowStart(sim, windowNow(sim) + 3), 10, [0, 1, 2]);
      // Timestamps relative to t1 (the send to alpha k) and t2 (the send to alpha k+1): the first
      // two can only be accepted by alpha k, the third only by alpha k+1, the fourth by neither.
      const cases = [
        { name: "stamped at the first send", stamp: (t1: number, _t2: number) => t1, expected: 1 },
        { name: "stamped skew after the first send", stamp: (t1: number, _t2: number) => t1 + 150, expected: 1 },
        { name: "stamped skew before the second send", stamp: (_t1: number, t2: number) => t2 - 150, expected: 1 },
        { name: "stamped halfway", stamp: (t1: number, t2: number) => Math.floor((t1 + t2) / 2), expected: 0 },
      ];
      const results: { name: string; payer: number; amount: number; expected: number; outcomes: string[] }[] = [];
      cases.forEach((c, n) => {
        const k = windowNow(sim) + 1;
        const t1 = blackoutStart(sim, k) - 1;
        const t2 = windowStart(sim, k + 1) + 1;
        const payer = 3 + n;
        const amount = 10_000 + n;
        const bytes = paymentBytes(sim, payer, 7, amount, c.stamp(t1, t2));
        sim.runUntil(t1);
        const a = submitBytes(sim, alphaOfWindow(sim, k), bytes);
        sim.runUntil(t2);
        const b = submitBytes(sim, alphaOfWindow(sim, k + 1), bytes);
        // Once more late in window k+1, and at the alpha after: retransmissions must not apply again.
        sim.runUntil(windowStart(sim, k + 1) + 500);
        const b2 = submitBytes(sim, alphaOfWindow(sim, k + 1), bytes);
        const outcomes = [a, b, b2].map((o) => (o.accepted ? "accepted" : o.code));
        results.push({ name: c.name, payer, amount, expected: c.expected, outcomes });
        runToWindow(sim, k + 3);
      });
      healAndExpectConverged(sim, "same payment at both sides of a switch");
      for (const r of results) {
        for (const i of [0, 1, 2]) {
          const debited = (sim.network.genesis.get(toHex(sim.accounts[r.payer]!.publicKey))! - balance(sim, i, r.payer)) / r.amount;
          expect(debited, `seed 501: ${r.name} (${r.outcomes.join(", ")}): times debited on server ${i}`).toBe(r.expected);
        }
      }
    });
  });
});

describe("a server whose clock is off by half the skew", () => {
  for (const [offset, seed] of [
    [75, 601],
    [-75, 602],
  ] as const) {
    test(`server 1 clock ${offset > 0 ? "+" : ""}${offset} ms: accepts as alpha, everyone converges (seed ${seed})`, () => {
      withSim({ seed, servers: 3, clockOffsetsMs: [0, offset, 0] }, (sim) => {
        const stats = sim.servers.map(() => 0);
        sim.randomTraffic(60, 10);
        sim.servers.forEach((s, i) => (stats[i] = s.intake.stats.accepted));
        expect(() => sim.checkSafety(), `seed ${seed}: safety`).not.toThrow();
        // Server 1 was alpha in a third of the windows and accepted a fair share.
        expect(stats[1]!, `seed ${seed}: accepted by the off-clock server (${stats.join(", ")})`).toBeGreaterThan(stats[0]! / 2);
        expect(sim.stats.accepted / sim.stats.submitted, `seed ${seed}: share accepted (${sim.stats.accepted}/${sim.stats.submitted})`).toBeGreaterThan(0.75);
        for (const s of sim.servers) expect(s.coordinator.counters.rollbacks, `seed ${seed}: rollbacks on server ${s.index}`).toBe(0);
        healAndExpectConverged(sim, `clock offset ${offset}`);
        // Every acknowledged payment is in every ledger.
        for (const i of [0, 1, 2]) {
          let kept = 0;
          for (const [id] of sim.acknowledged) if (sim.servers[i]!.ledger.payment(idOf(id)) !== undefined) kept++;
          expect(kept, `seed ${seed}: acknowledged payments kept on server ${i}`).toBe(sim.acknowledged.size);
        }
      });
    });
  }
});
