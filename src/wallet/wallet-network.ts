// What the wallet page knows of the network: its servers and schedule, the public part of the
// network file (no genesis: the page does not need it). The server that renders the page embeds it
// (wallet-page.tsx); the page reads it back here, strictly, before it computes who accepts now.
import * as v from "valibot";
import { splitAddress, type Network } from "../core/network.ts";

export interface WalletNetwork {
  readonly servers: readonly { readonly key: string; readonly address: string; readonly host: string; readonly port: number }[];
  readonly intervalMs: number;
  readonly blackoutMs: number;
  readonly skewMs: number;
}

const EmbeddedSchema = v.strictObject({
  servers: v.pipe(
    v.array(v.strictObject({ key: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)), address: v.pipe(v.string(), v.regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/)) })),
    v.minLength(1),
  ),
  interval: v.pipe(v.number(), v.integer(), v.minValue(1)),
  blackout: v.pipe(v.number(), v.integer(), v.minValue(0)),
  skew: v.pipe(v.number(), v.integer(), v.minValue(0)),
});
export type EmbeddedNetwork = v.InferOutput<typeof EmbeddedSchema>;

/** The part of a validated network the page embeds, in the network file's own field names. */
export function embeddedNetwork(network: Network): EmbeddedNetwork {
  return {
    servers: network.servers.map((s) => ({ key: s.keyHex, address: s.address })),
    interval: network.intervalMs,
    blackout: network.blackoutMs,
    skew: network.skewMs,
  };
}

/** The page's network from the embedded JSON, or null when it is not what a node renders. */
export function readEmbeddedNetwork(json: string): WalletNetwork | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return null;
  }
  const result = v.safeParse(EmbeddedSchema, parsed);
  if (!result.success) return null;
  const n = result.output;
  return {
    servers: n.servers.map((s) => ({ ...s, ...splitAddress(s.address) })),
    intervalMs: n.interval,
    blackoutMs: n.blackout,
    skewMs: n.skew,
  };
}
