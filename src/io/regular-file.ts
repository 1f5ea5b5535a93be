// Reading a small file the operator names (network file, seed, lock) without trusting what it is.
// readFileSync would block forever on a FIFO and read /dev/zero until memory runs out. Here the file
// is opened with O_NONBLOCK (a FIFO opens at once, with or without a writer), checked with fstat on
// that same descriptor (no window between the check and the read for the path to be swapped), and
// read up to a limit. O_NONBLOCK has no effect on regular files.
import { closeSync, fstatSync, openSync, readSync, constants, type Stats } from "node:fs";

/** Why a file could not be read, in words that finish "<path> ...": e.g. "is a directory, not a file". */
export class FileReadError extends Error {
  constructor(
    readonly reason: string,
    /** The file's size by fstat, when it was refused as too large. */
    readonly sizeBytes?: number,
    /** The system's code when open failed (ENOENT: the file does not exist). */
    readonly errnoCode?: string,
  ) {
    super(reason);
    this.name = "FileReadError";
  }
}

/** What a file that is not a regular file is, as the end of "<path> ...". */
function notAFile(stats: Stats): string {
  if (stats.isDirectory()) return "is a directory, not a file";
  if (stats.isFIFO()) return "is a named pipe (FIFO), not a file";
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return "is a device, not a file";
  if (stats.isSocket()) return "is a socket, not a file";
  return "is not a regular file";
}

/**
 * Reads the regular file at `path`, at most `sizeBytesMax` bytes, or throws FileReadError.
 * A file that grows past the limit between fstat and read is refused too.
 */
export function readRegularFile(path: string, sizeBytesMax: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new FileReadError("does not exist", undefined, code);
    if (code === "EACCES" || code === "EPERM") throw new FileReadError("is not readable (permission denied)", undefined, code);
    throw new FileReadError(`cannot be opened: ${(e as Error).message}`, undefined, code);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new FileReadError(notAFile(stats));
    if (stats.size > sizeBytesMax) throw new FileReadError(`is ${stats.size} bytes, larger than ${sizeBytesMax}`, stats.size);
    // One byte more than allowed: reading it means the file grew past the limit.
    const buffer = Buffer.alloc(sizeBytesMax + 1);
    let length = 0;
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    if (length > sizeBytesMax) throw new FileReadError(`grew past ${sizeBytesMax} bytes while being read`, length);
    return buffer.subarray(0, length);
  } catch (e) {
    if (e instanceof FileReadError) throw e;
    throw new FileReadError(`cannot be read: ${(e as Error).message}`);
  } finally {
    closeSync(fd);
  }
}
