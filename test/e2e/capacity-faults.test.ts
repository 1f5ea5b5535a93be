// Extends test/e2e/window-capacity.test.ts (one window flooded once, over UDP and HTTP, and the
// words `scryp pay` prints) to the network under load and a crash: four payers pay over UDP as
// fast as they are answered, so every alpha's window fills to the network's `capacity` (30) and
// the rest is refused WINDOW_FULL; one alpha is killed (-9) once its window is full and restarted
// at once, and must go on refusing (its count comes back from disk, not from memory). At the end
// no window holds more than `capacity` payments on any server, no window acknowledged more, and
// every acknowledged payment is on every server.
import { expect, test } from "bun:test";
import { alphaOf, blackoutStartMs, windowAt, windowStartMs } from "../../src/core/schedule.ts";
import { Cluster, sleepUntil } from "../support/cluster.ts";
import { Payers, finalChecks } from "../support/payers.ts";

const CAPACITY = 30;
const TIMING = { intervalMs: 3_000, blackoutMs: 1_000, skewMs: 400 } as const;

test(
  `every window flooded past a capacity of ${CAPACITY}, and the full alpha killed and restarted: WINDOW_FULL for the excess, nothing acknowledged lost`,
  async () => {
    const c = await Cluster.create({ label: "capacity-faults", keyBase: 170, payers: 4, capacity: CAPACITY, ...TIMING });
    const payers = new Payers(c, 0);
    try {
      await c.startAll();
      await c.waitFirstAgreement();
      await payers.start();
      const first = windowAt(Date.now(), c.schedule) + 1;
      // The alpha of a later window, once that window is full (bounded by its accepting period).
      const w = first + 1;
      await sleepUntil(windowStartMs(w, c.schedule));
      const full = () => payers.acknowledged().filter((a) => a.window === w).length >= CAPACITY;
      await c.waitUntil(`window ${w} full`, blackoutStartMs(w, c.schedule) - Date.now() - 300, async () => full());
      const alpha = alphaOf(w, c.schedule);
      await c.kill(alpha, `alpha of window ${w}, its window full`);
      await c.start(alpha);
      const restartedAtMs = Date.now();
      const refusedAfterRestart = () => [...payers.sent.values()].filter((s) => s.window === w && s.server === alpha && s.outcome === "WINDOW_FULL" && s.sentAtMs >= restartedAtMs).length;
      // The restarted alpha refuses again before its blackout.
      await c.waitUntil(`the restarted alpha to refuse WINDOW_FULL in window ${w}`, Math.max(100, blackoutStartMs(w, c.schedule) - Date.now()), async () => refusedAfterRestart() > 0);
      await sleepUntil(windowStartMs(w + 3, c.schedule));
      await payers.stop();

      const { problems, summary } = await finalChecks(c, payers);
      console.error(`[capacity-faults] ${summary}`);
      expect(problems).toEqual([]);
      // Acknowledged per window: at most the capacity, and exactly it in the flooded windows.
      const perWindow = new Map<number, number>();
      for (const a of payers.acknowledged()) perWindow.set(a.window, (perWindow.get(a.window) ?? 0) + 1);
      for (const [window, n] of perWindow) expect({ window, n: Math.min(n, CAPACITY + 1) }).toEqual({ window, n: Math.min(n, CAPACITY) });
      for (const window of [first, w, w + 1]) expect({ window, acknowledged: perWindow.get(window) }).toEqual({ window, acknowledged: CAPACITY });
      expect(payers.codes.get("WINDOW_FULL") ?? 0).toBeGreaterThan(0);
      // In each ledger: no window beyond the capacity.
      for (const i of [0, 1, 2]) {
        const count = new Map<number, number>();
        for (const payer of c.payers) for (const x of await c.history(i, payer.publicKey)) count.set(x.window, (count.get(x.window) ?? 0) + 1);
        expect({ server: i, over: [...count.entries()].filter(([, n]) => n > CAPACITY) }).toEqual({ server: i, over: [] });
      }
    } catch (e) {
      console.error(c.diagnostics());
      throw e;
    } finally {
      await payers.stop();
      await c.close();
    }
  },
  60_000,
);
