// readRegularFile: only regular files, only up to a limit, and a FIFO never blocks.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FileReadError, readRegularFile } from "../../src/io/regular-file.ts";
import { tempDir } from "../support/helpers.ts";

const dir = tempDir("scryp-regular-file-");
afterAll(() => dir.cleanup());

function reasonOf(path: string, sizeBytesMax: number): FileReadError {
  try {
    readRegularFile(path, sizeBytesMax);
  } catch (e) {
    expect(e).toBeInstanceOf(FileReadError);
    return e as FileReadError;
  }
  throw new Error(`readRegularFile read ${path}`);
}

describe("readRegularFile", () => {
  test("reads a regular file up to and at the limit, and through a symlink", () => {
    const path = join(dir.path, "ten");
    writeFileSync(path, "0123456789");
    expect(readRegularFile(path, 10).toString()).toBe("0123456789");
    expect(readRegularFile(path, 100).toString()).toBe("0123456789");
    symlinkSync(path, join(dir.path, "link"));
    expect(readRegularFile(join(dir.path, "link"), 10).toString()).toBe("0123456789");
    writeFileSync(join(dir.path, "empty"), "");
    expect(readRegularFile(join(dir.path, "empty"), 10).length).toBe(0);
  });

  test("a file one byte over the limit is refused with its size", () => {
    const path = join(dir.path, "eleven");
    writeFileSync(path, "01234567890");
    const e = reasonOf(path, 10);
    expect(e.reason).toBe("is 11 bytes, larger than 10");
    expect(e.sizeBytes).toBe(11);
  });

  test("a huge sparse file is refused by its size, not read", () => {
    const path = join(dir.path, "huge");
    writeFileSync(path, "");
    truncateSync(path, 2 ** 40);
    expect(reasonOf(path, 1024).sizeBytes).toBe(2 ** 40);
  });

  test("a directory, a FIFO, /dev/zero and a missing file are refused in words", () => {
    const sub = join(dir.path, "sub");
    mkdirSync(sub);
    const fifo = join(dir.path, "fifo");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    expect(reasonOf(sub, 10).reason).toBe("is a directory, not a file");
    // No writer: a blocking open or read would hang here.
    expect(reasonOf(fifo, 10).reason).toBe("is a named pipe (FIFO), not a file");
    expect(reasonOf("/dev/zero", 10).reason).toBe("is a device, not a file");
    const missing = reasonOf(join(dir.path, "missing"), 10);
    expect([missing.reason, missing.errnoCode]).toEqual(["does not exist", "ENOENT"]);
  });
});
