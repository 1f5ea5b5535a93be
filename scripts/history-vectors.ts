// Writes docs/test-vectors/history-digest.json: the history digest and batch digest of a short
// history (PROTOCOL.md §6a), step by step with the digest before and after, and a vote committing to them, byte
// for byte (§5), signed by a fixed test key (Ed25519 is deterministic). Another implementation
// checks itself against the file; test/core/history-digest.test.ts checks this one.
// Run: bun scripts/history-vectors.ts
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { batchDigest, EMPTY_HISTORY, historyStep } from "../src/core/history-digest.ts";
import { encodeVote } from "../src/core/consensus/peer-message.ts";
import { keyPairFromSeed } from "../src/core/keys.ts";
import { toHex } from "../src/core/bytes.ts";

const id = (byte: number) => new Uint8Array(32).fill(byte);
const windows = [
  { window: 5, ids: [id(0x11), id(0x22)] },
  { window: 6, ids: [] },
  { window: 9, ids: [id(0x33)] },
];
let history = EMPTY_HISTORY;
const steps = windows.map(({ window, ids }) => {
  const before = history;
  history = historyStep(history, window, ids);
  return { window, ids: ids.map(toHex), historyBefore: toHex(before), historyAfter: toHex(history), batch: toHex(batchDigest(window, ids)) };
});

const key = keyPairFromSeed(new Uint8Array(32).fill(7));
const vote = {
  networkId: new Uint8Array(32).fill(0xee),
  sender: key.publicKey,
  window: 9,
  sentAtMs: 1_800_000_000_000,
  baseWindow: 6,
  baseHash: new Uint8Array(32).fill(0xbb),
  batch: batchDigest(9, windows[2]!.ids),
  hash: new Uint8Array(32).fill(0x5a),
  history,
};
const bytes = encodeVote(vote, key.seed);

const out = {
  about:
    "The history digest and the batch digest (docs/PROTOCOL.md §6a), and a vote that commits to them (§5). A window without payments leaves the history unchanged. Payment ids are given directly (any 32 bytes). The vote is signed with the Ed25519 seed of 32 bytes 0x07.",
  historyDomain: "scryp/history/v1",
  batchDomain: "scryp/batch/v1",
  emptyHistory: toHex(EMPTY_HISTORY),
  steps,
  vote: {
    seed: toHex(key.seed),
    networkId: toHex(vote.networkId),
    sender: toHex(vote.sender),
    window: vote.window,
    sentAtMs: vote.sentAtMs,
    baseWindow: vote.baseWindow,
    baseHash: toHex(vote.baseHash),
    batch: toHex(vote.batch),
    hash: toHex(vote.hash),
    history: toHex(vote.history),
    bytesHex: toHex(bytes),
  },
};
const path = join(import.meta.dir, "../docs/test-vectors/history-digest.json");
writeFileSync(path, `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${path}: ${bytes.length}-byte vote`);
