// Opening the node's ledger file, with SQLite's failures told in plain words. A file that is not a
// database, a full disk or a read-only directory is the operator's to fix, not a bug: each becomes a
// NodeStartError naming the file, what is wrong and what to do, with SQLite's code kept for search.
import { Ledger, isSqliteError, type LedgerOptions } from "../ledger/ledger.ts";
import { NodeStartError } from "./run-node.ts";

/** SQLite's primary result codes (the low byte of an extended code), from sqlite3.h. */
const SQLITE_PERM = 3;
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
const SQLITE_READONLY = 8;
const SQLITE_IOERR = 10;
const SQLITE_CORRUPT = 11;
const SQLITE_FULL = 13;
const SQLITE_CANTOPEN = 14;
const SQLITE_NOTADB = 26;

/** What is wrong with the ledger file at `path`, and what to do, for SQLite's result code. */
export function ledgerProblem(path: string, errno: number, code: string): string {
  switch (errno & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return `ledger file ${path} is not a scryp ledger (not an SQLite database, or damaged) (${code}); check that --data names the right directory, or restore the file from a backup`;
    case SQLITE_FULL:
      return `the disk holding ${path} is full (${code}); free some space and start again`;
    case SQLITE_IOERR:
      return `disk I/O error on ledger file ${path} (${code}); the disk may be full or failing: check it and start again`;
    case SQLITE_CANTOPEN:
      return `cannot open ledger file ${path} (${code}); it must be a file in a writable directory (is it a directory?)`;
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return `ledger file ${path} is read-only (${code}); the node must be able to write it and its directory`;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return `ledger file ${path} is locked by another program (${code}); stop it and start again`;
    default:
      return `cannot open ledger file ${path}: ${code}`;
  }
}

/** Ledger.open, with every SQLite failure a NodeStartError. Other errors (genesis mismatch, a broken invariant) pass as they are. */
export function openLedger(path: string, options: LedgerOptions): Ledger {
  try {
    return Ledger.open(path, options);
  } catch (e) {
    if (isSqliteError(e)) throw new NodeStartError(ledgerProblem(path, e.errno, e.code));
    throw e;
  }
}
