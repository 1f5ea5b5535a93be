// The seed file: 32 random bytes, created on first use with mode 0600 and never overwritten.
import { closeSync, openSync, readFileSync, writeSync, constants } from "node:fs";
import { randomSeed, keyPairFromSeed, type KeyPair } from "../core/keys.ts";
import { SEED_BYTES } from "../core/limits.ts";

export class SeedFileError extends Error {
  override name = "SeedFileError";
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
