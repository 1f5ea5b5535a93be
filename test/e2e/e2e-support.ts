// Helpers for the end-to-end tests of the compiled binary: funded networks, raw UDP, HTTP JSON.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { toHex } from "../../src/core/bytes.ts";
import type { KeyPair } from "../../src/core/keys.ts";
import { SUPPLY } from "../../src/core/limits.ts";
import { freePort, testKeyPair, waitFor } from "../support/helpers.ts";
import { startBinaryNode, writeJson, type BinaryNode } from "../support/binary-node.ts";

export const HOST = "127.0.0.1";
export const HEX64 = /^[0-9a-f]{64}$/;

export const hexOf = (kp: KeyPair): string => toHex(kp.publicKey);

/** Writes a key pair's seed as a seed file (32 bytes, mode 0600). */
export function writeSeed(path: string, kp: KeyPair): void {
  writeFileSync(path, kp.seed, { mode: 0o600 });
}

/** The server and payers used by the funded-network tests. */
export const SERVER = testKeyPair(1);

export interface FundedNode {
  readonly node: BinaryNode;
  readonly port: number;
  readonly url: string;
  readonly networkPath: string;
  readonly dataDir: string;
  readonly serverSeedPath: string;
  /** Genesis balances by hex id; sums to SUPPLY. */
  readonly genesis: Record<string, number>;
}

/**
 * Writes a one-server network file whose genesis gives `funded` their balances and the server the
 * rest of the supply, and starts the binary on it in `dir` on a free port. `networkFields` adds
 * fields to the network file (e.g. a short interval).
 */
export async function startFundedNode(dir: string, funded: [KeyPair, number][], extraArgs: string[] = [], networkFields: Record<string, unknown> = {}): Promise<FundedNode> {
  const port = await freePort();
  const genesis: Record<string, number> = {};
  let rest = SUPPLY;
  for (const [kp, amount] of funded) {
    genesis[hexOf(kp)] = amount;
    rest -= amount;
  }
  genesis[hexOf(SERVER)] = rest;
  const networkPath = join(dir, "network.json");
  writeJson(networkPath, { servers: [{ key: hexOf(SERVER), address: `${HOST}:${port}` }], genesis, ...networkFields });
  const serverSeedPath = join(dir, "server.seed");
  writeSeed(serverSeedPath, SERVER);
  const dataDir = join(dir, "data");
  const node = await startBinaryNode(dir, ["--network", networkPath, "--seed", serverSeedPath, "--data", dataDir, ...extraArgs], port);
  return { node, port, url: node.url, networkPath, dataDir, serverSeedPath, genesis };
}

/** Restarts a node on the same network file, seed and data dir (on a new free port). */
export async function restartFundedNode(dir: string, f: FundedNode): Promise<FundedNode> {
  const port = await freePort();
  const node = await startBinaryNode(dir, ["--network", f.networkPath, "--seed", f.serverSeedPath, "--data", f.dataDir, "--port", String(port)], port);
  return { ...f, node, port, url: node.url };
}

export async function getJson(url: string): Promise<{ status: number; json: any }> {
  const response = await fetch(url);
  const text = await response.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json };
}

/** The balance of an account over HTTP, or undefined when it has none (404). */
export async function httpBalance(url: string, idHex: string): Promise<number | undefined> {
  const { status, json } = await getJson(`${url}/accounts/${idHex}`);
  if (status === 404) return undefined;
  if (status !== 200) throw new Error(`GET /accounts/${idHex}: HTTP ${status} ${JSON.stringify(json)}`);
  return json.balance as number;
}

export interface Reply {
  readonly bytes: Uint8Array;
  readonly port: number;
}

/** A UDP socket on 127.0.0.1 that keeps every datagram it receives. */
export async function udpClient() {
  const replies: Reply[] = [];
  const errors: Error[] = [];
  const listeners: ((r: Reply) => void)[] = [];
  const socket = await Bun.udpSocket({
    hostname: HOST,
    socket: {
      data(_sock, data, port) {
        const reply = { bytes: new Uint8Array(data), port };
        replies.push(reply);
        for (const l of listeners) l(reply);
      },
      // After the node dies, the kernel reports "port unreachable" (ECONNREFUSED) on the socket:
      // expected in the crash tests, so recorded rather than thrown.
      error(_sock, error) {
        errors.push(error);
      },
    },
  });
  return {
    replies,
    errors,
    onReply(listener: (r: Reply) => void) {
      listeners.push(listener);
    },
    /** Sends one datagram; false when the kernel refused it (e.g. ECONNREFUSED after a kill). */
    send(bytes: Uint8Array, port: number): boolean {
      try {
        return socket.send(bytes, port, HOST);
      } catch (e) {
        errors.push(e as Error);
        return false;
      }
    },
    /** Waits (bounded) until at least `n` replies arrived. */
    async waitReplies(n: number, timeoutMs = 5_000): Promise<Reply[]> {
      await waitFor(() => replies.length >= n, timeoutMs, `${n} UDP replies (have ${replies.length})`);
      return replies.slice(0, n);
    },
    close() {
      socket.close();
    },
  };
}

export const ascii = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
