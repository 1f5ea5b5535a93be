// The network id (core/network-id.ts): the test vector of docs/test-vectors/network-id.json, what
// changes it and what does not, and what it is for: a message or a stored vote of another network
// (the same server keys, another genesis) is refused before any signature is checked.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { parseNetwork, type Network } from "../../src/core/network.ts";
import { networkIdPreimage } from "../../src/core/network-id.ts";
import { toHex } from "../../src/core/bytes.ts";
import { Coordinator } from "../../src/core/consensus/coordinator.ts";
import { encodeVote, VOTE_BYTES } from "../../src/core/consensus/peer-message.ts";
import { rolesAt } from "../../src/core/schedule.ts";
import { verifySignature } from "../../src/core/verify.ts";
import { Ledger } from "../../src/ledger/ledger.ts";
import type { Logger } from "../../src/core/logger.ts";
import { testKeyPair } from "../support/helpers.ts";

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

// Two networks of the same three servers, told apart by their genesis only.
const SERVERS = [testKeyPair(71), testKeyPair(72), testKeyPair(73)];
const PAYER = testKeyPair(74);
const fileWith = (balance: number) => ({
  servers: SERVERS.map((k, i) => ({ key: toHex(k.publicKey), address: `127.0.0.1:${9100 + i}` })),
  interval: 2_000,
  blackout: 800,
  skew: 300,
  genesis: { [toHex(PAYER.publicKey)]: balance },
});
const THIS = parseNetwork(fileWith(1_000));
const OTHER = parseNetwork(fileWith(1_001));
const NOW = Date.UTC(2027, 0, 15, 12);

function coordinatorOf(network: Network, ledger: Ledger, log: Logger, verify = verifySignature): Coordinator {
  return new Coordinator({ network, selfIndex: 0, seed: SERVERS[0]!.seed, ledger, verify, log, flushIntake: () => {} });
}

function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info() {}, warn: (_c, m) => lines.push(m), error: (_c, m) => lines.push(m) };
}

describe("another network that shares the server keys", () => {
  test("its networks' ids differ", () => {
    expect(THIS.idHex).not.toBe(OTHER.idHex);
  });

  test("a vote signed for it is refused before its signature is checked, naming both ids", () => {
    const ledger = Ledger.open(":memory:", { genesis: THIS.genesis, nowMs: NOW });
    let verified = 0;
    const counting = (signature: Uint8Array, message: Uint8Array, key: Uint8Array) => {
      verified++;
      return verifySignature(signature, message, key);
    };
    const coordinator = coordinatorOf(THIS, ledger, recordingLog(), counting);
    const window = rolesAt(NOW, { serverCount: 3, intervalMs: THIS.intervalMs, blackoutMs: THIS.blackoutMs }).window;
    const vote = (networkId: Uint8Array) => encodeVote({ networkId, sender: SERVERS[1]!.publicKey, window, sentAtMs: NOW, hash: ledger.stateHashBytes(), baseWindow: -1, baseHash: new Uint8Array(32), batch: new Uint8Array(32), history: new Uint8Array(32) }, SERVERS[1]!.seed);
    verified = 0;
    const refused = coordinator.receive(vote(OTHER.id), NOW);
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.reason).toBe(`message for another network (id ${OTHER.idHex.slice(0, 16)}…; this network is ${THIS.idHex.slice(0, 16)}…)`);
    expect(verified).toBe(0);
    expect(coordinator.counters.peerRejected).toBe(1);
    // Control: the same vote for this network is checked and taken.
    const taken = coordinator.receive(vote(THIS.id), NOW);
    expect(taken.ok).toBe(true);
    expect(verified).toBe(1);
    ledger.close();
  });

  test("a certificate of its votes is refused", () => {
    const ledger = Ledger.open(":memory:", { genesis: THIS.genesis, nowMs: NOW });
    const coordinator = coordinatorOf(THIS, ledger, recordingLog());
    const votes = [1, 2].map((i) => encodeVote({ networkId: OTHER.id, sender: SERVERS[i]!.publicKey, window: 5, sentAtMs: NOW, hash: new Uint8Array(32), baseWindow: -1, baseHash: new Uint8Array(32), batch: new Uint8Array(32), history: new Uint8Array(32) }, SERVERS[i]!.seed));
    const certificate = new Uint8Array(2 * VOTE_BYTES);
    votes.forEach((v, i) => certificate.set(v, i * VOTE_BYTES));
    const result = coordinator.receiveCertificate(certificate, NOW);
    expect(!result.ok && result.reason).toStartWith("message for another network");
    ledger.close();
  });
});

describe("a data directory of an older scryp (votes of scryp-peer/1, 158 bytes)", () => {
  /** A vote as scryp-peer/1 laid it out: no network id. Its content does not matter here. */
  const oldVote = (): Uint8Array => {
    const bytes = new Uint8Array(158);
    bytes.set(new TextEncoder().encode("scryp-peer/1"), 0);
    bytes[12] = 2;
    bytes.set(SERVERS[0]!.publicKey, 13);
    return bytes;
  };

  test("its stored own votes are ignored with a warning, and its certificate is not served; the coordinator starts", () => {
    const ledger = Ledger.open(":memory:", { genesis: THIS.genesis, nowMs: NOW });
    ledger.recordOwnVote(6, oldVote(), NOW);
    const certificate = new Uint8Array(2 * 158);
    certificate.set(oldVote(), 0);
    certificate.set(oldVote(), 158);
    ledger.recordAgreed(5, ledger.stateHashBytes(), certificate, NOW);
    const log = recordingLog();
    const coordinator = coordinatorOf(THIS, ledger, log);
    expect(log.lines.some((l) => l.includes("stored vote of this server for window 6") && l.includes("older scryp"))).toBe(true);
    expect(log.lines.some((l) => l.includes("certificate of window 5") && l.includes("not served"))).toBe(true);
    expect(coordinator.agreed.window).toBe(5);
    expect(coordinator.newestCertificate()).toBeNull();
    ledger.close();
  });

  test("a stored vote of this format that is not this server's well-signed one still stops the start (corruption)", () => {
    const ledger = Ledger.open(":memory:", { genesis: THIS.genesis, nowMs: NOW });
    const vote = encodeVote({ networkId: THIS.id, sender: SERVERS[0]!.publicKey, window: 6, sentAtMs: NOW, hash: new Uint8Array(32), baseWindow: -1, baseHash: new Uint8Array(32), batch: new Uint8Array(32), history: new Uint8Array(32) }, SERVERS[0]!.seed);
    vote[vote.length - 1] = vote[vote.length - 1]! ^ 1;
    ledger.recordOwnVote(6, vote, NOW);
    expect(() => coordinatorOf(THIS, ledger, recordingLog())).toThrow(/stored vote for window 6/);
    ledger.close();
  });
});
