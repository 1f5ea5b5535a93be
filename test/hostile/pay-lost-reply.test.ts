// Issue 7, finding 2, on the payer's side: `scryp pay` never signs a second payment while an
// earlier one of the same run may have been accepted. A scripted server on loopback (real UDP and
// HTTP on one port, like a node) loses replies and answers as an older node did (NOT_ACCEPTING to
// the retransmission); `pay` must find out what became of the payment before paying again.
import { afterEach, expect, test } from "bun:test";
import { pay, type PayResult } from "../../src/client/pay.ts";
import { parseNetwork } from "../../src/core/network.ts";
import { systemClock } from "../../src/core/clock.ts";
import { paymentId } from "../../src/core/payment.ts";
import { toHex } from "../../src/core/bytes.ts";
import { encodeAccepted, encodeRejected } from "../../src/core/udp-reply.ts";
import { freePort, testKeyPair } from "../support/helpers.ts";

const PAYER = testKeyPair(5);
const PAYEE = testKeyPair(6);

interface Script {
  /** What to do with the n-th datagram (0-based) carrying payment number `payment` (0-based). */
  udp(n: number, payment: number, bytes: Uint8Array): "drop" | "accept" | "not-accepting";
  /** Whether GET /tx/:id finds payment number `payment`. */
  holds(payment: number): boolean;
  /** The agreed window GET /status reports. */
  agreedWindow(): number;
}

const stops: (() => void)[] = [];
afterEach(() => {
  for (const s of stops.splice(0)) s();
});

/** A one-server "network" whose server follows `script`; records every payment it saw. */
async function scriptedServer(script: Script) {
  const port = await freePort();
  const payments: string[] = []; // ids in order of first sight
  const datagrams: number[] = [];
  const udp = await Bun.udpSocket({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(sock, data, fromPort, address) {
        const bytes = new Uint8Array(data);
        const id = toHex(paymentId(bytes));
        if (!payments.includes(id)) payments.push(id);
        const payment = payments.indexOf(id);
        datagrams[payment] = (datagrams[payment] ?? 0) + 1;
        const action = script.udp(datagrams[payment]! - 1, payment, bytes);
        if (action === "drop") return;
        const reply = action === "accept" ? encodeAccepted(paymentId(bytes), bytes.length) : encodeRejected("NOT_ACCEPTING", paymentId(bytes), bytes.length);
        sock.send(reply, fromPort, address);
      },
      error() {},
    },
  });
  const http = Bun.serve({
    hostname: "127.0.0.1",
    port,
    fetch(req) {
      const url = new URL(req.url);
      if (url.pathname === "/status") return Response.json({ agreed: { window: script.agreedWindow() } });
      const m = /^\/tx\/([0-9a-f]{64})$/.exec(url.pathname);
      if (m !== null) {
        const n = payments.indexOf(m[1]!);
        return n >= 0 && script.holds(n) ? Response.json({ status: "accepted" }) : Response.json({ error: { code: "NOT_FOUND", message: "no" } }, { status: 404 });
      }
      return new Response("no", { status: 404 });
    },
  });
  stops.push(() => {
    udp.close();
    void http.stop(true);
  });
  // A one-server network on a long interval: its only server is always the alpha.
  const network = parseNetwork({
    servers: [{ key: toHex(testKeyPair(7).publicKey), address: `127.0.0.1:${port}` }],
    interval: 3_600_000,
    blackout: 15_000,
    skew: 5_000,
    genesis: { [toHex(PAYER.publicKey)]: 1_000 },
  });
  return { network, payments, datagrams };
}

const run = (network: ReturnType<typeof parseNetwork>, notes: string[]): Promise<PayResult> =>
  pay({ target: { kind: "network", network }, keyPair: PAYER, payee: PAYEE.publicKey, amount: 10, http: false, clock: systemClock, onNote: (l) => notes.push(l) });

test("first reply lost, the retransmission answered NOT_ACCEPTING, the server holds it: accepted, one payment signed", async () => {
  const s = await scriptedServer({
    udp: (n) => (n === 0 ? "drop" : "not-accepting"),
    holds: () => true,
    agreedWindow: () => -1,
  });
  const result = await run(s.network, []);
  expect(result.kind).toBe("accepted");
  expect(s.payments).toHaveLength(1);
  expect(result.id).toBe(s.payments[0]!);
  expect(result.kind === "accepted" && result.how).toContain("holds it");
});

test("the same, but the server does not hold it and its window is agreed without it: a second payment, then accepted", async () => {
  const window = Math.floor(Date.now() / 3_600_000);
  const s = await scriptedServer({
    udp: (n, payment) => (payment === 0 ? (n === 0 ? "drop" : "not-accepting") : "accept"),
    holds: () => false,
    agreedWindow: () => window,
  });
  const notes: string[] = [];
  const result = await run(s.network, notes);
  expect(result.kind).toBe("accepted");
  expect(s.payments).toHaveLength(2);
  expect(result.id).toBe(s.payments[1]!);
  expect(notes.join("\n")).toContain(`payment ${s.payments[0]} was not accepted`);
});

test("no reply at all and nobody can tell: the outcome is unknown and nothing more is paid", async () => {
  const s = await scriptedServer({ udp: () => "drop", holds: () => false, agreedWindow: () => -1 });
  // Make the wait for the window short: a network whose interval is 2 s (find out waits 3 windows).
  const short = parseNetwork({ ...s.network.file, interval: 2_000, blackout: 800, skew: 300 });
  const started = Date.now();
  const result = await run(short, []);
  expect(result.kind).toBe("unknown");
  expect(s.payments).toHaveLength(1);
  expect(result.accepted).toBe(false);
  expect(result.kind === "unknown" && result.message).toContain(`GET http://127.0.0.1:`);
  // 21 transmissions over ~5 s, then at most 3 windows of 2 s.
  expect(Date.now() - started).toBeLessThan(20_000);
}, 30_000);
