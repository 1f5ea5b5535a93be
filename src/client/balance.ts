// `scryp balance`: an account's balance as the server(s) report it (the rule: balance-tally.ts).
import { askBalance, type ServerAnswer } from "./balance-tally.ts";
import { nodeEntry, type Target } from "./target.ts";

export { askBalance, balanceTally, type BalanceTally, type ServerAnswer } from "./balance-tally.ts";

/** Asks every server of the target; the caller decides what agreement means. */
export async function askAllBalances(target: Target, idHex: string): Promise<ServerAnswer[]> {
  const servers = target.kind === "node" ? [nodeEntry(target.url)] : target.network.servers;
  return Promise.all(servers.map((s) => askBalance(s, idHex)));
}
