// The seed file: 32 random bytes, created on first use with mode 0600 and never overwritten.
import { closeSync, fsyncSync, openSync, rmSync, writeSync, constants } from "node:fs";
import { randomSeed, keyPairFromSeed, type KeyPair } from "../core/keys.ts";
import { SEED_BYTES } from "../core/limits.ts";
import { FileReadError, readRegularFile } from "./regular-file.ts";

export class SeedFileError extends Error {
  override name = "SeedFileError";
}

/** Reads an existing seed (for commands that only look, like balance: a typo must not create one). */
export function loadSeed(path: string): KeyPair {
  return keyPairFromSeed(readSeedBytes(path, `no seed file ${path} (create one with: scryp keygen --seed ${path})`));
}

/** The seed's 32 bytes, from a regular file only: a FIFO or /dev/zero is refused, not read. */
function readSeedBytes(path: string, missingMessage: string): Uint8Array {
  let bytes: Buffer;
  try {
    bytes = readRegularFile(path, SEED_BYTES);
  } catch (e) {
    if (!(e instanceof FileReadError)) throw e;
    if (e.errnoCode === "ENOENT") throw new SeedFileError(missingMessage);
    if (e.sizeBytes !== undefined) throw new SeedFileError(`seed file ${path} holds ${e.sizeBytes} bytes; a seed is exactly ${SEED_BYTES} bytes`);
    throw new SeedFileError(`cannot read seed file ${path}: it ${e.reason}`);
  }
  if (bytes.length !== SEED_BYTES) {
    throw new SeedFileError(`seed file ${path} holds ${bytes.length} bytes; a seed is exactly ${SEED_BYTES} bytes`);
  }
  return new Uint8Array(bytes);
}

/** Reads the seed at `path`, creating it first if it does not exist. */
export function loadOrCreateSeed(path: string): { keyPair: KeyPair; created: boolean } {
  let created = false;
  try {
    // O_EXCL: if another process created it meanwhile we fail here and read theirs instead;
    // an existing seed is never overwritten.
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      writeSync(fd, randomSeed());
      // On disk before anyone is told the key: a crash must not leave an empty seed behind.
      fsyncSync(fd);
    } catch (e) {
      // A full disk fails the write, not the create: remove the empty file, or every later start
      // would refuse a seed of 0 bytes instead of creating one.
      closeSync(fd);
      rmSync(path, { force: true });
      throw e;
    }
    closeSync(fd);
    created = true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EEXIST") throw new SeedFileError(`cannot create seed file ${path}: ${(e as Error).message}`);
  }
  // Missing here means removed between the create attempt and the read.
  return { keyPair: keyPairFromSeed(readSeedBytes(path, `cannot read seed file ${path}: it was removed while being read`)), created };
}
