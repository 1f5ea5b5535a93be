// `scryp pay`: build and sign a payment, send it to the server accepting now, report the outcome.
//
// The rule that keeps a payer from paying twice: a second payment is signed only once the first
// is known not to have been accepted. "Known" means one of:
//  - the server refused the very first transmission (nothing of it was ever taken);
//  - the server said NOT_ACCEPTING or OVERLOADED to a transmission (servers recognise a
//    retransmission of accepted or pending bytes before any other rule) and does not hold it;
//  - a majority of the servers agreed on the payment's window without it: a payment is
//    acceptable only in the window its timestamp falls in, so it can never apply after that.
// When none of these can be established within the time limit, `pay` says so and pays nothing
// more: the outcome is unknown, and how to find it out is printed.
import { buildPayment, paymentIdHex } from "../core/payment.ts";
import type { KeyPair } from "../core/keys.ts";
import { toHex } from "../core/bytes.ts";
import { ERROR_MESSAGES, type ErrorCode } from "../core/errors.ts";
import { acceptingWindowAt, nextAccepting, windowStartMs } from "../core/schedule.ts";
import type { Clock } from "../core/clock.ts";
import type { Network } from "../core/network.ts";
import { sendPaymentUdp } from "./udp-send.ts";
import { errorOf, UnreachableError } from "./http-client.ts";
import { httpBase, nodeEntry, type Target } from "./target.ts";
import { waitForOutcome } from "./confirm.ts";
import { CLIENT_HTTP_TIMEOUT_MS } from "../core/limits.ts";
import { windowFullMessage } from "../core/window-full.ts";
import { scheduleOf } from "../core/network.ts";

export type PayResult =
  | { readonly kind: "accepted"; readonly accepted: true; readonly id: string; readonly server: string; readonly timestampMs: number; readonly how: string | null }
  | { readonly kind: "rejected"; readonly accepted: false; readonly code: ErrorCode | string; readonly message: string; readonly id: string; readonly server: string }
  /** The payment may or may not have been accepted; nothing more was paid. */
  | { readonly kind: "unknown"; readonly accepted: false; readonly code: "OUTCOME_UNKNOWN"; readonly message: string; readonly id: string; readonly server: string };

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
  /** Progress in plain words: a server that does not answer, what is being found out, until when. */
  readonly onNote?: (line: string) => void;
}

interface Server {
  readonly host: string;
  readonly port: number;
  readonly address: string;
}

/**
 * NOT_ACCEPTING to a first transmission from the server the schedule names means it is about to
 * accept (the previous window's agreement is a moment away) or the clocks differ a little: try
 * again, a few times.
 */
const NOT_ACCEPTING_RETRIES_MAX = 4;
const NOT_ACCEPTING_RETRY_MS = 500;
/** At most this many payments signed in one run (each only after the previous one is known dead). */
const PAYMENTS_SIGNED_MAX = 3;
/** Finding out what became of a payment waits at most this many windows for its window's agreement. */
export const FIND_OUT_WINDOWS_MAX = 3;
/** OVERLOADED / IN_PROGRESS: the same bytes again after this, doubling, while the timestamp is fresh. */
const BUSY_RETRY_MS_FIRST = 250;

/** What one signed payment came to. */
type Attempt =
  | { kind: "accepted"; how: string | null }
  | { kind: "rejected"; code: ErrorCode | string; message: string; firstTransmission: boolean }
  /** Never delivered: the server was not there to take it (HTTP connection refused). */
  | { kind: "not-delivered"; detail: string }
  /** It may have been accepted: no reply, a reply after retransmissions that proves nothing. */
  | { kind: "uncertain"; detail: string };

const clockText = (ms: number) => new Date(ms).toISOString().slice(11, 19) + " UTC";

export async function pay(opts: PayOptions): Promise<PayResult> {
  const network = opts.target.kind === "network" ? opts.target.network : null;
  let notAcceptingRetries = 0;
  let notBefore = opts.clock.now();
  for (let signed = 1; ; signed++) {
    const server = await chooseServer(opts, notBefore);
    const timestampMs = opts.clock.now();
    const bytes = buildPayment({ timestampMs, amount: opts.amount, payee: opts.payee, payer: opts.keyPair.publicKey, payerSeed: opts.keyPair.seed });
    const id = paymentIdHex(bytes);
    const attempt = opts.http ? await sendHttp(bytes, server) : await sendUdp(bytes, server, opts);
    const last = { id, server: server.address };

    if (attempt.kind === "accepted") return { kind: "accepted", accepted: true, ...last, timestampMs, how: attempt.how };
    if (attempt.kind === "rejected") {
      if (attempt.code !== "NOT_ACCEPTING" || !attempt.firstTransmission) return { kind: "rejected", accepted: false, code: attempt.code, message: attempt.message, ...last };
      if (notAcceptingRetries++ >= NOT_ACCEPTING_RETRIES_MAX) return { kind: "rejected", accepted: false, code: attempt.code, message: attempt.message, ...last };
      opts.onRetry?.(server.address, NOT_ACCEPTING_RETRY_MS);
      await Bun.sleep(NOT_ACCEPTING_RETRY_MS);
      continue;
    }
    if (attempt.kind === "not-delivered") {
      // Nothing was taken, so paying through the next alpha is safe; with one server there is none.
      if (network === null || network.servers.length === 1) throw new UnreachableError(attempt.detail);
      if (signed >= PAYMENTS_SIGNED_MAX) throw new UnreachableError(`${attempt.detail}; gave up after ${signed} attempts`);
      notBefore = windowStartMs(acceptingWindowAt(opts.clock.now(), scheduleOf(network)) + 1, scheduleOf(network));
      opts.onNote?.(`${attempt.detail}: nothing was paid; paying through the next alpha when its window starts`);
      continue;
    }

    // Uncertain: find out before signing anything else.
    const found = await findOut(opts, network, server, id, timestampMs, attempt.detail);
    if (found.kind === "accepted") return { kind: "accepted", accepted: true, ...last, timestampMs, how: found.how };
    if (found.kind === "unknown") return { kind: "unknown", accepted: false, code: "OUTCOME_UNKNOWN", message: found.message, ...last };
    if (signed >= PAYMENTS_SIGNED_MAX) return { kind: "rejected", accepted: false, code: "NOT_ACCEPTED", message: `${found.message}; gave up after ${signed} payments, none accepted`, ...last };
    opts.onNote?.(`${found.message}; paying again through the server accepting now`);
  }
}


/** Picks the server to send to, waiting out a blackout (and `notBefore`) instead of sending into it. */
async function chooseServer(opts: PayOptions, notBeforeMs: number): Promise<Server> {
  if (opts.target.kind === "node") {
    const entry = nodeEntry(opts.target.url);
    return { ...entry, address: `${entry.host}:${entry.port}` };
  }
  const network = opts.target.network;
  const nowMs = opts.clock.now();
  const next = nextAccepting(Math.max(nowMs, notBeforeMs), scheduleOf(network));
  const server = network.servers[next.server]!;
  const waitMs = next.fromMs - nowMs;
  if (waitMs > 0) {
    opts.onWait?.(waitMs, server.address);
    await Bun.sleep(waitMs);
  }
  return server;
}

async function sendUdp(bytes: Uint8Array, server: Server, opts: PayOptions): Promise<Attempt> {
  const id = paymentIdHex(bytes);
  const timestampMs = opts.clock.now();
  const freshForMs = opts.target.kind === "network" ? opts.target.network.skewMs / 2 : 2_500;
  let transmissions = 0;
  let busyDelayMs = BUSY_RETRY_MS_FIRST;
  for (;;) {
    const exchange = await sendPaymentUdp(bytes, server.host, server.port);
    const firstTransmission = transmissions === 0 && exchange.transmissions === 1;
    transmissions += exchange.transmissions;
    if (exchange.kind === "no-reply") {
      return { kind: "uncertain", detail: `server ${server.address} does not answer (${exchange.detail})` };
    }
    const reply = exchange.reply;
    if (reply.kind === "accepted") {
      // The node names the id it committed; it must be ours.
      if (toHex(reply.id) !== id) throw new Error(`the server acknowledged a different payment (${toHex(reply.id)})`);
      return { kind: "accepted", how: transmissions > 1 ? `acknowledged after ${transmissions} transmissions` : null };
    }
    if (reply.code === "OVERLOADED" || reply.code === "IN_PROGRESS") {
      // Not queued (OVERLOADED) or still being checked (IN_PROGRESS): the same bytes again are safe.
      if (opts.clock.now() + busyDelayMs - timestampMs > freshForMs) {
        return reply.code === "OVERLOADED"
          ? { kind: "rejected", code: reply.code, message: ERROR_MESSAGES[reply.code], firstTransmission: false }
          : { kind: "uncertain", detail: `server ${server.address} was still checking the payment after ${transmissions} transmissions` };
      }
      await Bun.sleep(busyDelayMs);
      busyDelayMs *= 2;
      continue;
    }
    // Taken by that server, but its window closed before a majority held it: whether a majority
    // kept it is the network's to say (a rescue may have), never a reason to sign again at once.
    if (reply.code === "NOT_KEPT") return { kind: "uncertain", detail: `server ${server.address} answered NOT_KEPT: its window closed before a majority of the servers held the payment` };
    if ((reply.code === "NOT_ACCEPTING" || reply.code === "WINDOW_FULL") && !firstTransmission) {
      // An earlier copy may have been taken just before the gate closed (or the window filled): a
      // current node would have said "accepted" then, but a reply can also be reordered. Ask
      // before paying again.
      return { kind: "uncertain", detail: `server ${server.address} answered ${reply.code} after ${transmissions} transmissions` };
    }
    return { kind: "rejected", code: reply.code, message: udpRefusalMessage(reply.code, opts, timestampMs), firstTransmission };
  }
}

/**
 * A UDP reply carries only the code; the words come from here. A full window's refusal names the
 * next alpha, as the node's HTTP answer does, when the network file is known.
 */
function udpRefusalMessage(code: ErrorCode, opts: PayOptions, timestampMs: number): string {
  if (code !== "WINDOW_FULL" || opts.target.kind !== "network") return ERROR_MESSAGES[code];
  const network = opts.target.network;
  return windowFullMessage(network, acceptingWindowAt(timestampMs, scheduleOf(network)));
}

async function sendHttp(bytes: Uint8Array, server: Server): Promise<Attempt> {
  let response: Response;
  try {
    response = await fetch(`${httpBase(server)}/tx`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: bytes,
      signal: AbortSignal.timeout(CLIENT_HTTP_TIMEOUT_MS),
    });
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const detail = `cannot reach ${httpBase(server)}/tx: ${(e as Error).message}`;
    // Connection refused: the request never left this machine's hands. Anything else (a timeout,
    // a reset) may have happened after the server took it.
    return code === "ECONNREFUSED" || code === "ConnectionRefused" ? { kind: "not-delivered", detail } : { kind: "uncertain", detail };
  }
  let json: unknown = null;
  try {
    json = await response.json();
  } catch {
    json = null;
  }
  if (response.status === 200) return { kind: "accepted", how: null };
  const error = errorOf(json);
  return {
    kind: "rejected",
    code: error?.code ?? `HTTP_${response.status}`,
    message: error?.message ?? `the server answered HTTP ${response.status}`,
    firstTransmission: true,
  };
}

type FoundOut = { kind: "accepted"; how: string } | { kind: "not-accepted"; message: string } | { kind: "unknown"; message: string };

/** What became of a payment whose answer was lost: asked of the servers, within a time limit. */
async function findOut(opts: PayOptions, network: Network | null, server: Server, id: string, timestampMs: number, why: string): Promise<FoundOut> {
  // The server it was sent to may simply hold it (the reply was lost).
  const direct = await askTx(server, id);
  if (direct === "held") return { kind: "accepted", how: `the reply was lost; ${server.address} holds it` };
  const unknown = (detail: string): FoundOut => ({
    kind: "unknown",
    message: `${why}. Payment ${id} may still be accepted, so nothing more was paid (paying again could charge you twice). ${detail} Find out later with: scryp balance, or GET http://${server.address}/tx/${id}`,
  });
  if (network === null) return unknown(direct === "absent" ? `${server.address} does not hold it now.` : `${server.address} could not be asked.`);

  const schedule = scheduleOf(network);
  const window = acceptingWindowAt(timestampMs, schedule);
  const deadlineMs = opts.clock.now() + FIND_OUT_WINDOWS_MAX * network.intervalMs;
  opts.onNote?.(
    `${why}. Payment ${id} may have reached it: finding out from the servers whether window ${window} was agreed with it before paying again (until ${clockText(deadlineMs)} at most)`,
  );
  const outcome = await waitForOutcome(network.servers, network.servers.length, window, id, deadlineMs, opts.clock);
  if (outcome.kind === "confirmed") return { kind: "accepted", how: `the reply was lost; ${outcome.servers} of ${outcome.of} servers hold it in an agreed checkpoint` };
  if (outcome.kind === "disappeared") return { kind: "not-accepted", message: `payment ${id} was not accepted: ${outcome.servers} of ${outcome.of} servers agreed on window ${window} without it` };
  return unknown(`No majority of the servers could tell by ${clockText(deadlineMs)} (${outcome.detail}).`);
}

async function askTx(server: Server, id: string): Promise<"held" | "absent" | "unreachable"> {
  try {
    const r = await fetch(`${httpBase(server)}/tx/${id}`, { signal: AbortSignal.timeout(CLIENT_HTTP_TIMEOUT_MS) });
    await r.arrayBuffer();
    return r.status === 200 ? "held" : r.status === 404 ? "absent" : "unreachable";
  } catch {
    return "unreachable";
  }
}
