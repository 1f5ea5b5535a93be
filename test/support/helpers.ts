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

/** A port free on 127.0.0.1 for both TCP and UDP right now. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const port = server.port!;
    server.stop(true);
    try {
      const udp = await Bun.udpSocket({ hostname: "127.0.0.1", port });
      udp.close();
      return port;
    } catch {
      // taken for UDP; try another
    }
  }
  throw new Error("no free port found");
}

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
