// GET /metrics: the node's counters and gauges in the Prometheus text exposition format (0.0.4).
//
// Two halves. Recording is a fixed-bucket histogram the intake feeds once per commit group (O(buckets),
// no allocation). Formatting is pure: a snapshot of plain numbers in, text out. Reading the live
// objects into a snapshot is the one place that knows where each number lives.
import type { Context } from "hono";
import { ERROR_CODES, type ErrorCode } from "../core/errors.ts";
import { SUPPLY } from "../core/limits.ts";
import { FAULT_KINDS, type FaultKind } from "./faults.ts";

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Payments per commit group: from a lone payment up to COMMIT_GROUP_PAYMENTS_MAX (4096). */
export const GROUP_PAYMENTS_BUCKETS: readonly number[] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 4096];
/** Seconds one commit group takes (one SQLite transaction, one fsync): 100 µs to 2.5 s. */
export const COMMIT_SECONDS_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** The rejection codes the payment intake can give: always exported, at 0 until they happen. */
const PAYMENT_REJECTION_CODES: readonly ErrorCode[] = (Object.keys(ERROR_CODES) as ErrorCode[]).filter((code) => ERROR_CODES[code] <= ERROR_CODES.INTERNAL);

export interface HistogramSnapshot {
  /** Upper bounds, ascending; +Inf is implied. */
  readonly bounds: readonly number[];
  /** Observations per bucket (not cumulative); one more entry than bounds, the last for +Inf. */
  readonly counts: readonly number[];
  readonly count: number;
  readonly sum: number;
  /** The largest observation; 0 before any. */
  readonly max: number;
}

/** A fixed-bucket histogram. Buckets are chosen once, so a scrape always has the same series. */
export class Histogram {
  private readonly counts: number[];
  private total = 0;
  private sumOf = 0;
  private maxOf = 0;

  constructor(readonly bounds: readonly number[]) {
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i]! > bounds[i - 1]!)) throw new Error(`histogram bounds must ascend: ${bounds.join(", ")}`);
    }
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    if (!Number.isFinite(value) || value < 0) throw new Error(`histogram observation must be a finite non-negative number, got ${value}`);
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    this.counts[i]!++;
    this.total++;
    this.sumOf += value;
    if (value > this.maxOf) this.maxOf = value;
  }

  snapshot(): HistogramSnapshot {
    return { bounds: this.bounds, counts: [...this.counts], count: this.total, sum: this.sumOf, max: this.maxOf };
  }
}

/** Every number GET /metrics reports, read at one moment. */
export interface MetricsSnapshot {
  readonly version: string;
  readonly commit: string;
  readonly paymentsAccepted: number;
  readonly paymentsRejected: ReadonlyMap<ErrorCode, number>;
  readonly commitGroupPayments: HistogramSnapshot;
  readonly commitSeconds: HistogramSnapshot;
  readonly windowsAgreed: number;
  readonly rollbacks: number;
  readonly resyncs: number;
  /** Handovers that arrived after this server's "no batch" deadline (a link slower than the blackout). */
  readonly lateHandovers: number;
  /** Windows whose handover did not come that this server rescued (sent the batch of). */
  readonly rescues: number;
  /** Proven equivocations (two conflicting messages of one server for one window: votes, handovers, relays) this server holds. */
  readonly equivocations: number;
  /** The newest window this server knows to be final (−1: none yet). */
  readonly finalWindow: number;
  /** Payments committed here, waiting until a majority of the servers holds them. */
  readonly awaitingMajority: number;
  /** Relays not sent because the peer had too many of this server's requests in flight. */
  readonly relaysDropped: number;
  /** Requests to peers that failed (refused, timed out, non-2xx). */
  readonly peerRequestsFailed: number;
  /** Messages from peers this server rejected (bad signature, unknown sender, malformed). */
  readonly peerMessagesRejected: number;
  readonly pendingPayments: number;
  readonly agreedWindow: number;
  readonly syncing: boolean;
  readonly ledgerAccounts: number;
  readonly ledgerPayments: number;
  readonly ledgerSupply: number;
  /** Faults survived, by kind (socket errors, rejected peer messages, refused requests). */
  readonly faults: ReadonlyMap<FaultKind, number>;
  /** Whether the ledger takes writes, and the data directory's free bytes (null: not known). */
  readonly storageOk: boolean;
  readonly dataDirFreeBytes: number | null;
}

/** What the snapshot is read from: the running node's parts, or stand-ins in tests. */
export interface MetricsSources {
  readonly version: string;
  readonly commit: string;
  readonly intake: {
    readonly stats: { readonly accepted: number; readonly rejected: ReadonlyMap<ErrorCode, number>; readonly groupPayments: Histogram; readonly commitSeconds: Histogram };
    readonly pendingCount: number;
    readonly awaitingCount?: number;
  };
  readonly coordinator: {
    readonly counters: { readonly agreed: number; readonly rollbacks: number; readonly resyncs: number; readonly peerRejected: number; readonly lateHandovers?: number; readonly rescues?: number; readonly equivocations?: number };
    readonly agreed: { readonly window: number };
    readonly final?: { readonly window: number };
    readonly isSyncing: boolean;
  };
  readonly peers: { readonly peerErrors: number; readonly relaysDropped?: number };
  readonly ledger: { totals(): { readonly accounts: number; readonly payments: number; readonly supply: number } };
  readonly faults?: { snapshot(): ReadonlyMap<FaultKind, number> };
  readonly storage?: { readonly ok: boolean; freeBytes(): number | null };
}

export function readMetrics(s: MetricsSources): MetricsSnapshot {
  const totals = s.ledger.totals();
  return {
    version: s.version,
    commit: s.commit,
    paymentsAccepted: s.intake.stats.accepted,
    paymentsRejected: new Map(s.intake.stats.rejected),
    commitGroupPayments: s.intake.stats.groupPayments.snapshot(),
    commitSeconds: s.intake.stats.commitSeconds.snapshot(),
    windowsAgreed: s.coordinator.counters.agreed,
    rollbacks: s.coordinator.counters.rollbacks,
    resyncs: s.coordinator.counters.resyncs,
    lateHandovers: s.coordinator.counters.lateHandovers ?? 0,
    rescues: s.coordinator.counters.rescues ?? 0,
    equivocations: s.coordinator.counters.equivocations ?? 0,
    finalWindow: s.coordinator.final?.window ?? -1,
    awaitingMajority: s.intake.awaitingCount ?? 0,
    relaysDropped: s.peers.relaysDropped ?? 0,
    peerRequestsFailed: s.peers.peerErrors,
    peerMessagesRejected: s.coordinator.counters.peerRejected,
    pendingPayments: s.intake.pendingCount,
    agreedWindow: s.coordinator.agreed.window,
    syncing: s.coordinator.isSyncing,
    ledgerAccounts: totals.accounts,
    ledgerPayments: totals.payments,
    ledgerSupply: totals.supply,
    faults: s.faults?.snapshot() ?? new Map(),
    storageOk: s.storage?.ok ?? true,
    dataDirFreeBytes: s.storage?.freeBytes() ?? null,
  };
}

/** A Hono handler for GET /metrics over the live sources. */
export function metricsHandler(sources: MetricsSources) {
  return (c: Context) => c.body(formatMetrics(readMetrics(sources)), 200, { "content-type": METRICS_CONTENT_TYPE });
}

// ---- Formatting (pure) ----------------------------------------------------------------------

type Labels = Readonly<Record<string, string>>;

/** Label values escape backslash, double quote and newline; HELP text escapes backslash and newline. */
function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function sample(name: string, labels: Labels, value: number): string {
  const entries = Object.entries(labels);
  const labelText = entries.length === 0 ? "" : `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`;
  return `${name}${labelText} ${formatValue(value)}`;
}

function family(lines: string[], name: string, type: "counter" | "gauge" | "histogram", help: string, samples: readonly string[]): void {
  lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`, ...samples);
}

function histogramSamples(name: string, h: HistogramSnapshot): string[] {
  const out: string[] = [];
  let cumulative = 0;
  h.bounds.forEach((bound, i) => {
    cumulative += h.counts[i]!;
    out.push(sample(`${name}_bucket`, { le: formatValue(bound) }, cumulative));
  });
  out.push(sample(`${name}_bucket`, { le: "+Inf" }, h.count));
  out.push(sample(`${name}_sum`, {}, h.sum));
  out.push(sample(`${name}_count`, {}, h.count));
  return out;
}

export function formatMetrics(m: MetricsSnapshot): string {
  const lines: string[] = [];
  family(lines, "scryp_build_info", "gauge", "The running scryp's version and the git commit it was built from; always 1.", [
    sample("scryp_build_info", { version: m.version, commit: m.commit }, 1),
  ]);
  family(lines, "scryp_payments_accepted_total", "counter", "Payments accepted by this server (durably committed before the answer).", [
    sample("scryp_payments_accepted_total", {}, m.paymentsAccepted),
  ]);
  const codes = [...PAYMENT_REJECTION_CODES, ...[...m.paymentsRejected.keys()].filter((c) => !PAYMENT_REJECTION_CODES.includes(c)).sort()];
  family(
    lines,
    "scryp_payments_rejected_total",
    "counter",
    "Payments this server rejected, by error code.",
    codes.map((code) => sample("scryp_payments_rejected_total", { code }, m.paymentsRejected.get(code) ?? 0)),
  );
  family(lines, "scryp_commit_group_payments", "histogram", "Payments per commit group (one SQLite transaction, one fsync).", histogramSamples("scryp_commit_group_payments", m.commitGroupPayments));
  family(lines, "scryp_commit_group_payments_max", "gauge", "The largest commit group since the server started, in payments.", [
    sample("scryp_commit_group_payments_max", {}, m.commitGroupPayments.max),
  ]);
  family(lines, "scryp_commit_duration_seconds", "histogram", "Time to commit one group of payments to the ledger.", histogramSamples("scryp_commit_duration_seconds", m.commitSeconds));
  family(lines, "scryp_commit_duration_seconds_max", "gauge", "The slowest commit of a group since the server started.", [
    sample("scryp_commit_duration_seconds_max", {}, m.commitSeconds.max),
  ]);
  family(lines, "scryp_windows_agreed_total", "counter", "Windows whose consensus this server recorded at its own state.", [sample("scryp_windows_agreed_total", {}, m.windowsAgreed)]);
  family(lines, "scryp_rollbacks_total", "counter", "Returns to the last checkpoint after a window found no majority.", [sample("scryp_rollbacks_total", {}, m.rollbacks)]);
  family(lines, "scryp_late_handovers_total", "counter", "Handovers that arrived after the deadline (raise blackout, or fix the link).", [sample("scryp_late_handovers_total", {}, m.lateHandovers)]);
  family(lines, "scryp_equivocations_total", "counter", "Proofs held that a server signed two conflicting messages for one window: votes, handovers or relays (an alarm: that server is faulty or its key stolen).", [sample("scryp_equivocations_total", {}, m.equivocations)]);
  family(lines, "scryp_final_window", "gauge", "The newest window this server knows to be final (agreed by the final quorum); -1 before any.", [sample("scryp_final_window", {}, m.finalWindow)]);
  family(lines, "scryp_rescues_total", "counter", "Windows whose handover did not come that this server rescued from the relays a majority hold.", [sample("scryp_rescues_total", {}, m.rescues)]);
  family(lines, "scryp_payments_awaiting_majority", "gauge", "Payments committed here whose payers wait until a majority of the servers holds them.", [sample("scryp_payments_awaiting_majority", {}, m.awaitingMajority)]);
  family(lines, "scryp_relays_dropped_total", "counter", "Relays not sent because the peer had too many requests of this server in flight (resent later).", [sample("scryp_relays_dropped_total", {}, m.relaysDropped)]);
  family(lines, "scryp_resyncs_total", "counter", "Agreed ledgers installed from peers because this server's state differed.", [sample("scryp_resyncs_total", {}, m.resyncs)]);
  family(lines, "scryp_peer_errors_total", "counter", "Peer faults: requests to peers that failed, and messages from peers that were rejected.", [
    sample("scryp_peer_errors_total", { kind: "request_failed" }, m.peerRequestsFailed),
    sample("scryp_peer_errors_total", { kind: "message_rejected" }, m.peerMessagesRejected),
  ]);
  family(lines, "scryp_pending_payments", "gauge", "Payments checked and queued, waiting for the next commit group.", [sample("scryp_pending_payments", {}, m.pendingPayments)]);
  family(lines, "scryp_agreed_window", "gauge", "The window of this server's last agreed checkpoint (-1: genesis).", [sample("scryp_agreed_window", {}, m.agreedWindow)]);
  family(lines, "scryp_syncing", "gauge", "1 while this server is fetching the agreed ledger from peers, else 0.", [sample("scryp_syncing", {}, m.syncing ? 1 : 0)]);
  family(lines, "scryp_ledger_accounts", "gauge", "Accounts in this server's ledger.", [sample("scryp_ledger_accounts", {}, m.ledgerAccounts)]);
  family(lines, "scryp_ledger_payments", "gauge", "Payments in this server's ledger (falls on a rollback).", [sample("scryp_ledger_payments", {}, m.ledgerPayments)]);
  family(lines, "scryp_ledger_supply_scryp", "gauge", `All balances together; always ${SUPPLY}.`, [sample("scryp_ledger_supply_scryp", {}, m.ledgerSupply)]);
  family(
    lines,
    "scryp_faults_total",
    "counter",
    "Faults this server survived, by kind: socket errors, rejected peer messages, aborted uploads, refused requests.",
    FAULT_KINDS.map((kind) => sample("scryp_faults_total", { kind }, m.faults.get(kind) ?? 0)),
  );
  family(lines, "scryp_storage_ok", "gauge", "1 while the ledger takes writes; 0 while its storage fails (full disk, I/O error) and payments are refused.", [
    sample("scryp_storage_ok", {}, m.storageOk ? 1 : 0),
  ]);
  if (m.dataDirFreeBytes !== null) {
    family(lines, "scryp_data_dir_free_bytes", "gauge", "Free bytes on the file system of the data directory (for this process).", [
      sample("scryp_data_dir_free_bytes", {}, m.dataDirFreeBytes),
    ]);
  }
  return lines.join("\n") + "\n";
}
