// `scryp node`: runs a server until SIGINT/SIGTERM, then stops cleanly (exit 0).
import * as v from "valibot";
import { parse, value, PortSchema, NonEmptySchema, LogFormatSchema } from "./args.ts";
import { startNode } from "../node/run-node.ts";
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
  const node = await startNode({
    networkPath: values.network === undefined ? undefined : value(NonEmptySchema, values.network, "--network"),
    seedPath: values.seed === undefined ? DEFAULT_SEED : value(NonEmptySchema, values.seed, "--seed"),
    dataDir: values.data === undefined ? DEFAULT_DATA_DIR : value(NonEmptySchema, values.data, "--data"),
    port: values.port === undefined ? undefined : value(PortSchema, values.port, "--port"),
    host: values.host === undefined ? undefined : value(v.pipe(v.string(), v.minLength(1, "must not be empty")), values.host, "--host"),
    log,
  });
  const shutdown = (signal: string) => {
    log.info("node", `${signal}: stopping (committing queued payments first)`);
    node.stop().then(
      () => process.exit(0),
      (e) => {
        log.error("node", `stop failed: ${(e as Error).message}`);
        process.exit(1);
      },
    );
  };
  // Every signal is handled (not just the first): a process group's kill (systemd, `timeout`,
  // the devnet forwarding one) can deliver two, and the default action would skip the flush.
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) return log.info("node", `${signal}: already stopping`);
    stopping = true;
    shutdown(signal);
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  return "running";
}
