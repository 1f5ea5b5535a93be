// An account exists only while its balance is above 0, on every server alike: every write that
// takes a balance to 0 (a payment, the undo of a payment) removes the account from memory and from
// the file, its payments stay, and a ledger from before the rule loses its zero rows once at open.
import { afterEach, describe, expect, test } from "bun:test";
import { Ledger, LedgerInvariantError } from "../../src/ledger/ledger.ts";
import { decodePayment, type Payment } from "../../src/core/payment.ts";
import { StateHash, stateHashOf } from "../../src/core/state-hash.ts";
import { sha256 } from "../../src/core/bytes.ts";
import type { KeyPair } from "../../src/core/keys.ts";
import { T0, diskSnapshot, genesisOf, hex, keyPairs, openTempLedger, sideConnection, tamper, unsignedPayment, tempLedgers, type TempLedger } from "./fixtures.ts";

const [alice, bob, carol] = keyPairs(3) as [KeyPair, KeyPair, KeyPair];
const ZERO_MIGRATION = "0001_remove_zero_accounts";

const fresh = tempLedgers();

/** The ledger does not verify signatures, so any 32 bytes do as a payer here. */
const pay = (payer: Uint8Array, payee: Uint8Array, amount: number, ts: number): Payment =>
  decodePayment(unsignedPayment(payer, payee, amount, ts))!;
/** A fresh account id nobody holds: SHA-256 of a label. */
const freshId = (label: string): Uint8Array => sha256(new TextEncoder().encode(`scryp/test/fresh/${label}`));

function accountRows(path: string): number {
  const db = sideConnection(path);
  try {
    return db.query<{ n: number }, []>("SELECT count(*) AS n FROM accounts").get()!.n;
  } finally {
    db.close();
  }
}

function everyLedgerCheck(t: TempLedger): void {
  const disk = diskSnapshot(t.path);
  expect(disk.accounts.every(([, b]) => b > 0)).toBe(true);
  expect(disk.accounts.length).toBe(t.ledger.totals().accounts);
  expect(disk.stateHash).toBe(t.ledger.stateHashHex());
}

describe("the state hash has no leaf for a zero balance", () => {
  test("change(id, before, 0) removes the leaf; change(id, 0, x) adds one", () => {
    const a = alice.publicKey;
    const b = bob.publicKey;
    const h = stateHashOf([[a, 5], [b, 3]]);
    h.change(b, 3, 0);
    expect(h.hex()).toBe(stateHashOf([[a, 5]]).hex());
    h.change(b, 0, 3);
    expect(h.hex()).toBe(stateHashOf([[a, 5], [b, 3]]).hex());
    expect(new StateHash().hex()).toBe(stateHashOf([[a, 0]]).hex());
  });
});

describe("an account at 0 is removed", () => {
  test("paying 1 to 4,000 fresh keys and back leaves the account count and the accounts table as before", () => {
    const t = fresh(genesisOf([[alice, 1_000_000], [bob, 10]]));
    const accountsBefore = t.ledger.totals().accounts;
    const rowsBefore = accountRows(t.path);
    const hashBefore = t.ledger.stateHashHex();
    const KEYS = 4_000;
    const GROUP = 256; // a commit group's size, as the node batches
    const ids = Array.from({ length: KEYS }, (_, i) => freshId(`dust-${i}`));
    let ts = T0;
    const out = ids.map((id) => pay(alice.publicKey, id, 1, ts++));
    const back = ids.map((id) => pay(id, alice.publicKey, 1, ts++));
    for (let i = 0; i < KEYS; i += GROUP) {
      expect(t.ledger.applyGroup(out.slice(i, i + GROUP), 1, T0).every((d) => d.kind === "apply")).toBe(true);
    }
    expect(t.ledger.totals().accounts).toBe(accountsBefore + KEYS);
    expect(accountRows(t.path)).toBe(rowsBefore + KEYS);
    for (let i = 0; i < KEYS; i += GROUP) {
      expect(t.ledger.applyGroup(back.slice(i, i + GROUP), 2, T0).every((d) => d.kind === "apply")).toBe(true);
    }

    expect(t.ledger.totals()).toMatchObject({ accounts: accountsBefore, payments: 2 * KEYS, supply: 1_000_010, stateHash: hashBefore });
    expect(accountRows(t.path)).toBe(rowsBefore);
    expect(t.ledger.balance(ids[0]!)).toBeUndefined();
    expect(t.ledger.balance(ids[KEYS - 1]!)).toBeUndefined();
    // The history stays: both payments of an emptied account are still listed.
    expect(t.ledger.transactions(ids[7]!, 10)).toHaveLength(2);
    // Paying from an emptied account is the same as paying from one that never existed.
    expect(t.ledger.applyGroup([pay(ids[7]!, bob.publicKey, 1, ts++)], 3, T0)).toEqual([{ kind: "reject", code: "UNKNOWN_PAYER" }]);
    everyLedgerCheck(t);

    const reopened = t.reopen();
    expect(reopened.totals()).toMatchObject({ accounts: accountsBefore, stateHash: hashBefore });
  });

  test("a rollback that takes a payee back to 0 removes it; one that refunds an emptied payer brings it back", () => {
    const t = fresh(genesisOf([[alice, 100], [bob, 50]]));
    const dave = freshId("dave");
    const before = { totals: t.ledger.totals(), disk: diskSnapshot(t.path) };
    // Window 5: dave appears (a fresh payee), bob is emptied.
    t.ledger.applyGroup([pay(alice.publicKey, dave, 30, T0), pay(bob.publicKey, alice.publicKey, 50, T0 + 1)], 5, T0);
    expect(t.ledger.balance(dave)).toBe(30);
    expect(t.ledger.balance(bob.publicKey)).toBeUndefined();
    expect(t.ledger.totals().accounts).toBe(2);

    expect(t.ledger.rollbackAfter(4)).toBe(2);
    expect(t.ledger.balance(dave)).toBeUndefined(); // undone back to 0: removed
    expect(t.ledger.balance(bob.publicKey)).toBe(50); // refunded: back
    expect(t.ledger.totals()).toEqual(before.totals);
    expect(diskSnapshot(t.path)).toEqual(before.disk);
    // Still its history, as far as the file has it: the undone payments are gone with their window.
    expect(t.ledger.transactions(dave, 10)).toEqual([]);
    everyLedgerCheck(t);
    expect(() => t.reopen()).not.toThrow();
    expect(t.ledger.balance(dave)).toBeUndefined();
  });

  test("two ledgers on the same windows hold the same accounts, even when one rolled back a divergent window", () => {
    const genesis = genesisOf([[alice, 1_000], [bob, 200], [carol, 7]]);
    const a = fresh(genesis);
    const b = fresh(genesis);
    const ghost = freshId("ghost"); // a payee only of the window that is rolled back
    const erin = freshId("erin");
    const agreed1 = [pay(alice.publicKey, erin, 100, T0), pay(carol.publicKey, bob.publicKey, 7, T0 + 1)]; // carol emptied
    const agreed2 = [pay(erin, bob.publicKey, 100, T0 + 2), pay(bob.publicKey, carol.publicKey, 3, T0 + 3)]; // erin emptied, carol back
    const divergent2 = [pay(alice.publicKey, ghost, 40, T0 + 4), pay(bob.publicKey, ghost, 207, T0 + 5)]; // bob emptied, ghost appears

    for (const t of [a, b]) t.ledger.applyGroup(agreed1, 1, T0);
    a.ledger.applyGroup(agreed2, 2, T0);
    // b took another window 2 (say, from an alpha that lost the vote), goes back, takes the agreed one.
    b.ledger.applyGroup(divergent2, 2, T0);
    expect(b.ledger.balance(bob.publicKey)).toBeUndefined();
    b.ledger.rollbackAfter(1);
    b.ledger.applyGroup(agreed2, 2, T0);
    // And once more: undo and re-apply the same window.
    b.ledger.rollbackAfter(1);
    b.ledger.applyGroup(agreed2, 2, T0);

    expect(diskSnapshot(b.path)).toEqual(diskSnapshot(a.path));
    expect(b.ledger.totals()).toEqual(a.ledger.totals());
    for (const id of [alice.publicKey, bob.publicKey, carol.publicKey, erin, ghost]) expect(b.ledger.balance(id)).toBe(a.ledger.balance(id));
    expect(a.ledger.balance(ghost)).toBeUndefined();
    expect(a.ledger.balance(erin)).toBeUndefined();
    expect(a.ledger.totals().accounts).toBe(3);
    everyLedgerCheck(a);
    everyLedgerCheck(b);
  });

  test("an amount-0 payment reaching the ledger creates no account at 0 for its payee", () => {
    const t = fresh(genesisOf([[alice, 100]]));
    const nobody = freshId("nobody");
    // The ledger leaves rule 1 (amount ≥ 1) to the stateless check; it must still not store a 0.
    t.ledger.applyGroup([pay(alice.publicKey, nobody, 0, T0)], 1, T0);
    expect(t.ledger.balance(nobody)).toBeUndefined();
    everyLedgerCheck(t);
  });
});

describe("reopen", () => {
  const genesis = () => genesisOf([[alice, 1_000], [bob, 500]]);

  test("an account at 0 in the file is refused", () => {
    const t = fresh(genesis());
    tamper(t, "INSERT INTO accounts (id, balance) VALUES ($id, 0)", { id: carol.publicKey });
    expect(() => Ledger.open(t.path, { genesis: genesis(), nowMs: T0 })).toThrow(LedgerInvariantError);
    expect(() => Ledger.open(t.path, { genesis: genesis(), nowMs: T0 })).toThrow(/balance 0/);
  });

  test("a ledger from before the rule loses its zero rows once, with the same balances and state hash", () => {
    const t = fresh(genesis());
    t.ledger.applyGroup([pay(alice.publicKey, carol.publicKey, 10, T0)], 1, T0);
    const hashBefore = t.ledger.stateHashHex();
    // What an older server left: zero rows for emptied accounts, and migration 0001 not yet run.
    tamper(t, "INSERT INTO accounts (id, balance) VALUES ($id, 0)", { id: freshId("old-1") });
    tamper(t, "INSERT INTO accounts (id, balance) VALUES ($id, 0)", { id: freshId("old-2") });
    tamper(t, "DELETE FROM scryp_migrations WHERE name = $name", { name: ZERO_MIGRATION });
    expect(accountRows(t.path)).toBe(5);

    const reopened = Ledger.open(t.path, { genesis: genesis(), nowMs: T0 + 1 });
    t.ledger = reopened;
    expect(reopened.totals()).toMatchObject({ accounts: 3, supply: 1_500, stateHash: hashBefore });
    expect(reopened.balance(freshId("old-1"))).toBeUndefined();
    expect(accountRows(t.path)).toBe(3);
    expect(diskSnapshot(t.path).accounts).toEqual(
      ([[hex(alice.publicKey), 990], [hex(bob.publicKey), 500], [hex(carol.publicKey), 10]] as const).slice().sort(([x], [y]) => (x < y ? -1 : 1)),
    );
    const db = sideConnection(t.path);
    const applied = db.query<{ applied_at_ms: number }, [string]>("SELECT applied_at_ms FROM scryp_migrations WHERE name = ?").get(ZERO_MIGRATION);
    db.close();
    expect(applied?.applied_at_ms).toBe(T0 + 1); // ran now, once
    everyLedgerCheck(t);
  });

  test("a failed attempt() re-reads the file and keeps emptied accounts out", () => {
    const t = fresh(genesis());
    t.ledger.applyGroup([pay(bob.publicKey, alice.publicKey, 500, T0)], 1, T0);
    expect(t.ledger.attempt(() => (t.ledger.applyGroup([pay(alice.publicKey, bob.publicKey, 5, T0 + 1)], 2, T0), false))).toBe(false);
    expect(t.ledger.balance(bob.publicKey)).toBeUndefined();
    expect(t.ledger.totals().accounts).toBe(1);
    everyLedgerCheck(t);
  });
});
