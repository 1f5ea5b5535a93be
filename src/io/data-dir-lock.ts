// One node per data directory. The ledger keeps balances in memory and assumes it is the only
// writer of its SQLite file; two nodes on one directory could each spend the same money.
// The lock is a file holding the owner's pid, created with O_EXCL; a lock left by a process that
// no longer runs (kill -9, power cut) is taken over.
import { closeSync, openSync, rmSync, writeSync, constants } from "node:fs";
import { join } from "node:path";
import { LOCK_FILE_SIZE_BYTES_MAX } from "../core/limits.ts";
import { FileReadError, readRegularFile } from "./regular-file.ts";

export class DataDirLockedError extends Error {
  override name = "DataDirLockedError";
}

const LOCK_FILE_NAME = "lock";

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The pid in an existing lock file; null when it holds no pid (empty, garbage, too large). */
function lockOwner(dir: string, path: string): number | null {
  let bytes: Buffer;
  try {
    bytes = readRegularFile(path, LOCK_FILE_SIZE_BYTES_MAX);
  } catch (e) {
    if (!(e instanceof FileReadError)) throw e;
    if (e.sizeBytes !== undefined) return null;
    // Gone since our create attempt: the owner just stopped.
    if (e.errnoCode === "ENOENT") return null;
    // A directory or a FIFO is not something a node leaves behind: removing it is the operator's call.
    throw new DataDirLockedError(`cannot lock data directory ${dir}: ${path} ${e.reason}; remove it (scryp keeps a lock file there)`);
  }
  const owner = Number(bytes.toString("utf8").trim());
  return Number.isInteger(owner) && owner > 0 ? owner : null;
}

/** Takes the directory's lock or throws DataDirLockedError. Returns the release function. */
export function lockDataDir(dir: string): () => void {
  const path = join(dir, LOCK_FILE_NAME);
  // Two attempts: the second after removing a stale lock.
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new DataDirLockedError(`cannot lock data directory ${dir}: ${(e as Error).message}`);
      const owner = lockOwner(dir, path);
      if (owner !== null && owner !== process.pid && processRuns(owner)) {
        throw new DataDirLockedError(`data directory ${dir} is in use by another scryp node (pid ${owner}); use another --data directory`);
      }
      rmSync(path, { force: true });
      continue;
    }
    try {
      writeSync(fd, String(process.pid));
    } catch (e) {
      // A full disk fails here, after the create: leave no lock behind.
      rmSync(path, { force: true });
      throw new DataDirLockedError(`cannot lock data directory ${dir}: ${(e as Error).message}`);
    } finally {
      closeSync(fd);
    }
    return () => rmSync(path, { force: true });
  }
  throw new DataDirLockedError(`cannot lock data directory ${dir}`);
}
