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
  process.once("SIGINT", () => shutdown("SIGINT"));
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  return "running";
}
