// Fixtures shared by the in-process ledger and node tests: temp ledgers on real SQLite files, a
// second SQLite connection for fault injection and tampering, a seeded PRNG, and a signer that
// produces a *different* valid signature for the same 76 bytes (to provoke DUPLICATE).
import { afterEach } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import { Ledger } from "../../src/ledger/ledger.ts";
import { toHex } from "../../src/core/bytes.ts";
import { stateHashOf } from "../../src/core/state-hash.ts";
import type { KeyPair } from "../../src/core/keys.ts";
import { encodeUnsigned, signedPart } from "../../src/core/payment.ts";
import { signedPayment, tempDir, testKeyPair } from "../support/helpers.ts";

export { signedPayment, tempDir, testKeyPair };

/** A fixed instant well inside a 2-minute window: 2027-01-15T08:00:30Z. */
export const T0 = Date.UTC(2027, 0, 15, 8, 0, 30);
export const INTERVAL_MS = 120_000;
export const windowOf = (ms: number) => Math.floor(ms / INTERVAL_MS);

export const hex = (b: Uint8Array) => toHex(b);

/** Key pairs for seeds 1..n (index i holds seed byte i + 1). */
export function keyPairs(n: number): KeyPair[] {
  return Array.from({ length: n }, (_, i) => testKeyPair(i + 1));
}

export function genesisOf(entries: ReadonlyArray<readonly [KeyPair | Uint8Array, number]>): Map<string, number> {
  return new Map(entries.map(([k, b]) => [hex(k instanceof Uint8Array ? k : k.publicKey), b]));
}

export interface TempLedger {
  readonly dir: string;
  readonly path: string;
  ledger: Ledger;
  reopen(genesis?: ReadonlyMap<string, number>): Ledger;
  cleanup(): void;
}

/** Opens a ledger on a real SQLite file in a fresh temp directory. */
export function openTempLedger(genesis: ReadonlyMap<string, number>, nowMs = T0): TempLedger {
  const dir = tempDir("scryp-ledger-");
  const path = join(dir.path, "ledger.sqlite");
  const t: TempLedger = {
    dir: dir.path,
    path,
    ledger: Ledger.open(path, { genesis, nowMs }),
    reopen(g = genesis) {
      t.ledger.close();
      t.ledger = Ledger.open(path, { genesis: g, nowMs });
      return t.ledger;
    },
    cleanup() {
      t.ledger.close();
      dir.cleanup();
    },
  };
  return t;
}

/** A second, independent connection to the ledger's file. */
export function sideConnection(path: string): Database {
  const db = new Database(path, { strict: true });
  db.run("PRAGMA busy_timeout = 5000");
  return db;
}

/** Writes `sql` to the ledger file through a second connection, with the ledger closed first. */
export function tamper(t: TempLedger, sql: string, params: Record<string, unknown> = {}): void {
  t.ledger.close();
  const db = sideConnection(t.path);
  db.query(sql).run(params as never);
  db.close();
}

/** Makes any INSERT of a payment with this amount abort its statement (and so the transaction). */
export function addFailTrigger(path: string, amount = 13): void {
  const db = sideConnection(path);
  db.run(`CREATE TRIGGER fail_amount_${amount} BEFORE INSERT ON payments WHEN NEW.amount = ${amount} BEGIN SELECT RAISE(ABORT, 'boom'); END`);
  db.close();
}

export function dropFailTrigger(path: string, amount = 13): void {
  const db = sideConnection(path);
  db.run(`DROP TRIGGER IF EXISTS fail_amount_${amount}`);
  db.close();
}

/** Raw rows as they are on disk, through a separate connection. */
export function diskSnapshot(path: string) {
  const db = sideConnection(path);
  try {
    const accounts = db
      .query<{ id: Uint8Array; balance: number }, []>("SELECT id, balance FROM accounts ORDER BY id")
      .all()
      .map((r) => [toHex(r.id), r.balance] as const);
    const payments = db.query<{ n: number }, []>("SELECT count(*) AS n FROM payments").get()!.n;
    // Not stored: the state hash is a pure function of the accounts table.
    const stateHash = stateHashOf(accounts.map(([id, balance]) => [Buffer.from(id, "hex"), balance] as const)).hex();
    return { accounts, payments, stateHash };
  } finally {
    db.close();
  }
}

/** mulberry32: a small seeded PRNG, so random tests are reproducible. */
export function prng(seed: number): { next(): number; int(lo: number, hiInclusive: number): number } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)) };
}

// --- A second valid signature for the same message (Ed25519 with a chosen nonce) -----------------
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
function leToBig(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
}
function bigToLe32(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

/**
 * Re-signs `bytes` (a payment by `payer`) with nonce `r` instead of RFC 8032's deterministic one:
 * same first 76 bytes, different but valid signature, so strict verification accepts both.
 */
export function resignWithNonce(bytes: Uint8Array, payer: KeyPair, r: bigint): Uint8Array {
  const { scalar, pointBytes } = ed.utils.getExtendedPublicKey(payer.seed);
  const nonce = ((r % L) + L) % L || 1n;
  const R = ed.Point.BASE.multiply(nonce).toBytes();
  const message = signedPart(bytes);
  const k = leToBig(sha512(ed.etc.concatBytes(R, pointBytes, message))) % L;
  const S = (nonce + k * scalar) % L;
  const out = new Uint8Array(bytes);
  out.set(R, 76);
  out.set(bigToLe32(S), 108);
  return out;
}

/** 140 bytes with an all-zero signature: the ledger does not verify, so these do for ledger-only tests. */
export function unsignedPayment(payer: Uint8Array, payee: Uint8Array, amount: number, timestampMs: number): Uint8Array {
  return encodeUnsigned(timestampMs, amount, payee, payer);
}

/**
 * Temp ledgers for one test file: `fresh(genesis)` opens one, and every one opened is removed
 * after each test. Call once at the top level of the file.
 */
export function tempLedgers(): (genesis: Map<string, number>) => TempLedger {
  let open: TempLedger[] = [];
  afterEach(() => {
    for (const t of open) t.cleanup();
    open = [];
  });
  return (genesis) => {
    const t = openTempLedger(genesis);
    open.push(t);
    return t;
  };
}
