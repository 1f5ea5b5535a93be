// Issue 7, finding 1: a datagram from a socket that closes before the reply arrives makes the
// reply bounce (ICMP port unreachable → ECONNREFUSED on the node's socket). The node used to exit
// with status 1 on the first one. It must survive any number, count them, and go on serving.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { signedPayment, tempDir, testKeyPair } from "../support/helpers.ts";
import { getJson, hexOf, httpBalance, startFundedNode, udpClient, type FundedNode } from "../e2e/e2e-support.ts";
import { parsePrometheusText, sampleValue } from "../support/prometheus-text.ts";

const PAYER = testKeyPair(2);
const PAYEE = testKeyPair(3);

let dir: { path: string; cleanup: () => void };
let f: FundedNode;

beforeAll(async () => {
  dir = tempDir("scryp-hostile-udp-");
  f = await startFundedNode(dir.path, [[PAYER, 1_000]]);
});
afterAll(async () => {
  await f?.node.kill("SIGKILL");
  dir.cleanup();
});

test("datagrams from sockets closed before the reply (0 bytes to a valid payment) never stop the node", async () => {
  const sizes = [1, 12, 139, 140, 141, 1000];
  for (let round = 0; round < 20; round++) {
    for (const size of sizes) {
      const socket = await Bun.udpSocket({});
      socket.send(new Uint8Array(size).fill(round), f.port, "127.0.0.1");
      socket.close();
    }
    // A valid payment too, whose reply (accepted) also bounces.
    const socket = await Bun.udpSocket({});
    socket.send(signedPayment(PAYER, PAYEE.publicKey, 1, Date.now() + round), f.port, "127.0.0.1");
    socket.close();
    await Bun.sleep(5);
  }
  await Bun.sleep(200);
  expect(f.node.process.exitCode).toBeNull();
  // Still serving both transports.
  const status = await getJson(`${f.node.url}/status`);
  expect(status.status).toBe(200);
  const client = await udpClient();
  try {
    client.send(signedPayment(PAYER, PAYEE.publicKey, 7, Date.now()), f.port);
    const [reply] = await client.waitReplies(1, 3_000);
    expect(reply!.bytes[0]).toBe(0x00);
  } finally {
    client.close();
  }
  // The 20 payments whose replies bounced were accepted all the same, plus the last one.
  expect(await httpBalance(f.node.url, hexOf(PAYEE))).toBe(27);
  const metrics = parsePrometheusText(await (await fetch(`${f.node.url}/metrics`)).text());
  const bounced = (sampleValue(metrics, "scryp_faults_total", { kind: "udp_socket_error" }) ?? 0) + (sampleValue(metrics, "scryp_faults_total", { kind: "udp_send_failed" }) ?? 0);
  expect(bounced).toBeGreaterThan(0);
});
