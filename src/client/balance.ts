// `scryp balance`: an account's balance as the server(s) report it.
import { errorOf, requestJson } from "./http-client.ts";
import { httpBase, nodeEntry, type Target } from "./target.ts";

export type ServerAnswer =
  | { server: string; kind: "balance"; balance: number }
  | { server: string; kind: "no-account" }
  | { server: string; kind: "error"; message: string };

export async function askBalance(server: { host: string; port: number }, idHex: string): Promise<ServerAnswer> {
  const name = `${server.host}:${server.port}`;
  try {
    const answer = await requestJson(`${httpBase(server)}/accounts/${idHex}`);
    if (answer.status === 200) {
      const balance = (answer.json as { balance?: unknown }).balance;
      if (typeof balance === "number") return { server: name, kind: "balance", balance };
    }
    if (answer.status === 404) return { server: name, kind: "no-account" };
    return { server: name, kind: "error", message: errorOf(answer.json)?.message ?? `HTTP ${answer.status}` };
  } catch (e) {
    return { server: name, kind: "error", message: (e as Error).message };
  }
}

/** Asks every server of the target; the caller decides what agreement means. */
export async function askAllBalances(target: Target, idHex: string): Promise<ServerAnswer[]> {
  const servers = target.kind === "node" ? [nodeEntry(target.url)] : target.network.servers;
  return Promise.all(servers.map((s) => askBalance(s, idHex)));
}
