// Storage faults are operating errors: every write path of the ledger (commit group, rollback,
// checkpoint record, resync attempt) fails as a whole on an SQLite error, throws StorageError, and
// leaves memory exactly what is on disk, including when COMMIT itself fails (a real full tmpfs).
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Ledger } from "../../src/ledger/ledger.ts";
import { StorageError } from "../../src/core/errors.ts";
import { decodePayment, type Payment } from "../../src/core/payment.ts";
import type { KeyPair } from "../../src/core/keys.ts";
import { canMountTmpfs, mountTmpfs, type Tmpfs } from "../support/tmpfs.ts";
import { T0, diskSnapshot, genesisOf, keyPairs, openTempLedger, sideConnection, tempDir, unsignedPayment, type TempLedger } from "./fixtures.ts";

const [alice, bob] = keyPairs(2) as [KeyPair, KeyPair];
const W = 42;
const pay = (amount: number, to: Uint8Array = bob.publicKey, ts = T0): Payment => decodePayment(unsignedPayment(alice.publicKey, to, amount, ts))!;
/** `n` payments of 1 from alice to fresh payees: many new rows and pages. */
const many = (n: number, ts = T0): Payment[] => Array.from({ length: n }, (_, i) => pay(1, payee(i), ts + i));
function payee(i: number): Uint8Array {
  const id = new Uint8Array(32).fill(0xee);
  new DataView(id.buffer).setUint32(0, i);
  return id;
}

const open: TempLedger[] = [];
afterEach(() => {
  for (const t of open.splice(0)) t.cleanup();
});
function fresh(): TempLedger {
  const t = openTempLedger(genesisOf([[alice, 1_000_000], [bob, 500]]));
  open.push(t);
  return t;
}

/** What the ledger serves, next to what its file holds (read by a separate connection). */
function memoryAndDisk(t: { ledger: Ledger; path: string }) {
  const disk = diskSnapshot(t.path);
  const totals = t.ledger.totals();
  return {
    memory: { accounts: totals.accounts, payments: totals.payments, stateHash: totals.stateHash, alice: t.ledger.balance(alice.publicKey) },
    disk: {
      accounts: disk.accounts.length,
      payments: disk.payments,
      stateHash: disk.stateHash,
      alice: disk.accounts.find(([id]) => id === Buffer.from(alice.publicKey).toString("hex"))?.[1],
    },
  };
}
function expectMemoryIsDisk(t: { ledger: Ledger; path: string }) {
  const { memory, disk } = memoryAndDisk(t);
  expect(memory).toEqual(disk);
}

function trigger(path: string, sql: string) {
  const db = sideConnection(path);
  db.run(sql);
  db.close();
}

describe("an SQLite error on each write path (a trigger that fails)", () => {
  test("commit group: StorageError, nothing applied, memory is disk; not a fault of the storage", () => {
    const t = fresh();
    t.ledger.applyGroup([pay(5)], W, T0);
    trigger(t.path, "CREATE TRIGGER boom BEFORE INSERT ON payments WHEN NEW.amount = 13 BEGIN SELECT RAISE(ABORT, 'boom'); END");
    const before = memoryAndDisk(t);
    const e = (() => {
      try {
        t.ledger.applyGroup([pay(7, bob.publicKey, T0 + 1), pay(13, bob.publicKey, T0 + 2)], W, T0);
      } catch (e) {
        return e;
      }
    })();
    expect(e).toBeInstanceOf(StorageError);
    expect((e as StorageError).fault).toBe(false);
    expect((e as StorageError).sqliteCode).toStartWith("SQLITE_CONSTRAINT");
    expect(memoryAndDisk(t)).toEqual(before);
    // A constraint is not the disk failing: the next write is taken.
    expect(t.ledger.storageFailure()).toBeNull();
    expect(t.ledger.applyGroup([pay(7, bob.publicKey, T0 + 3)], W, T0)).toEqual([{ kind: "apply" }]);
    expectMemoryIsDisk(t);
  });

  test("rollback: StorageError, every payment still there, memory is disk", () => {
    const t = fresh();
    t.ledger.applyGroup([pay(5), pay(6, bob.publicKey, T0 + 1)], W, T0);
    trigger(t.path, "CREATE TRIGGER boom BEFORE DELETE ON payments BEGIN SELECT RAISE(ABORT, 'boom'); END");
    const before = memoryAndDisk(t);
    expect(() => t.ledger.rollbackAfter(W - 1)).toThrow(StorageError);
    expect(memoryAndDisk(t)).toEqual(before);
    expect(t.ledger.latestWindow()).toBe(W);
    trigger(t.path, "DROP TRIGGER boom");
    expect(t.ledger.rollbackAfter(W - 1)).toBe(2);
    expectMemoryIsDisk(t);
  });

  test("checkpoint record: StorageError, the agreed checkpoint unchanged", () => {
    const t = fresh();
    t.ledger.applyGroup([pay(5)], W, T0);
    trigger(t.path, "CREATE TRIGGER boom BEFORE INSERT ON checkpoints BEGIN SELECT RAISE(ABORT, 'boom'); END");
    expect(() => t.ledger.recordAgreed(W, t.ledger.stateHashBytes(), new Uint8Array([1]), T0)).toThrow(StorageError);
    expect(t.ledger.agreed().window).toBe(-1);
    expect(t.ledger.checkpoint(W)).toBeUndefined();
  });

  test("resync attempt: a failure after the inner writes reached memory reloads memory from disk", () => {
    const t = fresh();
    t.ledger.applyGroup([pay(5)], W, T0);
    trigger(t.path, "CREATE TRIGGER boom BEFORE INSERT ON checkpoints BEGIN SELECT RAISE(ABORT, 'boom'); END");
    const before = memoryAndDisk(t);
    expect(() =>
      t.ledger.attempt(() => {
        t.ledger.rollbackAfter(W - 1);
        t.ledger.applyGroup(many(20), W + 1, T0);
        t.ledger.recordAgreed(W + 1, t.ledger.stateHashBytes(), new Uint8Array([1]), T0);
        return true;
      }),
    ).toThrow(StorageError);
    expect(memoryAndDisk(t)).toEqual(before);
    expect(t.ledger.latestWindow()).toBe(W);
  });
});

// A real full disk: COMMIT itself fails (the WAL's frames are written at COMMIT).
const scratch = tempDir("scryp-storage-faults-");
const mountable = canMountTmpfs(scratch.path);
if (!mountable) console.warn("storage-faults.test: mounting a tmpfs is not permitted here (needs root); the full-disk tests are skipped");
const disks: Tmpfs[] = [];
afterAll(() => {
  for (const d of disks) d.unmount();
  scratch.cleanup();
});

describe.skipIf(!mountable)("a full disk (tmpfs): COMMIT fails", () => {
  function onFullDisk(): { ledger: Ledger; path: string; disk: Tmpfs } {
    const disk = mountTmpfs(scratch.path, `disk-${disks.length}`, 16_384)!;
    disks.push(disk);
    const path = join(disk.path, "ledger.sqlite");
    const ledger = Ledger.open(path, { genesis: genesisOf([[alice, 1_000_000], [bob, 500]]), nowMs: T0 });
    ledger.applyGroup([pay(5)], W, T0);
    disk.fill();
    return { ledger, path, disk };
  }

  test("a resync attempt whose COMMIT fails: memory is what the file holds, not the resynced state", () => {
    const t = onFullDisk();
    const before = memoryAndDisk(t);
    let inside = 0;
    let thrown: unknown = null;
    try {
      t.ledger.attempt(() => {
        t.ledger.applyGroup(many(3000), W + 1, T0);
        inside = t.ledger.totals().payments; // the inner write reached memory
        return true;
      });
    } catch (e) {
      thrown = e;
    }
    expect(inside).toBe(3001);
    expect(thrown).toBeInstanceOf(StorageError);
    expect((thrown as StorageError).sqliteCode).toBe("SQLITE_FULL");
    expect(memoryAndDisk(t)).toEqual(before);
    expect(t.ledger.totals().payments).toBe(1);
    expect(t.ledger.totals().supply).toBe(1_000_500);
    t.ledger.close();
  });

  test("a commit group on a full disk: refused until a probe finds space, then taken; memory is disk throughout", () => {
    const t = onFullDisk();
    const before = memoryAndDisk(t);
    expect(() => t.ledger.applyGroup(many(3000), W + 1, T0)).toThrow(StorageError);
    expect(t.ledger.storageFailure()?.sqliteCode).toBe("SQLITE_FULL");
    expect(memoryAndDisk(t)).toEqual(before);
    // Refused at once while failing, for every write path, without touching SQLite.
    expect(() => t.ledger.applyGroup([pay(1, bob.publicKey, T0 + 9)], W + 1, T0)).toThrow(/refused: the storage is failing/);
    expect(() => t.ledger.rollbackAfter(-1)).toThrow(/refused/);
    expect(() => t.ledger.recordAgreed(W, t.ledger.stateHashBytes(), new Uint8Array([1]), T0)).toThrow(/refused/);
    expect(() => t.ledger.attempt(() => true)).toThrow(/refused/);
    expect(t.ledger.probeStorage()).toBe(false);
    expect(memoryAndDisk(t)).toEqual(before);

    t.disk.unfill();
    expect(t.ledger.probeStorage()).toBe(true);
    expect(t.ledger.storageFailure()).toBeNull();
    t.ledger.applyGroup(many(3000), W + 1, T0);
    expect(t.ledger.totals().payments).toBe(3001);
    expectMemoryIsDisk(t);
    t.ledger.close();
  });

  test("a rollback and a checkpoint record on a full disk: StorageError, memory is disk", () => {
    const t = onFullDisk();
    t.disk.unfill();
    t.ledger.applyGroup(many(3000), W + 1, T0);
    t.disk.fill();
    const before = memoryAndDisk(t);
    expect(() => t.ledger.rollbackAfter(W)).toThrow(StorageError);
    expect(memoryAndDisk(t)).toEqual(before);
    expect(t.ledger.totals().payments).toBe(3001);
    t.disk.unfill();
    expect(t.ledger.probeStorage()).toBe(true);
    expect(t.ledger.rollbackAfter(W)).toBe(3000);
    expectMemoryIsDisk(t);
    t.ledger.close();
  });
});
