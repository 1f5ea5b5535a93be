// The state hash: a lattice hash (LtHash16) of the non-zero balances, kept lazily. Checked against
// an independent reference (node:crypto SHAKE256, lanes read through a DataView, plain numbers)
// and against the known-answer vector a second implementation checks itself with.
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LATTICE_BYTES, LEAF_MEMO_ACCOUNTS_MAX, StateHash, stateHashOf } from "../../src/core/state-hash.ts";
import { concat, hex, nodeSha256, prng, randomBytes, randomInt, unhex } from "./fixtures.ts";

const LEAF_DOMAIN = new TextEncoder().encode("scryp/account-leaf/v2");
const DIGEST_DOMAIN = new TextEncoder().encode("scryp/state-hash/v2");

function refLeaf(id: Uint8Array, balance: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, balance, false);
  return new Uint8Array(createHash("shake256", { outputLength: 2048 }).update(concat(LEAF_DOMAIN, id, b)).digest());
}

/** Reference: the lattice as 2048 bytes, Σ leaves lane by lane mod 2^16 over non-zero balances. */
function refLattice(balances: Iterable<readonly [Uint8Array, number]>): Uint8Array {
  const lanes = new Array<number>(1024).fill(0);
  for (const [id, balance] of balances) {
    if (balance === 0) continue;
    const leaf = new DataView(refLeaf(id, balance).buffer);
    for (let i = 0; i < 1024; i++) lanes[i] = (lanes[i]! + leaf.getUint16(2 * i, true)) % 65536;
  }
  const out = new Uint8Array(2048);
  const view = new DataView(out.buffer);
  lanes.forEach((v, i) => view.setUint16(2 * i, v, true));
  return out;
}

const refDigest = (lattice: Uint8Array) => hex(nodeSha256(concat(DIGEST_DOMAIN, lattice)));
const refHash = (balances: Iterable<readonly [Uint8Array, number]>) => refDigest(refLattice(balances));

function id(n: number): Uint8Array {
  return new Uint8Array(32).fill(n & 0xff).map((b, i) => (i === 0 ? (n >> 8) & 0xff : b));
}

function shuffled<T>(items: T[], rand: () => number): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(rand, i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

interface Vector {
  leafDomain: string;
  digestDomain: string;
  empty: { stateHash: string };
  leaf: { id: string; balance: number; leafInputHex: string; leafHex: string };
  ledger: { accounts: { id: string; balance: number }[]; latticeHex: string; stateHash: string };
  afterPayment: { accounts: { id: string; balance: number }[]; stateHash: string };
}
const VECTOR = JSON.parse(readFileSync(join(import.meta.dir, "../../docs/test-vectors/state-hash.json"), "utf8")) as Vector;
const entries = (accounts: { id: string; balance: number }[]) => accounts.map((a) => [unhex(a.id), a.balance] as const);

describe("the test vector (docs/test-vectors/state-hash.json)", () => {
  test("domains, the leaf input and the leaf byte for byte", () => {
    expect(VECTOR.leafDomain).toBe("scryp/account-leaf/v2");
    expect(VECTOR.digestDomain).toBe("scryp/state-hash/v2");
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, VECTOR.leaf.balance, false);
    expect(hex(concat(LEAF_DOMAIN, unhex(VECTOR.leaf.id), b))).toBe(VECTOR.leaf.leafInputHex);
    expect(hex(refLeaf(unhex(VECTOR.leaf.id), VECTOR.leaf.balance))).toBe(VECTOR.leaf.leafHex);
    // One account: the lattice is its leaf.
    expect(hex(stateHashOf([[unhex(VECTOR.leaf.id), VECTOR.leaf.balance]]).lattice())).toBe(VECTOR.leaf.leafHex);
  });

  test("the empty ledger, a ledger (its lattice too), and the same ledger after a payment", () => {
    expect(new StateHash().hex()).toBe(VECTOR.empty.stateHash);
    const ledger = stateHashOf(entries(VECTOR.ledger.accounts));
    expect(hex(ledger.lattice())).toBe(VECTOR.ledger.latticeHex);
    expect(ledger.hex()).toBe(VECTOR.ledger.stateHash);
    expect(refHash(entries(VECTOR.ledger.accounts))).toBe(VECTOR.ledger.stateHash);
    expect(stateHashOf(entries(VECTOR.afterPayment.accounts)).hex()).toBe(VECTOR.afterPayment.stateHash);
    // The payment applied incrementally gives the same.
    const before = new Map(VECTOR.ledger.accounts.map((a) => [a.id, a.balance]));
    for (const a of VECTOR.afterPayment.accounts) ledger.change(unhex(a.id), before.get(a.id) ?? 0, a.balance);
    expect(ledger.hex()).toBe(VECTOR.afterPayment.stateHash);
  });
});

describe("definition", () => {
  test("an empty ledger: SHA-256 of the domain and 2048 zero bytes", () => {
    const expected = refDigest(new Uint8Array(LATTICE_BYTES));
    expect(new StateHash().hex()).toBe(expected);
    expect(stateHashOf([]).hex()).toBe(expected);
    expect(new StateHash().bytes().length).toBe(32);
    expect(new StateHash().lattice()).toEqual(new Uint8Array(LATTICE_BYTES));
  });

  test("many accounts: the lattice is the lane-wise sum of the leaves mod 2^16 (reference model)", () => {
    const rand = prng(11);
    const balances = Array.from({ length: 120 }, () => [randomBytes(rand, 32), randomInt(rand, 0x1_0000_0000)] as const);
    const h = stateHashOf(balances);
    expect(hex(h.lattice())).toBe(hex(refLattice(balances)));
    expect(h.hex()).toBe(refHash(balances));
  });

  test("the lattice of a union is the lane-wise sum of the parts' lattices", () => {
    const a = [[id(1), 10], [id(2), 20]] as const;
    const b = [[id(3), 30]] as const;
    const la = new DataView(stateHashOf(a).lattice().buffer);
    const lb = new DataView(stateHashOf(b).lattice().buffer);
    const sum = new Uint8Array(LATTICE_BYTES);
    const view = new DataView(sum.buffer);
    for (let i = 0; i < 1024; i++) view.setUint16(2 * i, (la.getUint16(2 * i, true) + lb.getUint16(2 * i, true)) & 0xffff, true);
    expect(hex(stateHashOf([...a, ...b]).lattice())).toBe(hex(sum));
  });

  test("balance 2^32 − 1 and balance 1 are distinct leaves; the balance is big-endian", () => {
    const a = id(2);
    expect(stateHashOf([[a, 0xffff_ffff]]).hex()).toBe(refHash([[a, 0xffff_ffff]]));
    expect(stateHashOf([[a, 0xffff_ffff]]).hex()).not.toBe(stateHashOf([[a, 1]]).hex());
    expect(stateHashOf([[a, 0x0100_0000]]).hex()).not.toBe(stateHashOf([[a, 1]]).hex());
  });

  test("the same balance on different accounts gives different hashes", () => {
    expect(stateHashOf([[id(1), 5]]).hex()).not.toBe(stateHashOf([[id(2), 5]]).hex());
  });

  test("two accounts swapping balances change the hash (the leaf binds id to balance)", () => {
    expect(stateHashOf([[id(1), 5], [id(2), 7]]).hex()).not.toBe(stateHashOf([[id(1), 7], [id(2), 5]]).hex());
  });

  test("hex() is the lowercase hex of bytes()", () => {
    const h = stateHashOf([[id(3), 77]]);
    expect(h.hex()).toBe(hex(h.bytes()));
    expect(h.hex()).toMatch(/^[0-9a-f]{64}$/);
  });

  test("a leaf of a balance that is not a u32 above 0, or of an id that is not 32 bytes, is a bug", () => {
    for (const bad of [-1, 1.5, 2 ** 32, Number.NaN]) expect(() => new StateHash().add(id(1), bad)).toThrow(/u32/);
    expect(() => new StateHash().add(new Uint8Array(31), 1)).toThrow(/32 bytes/);
    const h = new StateHash();
    h.change(id(1), 0, 2 ** 32);
    expect(() => h.bytes()).toThrow(/u32/);
  });
});

describe("order independence", () => {
  test("the same balances inserted in 5 different orders give the same hash", () => {
    const rand = prng(21);
    const balances = Array.from({ length: 100 }, (_, i) => [id(i), 1 + randomInt(rand, 1_000_000)] as const);
    const expected = stateHashOf(balances).hex();
    expect(expected).toBe(refHash(balances));
    for (let k = 0; k < 5; k++) expect(stateHashOf(shuffled(balances, rand)).hex()).toBe(expected);
  });

  test("built by change() in reverse order, and by add(), gives the same hash", () => {
    const balances = [[id(1), 10], [id(2), 20], [id(3), 30]] as const;
    const h = new StateHash();
    for (const [a, b] of balances.slice().reverse()) h.change(a, 0, b);
    expect(h.hex()).toBe(stateHashOf(balances).hex());
  });
});

describe("incremental updates (lazy folding)", () => {
  test("seeded random payments and undos, hash asked at random moments: always the hash from scratch", () => {
    for (const seed of [31, 32, 33]) {
      const rand = prng(seed);
      const n = 30;
      const balances = new Map<number, number>();
      for (let i = 0; i < n; i++) balances.set(i, i % 3 === 0 ? 0 : randomInt(rand, 10_000));
      const h = stateHashOf([...balances].map(([k, v]) => [id(k), v] as const));
      const history: [number, number, number][] = [];
      for (let step = 0; step < 400; step++) {
        const undo = history.length > 0 && randomInt(rand, 4) === 0;
        let from: number, to: number, amount: number;
        if (undo) {
          // A rollback: the latest payment, backwards.
          [to, from, amount] = history.pop()!;
        } else {
          from = randomInt(rand, n);
          to = randomInt(rand, n);
          const fb = balances.get(from)!;
          if (from === to || fb === 0) continue;
          amount = 1 + randomInt(rand, fb); // sometimes the whole balance: the account empties
          history.push([from, to, amount]);
        }
        const fb = balances.get(from)!;
        const tb = balances.get(to)!;
        h.change(id(from), fb, fb - amount);
        h.change(id(to), tb, tb + amount);
        balances.set(from, fb - amount);
        balances.set(to, tb + amount);
        if (randomInt(rand, 10) === 0) expect(h.hex()).toBe(stateHashOf([...balances].map(([k, v]) => [id(k), v] as const)).hex());
      }
      const all = [...balances].map(([k, v]) => [id(k), v] as const);
      expect(h.hex()).toBe(stateHashOf(all).hex());
      expect(h.hex()).toBe(refHash(all));
      expect(hex(h.lattice())).toBe(hex(refLattice(all)));
    }
  });

  test("changes are recorded, not hashed: an account changed many times is one pending account", () => {
    const h = stateHashOf([[id(1), 1000]]);
    h.bytes();
    for (let b = 999; b >= 500; b--) h.change(id(1), b + 1, b);
    h.change(id(2), 0, 500);
    expect(h.pendingCount).toBe(2);
    expect(h.hex()).toBe(refHash([[id(1), 500], [id(2), 500]]));
    expect(h.pendingCount).toBe(0);
  });

  test("more accounts than the leaf memo holds, changed across folds: still the hash from scratch", () => {
    const n = LEAF_MEMO_ACCOUNTS_MAX + 500;
    const accounts = Array.from({ length: n }, (_, i) => id(i));
    const balances = accounts.map((_, i) => 1 + (i % 97));
    const h = new StateHash();
    accounts.forEach((a, i) => h.change(a, 0, balances[i]!));
    h.bytes(); // every leaf folded: the memo holds the last LEAF_MEMO_ACCOUNTS_MAX, the first 500 are evicted
    for (const round of [1, 2]) {
      // The evicted ones and some kept ones change; one empties (its memo entry goes).
      for (const i of [0, 1, 499, 500, n - 1, n - 2]) {
        h.change(accounts[i]!, balances[i]!, balances[i]! + round);
        balances[i]! += round;
      }
      h.change(accounts[7]!, balances[7]!, 0);
      balances[7] = 0;
      expect(h.hex()).toBe(stateHashOf(accounts.map((a, i) => [a, balances[i]!] as const)).hex());
    }
  });

  test("change(x → y) then change(y → x) restores the hash, before and after a fold", () => {
    const base = stateHashOf([[id(1), 100], [id(2), 5]]);
    const before = base.hex();
    base.change(id(1), 100, 37);
    base.change(id(1), 37, 100);
    expect(base.hex()).toBe(before);
    base.change(id(1), 100, 37);
    expect(base.hex()).not.toBe(before);
    base.change(id(1), 37, 100);
    expect(base.hex()).toBe(before);
  });

  test("change(x → x) changes nothing", () => {
    const h = stateHashOf([[id(1), 100]]);
    const before = h.hex();
    h.change(id(1), 100, 100);
    h.change(id(9), 0, 0);
    expect(h.pendingCount).toBe(0);
    expect(h.hex()).toBe(before);
  });

  test("a change that does not start from the balance last recorded is a bug, not a silent wrong hash", () => {
    const h = new StateHash();
    h.change(id(1), 0, 50);
    expect(() => h.change(id(1), 40, 10)).toThrow(/balance last recorded/);
  });

  test("zero balances contribute nothing: an emptied account equals one never created", () => {
    const withRow = new StateHash();
    withRow.change(id(1), 0, 50);
    withRow.change(id(2), 0, 7);
    withRow.bytes();
    withRow.change(id(2), 7, 0); // emptied
    const without = stateHashOf([[id(1), 50]]);
    expect(withRow.hex()).toBe(without.hex());
    expect(stateHashOf([[id(1), 50], [id(2), 0], [id(3), 0]]).hex()).toBe(without.hex());
  });

  test("moving the whole balance from one account to another", () => {
    const h = stateHashOf([[id(1), 500]]);
    h.change(id(1), 500, 0);
    h.change(id(2), 0, 500);
    expect(h.hex()).toBe(stateHashOf([[id(2), 500]]).hex());
  });

  test("the id passed to change() may be a view into a larger buffer, reused afterwards", () => {
    const big = concat(new Uint8Array(44), id(5), new Uint8Array(64));
    const h = new StateHash();
    h.change(big.subarray(44, 76), 0, 123);
    big.fill(0xee); // the pending entry kept its own copy
    expect(h.hex()).toBe(stateHashOf([[id(5), 123]]).hex());
  });
});

describe("copies", () => {
  test("bytes() and lattice() return copies: mutating them does not change the hash", () => {
    const h = stateHashOf([[id(1), 10]]);
    const before = h.hex();
    h.bytes().fill(0);
    h.lattice().fill(0);
    expect(h.hex()).toBe(before);
  });

  test("clone is independent of the original, pending changes included", () => {
    const h = stateHashOf([[id(1), 10]]);
    h.change(id(1), 10, 4);
    const c = h.clone();
    expect(c.pendingCount).toBe(1);
    c.change(id(2), 0, 6);
    expect(c.hex()).toBe(refHash([[id(1), 4], [id(2), 6]]));
    expect(h.hex()).toBe(refHash([[id(1), 4]]));
  });

  test("two StateHash instances do not share state", () => {
    const a = new StateHash();
    const b = new StateHash();
    a.change(id(1), 0, 10);
    expect(b.hex()).toBe(refDigest(new Uint8Array(LATTICE_BYTES)));
  });
});
