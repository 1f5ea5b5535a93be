// The pure parts of the payer's commands: where a payment stands, the merged history, a payment's
// lifecycle, the network's status, the balance tally. Answers in, views out; no servers.
import { describe, expect, test } from "bun:test";
import { paymentTally, type ServerView } from "../../src/client/payment-state.ts";
import { mergeHistory } from "../../src/client/history.ts";
import { paymentLifecycle } from "../../src/client/payment-lifecycle.ts";
import { networkStatus } from "../../src/client/network-status.ts";
import { balanceTally, type ServerAnswer } from "../../src/client/balance.ts";
import type { PageAsked, StatusAnswer, StatusAsked, StoredPaymentAnswer, TxAsked } from "../../src/client/server-answers.ts";
import { parseNetwork } from "../../src/core/network.ts";

const hex = (c: string) => c.repeat(64);
const ME = hex("1");
const OTHER = hex("2");

describe("paymentTally: a strict majority of the network's servers decides", () => {
  const holds = (agreedWindow: number): ServerView => ({ holds: true, agreedWindow });
  const lacks = (agreedWindow: number): ServerView => ({ holds: false, agreedWindow });
  test.each<[string, ServerView[], number, string]>([
    ["1 of 1 holds it, its window agreed", [holds(5)], 1, "agreed"],
    ["1 of 1 holds it, a later window agreed", [holds(9)], 1, "agreed"],
    ["1 of 1 holds it, window not agreed yet", [holds(4)], 1, "pending"],
    ["2 of 3 hold it agreed", [holds(5), holds(5), null], 3, "agreed"],
    ["1 of 3 holds it agreed, the others cannot tell", [holds(5), null, null], 3, "pending"],
    ["2 of 3 agreed without it", [lacks(5), lacks(6), holds(4)], 3, "disappeared"],
    ["1 of 1 agreed without it", [lacks(5)], 1, "disappeared"],
    ["a server behind its window counts for neither", [lacks(4), holds(5), lacks(4)], 3, "pending"],
    ["half is not a majority (2 of 4)", [holds(5), holds(5), lacks(5), lacks(5)], 4, "pending"],
    ["the majority is of the network, not of those answering", [holds(5)], 3, "pending"],
  ])("%s", (_name, views, n, state) => {
    expect(paymentTally(5, views, n).state).toBe(state as never);
  });

  test("counts", () => {
    expect(paymentTally(5, [holds(5), holds(4), lacks(7), null], 4)).toEqual({ state: "pending", holding: 2, agreedWith: 1, agreedWithout: 1, of: 4 });
  });
});

const payment = (id: string, window: number, over: Partial<StoredPaymentAnswer> = {}): StoredPaymentAnswer => ({
  id,
  timestamp: window * 1000 + 1,
  amount: 10,
  payee: OTHER,
  payer: ME,
  window,
  acceptedAt: window * 1000 + 2,
  ...over,
});
const page = (server: string, agreedWindow: number, transactions: StoredPaymentAnswer[], complete = true, hasAccount = true): PageAsked => ({
  server,
  kind: "answer",
  agreedWindow,
  hasAccount,
  transactions,
  complete,
});
const down = (server: string): PageAsked => ({ server, kind: "error", message: "cannot reach" });

describe("mergeHistory", () => {
  test("merges by id, newest first (window, then timestamp), with direction and status", () => {
    const a = payment(hex("a"), 3);
    const b = payment(hex("b"), 5, { payee: ME, payer: OTHER });
    const c = payment(hex("c"), 5, { timestamp: 5999 });
    const h = mergeHistory(ME, [page("s1", 5, [c, b, a]), page("s2", 4, [a]), down("s3")], 3, 10);
    expect(h.payments.map((p) => p.id)).toEqual([hex("c"), hex("b"), hex("a")]);
    expect(h.payments.map((p) => p.direction)).toEqual(["out", "in", "out"]);
    // a: both answering servers hold it agreed (2 of 3). b, c: s1 holds them agreed, s2 lacks them but is behind.
    expect(h.payments.map((p) => p.status)).toEqual(["pending", "pending", "agreed"]);
    expect(h.payments.map((p) => p.servers)).toEqual([1, 1, 2]);
    expect(h.known).toBe(true);
    expect(h.answered).toBe(2);
  });

  test("a payment a majority agreed without is disappeared", () => {
    const x = payment(hex("d"), 5);
    const h = mergeHistory(ME, [page("s1", 4, [x]), page("s2", 6, []), page("s3", 6, [])], 3, 10);
    expect(h.payments[0]!.status).toBe("disappeared");
  });

  test("a server whose page does not reach back that far cannot tell", () => {
    const old = payment(hex("e"), 2);
    const newer = payment(hex("f"), 8);
    // s2's page is full (not complete) and its oldest entry is newer than `old`: it says nothing of it.
    const h = mergeHistory(ME, [page("s1", 9, [newer, old]), page("s2", 9, [newer], false)], 2, 10);
    expect(h.payments.find((p) => p.id === old.id)!.status).toBe("pending");
    // With s2's page complete, s2 agreed past window 2 without it: 1 of 2 is no majority either way.
    const h2 = mergeHistory(ME, [page("s1", 9, [newer, old]), page("s2", 9, [newer], true)], 2, 10);
    expect(h2.payments.find((p) => p.id === old.id)!.status).toBe("pending");
    const h3 = mergeHistory(ME, [page("s1", 9, [newer, old]), page("s2", 9, [newer], true), page("s3", 9, [newer], true)], 3, 10);
    expect(h3.payments.find((p) => p.id === old.id)!.status).toBe("disappeared");
  });

  test("limit keeps the newest", () => {
    const ps = [payment(hex("3"), 3), payment(hex("4"), 4), payment(hex("5"), 5)];
    expect(mergeHistory(ME, [page("s1", 9, ps.toReversed())], 1, 2).payments.map((p) => p.window)).toEqual([5, 4]);
  });

  test("unknown account: no payments and no account anywhere; a genesis account without payments is known", () => {
    expect(mergeHistory(ME, [page("s1", 1, [], true, false)], 1, 10).known).toBe(false);
    expect(mergeHistory(ME, [page("s1", 1, [], true, true)], 1, 10).known).toBe(true);
    expect(mergeHistory(ME, [down("s1")], 1, 10)).toEqual({ payments: [], known: false, answered: 0 });
  });
});

describe("paymentLifecycle", () => {
  const p = payment(hex("9"), 7);
  const holds = (server: string, agreedWindow: number): TxAsked => ({ server, kind: "answer", agreedWindow, payment: p });
  const lacks = (server: string, agreedWindow: number): TxAsked => ({ server, kind: "answer", agreedWindow, payment: null });
  const fails = (server: string): TxAsked => ({ server, kind: "error", message: "cannot reach" });

  test("agreed, with each server's holding", () => {
    const l = paymentLifecycle([holds("s1", 7), holds("s2", 8), fails("s3")], 3);
    expect(l.kind).toBe("found");
    if (l.kind !== "found") return;
    expect(l.state).toBe("agreed");
    expect(l.payment).toEqual(p);
    expect(l.servers).toEqual([
      { server: "s1", reachable: true, holds: true, agreedWindow: 7, acceptedAt: p.acceptedAt },
      { server: "s2", reachable: true, holds: true, agreedWindow: 8, acceptedAt: p.acceptedAt },
      { server: "s3", reachable: false, error: "cannot reach" },
    ]);
  });

  test("pending and disappeared", () => {
    const pending = paymentLifecycle([holds("s1", 6), lacks("s2", 6), lacks("s3", 6)], 3);
    expect(pending.kind === "found" && pending.state).toBe("pending");
    const gone = paymentLifecycle([holds("s1", 6), lacks("s2", 7), lacks("s3", 9)], 3);
    expect(gone.kind === "found" && gone.state).toBe("disappeared");
  });

  test("not found: no answering server holds it", () => {
    expect(paymentLifecycle([lacks("s1", 9), fails("s2")], 2)).toMatchObject({ kind: "not-found", answered: 1 });
    expect(paymentLifecycle([fails("s1")], 1)).toMatchObject({ kind: "not-found", answered: 0 });
  });
});

describe("networkStatus", () => {
  const keys = [hex("a"), hex("b"), hex("c")];
  const network = parseNetwork({
    servers: keys.map((key, i) => ({ key, address: `127.0.0.1:${7400 + i}` })),
    interval: 10_000,
    blackout: 3_000,
    skew: 1_000,
    genesis: {},
  });
  const vote = (window: number, h = "e") => ({ window, hash: hex(h), history: hex("f") });
  const status = (i: number, over: Partial<StatusAnswer> = {}): StatusAnswer => ({
    key: keys[i]!,
    clock: { nowMs: 1_000_000 },
    window: 100,
    alpha: keys[1]!,
    beta: keys[0]!,
    role: "idle",
    accepting: false,
    syncing: false,
    agreed: { window: 99, hash: hex("e") },
    peers: keys.map((key) => ({ key, lastVote: null })),
    ...over,
  });
  const answer = (i: number, s: StatusAnswer, sentMs: number, receivedMs: number): StatusAsked => ({ server: `127.0.0.1:${7400 + i}`, kind: "answer", status: s, sentMs, receivedMs });

  // Window 100 spans [1,000,000, 1,010,000); its blackout starts at 1,007,000; alpha of 100 is server 100 mod 3 = 1.
  test("schedule by this machine's clock: window, alpha, beta, next switch", () => {
    const v = networkStatus(network, 1_002_000, []);
    expect(v.window).toBe(100);
    expect(v.blackout).toBe(false);
    expect(v.alpha?.index).toBe(1);
    expect(v.beta.index).toBe(0);
    expect(v.nextSwitch).toMatchObject({ atMs: 1_007_000, inMs: 5_000, window: 100, blackout: true, alpha: null });
    expect(v.nextSwitch.beta.index).toBe(1);
    const inBlackout = networkStatus(network, 1_008_000, []);
    expect(inBlackout.blackout).toBe(true);
    expect(inBlackout.alpha).toBeNull();
    expect(inBlackout.nextSwitch).toMatchObject({ atMs: 1_010_000, inMs: 2_000, window: 101, blackout: false });
    expect(inBlackout.nextSwitch.alpha?.index).toBe(2);
    expect(v.final).toBeNull();
  });

  test("final: the newest window a strict majority of the servers reports final", () => {
    const at = (i: number, final: number | undefined) => answer(i, status(i, final === undefined ? {} : { final: { window: final, quorum: 3 } }), 1_002_000, 1_002_010);
    expect(networkStatus(network, 1_002_020, [at(0, 99), at(1, 98), at(2, 97)]).final).toEqual({ window: 98, servers: 2 });
    // One server alone cannot make a window final for the client, whatever it claims.
    expect(networkStatus(network, 1_002_020, [at(0, 99), at(1, -1), at(2, undefined)]).final).toBeNull();
  });

  test("offset: the server's clock minus the request's midpoint; unreachable servers; votes and verdicts", () => {
    const s0 = status(0, { clock: { nowMs: 1_002_150 }, peers: keys.map((key, i) => ({ key, lastVote: i === 0 ? vote(99) : null })) });
    const s1 = status(1, { agreed: { window: 100, hash: hex("f") }, peers: keys.map((key, i) => ({ key, lastVote: i === 1 ? vote(100, "f") : i === 0 ? vote(100, "d") : null })) });
    const v = networkStatus(network, 1_002_000, [answer(0, s0, 1_001_900, 1_002_100), answer(1, s1, 1_001_950, 1_002_050), { server: "127.0.0.1:7402", kind: "error", message: "cannot reach" }]);
    expect(v.agreed).toEqual({ window: 100, hash: hex("f"), servers: 1 });
    expect(v.reachable).toBe(2);
    expect(v.of).toBe(3);
    const [a, b, c] = v.servers;
    expect(a).toMatchObject({ reachable: true, offsetMs: 150, roundTripMs: 200, vote: vote(99), verdict: "missing", error: null });
    expect(b).toMatchObject({ reachable: true, offsetMs: -1_002_000 + 1_000_000, vote: vote(100, "f"), verdict: "agrees" });
    expect(c).toMatchObject({ reachable: false, error: "cannot reach", offsetMs: null, vote: null, verdict: null });
  });

  test("a vote the server does not report is taken from the others' view; a wrong key is named", () => {
    const s0 = status(0, { peers: keys.map((key, i) => ({ key, lastVote: i === 1 ? vote(99, "d") : null })) });
    const s1 = status(1, { key: hex("9") });
    const v = networkStatus(network, 1_002_000, [answer(0, s0, 1_000_000, 1_000_000), answer(1, s1, 1_000_000, 1_000_000)]);
    expect(v.servers[1]).toMatchObject({ vote: vote(99, "d"), verdict: "disagrees" });
    expect(v.servers[1]!.error).toContain("answers with key");
  });
});

describe("balanceTally", () => {
  const bal = (server: string, balance: number): ServerAnswer => ({ server, kind: "balance", balance });
  const none = (server: string): ServerAnswer => ({ server, kind: "no-account" });
  const err = (server: string): ServerAnswer => ({ server, kind: "error", message: "x" });
  test("majority balance, naming who disagrees and who did not answer", () => {
    const t = balanceTally([bal("a", 5), bal("b", 5), bal("c", 6), err("d"), bal("e", 5)]);
    expect(t.kind).toBe("balance");
    if (t.kind === "balance") expect(t.balance).toBe(5);
    expect(t.disagreeing.map((a) => a.server)).toEqual(["c"]);
    expect(t.unanswered.map((a) => a.server)).toEqual(["d"]);
  });
  test("no account, no majority", () => {
    expect(balanceTally([none("a"), none("b"), bal("c", 1)]).kind).toBe("no-account");
    expect(balanceTally([bal("a", 1), bal("b", 2)]).kind).toBe("no-majority");
    expect(balanceTally([bal("a", 1), err("b")]).kind).toBe("no-majority");
    expect(balanceTally([]).kind).toBe("no-majority");
  });
});
