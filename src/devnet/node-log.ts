// A node's log file in the devnet's directory: its stdout and stderr, line by line, appended across
// runs so a resumed devnet keeps the history. The terminal shows one line a window instead; the
// file is where to look when something goes wrong. Writes are synchronous and whole lines, so the
// file holds every line a node wrote before it exited, in order, even when the devnet then stops.
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname } from "node:path";

/** Where a child's lines go (a file here; memory in tests). */
export interface LineSink {
  /** Writes whole lines (without their newlines). */
  write(lines: readonly string[]): void;
  close(): void;
}

/** A problem the user can fix (the directory is read-only, the disk is full). */
export class NodeLogError extends Error {
  override name = "NodeLogError";
}

/**
 * Opens (creating, appending) the log file at `path`. A write that fails later (a full disk) is
 * reported once through `onWriteError` and the lines go to `fallback` from then on: losing a node's
 * log silently would hide exactly the lines that say why.
 */
export function openNodeLog(path: string, fallback: LineSink, onWriteError: (message: string) => void): LineSink {
  let fd: number;
  try {
    mkdirSync(dirname(path), { recursive: true });
    fd = openSync(path, "a");
  } catch (e) {
    throw new NodeLogError(`cannot open the node log ${path}: ${(e as Error).message}`);
  }
  let failed = false;
  return {
    write(lines) {
      if (lines.length === 0) return;
      if (!failed) {
        try {
          writeSync(fd, lines.map((l) => l + "\n").join(""));
          return;
        } catch (e) {
          failed = true;
          onWriteError(`cannot write ${path} (${(e as Error).message}): its lines follow here`);
        }
      }
      fallback.write(lines);
    },
    close() {
      closeSync(fd);
    },
  };
}
