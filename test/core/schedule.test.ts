// The schedule: who is alpha and beta when. Clients compute it too, so it is fixed.
import { describe, expect, test } from "bun:test";
import {
  acceptingPeriod,
  acceptingWindowAt,
  alphaOf,
  blackoutStartMs,
  nextAccepting,
  rolesAt,
  timestampFitsWindow,
  windowAt,
  windowStartMs,
  type ScheduleParams,
} from "../../src/core/schedule.ts";

const I = 120_000;
const B = 15_000;
const SKEW = 5_000;
const THREE: ScheduleParams = { serverCount: 3, intervalMs: I, blackoutMs: B };
const ONE: ScheduleParams = { serverCount: 1, intervalMs: I, blackoutMs: B };

const hms = (h: number, m: number, s: number) => ((h * 60 + m) * 60 + s) * 1000;

// 2024-01-01T00:00:00Z is window 14,200,560, a multiple of 3: server 1 (index 0) is alpha there too.
const EPOCHS: [string, number][] = [
  ["Unix epoch", 0],
  ["2024-01-01T00:00:00Z", Date.UTC(2024, 0, 1)],
];

/** The table of background.md: time → [alpha index | null, beta index | null]. */
const TABLE: [string, number, number | null, number | null][] = [
  ["00:00:00", hms(0, 0, 0), 0, 2],
  ["00:01:45", hms(0, 1, 45), null, 0],
  ["00:02:00", hms(0, 2, 0), 1, 0],
  ["00:03:45", hms(0, 3, 45), null, 1],
  ["00:04:00", hms(0, 4, 0), 2, 1],
  ["00:05:45", hms(0, 5, 45), null, 2],
  ["00:06:00", hms(0, 6, 0), 0, 2],
];

describe("the background.md table, 3 servers, interval 2 min, blackout 15 s", () => {
  test("2024-01-01 starts a rotation (window index ≡ 0 mod 3)", () => {
    expect(windowAt(Date.UTC(2024, 0, 1), THREE) % 3).toBe(0);
  });

  for (const [epochName, epoch] of EPOCHS) {
    describe(epochName, () => {
      for (const [label, t, alpha, beta] of TABLE) {
        test(`${label}: alpha ${alpha === null ? "-" : `server ${alpha + 1}`}, beta ${beta === null ? "-" : `server ${beta + 1}`}`, () => {
          const r = rolesAt(epoch + t, THREE);
          expect({ alpha: r.alpha, beta: r.beta }).toEqual({ alpha, beta });
          expect(r.inBlackout).toBe(alpha === null);
        });
      }

      // Each switch instant, minus one millisecond, still has the previous row's roles.
      for (let i = 1; i < TABLE.length; i++) {
        const [label, t] = TABLE[i]!;
        const [, , prevAlpha, prevBeta] = TABLE[i - 1]!;
        test(`1 ms before ${label}: still the previous row (alpha ${prevAlpha}, beta ${prevBeta})`, () => {
          const r = rolesAt(epoch + t - 1, THREE);
          expect({ alpha: r.alpha, beta: r.beta }).toEqual({ alpha: prevAlpha, beta: prevBeta });
        });
      }
    });
  }

  test("window, betaWindow and inBlackout at the table's times", () => {
    expect(rolesAt(hms(0, 0, 0), THREE)).toEqual({ window: 0, alpha: 0, beta: 2, betaWindow: -1, inBlackout: false });
    expect(rolesAt(hms(0, 1, 45), THREE)).toEqual({ window: 0, alpha: null, beta: 0, betaWindow: 0, inBlackout: true });
    expect(rolesAt(hms(0, 2, 0), THREE)).toEqual({ window: 1, alpha: 1, beta: 0, betaWindow: 0, inBlackout: false });
    expect(rolesAt(hms(0, 3, 45) - 1, THREE)).toEqual({ window: 1, alpha: 1, beta: 0, betaWindow: 0, inBlackout: false });
    expect(rolesAt(hms(0, 3, 45), THREE)).toEqual({ window: 1, alpha: null, beta: 1, betaWindow: 1, inBlackout: true });
    expect(rolesAt(hms(0, 5, 59) + 999, THREE)).toEqual({ window: 2, alpha: null, beta: 2, betaWindow: 2, inBlackout: true });
  });
});

describe("window arithmetic", () => {
  test("windowAt / windowStartMs / blackoutStartMs", () => {
    expect(windowAt(0, THREE)).toBe(0);
    expect(windowAt(I - 1, THREE)).toBe(0);
    expect(windowAt(I, THREE)).toBe(1);
    expect(windowAt(-1, THREE)).toBe(-1);
    expect(windowStartMs(5, THREE)).toBe(600_000);
    expect(blackoutStartMs(0, THREE)).toBe(105_000);
    expect(blackoutStartMs(5, THREE)).toBe(705_000);
  });
  test("alphaOf is window mod n, also for negative windows", () => {
    expect([0, 1, 2, 3, 4, 5].map((w) => alphaOf(w, THREE))).toEqual([0, 1, 2, 0, 1, 2]);
    expect([-1, -2, -3, -4].map((w) => alphaOf(w, THREE))).toEqual([2, 1, 0, 2]);
    expect([-1, 0, 7].map((w) => alphaOf(w, ONE))).toEqual([0, 0, 0]);
  });
  test("a 2-server network alternates", () => {
    const two: ScheduleParams = { serverCount: 2, intervalMs: I, blackoutMs: B };
    expect(rolesAt(0, two)).toMatchObject({ alpha: 0, beta: 1 });
    expect(rolesAt(I, two)).toMatchObject({ alpha: 1, beta: 0 });
    expect(rolesAt(2 * I - B, two)).toMatchObject({ alpha: null, beta: 1 });
  });
});

describe("sweep: rolesAt matches an independent definition, and at most one alpha and one beta", () => {
  /** Per-server roles from the definition, without using rolesAt. */
  function model(t: number, p: ScheduleParams): { alphas: number[]; betas: number[] } {
    const alphas: number[] = [];
    const betas: number[] = [];
    for (let s = 0; s < p.serverCount; s++) {
      const w = Math.floor(t / p.intervalMs);
      const owns = (((w % p.serverCount) + p.serverCount) % p.serverCount) === s;
      const accepting = p.serverCount === 1 || t < (w + 1) * p.intervalMs - p.blackoutMs;
      if (owns && accepting) alphas.push(s);
      // Server s is beta for window v from v's blackout start to v+1's blackout start.
      const v = Math.floor((t + p.blackoutMs) / p.intervalMs) - 1;
      if ((((v % p.serverCount) + p.serverCount) % p.serverCount) === s) betas.push(s);
    }
    return { alphas, betas };
  }

  for (const n of [1, 2, 3, 5]) {
    test(`${n} server(s), three rotations, every 250 ms and every boundary ± 1 ms`, () => {
      const p: ScheduleParams = { serverCount: n, intervalMs: I, blackoutMs: B };
      const times = new Set<number>();
      const end = 3 * n * I + I;
      for (let t = -I; t < end; t += 250) times.add(t);
      for (let w = -1; w * I < end; w++) {
        for (const edge of [windowStartMs(w, p), blackoutStartMs(w, p)]) for (const d of [-1, 0, 1]) times.add(edge + d);
      }
      let alphaSeen = 0;
      for (const t of times) {
        const r = rolesAt(t, p);
        const m = model(t, p);
        expect(m.alphas.length).toBeLessThanOrEqual(1);
        expect(m.betas.length).toBe(1);
        expect({ t, alpha: r.alpha, beta: r.beta }).toEqual({ t, alpha: m.alphas[0] ?? null, beta: m.betas[0]! });
        if (n > 1 && r.alpha !== null) expect(r.alpha).not.toBe(r.beta);
        if (r.alpha !== null) alphaSeen++;
      }
      expect(alphaSeen).toBeGreaterThan(0);
    });
  }

  test("each server's accepting time per rotation is (interval − blackout) per window it owns", () => {
    const accepting = [0, 0, 0];
    const step = 1000;
    for (let t = 0; t < 3 * I; t += step) {
      const a = rolesAt(t, THREE).alpha;
      if (a !== null) accepting[a]! += step;
    }
    expect(accepting).toEqual([I - B, I - B, I - B]);
  });
});

describe("nextAccepting", () => {
  test("while accepting: the current alpha, from now until its blackout", () => {
    expect(nextAccepting(hms(0, 0, 30), THREE)).toEqual({ server: 0, window: 0, fromMs: hms(0, 0, 30), untilMs: hms(0, 1, 45) });
    expect(nextAccepting(hms(0, 2, 0), THREE)).toEqual({ server: 1, window: 1, fromMs: hms(0, 2, 0), untilMs: hms(0, 3, 45) });
    expect(nextAccepting(hms(0, 1, 45) - 1, THREE)).toEqual({ server: 0, window: 0, fromMs: hms(0, 1, 45) - 1, untilMs: hms(0, 1, 45) });
  });

  test("during a blackout: the next window's alpha, from that window's start", () => {
    expect(nextAccepting(hms(0, 1, 45), THREE)).toEqual({ server: 1, window: 1, fromMs: hms(0, 2, 0), untilMs: hms(0, 3, 45) });
    expect(nextAccepting(hms(0, 1, 59) + 999, THREE)).toEqual({ server: 1, window: 1, fromMs: hms(0, 2, 0), untilMs: hms(0, 3, 45) });
    expect(nextAccepting(hms(0, 3, 50), THREE)).toEqual({ server: 2, window: 2, fromMs: hms(0, 4, 0), untilMs: hms(0, 5, 45) });
    expect(nextAccepting(hms(0, 5, 50), THREE)).toEqual({ server: 0, window: 3, fromMs: hms(0, 6, 0), untilMs: hms(0, 7, 45) });
  });

  test("during a blackout at a real date", () => {
    const t0 = Date.UTC(2024, 0, 1);
    const w = windowAt(t0, THREE);
    expect(nextAccepting(t0 + hms(0, 1, 50), THREE)).toEqual({ server: 1, window: w + 1, fromMs: t0 + I, untilMs: t0 + 2 * I - B });
  });

  test("agrees with rolesAt: the server it names is the alpha at fromMs, and not at untilMs", () => {
    for (let t = 0; t < 3 * I; t += 2_500) {
      const n = nextAccepting(t, THREE);
      expect(n.fromMs).toBeGreaterThanOrEqual(t);
      expect(rolesAt(n.fromMs, THREE).alpha).toBe(n.server);
      expect(rolesAt(n.untilMs - 1, THREE).alpha).toBe(n.server);
      expect(rolesAt(n.untilMs, THREE).alpha).toBeNull();
    }
  });
});

describe("a one-server network", () => {
  test("accepts through its blackout: alpha 0 at every instant", () => {
    for (let t = 0; t < 2 * I; t += 500) expect(rolesAt(t, ONE).alpha).toBe(0);
    expect(rolesAt(I - B, ONE)).toEqual({ window: 0, alpha: 0, beta: 0, betaWindow: 0, inBlackout: true });
    expect(rolesAt(I - 1, ONE).alpha).toBe(0);
  });

  test("what it accepts from the blackout of window k on belongs to window k + 1", () => {
    expect(acceptingWindowAt(0, ONE)).toBe(0);
    expect(acceptingWindowAt(I - B - 1, ONE)).toBe(0);
    expect(acceptingWindowAt(I - B, ONE)).toBe(1);
    expect(acceptingWindowAt(I - 1, ONE)).toBe(1);
    expect(acceptingWindowAt(I, ONE)).toBe(1);
    expect(acceptingWindowAt(2 * I - B, ONE)).toBe(2);
    expect(acceptingWindowAt(-1, ONE)).toBe(0);
  });

  test("acceptingPeriod(k) = [blackout of k − 1, blackout of k)", () => {
    expect(acceptingPeriod(0, ONE)).toEqual({ fromMs: -B, untilMs: I - B });
    expect(acceptingPeriod(1, ONE)).toEqual({ fromMs: I - B, untilMs: 2 * I - B });
  });

  test("the accepting periods tile time: every instant in exactly one, the one acceptingWindowAt names", () => {
    for (let t = -I; t < 3 * I; t += 250) {
      for (const u of [t, t + 1]) {
        const owners = [-2, -1, 0, 1, 2, 3, 4].filter((w) => {
          const a = acceptingPeriod(w, ONE);
          return u >= a.fromMs && u < a.untilMs;
        });
        expect({ u, owners }).toEqual({ u, owners: [acceptingWindowAt(u, ONE)] });
      }
    }
  });

  test("nextAccepting: now, until the end of the accepting period it is in", () => {
    expect(nextAccepting(5, ONE)).toMatchObject({ server: 0, fromMs: 5, untilMs: I - B });
    expect(nextAccepting(I - B - 1, ONE)).toMatchObject({ server: 0, fromMs: I - B - 1, untilMs: I - B });
    // In the blackout of window 0 it accepts for window 1, until window 1's blackout.
    expect(nextAccepting(I - B + 10, ONE)).toMatchObject({ server: 0, fromMs: I - B + 10, untilMs: 2 * I - B });
  });

  test("timestampFitsWindow follows the shifted period, ± skew", () => {
    // Window 1: [105000, 225000) → timestamps [100000, 230000).
    expect(timestampFitsWindow(I - B - SKEW - 1, 1, SKEW, ONE)).toBe(false);
    expect(timestampFitsWindow(I - B - SKEW, 1, SKEW, ONE)).toBe(true);
    expect(timestampFitsWindow(2 * I - B + SKEW - 1, 1, SKEW, ONE)).toBe(true);
    expect(timestampFitsWindow(2 * I - B + SKEW, 1, SKEW, ONE)).toBe(false);
    // Window 0 starts at the blackout of window −1.
    expect(timestampFitsWindow(-B - SKEW, 0, SKEW, ONE)).toBe(true);
    expect(timestampFitsWindow(-B - SKEW - 1, 0, SKEW, ONE)).toBe(false);
  });
});

describe("accepting periods, several servers", () => {
  test("acceptingPeriod(k) = [start of k, blackout of k)", () => {
    expect(acceptingPeriod(0, THREE)).toEqual({ fromMs: 0, untilMs: I - B });
    expect(acceptingPeriod(4, THREE)).toEqual({ fromMs: 4 * I, untilMs: 5 * I - B });
  });
  test("acceptingWindowAt is the current window (also in the blackout)", () => {
    for (const t of [0, I - B - 1, I - B, I - 1, I, 5 * I + 7]) expect(acceptingWindowAt(t, THREE)).toBe(windowAt(t, THREE));
  });
});

describe("nextAccepting's window owns the period it returns", () => {
  // { window, fromMs, untilMs } should describe one accepting period: [fromMs, untilMs) must lie
  // inside acceptingPeriod(window), and the server must be that window's alpha.
  for (const [name, p] of [
    ["3 servers", THREE],
    ["1 server", ONE],
  ] as const) {
    test(name, () => {
      for (let t = 0; t < 3 * I; t += 2_500) {
        const n = nextAccepting(t, p);
        const period = acceptingPeriod(n.window, p);
        expect({ t, inside: n.fromMs >= period.fromMs && n.untilMs === period.untilMs, server: alphaOf(n.window, p) }).toEqual({
          t,
          inside: true,
          server: n.server,
        });
      }
    });
  }
});

describe("timestampFitsWindow", () => {
  // Window 1 accepts during [120000, 225000); with ±5000 ms, timestamps [115000, 230000).
  test.each([
    [115_000 - 1, false],
    [115_000, true],
    [120_000, true],
    [225_000, true],
    [230_000 - 1, true],
    [230_000, false],
    [0, false],
    [400_000, false],
  ])("window 1, timestamp %d → %p", (ts, expected) => {
    expect(timestampFitsWindow(ts, 1, SKEW, THREE)).toBe(expected);
  });

  test("skew 0: exactly the accepting period", () => {
    expect(timestampFitsWindow(I - 1, 1, 0, THREE)).toBe(false);
    expect(timestampFitsWindow(I, 1, 0, THREE)).toBe(true);
    expect(timestampFitsWindow(2 * I - B - 1, 1, 0, THREE)).toBe(true);
    expect(timestampFitsWindow(2 * I - B, 1, 0, THREE)).toBe(false);
  });

  test("with blackout > 2 × skew no timestamp fits two consecutive windows (3 servers)", () => {
    for (let w = 0; w < 3; w++) {
      const boundary = windowStartMs(w + 1, THREE);
      for (let ts = boundary - B - SKEW - 10; ts <= boundary + SKEW + 10; ts++) {
        const both = timestampFitsWindow(ts, w, SKEW, THREE) && timestampFitsWindow(ts, w + 1, SKEW, THREE);
        if (both) throw new Error(`timestamp ${ts} fits windows ${w} and ${w + 1}`);
      }
    }
    expect(timestampFitsWindow(windowStartMs(1, THREE), 1, SKEW, THREE)).toBe(true);
  });

  test("every timestamp an alpha can accept (|ts − now| ≤ skew while it accepts) fits its window", () => {
    for (const now of [I, I + 1, 2 * I - B - 1]) {
      expect(rolesAt(now, THREE).alpha).toBe(1);
      for (const d of [-SKEW, 0, SKEW]) expect(timestampFitsWindow(now + d, 1, SKEW, THREE)).toBe(true);
    }
  });
});
