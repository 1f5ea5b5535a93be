// One node per data directory. The ledger keeps balances in memory and assumes it is the only
// writer of its SQLite file; two nodes on one directory could each spend the same money.
// The lock is a file holding the owner's pid, created with O_EXCL; a lock left by a process that
// no longer runs (kill -9, power cut) is taken over.
import { closeSync, openSync, readFileSync, rmSync, writeSync, constants } from "node:fs";
import { join } from "node:path";

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

/** Takes the directory's lock or throws DataDirLockedError. Returns the release function. */
export function lockDataDir(dir: string): () => void {
  const path = join(dir, LOCK_FILE_NAME);
  // Two attempts: the second after removing a stale lock.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const owner = Number(readFileSync(path, "utf8").trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processRuns(owner)) {
        throw new DataDirLockedError(`data directory ${dir} is in use by another scryp node (pid ${owner}); use another --data directory`);
      }
      rmSync(path, { force: true });
    }
  }
  throw new DataDirLockedError(`cannot lock data directory ${dir}`);
}
