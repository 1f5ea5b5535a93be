// The ledger's tables (Drizzle schema). SQL migrations in db/migrations are generated from this
// file with `bun run db:generate` and embedded in the binary (db/migrations.ts).
import { sqliteTable, blob, integer, text, index } from "drizzle-orm/sqlite-core";

/** One row per account that ever held scryp. balance is a u32 (checked on write and on load). */
export const accounts = sqliteTable("accounts", {
  id: blob("id", { mode: "buffer" }).primaryKey(), // 32-byte public key
  balance: integer("balance").notNull(),
});

/** Accepted payments, in acceptance order (seq). */
export const payments = sqliteTable(
  "payments",
  {
    seq: integer("seq").primaryKey(),
    id: blob("id", { mode: "buffer" }).notNull().unique(), // SHA-256 of the 140 bytes
    // The first 76 bytes: dedupe is on these, never on the signature alone.
    signedPart: blob("signed_part", { mode: "buffer" }).notNull().unique(),
    bytes: blob("bytes", { mode: "buffer" }).notNull(),
    payer: blob("payer", { mode: "buffer" }).notNull(),
    payee: blob("payee", { mode: "buffer" }).notNull(),
    amount: integer("amount").notNull(),
    timestampMs: integer("timestamp_ms").notNull(),
    window: integer("window").notNull(),
    acceptedAtMs: integer("accepted_at_ms").notNull(),
  },
  (t) => [index("payments_payer_seq").on(t.payer, t.seq), index("payments_payee_seq").on(t.payee, t.seq), index("payments_window_seq").on(t.window, t.seq)],
);

/** Single values: the state hash, the genesis hash the data directory was created with. */
export const meta = sqliteTable("meta", {
  key: text("key").primaryKey(),
  value: blob("value", { mode: "buffer" }).notNull(),
});

/**
 * Agreed checkpoints: windows whose state hash a strict majority of servers voted for, with the
 * signed votes (the certificate) that prove it. The last few are kept; the state at any of them is
 * reached by undoing the payments of later windows.
 */
export const checkpoints = sqliteTable("checkpoints", {
  window: integer("window").primaryKey(),
  hash: blob("hash", { mode: "buffer" }).notNull(),
  certificate: blob("certificate", { mode: "buffer" }).notNull(),
  agreedAtMs: integer("agreed_at_ms").notNull(),
});
