// The client subcommands: keygen, pay, balance.
import { join } from "node:path";
import { parse, value, KeyHexSchema, AmountSchema, UrlSchema, NonEmptySchema, UsageError } from "./args.ts";
import { loadOrCreateSeed, loadSeed } from "../io/seed-file.ts";
import { fromHex, toHex } from "../core/bytes.ts";
import { systemClock } from "../core/clock.ts";
import { pay } from "../client/pay.ts";
import { askAllBalances } from "../client/balance.ts";
import { loadTarget, resolveNetwork, type Target } from "../client/target.ts";
import { waitForConfirmation } from "../client/confirm.ts";

/** --wait gives up after this many windows: consensus normally comes within one. */
const CONFIRM_WINDOWS_MAX = 3;
/** `scryp pay` could not find out whether its payment was accepted (and paid nothing more). */
export const PAY_OUTCOME_UNKNOWN_EXIT = 3;
import { DEFAULT_DATA_DIR, DEFAULT_SEED } from "./node-command.ts";
import { NETWORK_FILE_NAME } from "../node/run-node.ts";

const out = (line: string) => process.stdout.write(line + "\n");
const err = (line: string) => process.stderr.write(line + "\n");

export function keygenCommand(argv: string[]): number {
  const { values } = parse(argv, { seed: { type: "string" } }, 0);
  if (values.help) return -1;
  const seedPath = values.seed === undefined ? DEFAULT_SEED : value(NonEmptySchema, values.seed, "--seed");
  const { keyPair, created } = loadOrCreateSeed(seedPath);
  if (created) err(`created seed file ${seedPath} (keep it secret: it is your account)`);
  out(toHex(keyPair.publicKey));
  return 0;
}

const TARGET_OPTIONS = { network: { type: "string" }, node: { type: "string" }, seed: { type: "string" } } as const;

function targetFrom(values: { network?: string; node?: string }): Target {
  if (values.network !== undefined && values.node !== undefined) throw new UsageError("give --network or --node, not both");
  return loadTarget({
    network: values.network === undefined ? undefined : value(NonEmptySchema, values.network, "--network"),
    node: values.node === undefined ? undefined : value(UrlSchema, values.node, "--node"),
    defaultNetworkPath: join(DEFAULT_DATA_DIR, NETWORK_FILE_NAME),
  });
}

export async function payCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...TARGET_OPTIONS, http: { type: "boolean" }, wait: { type: "boolean" } }, 2);
  if (values.help) return -1;
  if (positionals.length < 2) throw new UsageError("pay needs PAYEE and AMOUNT");
  const payee = fromHex(value(KeyHexSchema, positionals[0], "PAYEE"), 32)!;
  const amount = value(AmountSchema, positionals[1], "AMOUNT");
  const seedPath = values.seed === undefined ? DEFAULT_SEED : value(NonEmptySchema, values.seed, "--seed");
  const target = targetFrom(values);
  const { keyPair } = loadOrCreateSeed(seedPath);
  const result = await pay({
    target,
    keyPair,
    payee,
    amount,
    http: values.http === true,
    clock: systemClock,
    // A wait too short to notice is not worth a line.
    onWait: (ms, address) => {
      if (ms >= 100) err(`waiting ${(ms / 1000).toFixed(1)} s for ${address} to start accepting (blackout)`);
    },
    onRetry: (address, ms) => err(`${address} is not accepting yet; trying again in ${ms} ms`),
    onNote: (line) => err(line),
  });
  if (result.kind === "unknown") {
    err(`unknown: ${result.message}`);
    return PAY_OUTCOME_UNKNOWN_EXIT;
  }
  if (result.accepted) {
    if (result.how !== null) err(`(${result.how})`);
    out(`accepted: payment ${result.id} (${amount} scryp to ${toHex(payee)}, by ${result.server})`);
    if (values.wait !== true) return 0;
    const network = await resolveNetwork(target);
    err(`waiting for a majority of the ${network.servers.length} server(s) to agree on it…`);
    const confirmation = await waitForConfirmation(network, result.id, result.timestampMs, CONFIRM_WINDOWS_MAX * network.intervalMs);
    if (confirmation.kind === "confirmed") {
      out(`confirmed: ${confirmation.servers} of ${confirmation.of} servers hold it in an agreed checkpoint`);
      return 0;
    }
    if (confirmation.kind === "disappeared") {
      err(`disappeared: ${confirmation.servers} of ${confirmation.of} servers agreed on the ledger without it (its window found no consensus); pay again`);
      return 1;
    }
    err(`not confirmed in time: ${confirmation.detail}`);
    return 1;
  }
  err(`rejected: ${result.code}: ${result.message} (payment ${result.id}, server ${result.server})`);
  return 1;
}

export async function balanceCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, TARGET_OPTIONS, 1);
  if (values.help) return -1;
  let idHex: string;
  if (positionals[0] !== undefined) {
    idHex = value(KeyHexSchema, positionals[0], "ID");
  } else {
    const seedPath = values.seed === undefined ? DEFAULT_SEED : value(NonEmptySchema, values.seed, "--seed");
    idHex = toHex(loadSeed(seedPath).publicKey);
  }
  const target = targetFrom(values);
  const answers = await askAllBalances(target, idHex);
  // A value counts when a strict majority of the servers asked report it.
  const tally = new Map<string, number>();
  for (const a of answers) {
    const key = a.kind === "balance" ? String(a.balance) : a.kind === "no-account" ? "none" : null;
    if (key !== null) tally.set(key, (tally.get(key) ?? 0) + 1);
  }
  const majority = [...tally.entries()].find(([, n]) => n * 2 > answers.length)?.[0];
  for (const a of answers) {
    if (a.kind === "error") err(`server ${a.server} did not answer: ${a.message}`);
    else if (majority !== undefined && (a.kind === "balance" ? String(a.balance) : "none") !== majority) {
      err(`server ${a.server} disagrees: ${a.kind === "balance" ? `${a.balance} scryp` : "no account"}`);
    }
  }
  if (majority === undefined) {
    err(`no majority of the ${answers.length} server(s) agrees on the balance of ${idHex}`);
    return 1;
  }
  if (majority === "none") {
    err(`account ${idHex} does not exist (it has never received a payment)`);
    return 1;
  }
  out(`${majority} scryp (account ${idHex})`);
  return 0;
}
