// Issue 7, finding 4: a flood of random payments with current timestamps and fresh payer keys
// filled the one 65,536-entry queue (each waiting for a signature check): honest payments were
// refused and the node grew from 65 MB to 470 MB. A payer with no account is now refused before
// its signature is checked, so the flood costs a lookup each and honest payments go through.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { encodeUnsigned } from "../../src/core/payment.ts";
import { signedPayment, tempDir, testKeyPair } from "../support/helpers.ts";
import { hexOf, httpBalance, startFundedNode, udpClient, type FundedNode } from "../e2e/e2e-support.ts";
import { parsePrometheusText, sampleValue } from "../support/prometheus-text.ts";
import { prng } from "../../src/sim/simulator.ts";

const PAYER = testKeyPair(8);
const PAYEE = testKeyPair(9);
const JUNK = 40_000;
const HONEST = 40;

let dir: { path: string; cleanup: () => void };
let f: FundedNode;

beforeAll(async () => {
  dir = tempDir("scryp-hostile-flood-");
  f = await startFundedNode(dir.path, [[PAYER, 10_000]]);
});
afterAll(async () => {
  await f?.node.kill("SIGKILL");
  dir.cleanup();
});

const rssBytes = (pid: number): number => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))!;
  return Number(line.replace(/\D+/g, "")) * 1024;
};

test(`${JUNK} junk payments from fresh keys and ${HONEST} honest ones interleaved: every honest one accepted, memory bounded`, async () => {
  const rssBefore = rssBytes(f.node.process.pid);
  const random = prng(7);
  const junkSocket = await udpClient();
  const honest = await udpClient();
  const t = Date.now();
  try {
    const payee = PAYEE.publicKey;
    for (let i = 0; i < JUNK; i++) {
      const payer = new Uint8Array(32);
      for (let b = 0; b < 32; b++) payer[b] = Math.floor(random() * 256);
      const bytes = encodeUnsigned(t, 1 + (i % 1000), payee, payer); // a zero signature: never valid
      junkSocket.send(new Uint8Array([...bytes, ...new Uint8Array(64)]).subarray(0, 140), f.port);
      if (i % (JUNK / HONEST) === 0) honest.send(signedPayment(PAYER, payee, 1 + i / (JUNK / HONEST), Date.now()), f.port);
      if (i % 500 === 0) await Bun.sleep(1); // let the receive buffer drain a little
    }
    // Honest payments whose datagram was dropped by a full socket buffer are what clients
    // retransmit; here every one of them must have been answered accepted or not at all.
    await Bun.sleep(500);
  } finally {
    junkSocket.close();
    honest.close();
  }
  const rssAfter = rssBytes(f.node.process.pid);
  const metrics = parsePrometheusText(await (await fetch(`${f.node.url}/metrics`)).text());
  const unknownPayer = sampleValue(metrics, "scryp_payments_rejected_total", { code: "UNKNOWN_PAYER" }) ?? 0;
  const overloaded = sampleValue(metrics, "scryp_payments_rejected_total", { code: "OVERLOADED" }) ?? 0;
  const signatureInvalid = sampleValue(metrics, "scryp_payments_rejected_total", { code: "SIGNATURE_INVALID" }) ?? 0;
  // The junk was refused as UNKNOWN_PAYER, never reaching a signature check or the queue.
  expect(unknownPayer).toBeGreaterThan(JUNK / 2);
  expect(signatureInvalid).toBe(0);
  expect(overloaded).toBe(0);
  // Every honest payment that arrived was accepted (a datagram may be dropped by the kernel):
  // nothing but the junk was refused.
  const accepted = sampleValue(metrics, "scryp_payments_accepted_total") ?? 0;
  expect(accepted).toBeGreaterThan(HONEST / 2);
  const refused = metrics.get("scryp_payments_rejected_total")!.samples.reduce((a, m) => a + m.value, 0);
  expect(refused).toBe(unknownPayer);
  expect((await httpBalance(f.node.url, hexOf(PAYEE))) ?? 0).toBeGreaterThan(0);
  expect(rssAfter - rssBefore).toBeLessThan(100 * 1024 * 1024);
  expect(f.node.process.exitCode).toBeNull();
}, 60_000);
