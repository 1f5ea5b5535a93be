// The network id: 32 bytes that name one network, so a message or request signed for one network
// is refused by another that shares a server key (a test network made from a production server's
// key, a network started again with a new genesis). SHA-256 over a fixed byte layout of what
// defines the network, with every default applied (a file that omits `capacity` and one that
// states the default name the same network). All integers big-endian, unsigned:
//   "scryp-network-id/1" (18, ASCII)
//   | server count (u32) | per server, in the file's order: key (32) | address length (u32) | address (UTF-8)
//   | interval ms (u32) | blackout ms (u32) | skew ms (u32) | capacity payments (u32)
//   | genesis account count (u32) | per account, ascending by key: key (32) | balance (u32)
// docs/PROTOCOL.md §5 has it with a test vector (docs/test-vectors/network-id.json). Pure.
import { assert } from "./assert.ts";
import { concatBytes, fromHex, sha256 } from "./bytes.ts";

export const NETWORK_ID_DOMAIN = "scryp-network-id/1";
export const NETWORK_ID_BYTES = 32;

/** What defines a network: the network file with its defaults applied. */
export interface NetworkDefinition {
  readonly servers: readonly { readonly keyHex: string; readonly address: string }[];
  readonly intervalMs: number;
  readonly blackoutMs: number;
  readonly skewMs: number;
  readonly capacity: number;
  readonly genesis: ReadonlyMap<string, number>;
}

const U32_MAX = 0xffff_ffff;

/** The bytes the network id hashes. */
export function networkIdPreimage(d: NetworkDefinition): Uint8Array {
  const text = new TextEncoder();
  const parts: Uint8Array[] = [text.encode(NETWORK_ID_DOMAIN)];
  const u32 = (n: number): void => {
    assert(Number.isSafeInteger(n) && n >= 0 && n <= U32_MAX, `network id: ${n} is not a u32`);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n, false);
    parts.push(b);
  };
  const key = (hex: string): void => {
    const bytes = fromHex(hex, 32);
    assert(bytes !== null, `network id: ${hex} is not a key`);
    parts.push(bytes);
  };
  u32(d.servers.length);
  for (const s of d.servers) {
    key(s.keyHex);
    const address = text.encode(s.address);
    u32(address.length);
    parts.push(address);
  }
  u32(d.intervalMs);
  u32(d.blackoutMs);
  u32(d.skewMs);
  u32(d.capacity);
  // Sorted so the id does not depend on the order of the genesis object's fields. The keys are
  // lowercase hex of equal length, so string order is the order of their bytes.
  const genesis = [...d.genesis.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  u32(genesis.length);
  for (const [account, balance] of genesis) {
    key(account);
    u32(balance);
  }
  return concatBytes(...parts);
}

export function networkId(d: NetworkDefinition): Uint8Array {
  const id = sha256(networkIdPreimage(d));
  assert(id.length === NETWORK_ID_BYTES, "a network id is 32 bytes");
  return id;
}
