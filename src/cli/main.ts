#!/usr/bin/env bun
// The scryp executable: one binary that is both the server node and the client.
import { MAIN_HELP, COMMAND_HELP } from "./help.ts";
import { UsageError } from "./args.ts";
import { nodeCommand } from "./node-command.ts";
import { keygenCommand, payCommand, balanceCommand } from "./client-commands.ts";
import { devnetCommand } from "./devnet-command.ts";
import { VERSION, COMMIT } from "../version.ts";
import { NetworkFileError } from "../core/network.ts";
import { SeedFileError } from "../io/seed-file.ts";
import { NodeStartError } from "../node/run-node.ts";
import { GenesisMismatchError } from "../ledger/ledger.ts";
import { UnreachableError } from "../client/http-client.ts";
import { NoReplyError } from "../client/udp-send.ts";
import { DataDirLockedError } from "../io/data-dir-lock.ts";

const COMMANDS: Record<string, (argv: string[]) => Promise<number | "running"> | number> = {
  node: nodeCommand,
  keygen: keygenCommand,
  pay: payCommand,
  balance: balanceCommand,
  devnet: devnetCommand,
};

/** Errors the user can act on: printed as one plain line, exit 1. Anything else is a bug. */
const OPERATING_ERRORS = [NetworkFileError, SeedFileError, NodeStartError, GenesisMismatchError, UnreachableError, NoReplyError, DataDirLockedError];

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

main(process.argv.slice(2)).then(
  (status) => {
    if (status !== "running") process.exit(status);
  },
  (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`scryp: ${e.message} (see scryp --help)\n`);
      process.exit(2);
    }
    if (OPERATING_ERRORS.some((cls) => e instanceof cls)) {
      process.stderr.write(`scryp: ${(e as Error).message}\n`);
      process.exit(1);
    }
    process.stderr.write(`scryp: internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(70);
  },
);
