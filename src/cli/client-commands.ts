// The client subcommands: keygen, pay, balance. Each takes --json (output.ts).
import { join } from "node:path";
import { parse, value, KeyHexSchema, AmountSchema, UrlSchema, NonEmptySchema, UsageError } from "./args.ts";
import { loadOrCreateSeed, loadSeed } from "../io/seed-file.ts";
import { fromHex, toHex } from "../core/bytes.ts";
import { systemClock } from "../core/clock.ts";
import { pay } from "../client/pay.ts";
import { askAllBalances, balanceTally, type ServerAnswer } from "../client/balance.ts";
import { isPaymentRequestText, parsePaymentRequest } from "../core/payment-request.ts";
import { JSON_OPTION, Output } from "./output.ts";
import { loadTarget, resolveNetwork, type Target } from "../client/target.ts";
import { waitForConfirmation, waitForFinal } from "../client/confirm.ts";

/** --wait gives up after this many windows: consensus normally comes within one. */
const CONFIRM_WINDOWS_MAX = 3;
/** `scryp pay` could not find out whether its payment was accepted (and paid nothing more). */
export const PAY_OUTCOME_UNKNOWN_EXIT = 3;
import { DEFAULT_DATA_DIR, DEFAULT_SEED } from "./node-command.ts";
import { NETWORK_FILE_NAME } from "../node/run-node.ts";

export function keygenCommand(argv: string[]): number {
  const { values } = parse(argv, { seed: { type: "string" }, ...JSON_OPTION }, 0);
  if (values.help) return -1;
  const o = new Output(values.json === true);
  const seedPath = seedPathFrom(values);
  const { keyPair, created } = loadOrCreateSeed(seedPath);
  if (created) o.note(`created seed file ${seedPath} (keep it secret: it is your account)`);
  o.line(toHex(keyPair.publicKey));
  o.document({ id: toHex(keyPair.publicKey), seed: seedPath, created });
  return 0;
}

export const TARGET_OPTIONS = { network: { type: "string" }, node: { type: "string" }, seed: { type: "string" }, ...JSON_OPTION } as const;

export function seedPathFrom(values: { seed?: string }): string {
  return values.seed === undefined ? DEFAULT_SEED : value(NonEmptySchema, values.seed, "--seed");
}

export function targetFrom(values: { network?: string; node?: string }): Target {
  if (values.network !== undefined && values.node !== undefined) throw new UsageError("give --network or --node, not both");
  return loadTarget({
    network: values.network === undefined ? undefined : value(NonEmptySchema, values.network, "--network"),
    node: values.node === undefined ? undefined : value(UrlSchema, values.node, "--node"),
    defaultNetworkPath: join(DEFAULT_DATA_DIR, NETWORK_FILE_NAME),
  });
}

/** PAYEE AMOUNT, or one scryp: payment request in their place. */
function payeeAndAmount(positionals: string[]): { payeeHex: string; amount: number } {
  if (positionals[0] !== undefined && isPaymentRequestText(positionals[0])) {
    if (positionals.length > 1) throw new UsageError("give PAYEE AMOUNT or a scryp: payment request, not both");
    const parsed = parsePaymentRequest(positionals[0]);
    if (!parsed.ok) throw new UsageError(`payment request: ${parsed.message}`);
    return { payeeHex: parsed.request.payee, amount: parsed.request.amount };
  }
  if (positionals.length < 2) throw new UsageError("pay needs PAYEE and AMOUNT (or a scryp: payment request)");
  return { payeeHex: value(KeyHexSchema, positionals[0], "PAYEE"), amount: value(AmountSchema, positionals[1], "AMOUNT") };
}

/** `--wait final` (or `--wait=final`): taken out of argv before parsing, since --wait alone takes no value. */
function takeWaitFinal(argv: string[]): { argv: string[]; waitFinal: boolean } {
  const out = [...argv];
  const eq = out.indexOf("--wait=final");
  if (eq >= 0) {
    out.splice(eq, 1, "--wait");
    return { argv: out, waitFinal: true };
  }
  const at = out.indexOf("--wait");
  if (at >= 0 && out[at + 1] === "final") {
    out.splice(at + 1, 1);
    return { argv: out, waitFinal: true };
  }
  return { argv: out, waitFinal: false };
}

export async function payCommand(rawArgv: string[]): Promise<number> {
  const { argv, waitFinal } = takeWaitFinal(rawArgv);
  const { values, positionals } = parse(argv, { ...TARGET_OPTIONS, http: { type: "boolean" }, wait: { type: "boolean" } }, 2);
  if (values.help) return -1;
  const o = new Output(values.json === true);
  const { payeeHex, amount } = payeeAndAmount(positionals);
  const payee = fromHex(payeeHex, 32)!;
  const seedPath = seedPathFrom(values);
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
      if (ms >= 100) o.note(`waiting ${(ms / 1000).toFixed(1)} s for ${address} to start accepting (blackout)`);
    },
    onRetry: (address, ms) => o.note(`${address} is not accepting yet; trying again in ${ms} ms`),
    onNote: (line) => o.note(line),
  });
  const about = { id: result.id, server: result.server };
  if (result.kind === "unknown") {
    return o.fail({ code: result.code, message: result.message, text: `unknown: ${result.message}`, extra: about }, PAY_OUTCOME_UNKNOWN_EXIT);
  }
  if (result.kind === "rejected") {
    return o.fail({ code: result.code, message: result.message, text: `rejected: ${result.code}: ${result.message} (payment ${result.id}, server ${result.server})`, extra: about });
  }
  const accepted = { id: result.id, payer: toHex(keyPair.publicKey), payee: payeeHex, amount, server: result.server, timestamp: result.timestampMs, how: result.how };
  if (result.how !== null) o.note(`(${result.how})`);
  o.line(`accepted: payment ${result.id} (${amount} scryp to ${payeeHex}, by ${result.server})`);
  if (values.wait !== true) {
    o.document({ status: "accepted", ...accepted });
    return 0;
  }
  const network = await resolveNetwork(target);
  o.note(`waiting for a majority of the ${network.servers.length} server(s) to agree on it…`);
  const confirmation = await waitForConfirmation(network, result.id, result.timestampMs, CONFIRM_WINDOWS_MAX * network.intervalMs);
  if (confirmation.kind === "confirmed") {
    o.line(`confirmed: ${confirmation.servers} of ${confirmation.of} servers hold it in an agreed checkpoint`);
    // Final: agreed by a quorum that one faulty server cannot fake (PROTOCOL §7 step 9). Plain
    // --wait says whether it is yet; --wait final waits for it.
    const finality = await waitForFinal(network, result.timestampMs, waitFinal ? CONFIRM_WINDOWS_MAX * network.intervalMs : 0);
    if (finality.kind === "final") {
      o.line(`final: ${finality.servers} of ${finality.of} servers report its window final`);
      o.document({ status: waitFinal ? "final" : "confirmed", ...accepted, servers: confirmation.servers, of: confirmation.of, final: true });
      return 0;
    }
    if (waitFinal) {
      const message = `payment ${result.id} is agreed but not final in time (${finality.detail}); not final at: ${finality.notFinal.join(", ")}`;
      return o.fail({ code: "NOT_FINAL", message, text: `not final in time: ${finality.detail}; not final at: ${finality.notFinal.join(", ")}`, extra: about });
    }
    o.line(`not final yet: it becomes final once enough servers vote for its window that one faulty server cannot undo it (scryp pay --wait final waits for that)`);
    o.document({ status: "confirmed", ...accepted, servers: confirmation.servers, of: confirmation.of, final: false });
    return 0;
  }
  if (confirmation.kind === "disappeared") {
    const message = `${confirmation.servers} of ${confirmation.of} servers agreed on the ledger without it (its window found no consensus); pay again`;
    return o.fail({ code: "DISAPPEARED", message: `payment ${result.id} disappeared: ${message}`, text: `disappeared: ${message}`, extra: about });
  }
  return o.fail({ code: "NOT_CONFIRMED", message: `payment ${result.id} was accepted but not confirmed in time: ${confirmation.detail}`, text: `not confirmed in time: ${confirmation.detail}`, extra: about });
}

function answerToJson(a: ServerAnswer) {
  if (a.kind === "balance") return { server: a.server, balance: a.balance };
  if (a.kind === "no-account") return { server: a.server, balance: null };
  return { server: a.server, error: a.message };
}

/** The account a command is about: ID when given, else the seed's own (never creating a seed). */
export function accountFrom(id: string | undefined, values: { seed?: string }): string {
  if (id !== undefined) return value(KeyHexSchema, id, "ID");
  return toHex(loadSeed(seedPathFrom(values)).publicKey);
}

export async function balanceCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, TARGET_OPTIONS, 1);
  if (values.help) return -1;
  const o = new Output(values.json === true);
  const idHex = accountFrom(positionals[0], values);
  const target = targetFrom(values);
  const answers = await askAllBalances(target, idHex);
  // A value counts when a strict majority of the servers asked report it.
  const tally = balanceTally(answers);
  for (const a of answers) {
    if (a.kind === "error") o.note(`server ${a.server} did not answer: ${a.message}`);
    else if (tally.disagreeing.includes(a)) o.note(`server ${a.server} disagrees: ${a.kind === "balance" ? `${a.balance} scryp` : "no account"}`);
  }
  const servers = answers.map(answerToJson);
  if (tally.kind === "no-majority") {
    const message = `no majority of the ${answers.length} server(s) agrees on the balance of ${idHex}`;
    return o.fail({ code: "NO_MAJORITY", message, text: message, extra: { servers } });
  }
  if (tally.kind === "no-account") {
    const message = `account ${idHex} does not exist (it has never received a payment)`;
    return o.fail({ code: "UNKNOWN_ACCOUNT", message, text: message });
  }
  o.line(`${tally.balance} scryp (account ${idHex})`);
  o.document({ id: idHex, balance: tally.balance, servers });
  return 0;
}
