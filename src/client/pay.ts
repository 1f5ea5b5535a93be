// `scryp pay`: build and sign a payment, send it to the server accepting now, report the outcome.
import { buildPayment, paymentIdHex } from "../core/payment.ts";
import type { KeyPair } from "../core/keys.ts";
import { toHex } from "../core/bytes.ts";
import { ERROR_MESSAGES, type ErrorCode } from "../core/errors.ts";
import { nextAccepting, type ScheduleParams } from "../core/schedule.ts";
import type { Clock } from "../core/clock.ts";
import { sendPaymentUdp } from "./udp-send.ts";
import { errorOf, requestJson } from "./http-client.ts";
import { httpBase, nodeEntry, type Target } from "./target.ts";

export type PayResult =
  | { accepted: true; id: string; server: string; timestampMs: number }
  | { accepted: false; code: ErrorCode | string; message: string; id: string; server: string };

export interface PayOptions {
  readonly target: Target;
  readonly keyPair: KeyPair;
  readonly payee: Uint8Array;
  readonly amount: number;
  readonly http: boolean;
  readonly clock: Clock;
  /** Called when the client waits out a blackout, with how long. */
  readonly onWait?: (ms: number, serverAddress: string) => void;
  /** Called before trying again after NOT_ACCEPTING. */
  readonly onRetry?: (serverAddress: string, ms: number) => void;
}

/** Picks the server to send to now, waiting out a blackout instead of sending into it. */
async function chooseServer(opts: PayOptions): Promise<{ host: string; port: number; address: string }> {
  if (opts.target.kind === "node") {
    const entry = nodeEntry(opts.target.url);
    return { ...entry, address: `${entry.host}:${entry.port}` };
  }
  const network = opts.target.network;
  const params: ScheduleParams = { serverCount: network.servers.length, intervalMs: network.intervalMs, blackoutMs: network.blackoutMs };
  const nowMs = opts.clock.now();
  const next = nextAccepting(nowMs, params);
  const server = network.servers[next.server]!;
  const waitMs = next.fromMs - nowMs;
  if (waitMs > 0) {
    opts.onWait?.(waitMs, server.address);
    await Bun.sleep(waitMs);
  }
  return server;
}

/**
 * NOT_ACCEPTING from the server the schedule names means it is about to accept (the previous
 * window's agreement is a moment away) or the clocks differ a little: try again, a few times.
 * Each attempt is a new payment (new timestamp); the refused one was not accepted, so nothing
 * can apply twice.
 */
const NOT_ACCEPTING_RETRIES_MAX = 4;
const NOT_ACCEPTING_RETRY_MS = 500;

export async function pay(opts: PayOptions): Promise<PayResult> {
  for (let attempt = 0; ; attempt++) {
    const result = await payOnce(opts);
    if (result.accepted || result.code !== "NOT_ACCEPTING" || attempt >= NOT_ACCEPTING_RETRIES_MAX) return result;
    opts.onRetry?.(result.server, NOT_ACCEPTING_RETRY_MS);
    await Bun.sleep(NOT_ACCEPTING_RETRY_MS);
  }
}

async function payOnce(opts: PayOptions): Promise<PayResult> {
  const server = await chooseServer(opts);
  const timestampMs = opts.clock.now();
  const bytes = buildPayment({
    timestampMs,
    amount: opts.amount,
    payee: opts.payee,
    payer: opts.keyPair.publicKey,
    payerSeed: opts.keyPair.seed,
  });
  const id = paymentIdHex(bytes);
  if (opts.http) {
    const answer = await requestJson(`${httpBase(server)}/tx`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: bytes,
    });
    if (answer.status === 200) return { accepted: true, id, server: server.address, timestampMs };
    const error = errorOf(answer.json);
    return {
      accepted: false,
      code: error?.code ?? `HTTP_${answer.status}`,
      message: error?.message ?? `the server answered HTTP ${answer.status}`,
      id,
      server: server.address,
    };
  }
  const reply = await sendPaymentUdp(bytes, server.host, server.port);
  if (reply.kind === "accepted") {
    // The node names the id it committed; it must be ours.
    if (toHex(reply.id) !== id) throw new Error(`the server acknowledged a different payment (${toHex(reply.id)})`);
    return { accepted: true, id, server: server.address, timestampMs };
  }
  if (reply.kind === "rejected") return { accepted: false, code: reply.code, message: ERROR_MESSAGES[reply.code], id, server: server.address };
  throw new Error("unreachable: malformed replies are ignored");
}
