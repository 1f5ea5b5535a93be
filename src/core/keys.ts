// Ed25519 keys (RFC 8032) from a 32-byte seed, with @noble/ed25519. An account id and a server id
// are both the 32-byte public key; in text, 64 lowercase hex digits.
import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import { SEED_BYTES } from "./limits.ts";

// noble ships async-only by default; giving it a synchronous SHA-512 enables the sync API.
ed.hashes.sha512 = sha512;

export interface KeyPair {
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
}

export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (seed.length !== SEED_BYTES) throw new RangeError(`a seed is ${SEED_BYTES} bytes`);
  return { seed, publicKey: ed.getPublicKey(seed) };
}

export function randomSeed(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(SEED_BYTES));
}

export function sign(message: Uint8Array, seed: Uint8Array): Uint8Array {
  return ed.sign(message, seed);
}
