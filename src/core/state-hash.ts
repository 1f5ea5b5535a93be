// The ledger's state hash: one 32-byte value that is identical on every server holding the same
// balances, whatever order the accounts appeared in and whatever way they got there, and cheap to
// keep current. It is a lattice hash (LtHash16, as in Facebook's "Securing Update Propagation with
// Homomorphic Hashing" and Solana's accounts lattice hash):
//
//   leaf(id, balance) = SHAKE256("scryp/account-leaf/v2" ‖ id (32) ‖ balance (u32 BE), 2048 bytes),
//                       read as 1024 little-endian u16 lanes
//   lattice           = Σ leaf(id, balance) over accounts with a non-zero balance, lane by lane mod 2^16
//   state hash        = SHA-256("scryp/state-hash/v2" ‖ lattice as 2048 bytes, lanes little-endian)
//
// Why not the sum of SHA-256 leaves mod 2^256 it replaces: that is an additive multiset hash over a
// 256-bit group, and Wagner's generalised birthday attack finds leaves that sum to a chosen value in
// about 2^31 work, so a crafted batch could move money without changing the hash. Finding a
// collision of the lattice hash is a short-vector problem in a 1024-dimensional lattice mod 2^16,
// estimated above 200-bit security by its authors; SHAKE256 (the standard XOF, in every language)
// keeps the leaves' own collisions at 2^128 and beyond. Adding is still lane-wise, so a change of
// one balance is one leaf out and one leaf in, never a pass over the ledger.
//
// Leaves are costly (a 2 KiB XOF, ~14 µs here), so the hash is kept lazily: change() only records
// which accounts changed and their balance when the lattice last saw them; the lattice catches up
// (old leaf out, new leaf in) when the hash is asked for (a handover, a vote, a checkpoint, the
// status). The cost is per account changed between two askings, not per payment: an account paid
// a thousand times in a window costs two leaves. Accounts at zero contribute nothing, so an
// emptied account equals one that never existed.
import { createHash } from "node:crypto";
import { assert } from "./assert.ts";
import { bytesKey, toHex } from "./bytes.ts";
import { BALANCE_MAX, KEY_BYTES } from "./limits.ts";

/** Lanes of the lattice: 1024 × 16 bits (LtHash16's parameters, as Facebook and Solana use). */
export const LATTICE_LANES = 1024;
export const LATTICE_BYTES = LATTICE_LANES * 2;
const encoder = new TextEncoder();
export const LEAF_DOMAIN = encoder.encode("scryp/account-leaf/v2");
export const DIGEST_DOMAIN = encoder.encode("scryp/state-hash/v2");

// The lanes are read and written through Uint16Array views, which use the platform's byte order;
// the format is little-endian. Every platform Bun runs on is; say so once rather than be wrong.
assert(new Uint8Array(new Uint16Array([1]).buffer)[0] === 1, "the state hash needs a little-endian platform");

const leafInput = new Uint8Array(LEAF_DOMAIN.length + KEY_BYTES + 4);
leafInput.set(LEAF_DOMAIN, 0);
const leafView = new DataView(leafInput.buffer);
/** An aligned copy of a leaf, when the XOF's output is not 2-byte aligned. */
const leafScratch = new Uint16Array(LATTICE_LANES);

/** The 1024 lanes of one account's leaf (a view valid until the next call). */
function leafLanes(id: Uint8Array, balance: number): Uint16Array {
  assert(id.length === KEY_BYTES, "an account id is 32 bytes");
  assert(Number.isInteger(balance) && balance > 0 && balance <= BALANCE_MAX, "a leaf's balance is a u32 above 0");
  leafInput.set(id, LEAF_DOMAIN.length);
  leafView.setUint32(LEAF_DOMAIN.length + KEY_BYTES, balance, false);
  const out = createHash("shake256", { outputLength: LATTICE_BYTES }).update(leafInput).digest();
  assert(out.length === LATTICE_BYTES, "SHAKE256 gave the wrong length");
  if (out.byteOffset % 2 === 0) return new Uint16Array(out.buffer, out.byteOffset, LATTICE_LANES);
  new Uint8Array(leafScratch.buffer).set(out);
  return leafScratch;
}

/**
 * Accounts whose leaf at their latest folded balance is kept: the next fold that changes one of them
 * takes its old leaf from here instead of hashing it again, so an account active window after
 * window costs one leaf a fold, not two. 2 KiB each: 16,384 accounts are 32 MiB (a quarter of the
 * ledger's SQLite page cache). Least recently folded goes first, so a window touching more accounts
 * than this, in the same order each time, gets no hits: the fold then costs what it would without.
 */
export const LEAF_MEMO_ACCOUNTS_MAX = 16_384;

/**
 * leaf(id, balance) memoised for the accounts folded last, by id (latin1) and the one balance kept.
 * A pure function's memo: shared by every StateHash, right whatever state asks it.
 */
const leafMemo = new Map<string, { balance: number; lanes: Uint16Array }>();

/** The leaf of `key` (an id as latin1) at `balance`, from the memo or hashed; `keep` stores it. */
function leafOf(key: string, balance: number, keep: boolean): Uint16Array {
  const memo = leafMemo.get(key);
  if (memo !== undefined && memo.balance === balance) return memo.lanes;
  const lanes = leafLanes(Buffer.from(key, "latin1"), balance);
  if (keep) {
    // Insertion order is recency: the oldest entry goes first (its buffer reused).
    let buffer: Uint16Array;
    if (memo !== undefined) {
      leafMemo.delete(key);
      buffer = memo.lanes;
    } else if (leafMemo.size >= LEAF_MEMO_ACCOUNTS_MAX) {
      const [oldestKey, oldest] = leafMemo.entries().next().value!;
      leafMemo.delete(oldestKey);
      buffer = oldest.lanes;
    } else {
      buffer = new Uint16Array(LATTICE_LANES);
    }
    buffer.set(lanes);
    leafMemo.set(key, { balance, lanes: buffer });
    return buffer;
  }
  return lanes;
}

/** An account changed since the lattice last saw it (keyed by its id as a latin1 string). */
interface Pending {
  /** Its balance as the lattice holds it (0: not in the lattice). */
  readonly folded: number;
  /** Its balance now. */
  now: number;
}

export class StateHash {
  /** Σ leaves, lane by lane; Uint16Array stores wrap mod 2^16, which is the lane arithmetic. */
  private readonly lanes = new Uint16Array(LATTICE_LANES);
  private readonly pending = new Map<string, Pending>();
  /** The digest of the lattice, until the next change. */
  private digest: Uint8Array | null = null;

  /** Records that account `id` went from `before` to `after` (either may be 0: no account). */
  change(id: Uint8Array, before: number, after: number): void {
    if (before !== after) this.changeKey(bytesKey(id), before, after);
  }

  /**
   * The same, for a caller that holds the id as a latin1 string of its 32 bytes (bytesKey), as the
   * ledger does: no conversion, and nothing allocated for an account already pending.
   */
  changeKey(key: string, before: number, after: number): void {
    if (before === after) return;
    const entry = this.pending.get(key);
    if (entry === undefined) {
      this.pending.set(key, { folded: before, now: after });
    } else {
      // The caller's idea of the balance must be what it last told: a missed change would make the
      // hash silently depend on history rather than on the balances.
      assert(entry.now === before, "a state hash change does not start from the balance last recorded");
      entry.now = after;
    }
    this.digest = null;
  }

  /**
   * Adds an account straight into the lattice, with no bookkeeping: for building the hash of a set
   * of balances from scratch (one that does not hold `id` yet).
   */
  add(id: Uint8Array, balance: number): void {
    if (balance === 0) return;
    this.mix(leafLanes(id, balance), +1);
    this.digest = null;
  }

  /** Accounts changed since the lattice last caught up: what the next bytes() costs, in leaf pairs. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Brings the lattice up to date: each changed account's old leaf out, its new leaf in. */
  private fold(): void {
    for (const [key, entry] of this.pending) {
      if (entry.folded === entry.now) continue; // changed and changed back: nothing to do
      if (entry.folded !== 0) this.mix(leafOf(key, entry.folded, false), -1);
      if (entry.now !== 0) this.mix(leafOf(key, entry.now, true), +1);
      else leafMemo.delete(key);
    }
    this.pending.clear();
  }

  private mix(leaf: Uint16Array, sign: 1 | -1): void {
    const lanes = this.lanes;
    if (sign === 1) for (let i = 0; i < LATTICE_LANES; i++) lanes[i] = lanes[i]! + leaf[i]!;
    else for (let i = 0; i < LATTICE_LANES; i++) lanes[i] = lanes[i]! - leaf[i]!;
  }

  /** The 2048 bytes of the lattice, lanes little-endian (a copy). */
  lattice(): Uint8Array {
    this.fold();
    return new Uint8Array(this.lanes.buffer.slice(0));
  }

  /** The 32-byte state hash (a copy). */
  bytes(): Uint8Array {
    if (this.digest === null) {
      this.fold();
      const hasher = new Bun.CryptoHasher("sha256");
      hasher.update(DIGEST_DOMAIN);
      hasher.update(new Uint8Array(this.lanes.buffer));
      this.digest = new Uint8Array(hasher.digest());
    }
    return this.digest.slice();
  }

  hex(): string {
    return toHex(this.bytes());
  }

  /** An independent copy, its pending changes included (not yet folded: copying costs no leaves). */
  clone(): StateHash {
    const copy = new StateHash();
    copy.lanes.set(this.lanes);
    for (const [key, entry] of this.pending) copy.pending.set(key, { ...entry });
    copy.digest = this.digest;
    return copy;
  }
}

/** The hash of a whole set of balances, computed from scratch (opening a ledger, checks, tests). */
export function stateHashOf(balances: Iterable<readonly [Uint8Array, number]>): StateHash {
  const h = new StateHash();
  for (const [id, balance] of balances) h.add(id, balance);
  return h;
}
