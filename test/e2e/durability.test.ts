// Crash and stop: every payment acknowledged before a kill -9 is on disk after the restart, the
// supply is intact, and balances match exactly the payments stored; SIGTERM/SIGINT stop cleanly.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { buildPayment, paymentIdHex } from "../../src/core/payment.ts";
import { decodeReply } from "../../src/core/udp-reply.ts";
import { toHex } from "../../src/core/bytes.ts";
import type { KeyPair } from "../../src/core/keys.ts";
import { SUPPLY } from "../../src/core/limits.ts";
import { freePort, tempDir, testKeyPair, waitFor } from "../support/helpers.ts";
import { runScryp, startBinaryNode, startSoloNode } from "../support/binary-node.ts";
import { SERVER, getJson, hexOf, httpBalance, restartFundedNode, startFundedNode, udpClient, type FundedNode } from "./e2e-support.ts";

const cleanups: (() => void | Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Sent {
  readonly bytes: Uint8Array;
  readonly id: string;
  readonly payer: KeyPair;
  readonly payee: KeyPair;
  readonly amount: number;
}

describe("stopping a node while payments are in flight", () => {
  const PAYERS = [11, 12, 13, 14].map(testKeyPair);
  const PAYEES = [21, 22, 23, 24, 25, 26, 27, 28].map(testKeyPair);
  const PAYER_START = 1_000_000;
  const COUNT = 400;

  test.each(["SIGKILL", "SIGTERM"] as const)("%s: every acknowledged payment survives, the supply holds, balances match the stored payments", async (signal) => {
    const dir = tempDir("scryp-e2e-kill-");
    cleanups.push(dir.cleanup);
    let f: FundedNode = await startFundedNode(
      dir.path,
      PAYERS.map((p) => [p, PAYER_START] as [KeyPair, number]),
    );
    cleanups.push(() => f.node.kill("SIGKILL"));

    // Sign everything first so sending is fast. Amounts are distinct, so no two share a signed part.
    const now = Date.now();
    const sent: Sent[] = [];
    for (let i = 0; i < COUNT; i++) {
      const payer = PAYERS[i % PAYERS.length]!;
      const payee = PAYEES[i % PAYEES.length]!;
      const amount = i + 1;
      const bytes = buildPayment({ timestampMs: now + (i % 50), amount, payee: payee.publicKey, payer: payer.publicKey, payerSeed: payer.seed });
      sent.push({ bytes, id: paymentIdHex(bytes), payer, payee, amount });
    }

    const acked = new Set<string>();
    const rejected: string[] = [];
    const client = await udpClient();
    cleanups.push(() => client.close());
    client.onReply((r) => {
      const reply = decodeReply(r.bytes, 140);
      if (reply.kind === "accepted") acked.add(toHex(reply.id));
      else if (reply.kind === "rejected") rejected.push(reply.code);
    });

    // Send in bursts of 20, keeping at most WINDOW unacknowledged and retransmitting those every
    // 100 ms; send the signal once half are acknowledged, and keep sending through the kill so datagrams are
    // in flight when it lands. The window guarantees some payments were never answered.
    const WINDOW = 100;
    const proc = f.node.process;
    let next = 0;
    let killedAt = -1;
    let lastRetransmit = Date.now();
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      if (killedAt < 0 && acked.size >= COUNT / 2) {
        proc.kill(signal);
        killedAt = acked.size;
      } else if (killedAt >= 0 && (proc.exitCode !== null || proc.signalCode !== null)) {
        break;
      }
      for (let burst = 0; burst < 20 && next < COUNT && next - acked.size < WINDOW; burst++) client.send(sent[next++]!.bytes, f.port);
      if (Date.now() - lastRetransmit >= 100) {
        for (const s of sent.slice(0, next)) if (!acked.has(s.id)) client.send(s.bytes, f.port);
        lastRetransmit = Date.now();
      }
      await Bun.sleep(1);
    }
    // The kill happened mid-stream, not after everything was answered.
    expect(killedAt).toBeGreaterThanOrEqual(COUNT / 2);
    await proc.exited;
    if (signal === "SIGKILL") {
      expect(proc.signalCode).toBe("SIGKILL");
      expect(rejected).toEqual([]);
    } else {
      // A clean stop: exit 0 after committing what was queued. Datagrams arriving while it stops
      // may be refused as NOT_ACCEPTING, nothing else.
      expect(proc.exitCode).toBe(0);
      await waitFor(() => f.node.log().includes("[node] stopped\n"), 2_000, "the stop line");
      expect(f.node.log()).toContain("[node] SIGTERM: stopping");
      expect(rejected.filter((code) => code !== "NOT_ACCEPTING")).toEqual([]);
    }
    expect(acked.size).toBeGreaterThanOrEqual(COUNT / 2);
    expect(acked.size).toBeLessThan(COUNT);
    const ackedAtKill = new Set(acked);

    f = await restartFundedNode(dir.path, f);
    expect(f.node.log()).toContain("[ledger] opened");

    // Which payments are stored: every acknowledged one must be, and possibly some whose reply was lost.
    const stored = new Set<string>();
    const missingAcked: string[] = [];
    await Promise.all(
      sent.map(async (s) => {
        const { status, json } = await getJson(`${f.url}/tx/${s.id}`);
        if (status === 200) {
          expect(json).toMatchObject({ id: s.id, amount: s.amount, payer: hexOf(s.payer), payee: hexOf(s.payee), status: "accepted" });
          stored.add(s.id);
        } else {
          expect(status).toBe(404);
          if (ackedAtKill.has(s.id)) missingAcked.push(s.id);
        }
      }),
    );
    expect(missingAcked).toEqual([]);
    expect(stored.size).toBeGreaterThanOrEqual(ackedAtKill.size);

    const status = (await getJson(`${f.url}/status`)).json;
    expect(status.ledger.supply).toBe(SUPPLY);
    expect(status.ledger.payments).toBe(stored.size);

    // Balances are exactly genesis plus the stored payments.
    const expected = new Map<string, number>(Object.entries(f.genesis));
    for (const s of sent) {
      if (!stored.has(s.id)) continue;
      expected.set(hexOf(s.payer), expected.get(hexOf(s.payer))! - s.amount);
      expected.set(hexOf(s.payee), (expected.get(hexOf(s.payee)) ?? 0) + s.amount);
    }
    const actual = new Map<string, number | undefined>();
    for (const kp of [SERVER, ...PAYERS, ...PAYEES]) actual.set(hexOf(kp), await httpBalance(f.url, hexOf(kp)));
    expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(expected));
    expect(status.ledger.accounts).toBe(expected.size);

    // The restarted node still answers a retransmission of an acknowledged payment with "accepted"
    // (if still inside the clock tolerance) and applies nothing twice.
    const one = sent.find((s) => ackedAtKill.has(s.id))!;
    if (Date.now() - now < 4_000) {
      const again = await udpClient();
      cleanups.push(() => again.close());
      again.send(one.bytes, f.port);
      const [reply] = await again.waitReplies(1, 3_000);
      expect(toHex(reply!.bytes)).toBe("00" + one.id);
      expect(await httpBalance(f.url, hexOf(one.payer))).toBe(expected.get(hexOf(one.payer)));
    }
  });
});

describe("stopping", () => {
  test("SIGTERM: the node commits, logs a stop line and exits 0; its payments are there after a restart", async () => {
    const dir = tempDir("scryp-e2e-term-");
    cleanups.push(dir.cleanup);
    const node = await startSoloNode(dir.path);
    cleanups.push(() => node.kill("SIGKILL"));
    const payee = hexOf(testKeyPair(9));
    const pay = await runScryp(["pay", payee, "42", "--node", node.url, "--seed", join(dir.path, "server.seed")], dir.path);
    expect(pay.exitCode).toBe(0);
    const id = /payment ([0-9a-f]{64})/.exec(pay.stdout)![1]!;

    const code = await node.kill("SIGTERM");
    expect(code).toBe(0);
    await waitFor(() => node.log().includes("[node] stopped\n"), 2_000, "the stop line");
    expect(node.log()).toContain("[node] SIGTERM: stopping (committing queued payments first)");
    expect(node.log()).toMatch(/\[node\] stopped\n$/);
    expect(node.log()).not.toContain("ERROR");
    // The port is free again at once.
    await expect(fetch(`${node.url}/status`)).rejects.toThrow();

    const again = await startBinaryNode(dir.path, ["--port", String(node.port), "--data", join(dir.path, "data"), "--seed", join(dir.path, "server.seed")], node.port);
    cleanups.push(() => again.kill("SIGKILL"));
    expect(again.log()).toContain("loaded seed");
    expect(again.log()).toContain("accounts=2 payments=1");
    expect((await getJson(`${again.url}/tx/${id}`)).status).toBe(200);
    expect(await httpBalance(again.url, payee)).toBe(42);
    expect(await again.kill("SIGINT")).toBe(0);
    await waitFor(() => again.log().includes("[node] stopped\n"), 2_000, "the stop line");
    expect(again.log()).toContain("[node] SIGINT: stopping");
    expect(again.log()).toMatch(/\[node\] stopped\n$/);
  });

  test("SIGTERM with --log json: every log line is JSON, the last one says stopped", async () => {
    const dir = tempDir("scryp-e2e-json-");
    cleanups.push(dir.cleanup);
    const port = await freePort();
    const node = await startBinaryNode(dir.path, ["--port", String(port), "--log", "json"], port);
    cleanups.push(() => node.kill("SIGKILL"));
    expect(await node.kill("SIGTERM")).toBe(0);
    await waitFor(() => node.log().includes('"message":"stopped"'), 2_000, "the stop line");
    const lines = node.log().trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const l of lines) {
      expect(typeof l.time).toBe("string");
      expect(["info", "warn"]).toContain(l.level);
      expect(typeof l.component).toBe("string");
    }
    expect(lines.at(-1)).toMatchObject({ component: "node", message: "stopped" });
    expect(lines.some((l) => l.component === "node" && l.message === "SIGTERM: stopping (committing queued payments first)")).toBe(true);
    expect(existsSync(join(dir.path, "scryp-data", "ledger.sqlite"))).toBe(true);
  });
});
