// The seed file: 32 random bytes, created on first use with mode 0600 and never overwritten.
import { closeSync, fsyncSync, openSync, readFileSync, writeSync, constants } from "node:fs";
import { randomSeed, keyPairFromSeed, type KeyPair } from "../core/keys.ts";
import { SEED_BYTES } from "../core/limits.ts";

export class SeedFileError extends Error {
  override name = "SeedFileError";
}

/** Reads an existing seed (for commands that only look, like balance: a typo must not create one). */
export function loadSeed(path: string): KeyPair {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
    throw new SeedFileError(missing ? `no seed file ${path} (create one with: scryp keygen --seed ${path})` : `cannot read seed file ${path}: ${(e as Error).message}`);
  }
  if (bytes.length !== SEED_BYTES) {
    throw new SeedFileError(`seed file ${path} holds ${bytes.length} bytes; a seed is exactly ${SEED_BYTES} bytes`);
  }
  return keyPairFromSeed(new Uint8Array(bytes));
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
    } finally {
      closeSync(fd);
    }
    created = true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EEXIST") throw new SeedFileError(`cannot create seed file ${path}: ${(e as Error).message}`);
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new SeedFileError(`cannot read seed file ${path}: ${(e as Error).message}`);
  }
  if (bytes.length !== SEED_BYTES) {
    throw new SeedFileError(`seed file ${path} holds ${bytes.length} bytes; a seed is exactly ${SEED_BYTES} bytes`);
  }
  return { keyPair: keyPairFromSeed(new Uint8Array(bytes)), created };
}
