// The devnet's network: N servers on loopback at consecutive ports, short windows, and a genesis
// that gives the whole supply to one demo account. Pure: the command reads and writes the files.
import { join } from "node:path";
import { SKEW_MS_DEFAULT, SUPPLY } from "../core/limits.ts";
import { parseNetwork, type Network, type NetworkFile } from "../core/network.ts";
import { formatDuration } from "./duration.ts";

export const DEVNET_HOST = "127.0.0.1";
export const DEVNET_DIR_DEFAULT = "scryp-devnet";
export const DEVNET_NODES_DEFAULT = 3;
/** Each node is a process of ~50 MB on one machine; more than this is no longer a quick try-out. */
export const DEVNET_NODES_MAX = 16;
/** Node k (1-based) listens on base + k - 1; 7400 is the port a lone `scryp node` uses. */
export const DEVNET_PORT_DEFAULT = 7400;
/** Short enough to watch several rotations in a minute, long enough to type a payment. */
export const DEVNET_INTERVAL_MS_DEFAULT = 10_000;
export const DEVNET_BLACKOUT_MS_DEFAULT = 3_000;
/** A handover on loopback takes tens of ms; below 1 s the nodes would do little else. */
export const DEVNET_INTERVAL_MS_MIN = 1_000;
/** The skew derived from it (99 ms) still covers a client's clock read and a loopback round trip. */
export const DEVNET_BLACKOUT_MS_MIN = 200;

/**
 * The clock tolerance for a blackout: as wide as the protocol's default (5 s) when the blackout
 * allows, else the widest that keeps blackout > 2 × skew — the rule that stops one payment from
 * being accepted by two consecutive alphas. All nodes share one clock here, so a small skew is safe.
 */
export function skewForBlackout(blackoutMs: number): number {
  return Math.min(SKEW_MS_DEFAULT, Math.floor((blackoutMs - 1) / 2));
}

/** Where everything of a devnet lives inside its directory. Node numbers are 1-based. */
export function devnetLayout(dir: string) {
  return {
    network: join(dir, "network.json"),
    demoSeed: join(dir, "demo.seed"),
    friendSeed: join(dir, "friend.seed"),
    serverSeed: (node: number) => join(dir, `server-${node}.seed`),
    dataDir: (node: number) => join(dir, `node-${node}`),
    /** Each node's stdout and stderr, appended across runs (the terminal shows one line a window). */
    logsDir: join(dir, "logs"),
    logFile: (node: number) => join(dir, "logs", `node-${node}.log`),
  };
}

export const nodeName = (node: number): string => `node-${node}`;

export interface DevnetParams {
  readonly serverKeys: readonly string[];
  readonly demoKey: string;
  readonly basePort: number;
  readonly intervalMs: number;
  readonly blackoutMs: number;
}

/** The network file of a new devnet. Checked by the same validation every node applies. */
export function buildDevnetNetwork(p: DevnetParams): NetworkFile {
  const file: NetworkFile = {
    servers: p.serverKeys.map((key, i) => ({ key, address: `${DEVNET_HOST}:${p.basePort + i}` })),
    interval: p.intervalMs,
    blackout: p.blackoutMs,
    skew: skewForBlackout(p.blackoutMs),
    genesis: { [p.demoKey]: SUPPLY },
  };
  parseNetwork(file); // throws NetworkFileError naming the field if the devnet built a bad one
  return file;
}

/** What a re-run may ask for; each field only when its flag was given. */
export interface Requested {
  readonly nodes?: number;
  readonly intervalMs?: number;
  readonly blackoutMs?: number;
  readonly basePort?: number;
}

/** A network's shape in the words of the flags: "3 nodes, ports 7400-7402, interval 10s, blackout 3s". */
export function describeDevnet(network: Network): string {
  const ports = network.servers.map((s) => s.port);
  const portText = ports.length === 1 ? `port ${ports[0]}` : `ports ${ports[0]}-${ports.at(-1)}`;
  return `${network.servers.length} node${network.servers.length === 1 ? "" : "s"}, ${portText}, interval ${formatDuration(network.intervalMs)}, blackout ${formatDuration(network.blackoutMs)}`;
}

/**
 * The flags of a re-run that contradict the stored network, as "--flag VALUE" texts. A resumed
 * devnet keeps its network: changing the servers or the schedule under an existing ledger would
 * be a different network.
 */
export function conflictsWithStored(network: Network, requested: Requested): string[] {
  const conflicts: string[] = [];
  if (requested.nodes !== undefined && requested.nodes !== network.servers.length) conflicts.push(`--nodes ${requested.nodes}`);
  if (requested.intervalMs !== undefined && requested.intervalMs !== network.intervalMs) conflicts.push(`--interval ${formatDuration(requested.intervalMs)}`);
  if (requested.blackoutMs !== undefined && requested.blackoutMs !== network.blackoutMs) conflicts.push(`--blackout ${formatDuration(requested.blackoutMs)}`);
  if (requested.basePort !== undefined && requested.basePort !== network.servers[0]!.port) conflicts.push(`--port ${requested.basePort}`);
  return conflicts;
}
