// Where the sealed seed (seed-vault.ts) lives in the browser: one record in IndexedDB, under the
// page's origin. Only the sealed form is ever written; the plain seed stays in memory while the
// wallet is unlocked.
import { isSealedSeed, type SealedSeed } from "../seed-vault.ts";

const DATABASE = "scryp-wallet";
const DATABASE_VERSION = 1;
const STORE = "vault";
const RECORD_KEY = "seed";

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, DATABASE_VERSION);
    request.onupgradeneeded = () => {
      if (!request.result.objectStoreNames.contains(STORE)) request.result.createObjectStore(STORE);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error("IndexedDB did not open"));
  });
}

async function run<T>(mode: IDBTransactionMode, act: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = act(tx.objectStore(STORE));
      // Resolved once the transaction is durable, not merely once the request succeeded.
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error ?? new Error("IndexedDB transaction failed"));
      tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
    });
  } finally {
    db.close();
  }
}

/** The stored record, null when there is none; one this code cannot read is an error, never overwritten silently. */
export async function loadSealed(): Promise<SealedSeed | null> {
  const value = await run("readonly", (s) => s.get(RECORD_KEY));
  if (value === undefined) return null;
  if (!isSealedSeed(value)) throw new Error("this browser holds a wallet record this page cannot read");
  return value;
}

/** Stores the record only when none is there: an existing wallet is never replaced by accident. */
export async function storeSealed(record: SealedSeed): Promise<void> {
  await run("readwrite", (s) => s.add(record, RECORD_KEY));
}

export async function forgetSealed(): Promise<void> {
  await run("readwrite", (s) => s.delete(RECORD_KEY));
}
