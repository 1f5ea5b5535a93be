// Crash faults of three compiled nodes on loopback, with 3-second windows and four payers paying
// over UDP all the time, each payment recorded with its answer. After each fault: all three agree
// at one state, the supply holds, every acknowledged payment is on every server, and each payer's
// history and balance are the same everywhere (test/support/payers.ts, finalChecks).
//
//   - the alpha killed (-9) in mid-window and the beta killed at its blackout, each restarted at once;
//   - the beta killed at its blackout (before it can hand over) and down past its beta period;
//   - a random server killed at random moments, for a few rounds (seed printed; SCRYP_FAULT_SEED=N
//     replays one);
//   - one server frozen (SIGSTOP) for three windows, then let go (SIGCONT): it catches up by
//     itself, no restart.
//
// Every wait is derived from the schedule and bounded; nothing sleeps a fixed time to let
// something happen. SCRYP_E2E_LOGS=1 prints the timeline and the logs of a passing run too.
import { expect, test } from "bun:test";
import { alphaOf, blackoutStartMs, windowAt, windowStartMs } from "../../src/core/schedule.ts";
import { Cluster, prng, sleepUntil } from "../support/cluster.ts";
import { Payers, finalChecks } from "../support/payers.ts";

const TIMING = { intervalMs: 3_000, blackoutMs: 1_000, skewMs: 400 } as const;
const { intervalMs: INTERVAL, blackoutMs: BLACKOUT } = TIMING;

/** Runs `body` on a fresh cluster with payers started; prints the diagnostics if it throws. */
async function withCluster(label: string, keyBase: number, body: (c: Cluster, payers: Payers) => Promise<void>): Promise<void> {
  const c = await Cluster.create({ label, keyBase, payers: 4, ...TIMING });
  const payers = new Payers(c);
  try {
    await c.startAll();
    await c.waitFirstAgreement();
    await payers.start();
    await body(c, payers);
    if (process.env.SCRYP_E2E_LOGS === "1") console.error(c.diagnostics(400));
  } catch (e) {
    await payers.stop().catch(() => {});
    console.error(c.diagnostics());
    throw e;
  } finally {
    await payers.stop();
    await c.close();
  }
}

/** Stops the payers, checks the end state, and fails with every problem named. */
async function stopAndCheck(c: Cluster, payers: Payers, label: string): Promise<void> {
  await payers.stop();
  c.note(`payers stopped: ${payers.sent.size} sent`);
  const { problems, summary } = await finalChecks(c, payers);
  console.error(`[${label}] ${summary}`);
  expect(problems).toEqual([]);
}

const midAccepting = (INTERVAL - BLACKOUT) / 2;

test(
  "kill -9 of the alpha in mid-window and of the beta at its blackout, each restarted at once: nothing acknowledged is lost",
  async () => {
    await withCluster("faults-quick-restart", 110, async (c, payers) => {
      // A window of payments first, then the alpha of the next one, halfway through its accepting period.
      const w = await c.waitForWindow(() => true, "any", midAccepting);
      const alpha = alphaOf(w, c.schedule);
      await c.kill(alpha, "alpha in mid-window");
      await c.start(alpha);
      // The beta: the alpha of a later window, killed just before its blackout, so no handover can
      // have left; restarted at once, inside its beta period.
      const v = windowAt(Date.now(), c.schedule) + 1;
      await sleepUntil(blackoutStartMs(v, c.schedule) - 30);
      const beta = alphaOf(v, c.schedule);
      await c.kill(beta, "beta at its blackout, before its handover");
      await c.start(beta);
      await sleepUntil(windowStartMs(v + 2, c.schedule));
      await stopAndCheck(c, payers, "faults-quick-restart");
    });
  },
  60_000,
);

test(
  "the beta killed at its blackout, before its handover, and down past its beta period: its acknowledged payments are kept",
  async () => {
    await withCluster("faults-beta-down", 120, async (c, payers) => {
      const w = await c.waitForWindow(() => true, "any", 0);
      const beta = alphaOf(w, c.schedule);
      await sleepUntil(blackoutStartMs(w, c.schedule) - 30);
      const ackedBefore = payers.acknowledged().filter((a) => a.window === w).length;
      await c.kill(beta, `beta of window ${w} at its blackout, before its handover (${ackedBefore} payments acknowledged in it)`);
      // Down until the others have settled window w: past its beta period (the blackout of w+1),
      // when today's code rolls the window back; then back, and the network goes on.
      await sleepUntil(blackoutStartMs(w + 1, c.schedule) + 300);
      await c.start(beta);
      await sleepUntil(windowStartMs(w + 3, c.schedule));
      await stopAndCheck(c, payers, "faults-beta-down");
    });
  },
  60_000,
);

const ROUNDS = 4;

test(
  `a random server killed at random moments (${ROUNDS} rounds), each restarted: nothing acknowledged is lost`,
  async () => {
    const seed = Number(process.env.SCRYP_FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.error(`[faults-random] seed ${seed} (replay: SCRYP_FAULT_SEED=${seed})`);
    const random = prng(seed);
    await withCluster("faults-random", 130, async (c, payers) => {
      for (let round = 0; round < ROUNDS; round++) {
        const victim = Math.floor(random() * 3);
        const atMs = Date.now() + Math.floor(random() * INTERVAL);
        const downMs = Math.floor(random() * 2 * INTERVAL);
        await sleepUntil(atMs);
        await c.kill(victim, `round ${round} (seed ${seed}), down ${downMs} ms`);
        await sleepUntil(Date.now() + downMs);
        await c.start(victim);
        await sleepUntil(Date.now() + Math.floor(random() * INTERVAL));
      }
      await stopAndCheck(c, payers, `faults-random seed ${seed}`);
    });
  },
  60_000,
);

test(
  "one server frozen (SIGSTOP) for three windows, then let go: it catches up by itself, no restart",
  async () => {
    await withCluster("faults-frozen", 140, async (c, payers) => {
      // Freeze the idle server of a window (neither its alpha nor its beta), early in it.
      const w = await c.waitForWindow(() => true, "any", 200);
      const victim = alphaOf(w + 1, c.schedule);
      const pid = c.pid(victim);
      c.pause(victim);
      await sleepUntil(windowStartMs(w + 4, c.schedule) - 200);
      c.resume(victim);
      const resumedIn = windowAt(Date.now(), c.schedule);
      // It catches up: the same agreed window and state as the others within a few windows.
      await c.waitConverged(resumedIn, 4);
      expect(c.pid(victim)).toBe(pid);
      // Pay on for a rotation, so it must accept and hand over in its turn again.
      await sleepUntil(windowStartMs(windowAt(Date.now(), c.schedule) + 3, c.schedule));
      await stopAndCheck(c, payers, "faults-frozen");
      expect(payers.acknowledged().some((a) => a.server === victim && a.window > resumedIn)).toBe(true);
    });
  },
  60_000,
);
