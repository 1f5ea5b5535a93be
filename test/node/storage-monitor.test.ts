// The node's storage monitor over a real ledger on a small tmpfs: a full disk turns payments into
// STORAGE_FAILING and says why (status, log), probes with a backoff, and resumes by itself once
// space returns; an idle node's WAL is checkpointed to zero bytes.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { Ledger } from "../../src/ledger/ledger.ts";
import { StorageError } from "../../src/core/errors.ts";
import { decodePayment, type Payment } from "../../src/core/payment.ts";
import { StorageMonitor, STORAGE_PROBE_MS_MAX, STORAGE_PROBE_MS_MIN, WAL_CHECKPOINT_IDLE_MS } from "../../src/node/storage-monitor.ts";
import { PaymentIntake, type Outcome } from "../../src/node/payment-intake.ts";
import type { Logger } from "../../src/core/logger.ts";
import { canMountTmpfs, mountTmpfs, type Tmpfs } from "../support/tmpfs.ts";
import { T0, genesisOf, keyPairs, tempDir, unsignedPayment } from "../ledger/fixtures.ts";
import type { KeyPair } from "../../src/core/keys.ts";

const [alice, bob] = keyPairs(2) as [KeyPair, KeyPair];
const pay = (amount: number, to: Uint8Array, ts = T0): Payment => decodePayment(unsignedPayment(alice.publicKey, to, amount, ts))!;
function payee(i: number): Uint8Array {
  const id = new Uint8Array(32).fill(0xee);
  new DataView(id.buffer).setUint32(0, i);
  return id;
}
const many = (n: number, from = 0): Payment[] => Array.from({ length: n }, (_, i) => pay(1, payee(from + i), T0 + from + i));

function recordingLog() {
  const lines: { level: string; message: string }[] = [];
  const log: Logger = {
    info: (_c, message) => void lines.push({ level: "info", message }),
    warn: (_c, message) => void lines.push({ level: "warn", message }),
    error: (_c, message) => void lines.push({ level: "error", message }),
  };
  return { lines, log };
}

describe("the intake while the storage fails", () => {
  test("a group the ledger cannot store is answered STORAGE_FAILING; a constraint stays INTERNAL", () => {
    let fault = true;
    const ledger = {
      applyGroup: () => {
        throw new StorageError("ledger commit failed: database or disk is full (SQLITE_FULL)", fault, fault ? "SQLITE_FULL" : "SQLITE_CONSTRAINT_TRIGGER");
      },
      hasPayment: () => false,
      balance: () => 1_000,
      sameSignedPart: () => undefined,
      windowPaymentCount: () => 0,
    };
    const intake = new PaymentIntake({ ledger, clock: { now: () => T0 }, skewMs: 2_000, verify: () => true, gate: () => null, windowAt: () => 7, capacity: 1_000 });
    const outcomes: Outcome[] = [];
    intake.submit(unsignedPayment(alice.publicKey, bob.publicKey, 5, T0), (o) => outcomes.push(o));
    intake.flush();
    fault = false;
    intake.submit(unsignedPayment(alice.publicKey, bob.publicKey, 6, T0), (o) => outcomes.push(o));
    intake.flush();
    expect(outcomes.map((o) => (o.accepted ? "accepted" : o.code))).toEqual(["STORAGE_FAILING", "INTERNAL"]);
  });
});

const scratch = tempDir("scryp-storage-monitor-");
const mountable = canMountTmpfs(scratch.path);
if (!mountable) console.warn("storage-monitor.test: mounting a tmpfs is not permitted here (needs root); the full-disk tests are skipped");
const disks: Tmpfs[] = [];
afterAll(() => {
  for (const d of disks) d.unmount();
  scratch.cleanup();
});

describe.skipIf(!mountable)("on a full disk (tmpfs)", () => {
  function setup(sizeKiB = 16_384) {
    const disk = mountTmpfs(scratch.path, `disk-${disks.length}`, sizeKiB)!;
    disks.push(disk);
    const path = join(disk.path, "ledger.sqlite");
    const ledger = Ledger.open(path, { genesis: genesisOf([[alice, 1_000_000], [bob, 500]]), nowMs: T0 });
    const clock = { ms: T0, now: () => clock.ms };
    const { lines, log } = recordingLog();
    const monitor = new StorageMonitor(ledger, disk.path, clock, log);
    ledger.onStorageError = (e) => monitor.noteError(e);
    return { disk, path, ledger, clock, lines, monitor };
  }

  test("fails, says why, probes with a capped exponential backoff, and resumes by itself", () => {
    const s = setup();
    expect(s.monitor.status()).toMatchObject({ ok: true, error: null, sinceMs: null });
    expect(s.monitor.status().freeBytes).toBeGreaterThan(10_000_000);
    s.disk.fill();
    expect(() => s.ledger.applyGroup(many(3000), 1, T0)).toThrow(StorageError);

    const status = s.monitor.status();
    expect(status).toMatchObject({ ok: false, code: "SQLITE_FULL", sinceMs: T0 });
    expect(status.error).toContain("disk is full");
    expect(status.freeBytes).toBeLessThan(64 * 1024);
    expect(s.monitor.refusal()).toMatchObject({ code: "STORAGE_FAILING" });
    expect(s.lines.filter((l) => l.level === "error" && l.message.startsWith("storage failing"))).toHaveLength(1);

    // Probes at 250 ms, then waits doubling up to 30 s; checked every 250 ms for a minute, they are few.
    const probeTimes: number[] = [];
    for (let t = 0; t <= 120_000; t += 250) {
      s.clock.ms = T0 + t;
      const before = s.monitor.counters.probes;
      s.monitor.check(s.clock.ms, true);
      if (s.monitor.counters.probes > before) probeTimes.push(t);
    }
    expect(probeTimes.slice(0, 4)).toEqual([STORAGE_PROBE_MS_MIN, 750, 1_750, 3_750]);
    const gaps = probeTimes.slice(1).map((t, i) => t - probeTimes[i]!);
    expect(Math.max(...gaps)).toBe(STORAGE_PROBE_MS_MAX);
    expect(probeTimes.length).toBeLessThan(12);
    expect(s.monitor.ok).toBe(false);
    // Still one line: the failure is said once, not per probe.
    expect(s.lines.filter((l) => l.level === "error")).toHaveLength(1);

    s.disk.unfill();
    s.clock.ms += STORAGE_PROBE_MS_MAX;
    s.monitor.check(s.clock.ms, true);
    expect(s.monitor.ok).toBe(true);
    expect(s.monitor.refusal()).toBeNull();
    expect(s.lines.at(-1)!.message).toMatch(/^storage works again after \d+\.\d s/);
    expect(s.ledger.applyGroup(many(3000), 1, T0).every((d) => d.kind === "apply")).toBe(true);
    s.ledger.close();
  });

  test("the WAL: bounded under sustained load, and truncated to 0 bytes once idle", () => {
    const s = setup(262_144);
    const wal = `${s.path}-wal`;
    let walMax = 0;
    // Sustained load: 100 groups of 1,000 payments, past the 64 MiB autocheckpoint.
    for (let g = 0; g < 100; g++) {
      s.ledger.applyGroup(many(1000, g * 1000), 1, T0);
      walMax = Math.max(walMax, statSync(wal).size);
      s.clock.ms += 100;
      s.monitor.check(s.clock.ms, false);
    }
    console.log(`storage-monitor.test: WAL after 100,000 payments in groups of 1,000: max ${(walMax / 2 ** 20).toFixed(1)} MiB, now ${(statSync(wal).size / 2 ** 20).toFixed(1)} MiB`);
    // At most the autocheckpoint's 64 MiB (plus one group) between checkpoints.
    expect(walMax).toBeLessThan(70 * 2 ** 20);
    expect(statSync(wal).size).toBeGreaterThan(0);
    // Busy (payments pending): no checkpoint; idle for WAL_CHECKPOINT_IDLE_MS: the WAL is emptied.
    s.clock.ms += WAL_CHECKPOINT_IDLE_MS;
    s.monitor.check(s.clock.ms, false);
    expect(statSync(wal).size).toBeGreaterThan(0);
    s.monitor.check(s.clock.ms, true);
    expect(s.monitor.counters.walCheckpoints).toBe(1);
    expect(existsSync(wal) ? statSync(wal).size : 0).toBe(0);
    expect(s.ledger.totals().payments).toBe(100_000);
    s.ledger.close();
  });
});
