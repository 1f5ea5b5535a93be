// The handover benchmark: time from receiving the beta's message to sending the vote, for windows
// of 10,000 and 100,000 payments over ledgers of 10,000 and 1,000,000 accounts. Run by
// scripts/bench.ts (section "handover") or alone: `bun scripts/bench-handover.ts`.
//
// In-process and real: a SQLite ledger file in a temp dir, the real Coordinator of server 1 of a
// three-server network, and a handover signed by server 0, the beta of the window. The timed part
// is `coordinator.receive(message)`: decode, check the signature, re-validate every payment
// (signature, amount, timestamp in the window, duplicates, balance), apply them in one
// transaction, hash, sign and emit the vote.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Ledger } from "../src/ledger/ledger.ts";
import { Coordinator } from "../src/core/consensus/coordinator.ts";
import { encodeHandover, encodeRelay } from "../src/core/consensus/peer-message.ts";
import { peerLimits } from "../src/core/consensus/peer-limits.ts";
import { parseNetwork } from "../src/core/network.ts";
import { keyPairFromSeed } from "../src/core/keys.ts";
import { toHex } from "../src/core/bytes.ts";
import { verifySignature } from "../src/core/verify.ts";
import { blackoutStartMs, windowStartMs } from "../src/core/schedule.ts";
import { silentLogger } from "../src/core/logger.ts";
import { benchPayers, signPayments } from "./bench-common.ts";

/** Funded payers; the rest of a large ledger is filler accounts (creating 1M signing keys would take minutes). */
const PAYERS = 10_000;

export interface HandoverFigure {
  readonly accounts: number;
  readonly payments: number;
  readonly applied: number;
  readonly ms: number;
  /** CPU time of the timed part (user + system): what the handover costs whatever else runs. */
  readonly cpuMs: number;
  readonly relayed: boolean;
  /** Untimed: the relayed payments' signature checks and application during the window. */
  readonly preverifyMs: number;
}

/**
 * relayed: the payments reached this server during the window (the normal case), so their
 * signatures were checked and they were applied ahead; the handover then only confirms them.
 * Otherwise the handover arrives with nothing before it (every relay lost) and is applied whole.
 */
export function runHandover(accounts: number, paymentCount: number, relayed: boolean): HandoverFigure {
  const dir = mkdtempSync(join(tmpdir(), "scryp-bench-handover-"));
  try {
    const servers = [0, 1, 2].map((i) => keyPairFromSeed(new Uint8Array(32).fill(90 + i)));
    const payers = benchPayers(Math.min(PAYERS, accounts));
    const genesis = new Map<string, number>();
    for (const p of payers) genesis.set(toHex(p.publicKey), 1_000);
    while (genesis.size < accounts) genesis.set(toHex(randomBytes(32)), 1);
    const network = parseNetwork({
      servers: servers.map((s, i) => ({ key: toHex(s.publicKey), address: `127.0.0.1:${9100 + i}` })),
      interval: 120_000,
      blackout: 15_000,
      skew: 5_000,
      genesis: {},
    });
    const schedule = { serverCount: 3, intervalMs: network.intervalMs, blackoutMs: network.blackoutMs };
    // A window whose alpha (and so beta) is server 0, near now.
    let window = Math.floor(Date.now() / network.intervalMs);
    while (window % 3 !== 0) window++;
    const ledger = Ledger.open(join(dir, "ledger.sqlite"), { genesis, nowMs: Date.now() });
    // This server is at the checkpoint of the previous window, as in a running network.
    ledger.recordAgreed(window - 1, ledger.stateHashBytes(), new Uint8Array(0), Date.now());
    const coordinator = new Coordinator({
      network: { ...network, genesis },
      selfIndex: 1,
      seed: servers[1]!.seed,
      ledger,
      verify: verifySignature,
      log: silentLogger,
      flushIntake: () => {},
    });
    const limits = peerLimits(network.capacity);
    const batch = signPayments(payers, paymentCount, windowStartMs(window, schedule) + 1_000);
    const agreed = ledger.agreed();
    const message = encodeHandover(
      {
        networkId: network.id,
        sender: servers[0]!.publicKey,
        window,
        sentAtMs: blackoutStartMs(window, schedule),
        baseWindow: agreed.window,
        baseHash: agreed.hash,
        hash: new Uint8Array(32), // the beta's claim; the receiver votes what it computes
        payments: batch.payments,
      },
      servers[0]!.seed,
      limits,
    );
    // During the window the alpha relayed what it accepted and this server checked and applied
    // it between other work (untimed, as in a running node).
    let preverifyMs = 0;
    if (relayed) {
      const relayAtMs = windowStartMs(window, schedule) + 30_000;
      for (let i = 0; i < batch.payments.length; i += 10_000) {
        const relay = encodeRelay({ networkId: network.id, sender: servers[0]!.publicKey, window, sentAtMs: relayAtMs, first: i, payments: batch.payments.slice(i, i + 10_000) }, servers[0]!.seed, limits);
        const r = coordinator.receive(relay, relayAtMs);
        if (!r.ok) throw new Error(`relay rejected: ${r.reason}`);
      }
      const t = performance.now();
      coordinator.preverify(Number.MAX_SAFE_INTEGER, relayAtMs);
      preverifyMs = performance.now() - t;
    }
    const nowMs = blackoutStartMs(window, schedule) + 50;
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const result = coordinator.receive(message, nowMs);
    const ms = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    if (!result.ok || !result.effects.some((e) => e.kind === "broadcast" && e.what === "vote")) {
      throw new Error(`handover was not applied: ${result.ok ? "no vote" : result.reason}`);
    }
    const applied = ledger.totals().payments;
    ledger.close();
    return { accounts, payments: paymentCount, applied, ms, cpuMs, preverifyMs, relayed };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function describe(f: HandoverFigure): string {
  const ahead = f.relayed ? `; relayed during the window: checked and applied ahead in ${f.preverifyMs.toFixed(0)} ms` : "; nothing relayed ahead";
  return `${f.payments} payments over ${f.accounts} accounts: ${f.ms.toFixed(0)} ms to the vote (${f.cpuMs.toFixed(0)} ms CPU, ${f.applied} applied${ahead})`;
}

if (import.meta.main) {
  for (const relayed of [true, false]) {
    for (const accounts of [10_000, 1_000_000]) {
      for (const payments of [10_000, 100_000]) console.log(`handover: ${describe(runHandover(accounts, payments, relayed))}`);
    }
  }
}
