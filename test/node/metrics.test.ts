// GET /metrics: the histogram, the text format (every line a valid Prometheus line, HELP and TYPE
// for every family, cumulative buckets), and counters that move with a real intake and ledger.
import { afterEach, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import {
  COMMIT_SECONDS_BUCKETS,
  GROUP_PAYMENTS_BUCKETS,
  Histogram,
  METRICS_CONTENT_TYPE,
  formatMetrics,
  metricsHandler,
  readMetrics,
  type MetricsSnapshot,
  type MetricsSources,
} from "../../src/node/metrics.ts";
import { PaymentIntake } from "../../src/node/payment-intake.ts";
import { ManualClock } from "../../src/core/clock.ts";
import { verifySignature } from "../../src/core/verify.ts";
import { CAPACITY_PAYMENTS_DEFAULT, SKEW_MS_DEFAULT } from "../../src/core/limits.ts";
import type { KeyPair } from "../../src/core/keys.ts";
import { T0, genesisOf, keyPairs, openTempLedger, signedPayment, windowOf, type TempLedger } from "../ledger/fixtures.ts";
import { parsePrometheusText, sampleValue } from "../support/prometheus-text.ts";

const [alice, bob, carol, stranger] = keyPairs(4) as [KeyPair, KeyPair, KeyPair, KeyPair];

describe("Histogram", () => {
  test("a value equal to a bound falls in that bucket; above the last bound, in +Inf", () => {
    const h = new Histogram([1, 5, 10]);
    for (const v of [0, 1, 1.5, 5, 10, 11, 1000]) h.observe(v);
    const s = h.snapshot();
    expect(s.counts).toEqual([2, 2, 1, 2]);
    expect(s.count).toBe(7);
    expect(s.sum).toBe(1028.5);
    expect(s.max).toBe(1000);
  });

  test("before any observation: all zero", () => {
    expect(new Histogram([1, 2]).snapshot()).toEqual({ bounds: [1, 2], counts: [0, 0, 0], count: 0, sum: 0, max: 0 });
  });

  test("a snapshot does not move with later observations", () => {
    const h = new Histogram([1]);
    const before = h.snapshot();
    h.observe(1);
    expect(before.counts).toEqual([0, 0]);
    expect(h.snapshot().counts).toEqual([1, 0]);
  });

  test("bounds that do not ascend, and negative or non-finite observations, are bugs", () => {
    expect(() => new Histogram([1, 1])).toThrow(/ascend/);
    expect(() => new Histogram([5, 2])).toThrow(/ascend/);
    const h = new Histogram([1]);
    expect(() => h.observe(-1)).toThrow(/non-negative/);
    expect(() => h.observe(NaN)).toThrow(/finite/);
    expect(() => h.observe(Infinity)).toThrow(/finite/);
  });

  test("the node's bucket sets ascend and reach the commit group limit", () => {
    expect(() => new Histogram(GROUP_PAYMENTS_BUCKETS)).not.toThrow();
    expect(() => new Histogram(COMMIT_SECONDS_BUCKETS)).not.toThrow();
    expect(GROUP_PAYMENTS_BUCKETS.at(-1)).toBe(4096);
  });
});

function snapshot(overrides: Partial<MetricsSnapshot> = {}): MetricsSnapshot {
  const groups = new Histogram([1, 10]);
  groups.observe(1);
  groups.observe(7);
  const seconds = new Histogram([0.001, 0.01]);
  seconds.observe(0.0004);
  seconds.observe(0.02);
  return {
    version: "0.1.0",
    commit: "abc123",
    paymentsAccepted: 8,
    paymentsRejected: new Map([["SELF_PAYMENT", 2]]),
    commitGroupPayments: groups.snapshot(),
    commitSeconds: seconds.snapshot(),
    windowsAgreed: 3,
    rollbacks: 1,
    resyncs: 2,
    lateHandovers: 0,
    rescues: 1,
    equivocations: 0,
    finalWindow: 40,
    awaitingMajority: 7,
    relaysDropped: 2,
    peerRequestsFailed: 4,
    peerMessagesRejected: 5,
    pendingPayments: 6,
    agreedWindow: 41,
    syncing: true,
    ledgerAccounts: 9,
    ledgerPayments: 8,
    ledgerSupply: 4294967295,
    faults: new Map([["udp_socket_error", 3]]),
    storageOk: true,
    dataDirFreeBytes: 1_000_000,
    ...overrides,
  };
}

describe("formatMetrics", () => {
  test("the replication stream's figures: rescues, payments awaiting a majority, relays dropped", () => {
    const text = formatMetrics(snapshot());
    expect(text).toContain("\nscryp_rescues_total 1\n");
    expect(text).toContain("\nscryp_payments_awaiting_majority 7\n");
    expect(text).toContain("\nscryp_relays_dropped_total 2\n");
    expect(text).toContain("\nscryp_equivocations_total 0\n");
    expect(text).toContain("\nscryp_final_window 40\n");
  });
  test("every line is a valid Prometheus line; every family has HELP and TYPE; names are scryp_", () => {
    const text = formatMetrics(snapshot());
    const families = parsePrometheusText(text); // throws on any invalid line
    for (const [name, f] of families) {
      expect(name).toStartWith("scryp_");
      expect(f.help, `${name} has HELP`).not.toBeNull();
      expect(f.help!.length).toBeGreaterThan(10);
      if (f.type === "counter") expect(name).toEndWith("_total");
    }
    // Every HELP line names a family that has a TYPE.
    const helpNames = text.split("\n").filter((l) => l.startsWith("# HELP ")).map((l) => l.split(" ")[2]);
    expect(new Set(helpNames)).toEqual(new Set(families.keys()));
  });

  test("each number lands in its series", () => {
    const f = parsePrometheusText(formatMetrics(snapshot()));
    expect(sampleValue(f, "scryp_build_info", { version: "0.1.0", commit: "abc123" })).toBe(1);
    expect(sampleValue(f, "scryp_payments_accepted_total")).toBe(8);
    expect(sampleValue(f, "scryp_payments_rejected_total", { code: "SELF_PAYMENT" })).toBe(2);
    expect(sampleValue(f, "scryp_windows_agreed_total")).toBe(3);
    expect(sampleValue(f, "scryp_rollbacks_total")).toBe(1);
    expect(sampleValue(f, "scryp_resyncs_total")).toBe(2);
    expect(sampleValue(f, "scryp_peer_errors_total", { kind: "request_failed" })).toBe(4);
    expect(sampleValue(f, "scryp_peer_errors_total", { kind: "message_rejected" })).toBe(5);
    expect(sampleValue(f, "scryp_pending_payments")).toBe(6);
    expect(sampleValue(f, "scryp_agreed_window")).toBe(41);
    expect(sampleValue(f, "scryp_syncing")).toBe(1);
    expect(sampleValue(f, "scryp_ledger_accounts")).toBe(9);
    expect(sampleValue(f, "scryp_ledger_payments")).toBe(8);
    expect(sampleValue(f, "scryp_ledger_supply_scryp")).toBe(4294967295);
  });

  test("histograms: cumulative buckets ending at +Inf, _sum, _count, and a _max gauge", () => {
    const f = parsePrometheusText(formatMetrics(snapshot()));
    expect(f.get("scryp_commit_group_payments")!.type).toBe("histogram");
    expect(sampleValue(f, "scryp_commit_group_payments_bucket", { le: "1" })).toBe(1);
    expect(sampleValue(f, "scryp_commit_group_payments_bucket", { le: "10" })).toBe(2);
    expect(sampleValue(f, "scryp_commit_group_payments_bucket", { le: "+Inf" })).toBe(2);
    expect(sampleValue(f, "scryp_commit_group_payments_sum")).toBe(8);
    expect(sampleValue(f, "scryp_commit_group_payments_count")).toBe(2);
    expect(sampleValue(f, "scryp_commit_group_payments_max")).toBe(7);
    expect(sampleValue(f, "scryp_commit_duration_seconds_bucket", { le: "0.001" })).toBe(1);
    expect(sampleValue(f, "scryp_commit_duration_seconds_bucket", { le: "0.01" })).toBe(1);
    expect(sampleValue(f, "scryp_commit_duration_seconds_bucket", { le: "+Inf" })).toBe(2);
    expect(sampleValue(f, "scryp_commit_duration_seconds_sum")).toBeCloseTo(0.0204, 10);
    expect(sampleValue(f, "scryp_commit_duration_seconds_max")).toBe(0.02);
  });

  test("every payment rejection code is exported, at 0 until it happens; other codes are added", () => {
    const f = parsePrometheusText(formatMetrics(snapshot({ paymentsRejected: new Map([["PEER_REJECTED", 1]]) })));
    for (const code of ["PAYMENT_SIZE", "AMOUNT_ZERO", "SELF_PAYMENT", "TIMESTAMP_SKEW", "SIGNATURE_INVALID", "DUPLICATE", "UNKNOWN_PAYER", "INSUFFICIENT_BALANCE", "NOT_ACCEPTING", "OVERLOADED", "INTERNAL"]) {
      expect(sampleValue(f, "scryp_payments_rejected_total", { code })).toBe(0);
    }
    expect(sampleValue(f, "scryp_payments_rejected_total", { code: "PEER_REJECTED" })).toBe(1);
    expect(() => sampleValue(f, "scryp_payments_rejected_total", { code: "NOT_FOUND" })).toThrow();
  });

  test("label values are escaped: backslash, double quote, newline", () => {
    const text = formatMetrics(snapshot({ commit: 'a"b\\c\nd' }));
    expect(text).toContain('commit="a\\"b\\\\c\\nd"');
    const f = parsePrometheusText(text);
    expect(sampleValue(f, "scryp_build_info", { version: "0.1.0", commit: 'a"b\\c\nd' })).toBe(1);
  });

  test("the reader used here rejects what is not the format (so the checks above can fail)", () => {
    const good = formatMetrics(snapshot());
    expect(() => parsePrometheusText(good.replace("scryp_rollbacks_total 1", "scryp_rollbacks_total one"))).toThrow(/not a valid/);
    expect(() => parsePrometheusText(good.replace("# TYPE scryp_resyncs_total counter\n", ""))).toThrow(/before its family's TYPE|after another family/);
    expect(() => parsePrometheusText(good.replace('scryp_commit_group_payments_bucket{le="10"} 2', 'scryp_commit_group_payments_bucket{le="10"} 0'))).toThrow(/cumulative/);
    expect(() => parsePrometheusText(good.slice(0, -1))).toThrow(/newline/);
    expect(() => parsePrometheusText(good + "\n")).toThrow(/not a valid/);
  });
});

describe("with a real intake and ledger", () => {
  let t: TempLedger | null = null;
  afterEach(() => {
    t?.cleanup();
    t = null;
  });

  function rig() {
    t = openTempLedger(genesisOf([[alice, 1_000], [bob, 100]]));
    const clock = new ManualClock(T0);
    const intake = new PaymentIntake({ ledger: t.ledger, clock, skewMs: SKEW_MS_DEFAULT, verify: verifySignature, gate: () => null, windowAt: windowOf, capacity: CAPACITY_PAYMENTS_DEFAULT });
    const counters = { agreed: 0, rollbacks: 0, resyncs: 0, peerRejected: 0 };
    const peers = { peerErrors: 0 };
    const sources: MetricsSources = {
      version: "0.1.0",
      commit: "test",
      intake,
      coordinator: { counters, agreed: { window: -1 }, isSyncing: false },
      peers,
      ledger: t.ledger,
    };
    const scrape = () => parsePrometheusText(formatMetrics(readMetrics(sources)));
    return { t, intake, counters, peers, scrape, sources };
  }

  test("counters start at zero and move after payments, rejections and consensus events", async () => {
    const r = rig();
    let m = r.scrape();
    expect(sampleValue(m, "scryp_payments_accepted_total")).toBe(0);
    expect(sampleValue(m, "scryp_payments_rejected_total", { code: "SELF_PAYMENT" })).toBe(0);
    expect(sampleValue(m, "scryp_commit_group_payments_count")).toBe(0);
    expect(sampleValue(m, "scryp_ledger_accounts")).toBe(2);
    expect(sampleValue(m, "scryp_ledger_payments")).toBe(0);
    expect(sampleValue(m, "scryp_ledger_supply_scryp")).toBe(1_100);

    // One group: two accepted. Two refused before the queue: an unknown payer, a self-payment.
    const outcomes = await Promise.all([
      r.intake.submitAsync(signedPayment(alice, bob.publicKey, 10, T0)),
      r.intake.submitAsync(signedPayment(alice, carol.publicKey, 20, T0)),
      r.intake.submitAsync(signedPayment(stranger, bob.publicKey, 5, T0)),
      r.intake.submitAsync(signedPayment(bob, bob.publicKey, 5, T0)),
    ]);
    expect(outcomes.map((o) => (o.accepted ? "accepted" : o.code))).toEqual(["accepted", "accepted", "UNKNOWN_PAYER", "SELF_PAYMENT"]);

    m = r.scrape();
    expect(sampleValue(m, "scryp_payments_accepted_total")).toBe(2);
    expect(sampleValue(m, "scryp_payments_rejected_total", { code: "UNKNOWN_PAYER" })).toBe(1);
    expect(sampleValue(m, "scryp_payments_rejected_total", { code: "SELF_PAYMENT" })).toBe(1);
    expect(sampleValue(m, "scryp_payments_rejected_total", { code: "DUPLICATE" })).toBe(0);
    expect(sampleValue(m, "scryp_commit_group_payments_count")).toBe(1);
    expect(sampleValue(m, "scryp_commit_group_payments_sum")).toBe(2);
    expect(sampleValue(m, "scryp_commit_group_payments_bucket", { le: "2" })).toBe(1);
    expect(sampleValue(m, "scryp_commit_group_payments_bucket", { le: "5" })).toBe(1);
    expect(sampleValue(m, "scryp_commit_group_payments_max")).toBe(2);
    expect(sampleValue(m, "scryp_commit_duration_seconds_count")).toBe(1);
    expect(sampleValue(m, "scryp_commit_duration_seconds_sum")).toBeGreaterThan(0);
    expect(sampleValue(m, "scryp_ledger_accounts")).toBe(3);
    expect(sampleValue(m, "scryp_ledger_payments")).toBe(2);
    expect(sampleValue(m, "scryp_ledger_supply_scryp")).toBe(1_100);

    r.counters.agreed++;
    r.counters.rollbacks += 2;
    r.counters.peerRejected++;
    r.peers.peerErrors += 3;
    m = r.scrape();
    expect(sampleValue(m, "scryp_windows_agreed_total")).toBe(1);
    expect(sampleValue(m, "scryp_rollbacks_total")).toBe(2);
    expect(sampleValue(m, "scryp_peer_errors_total", { kind: "message_rejected" })).toBe(1);
    expect(sampleValue(m, "scryp_peer_errors_total", { kind: "request_failed" })).toBe(3);
  });

  test("pending payments are a gauge: up while queued, back to 0 after the commit", () => {
    const r = rig();
    r.intake.submit(signedPayment(alice, bob.publicKey, 1, T0), () => {});
    r.intake.submit(signedPayment(alice, bob.publicKey, 2, T0), () => {});
    expect(sampleValue(r.scrape(), "scryp_pending_payments")).toBe(2);
    r.intake.flush();
    expect(sampleValue(r.scrape(), "scryp_pending_payments")).toBe(0);
  });

  test("GET /metrics answers 200 text/plain; version=0.0.4 with the scrape", async () => {
    const r = rig();
    const app = new Hono();
    app.get("/metrics", metricsHandler(r.sources));
    await r.intake.submitAsync(signedPayment(alice, bob.publicKey, 10, T0));
    const res = await app.request("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(METRICS_CONTENT_TYPE);
    expect(METRICS_CONTENT_TYPE).toStartWith("text/plain; version=0.0.4");
    const m = parsePrometheusText(await res.text());
    expect(sampleValue(m, "scryp_payments_accepted_total")).toBe(1);
  });
});
