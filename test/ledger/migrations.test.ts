// The embedded migration list must follow drizzle-kit's journal, and migrate() must be idempotent.
import { expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MIGRATIONS, STATEMENT_BREAKPOINT } from "../../db/migrations.ts";
import { migrate } from "../../src/ledger/migrate.ts";
import { ROOT } from "../support/helpers.ts";

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
