// The seed at rest in a browser: encrypted under the user's passphrase with WebCrypto, so what
// IndexedDB holds (src/wallet/browser/vault-store.ts) is useless without it.
//   key = PBKDF2-HMAC-SHA-256(passphrase, salt 16 random bytes, PBKDF2_ITERATIONS) → AES-256-GCM
//   sealed = AES-GCM(key, iv 12 random bytes, seed 32 bytes, additional data = the account id)
// The account id is bound in as additional data, so a record whose id was changed does not open.
// A wrong passphrase fails the GCM tag check: that is the only way to tell, and it is certain.
// Works wherever WebCrypto does: browsers in a secure context (https, localhost) and Bun (tests).
import { keyPairFromSeed, type KeyPair } from "../core/keys.ts";
import { SEED_BYTES } from "../core/limits.ts";
import { fromHex, toHex } from "./hex.ts";

/**
 * OWASP's 2023 figure for PBKDF2-HMAC-SHA256: about half a second in a phone's browser, and it
 * makes each guess of a stolen record cost as much.
 */
export const PBKDF2_ITERATIONS = 600_000;
const SALT_BYTES = 16;
const IV_BYTES = 12;
/** The record's format; a record of another format is refused, not misread. */
export const VAULT_FORMAT = 1;

export interface SealedSeed {
  readonly format: typeof VAULT_FORMAT;
  /** The account the seed is of (public): shown before unlocking. */
  readonly account: string;
  readonly kdf: { readonly name: "PBKDF2"; readonly hash: "SHA-256"; readonly iterations: number; readonly salt: string };
  readonly iv: string;
  /** AES-GCM output: the encrypted seed and its 16-byte tag, hex. */
  readonly sealed: string;
}

export class WrongPassphraseError extends Error {
  override name = "WrongPassphraseError";
}

/** A copy on its own ArrayBuffer: what WebCrypto's types ask for (a view of a SharedArrayBuffer is refused). */
function own(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

async function keyFrom(passphrase: string, salt: Uint8Array, iterations: number): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(passphrase), "PBKDF2", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt: own(salt), iterations },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

export async function sealSeed(seed: Uint8Array, passphrase: string, iterations = PBKDF2_ITERATIONS): Promise<SealedSeed> {
  if (seed.length !== SEED_BYTES) throw new RangeError(`a seed is ${SEED_BYTES} bytes`);
  const account = toHex(keyPairFromSeed(seed).publicKey);
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const key = await keyFrom(passphrase, salt, iterations);
  const additionalData = fromHex(account, 32)!;
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv: own(iv), additionalData: own(additionalData) }, key, own(seed)));
  return { format: VAULT_FORMAT, account, kdf: { name: "PBKDF2", hash: "SHA-256", iterations, salt: toHex(salt) }, iv: toHex(iv), sealed: toHex(sealed) };
}

/** Whether a stored value is a record this code can open (IndexedDB hands back anything). */
export function isSealedSeed(value: unknown): value is SealedSeed {
  const r = value as Partial<SealedSeed> | null;
  return (
    typeof r === "object" && r !== null && r.format === VAULT_FORMAT && typeof r.account === "string" && /^[0-9a-f]{64}$/.test(r.account) &&
    typeof r.kdf === "object" && r.kdf !== null && r.kdf.name === "PBKDF2" && r.kdf.hash === "SHA-256" && Number.isSafeInteger(r.kdf.iterations) && r.kdf.iterations >= 1 &&
    typeof r.kdf.salt === "string" && /^[0-9a-f]{32}$/.test(r.kdf.salt) && typeof r.iv === "string" && /^[0-9a-f]{24}$/.test(r.iv) &&
    typeof r.sealed === "string" && /^[0-9a-f]{96}$/.test(r.sealed)
  );
}

/** The key pair sealed in `record`; WrongPassphraseError when the passphrase does not open it. */
export async function openSeed(record: SealedSeed, passphrase: string): Promise<KeyPair> {
  const key = await keyFrom(passphrase, fromHex(record.kdf.salt, SALT_BYTES)!, record.kdf.iterations);
  let seed: Uint8Array;
  try {
    const additionalData = fromHex(record.account, 32)!;
    seed = new Uint8Array(
      await crypto.subtle.decrypt({ name: "AES-GCM", iv: own(fromHex(record.iv, IV_BYTES)!), additionalData: own(additionalData) }, key, own(fromHex(record.sealed, SEED_BYTES + 16)!)),
    );
  } catch {
    throw new WrongPassphraseError("wrong passphrase: the wallet did not open");
  }
  const keyPair = keyPairFromSeed(seed);
  // The tag covered the id, so this holds unless the record was made wrongly: a bug, not a typo.
  if (toHex(keyPair.publicKey) !== record.account) throw new Error("the sealed seed is not of the account its record names");
  return keyPair;
}
