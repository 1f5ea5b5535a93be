// The embedded migration list must follow drizzle-kit's journal, migrate() must be idempotent, and a
// data directory from before the lattice state hash opens with its hash computed from its accounts.
import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { MIGRATIONS, STATEMENT_BREAKPOINT } from "../../db/migrations.ts";
import { migrate } from "../../src/ledger/migrate.ts";
import { ROOT } from "../support/helpers.ts";
import { Ledger } from "../../src/ledger/ledger.ts";
import { stateHashOf } from "../../src/core/state-hash.ts";
import { toHex } from "../../src/core/bytes.ts";
import type { KeyPair } from "../../src/core/keys.ts";
import { T0, genesisOf, keyPairs, tempDir } from "./fixtures.ts";

interface Journal {
  dialect: string;
  entries: { idx: number; tag: string; breakpoints: boolean }[];
}
const journal = JSON.parse(readFileSync(join(ROOT, "db/migrations/meta/_journal.json"), "utf8")) as Journal;

test("MIGRATIONS names match the journal's tags, in order", () => {
  expect(journal.dialect).toBe("sqlite");
  expect(journal.entries.length).toBeGreaterThan(0);
  const tags = [...journal.entries].sort((a, b) => a.idx - b.idx).map((e) => e.tag);
  expect(journal.entries.map((e) => e.tag)).toEqual(tags); // the journal itself is in idx order
  expect(MIGRATIONS.map((m) => m.name)).toEqual(tags);
});

test("each embedded migration is the text of its .sql file", () => {
  for (const m of MIGRATIONS) {
    expect(m.sql).toBe(readFileSync(join(ROOT, "db/migrations", `${m.name}.sql`), "utf8"));
    expect(m.sql.split(STATEMENT_BREAKPOINT).filter((x) => x.trim() !== "").length).toBeGreaterThan(0);
  }
});

/** Names the migrations create (minus those they drop), read from their SQL. */
function created(kind: "TABLE" | "INDEX"): string[] {
  const names = new Set<string>();
  const create = kind === "TABLE" ? /CREATE TABLE `([^`]+)`/g : /CREATE (?:UNIQUE )?INDEX `([^`]+)`/g;
  const drop = new RegExp(`DROP ${kind} (?:IF EXISTS )?\`([^\`]+)\``, "g");
  for (const m of MIGRATIONS) {
    for (const [, name] of m.sql.matchAll(create)) names.add(name!);
    for (const [, name] of m.sql.matchAll(drop)) names.delete(name!);
  }
  return [...names].sort();
}

test("migrate() creates the tables once and is idempotent", () => {
  const db = new Database(":memory:");
  migrate(db, 1);
  migrate(db, 2);
  const tables = db
    .query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .all()
    .map((r) => r.name);
  expect(tables).toEqual([...created("TABLE"), "scryp_migrations"].sort());
  expect(tables).toEqual(expect.arrayContaining(["accounts", "meta", "payments", "scryp_migrations"]));
  const applied = db.query<{ name: string; applied_at_ms: number }, []>("SELECT name, applied_at_ms FROM scryp_migrations").all();
  expect(applied).toEqual(MIGRATIONS.map((m) => ({ name: m.name, applied_at_ms: 1 })));
  const indexes = db
    .query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all()
    .map((r) => r.name);
  expect(indexes).toEqual(created("INDEX"));
  expect(indexes).toEqual(expect.arrayContaining(["payments_id_key", "payments_payee_key_seq", "payments_payer_key_seq", "payments_signed_part_unique", "payments_window_seq"]));
  db.close();
});

// A data directory written by the code before the lattice state hash (946c865, by
// test/ledger/data/README.md's recipe): genesis alice 1,000 and bob 500; window 5 (alice → bob 10,
// bob → carol 20) agreed with the additive hash; window 6 (carol → alice 5, alice → carol 995:
// alice empties) applied beyond it; a stored own vote for window 5.
describe("a data directory from before the lattice hash (migration 0004)", () => {
  const [alice, bob, carol] = keyPairs(3) as [KeyPair, KeyPair, KeyPair];
  const genesis = genesisOf([[alice, 1_000], [bob, 500]]);
  const OLD_HASH_5 = "aacc1e1f8eca6aa4c6933323d22f2e1bb1b1dab3f8bce8b68af429062a852b66";
  const OLD_STATE_HASH = "c7d94ef45183b704942e6a372f640b20d983d4d716847462e7aa1e6076c54504";
  function copyOld(): { path: string; cleanup(): void } {
    const dir = tempDir("scryp-old-ledger-");
    const path = join(dir.path, "ledger.sqlite");
    copyFileSync(join(ROOT, "test/ledger/data/ledger-additive-hash.sqlite"), path);
    return { path, cleanup: dir.cleanup };
  }
  const metaOf = (path: string) => {
    const db = new Database(path);
    try {
      return Object.fromEntries(db.query<{ key: string; value: Uint8Array }, []>("SELECT key, value FROM meta").all().map((r) => [r.key, toHex(r.value)]));
    } finally {
      db.close();
    }
  };

  test("the fixture is what the old code left: migrations 0000..0002, the additive hash stored", () => {
    const old = copyOld();
    const db = new Database(old.path);
    expect(db.query<{ name: string }, []>("SELECT name FROM scryp_migrations ORDER BY name").all().map((r) => r.name)).toEqual(["0000_init", "0001_remove_zero_accounts", "0002_own_votes"]);
    db.close();
    expect(metaOf(old.path).state_hash).toBe(OLD_STATE_HASH);
    old.cleanup();
  });

  test("opens: same balances and payments; the hash is computed from the accounts; the old checkpoint stays the base", () => {
    const old = copyOld();
    const ledger = Ledger.open(old.path, { genesis, nowMs: T0 });
    try {
      expect(ledger.balance(alice.publicKey)).toBeUndefined();
      expect(ledger.balance(bob.publicKey)).toBe(490);
      expect(ledger.balance(carol.publicKey)).toBe(1_010);
      expect(ledger.totals()).toMatchObject({ accounts: 2, payments: 4, supply: 1_500 });
      const expected = stateHashOf([[bob.publicKey, 490], [carol.publicKey, 1_010]]).hex();
      expect(ledger.stateHashHex()).toBe(expected);
      expect(ledger.stateHashHex()).not.toBe(OLD_STATE_HASH);
      // Agreed under the old hash, and kept: the next handover's base, as every upgraded server has it.
      const agreed = ledger.agreed();
      expect(agreed.window).toBe(5);
      expect(toHex(agreed.hash)).toBe(OLD_HASH_5);
      expect(ledger.ownVotes().map((v) => v.window)).toEqual([5]);
    } finally {
      ledger.close();
    }
    const meta = metaOf(old.path);
    expect(meta.state_hash).toBeUndefined(); // not stored any more
    expect(meta.genesis_state_hash).toBe(stateHashOf([[alice.publicKey, 1_000], [bob.publicKey, 500]]).hex());
    expect(meta.additive_hash_upto_window).toBe("0000000000000005");
    old.cleanup();
  });

  test("a rollback to the old checkpoint works; the first checkpoint under the new hash is then checked at open", () => {
    const old = copyOld();
    let ledger = Ledger.open(old.path, { genesis, nowMs: T0 });
    expect(ledger.rollbackAfter(5)).toBe(2);
    const at5 = stateHashOf([[alice.publicKey, 990], [bob.publicKey, 490], [carol.publicKey, 20]]).hex();
    expect(ledger.stateHashHex()).toBe(at5);
    ledger.recordAgreed(6, ledger.stateHashBytes(), new Uint8Array(0), T0 + 1); // window 6: nothing came
    ledger.close();
    ledger = Ledger.open(old.path, { genesis, nowMs: T0 + 2 });
    expect(ledger.agreed().window).toBe(6);
    expect(ledger.stateHashHex()).toBe(at5);
    ledger.close();
    // Window 6 was agreed under the lattice hash: the accounts are checked against it now.
    const db = new Database(old.path);
    db.run("UPDATE accounts SET balance = balance + 1 WHERE balance = 490");
    db.run("UPDATE accounts SET balance = balance - 1 WHERE balance = 20");
    db.close();
    expect(() => Ledger.open(old.path, { genesis, nowMs: T0 + 3 })).toThrow(/not the agreed one/);
    old.cleanup();
  });

  test("before the upgrade's first checkpoint, a tampered file is still caught by the supply, not by a hash", () => {
    // What the old checkpoints cannot check: documented in docs/PROTOCOL.md §6.
    const old = copyOld();
    const db = new Database(old.path);
    db.run("UPDATE accounts SET balance = balance + 1 WHERE balance = 490");
    db.close();
    expect(() => Ledger.open(old.path, { genesis, nowMs: T0 })).toThrow(/sum to 1501/);
    old.cleanup();
  });

  test("another genesis is still refused with the plain message, before any hash is computed", () => {
    const old = copyOld();
    expect(() => Ledger.open(old.path, { genesis: genesisOf([[alice, 1_500]]), nowMs: T0 })).toThrow(/different genesis/);
    old.cleanup();
  });
});
