// The state hash: an additive multiset hash of the non-zero balances, kept incrementally.
import { describe, expect, test } from "bun:test";
import { StateHash, stateHashOf } from "../../src/core/state-hash.ts";
import { beToBigInt, bigIntToBe, concat, hex, nodeSha256, prng, randomBytes, randomInt } from "./fixtures.ts";

const MOD = 2n ** 256n;
const DOMAIN = new TextEncoder().encode("scryp/account/v1");

/** The leaf, computed independently with node:crypto. */
function refLeaf(id: Uint8Array, balance: number): bigint {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, balance, false);
  return beToBigInt(nodeSha256(concat(DOMAIN, id, b)));
}

/** Reference: Σ leaf(id, balance) over non-zero balances, mod 2^256, as 32 big-endian bytes. */
function refHash(balances: Iterable<[Uint8Array, number]>): string {
  let sum = 0n;
  for (const [id, balance] of balances) if (balance !== 0) sum = (sum + refLeaf(id, balance)) % MOD;
  return hex(bigIntToBe(sum));
}

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

const ZERO = "00".repeat(32);

describe("definition", () => {
  test("an empty ledger hashes to 32 zero bytes", () => {
    expect(new StateHash().hex()).toBe(ZERO);
    expect(stateHashOf([]).hex()).toBe(ZERO);
    expect(new StateHash().bytes().length).toBe(32);
  });

  test("one account: the hash is its leaf, SHA-256(\"scryp/account/v1\" | id | balance BE u32)", () => {
    const a = id(1);
    const h = stateHashOf([[a, 0x01020304]]);
    const expected = nodeSha256(concat(DOMAIN, a, new Uint8Array([1, 2, 3, 4])));
    expect(h.hex()).toBe(hex(expected));
  });

  test("many accounts: the hash is the sum of the leaves mod 2^256 (reference model)", () => {
    const rand = prng(11);
    const balances: [Uint8Array, number][] = Array.from({ length: 300 }, () => [randomBytes(rand, 32), randomInt(rand, 0x1_0000_0000)]);
    expect(stateHashOf(balances).hex()).toBe(refHash(balances));
  });

  test("balance 2^32 − 1 and balance 1 are distinct leaves", () => {
    const a = id(2);
    expect(stateHashOf([[a, 0xffff_ffff]]).hex()).toBe(refHash([[a, 0xffff_ffff]]));
    expect(stateHashOf([[a, 0xffff_ffff]]).hex()).not.toBe(stateHashOf([[a, 1]]).hex());
  });

  test("the same balance on different accounts gives different hashes", () => {
    expect(stateHashOf([[id(1), 5]]).hex()).not.toBe(stateHashOf([[id(2), 5]]).hex());
  });

  test("hex() is the lowercase hex of bytes()", () => {
    const h = stateHashOf([[id(3), 77]]);
    expect(h.hex()).toBe(hex(h.bytes()));
    expect(h.hex()).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("order independence", () => {
  test("the same balances inserted in 5 different orders give the same hash", () => {
    const rand = prng(21);
    const balances: [Uint8Array, number][] = Array.from({ length: 200 }, (_, i) => [id(i), 1 + randomInt(rand, 1_000_000)]);
    const expected = stateHashOf(balances).hex();
    expect(expected).toBe(refHash(balances));
    for (let k = 0; k < 5; k++) expect(stateHashOf(shuffled(balances, rand)).hex()).toBe(expected);
  });

  test("reverse order via change() gives the same hash", () => {
    const balances: [Uint8Array, number][] = [
      [id(1), 10],
      [id(2), 20],
      [id(3), 30],
    ];
    const h = new StateHash();
    for (const [a, b] of balances.slice().reverse()) h.change(a, 0, b);
    expect(h.hex()).toBe(stateHashOf(balances).hex());
  });
});

describe("incremental updates", () => {
  test("a run of seeded random payments: incremental hash = from-scratch hash after every step", () => {
    const rand = prng(31);
    const n = 40;
    const balances = new Map<number, number>();
    for (let i = 0; i < n; i++) balances.set(i, i % 3 === 0 ? 0 : randomInt(rand, 10_000));
    const h = stateHashOf([...balances].map(([k, v]) => [id(k), v]));
    for (let step = 0; step < 500; step++) {
      const from = randomInt(rand, n);
      const to = randomInt(rand, n);
      if (from === to) continue;
      const fb = balances.get(from)!;
      if (fb === 0) continue;
      const amount = 1 + randomInt(rand, fb); // sometimes the whole balance: the account empties
      const tb = balances.get(to)!;
      h.change(id(from), fb, fb - amount);
      h.change(id(to), tb, tb + amount);
      balances.set(from, fb - amount);
      balances.set(to, tb + amount);
      if (step % 25 === 0) {
        const entries: [Uint8Array, number][] = [...balances].map(([k, v]) => [id(k), v]);
        expect(h.hex()).toBe(stateHashOf(entries).hex());
        expect(h.hex()).toBe(refHash(entries));
      }
    }
    const entries: [Uint8Array, number][] = [...balances].map(([k, v]) => [id(k), v]);
    expect(h.hex()).toBe(refHash(entries));
  });

  test("change(x → y) then change(y → x) restores the hash", () => {
    const base = stateHashOf([
      [id(1), 100],
      [id(2), 5],
    ]);
    const before = base.hex();
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
    expect(h.hex()).toBe(before);
  });

  test("zero balances contribute nothing: an emptied account equals one never created", () => {
    const withRow = new StateHash();
    withRow.change(id(1), 0, 50);
    withRow.change(id(2), 0, 7);
    withRow.change(id(2), 7, 0); // emptied
    const without = stateHashOf([[id(1), 50]]);
    expect(withRow.hex()).toBe(without.hex());
    expect(stateHashOf([
      [id(1), 50],
      [id(2), 0],
      [id(3), 0],
    ]).hex()).toBe(without.hex());
  });

  test("moving the whole balance from one account to another", () => {
    const h = stateHashOf([[id(1), 500]]);
    h.change(id(1), 500, 0);
    h.change(id(2), 0, 500);
    expect(h.hex()).toBe(stateHashOf([[id(2), 500]]).hex());
  });

  test("the id passed to change() may be a view into a larger buffer", () => {
    const big = concat(new Uint8Array(44), id(5), new Uint8Array(64));
    const h = new StateHash();
    h.change(big.subarray(44, 76), 0, 123);
    expect(h.hex()).toBe(stateHashOf([[id(5), 123]]).hex());
  });
});

describe("wraparound mod 2^256", () => {
  test("subtracting a leaf from zero gives 2^256 − leaf; adding it back gives zero", () => {
    const a = id(7);
    const h = new StateHash();
    h.change(a, 42, 0); // remove a leaf that was never added
    expect(h.hex()).toBe(hex(bigIntToBe((MOD - refLeaf(a, 42)) % MOD)));
    h.change(a, 0, 42);
    expect(h.hex()).toBe(ZERO);
  });

  test("carries across all eight limbs: a sum near 2^256 wraps exactly", () => {
    // Start from 2^256 − 1 (all ones) and add a leaf: expect leaf − 1.
    const h = StateHash.fromBytes(new Uint8Array(32).fill(0xff));
    h.change(id(8), 0, 9);
    expect(h.hex()).toBe(hex(bigIntToBe((MOD - 1n + refLeaf(id(8), 9)) % MOD)));
    // Borrow across all limbs: from 0 + 1 (just 1), subtract a leaf.
    const g = StateHash.fromBytes(bigIntToBe(1n));
    g.change(id(8), 9, 0);
    expect(g.hex()).toBe(hex(bigIntToBe((1n - refLeaf(id(8), 9) + MOD) % MOD)));
  });

  test("seeded random adds and removes from arbitrary starting sums match BigInt arithmetic", () => {
    const rand = prng(41);
    for (let i = 0; i < 100; i++) {
      const start = randomBytes(rand, 32);
      if (i % 4 === 0) start.fill(0xff, 0, 28); // push carries through the high limbs
      if (i % 4 === 1) start.fill(0x00, 0, 28); // and borrows
      const h = StateHash.fromBytes(start);
      let ref = beToBigInt(start);
      for (let k = 0; k < 5; k++) {
        const a = randomBytes(rand, 32);
        const before = randomInt(rand, 3) === 0 ? 0 : randomInt(rand, 0x1_0000_0000);
        const after = randomInt(rand, 3) === 0 ? 0 : randomInt(rand, 0x1_0000_0000);
        h.change(a, before, after);
        if (before !== after) {
          if (before !== 0) ref = (ref - refLeaf(a, before) + MOD) % MOD;
          if (after !== 0) ref = (ref + refLeaf(a, after)) % MOD;
        }
      }
      expect(h.hex()).toBe(hex(bigIntToBe(ref)));
    }
  });
});

describe("bytes / fromBytes / clone", () => {
  test("fromBytes(bytes()) round trips, including all-ones and all-zeros", () => {
    const rand = prng(51);
    const samples = [new Uint8Array(32), new Uint8Array(32).fill(0xff), bigIntToBe(1n), bigIntToBe(MOD - 1n)];
    for (let i = 0; i < 50; i++) samples.push(randomBytes(rand, 32));
    for (const s of samples) expect(hex(StateHash.fromBytes(s).bytes())).toBe(hex(s));
  });

  test("fromBytes reads a view into a larger buffer correctly", () => {
    const value = randomBytes(prng(52), 32);
    const big = concat(new Uint8Array(3).fill(9), value, new Uint8Array(5).fill(9));
    expect(StateHash.fromBytes(big.subarray(3, 35)).hex()).toBe(hex(value));
  });

  test("fromBytes then change equals computing from scratch", () => {
    const h = stateHashOf([[id(1), 10]]);
    const restored = StateHash.fromBytes(h.bytes());
    restored.change(id(2), 0, 20);
    expect(restored.hex()).toBe(
      stateHashOf([
        [id(1), 10],
        [id(2), 20],
      ]).hex(),
    );
  });

  test("fromBytes rejects anything but 32 bytes", () => {
    for (const n of [0, 31, 33, 64]) expect(() => StateHash.fromBytes(new Uint8Array(n))).toThrow(RangeError);
  });

  test("bytes() returns a copy: mutating it does not change the hash", () => {
    const h = stateHashOf([[id(1), 10]]);
    const before = h.hex();
    h.bytes().fill(0);
    expect(h.hex()).toBe(before);
  });

  test("clone is independent of the original", () => {
    const h = stateHashOf([[id(1), 10]]);
    const c = h.clone();
    expect(c.hex()).toBe(h.hex());
    c.change(id(2), 0, 1);
    expect(c.hex()).not.toBe(h.hex());
    expect(h.hex()).toBe(stateHashOf([[id(1), 10]]).hex());
  });

  test("two StateHash instances do not share state", () => {
    const a = new StateHash();
    const b = new StateHash();
    a.change(id(1), 0, 10);
    expect(b.hex()).toBe(ZERO);
  });
});
