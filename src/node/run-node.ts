// Starts a node: identity, network, ledger, intake, then the UDP and HTTP adapters on one port.
import { mkdirSync, writeFileSync, accessSync, constants } from "node:fs";
import { join } from "node:path";
import { loadOrCreateSeed } from "../io/seed-file.ts";
import { lockDataDir } from "../io/data-dir-lock.ts";
import { readNetworkFile } from "../io/network-file.ts";
import { parseNetwork, serverIndex, singleServerNetwork, type Network } from "../core/network.ts";
import { toHex } from "../core/bytes.ts";
import { systemClock, type Clock } from "../core/clock.ts";
import { Ledger } from "../ledger/ledger.ts";
import { openLedger } from "./open-ledger.ts";
import type { PaymentIntake } from "./payment-intake.ts";
import { composeNode, TICK_MS } from "./compose.ts";
import { VerifyPool } from "./verify-pool.ts";
import { availableParallelism } from "node:os";
import { verifySignature } from "../core/verify.ts";
import { createHttpApi } from "./http-api.ts";
import { startUdpServer } from "./udp-server.ts";
import type { Coordinator, Effect } from "../core/consensus/coordinator.ts";
import { createPeerApi } from "./peer-api.ts";
import { PeerLink } from "./peer-link.ts";
import { createStatusPage } from "./status-page.tsx";
import { createWalletPage } from "../wallet/wallet-page.tsx";
import { PeerClocks } from "./peer-clock.ts";
import { metricsHandler } from "./metrics.ts";
import type { Logger } from "./log.ts";
import { Faults, FAULT_LOG_INTERVAL_MS } from "./faults.ts";
import { VERSION, COMMIT } from "../version.ts";
import { raiseAndLogFileLimit } from "./fd-limit.ts";
import { HTTP_IDLE_TIMEOUT_S } from "../core/limits.ts";
import { peerLimits } from "../core/consensus/peer-limits.ts";
import { StorageError } from "../core/errors.ts";
import { StorageMonitor, STORAGE_CHECK_INTERVAL_MS } from "./storage-monitor.ts";

export const DEFAULT_PORT = 7400;
export const DEFAULT_HOST = "127.0.0.1";
export const NETWORK_FILE_NAME = "network.json";
export const LEDGER_FILE_NAME = "ledger.sqlite";
/** Bun's request body bound is this far above the largest body a route takes (see Bun.serve below). */
const HTTP_BODY_BOUND_MARGIN_BYTES = 1024 * 1024;
/** Peer clocks are compared a few seconds after start (peers starting too), then every minute. */
const CLOCK_CHECK_FIRST_MS = 5_000;
const CLOCK_CHECK_INTERVAL_MS = 60_000;

export interface NodeConfig {
  readonly networkPath?: string;
  readonly seedPath: string;
  readonly dataDir: string;
  readonly port?: number;
  readonly host?: string;
  readonly clock?: Clock;
  readonly log: Logger;
}

/** A start-up problem the operator can fix; printed in plain words, exit 1. */
export class NodeStartError extends Error {
  override name = "NodeStartError";
}

export interface RunningNode {
  readonly keyHex: string;
  readonly host: string;
  readonly port: number;
  readonly network: Network;
  readonly ledger: Ledger;
  readonly intake: PaymentIntake;
  readonly coordinator: Coordinator;
  stop(): Promise<void>;
}

function ensureWritableDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new NodeStartError(`data directory ${dir} is not writable: ${(e as Error).message}`);
  }
}

export async function startNode(config: NodeConfig): Promise<RunningNode> {
  const { log } = config;
  const { keyPair, created } = loadOrCreateSeed(config.seedPath);
  const keyHex = toHex(keyPair.publicKey);
  log.info("keys", `${created ? "created seed" : "loaded seed"} ${config.seedPath}; server key ${keyHex}`);

  ensureWritableDir(config.dataDir);
  const unlock = lockDataDir(config.dataDir);
  try {
    return await startLocked(config, keyPair, keyHex, unlock);
  } catch (e) {
    unlock();
    throw e;
  }
}

async function startLocked(config: NodeConfig, keyPair: { seed: Uint8Array; publicKey: Uint8Array }, keyHex: string, unlock: () => void): Promise<RunningNode> {
  const { log } = config;
  const clock = config.clock ?? systemClock;
  const faults = new Faults(log, clock);
  let network: Network;
  let defaultNetworkText: string | null = null;
  if (config.networkPath !== undefined) {
    network = readNetworkFile(config.networkPath);
  } else {
    // No network file: a one-server network of this node, holding the whole supply, written into
    // the data directory so clients (and the operator) can use it.
    const address = `${config.host ?? DEFAULT_HOST}:${config.port ?? DEFAULT_PORT}`;
    const file = singleServerNetwork(keyHex, address);
    network = parseNetwork(file);
    defaultNetworkText = JSON.stringify(file, null, 2) + "\n";
  }
  const index = serverIndex(network, keyHex);
  if (index < 0) {
    throw new NodeStartError(`this server's key ${keyHex} is not in the network file; add it to "servers" or use the right --seed`);
  }
  const entry = network.servers[index]!;
  const host = config.host ?? entry.host;
  const port = config.port ?? entry.port;

  const ledger = openLedger(join(config.dataDir, LEDGER_FILE_NAME), { genesis: network.genesis, nowMs: clock.now() });
  if (defaultNetworkText !== null) {
    // Written only once the ledger accepted this network: a node refused for another genesis
    // must not repoint the clients that read this file.
    writeFileSync(join(config.dataDir, NETWORK_FILE_NAME), defaultNetworkText);
    log.info("node", `no --network given: running a one-server network; wrote ${join(config.dataDir, NETWORK_FILE_NAME)}`);
  }
  const totals = ledger.totals();
  log.info("ledger", `opened ${join(config.dataDir, LEDGER_FILE_NAME)}`, { accounts: totals.accounts, payments: totals.payments, stateHash: totals.stateHash });

  // A full disk or an I/O error stops the accepting, not the node (src/node/storage-monitor.ts).
  const storage = new StorageMonitor(ledger, config.dataDir, clock, log);
  ledger.onStorageError = (e) => storage.noteError(e);
  // Signature checks on the other cores: one worker per core beyond this thread's.
  const verifyPool = new VerifyPool(Math.max(1, availableParallelism() - 1));
  // The ledger, coordinator and intake, wired as the simulator wires them (compose.ts). The
  // storage comes first in the gate: a node that cannot write says so, whatever its role.
  // The peer link is made after the node (it needs the coordinator); effects of a commit group
  // reach it through this indirection.
  let runEffects: (effects: Effect[]) => void = () => {};
  const node = composeNode({
    runEffects: (effects) => runEffects(effects),
    network,
    selfIndex: index,
    seed: keyPair.seed,
    ledger,
    clock,
    verify: verifySignature,
    log,
    defer: (fn) => void setImmediate(fn),
    verifyPool,
    refusal: () => storage.refusal(),
    onStorageError: (what, e) => faults.record("storage_failing", "coordinator", `${what} not stored, will retry: ${e.message}`),
    onCommitError: (e) => {
      // Throttled: under load a failing disk refuses every group.
      if (e instanceof StorageError) faults.record("storage_failing", "ledger", `commit failed; the group was not accepted: ${e.message}`);
      else log.error("ledger", `commit failed; the group was not accepted: ${(e as Error).message}`);
    },
  });
  const { coordinator, intake, gate } = node;
  const consensusStatus = (nowMs: number) => ({ ...coordinator.status(nowMs), accepting: gate(nowMs) === null });
  const peers = new PeerLink(network, index, coordinator, clock, log, keyPair.seed, () => storage.ok);
  runEffects = peers.run;

  const app = createHttpApi({
    intake,
    ledger,
    network,
    clock,
    keyHex,
    version: `${VERSION} (${COMMIT})`,
    faults,
    statusExtra: () => ({ ...consensusStatus(clock.now()), storage: storage.status() }),
    finalWindow: () => coordinator.final.window,
  });
  app.route("/peer", createPeerApi({ coordinator, ledger, network, selfIndex: index, clock, verify: verifySignature, faults, run: peers.run, receive: node.receive }));
  const peerClocks = new PeerClocks(network, index, clock);
  app.route(
    "/",
    createStatusPage({
      ledger,
      network,
      clock,
      keyHex,
      selfIndex: index,
      version: `${VERSION} (${COMMIT})`,
      status: consensusStatus,
      storage: () => storage.status(),
      pendingCount: () => intake.pendingCount,
      peerClocks,
    }),
  );
  app.route("/", createWalletPage({ network, clock, version: `${VERSION} (${COMMIT})`, servedBy: `node ${keyHex.slice(0, 8)}… (${network.servers[index]!.address})` }));
  app.get("/metrics", metricsHandler({ version: VERSION, commit: COMMIT, intake, coordinator, peers, ledger, faults, storage }));
  let http: ReturnType<typeof Bun.serve>;
  let udp: Awaited<ReturnType<typeof startUdpServer>>;
  try {
    udp = await startUdpServer({ host, port, intake, faults });
  } catch (e) {
    ledger.close();
    throw new NodeStartError(`cannot listen on UDP ${host}:${port}: ${portProblem(e)}`);
  }
  // Each connection holds a descriptor: as many as the system lets this process hold.
  raiseAndLogFileLimit(log);
  try {
    // The largest body any route takes is a peer message (a handover of a full window): Bun's
    // own bound says so explicitly rather than by its default. It sits one margin above the
    // routes' own bounds so that a body just past them gets the routes' JSON 413 (with code),
    // and only a body far beyond gets Bun's bare one.
    const bodyBytesMax = peerLimits(network.capacity).peerMessageBytesMax + HTTP_BODY_BOUND_MARGIN_BYTES;
    http = Bun.serve({ hostname: host, port, fetch: app.fetch, idleTimeout: HTTP_IDLE_TIMEOUT_S, maxRequestBodySize: bodyBytesMax });
  } catch (e) {
    udp.close();
    ledger.close();
    throw new NodeStartError(`cannot listen on TCP ${host}:${port}: ${portProblem(e)}`);
  }
  log.info("node", `serving UDP and HTTP on ${host}:${port}`, { servers: network.servers.length, index });
  // The schedule runs from this server's own clock; a tick every TICK_MS drives handovers,
  // deadlines and catch-up.
  const ticker = setInterval(() => peers.run(node.tick()), TICK_MS);
  // Every server runs the schedule from its own clock: warn when a peer's is off by more than
  // half the skew (then two servers may both believe they are alpha near a switch).
  const clockCheck = () =>
    void peerClocks.read().then((snapshot) => {
      for (const p of snapshot.peers) {
        if (p.self || p.offsetMs === null) continue;
        if (Math.abs(p.offsetMs) - (p.roundTripMs ?? 0) / 2 > network.skewMs / 2) {
          log.warn("peers", `clock off from ${p.address} by ${(p.offsetMs / 1000).toFixed(2)} s, more than skew/2 (${network.skewMs / 2000} s): check NTP on both servers`, { peer: p.key });
        }
      }
    });
  const faultSummaries = setInterval(() => faults.flush(), FAULT_LOG_INTERVAL_MS);
  const storageChecker = setInterval(() => storage.check(clock.now(), intake.pendingCount === 0), STORAGE_CHECK_INTERVAL_MS);
  const clockChecker = network.servers.length > 1 ? setInterval(clockCheck, CLOCK_CHECK_INTERVAL_MS) : null;
  const firstClockCheck = network.servers.length > 1 ? setTimeout(clockCheck, CLOCK_CHECK_FIRST_MS) : null;
  peers.run(node.tick());

  let stopped = false;
  return {
    keyHex,
    host,
    port,
    network,
    ledger,
    intake,
    coordinator,
    async stop() {
      if (stopped) return;
      stopped = true;
      // Stop taking payments, answer what is queued (committed first), then close.
      clearInterval(ticker);
      clearInterval(faultSummaries);
      clearInterval(storageChecker);
      if (clockChecker !== null) clearInterval(clockChecker);
      if (firstClockCheck !== null) clearTimeout(firstClockCheck);
      intake.stop();
      verifyPool.close();
      udp.close();
      await http.stop(true);
      ledger.close();
      unlock();
      log.info("node", "stopped");
    },
  };
}

function portProblem(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "EADDRINUSE") return "the port is already in use (another scryp node?); pick another with --port";
  if (code === "EACCES") return "permission denied (ports below 1024 need privileges)";
  return (e as Error).message;
}
