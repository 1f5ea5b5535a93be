// The wallet's pay: sign a payment in the browser and POST it to the server accepting now,
// computed from the network's schedule as `scryp pay` does (src/client/pay.ts), waiting out a
// blackout and saying so. The rule that keeps a payer from paying twice is pay.ts's: a second
// payment is signed only when the first is known not to have been taken, which here is only
// NOT_ACCEPTING to a first transmission (nothing was taken). A lost answer is "uncertain": the
// page then follows the payment (follow-payment.ts) and never signs another by itself.
// fetch, sleep and the clock are passed in, so the tests drive it without a browser.
import { buildPayment, decodePayment } from "../core/payment.ts";
import { assert } from "../core/assert.ts";
import { equalBytes } from "../core/bytes.ts";
import type { KeyPair } from "../core/keys.ts";
import type { Clock } from "../core/clock.ts";
import { acceptingWindowAt, nextAccepting } from "../core/schedule.ts";
import { httpBase, scheduleOf } from "../core/network.ts";
import { CLIENT_HTTP_TIMEOUT_MS } from "../core/limits.ts";
import { errorOf } from "../client/http-client.ts";
import { paymentIdHex, toHex } from "./hex.ts";
import type { WalletNetwork } from "./wallet-network.ts";

/**
 * NOT_ACCEPTING to a first transmission: the alpha is a moment from accepting (it waits for the
 * previous window's agreement, which can take a second or two on a busy network), or clocks differ
 * a little. Nothing was taken, so sign anew every NOT_ACCEPTING_RETRY_MS, for up to 10 s (the
 * schedule is asked again each time: past its period the next alpha is tried). A person waits
 * better than a script, and a refusal here means paying again by hand.
 */
const NOT_ACCEPTING_RETRIES_MAX = 20;
const NOT_ACCEPTING_RETRY_MS = 500;
/** OVERLOADED / IN_PROGRESS: the same bytes again after this, doubling, while the timestamp is fresh. */
const BUSY_RETRY_MS_FIRST = 250;

export type SendEvent =
  | { readonly kind: "waiting"; readonly ms: number; readonly server: string }
  | { readonly kind: "sending"; readonly server: string; readonly id: string }
  | { readonly kind: "retrying"; readonly server: string; readonly ms: number; readonly why: string };

interface Sent {
  readonly id: string;
  readonly server: string;
  readonly timestampMs: number;
  /** The window the payment belongs to, by its timestamp. */
  readonly window: number;
}

export type SendResult =
  | ({ readonly kind: "accepted" } & Sent)
  /** Refused: this payment was not taken and never applies. */
  | ({ readonly kind: "refused"; readonly code: string; readonly message: string } & Sent)
  /** No answer that settles it: it may have been taken. Follow it before paying again. */
  | ({ readonly kind: "uncertain"; readonly detail: string } & Sent);

export interface SendOptions {
  readonly network: WalletNetwork;
  readonly keyPair: KeyPair;
  readonly payee: Uint8Array;
  readonly amount: number;
  readonly clock: Clock;
  /** Called as a plain function (a browser's fetch must not be called as a method of another object). */
  readonly fetch: (url: string, init: RequestInit) => Promise<Response>;
  readonly sleep: (ms: number) => Promise<void>;
  readonly onEvent: (event: SendEvent) => void;
}

type Answer = { kind: "answer"; status: number; code: string | null; message: string | null } | { kind: "no-answer"; detail: string };

async function post(opts: SendOptions, server: { host: string; port: number }, bytes: Uint8Array): Promise<Answer> {
  try {
    const response = await opts.fetch(`${httpBase(server)}/tx`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ tx: toHex(bytes) }),
      signal: AbortSignal.timeout(CLIENT_HTTP_TIMEOUT_MS),
    });
    let json: unknown = null;
    try {
      json = await response.json();
    } catch {
      json = null;
    }
    const error = errorOf(json);
    return { kind: "answer", status: response.status, code: error?.code ?? null, message: error?.message ?? null };
  } catch (e) {
    // A browser does not say whether the request left: a refused connection and a lost answer
    // look the same. So no answer is always "uncertain".
    return { kind: "no-answer", detail: (e as Error).message };
  }
}

export async function sendPayment(opts: SendOptions): Promise<SendResult> {
  const schedule = scheduleOf(opts.network);
  for (let notAccepting = 0; ; notAccepting++) {
    const nowMs = opts.clock.now();
    const next = nextAccepting(nowMs, schedule);
    const server = opts.network.servers[next.server]!;
    if (next.fromMs > nowMs) {
      opts.onEvent({ kind: "waiting", ms: next.fromMs - nowMs, server: server.address });
      await opts.sleep(next.fromMs - nowMs);
    }
    const timestampMs = opts.clock.now();
    const bytes = buildPayment({ timestampMs, amount: opts.amount, payee: opts.payee, payer: opts.keyPair.publicKey, payerSeed: opts.keyPair.seed });
    // What is signed here is what the node reads: checked where it is built, as the node checks it where it parses.
    const decoded = decodePayment(bytes);
    assert(decoded !== null && decoded.amount === opts.amount && decoded.timestampMs === timestampMs && equalBytes(decoded.payer, opts.keyPair.publicKey) && equalBytes(decoded.payee, opts.payee), "the payment built is not the one meant");
    const sent: Sent = { id: paymentIdHex(bytes), server: server.address, timestampMs, window: acceptingWindowAt(timestampMs, schedule) };
    opts.onEvent({ kind: "sending", server: server.address, id: sent.id });
    let busyDelayMs = BUSY_RETRY_MS_FIRST;
    for (let transmission = 1; ; transmission++) {
      const answer = await post(opts, server, bytes);
      if (answer.kind === "no-answer") return { kind: "uncertain", ...sent, detail: `${server.address} did not answer (${answer.detail})` };
      if (answer.status === 200) return { kind: "accepted", ...sent };
      const code = answer.code ?? `HTTP_${answer.status}`;
      const message = answer.message ?? `the server answered HTTP ${answer.status}`;
      if (code === "OVERLOADED" || code === "IN_PROGRESS") {
        // Not queued, or still being checked: the very same bytes again are safe while fresh.
        if (opts.clock.now() + busyDelayMs - timestampMs > opts.network.skewMs / 2) {
          return code === "OVERLOADED" ? { kind: "refused", ...sent, code, message } : { kind: "uncertain", ...sent, detail: `${server.address} was still checking the payment` };
        }
        opts.onEvent({ kind: "retrying", server: server.address, ms: busyDelayMs, why: code });
        await opts.sleep(busyDelayMs);
        busyDelayMs *= 2;
        continue;
      }
      // Taken, but its window closed before a majority held it: only the network can say now.
      if (code === "NOT_KEPT") return { kind: "uncertain", ...sent, detail: `${server.address} answered NOT_KEPT: its window closed before a majority of the servers held the payment` };
      if (code === "NOT_ACCEPTING" && transmission === 1 && notAccepting < NOT_ACCEPTING_RETRIES_MAX) break;
      // NOT_ACCEPTING or WINDOW_FULL after a retransmission: an earlier copy may have been taken.
      if ((code === "NOT_ACCEPTING" || code === "WINDOW_FULL") && transmission > 1) return { kind: "uncertain", ...sent, detail: `${server.address} answered ${code} after ${transmission} transmissions` };
      return { kind: "refused", ...sent, code, message };
    }
    opts.onEvent({ kind: "retrying", server: server.address, ms: NOT_ACCEPTING_RETRY_MS, why: "NOT_ACCEPTING" });
    await opts.sleep(NOT_ACCEPTING_RETRY_MS);
  }
}
