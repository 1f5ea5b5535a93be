// Shared test helpers: temporary directories, free ports, the compiled binary, keys, payments.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { keyPairFromSeed, type KeyPair } from "../../src/core/keys.ts";
import { buildPayment } from "../../src/core/payment.ts";

export const ROOT = resolve(import.meta.dir, "../..");
export const BINARY = join(ROOT, "dist", "scryp");

export function tempDir(prefix = "scryp-test-"): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export { freePort } from "../../src/io/free-port.ts";

/** A deterministic key pair: seed = 32 bytes of `n`. */
export function testKeyPair(n: number): KeyPair {
  return keyPairFromSeed(new Uint8Array(32).fill(n));
}

export function signedPayment(payer: KeyPair, payee: Uint8Array, amount: number, timestampMs: number): Uint8Array {
  return buildPayment({ timestampMs, amount, payee, payer: payer.publicKey, payerSeed: payer.seed });
}

/** Polls `check` every 25 ms until it returns true or `timeoutMs` passes. Bounded. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await Bun.sleep(25);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
