// The ledger: balances and accepted payments in one SQLite file (Drizzle over bun:sqlite).
//
// It is the only writer of its database, so it keeps every balance in memory as a write-through
// cache: reads never touch SQLite, and a commit group writes each changed account once. Changes of
// a group are staged and reach the cache and the state hash only after COMMIT returns, so a failed
// commit (full disk, I/O error) leaves memory and disk as they were.
//
// Invariants, asserted where written and again where read back (open): every balance is a u32;
// balances sum to the genesis total (nothing mints); no account is at 0.
//
// The state hash (src/core/state-hash.ts) is a pure function of the accounts table, so it is not
// stored: open computes it from the rows and checks it against the last agreed checkpoint (the
// payments after it undone); every committed balance change is recorded into it (install), to be
// folded in when the hash is next asked for; a read-back after a failed write (reload) records where
// the file differs from memory rather than start again.
//
// An account exists only while its balance is above 0: the write that takes it to 0 deletes its
// row and its cache entry (its payments stay), so paying dust to fresh keys and back costs no
// lasting memory or disk, and every server holds the same set of accounts however it got to the
// same balances (a window applied once, or applied, rolled back and applied again).
//
// Storage faults (a full disk, an I/O error) are operating errors, not crashes: every write runs in
// transact() or attempt(), which on any SQLite error make sure no transaction is left open, read
// memory back from the file (so memory is what is on disk, whatever COMMIT did), and throw a
// StorageError. After a fault of the storage itself, writes are refused at once (no SQL) until
// probeStorage() shows the disk takes writes again: the node says why and retries at its own pace.
import { Database } from "bun:sqlite";
import { drizzle, type BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import { and, asc, desc, eq, gt, gte, lt, lte, or, sql } from "drizzle-orm";
import * as schema from "../../db/schema.ts";
import { accounts, checkpoints, equivocations, meta, ownVotes, payments, relays } from "../../db/schema.ts";
import { migrate } from "./migrate.ts";
import { decideAgainstLedger, type LedgerDecision } from "../core/acceptance.ts";
import { decodePayment, paymentId, signedPart, type Payment } from "../core/payment.ts";
import { StateHash, stateHashOf } from "../core/state-hash.ts";
import { bytesKey, sha256 } from "../core/bytes.ts";
import { BALANCE_MAX, SUPPLY } from "../core/limits.ts";
import type { Checkpoint, ConsensusLedger } from "../core/consensus/coordinator.ts";
import { StorageError } from "../core/errors.ts";
import { HistoryChain } from "./history-chain.ts";
import { batchDigest } from "../core/history-digest.ts";

export class LedgerInvariantError extends Error {
  override name = "LedgerInvariantError";
}

function assertInvariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new LedgerInvariantError(`ledger invariant broken: ${message}`);
}

/** bun:sqlite's error: `errno` is the extended result code, `code` its name ("SQLITE_FULL"). */
export function isSqliteError(e: unknown): e is Error & { errno: number; code: string } {
  return e instanceof Error && e.name === "SQLiteError" && typeof (e as { errno?: unknown }).errno === "number";
}

/** SQLITE_CONSTRAINT: a rule the data broke (a trigger, a UNIQUE), not a fault of the storage. */
const SQLITE_CONSTRAINT = 19;

/** The network's genesis belongs to the data directory; a different one means a different network. */
export class GenesisMismatchError extends Error {
  override name = "GenesisMismatchError";
}

export interface LedgerOptions {
  /** Genesis balances by hex id; applied when the database is new, compared otherwise. */
  readonly genesis: ReadonlyMap<string, number>;
  readonly nowMs: number;
}

export interface Totals {
  readonly accounts: number;
  readonly payments: number;
  readonly supply: number;
  readonly stateHash: string;
}

export interface StoredPayment {
  readonly seq: number;
  readonly window: number;
  readonly acceptedAtMs: number;
  readonly payment: Payment;
}

/** SQLite page cache per ledger, KiB. */
const CACHE_SIZE_KIB = 131_072;
/** 16,384 pages of 4 KiB: a 64 MiB WAL at most between checkpoints. */
const WAL_AUTOCHECKPOINT_PAGES = 16_384;
/**
 * What the WAL file is cut back to after a checkpoint, bytes. An automatic checkpoint only rewinds
 * the WAL, it never shrinks the file: without a limit the file keeps the size of its largest burst
 * (a resync of a long history writes one transaction of hundreds of MiB). Twice the autocheckpoint.
 */
const JOURNAL_SIZE_LIMIT_BYTES = 2 * WAL_AUTOCHECKPOINT_PAGES * 4096;
/** The probe's write: room for it means room for a commit group's pages, roughly (1 MiB). */
const STORAGE_PROBE_BYTES = 1 << 20;
const META_GENESIS_HASH = "genesis_hash";
/**
 * The state hash of the genesis balances: the base of window 0's handover. Written when the ledger
 * is created; migration 0004 removed the one of the old hash, and open writes it again.
 */
const META_GENESIS_STATE_HASH = "genesis_state_hash";
/**
 * In a ledger from before the lattice hash: its newest checkpoint then (i64 BE). Checkpoints up to
 * that window were agreed under the additive hash, so the accounts are not checked against them.
 */
const META_ADDITIVE_HASH_UPTO = "additive_hash_upto_window";
const encodeWindow = (window: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(window));
  return b;
};
const decodeWindow = (b: Uint8Array): number => {
  assertInvariant(b.length === 8, "a stored window is not 8 bytes");
  return Number(Buffer.from(b).readBigInt64BE());
};
/** Agreed checkpoints kept on disk; older ones are pruned (their windows' payments stay). */
export const CHECKPOINTS_KEPT = 16;
/** This server's own votes kept on disk: more windows than a peer message may be behind (8). */
export const OWN_VOTES_KEPT = 16;
/** Proofs of equivocation kept (the most recent windows): each may hold two whole messages. */
export const EQUIVOCATIONS_KEPT = 64;
/** Windows whose payment count is kept in memory: the accepting one and a few a resync replays. */
const WINDOW_COUNTS_KEPT = 8;


type Key = string; // a 32-byte id as a latin1 string: a cheap Map key
const keyOf: (id: Uint8Array) => Key = bytesKey;
const idOf = (key: Key): Buffer => Buffer.from(key, "latin1");
const asBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
/** The indexed lookup key of an id or account: its first 8 bytes as a signed 64-bit integer. */
const lookupKey = (b: Uint8Array): bigint => new DataView(b.buffer, b.byteOffset, 8).getBigInt64(0, false);

function* accountsOf(balances: ReadonlyMap<Key, number>): Iterable<readonly [Uint8Array, number]> {
  for (const [key, balance] of balances) yield [idOf(key), balance] as const;
}

function* genesisBalances(genesis: ReadonlyMap<string, number>): Iterable<readonly [Uint8Array, number]> {
  for (const [hex, balance] of genesis) yield [Buffer.from(hex, "hex"), balance] as const;
}

/** A stable digest of the genesis, independent of key order in the file. */
export function genesisHash(genesis: ReadonlyMap<string, number>): Uint8Array {
  const sorted = [...genesis.entries()].filter(([, b]) => b > 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return sha256(new TextEncoder().encode(JSON.stringify(sorted)));
}

function openDatabase(path: string): Database {
  const client = new Database(path, { create: true, strict: true });
  // WAL with synchronous=FULL: COMMIT returns only after the WAL is fsynced, so an acknowledged
  // payment survives a crash or power cut. Group commit amortises that fsync over many payments.
  client.run("PRAGMA journal_mode = WAL");
  client.run("PRAGMA synchronous = FULL");
  client.run("PRAGMA busy_timeout = 5000");
  // The payments table's indexes take random-key inserts; a page cache that holds them keeps an
  // insert near 6 µs instead of 13 µs (measured at 100,000 payments). An upper bound, used as needed.
  client.run(`PRAGMA cache_size = -${CACHE_SIZE_KIB}`);
  // Checkpoint the WAL into the database file every WAL_AUTOCHECKPOINT_PAGES instead of SQLite's
  // 1,000: a page written by many commit groups is copied back once (measured at groups of 256:
  // 21.9 → 17.1 µs a payment). Costs up to that much WAL on disk.
  client.run(`PRAGMA wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
  client.run(`PRAGMA journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`);
  client.run("PRAGMA foreign_keys = OFF");
  return client;
}

export class Ledger implements ConsensusLedger {
  private balances = new Map<Key, number>();
  private stateHash: StateHash;
  /** Committed balance changes since open: a cheap way to notice a change without hashing. */
  private changes = 0;
  private readonly genesisTotal: number;
  private paymentCount: number;
  private latestWindowCache: number | null = null;
  /** Payments held by the windows asked about lately (see windowPaymentCount). */
  private readonly windowCounts = new Map<number, number>();
  /** The sum of every balance, kept as balances change (checked against a full sum on load). */
  private supply = 0;
  private closed = false;
  /** The first load() computed the state hash from every account; later ones record differences. */
  private loaded = false;
  /** Inside attempt(): a failed inner write leaves the rollback and the reload to attempt(). */
  private inAttempt = false;
  /** The last fault of the storage itself; writes are refused until probeStorage() clears it. */
  private storageFault: StorageError | null = null;
  /** A reload after a failure failed too: memory may not be what is on disk until one succeeds. */
  private reloadNeeded = false;
  /** The history digest (PROTOCOL §6a), from the payments table. */
  private readonly history: HistoryChain;
  /** Told of every storage failure (the node's storage monitor). */
  onStorageError: ((error: StorageError) => void) | null = null;

  private readonly findBySignedPart;
  private readonly findById;
  private readonly insertPayment;
  private readonly upsertAccount;
  private readonly deleteAccount;
  private readonly putMeta;

  private constructor(
    private readonly client: Database,
    private readonly db: BunSQLiteDatabase<typeof schema>,
    genesisTotal: number,
  ) {
    this.genesisTotal = genesisTotal;
    this.findBySignedPart = db
      .select({ bytes: payments.bytes })
      .from(payments)
      .where(eq(payments.signedPart, sql.placeholder("signedPart")))
      .prepare();
    this.findById = client.prepare<{ one: number }, [bigint, Buffer]>("SELECT 1 AS one FROM payments WHERE id_key = ? AND id = ?");
    // Raw statement for the hot path's insert: its change count tells a duplicate (ON CONFLICT DO
    // NOTHING) without a lookup first, and Drizzle's prepared run() does not expose it.
    this.insertPayment = client.prepare<unknown, [Buffer, Buffer, Buffer, Buffer, Buffer, bigint, bigint, bigint, number, number, number, number]>(
      "INSERT INTO payments (id, signed_part, bytes, payer, payee, id_key, payer_key, payee_key, amount, timestamp_ms, window, accepted_at_ms) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    );
    this.upsertAccount = db
      .insert(accounts)
      .values({ id: sql.placeholder("id"), balance: sql.placeholder("balance") })
      .onConflictDoUpdate({ target: accounts.id, set: { balance: sql`excluded.balance` } })
      .prepare();
    this.deleteAccount = db.delete(accounts).where(eq(accounts.id, sql.placeholder("id"))).prepare();
    this.putMeta = db
      .insert(meta)
      .values({ key: sql.placeholder("key"), value: sql.placeholder("value") })
      .onConflictDoUpdate({ target: meta.key, set: { value: sql`excluded.value` } })
      .prepare();
    this.stateHash = new StateHash();
    this.paymentCount = 0;
    const idsAfter = client.prepare<{ window: number; id: Uint8Array }, [number]>("SELECT window, id FROM payments WHERE window > ? ORDER BY window, seq");
    this.history = new HistoryChain((afterWindow) => idsAfter.iterate(afterWindow));
  }

  /** Opens (creating and migrating if needed) the ledger at `path`; ":memory:" for tests. */
  static open(path: string, options: LedgerOptions): Ledger {
    const client = openDatabase(path);
    try {
      migrate(client, options.nowMs);
      const db = drizzle(client, { schema });
      const genesisTotal = [...options.genesis.values()].reduce((a, b) => a + b, 0);
      assertInvariant(genesisTotal <= SUPPLY, "genesis exceeds the supply");
      const ledger = new Ledger(client, db, genesisTotal);
      ledger.initialise(options.genesis);
      return ledger;
    } catch (e) {
      client.close();
      throw e;
    }
  }

  private initialise(genesis: ReadonlyMap<string, number>): void {
    const wanted = asBuffer(genesisHash(genesis));
    const stored = this.db.select().from(meta).where(eq(meta.key, META_GENESIS_HASH)).get();
    const created = stored === undefined;
    if (created) {
      this.client.transaction(() => {
        for (const [hex, balance] of genesis) {
          if (balance === 0) continue;
          this.writeAccount(Buffer.from(hex, "hex"), balance);
        }
        this.putMeta.run({ key: META_GENESIS_HASH, value: wanted });
      })();
    } else if (!wanted.equals(stored.value)) {
      throw new GenesisMismatchError(
        "the data directory holds a ledger from a different genesis (another network file); use another --data directory",
      );
    }
    const genesisStateHashStored = this.readMeta(META_GENESIS_STATE_HASH) !== undefined;
    if (!created && !genesisStateHashStored) {
      // A ledger from before the lattice hash: migration 0004 removed the old genesis state hash.
      // It is computed again from the genesis (the same one: its digest matched above). Checkpoints
      // agreed until now carry the old hash: load() cannot check the accounts against them.
      const latest = this.db.select({ window: checkpoints.window }).from(checkpoints).orderBy(desc(checkpoints.window)).limit(1).get();
      const hash = stateHashOf(genesisBalances(genesis)).bytes();
      this.client.transaction(() => {
        this.putMeta.run({ key: META_GENESIS_STATE_HASH, value: asBuffer(hash) });
        if (latest !== undefined) this.putMeta.run({ key: META_ADDITIVE_HASH_UPTO, value: encodeWindow(latest.window) });
      })();
    }
    this.load();
    if (created && !genesisStateHashStored) {
      // A new ledger holds exactly the genesis: its hash is the genesis state hash. (Should this
      // write not happen, the next open finds the key missing and computes it from the genesis.)
      this.client.transaction(() => this.putMeta.run({ key: META_GENESIS_STATE_HASH, value: asBuffer(this.stateHash.bytes()) }))();
    }
  }

  private readMeta(key: string): Buffer | undefined {
    return this.db.select().from(meta).where(eq(meta.key, key)).get()?.value;
  }

  /**
   * Checks, at open, that the accounts are the state of the last agreed checkpoint (or the
   * genesis) plus the payments of the windows after it: the payments are undone in memory, for the
   * accounts they touch, and the hash of the result must be the agreed one. Costs the payments
   * after the checkpoint (two windows at most, as a rule) and two leaves per account they touch.
   * What it catches: balances changed in the file with their sum kept, payments removed or added,
   * a checkpoint's hash changed. Public for the simulator's tests, which hold it at any moment.
   */
  checkAgreedState(balances: ReadonlyMap<Key, number> = this.balances, hash: StateHash = this.stateHash): void {
    const agreed = this.agreedOrNull();
    if (agreed === null) return; // a ledger being created: its genesis state hash is written next
    const additiveUpto = this.readMeta(META_ADDITIVE_HASH_UPTO);
    if (additiveUpto !== undefined && agreed.window <= decodeWindow(additiveUpto)) return; // agreed under the old hash
    const atAgreed = new Map<Key, number>();
    const rows = this.client
      .query<{ payer: Uint8Array; payee: Uint8Array; amount: number }, [number]>("SELECT payer, payee, amount FROM payments WHERE window > ?")
      .iterate(agreed.window);
    for (const row of rows) {
      const payer = keyOf(row.payer);
      const payee = keyOf(row.payee);
      atAgreed.set(payee, (atAgreed.get(payee) ?? balances.get(payee) ?? 0) - row.amount);
      atAgreed.set(payer, (atAgreed.get(payer) ?? balances.get(payer) ?? 0) + row.amount);
    }
    const h = hash.clone();
    for (const [key, balance] of atAgreed) {
      assertInvariant(balance >= 0 && balance <= BALANCE_MAX, `undoing the payments after window ${agreed.window} takes a balance out of u32`);
      h.changeKey(key, balances.get(key) ?? 0, balance);
    }
    assertInvariant(
      Buffer.from(h.bytes()).equals(Buffer.from(agreed.hash)),
      `the state hash of the accounts, with the payments after window ${agreed.window} undone, is not the agreed one`,
    );
  }

  /**
   * Runs `fn` as one transaction: its changes stay only if it returns true. On false (or a
   * throw) the database is rolled back and memory re-read from it, so the ledger is exactly as
   * before. For multi-step changes that must not stop half way (a resync).
   */
  attempt(fn: () => boolean): boolean {
    assertInvariant(!this.client.inTransaction && !this.inAttempt, "attempt() does not nest");
    this.refuseWhileFaulted("attempt");
    try {
      this.client.run("BEGIN IMMEDIATE");
    } catch (e) {
      throw this.failed("attempt", e); // nothing began, nothing changed
    }
    let keep = false;
    let failure: unknown = null;
    this.inAttempt = true;
    try {
      keep = fn();
      // COMMIT can fail (a full disk refuses the WAL's last frames). SQLite has then rolled the
      // transaction back or left it open; either way the inner writes already reached memory, so
      // memory must be read back from the file below.
      if (keep) this.client.run("COMMIT");
    } catch (e) {
      failure = e;
    } finally {
      this.inAttempt = false;
    }
    if (failure === null && keep) return true;
    this.endTransaction();
    this.reload();
    if (failure !== null) throw isSqliteError(failure) ? this.failed("attempt", failure) : failure;
    return false;
  }

  /**
   * Runs `fn` as one transaction (a savepoint inside attempt()). On an SQLite error nothing of it
   * stays: no transaction is left open, memory is read back from the file, and a StorageError is
   * thrown. Other errors (a broken invariant) pass as they are, after the same clean-up.
   */
  private transact(what: string, fn: () => void): void {
    this.refuseWhileFaulted(what);
    try {
      this.client.transaction(fn)();
    } catch (e) {
      // Inside attempt(): attempt() rolls the whole transaction back and reloads.
      if (this.inAttempt) throw isSqliteError(e) ? this.failed(what, e) : e;
      this.endTransaction();
      // The staged changes never reached memory, but a COMMIT that failed half way is SQLite's to
      // judge: memory is read back from what the file now holds.
      if (isSqliteError(e)) {
        const error = this.failed(what, e);
        this.reload();
        throw error;
      }
      throw e;
    }
  }

  /** Rolls back a transaction a failure left open (bun's wrapper may not have, if its ROLLBACK failed). */
  private endTransaction(): void {
    if (!this.client.inTransaction) return;
    try {
      this.client.run("ROLLBACK");
    } catch {
      // SQLite rolls back by itself when it cannot go on; inTransaction says so below.
    }
    assertInvariant(!this.client.inTransaction, "a failed transaction could not be rolled back");
  }

  /** Reads memory back from the file; if even that fails, writes stay refused until it works. */
  private reload(): void {
    try {
      this.load();
      this.reloadNeeded = false;
    } catch (e) {
      if (!isSqliteError(e)) throw e; // a broken invariant on disk: stop loudly
      this.reloadNeeded = true;
      this.failed("reload", e);
    }
  }

  /** Wraps SQLite's error as a StorageError, remembers a fault of the storage, tells the listener. */
  private failed(what: string, e: unknown): StorageError {
    if (e instanceof StorageError) return e;
    const sqlite = isSqliteError(e) ? e : null;
    const code = sqlite?.code ?? "SQLITE_ERROR";
    const fault = sqlite === null || (sqlite.errno & 0xff) !== SQLITE_CONSTRAINT;
    const error = new StorageError(`ledger ${what} failed: ${(e as Error).message} (${code}); nothing of it was written`, fault, code, { cause: e });
    if (fault) this.storageFault = error;
    this.onStorageError?.(error);
    return error;
  }

  private refuseWhileFaulted(what: string): void {
    assertInvariant(!this.closed, "ledger is closed");
    const fault = this.storageFault ?? (this.reloadNeeded ? new StorageError("the ledger could not be read back after a failed write", true, "SQLITE_IOERR") : null);
    if (fault !== null && !this.inAttempt) throw new StorageError(`ledger ${what} refused: the storage is failing (${fault.message})`, true, fault.sqliteCode, { cause: fault });
  }

  /** The last fault of the storage, while writes are refused; null when they are taken. */
  storageFailure(): StorageError | null {
    return this.storageFault;
  }

  /**
   * Whether the storage takes writes again: a write of STORAGE_PROBE_BYTES in one transaction,
   * removed in a second (and a reload, if one failed). On success writes are taken again. Cheap
   * enough to run every few seconds; the node's storage monitor runs it with a backoff.
   */
  probeStorage(): boolean {
    assertInvariant(!this.closed && !this.client.inTransaction, "probe on a closed ledger or inside a transaction");
    try {
      // A checkpoint first: the WAL is copied into the database file and cut back, which may
      // itself be what frees the space. It fails harmlessly on a disk that is still full.
      this.checkpointWal();
      this.client.transaction(() => this.putMeta.run({ key: "storage_probe", value: Buffer.alloc(STORAGE_PROBE_BYTES) }))();
      this.client.transaction(() => this.client.run("DELETE FROM meta WHERE key = 'storage_probe'"))();
      if (this.reloadNeeded) {
        this.load();
        this.reloadNeeded = false;
      }
    } catch (e) {
      if (!isSqliteError(e)) throw e;
      this.endTransaction();
      this.storageFault = this.failed("probe", e);
      return false;
    }
    this.storageFault = null;
    return true;
  }

  /**
   * Copies the WAL into the database file and truncates the WAL to zero bytes; false when a reader
   * or a full disk keeps it from completing (then the WAL is kept, as SQLite guarantees).
   */
  checkpointWal(): boolean {
    if (this.closed || this.client.inTransaction) return false;
    try {
      const row = this.client.query<{ busy: number }, []>("PRAGMA wal_checkpoint(TRUNCATE)").get();
      return row?.busy === 0;
    } catch (e) {
      if (!isSqliteError(e)) throw e;
      return false;
    }
  }

  /**
   * Puts committed balance changes into memory, keeping the sum of all balances as it goes so
   * totals() need not walk the ledger (it is asked on every GET /status). Nothing mints: the sum
   * must still be the genesis total.
   */
  private install(staged: ReadonlyMap<Key, number>): void {
    for (const [key, balance] of staged) {
      const before = this.balances.get(key) ?? 0;
      this.supply += balance - before;
      this.stateHash.changeKey(key, before, balance);
      // The row was deleted in the same transaction (writeAccount); the cache follows it.
      if (balance === 0) this.balances.delete(key);
      else this.balances.set(key, balance);
    }
    if (staged.size > 0) this.changes++;
    assertInvariant(this.supply === this.genesisTotal, `balances sum to ${this.supply}, genesis to ${this.genesisTotal}`);
  }

  /**
   * The one place a balance reaches the accounts table: a u32, and 0 removes the account. Called
   * inside the caller's transaction.
   */
  private writeAccount(id: Buffer, balance: number): void {
    assertInvariant(Number.isInteger(balance) && balance >= 0 && balance <= BALANCE_MAX, "a balance to write is not a u32");
    if (balance === 0) this.deleteAccount.run({ id });
    else this.upsertAccount.run({ id, balance });
  }

  /** Reads every balance back and checks the invariants before serving anything. */
  private load(): void {
    // Built apart and swapped in at the end: a load that fails half way leaves memory as it was.
    const balances = new Map<Key, number>();
    let total = 0;
    // Streamed with the raw statement: a million rows should not be materialised at once.
    for (const row of this.client.query<{ id: Uint8Array; balance: number }, []>("SELECT id, balance FROM accounts").iterate()) {
      assertInvariant(Number.isInteger(row.balance) && row.balance >= 0 && row.balance <= BALANCE_MAX, "a stored balance is not a u32");
      assertInvariant(row.id.length === 32, "a stored account id is not 32 bytes");
      // Zero rows from before the rule were removed once by migration 0001, so one here is a bug
      // (or a tampered file), not old data. A migration rather than a clean-up in load(): load()
      // must only check, or it would silently repair what it exists to catch, on every reopen and
      // after every failed attempt().
      assertInvariant(row.balance !== 0, "a stored account is at balance 0 (an emptied account must be removed)");
      balances.set(keyOf(row.id), row.balance);
      total += row.balance;
    }
    assertInvariant(total === this.genesisTotal, `balances sum to ${total}, genesis to ${this.genesisTotal}`);
    const paymentCount = this.client.query<{ n: number }, []>("SELECT count(*) AS n FROM payments").get()!.n;
    const latestWindow = this.readLatestWindow();
    if (this.loaded) {
      // A read-back after a failed write: memory's hash is that of memory's balances, so recording
      // where the file differs gives the file's hash, at the cost of the accounts that differ (a
      // resync that did not reach the agreed hash) instead of every leaf again.
      for (const [key, balance] of balances) {
        const before = this.balances.get(key) ?? 0;
        if (before !== balance) this.stateHash.changeKey(key, before, balance);
      }
      for (const [key, before] of this.balances) if (!balances.has(key)) this.stateHash.changeKey(key, before, 0);
    } else {
      const hash = stateHashOf(accountsOf(balances));
      this.checkAgreedState(balances, hash);
      this.stateHash = hash;
      this.loaded = true;
    }
    this.balances = balances;
    this.supply = total;
    this.changes++;
    this.paymentCount = paymentCount;
    this.latestWindowCache = latestWindow;
    // Counted again from the file when next asked.
    this.windowCounts.clear();
    this.history.forgetAll();
  }

  balance(id: Uint8Array): number | undefined {
    return this.balances.get(keyOf(id));
  }

  /**
   * Applies payments that passed the stateless rules, in order, as one SQLite transaction, and
   * returns one decision per payment. When it returns, the applied payments are durably committed.
   * If it throws, nothing was applied. With `capacity` (the network's payments per window), a
   * payment that would be number capacity + 1 of `window` is refused WINDOW_FULL.
   */
  applyGroup(group: readonly Payment[], window: number, nowMs: number, capacity?: number): LedgerDecision[] {
    assertInvariant(!this.closed, "ledger is closed");
    const held = capacity === undefined ? 0 : this.windowPaymentCount(window);
    const heldMax = capacity ?? Infinity;
    const staged = new Map<Key, number>();
    const decisions: LedgerDecision[] = [];
    let applied = 0;
    const balanceNow = (key: Key) => staged.get(key) ?? this.balances.get(key);

    this.transact("commit", () => {
      for (const payment of group) {
        const payerKey = keyOf(payment.payer);
        const payeeKey = keyOf(payment.payee);
        // The insert itself detects a duplicate (UNIQUE on the first 76 bytes), so the common case
        // costs one statement; the lookup runs only when the payment cannot be applied.
        const payerBalance = balanceNow(payerKey);
        let decision = decideAgainstLedger(payment, { sameSignedPart: undefined, payerBalance });
        if (decision.kind === "apply" && held + applied >= heldMax) {
          // The window is full. A retransmission or a duplicate still gets its own answer; any
          // other payment would be number capacity + 1.
          decision = this.decideDuplicate(payment, payerBalance);
          if (decision.kind === "apply") decision = { kind: "reject", code: "WINDOW_FULL" };
        } else if (decision.kind === "apply") {
          const id = paymentId(payment.bytes);
          const inserted = this.insertPayment.run(
            asBuffer(id),
            asBuffer(signedPart(payment.bytes)),
            asBuffer(payment.bytes),
            asBuffer(payment.payer),
            asBuffer(payment.payee),
            lookupKey(id),
            lookupKey(payment.payer),
            lookupKey(payment.payee),
            payment.amount,
            payment.timestampMs,
            window,
            nowMs,
          );
          if (inserted.changes === 0) decision = this.decideDuplicate(payment, payerBalance);
        } else {
          decision = this.decideDuplicate(payment, payerBalance);
        }
        decisions.push(decision);
        if (decision.kind !== "apply") continue;

        const payerBefore = payerBalance!;
        const payeeBefore = balanceNow(payeeKey) ?? 0;
        const payerAfter = payerBefore - payment.amount;
        const payeeAfter = payeeBefore + payment.amount;
        assertInvariant(payerAfter >= 0 && payeeAfter <= BALANCE_MAX, "a payment would take a balance out of u32");
        staged.set(payerKey, payerAfter);
        staged.set(payeeKey, payeeAfter);
        applied++;
      }
      if (applied === 0) return;
      for (const [key, balance] of staged) this.writeAccount(idOf(key), balance);
    });

    this.install(staged);
    this.paymentCount += applied;
    assertInvariant(held + applied <= heldMax, `window ${window} would hold ${held + applied} payments, more than its capacity of ${heldMax}`);
    const counted = this.windowCounts.get(window);
    if (counted !== undefined) this.windowCounts.set(window, counted + applied);
    if (applied > 0 && (this.latestWindowCache === null || window > this.latestWindowCache)) this.latestWindowCache = window;
    if (applied > 0) this.history.appended(window);
    return decisions;
  }

  /** The bytes of an accepted payment with the same first 76 bytes as `payment`, if any. */
  sameSignedPart(payment: Payment): Uint8Array | undefined {
    return this.findBySignedPart.get({ signedPart: asBuffer(signedPart(payment.bytes)) })?.bytes;
  }

  /** The decision once the ledger's copy of the same first 76 bytes (if any) is known. */
  private decideDuplicate(payment: Payment, payerBalance: number | undefined): LedgerDecision {
    return decideAgainstLedger(payment, { sameSignedPart: this.sameSignedPart(payment), payerBalance });
  }

  /**
   * Whether a payment with this id (SHA-256 of its 140 bytes) is in the ledger: how the intake
   * recognises a retransmission of accepted bytes before any other rule. One indexed lookup.
   */
  hasPayment(id: Uint8Array): boolean {
    return this.findById.get(lookupKey(id), asBuffer(id)) !== null;
  }

  payment(id: Uint8Array): StoredPayment | undefined {
    const row = this.db
      .select()
      .from(payments)
      .where(and(eq(payments.idKey, lookupKey(id)), eq(payments.id, asBuffer(id))))
      .get();
    return row && this.toStored(row);
  }

  /** An account's payments (as payer or payee), newest first; `beforeSeq` pages backwards. */
  transactions(account: Uint8Array, limit: number, beforeSeq?: number): StoredPayment[] {
    const id = asBuffer(account);
    const key = lookupKey(account);
    const involves = or(
      and(eq(payments.payerKey, key), eq(payments.payer, id)),
      and(eq(payments.payeeKey, key), eq(payments.payee, id)),
    );
    const rows = this.db
      .select()
      .from(payments)
      .where(beforeSeq === undefined ? involves : and(involves, lt(payments.seq, beforeSeq)))
      .orderBy(desc(payments.seq))
      .limit(limit)
      .all();
    return rows.map((r) => this.toStored(r));
  }

  /** The latest accepted payments, newest first (the status page). */
  recentPayments(limit: number): StoredPayment[] {
    return this.db.select().from(payments).orderBy(desc(payments.seq)).limit(limit).all().map((r) => this.toStored(r));
  }

  /** The `limit` largest balances, largest first (ties by id), from memory: O(accounts · limit). */
  largestAccounts(limit: number): { id: Uint8Array; balance: number }[] {
    if (limit < 1) return [];
    const top: [Key, number][] = [];
    const before = (a: [Key, number], b: [Key, number]) => a[1] > b[1] || (a[1] === b[1] && a[0] < b[0]);
    for (const entry of this.balances) {
      if (top.length === limit && !before(entry, top[top.length - 1]!)) continue;
      let i = Math.min(top.length, limit - 1);
      while (i > 0 && before(entry, top[i - 1]!)) i--;
      top.splice(i, 0, entry);
      if (top.length > limit) top.pop();
    }
    return top.map(([key, balance]) => ({ id: new Uint8Array(idOf(key)), balance }));
  }

  private toStored(row: typeof payments.$inferSelect): StoredPayment {
    const payment = decodePayment(new Uint8Array(row.bytes));
    assertInvariant(payment !== null, "a stored payment is not 140 bytes");
    return { seq: row.seq, window: row.window, acceptedAtMs: row.acceptedAtMs, payment };
  }

  totals(): Totals {
    return { accounts: this.balances.size, payments: this.paymentCount, supply: this.supply, stateHash: this.stateHash.hex() };
  }

  /** The state hash now: folds in the accounts changed since it was last asked (see state-hash.ts). */
  stateHashHex(): string {
    return this.stateHash.hex();
  }

  /**
   * Counts committed changes of the balances (and read-backs from the file) since open: tells that
   * the state changed without computing its hash (the storage monitor asks every 250 ms).
   */
  changeCount(): number {
    return this.changes;
  }

  // ---- Consensus: batches, rollback, checkpoints -------------------------------------------

  stateHashBytes(): Uint8Array {
    return this.stateHash.bytes();
  }

  /** The history digest of every payment held (PROTOCOL §6a): what a vote commits to beside the hash. */
  historyDigest(): Uint8Array {
    return this.history.digest(this.latestWindowCache);
  }

  /** The batch digest of `window`: its payments held here, in acceptance order (§6a). */
  batchDigest(window: number): Uint8Array {
    const kept = this.history.batch(window, this.latestWindowCache);
    if (kept !== null) return kept;
    const ids = this.client.query<{ id: Uint8Array }, [number]>("SELECT id FROM payments WHERE window = ? ORDER BY seq").all(window);
    return batchDigest(window, ids.map((r) => r.id));
  }

  /** The last agreed checkpoint; genesis (window -1) before any. */
  agreed(): Checkpoint {
    const agreed = this.agreedOrNull();
    assertInvariant(agreed !== null, "genesis state hash missing");
    return agreed;
  }

  private agreedOrNull(): Checkpoint | null {
    const row = this.db.select().from(checkpoints).orderBy(desc(checkpoints.window)).limit(1).get();
    if (row) return { window: row.window, hash: new Uint8Array(row.hash), certificate: new Uint8Array(row.certificate) };
    const genesis = this.readMeta(META_GENESIS_STATE_HASH);
    return genesis === undefined ? null : { window: -1, hash: new Uint8Array(genesis), certificate: new Uint8Array(0) };
  }

  /** Records that a majority agreed on `hash` after `window`; keeps the last CHECKPOINTS_KEPT. */
  recordAgreed(window: number, hash: Uint8Array, certificate: Uint8Array, nowMs: number): void {
    assertInvariant(Buffer.from(hash).equals(Buffer.from(this.stateHash.bytes())), "recording a checkpoint that is not the current state");
    this.transact("checkpoint record", () => {
      this.db
        .insert(checkpoints)
        .values({ window, hash: asBuffer(hash), certificate: asBuffer(certificate), agreedAtMs: nowMs })
        .onConflictDoUpdate({ target: checkpoints.window, set: { hash: asBuffer(hash), certificate: asBuffer(certificate), agreedAtMs: nowMs } })
        .run();
      this.client.run(
        "DELETE FROM checkpoints WHERE window NOT IN (SELECT window FROM checkpoints ORDER BY window DESC LIMIT ?)",
        [CHECKPOINTS_KEPT],
      );
    });
  }

  /**
   * Withdraws the recorded checkpoint of `window` (its certificate lost its majority: a voter was
   * proven to equivocate) and every later one (built on it), and undoes everything after the
   * checkpoint before it, in one transaction. Returns the payments undone.
   */
  revokeCheckpoint(window: number): number {
    assertInvariant(this.canRevoke(window), `only a recorded checkpoint with a known state before it can be revoked, not window ${window}`);
    let undone = 0;
    this.transact("checkpoint revoke", () => {
      this.client.run("DELETE FROM checkpoints WHERE window >= ?", [window]);
      undone = this.rollbackAfter(this.agreed().window);
    });
    return undone;
  }

  /** Stores a proof that `server` signed two conflicting messages for `window` (kept once). */
  recordEquivocation(window: number, server: Uint8Array, first: Uint8Array, second: Uint8Array, nowMs: number): void {
    this.transact("equivocation record", () => {
      this.db.insert(equivocations).values({ window, server: asBuffer(server), first: asBuffer(first), second: asBuffer(second), foundAtMs: nowMs }).onConflictDoNothing().run();
      // Bounded: a faulty server that equivocates window after window must not fill the disk.
      this.client.run("DELETE FROM equivocations WHERE rowid NOT IN (SELECT rowid FROM equivocations ORDER BY window DESC LIMIT ?)", [EQUIVOCATIONS_KEPT]);
    });
  }

  /** The stored proofs of equivocation, of windows from `fromWindow` on if given. */
  equivocations(fromWindow = Number.MIN_SAFE_INTEGER): { window: number; server: Uint8Array; first: Uint8Array; second: Uint8Array; foundAtMs: number }[] {
    return this.db
      .select()
      .from(equivocations)
      .where(gte(equivocations.window, fromWindow))
      .orderBy(asc(equivocations.window))
      .all()
      .map((r) => ({ window: r.window, server: new Uint8Array(r.server), first: new Uint8Array(r.first), second: new Uint8Array(r.second), foundAtMs: r.foundAtMs }));
  }

  /**
   * Writes this server's vote for `window` (durably, before it is sent), keeping the votes of the
   * last OWN_VOTES_KEPT windows. A vote already stored for the window is never replaced: the
   * caller must resend that one instead (a second, different vote would be equivocation).
   */
  recordOwnVote(window: number, bytes: Uint8Array, nowMs: number): void {
    this.transact("vote record", () => {
      this.db.insert(ownVotes).values({ window, bytes: asBuffer(bytes), castAtMs: nowMs }).onConflictDoNothing().run();
      this.client.run("DELETE FROM own_votes WHERE window NOT IN (SELECT window FROM own_votes ORDER BY window DESC LIMIT ?)", [OWN_VOTES_KEPT]);
    });
  }

  /** Who was proven to equivocate in which window, without the proofs' bytes (for /status). */
  equivocationList(): { window: number; server: Uint8Array; foundAtMs: number }[] {
    return this.client
      .query<{ window: number; server: Uint8Array; foundAtMs: number }, []>("SELECT window, server, found_at_ms AS foundAtMs FROM equivocations ORDER BY window DESC")
      .all()
      .map((r) => ({ window: r.window, server: new Uint8Array(r.server), foundAtMs: r.foundAtMs }));
  }

  /** Forgets this server's stored vote of `window` (one of an older format, never to be sent). */
  forgetOwnVote(window: number): void {
    this.transact("vote forget", () => {
      this.client.run("DELETE FROM own_votes WHERE window = ?", [window]);
    });
  }

  /**
   * Stores a relay this server holds of `window` (durably: the alpha counts this server as holding
   * its payments once it answers), and forgets relays of windows before `keepFrom`.
   */
  storeRelay(window: number, first: number, bytes: Uint8Array, keepFrom: number): void {
    this.transact("relay store", () => {
      this.db.insert(relays).values({ window, first, bytes: asBuffer(bytes) }).onConflictDoNothing().run();
      this.client.run("DELETE FROM relays WHERE window < ?", [keepFrom]);
    });
  }

  /** The stored relays, by window and position. */
  storedRelays(): { window: number; first: number; bytes: Uint8Array }[] {
    return this.db
      .select({ window: relays.window, first: relays.first, bytes: relays.bytes })
      .from(relays)
      .orderBy(asc(relays.window), asc(relays.first))
      .all()
      .map((r) => ({ window: r.window, first: r.first, bytes: new Uint8Array(r.bytes) }));
  }

  /** This server's stored votes, oldest window first. */
  ownVotes(): { window: number; bytes: Uint8Array }[] {
    return this.db
      .select({ window: ownVotes.window, bytes: ownVotes.bytes })
      .from(ownVotes)
      .orderBy(asc(ownVotes.window))
      .all()
      .map((r) => ({ window: r.window, bytes: new Uint8Array(r.bytes) }));
  }

  /**
   * How many payments `window` holds. The alpha checks its capacity against this on every
   * payment, so it is counted in SQL once (indexed on window) and then kept as payments are
   * applied; undoing payments forgets the counts.
   */
  windowPaymentCount(window: number): number {
    const counted = this.windowCounts.get(window);
    if (counted !== undefined) return counted;
    const n = this.client.query<{ n: number }, [number]>("SELECT count(*) AS n FROM payments WHERE window = ?").get(window)!.n;
    if (this.windowCounts.size >= WINDOW_COUNTS_KEPT) this.windowCounts.clear();
    this.windowCounts.set(window, n);
    return n;
  }

  /** The highest window any stored payment belongs to, or null. Kept in memory: asked every tick. */
  latestWindow(): number | null {
    return this.latestWindowCache;
  }

  private readLatestWindow(): number | null {
    const row = this.client.query<{ w: number | null }, []>("SELECT max(window) AS w FROM payments").get();
    return row?.w ?? null;
  }

  /** A window's payments in acceptance order: what its beta hands over. */
  windowPayments(window: number): Uint8Array[] {
    return this.db
      .select({ bytes: payments.bytes })
      .from(payments)
      .where(eq(payments.window, window))
      .orderBy(asc(payments.seq))
      .all()
      .map((r) => new Uint8Array(r.bytes));
  }

  /** Payments of windows in (afterWindow, uptoWindow], in acceptance order: what a resync fetches. */
  paymentsBetween(afterWindow: number, uptoWindow: number): { window: number; bytes: Uint8Array }[] {
    return this.db
      .select({ window: payments.window, bytes: payments.bytes })
      .from(payments)
      .where(and(gt(payments.window, afterWindow), lte(payments.window, uptoWindow)))
      .orderBy(asc(payments.seq))
      .all()
      .map((r) => ({ window: r.window, bytes: new Uint8Array(r.bytes) }));
  }

  /**
   * How many payments windows in (afterWindow, uptoWindow] hold, counting at most `limit`: a resync
   * answer is refused as too large without loading its rows.
   */
  countPaymentsBetween(afterWindow: number, uptoWindow: number, limit: number): number {
    return this.client
      .query<{ n: number }, [number, number, number]>("SELECT count(*) AS n FROM (SELECT 1 FROM payments WHERE window > ? AND window <= ? LIMIT ?)")
      .get(afterWindow, uptoWindow, limit)!.n;
  }

  /** Up to `limit` payments of windows in (afterWindow, uptoWindow] after sequence `afterSeq`, in order. */
  paymentsBetweenPage(afterWindow: number, uptoWindow: number, afterSeq: number, limit: number): { seq: number; window: number; bytes: Uint8Array }[] {
    return this.client
      .query<{ seq: number; window: number; bytes: Uint8Array }, [number, number, number, number]>(
        "SELECT seq, window, bytes FROM payments WHERE window > ? AND window <= ? AND seq > ? ORDER BY seq LIMIT ?",
      )
      .all(afterWindow, uptoWindow, afterSeq, limit)
      .map((r) => ({ seq: r.seq, window: r.window, bytes: new Uint8Array(r.bytes) }));
  }

  /**
   * Undoes every payment of windows after `window`, newest first, in one transaction: the way
   * back to an agreed checkpoint. Costs in proportion to the payments undone. Returns how many.
   */
  rollbackAfter(window: number): number {
    // Refused before the read: a rollback retried while the disk is full costs nothing.
    this.refuseWhileFaulted("rollback");
    const rows = this.db
      .select({ seq: payments.seq, payer: payments.payer, payee: payments.payee, amount: payments.amount })
      .from(payments)
      .where(gt(payments.window, window))
      .orderBy(desc(payments.seq))
      .all();
    if (rows.length === 0) return 0;
    const staged = new Map<Key, number>();
    const balanceNow = (key: Key) => staged.get(key) ?? this.balances.get(key) ?? 0;
    for (const row of rows) {
      const payerKey = keyOf(row.payer);
      const payeeKey = keyOf(row.payee);
      const payeeBefore = balanceNow(payeeKey);
      const payerBefore = balanceNow(payerKey);
      assertInvariant(payeeBefore >= row.amount && payerBefore + row.amount <= BALANCE_MAX, "undoing a payment would take a balance out of u32");
      staged.set(payeeKey, payeeBefore - row.amount);
      staged.set(payerKey, payerBefore + row.amount);
    }
    this.transact("rollback", () => {
      this.client.run("DELETE FROM payments WHERE window > ?", [window]);
      this.windowCounts.clear();
      // Undoing a payment can take its payee back to 0: writeAccount removes it, as applyGroup would
      // have had the payment never happened.
      for (const [key, balance] of staged) this.writeAccount(idOf(key), balance);
    });
    this.install(staged);
    this.paymentCount -= rows.length;
    this.latestWindowCache = this.readLatestWindow();
    this.history.undoneAfter(window);
    return rows.length;
  }

  /** Replaces the certificate of the recorded checkpoint of `window`: the same hash, other voters. */
  replaceCertificate(window: number, certificate: Uint8Array): void {
    assertInvariant(this.checkpoint(window) !== undefined, `no checkpoint of window ${window} to re-certify`);
    this.transact("certificate replace", () => {
      this.client.run("UPDATE checkpoints SET certificate = ? WHERE window = ?", [asBuffer(certificate), window]);
    });
  }

  /**
   * Whether the checkpoint of `window` can be withdrawn: it is recorded, and the state before it is
   * known — a checkpoint before it is kept, or there is none because no payment precedes it (the
   * genesis). Older checkpoints are pruned (CHECKPOINTS_KEPT), so a withdrawal that deep cannot be.
   */
  canRevoke(window: number): boolean {
    if (window < 0 || this.checkpoint(window) === undefined) return false;
    const before = this.client.query<{ n: number }, [number]>("SELECT count(*) AS n FROM checkpoints WHERE window < ?").get(window)!.n;
    if (before > 0) return true;
    return this.client.query<{ n: number }, [number]>("SELECT count(*) AS n FROM (SELECT 1 FROM payments WHERE window < ? LIMIT 1)").get(window)!.n === 0;
  }

  /** The stored certificate of an agreed window, if kept. */
  checkpoint(window: number): Checkpoint | undefined {
    const row = this.db.select().from(checkpoints).where(eq(checkpoints.window, window)).get();
    return row && { window: row.window, hash: new Uint8Array(row.hash), certificate: new Uint8Array(row.certificate) };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
  }
}
