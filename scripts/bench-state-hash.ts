// The state hash benchmark (src/core/state-hash.ts): what a leaf costs, what bringing the hash up to
// date costs for N accounts changed since it was last asked (the fold a handover, a vote or a
// checkpoint pays), what computing it from scratch costs (opening a ledger), and what the ledger's
// commit group costs per payment now that a payment only records its two accounts. Run by
// scripts/bench.ts (section "statehash") or alone: `bun scripts/bench-state-hash.ts`.
//
// Every figure is CPU time (user + system) of this process.
//
// The handover benchmark's payments (1 scryp around a ring of payers) leave every balance where it
// was after a window, so its fold costs nothing; these figures are for balances that do change.
import { createHash } from "node:crypto";
import { LEAF_MEMO_ACCOUNTS_MAX, StateHash, stateHashOf } from "../src/core/state-hash.ts";
import { Ledger } from "../src/ledger/ledger.ts";
import { decodePayment, encodeUnsigned, type Payment } from "../src/core/payment.ts";
import { toHex } from "../src/core/bytes.ts";

export interface StateHashFigure {
  readonly what: string;
  readonly value: number;
  readonly unit: "µs" | "ms";
  readonly detail: string;
}

/** CPU ms (user + system) since `since`: figures that do not move with other load on the host. */
function cpuMs(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
}

/** Deterministic 32-byte ids: SHA-256("scryp-bench/account/" + n). */
function ids(count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, n) => new Uint8Array(createHash("sha256").update(`scryp-bench/account/${n}`).digest()));
}

function leafMicros(): StateHashFigure {
  const accounts = ids(2_000);
  const h = new StateHash();
  for (let i = 0; i < 200; i++) h.add(accounts[i]!, 1 + i); // warm-up
  const started = process.cpuUsage();
  for (let i = 0; i < accounts.length; i++) h.add(accounts[i]!, 1_000 + i);
  const us = (cpuMs(started) * 1000) / accounts.length;
  return { what: "leaf", value: Number(us.toFixed(1)), unit: "µs", detail: "SHAKE256 to 2048 bytes and a 1024-lane add (node:crypto), per leaf" };
}

/** Changes `changed` accounts of a ledger of `changed` accounts (their balances all move), then asks the hash. */
function foldMs(changed: number): StateHashFigure {
  const accounts = ids(changed);
  const h = stateHashOf(accounts.map((id, i) => [id, 1_000 + i] as const));
  h.bytes();
  // Ten payments an account on average, each recorded: what a window of 5 × changed payments does.
  const started = process.cpuUsage();
  for (let round = 0; round < 10; round++) for (let i = 0; i < changed; i++) h.change(accounts[i]!, 1_000 + i + round, 1_000 + i + round + 1);
  const recordedMs = cpuMs(started);
  const foldStarted = process.cpuUsage();
  h.bytes();
  const ms = cpuMs(foldStarted);
  // The same accounts change again (the next window): their old leaves come from the memo while it
  // holds them (LEAF_MEMO_ACCOUNTS_MAX).
  for (let i = 0; i < changed; i++) h.change(accounts[i]!, 1_000 + i + 10, 1_000 + i + 11);
  const againStarted = process.cpuUsage();
  h.bytes();
  const againMs = cpuMs(againStarted);
  return {
    what: `fold ${changed / 1000}k`,
    value: Math.round(ms),
    unit: "ms",
    detail:
      `${changed} accounts changed 10 times each since the hash was last asked: recording the ${10 * changed} changes ${recordedMs.toFixed(0)} ms, ` +
      `the fold (2 leaves an account) ${ms.toFixed(0)} ms; the same accounts changed again, the next fold ${againMs.toFixed(0)} ms (memo of ${LEAF_MEMO_ACCOUNTS_MAX} leaves)`,
  };
}

function fromScratchMs(accounts: number): StateHashFigure {
  const list = ids(accounts);
  const started = process.cpuUsage();
  stateHashOf(list.map((id, i) => [id, 1 + (i % 1000)] as const)).bytes();
  const ms = cpuMs(started);
  return { what: `from scratch ${accounts >= 1_000_000 ? `${accounts / 1_000_000}M` : `${accounts / 1000}k`}`, value: Math.round(ms), unit: "ms", detail: `the hash of ${accounts} accounts from nothing: what opening a ledger of that size adds` };
}

/**
 * Commit groups of 256 payments over 10,000 accounts, through Ledger.applyGroup, then the hash asked
 * once (as at the window's vote): µs a payment, the fold included. In memory (":memory:"): the CPU
 * a payment costs the ledger, without the disk's fsync, which is the same before and after.
 */
export function applyMicros(paymentCount: number, LedgerClass: typeof Ledger = Ledger): StateHashFigure {
  {
    const accounts = ids(10_000);
    const genesis = new Map(accounts.map((id) => [toHex(id), 100_000] as const));
    const ledger = LedgerClass.open(":memory:", { genesis, nowMs: Date.now() });
    const payments: Payment[] = [];
    // Amounts 1..7 to random-ish payees: balances really move. The ledger does not verify signatures.
    for (let i = 0; i < paymentCount; i++) {
      const payer = accounts[i % accounts.length]!;
      const payee = accounts[(i * 7919 + 13) % accounts.length]!;
      if (payer === payee) continue;
      payments.push(decodePayment(encodeUnsigned(1_800_000_000_000 + Math.floor(i / accounts.length), 1 + (i % 7), payee, payer))!);
    }
    const started = process.cpuUsage();
    for (let i = 0; i < payments.length; i += 256) ledger.applyGroup(payments.slice(i, i + 256), 1, Date.now());
    const applyMs = cpuMs(started);
    const foldStarted = process.cpuUsage();
    ledger.stateHashBytes();
    const foldMs = cpuMs(foldStarted);
    ledger.close();
    const us = ((applyMs + foldMs) * 1000) / payments.length;
    return {
      what: "commit group",
      value: Number(us.toFixed(1)),
      unit: "µs",
      detail: `${payments.length} payments over 10000 accounts in groups of 256, in memory, CPU time: ${applyMs.toFixed(0)} ms applying (${((applyMs * 1000) / payments.length).toFixed(1)} µs a payment), then the hash asked once: ${foldMs.toFixed(0)} ms`,
    };
  }
}

export function runStateHash(): StateHashFigure[] {
  return [leafMicros(), foldMs(1_000), foldMs(10_000), foldMs(100_000), fromScratchMs(10_000), fromScratchMs(1_000_000), applyMicros(100_000)];
}

if (import.meta.main) {
  for (const f of runStateHash()) console.log(`statehash ${f.what}: ${f.value} ${f.unit} (${f.detail})`);
}
