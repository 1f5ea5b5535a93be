#!/usr/bin/env bun
// The scryp executable: one binary that is both the server node and the client.
import { MAIN_HELP, COMMAND_HELP } from "./help.ts";
import { UsageError } from "./args.ts";
import { nodeCommand } from "./node-command.ts";
import { keygenCommand, payCommand, balanceCommand } from "./client-commands.ts";
import { historyCommand, txCommand, statusCommand, requestCommand } from "./query-commands.ts";
import { JSON_COMMANDS, errorDocument, jsonRequested } from "./output.ts";
import { devnetCommand } from "./devnet-command.ts";
import { walletCommand, WalletServeError } from "./wallet-command.ts";
import { VERSION, COMMIT } from "../version.ts";
import { NetworkFileError } from "../core/network.ts";
import { SeedFileError } from "../io/seed-file.ts";
import { NodeStartError } from "../node/run-node.ts";
import { GenesisMismatchError } from "../ledger/ledger.ts";
import { UnreachableError } from "../client/http-client.ts";
import { DataDirLockedError } from "../io/data-dir-lock.ts";

const COMMANDS: Record<string, (argv: string[]) => Promise<number | "running"> | number> = {
  node: nodeCommand,
  keygen: keygenCommand,
  pay: payCommand,
  balance: balanceCommand,
  history: historyCommand,
  tx: txCommand,
  status: statusCommand,
  request: requestCommand,
  devnet: devnetCommand,
  wallet: walletCommand,
};

/** Errors the user can act on: printed as one plain line, exit 1, with the code --json gives them. Anything else is a bug. */
const OPERATING_ERRORS: [new (...args: never[]) => Error, string][] = [
  [NetworkFileError, "NETWORK_FILE"],
  [SeedFileError, "SEED_FILE"],
  [NodeStartError, "NODE_START"],
  [GenesisMismatchError, "GENESIS_MISMATCH"],
  [UnreachableError, "UNREACHABLE"],
  [DataDirLockedError, "DATA_DIR_LOCKED"],
  [WalletServeError, "WALLET_START"],
];

async function main(argv: string[]): Promise<number | "running"> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    // No command is a usage error: the help goes to stderr, as error output.
    process.stderr.write(MAIN_HELP);
    return 2;
  }
  if (command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(MAIN_HELP);
    return 0;
  }
  if (command === "--version" || command === "-v") {
    process.stdout.write(`scryp ${VERSION} (${COMMIT})\n`);
    return 0;
  }
  const run = COMMANDS[command];
  if (run === undefined) throw new UsageError(command.startsWith("-") ? `unknown option '${command}'` : `unknown command '${command}'`);
  const status = await run(rest);
  if (status === -1) {
    process.stdout.write(COMMAND_HELP[command]!);
    return 0;
  }
  return status;
}

const argv = process.argv.slice(2);
// A command that takes --json reports its errors as one JSON document too (output.ts).
const json = argv[0] !== undefined && JSON_COMMANDS.has(argv[0]) && jsonRequested(argv.slice(1));

function failWith(code: string, message: string, text: string, exitCode: number): never {
  process.stderr.write(json ? JSON.stringify(errorDocument(code, message)) + "\n" : text + "\n");
  process.exit(exitCode);
}

main(argv).then(
  (status) => {
    if (status !== "running") process.exit(status);
  },
  (e: unknown) => {
    if (e instanceof UsageError) failWith("USAGE", e.message, `scryp: ${e.message} (see scryp --help)`, 2);
    const operating = OPERATING_ERRORS.find(([cls]) => e instanceof cls);
    if (operating !== undefined) failWith(operating[1], (e as Error).message, `scryp: ${(e as Error).message}`, 1);
    failWith("INTERNAL", String(e), `scryp: internal error: ${(e as Error).stack ?? String(e)}`, 70);
  },
);
