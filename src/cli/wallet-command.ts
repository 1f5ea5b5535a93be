// `scryp wallet`: serves the wallet page (src/wallet/) from this machine, on 127.0.0.1 only, for
// those who would rather not run a page a server hands out (a server could alter the page it
// serves; this one comes from the binary the user runs). The page talks to the network's servers
// directly, from the browser; this process only serves the page, its script and style sheet.
import { join } from "node:path";
import { Hono } from "hono";
import { parse, value, PortSchema, NonEmptySchema } from "./args.ts";
import { DEFAULT_DATA_DIR } from "./node-command.ts";
import { NETWORK_FILE_NAME } from "../node/run-node.ts";
import { readNetworkFile } from "../io/network-file.ts";
import { securityHeaders } from "../node/http-guard.ts";
import { sendError } from "../node/http-errors.ts";
import { createWalletPage } from "../wallet/wallet-page.tsx";
import { systemClock } from "../core/clock.ts";
import type { Network } from "../core/network.ts";
import { VERSION, COMMIT } from "../version.ts";
import { HTTP_IDLE_TIMEOUT_S } from "../core/limits.ts";

/**
 * The default port. A browser keeps the wallet (IndexedDB) per origin, port included: the same
 * port finds the same wallet again, so the default is fixed rather than any free port.
 */
export const WALLET_PORT_DEFAULT = 7480;
/** Only loopback: the page is for the person at this machine. */
const WALLET_HOST = "127.0.0.1";

export class WalletServeError extends Error {
  override name = "WalletServeError";
}

/** The wallet's local server: the page, and a refusal for a Host that is not this address (a DNS-rebinding page). */
export function createLocalWallet(options: { network: Network; port: number }): Hono {
  const app = new Hono();
  const hosts = new Set([`${WALLET_HOST}:${options.port}`, `localhost:${options.port}`]);
  app.use("*", securityHeaders);
  app.use("*", async (c, next) => {
    const host = c.req.header("host");
    if (host !== undefined && !hosts.has(host.toLowerCase())) return sendError(c, "BAD_REQUEST", `this wallet answers only at http://${WALLET_HOST}:${options.port}/wallet`);
    return next();
  });
  app.get("/", (c) => c.redirect("/wallet"));
  app.route("/", createWalletPage({ network: options.network, clock: systemClock, version: `${VERSION} (${COMMIT})`, servedBy: "scryp wallet on this machine" }));
  app.notFound((c) => sendError(c, "NOT_FOUND", `no route ${c.req.method} ${c.req.path}`));
  return app;
}

export async function walletCommand(argv: string[]): Promise<number | "running"> {
  const { values } = parse(argv, { network: { type: "string" }, port: { type: "string" } }, 0);
  if (values.help) return -1;
  const networkPath = values.network === undefined ? join(DEFAULT_DATA_DIR, NETWORK_FILE_NAME) : value(NonEmptySchema, values.network, "--network");
  const port = values.port === undefined ? WALLET_PORT_DEFAULT : value(PortSchema, values.port, "--port");
  const network = readNetworkFile(networkPath);
  const app = createLocalWallet({ network, port });
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({ hostname: WALLET_HOST, port, fetch: app.fetch, idleTimeout: HTTP_IDLE_TIMEOUT_S });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "EADDRINUSE" ? "the port is already in use (a wallet already running?); pick another with --port" : (e as Error).message;
    throw new WalletServeError(`cannot listen on ${WALLET_HOST}:${port}: ${why}`);
  }
  const url = `http://${WALLET_HOST}:${port}/wallet`;
  process.stderr.write(`scryp wallet: the wallet page for the network of ${networkPath} (${network.servers.length} server(s)); Ctrl-C stops it\n`);
  process.stdout.write(`${url}\n`);
  const stop = () => {
    void server.stop(true).then(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  return "running";
}
