// Applies the embedded migrations that a database has not seen, each in its own transaction.
import type { Database } from "bun:sqlite";
import { MIGRATIONS, STATEMENT_BREAKPOINT } from "../../db/migrations.ts";

export function migrate(client: Database, nowMs: number): void {
  client.run("CREATE TABLE IF NOT EXISTS scryp_migrations (name TEXT PRIMARY KEY NOT NULL, applied_at_ms INTEGER NOT NULL)");
  const applied = new Set(client.query<{ name: string }, []>("SELECT name FROM scryp_migrations").all().map((r) => r.name));
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.name)) continue;
    client.transaction(() => {
      for (const statement of migration.sql.split(STATEMENT_BREAKPOINT)) {
        if (statement.trim() !== "") client.run(statement);
      }
      client.run("INSERT INTO scryp_migrations (name, applied_at_ms) VALUES (?, ?)", [migration.name, nowMs]);
    })();
  }
}
