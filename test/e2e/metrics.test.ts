// GET /metrics on the compiled binary: a solo node, one accepted and two rejected payments over
// HTTP, then a scrape that is valid Prometheus text and shows them.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { keyPairFromSeed } from "../../src/core/keys.ts";
import { SUPPLY } from "../../src/core/limits.ts";
import { signedPayment, tempDir, testKeyPair } from "../support/helpers.ts";
import { runScryp, startSoloNode, type BinaryNode } from "../support/binary-node.ts";
import { parsePrometheusText, sampleValue } from "../support/prometheus-text.ts";

let dir: { path: string; cleanup: () => void };
let node: BinaryNode;

beforeAll(async () => {
  dir = tempDir("scryp-e2e-metrics-");
  node = await startSoloNode(dir.path);
});
afterAll(async () => {
  await node?.kill("SIGKILL");
  dir.cleanup();
});

const postTx = (bytes: Uint8Array) =>
  fetch(`${node.url}/tx`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: bytes });

test("GET /metrics shows an accepted payment and the rejections by code", async () => {
  // The solo node's genesis gives the whole supply to its own key, whose seed it just created.
  const server = keyPairFromSeed(new Uint8Array(readFileSync(join(dir.path, "server.seed"))));
  const payee = testKeyPair(41);
  const stranger = testKeyPair(42);

  const before = parsePrometheusText(await (await fetch(`${node.url}/metrics`)).text());
  expect(sampleValue(before, "scryp_payments_accepted_total")).toBe(0);
  expect(sampleValue(before, "scryp_payments_rejected_total", { code: "UNKNOWN_PAYER" })).toBe(0);

  const accepted = await postTx(signedPayment(server, payee.publicKey, 250, Date.now()));
  expect(accepted.status).toBe(200);
  const unknownPayer = await postTx(signedPayment(stranger, payee.publicKey, 5, Date.now()));
  expect(unknownPayer.status).toBe(422);
  const wrongSize = await postTx(new Uint8Array(139));
  expect(wrongSize.status).toBe(400);

  const res = await fetch(`${node.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
  const m = parsePrometheusText(await res.text()); // every line valid, HELP and TYPE for each family
  expect(sampleValue(m, "scryp_payments_accepted_total")).toBe(1);
  expect(sampleValue(m, "scryp_payments_rejected_total", { code: "UNKNOWN_PAYER" })).toBe(1);
  expect(sampleValue(m, "scryp_payments_rejected_total", { code: "PAYMENT_SIZE" })).toBe(1);
  expect(sampleValue(m, "scryp_payments_rejected_total", { code: "DUPLICATE" })).toBe(0);
  expect(sampleValue(m, "scryp_commit_group_payments_count")).toBeGreaterThanOrEqual(1);
  expect(sampleValue(m, "scryp_commit_group_payments_max")).toBeGreaterThanOrEqual(1);
  expect(sampleValue(m, "scryp_commit_duration_seconds_count")).toBeGreaterThanOrEqual(1);
  expect(sampleValue(m, "scryp_ledger_accounts")).toBe(2);
  expect(sampleValue(m, "scryp_ledger_payments")).toBe(1);
  expect(sampleValue(m, "scryp_ledger_supply_scryp")).toBe(SUPPLY);
  expect(sampleValue(m, "scryp_pending_payments")).toBe(0);
  expect(sampleValue(m, "scryp_peer_errors_total", { kind: "request_failed" })).toBe(0);
  // A lone server agrees its first window at start-up.
  expect(sampleValue(m, "scryp_windows_agreed_total")).toBeGreaterThanOrEqual(1);

  // build_info carries what `scryp --version` prints.
  const version = await runScryp(["--version"], dir.path);
  const [, v, commit] = /^scryp (\S+) \((\S+)\)\n$/.exec(version.stdout) ?? [];
  expect(sampleValue(m, "scryp_build_info", { version: v!, commit: commit! })).toBe(1);
});
