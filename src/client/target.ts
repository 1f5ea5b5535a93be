// Where a client sends: every server of a network file (it computes the alpha itself), or one
// node given by URL (it then asks that node for its network file).
import { readNetworkFile } from "../io/network-file.ts";
import { httpBase, parseNetwork, type Network, type ServerEntry } from "../core/network.ts";

export { httpBase };
import { requestJson, UnreachableError } from "./http-client.ts";

export type Target = { kind: "network"; network: Network } | { kind: "node"; url: URL };

/** The network of a target: read from the file, or fetched from the node's GET /network. */
export async function resolveNetwork(target: Target): Promise<Network> {
  if (target.kind === "network") return target.network;
  const answer = await requestJson(new URL("/network", target.url).toString());
  if (answer.status !== 200) throw new UnreachableError(`${target.url.origin} did not give its network file (HTTP ${answer.status})`);
  return parseNetwork(answer.json);
}

export function loadTarget(opts: { network?: string; node?: string; defaultNetworkPath: string }): Target {
  if (opts.node !== undefined) return { kind: "node", url: new URL(opts.node) };
  return { kind: "network", network: readNetworkFile(opts.network ?? opts.defaultNetworkPath) };
}

/** The node entry for a --node URL (host and port of the URL; UDP uses the same port). */
export function nodeEntry(url: URL): Pick<ServerEntry, "host" | "port"> {
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port: Number(url.port || (url.protocol === "https:" ? 443 : 80)) };
}
