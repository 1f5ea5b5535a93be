// `scryp node`: runs a server until SIGINT/SIGTERM, then stops cleanly (exit 0), also when the
// signal comes while it is still starting.
import * as v from "valibot";
import { parse, value, PortSchema, NonEmptySchema, LogFormatSchema } from "./args.ts";
import { NodeStartError, startNode, type RunningNode } from "../node/run-node.ts";
import { createLogger } from "../node/log.ts";

export const DEFAULT_SEED = ".seed";
export const DEFAULT_DATA_DIR = "scryp-data";

export async function nodeCommand(argv: string[]): Promise<number | "running"> {
  const { values } = parse(
    argv,
    {
      network: { type: "string" },
      seed: { type: "string" },
      data: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      log: { type: "string" },
    },
    0,
  );
  if (values.help) return -1;
  const log = createLogger(values.log === undefined ? "text" : value(LogFormatSchema, values.log, "--log"));
  const dataDir = values.data === undefined ? DEFAULT_DATA_DIR : value(NonEmptySchema, values.data, "--data");
  const config = {
    networkPath: values.network === undefined ? undefined : value(NonEmptySchema, values.network, "--network"),
    seedPath: values.seed === undefined ? DEFAULT_SEED : value(NonEmptySchema, values.seed, "--seed"),
    dataDir,
    port: values.port === undefined ? undefined : value(PortSchema, values.port, "--port"),
    host: values.host === undefined ? undefined : value(v.pipe(v.string(), v.minLength(1, "must not be empty")), values.host, "--host"),
    log,
  };
  // The handlers go in before the start, not after: a signal that arrives while the node starts
  // (seed, lock, ledger, sockets) would otherwise get the default action, killing the process with
  // the lock taken and the ledger half opened. One that arrives then is kept and acted on once
  // startNode returns. Every signal is handled (not just the first): a process group's kill
  // (systemd, `timeout`, the devnet forwarding one) can deliver two, and the default action would
  // skip the flush.
  let node: RunningNode | null = null;
  let signalled: string | null = null;
  const shutdown = (running: RunningNode, signal: string) => {
    log.info("node", `${signal}: stopping (committing queued payments first)`);
    running.stop().then(
      () => process.exit(0),
      (e) => {
        log.error("node", `stop failed: ${(e as Error).message}`);
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: string) => {
    if (signalled !== null) return log.info("node", `${signal}: already stopping`);
    signalled = signal;
    if (node === null) return log.info("node", `${signal}: stopping as soon as the start is done`);
    shutdown(node, signal);
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  try {
    node = await startNode(config);
  } catch (e) {
    throw diskProblem(e, dataDir) ?? e;
  }
  if (signalled !== null) shutdown(node, signalled);
  return "running";
}

/** The system's codes for a disk the operator must fix: full, over quota, read-only, denied, failing. */
const DISK_ERROR_CODES = new Set(["ENOSPC", "EDQUOT", "EROFS", "EACCES", "EPERM", "EIO"]);

/**
 * A file system error left unwrapped by the start (writing network.json into the data directory)
 * is the disk's fault, not a bug: a plain NodeStartError. Anything else is returned as null.
 */
function diskProblem(e: unknown, dataDir: string): NodeStartError | null {
  const error = e as NodeJS.ErrnoException;
  if (!(e instanceof Error) || typeof error.code !== "string" || !DISK_ERROR_CODES.has(error.code) || typeof error.syscall !== "string") return null;
  const what = error.code === "ENOSPC" || error.code === "EDQUOT" ? "the disk is full; free some space and start again" : "check the disk and its permissions";
  return new NodeStartError(`cannot write to data directory ${dataDir}: ${error.message}; ${what}`);
}
