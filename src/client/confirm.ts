// `scryp pay --wait`: after the alpha accepted a payment, wait until a majority of servers hold it
// in an agreed checkpoint (confirmed), or a majority agreed past its window without it (it
// disappeared with a window that found no consensus).
import type { Network } from "../core/network.ts";
import { acceptingWindowAt } from "../core/schedule.ts";
import { requestJson } from "./http-client.ts";
import { askStatus } from "./server-answers.ts";
import { majorityFinal } from "./network-status.ts";
import { httpBase } from "./target.ts";
import { systemClock, type Clock } from "../core/clock.ts";
import { scheduleOf } from "../core/network.ts";

export type Confirmation =
  | { kind: "confirmed"; servers: number; of: number }
  | { kind: "disappeared"; servers: number; of: number }
  | { kind: "timeout"; detail: string };

/** How often to ask the servers while waiting. */
const POLL_INTERVAL_MS = 250;

async function serverView(server: { host: string; port: number }, idHex: string): Promise<{ agreed: number; has: boolean } | null> {
  try {
    const [status, tx] = await Promise.all([requestJson(`${httpBase(server)}/status`), requestJson(`${httpBase(server)}/tx/${idHex}`)]);
    const agreed = (status.json as { agreed?: { window?: unknown } } | null)?.agreed?.window;
    if (status.status !== 200 || typeof agreed !== "number") return null;
    return { agreed, has: tx.status === 200 };
  } catch {
    return null;
  }
}

export async function waitForConfirmation(network: Network, idHex: string, timestampMs: number, timeoutMs: number): Promise<Confirmation> {
  const params = scheduleOf(network);
  // The window the payment was accepted in follows from its timestamp, within skew.
  const window = acceptingWindowAt(timestampMs, params);
  return waitForOutcome(network.servers, network.servers.length, window, idHex, Date.now() + timeoutMs, systemClock);
}

/**
 * Polls `servers` until a strict majority of the network's `n` servers has agreed on `window` or
 * later and either holds the payment (confirmed) or does not (disappeared: it can never apply,
 * since a payment is acceptable only in its own window), or until `deadlineMs`.
 */
export async function waitForOutcome(
  servers: readonly { host: string; port: number }[],
  n: number,
  window: number,
  idHex: string,
  deadlineMs: number,
  clock: Clock,
): Promise<Confirmation> {
  let last = "no server answered yet";
  while (clock.now() < deadlineMs) {
    const views = await Promise.all(servers.map((s) => serverView(s, idHex)));
    const settled = views.filter((v) => v !== null && v.agreed >= window);
    const holding = settled.filter((v) => v!.has).length;
    const missing = settled.length - holding;
    if (holding * 2 > n) return { kind: "confirmed", servers: holding, of: n };
    if (missing * 2 > n) return { kind: "disappeared", servers: missing, of: n };
    last = `${holding} of ${n} servers confirm so far, ${views.filter((v) => v === null).length} not answering`;
    await Bun.sleep(Math.max(0, Math.min(POLL_INTERVAL_MS, deadlineMs - clock.now())));
  }
  return { kind: "timeout", detail: last };
}

export type Finality = { kind: "final"; servers: number; of: number } | { kind: "timeout"; detail: string; notFinal: string[] };

/**
 * `scryp pay --wait final`: polls until a strict majority of the servers report the payment's
 * window final (agreed by a final quorum, docs/PROTOCOL.md §7 step 9), or until the deadline; on
 * timeout it names the servers that did not report it final.
 */
export async function waitForFinal(network: Network, timestampMs: number, timeoutMs: number, clock: Clock = systemClock): Promise<Finality> {
  const window = acceptingWindowAt(timestampMs, scheduleOf(network));
  const deadlineMs = clock.now() + timeoutMs;
  const n = network.servers.length;
  let notFinal = network.servers.map((s) => s.address);
  let detail = "no server answered yet";
  // At least one look, also with no time to wait (plain --wait only asks whether it is final yet).
  for (let first = true; first || clock.now() < deadlineMs; first = false) {
    const asked = await Promise.all(network.servers.map((s) => askStatus(s, clock)));
    const finals = asked.map((a) => (a.kind === "answer" ? (a.status.final?.window ?? -1) : null));
    const reporting = finals.filter((f) => f !== null && f >= window).length;
    // The rule `scryp status` uses: final once a strict majority reports it.
    if ((majorityFinal(finals.map((f) => f ?? -1), n)?.window ?? -1) >= window) return { kind: "final", servers: reporting, of: n };
    notFinal = network.servers.flatMap((s, i) => (finals[i] === null ? [`${s.address} (not answering)`] : finals[i]! < window ? [s.address] : []));
    detail = `${reporting} of ${n} servers report window ${window} final`;
    if (clock.now() >= deadlineMs) break;
    await Bun.sleep(Math.max(0, Math.min(POLL_INTERVAL_MS, deadlineMs - clock.now())));
  }
  return { kind: "timeout", detail, notFinal };
}
