// The network id (core/network-id.ts): the test vector of docs/test-vectors/network-id.json, and
// what changes it and what does not.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { parseNetwork } from "../../src/core/network.ts";
import { networkIdPreimage } from "../../src/core/network-id.ts";
import { toHex } from "../../src/core/bytes.ts";

const VECTOR = JSON.parse(readFileSync(join(import.meta.dir, "../../docs/test-vectors/network-id.json"), "utf8")) as { network: unknown; preimageHex: string; id: string };

describe("the network id", () => {
  test("the test vector: its preimage byte for byte, and its id", () => {
    const network = parseNetwork(VECTOR.network);
    expect(toHex(networkIdPreimage(network))).toBe(VECTOR.preimageHex);
    expect(network.idHex).toBe(VECTOR.id);
    expect(toHex(network.id)).toBe(VECTOR.id);
  });

  const base = VECTOR.network as { servers: { key: string; address: string }[]; genesis: Record<string, number> };
  const idOf = (file: unknown) => parseNetwork(file).idHex;

  test("defaults count as stated: a file that gives the defaults has the same id", () => {
    expect(idOf({ ...base, capacity: 200_000 })).toBe(VECTOR.id);
    const { servers, genesis } = base;
    expect(idOf({ servers, genesis })).toBe(VECTOR.id); // interval, blackout and skew are the defaults too
  });

  test("the genesis' order does not count; the servers' order does", () => {
    const reversed = Object.fromEntries(Object.entries(base.genesis).reverse());
    expect(idOf({ ...base, genesis: reversed })).toBe(VECTOR.id);
    expect(idOf({ ...base, servers: [...base.servers].reverse() })).not.toBe(VECTOR.id);
  });

  test("every field that defines the network changes it", () => {
    const [a, b] = Object.keys(base.genesis);
    const variants = [
      { ...base, servers: [base.servers[0]!, { ...base.servers[1]!, address: "[::1]:7072" }] },
      { ...base, servers: [base.servers[0]!, { ...base.servers[1]!, key: "33".repeat(32) }] },
      { ...base, servers: [base.servers[0]!] },
      { ...base, interval: 120_001 },
      { ...base, blackout: 15_001 },
      { ...base, skew: 5_001 },
      { ...base, capacity: 199_999 },
      { ...base, genesis: { [a!]: base.genesis[a!]! - 1, [b!]: base.genesis[b!]! } },
      { ...base, genesis: { [a!]: base.genesis[a!]! } },
      { ...base, genesis: { ...base.genesis, ["cc".repeat(32)]: 0 } },
    ];
    const ids = variants.map(idOf);
    expect(new Set([VECTOR.id, ...ids]).size).toBe(variants.length + 1);
  });
});
