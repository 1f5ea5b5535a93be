// One of three compiled nodes has its data directory on a small tmpfs that fills under load, then
// grows (mount -o remount,size=…), with four payers paying over UDP through whichever server is
// alpha all the time. The full node never exits; it answers STORAGE_FAILING and says so on /status
// and /metrics; what it serves is what its file holds; the other two keep agreeing windows (a
// payment is acknowledged once a majority holds it durably, and two of three still do); when the
// disk grows it resumes by itself and catches up (its agreed window and state hash equal the
// others') within a bounded number of windows. It ends with the checks of every fault test
// (test/support/payers.ts, finalChecks), and its file, read once it is stopped, holds what it said.
//
// The disk is made nearly full by a filler file once the network runs, so that the load fills the
// rest within a window whatever the machine's speed. Every wait is bounded by the schedule or by
// the storage probe's backoff (src/node/storage-monitor.ts). Mounting needs root: where it is not
// permitted the test is skipped with a message, as test/e2e/disk-full.test.ts is.
// SCRYP_E2E_LOGS=1 prints the timeline and the logs of a passing run too.
import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SUPPLY } from "../../src/core/limits.ts";
import { stateHashOf } from "../../src/core/state-hash.ts";
import { alphaOf, blackoutStartMs, windowAt, windowStartMs } from "../../src/core/schedule.ts";
import { RESYNC_RETRY_MS_MAX } from "../../src/core/consensus/coordinator.ts";
import { STORAGE_PROBE_MS_MAX, STORAGE_PROBE_MS_MIN } from "../../src/node/storage-monitor.ts";
import { Cluster, sleepUntil, type NodeStatus } from "../support/cluster.ts";
import { Payers, finalChecks } from "../support/payers.ts";
import { tempDir } from "../support/helpers.ts";
import { canMountTmpfs, mountTmpfs, type Tmpfs } from "../support/tmpfs.ts";

const TIMING = { intervalMs: 3_000, blackoutMs: 1_000, skewMs: 400 } as const;
/** The server whose data directory is on the small disk (not the genesis holder, server 0). */
const FULL = 2;
/** The small disk, KiB, and the room the filler leaves on it: a few hundred commit groups of WAL. */
const SMALL_KIB = 8_192;
const HEADROOM_BYTES = 768 * 1024;
const LARGE_KIB = 131_072;
/**
 * Windows the full node stays full, counted from the window its storage failed in: that one and a
 * whole rotation after it, so that every server has a turn as alpha while it is full.
 */
const FULL_WINDOWS = 4;
/**
 * Windows the full node has, once its storage works again, to agree the others' window and state:
 * its resync was refused while the storage failed, each refusal doubling the resync's wait (at most
 * RESYNC_RETRY_MS_MAX), and the wait under way is not cut short when the storage recovers. So the
 * next try comes at most as long after the recovery as the storage failed, and then two windows.
 */
function catchUpWindowsMax(failedForMs: number): number {
  return Math.ceil(Math.min(RESYNC_RETRY_MS_MAX, failedForMs) / TIMING.intervalMs) + 2;
}

const scratch = tempDir("scryp-e2e-disk-full-cluster-");
const mountable = canMountTmpfs(scratch.path);
if (!mountable) console.warn("disk-full-cluster.test: mounting a tmpfs is not permitted here (needs root); skipped");
const disks: Tmpfs[] = [];
afterAll(() => {
  for (const d of disks) d.unmount();
  scratch.cleanup();
});

/** What the file holds, read by a separate read-only connection. */
function readLedgerFile(path: string): { payments: number; supply: number; stateHash: string } {
  const db = new Database(path, { readonly: true });
  try {
    const payments = db.query<{ n: number }, []>("SELECT count(*) AS n FROM payments").get()!.n;
    const supply = db.query<{ s: number }, []>("SELECT sum(balance) AS s FROM accounts").get()!.s;
    const rows = db.query<{ id: Uint8Array; balance: number }, []>("SELECT id, balance FROM accounts").all();
    return { payments, supply, stateHash: stateHashOf(rows.map((r) => [r.id, r.balance] as const)).hex() };
  } finally {
    db.close();
  }
}

/** Each window's alpha and the answers its payments got, one window after another: the story of the run. */
function outcomesByWindow(c: Cluster, payers: Payers): string {
  const byWindow = new Map<number, Map<string, number>>();
  for (const p of payers.sent.values()) {
    const codes = byWindow.get(p.window) ?? new Map<string, number>();
    codes.set(p.outcome, (codes.get(p.outcome) ?? 0) + 1);
    byWindow.set(p.window, codes);
  }
  return [...byWindow.entries()]
    .sort(([a], [b]) => a - b)
    .map(([w, codes]) => `${w} (alpha ${alphaOf(w, c.schedule)}): ${[...codes.entries()].map(([k, n]) => `${k} ${n}`).join(", ")}`)
    .join("; ");
}

describe.skipIf(!mountable)("one of three servers on a disk that fills under load (tmpfs)", () => {
  test(
    "the full server never exits, refuses with STORAGE_FAILING, serves only what is on disk, the others go on, and it catches up when the disk grows",
    async () => {
      const disk = mountTmpfs(scratch.path, "disk", SMALL_KIB)!;
      disks.push(disk);
      const dataDir = join(disk.path, "data");
      const c = await Cluster.create({ label: "disk-full-cluster", keyBase: 190, payers: 4, ...TIMING, dataDirs: { [FULL]: dataDir } });
      const payers = new Payers(c);
      // Every /status of the full server seen: the supply is whole, its agreed window never goes back.
      const seen: { agreed: number; supply: number }[] = [];
      const statusOfFull = async (): Promise<NodeStatus | null> => {
        const s = await c.status(FULL);
        if (s !== null) seen.push({ agreed: s.agreed.window, supply: s.ledger.supply });
        return s;
      };
      try {
        await c.startAll();
        const pid = c.pid(FULL);
        await c.waitFirstAgreement();
        await payers.start();

        // 1. Nearly full, early in a window: the load fills the rest.
        await c.waitForWindow(() => true, "any", 100);
        const free = (() => {
          const s = statfsSync(disk.path);
          return Number(s.bavail) * Number(s.bsize);
        })();
        writeFileSync(join(disk.path, "filler"), new Uint8Array(Math.max(0, free - HEADROOM_BYTES)));
        c.note(`filler written: ${HEADROOM_BYTES} of ${free} free bytes left on server ${FULL}'s disk`);
        const fillDeadlineMs = windowStartMs(windowAt(Date.now(), c.schedule) + 4, c.schedule);
        await c.waitUntil(`server ${FULL} to report its storage failing`, fillDeadlineMs - Date.now(), async () => (await statusOfFull())?.storage.ok === false);
        const failing = (await statusOfFull())!;
        const failedIn = windowAt(failing.storage.sinceMs!, c.schedule);
        c.note(`server ${FULL} storage failing since window ${failedIn}: ${failing.storage.error}`);
        expect(failing.storage).toMatchObject({ ok: false, code: "SQLITE_FULL" });
        expect(failing.storage.freeBytes).toBeLessThan(HEADROOM_BYTES);
        expect(await c.metric(FULL, "scryp_storage_ok")).toBe(0);
        expect(await c.metric(FULL, "scryp_data_dir_free_bytes")).toBeLessThan(HEADROOM_BYTES);
        expect(c.log(FULL)).toContain("storage failing:");

        // 2. Full for FULL_WINDOWS windows, its own turn as alpha among them: it refuses, it stays
        // up, what it serves is on its disk, and the other two agree window after window.
        const agreedByOthers = (await c.statuses()).map((s) => s?.agreed.window ?? -1);
        const fullUntilMs = windowStartMs(failedIn + FULL_WINDOWS, c.schedule);
        let fileChecks = 0;
        while (Date.now() < fullUntilMs - 300) {
          const before = await statusOfFull();
          let file: ReturnType<typeof readLedgerFile> | null = null;
          try {
            file = readLedgerFile(join(dataDir, "ledger.sqlite"));
          } catch {
            // locked for a moment: the next round reads it
          }
          const after = await statusOfFull();
          // No write can land while the storage fails: a status taken on both sides of the read, the
          // same, is what the file holds.
          if (before !== null && after !== null && file !== null && !after.storage.ok && before.ledger.stateHash === after.ledger.stateHash && before.ledger.payments === after.ledger.payments) {
            expect(file).toEqual({ payments: after.ledger.payments, supply: SUPPLY, stateHash: after.ledger.stateHash });
            fileChecks++;
          }
          expect(c.exitCode(FULL)).toBeNull();
          await Bun.sleep(250);
        }
        await sleepUntil(fullUntilMs);
        expect(fileChecks).toBeGreaterThan(0);
        const alphaTurns = Array.from({ length: FULL_WINDOWS - 1 }, (_, k) => failedIn + 1 + k).filter((w) => alphaOf(w, c.schedule) === FULL);
        expect(alphaTurns.length).toBeGreaterThan(0);
        const stillFull = (await statusOfFull())!;
        expect(stillFull.storage.ok).toBe(false);
        expect(c.exitCode(FULL)).toBeNull();
        expect(payers.codes.get("STORAGE_FAILING") ?? 0).toBeGreaterThan(0);
        // Nothing the full server was sent in its own turn while full was acknowledged (it holds nothing new).
        const ackedByFullWhileFull = payers.acknowledged().filter((a) => a.server === FULL && a.sentAtMs > failing.storage.sinceMs! && a.sentAtMs < Date.now());
        expect(ackedByFullWhileFull.map((a) => a.id)).toEqual([]);
        const others = [0, 1, 2].filter((i) => i !== FULL);
        const nowAgreed = (await c.statuses()).map((s) => s?.agreed.window ?? -1);
        for (const i of others) expect(nowAgreed[i]!).toBeGreaterThanOrEqual(agreedByOthers[i]! + FULL_WINDOWS - 1);
        // Payments go on through the others: at least in the turn that does not follow the full
        // server's. (The one that does may accept nothing: its alpha waits for the full server's
        // window to be agreed, and the others ignore that window's handover, built on an old
        // checkpoint, and do not rescue it either; the window is settled by the next handover.)
        const afterFullTurn = [failedIn, ...alphaTurns].filter((w) => alphaOf(w, c.schedule) === FULL).map((w) => w + 1);
        expect(payers.acknowledged().some((a) => a.window > failedIn && a.server !== FULL && !afterFullTurn.includes(a.window))).toBe(true);
        c.note(`server ${FULL} full for ${FULL_WINDOWS} windows; the others agreed up to ${others.map((i) => nowAgreed[i]).join(" / ")}`);

        // 3. The disk grows: it resumes at its next probe (the backoff doubles, at most STORAGE_PROBE_MS_MAX).
        disk.resize(LARGE_KIB);
        const grownAtMs = Date.now();
        c.note(`server ${FULL}'s disk grown to ${LARGE_KIB} KiB`);
        const probeWaitMs = Math.min(STORAGE_PROBE_MS_MAX, 2 * (grownAtMs - failing.storage.sinceMs!) + STORAGE_PROBE_MS_MIN) + 1_000;
        await c.waitUntil(`server ${FULL} to find its storage working again`, probeWaitMs, async () => (await statusOfFull())?.storage.ok === true);
        const resumedAtMs = Date.now();
        const resumedIn = windowAt(resumedAtMs, c.schedule);
        c.note(`server ${FULL} storage works again (window ${resumedIn}, ${Date.now() - grownAtMs} ms after the disk grew)`);
        expect(c.log(FULL)).toContain("storage works again after");
        expect(await c.metric(FULL, "scryp_storage_ok")).toBe(1);

        // 4. It catches up by itself: the same agreed window and state as the others, bounded.
        await c.waitConverged(resumedIn, catchUpWindowsMax(resumedAtMs - failing.storage.sinceMs!));
        const caughtUpIn = windowAt(Date.now(), c.schedule);
        c.note(`server ${FULL} caught up by window ${caughtUpIn}`);
        // Pay on until its next turn as alpha is over, so it accepts and hands over again.
        let turn = caughtUpIn + 1;
        while (alphaOf(turn, c.schedule) !== FULL) turn++;
        await sleepUntil(blackoutStartMs(turn, c.schedule));
        await payers.stop();
        c.note(`payers stopped: ${payers.sent.size} sent`);

        // 5. The checks of every fault test; the full server was one process all along.
        const { problems, summary } = await finalChecks(c, payers);
        console.error(`[disk-full-cluster] ${summary}; server ${FULL} failing in window ${failedIn}, resumed in ${resumedIn}, caught up by ${caughtUpIn}; ${fileChecks} file checks while full`);
        console.error(`[disk-full-cluster] answers by window: ${outcomesByWindow(c, payers)}`);
        expect(problems).toEqual([]);
        expect(payers.acknowledged().some((a) => a.server === FULL && a.window === turn)).toBe(true);
        expect(c.pid(FULL)).toBe(pid);
        expect(c.exitCode(FULL)).toBeNull();
        expect(seen.every((s) => s.supply === SUPPLY)).toBe(true);
        for (let k = 1; k < seen.length; k++) {
          expect(seen[k]!.agreed).toBeGreaterThanOrEqual(seen[k - 1]!.agreed);
        }

        // 6. Stopped, its file holds exactly what it last said.
        const last = (await c.status(FULL))!;
        await c.kill(FULL, "the end: read its file");
        expect(readLedgerFile(join(dataDir, "ledger.sqlite"))).toEqual({ payments: last.ledger.payments, supply: SUPPLY, stateHash: last.ledger.stateHash });
        if (process.env.SCRYP_E2E_LOGS === "1") console.error(c.diagnostics(400));
      } catch (e) {
        await payers.stop().catch(() => {});
        console.error(`[disk-full-cluster] answers by window: ${outcomesByWindow(c, payers)}`);
        console.error(c.diagnostics());
        throw e;
      } finally {
        await payers.stop();
        await c.close();
      }
    },
    60_000,
  );
});
