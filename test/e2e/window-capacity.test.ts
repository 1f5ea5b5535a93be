// End to end with three compiled binaries on loopback, 2 s windows and a capacity of 20 payments a
// window: one window flooded past its capacity over UDP and HTTP. Exactly 20 are accepted, the
// rest are refused WINDOW_FULL (and `scryp pay` prints the refusal naming the next alpha), and
// after agreement every acknowledged payment is on all three servers, with equal balances, state
// hashes and the whole supply. Waits are on conditions, with generous bounds; a round whose timing
// the machine could not keep (a send after the blackout) is repeated in a later window.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { SUPPLY } from "../../src/core/limits.ts";
import { buildPayment, paymentIdHex } from "../../src/core/payment.ts";
import { decodeReply } from "../../src/core/udp-reply.ts";
import { toHex } from "../../src/core/bytes.ts";
import { alphaOf, blackoutStartMs, windowAt, type ScheduleParams } from "../../src/core/schedule.ts";
import { freePort, tempDir, testKeyPair } from "../support/helpers.ts";
import { runScryp, startBinaryNode, writeJson, type BinaryNode } from "../support/binary-node.ts";
import { HOST, hexOf, udpClient, writeSeed } from "./e2e-support.ts";

const INTERVAL = 2_000;
const BLACKOUT = 800;
const SKEW = 300;
const CAPACITY = 20;
const SCHEDULE: ScheduleParams = { serverCount: 3, intervalMs: INTERVAL, blackoutMs: BLACKOUT };
const PAYER_START = 1_000_000;
const UDP_FLOOD = 30;
const HTTP_FLOOD = 6;
const ROUNDS_MAX = 4;

const dir = tempDir("scryp-e2e-capacity-");
const nodes: (BinaryNode | null)[] = [null, null, null];
afterAll(async () => {
  await Promise.all(nodes.map((n) => n?.kill("SIGKILL")));
  dir.cleanup();
});

async function json(url: string): Promise<{ status: number; body: any }> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(3_000) });
    return { status: r.status, body: await r.json() };
  } catch {
    return { status: 0, body: null };
  }
}

async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await Bun.sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

test(
  "a window flooded past its capacity: the excess is WINDOW_FULL, nothing acknowledged disappears",
  async () => {
    const d = dir.path;
    const servers = [testKeyPair(31), testKeyPair(32), testKeyPair(33)];
    const payer = testKeyPair(34);
    const payees = [testKeyPair(35), testKeyPair(36)];
    const ports: number[] = [];
    while (ports.length < 3) {
      const p = await freePort();
      if (!ports.includes(p)) ports.push(p);
    }
    const addresses = ports.map((p) => `${HOST}:${p}`);
    const netPath = join(d, "net.json");
    writeJson(netPath, {
      servers: servers.map((s, i) => ({ key: hexOf(s), address: addresses[i] })),
      interval: INTERVAL,
      blackout: BLACKOUT,
      skew: SKEW,
      capacity: CAPACITY,
      genesis: { [hexOf(payer)]: PAYER_START, [hexOf(servers[0]!)]: SUPPLY - PAYER_START },
    });
    const payerSeed = join(d, "payer.seed");
    writeSeed(payerSeed, payer);
    await Promise.all(
      servers.map(async (s, i) => {
        const seed = join(d, `s${i}.seed`);
        writeSeed(seed, s);
        nodes[i] = await startBinaryNode(d, ["--network", netPath, "--seed", seed, "--data", join(d, `d${i}`)], ports[i]!);
      }),
    );
    const url = (i: number) => nodes[i]!.url;
    await waitUntil("a first agreed window on all three", 6 * INTERVAL, async () => {
      const s = await Promise.all([0, 1, 2].map((i) => json(`${url(i)}/status`)));
      return s.every((r) => r.status === 200 && r.body.agreed.window >= 0);
    });

    const udp = await udpClient();
    const acknowledged = new Map<string, { payee: number; amount: number }>();
    let amount = 0;
    let flooded: { window: number; alpha: number; payText: string[] } | null = null;
    try {
      for (let round = 0; round < ROUNDS_MAX && flooded === null; round++) {
        // The alpha of now, accepting (the previous window agreed here), with time before its blackout.
        let alpha = -1;
        let window = -1;
        await waitUntil("an accepting alpha early in its window", 4 * INTERVAL, async () => {
          const now = Date.now();
          window = windowAt(now, SCHEDULE);
          alpha = alphaOf(window, SCHEDULE);
          if (now > blackoutStartMs(window, SCHEDULE) - 900) return false;
          const s = await json(`${url(alpha)}/status`);
          return s.status === 200 && s.body.accepting === true && s.body.window === window;
        });
        // The flood: distinct amounts, so no two payments share their signed bytes.
        const payments = Array.from({ length: UDP_FLOOD + HTTP_FLOOD }, (_, i) => {
          const payee = i % payees.length;
          const a = ++amount;
          return { payee, amount: a, bytes: buildPayment({ timestampMs: Date.now(), amount: a, payee: payees[payee]!.publicKey, payer: payer.publicKey, payerSeed: payer.seed }) };
        });
        const udpPart = payments.slice(0, UDP_FLOOD);
        const httpPart = payments.slice(UDP_FLOOD);
        const firstReply = udp.replies.length;
        for (const p of udpPart) udp.send(p.bytes, ports[alpha]!);
        const httpAnswers = await Promise.all(
          httpPart.map(async (p) => {
            const r = await fetch(`${url(alpha)}/tx`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: p.bytes });
            return { status: r.status, body: (await r.json()) as any };
          }),
        );
        await udp.waitReplies(firstReply + UDP_FLOOD, 10_000);
        const udpAnswers = udp.replies.slice(firstReply, firstReply + UDP_FLOOD).map((r) => decodeReply(r.bytes, 140));
        // `scryp pay` into the full window, over UDP and over HTTP.
        const payOut = await Promise.all(
          [[], ["--http"]].map((extra) => runScryp(["pay", hexOf(payees[0]!), String(++amount), "--network", netPath, "--seed", payerSeed, ...extra], d)),
        );
        const inTime = Date.now() < blackoutStartMs(window, SCHEDULE);

        const outcomes: string[] = [];
        // Refusals come at once, acceptances after the commit: replies are matched by payment id.
        const byId = new Map(udpPart.map((p) => [paymentIdHex(p.bytes), p]));
        for (const a of udpAnswers) {
          if (a.kind === "malformed" || a.id === null) {
            outcomes.push("malformed");
            continue;
          }
          const p = byId.get(toHex(a.id));
          expect(p, "a reply names a payment of the flood").toBeDefined();
          byId.delete(toHex(a.id));
          if (a.kind === "accepted") acknowledged.set(toHex(a.id), p!);
          outcomes.push(a.kind === "accepted" ? "accepted" : a.code);
        }
        httpAnswers.forEach((a, i) => {
          const p = httpPart[i]!;
          if (a.status === 200) {
            acknowledged.set(paymentIdHex(p.bytes), p);
            outcomes.push("accepted");
          } else {
            outcomes.push(a.body.error.code);
            if (a.body.error.code === "WINDOW_FULL") {
              expect(a.status).toBe(421);
              expect(a.body.error.message).toContain(`window ${window} holds the network's capacity of ${CAPACITY} payments; server ${hexOf(servers[(alpha + 1) % 3]!)} (${addresses[(alpha + 1) % 3]}) accepts from`);
            }
          }
        });
        for (const r of payOut) {
          const m = /^accepted: payment ([0-9a-f]{64}) \((\d+) scryp/.exec(r.stdout);
          if (m) acknowledged.set(m[1]!, { payee: 0, amount: Number(m[2]) });
        }
        if (!inTime || outcomes.some((o) => o !== "accepted" && o !== "WINDOW_FULL")) continue; // the machine was too slow: again
        expect(outcomes.filter((o) => o === "accepted")).toHaveLength(CAPACITY);
        expect(outcomes.filter((o) => o === "WINDOW_FULL")).toHaveLength(UDP_FLOOD + HTTP_FLOOD - CAPACITY);
        flooded = { window, alpha, payText: payOut.map((r) => `${r.exitCode} ${r.stderr}`) };
      }
    } finally {
      udp.close();
    }
    if (flooded === null) throw new Error(`no round of the flood fit inside one accepting period in ${ROUNDS_MAX} tries`);

    // `scryp pay` was refused with the next alpha named, over UDP and HTTP alike.
    const next = (flooded.alpha + 1) % 3;
    for (const text of flooded.payText) {
      expect(text).toMatch(
        new RegExp(`^1 rejected: WINDOW_FULL: window ${flooded.window} holds the network's capacity of ${CAPACITY} payments; server ${hexOf(servers[next]!)} \\(${addresses[next]!.replace(/\./g, "\\.")}\\) accepts from \\S+ until \\S+ \\(payment [0-9a-f]{64}, server ${addresses[flooded.alpha]!.replace(/\./g, "\\.")}\\)\\n$`),
      );
    }

    // Agreement: every server past the flooded window, at one state.
    let last: any[] = [];
    await waitUntil("all three agreed past the flooded window at one state hash", 8 * INTERVAL, async () => {
      last = (await Promise.all([0, 1, 2].map((i) => json(`${url(i)}/status`)))).map((r) => r.body);
      if (!last.every((s) => s !== null && s.agreed.window > flooded!.window && s.ledger.pending === 0)) return false;
      return new Set(last.map((s) => s.agreed.hash)).size === 1 && new Set(last.map((s) => s.ledger.stateHash)).size === 1;
    });
    for (const s of last) expect(s.ledger.supply).toBe(SUPPLY);
    // Nothing acknowledged disappeared: each payment on each server, and the balances it implies.
    for (const id of acknowledged.keys()) {
      for (const i of [0, 1, 2]) expect((await json(`${url(i)}/tx/${id}`)).status, `payment ${id} on server ${i}`).toBe(200);
    }
    const spent = [...acknowledged.values()].reduce((a, p) => a + p.amount, 0);
    const toPayee = (k: number) => [...acknowledged.values()].filter((p) => p.payee === k).reduce((a, p) => a + p.amount, 0);
    for (const i of [0, 1, 2]) {
      expect((await json(`${url(i)}/accounts/${hexOf(payer)}`)).body.balance).toBe(PAYER_START - spent);
      for (const k of [0, 1]) {
        const got = await json(`${url(i)}/accounts/${hexOf(payees[k]!)}`);
        expect(got.status === 404 ? 0 : got.body.balance).toBe(toPayee(k));
      }
    }
  },
  120_000,
);
