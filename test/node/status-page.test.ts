// The status page in process: the pure view (the schedule table, votes, payment status, clock
// offsets), the ledger's two read-only queries it uses, and its routes over Hono's app.request,
// with the coordinator's status and the peers' clocks faked.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { ManualClock } from "../../src/core/clock.ts";
import { parseNetwork, type Network } from "../../src/core/network.ts";
import { decodePayment, paymentIdHex } from "../../src/core/payment.ts";
import { toHex } from "../../src/core/bytes.ts";
import { SUPPLY } from "../../src/core/limits.ts";
import type { KeyPair } from "../../src/core/keys.ts";
import { createStatusPage, countdownText, type ConsensusStatus } from "../../src/node/status-page.tsx";
import { PEER_CLOCK_CACHE_MS, PeerClocks, type FetchStatus } from "../../src/node/peer-clock.ts";
import { offsetLevel, paymentStatus, scheduleRows, voteVerdict } from "../../src/node/status-view.ts";
import { T0, keyPairs, openTempLedger, signedPayment, testKeyPair, windowOf, type TempLedger } from "../ledger/fixtures.ts";

const [alice, bob, carol] = keyPairs(3) as [KeyPair, KeyPair, KeyPair];
const A = toHex(alice.publicKey);
const B = toHex(bob.publicKey);
const C = toHex(carol.publicKey);

describe("the schedule table", () => {
  const three = { serverCount: 3, intervalMs: 120_000, blackoutMs: 15_000 };

  test("reproduces the design's rotation table (3 servers, 2-minute windows, 15 s blackout)", () => {
    const w = 3 * 5_000_000; // server 1 is alpha of a window that is a multiple of 3
    const start = w * 120_000;
    const rows = scheduleRows(start + 1_000, three);
    // | time | server 1 | server 2 | server 3 | from the design, at offsets from the window's start.
    expect(rows.map((r) => [(r.atMs - start) / 1000, ...r.roles])).toEqual([
      [0, "alpha", "", "beta"],
      [105, "beta", "", ""],
      [120, "beta", "alpha", ""],
      [225, "", "beta", ""],
      [240, "", "beta", "alpha"],
      [345, "", "", "beta"],
      [360, "alpha", "", "beta"],
    ]);
    expect(rows.map((r) => r.blackout)).toEqual([false, true, false, true, false, true, false]);
    expect(rows.map((r) => r.window)).toEqual([w, w, w + 1, w + 1, w + 2, w + 2, w + 3]);
  });

  test("in a blackout, the first row is the blackout and the next switch is the next window", () => {
    const start = 7 * 120_000;
    const rows = scheduleRows(start + 110_000, three);
    expect(rows[0]!.atMs).toBe(start + 105_000);
    expect(rows[0]!.blackout).toBe(true);
    expect(rows[1]!.atMs).toBe(start + 120_000);
  });

  test("exactly at a switch, that switch is now", () => {
    const start = 7 * 120_000;
    expect(scheduleRows(start, three)[0]!.atMs).toBe(start);
    expect(scheduleRows(start + 105_000, three)[0]!.atMs).toBe(start + 105_000);
  });

  test("a lone server is alpha and beta at every switch; many servers show at most 6 windows", () => {
    const rows = scheduleRows(T0, { serverCount: 1, intervalMs: 120_000, blackoutMs: 15_000 });
    expect(rows.length).toBe(7);
    expect(rows.every((r) => r.roles.length === 1 && r.roles[0] === "alpha beta")).toBe(true);
    const many = scheduleRows(T0, { serverCount: 20, intervalMs: 120_000, blackoutMs: 15_000 });
    expect(many.length).toBe(13);
    for (const r of many) expect(r.roles.filter((x) => x.includes("alpha")).length).toBe(r.blackout ? 0 : 1);
  });

  test("the countdown reads m:ss, with tenths under 10 s, never negative", () => {
    expect(countdownText(92_400)).toBe("1:32");
    expect(countdownText(9_950)).toBe("0:09.9");
    expect(countdownText(-5)).toBe("0:00.0");
  });
});

describe("votes, payment status, clock offsets", () => {
  const agreed = { window: 10, hash: "aa" };
  test("a vote agrees, disagrees, is missing, or is ahead of the agreed window", () => {
    expect(voteVerdict({ window: 10, hash: "aa", history: "00" }, agreed)).toBe("agrees");
    expect(voteVerdict({ window: 10, hash: "bb", history: "00" }, agreed)).toBe("disagrees");
    expect(voteVerdict({ window: 9, hash: "aa", history: "00" }, agreed)).toBe("missing");
    expect(voteVerdict(null, agreed)).toBe("missing");
    expect(voteVerdict({ window: 11, hash: "cc", history: "00" }, agreed)).toBe("ahead");
  });

  test("a payment is agreed once its window is", () => {
    expect(paymentStatus(10, 10)).toBe("agreed");
    expect(paymentStatus(9, 10)).toBe("agreed");
    expect(paymentStatus(11, 10)).toBe("pending");
  });

  test("an offset is ok under half the skew, a warning up to it, bad beyond; unknown without an answer", () => {
    expect(offsetLevel(0, 5_000)).toBe("ok");
    expect(offsetLevel(-2_499, 5_000)).toBe("ok");
    expect(offsetLevel(2_500, 5_000)).toBe("warn");
    expect(offsetLevel(-5_000, 5_000)).toBe("bad");
    expect(offsetLevel(null, 5_000)).toBe("unknown");
  });
});

describe("peer clocks", () => {
  const servers = [testKeyPair(71), testKeyPair(72), testKeyPair(73)];
  const network = parseNetwork({
    servers: servers.map((s, i) => ({ key: toHex(s.publicKey), address: `127.0.0.1:${7500 + i}` })),
    genesis: { [A]: SUPPLY },
  });

  test("offset = the peer's clock minus the request's midpoint; a peer that fails is unreachable", async () => {
    const clock = new ManualClock(T0);
    const asked: string[] = [];
    const fetchPeer: FetchStatus = async (url) => {
      asked.push(url);
      if (url.includes(":7502")) throw new Error("connection refused");
      clock.advance(40); // a 40 ms round trip
      return { clock: { nowMs: T0 + 20 + 1_500 } };
    };
    const clocks = new PeerClocks(network, 0, clock, fetchPeer);
    const first = await clocks.read();
    expect(asked).toEqual(["http://127.0.0.1:7501/status", "http://127.0.0.1:7502/status"]);
    expect(first.peers.map((p) => [p.self, p.offsetMs, p.error])).toEqual([
      [true, 0, null],
      [false, 1_500, null],
      [false, null, "connection refused"],
    ]);
    expect(first.peers[1]!.roundTripMs).toBe(40);
    // Reused while fresh, measured again after PEER_CLOCK_CACHE_MS.
    await clocks.read();
    expect(asked.length).toBe(2);
    clock.advance(PEER_CLOCK_CACHE_MS);
    await clocks.read();
    expect(asked.length).toBe(4);
  });

  test("a peer that never answers is given up on after the timeout", async () => {
    const fetchPeer: FetchStatus = (_url, signal) =>
      new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
    const clocks = new PeerClocks(network, 1, new ManualClock(T0), fetchPeer);
    const started = Date.now();
    const snapshot = await clocks.read();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(snapshot.peers.filter((p) => !p.self).map((p) => p.error)).toEqual(["no answer within 1000 ms", "no answer within 1000 ms"]);
  });

  test("concurrent readers share one round of requests; an answer without a clock is an error", async () => {
    let calls = 0;
    const fetchPeer: FetchStatus = async () => {
      calls++;
      await Bun.sleep(5);
      return {} as { clock: { nowMs: number } };
    };
    const clocks = new PeerClocks(network, 2, new ManualClock(T0), fetchPeer);
    const [a, b] = await Promise.all([clocks.read(), clocks.read()]);
    expect(a).toBe(b);
    expect(calls).toBe(2);
    expect(a.peers[0]!.error).toBe("its /status has no clock");
  });
});

describe("ledger queries for the page", () => {
  let t: TempLedger;
  beforeEach(() => {
    t = openTempLedger(new Map([[A, SUPPLY - 3_000], [B, 2_000], [C, 1_000]]));
  });
  afterEach(() => t.cleanup());

  test("largestAccounts: largest first, ties by id, at most `limit`", () => {
    expect(t.ledger.largestAccounts(2).map((a) => [toHex(a.id), a.balance])).toEqual([[A, SUPPLY - 3_000], [B, 2_000]]);
    expect(t.ledger.largestAccounts(10).length).toBe(3);
    expect(t.ledger.largestAccounts(0)).toEqual([]);
    // B pays C 500: both hold 1,500; the lower id comes first.
    t.ledger.applyGroup([decode(signedPayment(bob, carol.publicKey, 500, T0))], windowOf(T0), T0);
    const tied = t.ledger.largestAccounts(3).slice(1);
    expect(tied.map((a) => a.balance)).toEqual([1_500, 1_500]);
    expect(tied.map((a) => toHex(a.id))).toEqual([B, C].sort());
  });

  test("recentPayments: newest first, at most `limit`", () => {
    const ids = [1, 2, 3].map((n) => {
      const bytes = signedPayment(alice, bob.publicKey, n, T0 + n);
      t.ledger.applyGroup([decode(bytes)], windowOf(T0), T0 + n);
      return paymentIdHex(bytes);
    });
    expect(t.ledger.recentPayments(2).map((s) => paymentIdHex(s.payment.bytes))).toEqual([ids[2]!, ids[1]!]);
    expect(t.ledger.recentPayments(10).length).toBe(3);
  });
});

describe("routes", () => {
  let t: TempLedger;
  let network: Network;
  let clock: ManualClock;
  let status: ConsensusStatus;
  let app: ReturnType<typeof createStatusPage>;
  const server = testKeyPair(200);
  const serverHex = toHex(server.publicKey);

  beforeEach(() => {
    network = parseNetwork({ servers: [{ key: serverHex, address: "127.0.0.1:7400" }], genesis: { [A]: SUPPLY - 1_000, [B]: 1_000 } });
    t = openTempLedger(network.genesis);
    clock = new ManualClock(T0);
    status = {
      window: windowOf(T0),
      alpha: serverHex,
      beta: serverHex,
      role: "alpha",
      accepting: true,
      agreed: { window: windowOf(T0) - 1, hash: "ab".repeat(32) },
      final: { window: windowOf(T0) - 2, quorum: 1 },
      equivocations: [],
      syncing: false,
      peers: [{ key: serverHex, address: "127.0.0.1:7400", lastVote: { window: windowOf(T0) - 1, hash: "cd".repeat(32), history: "ef".repeat(32) } }],
      recent: [{ window: windowOf(T0) - 2, kind: "rollback", atMs: T0 - 200_000, detail: "no majority" }],
    } as ConsensusStatus;
    app = createStatusPage({ ledger: t.ledger, network, clock, keyHex: serverHex, selfIndex: 0, version: "test", status: () => status });
  });
  afterEach(() => t.cleanup());

  const text = async (path: string) => {
    const r = await app.request(path);
    return { status: r.status, type: r.headers.get("content-type") ?? "", body: await r.text() };
  };

  test("GET / is one HTML page: the alpha, the votes, the events, nothing from another origin", async () => {
    const page = await text("/");
    expect(page.status).toBe(200);
    expect(page.type).toContain("text/html");
    expect(page.body.startsWith("<!doctype html>")).toBe(true);
    expect(page.body).toContain(`id="alpha" data-key="${serverHex}"`);
    expect(page.body).toContain('data-verdict="disagrees"');
    expect(page.body).toContain("1 rollback(s)");
    expect(page.body).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  test("the last final window, and an alarm naming a server proven to equivocate", async () => {
    expect((await text("/")).body).toContain(`window ${windowOf(T0) - 2}`);
    expect((await text("/")).body).not.toContain('id="equivocations"');
    status = { ...status, equivocations: [{ window: windowOf(T0) - 1, server: serverHex, address: "127.0.0.1:7400", foundAtMs: T0 }] };
    const page = (await text("/")).body;
    expect(page).toContain('id="equivocations" role="alert"');
    expect(page).toContain(`signed two conflicting messages for window ${windowOf(T0) - 1}`);
  });

  test("nothing inline for the CSP to forbid: script and style sheet from this node, with their types", async () => {
    const page = (await text("/")).body;
    const live = (await text("/page/live")).body;
    for (const html of [page, live]) {
      expect(html).not.toMatch(/<script>|<style|\sstyle=|\son[a-z]+=/i);
    }
    const script = /<script src="(\/page\/script\.js\?v=[0-9a-f]{16})"><\/script>/.exec(page)?.[1];
    const sheet = /<link rel="stylesheet" href="(\/page\/style\.css\?v=[0-9a-f]{16})"\/?>/.exec(page)?.[1];
    expect(script).toBeDefined();
    expect(sheet).toBeDefined();
    const js = await text(script!);
    expect([js.status, js.type]).toEqual([200, "text/javascript; charset=utf-8"]);
    expect(js.body).toContain("/page/live");
    const css = await text(sheet!);
    expect([css.status, css.type]).toEqual([200, "text/css; charset=utf-8"]);
    // The schedule's width, for this network's one server column, is a rule of the sheet.
    expect(css.body).toContain("table.schedule { max-width: 430px; }");
  });

  test("a payment shows as pending, then agreed once its window is", async () => {
    const bytes = signedPayment(alice, bob.publicKey, 777, T0);
    t.ledger.applyGroup([decode(bytes)], windowOf(T0), T0);
    const id = paymentIdHex(bytes);
    const live = await text("/page/live");
    expect(live.body).toContain(`data-payment="${id}"`);
    expect(live.body).toContain("pay-pending");
    const recent = (await (await app.request("/payments/recent")).json()) as { payments: { id: string; status: string }[] };
    expect(recent.payments.map((p) => [p.id, p.status])).toEqual([[id, "pending"]]);
    status = { ...status, agreed: { window: windowOf(T0), hash: "ab".repeat(32) } };
    expect((await text("/page/live")).body).toContain("pay-agreed");
  });

  test("the search: found (balance, payments), unknown, not an id; input is escaped", async () => {
    const found = await text(`/page/account/${B}`);
    expect(found.body).toContain('data-result="found"');
    expect(found.body).toContain('data-balance="1000"');
    expect((await text(`/page/account/${C}`)).body).toContain('data-result="unknown"');
    // Upper case and spaces around are forgiven.
    expect((await text(`/page/account/%20${B.toUpperCase()}%20`)).body).toContain('data-result="found"');
    const bad = await text(`/?account=${encodeURIComponent('<script>alert(1)</script>')}`);
    expect(bad.body).toContain('data-result="invalid"');
    expect(bad.body).not.toContain("<script>alert(1)");
    expect(bad.body).toContain("&lt;script&gt;");
  });

  test("GET /payments/recent?limit= is validated", async () => {
    for (const limit of ["0", "101", "x", "-1"]) {
      const r = await app.request(`/payments/recent?limit=${limit}`);
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe("BAD_REQUEST");
    }
    expect((await app.request("/payments/recent?limit=100")).status).toBe(200);
  });

  test("GET /status/peers: a lone server has only itself", async () => {
    const r = (await (await app.request("/status/peers")).json()) as { skewMs: number; peers: { self: boolean; offsetMs: number }[] };
    expect(r.skewMs).toBe(network.skewMs);
    expect(r.peers).toEqual([expect.objectContaining({ self: true, offsetMs: 0 })]);
  });
});

const decode = (bytes: Uint8Array) => decodePayment(bytes)!;
