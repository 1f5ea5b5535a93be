// The words of a WINDOW_FULL refusal: which server accepts next, and from when. The node sends them
// over HTTP; a client builds the same from the network file when the refusal came over UDP (whose
// reply carries only the code). Pure.
import type { Network } from "./network.ts";
import { acceptingPeriod, nextAccepting } from "./schedule.ts";
import { scheduleOf } from "./network.ts";

export function windowFullMessage(network: Network, window: number): string {
  const schedule = scheduleOf(network);
  // The first accepting period after this window's: the next alpha (the same server when it is alone).
  const next = nextAccepting(acceptingPeriod(window, schedule).untilMs, schedule);
  const who = network.servers[next.server]!;
  return `window ${window} holds the network's capacity of ${network.capacity} payments; server ${who.keyHex} (${who.address}) accepts from ${new Date(next.fromMs).toISOString()} until ${new Date(next.untilMs).toISOString()}`;
}
