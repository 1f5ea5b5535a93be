// Helpers for the consensus tests: build a simulation with the test defaults, move simulated time
// to precise points of the schedule, drive traffic, heal the network, and check convergence.
import { expect } from "bun:test";
import { Simulation, type SentPayment, type SimOptions } from "../../src/sim/simulator.ts";
import type { Outcome } from "../../src/node/payment-intake.ts";
import { nextAccepting, alphaOf } from "../../src/core/schedule.ts";
import { SUPPLY } from "../../src/core/limits.ts";
import { toHex } from "../../src/core/bytes.ts";
import { buildPayment } from "../../src/core/payment.ts";

export const INTERVAL_MS = 1000;
export const BLACKOUT_MS = 400;
export const SKEW_MS = 150;

export type SimConfig = Omit<SimOptions, "intervalMs" | "blackoutMs" | "skewMs"> & { skewMs?: number };

export function newSim(config: SimConfig): Simulation {
  return new Simulation({ intervalMs: INTERVAL_MS, blackoutMs: BLACKOUT_MS, skewMs: SKEW_MS, ...config });
}

/** Runs `fn` on a fresh simulation and closes its ledgers afterwards, pass or fail. */
export function withSim<T>(config: SimConfig, fn: (sim: Simulation) => T): T {
  const sim = newSim(config);
  try {
    return fn(sim);
  } finally {
    sim.close();
  }
}

export const windowNow = (sim: Simulation): number => Math.floor(sim.nowMs / sim.network.intervalMs);
export const windowStart = (sim: Simulation, k: number): number => k * sim.network.intervalMs;
export const blackoutStart = (sim: Simulation, k: number): number => (k + 1) * sim.network.intervalMs - sim.network.blackoutMs;
export const alphaOfWindow = (sim: Simulation, k: number): number => alphaOf(k, sim.schedule);

/** The first window ≥ `from` whose alpha is `server`. */
export function nextWindowOf(sim: Simulation, server: number, from: number): number {
  let k = from;
  while (alphaOfWindow(sim, k) !== server) k++;
  return k;
}

/** Runs to a point in window `k` (default: 300 ms in, after the previous window's consensus, before the blackout). */
export function runToWindow(sim: Simulation, k: number, offsetMs = 300): void {
  const t = windowStart(sim, k) + offsetMs;
  if (t < sim.nowMs) throw new Error(`runToWindow: ${t} is in the past (now ${sim.nowMs})`);
  sim.runUntil(t);
}

export interface TrafficResult {
  submitted: number;
  accepted: number;
  /** Payments acknowledged in this traffic, with the server that acknowledged them. */
  acknowledged: { id: string; server: number; atMs: number }[];
  rejected: Map<string, number>;
}

/**
 * Random payments (like Simulation.randomTraffic) until exactly `untilMs`, never past it. Uses the
 * simulation's own PRNG, so a run replays from its seed. Payments go through the intake as in
 * production (pay(): the commit group and the answer are later events); the result counts the
 * answers that arrived by `untilMs` (one still in flight then is not counted).
 */
export function trafficUntil(sim: Simulation, untilMs: number, perWindow = 10, accountsUsed?: readonly number[]): TrafficResult {
  const sent: SentPayment[] = [];
  const accounts = accountsUsed ?? sim.accounts.map((_, i) => i);
  const step = Math.floor(sim.network.intervalMs / perWindow);
  while (sim.nowMs < untilMs) {
    sim.runUntil(Math.min(untilMs, sim.nowMs + 1 + Math.floor(sim.random() * step * 2)));
    if (sim.nowMs >= untilMs) break;
    const next = nextAccepting(sim.nowMs, sim.schedule);
    if (next.fromMs > sim.nowMs) continue;
    const payer = accounts[Math.floor(sim.random() * accounts.length)]!;
    let payee = accounts[Math.floor(sim.random() * accounts.length)]!;
    if (payee === payer) payee = accounts[(accounts.indexOf(payee) + 1) % accounts.length]!;
    const amount = sim.random() < 0.1 ? 0x7fff_ffff : 1 + Math.floor(sim.random() * 1_000_000);
    sent.push(sim.pay(payer, payee, amount));
  }
  const result: TrafficResult = { submitted: sent.length, accepted: 0, acknowledged: [], rejected: new Map() };
  for (const p of sent) {
    const outcome = p.outcome;
    if (outcome === null) continue;
    if (outcome === "no-server") {
      result.rejected.set("no-server", (result.rejected.get("no-server") ?? 0) + 1);
    } else if (outcome.accepted) {
      result.accepted++;
      result.acknowledged.push({ id: toHex(outcome.id), server: p.server, atMs: p.sentAtMs });
    } else {
      result.rejected.set(outcome.code, (result.rejected.get(outcome.code) ?? 0) + 1);
    }
  }
  return result;
}

/**
 * Submits exact bytes to one server's intake, as a client's datagram would, and returns the answer
 * (simulated time moves on until it comes: an acceptance waits for a majority to hold the payment).
 */
export function submitBytes(sim: Simulation, server: number, bytes: Uint8Array): Outcome {
  return sim.submitAndWait(server, bytes);
}

/** A payment built now (timestamp = true time unless given), signed by account `payer`. */
export function paymentBytes(sim: Simulation, payer: number, payee: number, amount: number, timestampMs = sim.nowMs): Uint8Array {
  return buildPayment({
    timestampMs,
    amount,
    payee: sim.accounts[payee]!.publicKey,
    payer: sim.accounts[payer]!.publicKey,
    payerSeed: sim.accounts[payer]!.seed,
  });
}

export function balance(sim: Simulation, server: number, account: number): number {
  // An account exists while its balance is above 0 (an emptied one is removed on every server).
  const b = sim.servers[server]!.ledger.balance(sim.accounts[account]!.publicKey) ?? 0;
  return b;
}

export function balances(sim: Simulation, server: number): number[] {
  return sim.accounts.map((_, a) => balance(sim, server, a));
}

export interface ServerView {
  agreedWindow: number;
  agreedHash: string;
  stateHash: string;
  payments: number;
}

export function view(sim: Simulation, server: number): ServerView {
  const s = sim.servers[server]!;
  const agreed = s.coordinator.agreed;
  return { agreedWindow: agreed.window, agreedHash: agreed.hash, stateHash: s.ledger.stateHashHex(), payments: s.ledger.totals().payments };
}

/** Heals the network: no drop rules, no partition, no loss (Simulation.heal). */
export function heal(sim: Simulation): void {
  sim.heal();
}

/**
 * Asserts every up server (or `servers`) is at the same agreed window and hash, the same state hash
 * (equal to the agreed hash: nothing pending), the same balance for every account, and that the
 * safety invariants hold. `label` (with the seed) goes into every failure message.
 */
export function expectConverged(sim: Simulation, label: string, servers?: readonly number[]): void {
  const which = servers ?? sim.servers.filter((s) => s.up).map((s) => s.index);
  const detail = `${label} (seed ${sim.options.seed}): ${sim.converged().detail}`;
  expect(() => sim.checkSafety(), detail).not.toThrow();
  const first = view(sim, which[0]!);
  const firstBalances = balances(sim, which[0]!);
  expect(first.stateHash, `${detail}: server ${which[0]} state hash should equal its agreed hash`).toBe(first.agreedHash);
  expect(
    firstBalances.reduce((a, b) => a + b, 0),
    `${detail}: server ${which[0]} balances should sum to the supply`,
  ).toBe(SUPPLY);
  for (const i of which.slice(1)) {
    const v = view(sim, i);
    expect(v.agreedWindow, `${detail}: agreed window of server ${i} vs ${which[0]}`).toBe(first.agreedWindow);
    expect(v.agreedHash, `${detail}: agreed hash of server ${i} vs ${which[0]}`).toBe(first.agreedHash);
    expect(v.stateHash, `${detail}: state hash of server ${i} vs ${which[0]}`).toBe(first.stateHash);
    expect(v.payments, `${detail}: payment count of server ${i} vs ${which[0]}`).toBe(first.payments);
    expect(balances(sim, i), `${detail}: balances of server ${i} vs ${which[0]}`).toEqual(firstBalances);
  }
}

/** Mid-traffic: every up server (or `servers`) holds the same agreed checkpoint (the alpha may have pending payments). */
export function expectSameAgreed(sim: Simulation, label: string, servers?: readonly number[]): void {
  const which = servers ?? sim.servers.filter((s) => s.up).map((s) => s.index);
  const detail = `${label} (seed ${sim.options.seed}): ${sim.converged().detail}`;
  expect(() => sim.checkSafety(), detail).not.toThrow();
  const first = view(sim, which[0]!);
  for (const i of which.slice(1)) {
    const v = view(sim, i);
    expect(v.agreedWindow, `${detail}: agreed window of server ${i} vs ${which[0]}`).toBe(first.agreedWindow);
    expect(v.agreedHash, `${detail}: agreed hash of server ${i} vs ${which[0]}`).toBe(first.agreedHash);
  }
}

/** Heals, runs `quietWindows` windows without traffic (ending 300 ms into a window), then asserts convergence. */
export function healAndExpectConverged(sim: Simulation, label: string, quietWindows = 4): void {
  heal(sim);
  runToWindow(sim, windowNow(sim) + quietWindows);
  expectConverged(sim, label);
  // Quiet windows after healing must be agreed too: the agreed window is the last one.
  expect(view(sim, 0).agreedWindow, `${label} (seed ${sim.options.seed}): agreed window after healing`).toBe(windowNow(sim) - 1);
}

/**
 * Watches every up server every `periodMs` of simulated time: when nothing is pending (no stored
 * payment of a window after the agreed one), the state hash must be the agreed checkpoint's hash.
 * A server whose ledger falls behind (or away from) its own checkpoint breaks it. Returns the
 * violations seen (the first few), filled in as the simulation runs.
 */
export function watchCheckpointInvariant(sim: Simulation, periodMs = 10): string[] {
  const violations: string[] = [];
  const check = () => {
    for (const s of sim.servers) {
      if (!s.up) continue;
      const agreed = s.coordinator.agreed;
      const latest = s.ledger.latestWindow();
      const pending = latest !== null && latest > agreed.window;
      const state = s.ledger.stateHashHex();
      if (!pending && state !== agreed.hash && violations.length < 5) {
        const totals = s.ledger.totals();
        violations.push(
          `at ${sim.nowMs} (window ${windowNow(sim)}): server ${s.index} agreed window ${agreed.window} hash ${agreed.hash.slice(0, 12)}, ` +
            `but its state is ${state.slice(0, 12)} with ${totals.payments} payment(s), latest window ${latest}`,
        );
      }
    }
    sim.at(sim.nowMs + periodMs, check);
  };
  sim.at(sim.nowMs + periodMs, check);
  return violations;
}
