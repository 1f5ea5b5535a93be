// The network file: the one JSON document every server and client of a network shares.
//   {"servers":[{"key":"<64 hex>","address":"host:port"}],"interval":120000,"blackout":15000,
//    "skew":5000,"capacity":200000,"genesis":{"<64 hex>":<balance>}}
// Times in ms; capacity in payments per window. Validation is strict and names the field at fault.
import * as v from "valibot";
import {
  BLACKOUT_MS_DEFAULT,
  CAPACITY_PAYMENTS_DEFAULT,
  CAPACITY_PAYMENTS_MAX,
  CAPACITY_PAYMENTS_MIN,
  GENESIS_ACCOUNTS_MAX,
  INTERVAL_MS_DEFAULT,
  INTERVAL_MS_MAX,
  INTERVAL_MS_MIN,
  SERVERS_MAX,
  SKEW_MS_DEFAULT,
  SKEW_MS_MAX,
  SKEW_MS_MIN,
  SUPPLY,
} from "./limits.ts";
import { fromHex, toHex } from "./bytes.ts";
import { networkId } from "./network-id.ts";
import type { ScheduleParams } from "./schedule.ts";

const KEY_HEX = /^[0-9a-f]{64}$/;
// host:port, host being a name, IPv4, or [IPv6].
const ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

const keyHex = v.pipe(v.string("must be a string of 64 lowercase hex digits"), v.regex(KEY_HEX, "must be 64 lowercase hex digits"));
const address = v.pipe(
  v.string('must be a string "host:port"'),
  v.regex(ADDRESS, 'must be "host:port"'),
  v.check((a) => {
    const port = Number(a.slice(a.lastIndexOf(":") + 1));
    return port >= 1 && port <= 65535;
  }, "port must be 1 to 65535"),
);
const wholeMs = v.pipe(v.number("must be a number of ms"), v.integer("must be a whole number of ms"));
// Bounds and their reasons: core/limits.ts. Each message names the unit, so 120 (meant as seconds) reads as wrong.
const intervalMs = v.pipe(
  wholeMs,
  v.minValue(INTERVAL_MS_MIN, `must be at least ${INTERVAL_MS_MIN} ms (1 s)`),
  v.maxValue(INTERVAL_MS_MAX, `must be at most ${INTERVAL_MS_MAX} ms (1 day)`),
);
const blackoutMs = v.pipe(wholeMs, v.minValue(0, "must not be negative"));
const skewMs = v.pipe(
  wholeMs,
  v.minValue(SKEW_MS_MIN, `must be at least ${SKEW_MS_MIN} ms (a client's clock and its datagram's flight need that much tolerance)`),
  v.maxValue(SKEW_MS_MAX, `must be at most ${SKEW_MS_MAX} ms (half the longest interval)`),
);
// The most payments one window may hold: every message and answer size follows from it (peer-limits.ts).
const capacity = v.pipe(
  v.number("must be a number of payments"),
  v.integer("must be a whole number of payments"),
  v.minValue(CAPACITY_PAYMENTS_MIN, `must be at least ${CAPACITY_PAYMENTS_MIN} payment`),
  v.maxValue(CAPACITY_PAYMENTS_MAX, `must be at most ${CAPACITY_PAYMENTS_MAX} payments (a window's handover must fit one peer message)`),
);
const balance = v.pipe(v.number("must be a number of scryp"), v.integer("must be a whole number"), v.minValue(0, "must not be negative"), v.maxValue(SUPPLY, `must be at most ${SUPPLY}`));

export const NetworkFileSchema = v.pipe(
  v.strictObject({
    servers: v.pipe(
      v.array(v.strictObject({ key: keyHex, address })),
      v.minLength(1, "must list at least one server"),
      v.maxLength(SERVERS_MAX, `must list at most ${SERVERS_MAX} servers`),
      v.check((servers) => new Set(servers.map((s) => s.key)).size === servers.length, "must not list a key twice"),
    ),
    interval: v.optional(intervalMs, INTERVAL_MS_DEFAULT),
    blackout: v.optional(blackoutMs, BLACKOUT_MS_DEFAULT),
    skew: v.optional(skewMs, SKEW_MS_DEFAULT),
    // No default here: a file without the field stays without it (older servers refuse unknown
    // fields); the Network gets the default.
    capacity: v.optional(capacity),
    genesis: v.pipe(
      v.record(keyHex, balance),
      v.check((g) => Object.keys(g).length <= GENESIS_ACCOUNTS_MAX, `must have at most ${GENESIS_ACCOUNTS_MAX} accounts`),
      v.check((g) => Object.values(g).reduce((a, b) => a + b, 0) <= SUPPLY, `balances must sum to at most ${SUPPLY} (the supply)`),
    ),
  }),
  // The blackout must outlast the clock tolerance on both sides, or a payment stamped near a switch
  // could be accepted by the outgoing alpha and again by the incoming one.
  v.forward(
    v.check((n) => n.blackout > 2 * n.skew, "must exceed 2 × skew (so one payment cannot be accepted by two consecutive alphas)"),
    ["blackout"],
  ),
  v.forward(v.check((n) => n.blackout < n.interval, "must be shorter than interval"), ["blackout"]),
);

export type NetworkFile = v.InferOutput<typeof NetworkFileSchema>;

export interface ServerEntry {
  readonly key: Uint8Array;
  readonly keyHex: string;
  readonly host: string;
  readonly port: number;
  readonly address: string;
}

/** A validated network, with keys decoded. */
export interface Network {
  readonly file: NetworkFile;
  readonly servers: readonly ServerEntry[];
  readonly intervalMs: number;
  readonly blackoutMs: number;
  readonly skewMs: number;
  /** The most payments one window may hold (`capacity`, default CAPACITY_PAYMENTS_DEFAULT). */
  readonly capacity: number;
  readonly genesis: ReadonlyMap<string, number>;
  /**
   * The network id (network-id.ts): in every signed peer message and peer request, so what is
   * signed for one network is refused by another that shares a server key.
   */
  readonly id: Uint8Array;
  readonly idHex: string;
}

export class NetworkFileError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`network file: ${field}: ${message}`);
    this.name = "NetworkFileError";
  }
}

/** valibot's words for a missing or unknown key and a wrong top-level type, in plain ones. */
function plainMessage(issue: v.BaseIssue<unknown>): string {
  if (issue.kind === "schema" && issue.type === "strict_object" && issue.received === "undefined") return "is missing";
  if (issue.kind === "schema" && issue.type === "strict_object" && issue.expected === "never") return "is not a field of the network file";
  if (issue.kind === "schema" && issue.type === "strict_object" && issue.expected === "Object" && (issue.path?.length ?? 0) === 0) return "the network file must be a JSON object";
  if (issue.type === "array" && issue.expected === "Array") return "must be a list";
  if (issue.type === "record" && issue.expected === "Object") return "must be an object of account id to balance";
  if (issue.type === "strict_object" && issue.expected === "Object") return "must be an object";
  return issue.message;
}

/** A key that reads plainly after a dot; any other (the empty key, one with spaces, dots or colons) is quoted. */
const PLAIN_KEY = /^[\w$-]+$/;

/** `parent.key`, or `parent["key"]` for a key that would not read as a field name. */
function fieldName(parent: string, key: string): string {
  if (!PLAIN_KEY.test(key)) return `${parent}[${JSON.stringify(key)}]`;
  return parent === "" ? key : `${parent}.${key}`;
}

function pathOf(issue: v.BaseIssue<unknown>): string {
  if (!issue.path || issue.path.length === 0) return "(top level)";
  let out = "";
  for (const item of issue.path) {
    const key = (item as { key: unknown }).key;
    if (typeof key === "number") out += `[${key}]`;
    else out = fieldName(out, String(key));
  }
  return out;
}

/**
 * Every own key of the genesis must be an account id. Checked before valibot: its record() skips
 * "__proto__", "constructor" and "prototype" without an issue (its guard against prototype
 * pollution), so a genesis holding one would be accepted with that entry silently dropped. JSON.parse
 * does make "__proto__" an own key; getOwnPropertyNames also sees keys that are not enumerable.
 */
function checkGenesisKeys(genesis: unknown): void {
  if (typeof genesis !== "object" || genesis === null) return; // valibot names the wrong type
  for (const key of Object.getOwnPropertyNames(genesis)) {
    if (!KEY_HEX.test(key)) throw new NetworkFileError(fieldName("genesis", key), "must be 64 lowercase hex digits");
  }
}

/** The HTTP base URL of a server (IPv6 hosts in brackets): clients and peers both use it. */
export function httpBase(server: { host: string; port: number }): string {
  const host = server.host.includes(":") ? `[${server.host}]` : server.host;
  return `http://${host}:${server.port}`;
}

export function splitAddress(addr: string): { host: string; port: number } {
  const colon = addr.lastIndexOf(":");
  let host = addr.slice(0, colon);
  if (host.startsWith("[")) host = host.slice(1, -1);
  return { host, port: Number(addr.slice(colon + 1)) };
}

/** Validates parsed JSON. Throws NetworkFileError naming the first field at fault. */
export function parseNetwork(json: unknown): Network {
  // valibot reads a JSON array as an object; a network file and its genesis are never lists.
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new NetworkFileError("(top level)", "the network file must be a JSON object");
  }
  if (Array.isArray((json as { genesis?: unknown }).genesis)) {
    throw new NetworkFileError("genesis", "must be an object of account id to balance");
  }
  checkGenesisKeys((json as { genesis?: unknown }).genesis);
  // Only the first issue is reported, so valibot stops there: collecting them all is quadratic in
  // their number (each v.forward copies the list and searches it once an issue), and a list of
  // 400,000 wrong entries held the CPU for a minute.
  const result = v.safeParse(NetworkFileSchema, json, { abortEarly: true });
  if (!result.success) {
    const issue = result.issues[0];
    throw new NetworkFileError(pathOf(issue), plainMessage(issue));
  }
  const file = result.output;
  const definition = {
    servers: file.servers.map((s) => ({ key: fromHex(s.key, 32)!, keyHex: s.key, address: s.address, ...splitAddress(s.address) })),
    intervalMs: file.interval,
    blackoutMs: file.blackout,
    skewMs: file.skew,
    capacity: file.capacity ?? CAPACITY_PAYMENTS_DEFAULT,
    genesis: new Map(Object.entries(file.genesis)),
  };
  const id = networkId(definition);
  return { file, ...definition, id, idHex: toHex(id) };
}

/** Parses the text of a network file. */
export function parseNetworkText(text: string): Network {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new NetworkFileError("(file)", `not valid JSON (${(e as Error).message})`);
  }
  return parseNetwork(json);
}

/** The one-server network a newcomer starts with: itself, holding the whole supply. */
export function singleServerNetwork(keyHex: string, address: string): NetworkFile {
  return {
    servers: [{ key: keyHex, address }],
    interval: INTERVAL_MS_DEFAULT,
    blackout: BLACKOUT_MS_DEFAULT,
    skew: SKEW_MS_DEFAULT,
    genesis: { [keyHex]: SUPPLY },
  };
}

export function serverIndex(network: Network, keyHex: string): number {
  return network.servers.findIndex((s) => s.keyHex === keyHex);
}

/** The schedule a network runs (core/schedule.ts): its servers' count, interval and blackout. */
export function scheduleOf(network: { readonly servers: readonly unknown[]; readonly intervalMs: number; readonly blackoutMs: number }): ScheduleParams {
  return { serverCount: network.servers.length, intervalMs: network.intervalMs, blackoutMs: network.blackoutMs };
}
