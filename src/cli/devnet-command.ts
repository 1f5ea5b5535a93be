// `scryp devnet`: a whole network on this machine in one command, to try scryp out. It creates (or
// resumes) a directory holding the server seeds, a network file whose genesis funds a demo account,
// and the nodes' ledgers; runs one `scryp node` child process per server on loopback; prints
// commands ready to paste; and stops every node together on Ctrl-C or SIGTERM.
//
// Decisions (also in `scryp devnet --help`):
//  - DIR defaults to ./scryp-devnet; node k listens on 127.0.0.1:(port + k - 1), port 7400 by default.
//  - skew = min(5 s, (blackout - 1) / 2 rounded down): blackout > 2 × skew always holds, and one
//    clock serves every node, so a small skew costs nothing.
//  - Genesis: the whole supply to DIR/demo.seed. DIR/friend.seed is a second, empty account, so
//    the printed payment works as pasted.
//  - A DIR that holds a network.json is resumed as it is (its seeds must be there). A flag that
//    contradicts it (--nodes, --interval, --blackout, --port) is a usage error, not silently
//    ignored and not silently applied: either would run a network other than the one asked for.
import * as v from "valibot";
import { existsSync, mkdirSync, realpathSync, renameSync, writeFileSync } from "node:fs";
import { parse, value, PortSchema, NonEmptySchema, UsageError } from "./args.ts";
import { loadOrCreateSeed } from "../io/seed-file.ts";
import { readNetworkFile } from "../io/network-file.ts";
import { parseNetwork, type Network } from "../core/network.ts";
import { toHex } from "../core/bytes.ts";
import { windowAt } from "../core/schedule.ts";
import { formatDuration, parseDurationMs } from "../devnet/duration.ts";
import {
  DEVNET_BLACKOUT_MS_DEFAULT,
  DEVNET_BLACKOUT_MS_MIN,
  DEVNET_DIR_DEFAULT,
  DEVNET_HOST,
  DEVNET_INTERVAL_MS_DEFAULT,
  DEVNET_INTERVAL_MS_MIN,
  DEVNET_NODES_DEFAULT,
  DEVNET_NODES_MAX,
  DEVNET_PORT_DEFAULT,
  buildDevnetNetwork,
  conflictsWithStored,
  describeDevnet,
  devnetLayout,
  nodeName,
  type Requested,
} from "../devnet/devnet-network.ts";
import {
  AGAIN_HINT,
  commandLine,
  commandsAgain,
  exitBlock,
  inputAction,
  isCompiledMain,
  pasteBlock,
  scrypWords,
  type Invocation,
  type PasteBlockInput,
} from "../devnet/paste-commands.ts";
import { Supervisor } from "../devnet/supervisor.ts";
import { NodeLogError, openNodeLog, type LineSink } from "../devnet/node-log.ts";
import { advanceLive, formatWindowLine, startLive, type StatusSample } from "../devnet/live-line.ts";
import { scheduleOf } from "../core/network.ts";

/** After SIGTERM a node commits what is queued and closes its ledger: well under a second. */
const NODE_STOP_MS_MAX = 5_000;
/** From spawn to GET /status answering: start-up is opening the ledger, ~100 ms. */
const NODE_START_MS_MAX = 15_000;
/** A first window is agreed within two windows of the nodes being up; past this, say so. */
const AGREEMENT_WINDOWS_MAX = 4;
const STATUS_POLL_MS = 100;
/**
 * Once ready, each node's status is read every interval / 4, at most each second: a window's count
 * can be read from its agreement to the next blackout, most of an interval, so none is missed.
 */
const LIVE_POLL_MS_MAX = 1_000;
const LIVE_POLLS_PER_WINDOW = 4;
const STATUS_TIMEOUT_MS = 1_000;
/** The amount in the printed example payment. */
const EXAMPLE_AMOUNT = 100;

/** A problem the user can fix (a port in use, a damaged DIR): one line, exit 1. */
class DevnetError extends Error {
  override name = "DevnetError";
}

const DurationSchema = v.pipe(
  v.string(),
  v.check((text) => parseDurationMs(text) !== null, "must be a duration such as 10s, 2m or 1500ms"),
  v.transform((text) => parseDurationMs(text)!),
);
const NodesSchema = v.pipe(
  v.string(),
  v.regex(/^\d{1,3}$/, "must be a whole number of nodes"),
  v.transform(Number),
  v.minValue(1, `must be 1 to ${DEVNET_NODES_MAX}`),
  v.maxValue(DEVNET_NODES_MAX, `must be 1 to ${DEVNET_NODES_MAX}`),
);

/** The default blackout: 3 s, or 30% of a shorter interval, so `--interval 2s` alone works. */
const defaultBlackoutMs = (intervalMs: number): number => Math.min(DEVNET_BLACKOUT_MS_DEFAULT, Math.round(intervalMs * 0.3));

export async function devnetCommand(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      nodes: { type: "string" },
      interval: { type: "string" },
      blackout: { type: "string" },
      dir: { type: "string" },
      port: { type: "string" },
    },
    0,
  );
  if (values.help) return -1;
  // Every flag is checked before anything touches the disk.
  const requested = {
    nodes: values.nodes === undefined ? undefined : value(NodesSchema, values.nodes, "--nodes"),
    intervalMs: values.interval === undefined ? undefined : value(DurationSchema, values.interval, "--interval"),
    blackoutMs: values.blackout === undefined ? undefined : value(DurationSchema, values.blackout, "--blackout"),
    basePort: values.port === undefined ? undefined : value(PortSchema, values.port, "--port"),
  };
  const dir = values.dir === undefined ? DEVNET_DIR_DEFAULT : value(NonEmptySchema, values.dir, "--dir");
  const layout = devnetLayout(dir);

  try {
    let network: Network;
    const resumed = existsSync(layout.network);
    if (resumed) {
      network = readNetworkFile(layout.network);
      const conflicts = conflictsWithStored(network, requested);
      if (conflicts.length > 0) {
        throw new UsageError(
          `${conflicts.join(", ")}: ${dir} already holds a network of ${describeDevnet(network)}; drop the flag to resume it, or give a new --dir`,
        );
      }
      checkSeeds(network, layout);
      await checkPorts(network.servers.map((s) => s.port), `stop it (${layout.network} fixes the ports), or give a new --dir`);
    } else {
      const plan = planNetwork(requested);
      // Before writing anything: a devnet that cannot start leaves no directory behind.
      await checkPorts(Array.from({ length: plan.nodes }, (_, i) => plan.basePort + i), "stop it, or give another base port with --port");
      network = createNetwork(dir, layout, plan);
    }
    return await run(dir, layout, network, resumed);
  } catch (e) {
    if (!(e instanceof DevnetError)) throw e;
    process.stderr.write(`scryp: ${e.message}\n`);
    return 1;
  }
}

type Layout = ReturnType<typeof devnetLayout>;

interface Plan {
  readonly nodes: number;
  readonly intervalMs: number;
  readonly blackoutMs: number;
  readonly basePort: number;
}

/** The shape of a new devnet: the flags given, defaults for the rest, checked together. */
function planNetwork(requested: Requested): Plan {
  const nodes = requested.nodes ?? DEVNET_NODES_DEFAULT;
  const intervalMs = requested.intervalMs ?? DEVNET_INTERVAL_MS_DEFAULT;
  const blackoutMs = requested.blackoutMs ?? defaultBlackoutMs(intervalMs);
  const basePort = requested.basePort ?? DEVNET_PORT_DEFAULT;
  const blackoutFlag = `--blackout ${formatDuration(blackoutMs)}${requested.blackoutMs === undefined ? " (the default)" : ""}`;
  if (intervalMs < DEVNET_INTERVAL_MS_MIN) throw new UsageError(`--interval: must be at least ${formatDuration(DEVNET_INTERVAL_MS_MIN)}`);
  if (blackoutMs < DEVNET_BLACKOUT_MS_MIN) throw new UsageError(`${blackoutFlag}: must be at least ${formatDuration(DEVNET_BLACKOUT_MS_MIN)}`);
  if (blackoutMs >= intervalMs) throw new UsageError(`${blackoutFlag}: must be shorter than --interval ${formatDuration(intervalMs)}`);
  if (basePort + nodes - 1 > 65535) throw new UsageError(`--port ${basePort}: ${nodes} nodes need ports up to ${basePort + nodes - 1}, past 65535`);
  return { nodes, intervalMs, blackoutMs, basePort };
}

/** Writes the seeds and the network file of a new devnet. */
function createNetwork(dir: string, layout: Layout, plan: Plan): Network {
  const { nodes, intervalMs, blackoutMs, basePort } = plan;
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new DevnetError(`cannot create the devnet directory ${dir}: ${(e as Error).message}`);
  }
  // Seeds left by an interrupted first run are reused (loadOrCreateSeed never overwrites one).
  const serverKeys = Array.from({ length: nodes }, (_, i) => toHex(loadOrCreateSeed(layout.serverSeed(i + 1)).keyPair.publicKey));
  const demoKey = toHex(loadOrCreateSeed(layout.demoSeed).keyPair.publicKey);
  loadOrCreateSeed(layout.friendSeed);
  const file = buildDevnetNetwork({ serverKeys, demoKey, basePort, intervalMs, blackoutMs });
  // Written last and atomically: a network.json present means a complete devnet to resume.
  const temporary = `${layout.network}.tmp`;
  writeFileSync(temporary, JSON.stringify(file, null, 2) + "\n");
  renameSync(temporary, layout.network);
  return parseNetwork(file);
}

/** A resumed DIR must still hold the seed of every server in its network file, in order. */
function checkSeeds(network: Network, layout: Layout): void {
  const need = (path: string) => {
    if (!existsSync(path)) throw new DevnetError(`${path} is missing: ${layout.network} cannot be resumed without it (remove the directory to start afresh)`);
  };
  network.servers.forEach((server, i) => {
    const path = layout.serverSeed(i + 1);
    need(path);
    const key = toHex(loadOrCreateSeed(path).keyPair.publicKey);
    if (key !== server.keyHex) throw new DevnetError(`${path} holds key ${key}, but ${layout.network} lists ${server.keyHex} as server ${i + 1}`);
  });
  need(layout.demoSeed);
  need(layout.friendSeed);
}

/** How to run scryp again: the same executable, and the script too when running from source. */
function invocation(): Invocation {
  return {
    compiled: isCompiledMain(Bun.main),
    execPath: process.execPath,
    scriptPath: Bun.main,
    cwd: process.cwd(),
    onPath: (name) => {
      const found = Bun.which(name);
      if (found === null || found.split(/[\\/]/).includes("node_modules")) return false;
      try {
        return realpathSync(found) === realpathSync(process.execPath);
      } catch {
        return false;
      }
    },
  };
}

/** Why a port cannot be used on the devnet's host, over TCP or UDP, or null when it can. */
async function portProblem(port: number): Promise<string | null> {
  const describe = (e: unknown) => ((e as NodeJS.ErrnoException).code === "EADDRINUSE" ? "in use" : (e as Error).message);
  try {
    const listener = Bun.listen({ hostname: DEVNET_HOST, port, socket: { data() {} } });
    listener.stop(true);
  } catch (e) {
    return `TCP ${DEVNET_HOST}:${port} is ${describe(e)}`;
  }
  try {
    const socket = await Bun.udpSocket({ hostname: DEVNET_HOST, port });
    socket.close();
  } catch (e) {
    return `UDP ${DEVNET_HOST}:${port} is ${describe(e)}`;
  }
  return null;
}

/** Every node's port must be free, or the devnet does not start. */
async function checkPorts(ports: readonly number[], remedy: string): Promise<void> {
  for (const [i, port] of ports.entries()) {
    const problem = await portProblem(port);
    if (problem !== null) {
      throw new DevnetError(`${nodeName(i + 1)}: ${problem} (another devnet or scryp node?); ${remedy}`);
    }
  }
}

async function run(dir: string, layout: Layout, network: Network, resumed: boolean): Promise<number> {
  const names = network.servers.map((_, i) => nodeName(i + 1));
  const writeLine = (line: string) => process.stderr.write(line + "\n");
  const nameWidth = Math.max("devnet".length, ...names.map((n) => n.length));
  const supervisor = new Supervisor({ writeLine, nameWidth, stopMsMax: NODE_STOP_MS_MAX });
  // Before any node starts: a log that cannot be opened stops the devnet with nothing running.
  const sinks = openLogs(layout, names, (name, line) => writeLine(`${name.padEnd(nameWidth)} | ${line}`), (message) => supervisor.say(message));
  const onSignal = (signal: NodeJS.Signals) => {
    if (supervisor.isStopping) {
      supervisor.say(`${signal} again: killing every node now`);
      supervisor.killNow();
      return;
    }
    supervisor.say(`${signal}: stopping ${names.length} node(s)`);
    supervisor.stop(0);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // Only a person at a terminal presses Enter; a pipe (CI, tests, a script) is never read.
  const interactive = process.stdin.isTTY === true;
  let stopListening = () => {};
  try {
    supervisor.say(`${resumed ? "resuming" : "created"} the network in ${dir}: ${describeDevnet(network)}`);
    const inv = invocation();
    const self = inv.compiled ? [inv.execPath] : [inv.execPath, inv.scriptPath];
    for (const [i, server] of network.servers.entries()) {
      const node = i + 1;
      const args = ["node", "--network", layout.network, "--seed", layout.serverSeed(node), "--data", layout.dataDir(node), "--log", "text"];
      const command = commandLine(["scryp", ...args]);
      sinks[i]!.write([`${new Date().toISOString()} [devnet] starting ${names[i]} on ${server.address}: ${command}`]);
      const pid = supervisor.spawn(names[i]!, [...self, ...args], sinks[i]!);
      supervisor.say(`${names[i]} (pid ${pid}) on ${server.address}: ${command}`);
    }
    let shown: PasteBlockInput | null = null;
    if (await waitUntilReady(network, supervisor)) {
      const friendKey = toHex(loadOrCreateSeed(layout.friendSeed).keyPair.publicKey);
      shown = {
        scryp: scrypWords(inv),
        summary: `${describeDevnet(network)} (${dir})`,
        dir,
        networkPath: layout.network,
        demoSeed: layout.demoSeed,
        friendSeed: layout.friendSeed,
        friendKey,
        amount: EXAMPLE_AMOUNT,
        statusUrl: `http://${network.servers[0]!.address}/`,
        logsDir: layout.logsDir,
        nodes: network.servers.length,
        interactive,
      };
      process.stdout.write(pasteBlock(shown));
      const block = shown;
      if (interactive) {
        stopListening = listenForLines((line) => {
          if (inputAction(line) === "commands") process.stdout.write(commandsAgain(block));
          else supervisor.say(`${AGAIN_HINT} Ctrl-C stops every node.`);
        });
      }
      watchWindows(network, supervisor).catch((e: unknown) => {
        // A failed assertion in the live line is a bug: say so loudly, and stop rather than run on unwatched.
        supervisor.say(`internal error in the live line: ${(e as Error).stack ?? String(e)}; stopping`);
        supervisor.stop(70);
      });
    }
    const status = await supervisor.done;
    supervisor.say(status === 0 ? "every node stopped" : "every node stopped; the devnet failed");
    if (interactive && shown !== null) process.stdout.write(exitBlock(shown));
    return status;
  } finally {
    stopListening();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** Opens every node's log file, or none: a DevnetError names the one that cannot be opened. */
function openLogs(layout: Layout, names: readonly string[], toTerminal: (name: string, line: string) => void, say: (message: string) => void): LineSink[] {
  const sinks: LineSink[] = [];
  try {
    for (const [i, name] of names.entries()) {
      // If a log cannot be written later (a full disk), its lines come to the terminal instead.
      const terminal: LineSink = { write: (lines) => lines.forEach((line) => toTerminal(name, line)), close() {} };
      sinks.push(openNodeLog(layout.logFile(i + 1), terminal, (message) => say(`${name}: ${message}`)));
    }
    return sinks;
  } catch (e) {
    for (const sink of sinks) sink.close();
    if (e instanceof NodeLogError) throw new DevnetError(e.message);
    throw e;
  }
}

/** Calls `onLine` for each line typed on stdin; returns how to stop. */
function listenForLines(onLine: (line: string) => void): () => void {
  let partial = "";
  const onData = (chunk: Buffer | string) => {
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop()!;
    for (const line of lines) onLine(line);
  };
  process.stdin.on("data", onData);
  process.stdin.resume();
  return () => {
    process.stdin.off("data", onData);
    process.stdin.pause();
  };
}

/**
 * One line a window on the terminal while the devnet runs: the window, its alpha, its payments and
 * whether it was agreed (src/devnet/live-line.ts decides which and how).
 */
async function watchWindows(network: Network, supervisor: Supervisor): Promise<void> {
  const schedule = scheduleOf(network);
  const addresses = network.servers.map((s) => s.address);
  const pollMs = Math.min(LIVE_POLL_MS_MAX, Math.floor(network.intervalMs / LIVE_POLLS_PER_WINDOW));
  const poll = async () => (await Promise.all(addresses.map(fetchStatus))).map(toSample);
  let state = startLive(Date.now(), await poll(), schedule);
  while (!supervisor.isStopping) {
    await Bun.sleep(pollMs);
    const samples = await poll();
    if (supervisor.isStopping) return;
    const next = advanceLive(state, Date.now(), samples, schedule);
    state = next.state;
    for (const line of next.lines) supervisor.say(formatWindowLine(line, addresses));
  }
}

interface NodeStatus {
  readonly agreed?: { readonly window: number };
  readonly role?: string;
  readonly clock?: { readonly nowMs: number };
  readonly ledger?: { readonly payments: number };
}

/** The fields the live line needs, or null when an answer lacks one (a node of another version). */
function toSample(s: NodeStatus | null): StatusSample | null {
  if (s === null) return null;
  const { agreed, role, clock, ledger } = s;
  if (typeof agreed?.window !== "number" || typeof clock?.nowMs !== "number" || typeof ledger?.payments !== "number") return null;
  if (role !== "alpha" && role !== "beta" && role !== "idle") return null;
  return { nowMs: clock.nowMs, role, agreedWindow: agreed.window, payments: ledger.payments };
}

async function fetchStatus(address: string): Promise<NodeStatus | null> {
  try {
    const response = await fetch(`http://${address}/status`, { signal: AbortSignal.timeout(STATUS_TIMEOUT_MS) });
    return response.ok ? ((await response.json()) as NodeStatus) : null;
  } catch {
    return null;
  }
}

/**
 * Waits until every node answers and agrees on the window before the current one — from then the
 * alpha accepts payments, so the printed commands work as pasted. Returns false when the devnet
 * is stopping instead (a signal, or a node that exited). A node that never answers stops the
 * devnet; agreement that is slow to come is only reported, so the nodes can still be looked at.
 */
async function waitUntilReady(network: Network, supervisor: Supervisor): Promise<boolean> {
  const schedule = scheduleOf(network);
  const startDeadline = Date.now() + NODE_START_MS_MAX;
  let agreementDeadline: number | null = null;
  while (!supervisor.isStopping) {
    const statuses = await Promise.all(network.servers.map((s) => fetchStatus(s.address)));
    const now = Date.now();
    if (statuses.every((s) => s !== null)) {
      if (statuses.every((s) => (s.agreed?.window ?? -1) >= windowAt(now, schedule) - 1)) return !supervisor.isStopping;
      agreementDeadline ??= now + AGREEMENT_WINDOWS_MAX * network.intervalMs;
    } else if (agreementDeadline === null && now > startDeadline) {
      const silent = network.servers.filter((_, i) => statuses[i] === null).map((s) => s.address);
      supervisor.say(`no answer from ${silent.join(", ")} within ${NODE_START_MS_MAX / 1000} s of starting; stopping`);
      supervisor.stop(1);
      return false;
    }
    if (agreementDeadline !== null && now > agreementDeadline) {
      supervisor.say(`no window agreed by every node after ${AGREEMENT_WINDOWS_MAX} windows; payments are refused (NOT_ACCEPTING) until one is`);
      return !supervisor.isStopping;
    }
    await Bun.sleep(STATUS_POLL_MS);
  }
  return false;
}
