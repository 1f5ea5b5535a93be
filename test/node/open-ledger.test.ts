// Opening the ledger: SQLite's failures become a NodeStartError in plain words naming the file.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ledgerProblem, openLedger } from "../../src/node/open-ledger.ts";
import { NodeStartError } from "../../src/node/run-node.ts";
import { GenesisMismatchError } from "../../src/ledger/ledger.ts";
import { tempDir } from "../support/helpers.ts";

const dir = tempDir("scryp-open-ledger-");
afterAll(() => dir.cleanup());
const GENESIS = new Map([["a".repeat(64), 1000]]);

function startErrorOf(path: string): NodeStartError {
  try {
    openLedger(path, { genesis: GENESIS, nowMs: 0 }).close();
  } catch (e) {
    expect(e).toBeInstanceOf(NodeStartError);
    return e as NodeStartError;
  }
  throw new Error("openLedger opened a ledger it should have refused");
}

describe("openLedger", () => {
  test("a file that is not SQLite → NodeStartError naming the file, SQLITE_NOTADB", () => {
    const path = join(dir.path, "text.sqlite");
    writeFileSync(path, "not a database at all, just words\n".repeat(10));
    const e = startErrorOf(path);
    expect(e.message).toStartWith(`ledger file ${path} is not a scryp ledger`);
    expect(e.message).toContain("SQLITE_NOTADB");
  });

  test("a directory → NodeStartError, SQLITE_CANTOPEN", () => {
    const path = join(dir.path, "a-directory");
    mkdirSync(path);
    expect(startErrorOf(path).message).toContain("SQLITE_CANTOPEN");
  });

  test("a good ledger opens; a genesis mismatch is not rewrapped", () => {
    const path = join(dir.path, "good.sqlite");
    openLedger(path, { genesis: GENESIS, nowMs: 0 }).close();
    const reopened = openLedger(path, { genesis: GENESIS, nowMs: 1 });
    expect(reopened.totals().accounts).toBe(1);
    reopened.close();
    expect(() => openLedger(path, { genesis: new Map([["b".repeat(64), 5]]), nowMs: 2 })).toThrow(GenesisMismatchError);
  });
});

describe("ledgerProblem: SQLite's result codes in plain words", () => {
  const path = "/var/lib/scryp/ledger.sqlite";
  const cases: [number, string, string][] = [
    [13, "SQLITE_FULL", "is full"],
    [10 | (18 << 8), "SQLITE_IOERR_SHMSIZE", "the disk may be full or failing"],
    [11, "SQLITE_CORRUPT", "is not a scryp ledger"],
    [26, "SQLITE_NOTADB", "is not a scryp ledger"],
    [14, "SQLITE_CANTOPEN", "cannot open ledger file"],
    [8 | (3 << 8), "SQLITE_READONLY_ROLLBACK", "is read-only"],
    [5, "SQLITE_BUSY", "locked by another program"],
    [1, "SQLITE_ERROR", "cannot open ledger file"],
  ];
  for (const [errno, code, words] of cases) {
    test(`${code} (${errno})`, () => {
      const message = ledgerProblem(path, errno, code);
      expect(message).toContain(path);
      expect(message).toContain(`${code}`);
      expect(message).toContain(words);
      expect(message).not.toContain("\n");
    });
  }
});
