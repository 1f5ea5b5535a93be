// The payer's commands against the compiled binary and a funded one-server node: history, tx,
// status, request, pay with a scryp: payment request, and --json on every client command (one
// document on stdout; errors as {"error":{"code","message"}} on stderr and nothing else there; the
// same exit statuses as without --json).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { renderUnicodeCompact } from "uqr";
import { freePort, tempDir, testKeyPair } from "../support/helpers.ts";
import { runScryp, writeJson } from "../support/binary-node.ts";
import { HEX64, HOST, SERVER, hexOf, startFundedNode, writeSeed, type FundedNode } from "./e2e-support.ts";

const ALICE = testKeyPair(21);
const BOB = testKeyPair(22);
const STRANGER = "c".repeat(64);
const ALICE_FUNDS = 1_000;
/** Short windows, so a payment is agreed within a couple of seconds. */
const FAST = { interval: 2_000, blackout: 800, skew: 300 };

let dir: { path: string; cleanup: () => void };
let cwd: string;
let f: FundedNode;
/** A network file whose only server is a closed port. */
let deadNetwork: string;
let deadUrl: string;

beforeAll(async () => {
  dir = tempDir("scryp-e2e-payer-");
  cwd = dir.path;
  writeSeed(join(cwd, "alice.seed"), ALICE);
  writeSeed(join(cwd, "bob.seed"), BOB);
  f = await startFundedNode(cwd, [[ALICE, ALICE_FUNDS]], [], FAST);
  const port = await freePort();
  deadUrl = `http://${HOST}:${port}`;
  deadNetwork = join(cwd, "dead.json");
  writeJson(deadNetwork, { servers: [{ key: hexOf(SERVER), address: `${HOST}:${port}` }], genesis: {}, ...FAST });
});
afterAll(async () => {
  await f?.node.kill();
  dir.cleanup();
});

const net = () => ["--network", f.networkPath];
const run = (args: string[]) => runScryp(args, cwd);

/** A --json success: exit 0, exactly one JSON document (one line) on stdout, nothing on stderr. */
async function jsonOk(args: string[]): Promise<any> {
  const r = await run([...args, "--json"]);
  expect({ args, exitCode: r.exitCode, stderr: r.stderr }).toEqual({ args, exitCode: 0, stderr: "" });
  expect(r.stdout.endsWith("\n")).toBe(true);
  expect(r.stdout.trimEnd().split("\n")).toHaveLength(1);
  return JSON.parse(r.stdout);
}

/** A --json failure: the exit status, nothing on stdout, exactly the error document on stderr. */
async function jsonError(args: string[], exitCode: number, code: string, fragment = ""): Promise<any> {
  const r = await run([...args, "--json"]);
  expect({ args, exitCode: r.exitCode, stdout: r.stdout }).toEqual({ args, exitCode, stdout: "" });
  expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  const doc = JSON.parse(r.stderr);
  expect(Object.keys(doc)).toEqual(["error"]);
  expect(doc.error.code).toBe(code);
  expect(typeof doc.error.message).toBe("string");
  expect(doc.error.message).toContain(fragment);
  return doc.error;
}

/** The same failure without --json: same exit status, nothing on stdout, plain words on stderr. */
async function textError(args: string[], exitCode: number, fragment: string) {
  const r = await run(args);
  expect({ args, exitCode: r.exitCode, stdout: r.stdout }).toEqual({ args, exitCode, stdout: "" });
  expect(r.stderr).toContain(fragment);
  expect(r.stderr).not.toContain("internal error");
}

/** Alice pays Bob once, confirmed; the payment id. */
let paidId: string;
let paidByUri: string;
let paidByUriText: string;

describe("pay", () => {
  test("PAYEE AMOUNT --wait --json: one document, status confirmed; stderr silent (no progress lines)", async () => {
    const doc = await jsonOk(["pay", hexOf(BOB), "100", ...net(), "--seed", "alice.seed", "--wait"]);
    expect(doc).toMatchObject({ status: "confirmed", payer: hexOf(ALICE), payee: hexOf(BOB), amount: 100, server: `${HOST}:${f.port}`, servers: 1, of: 1 });
    expect(doc.id).toMatch(HEX64);
    expect(typeof doc.timestamp).toBe("number");
    paidId = doc.id;
  });

  test("a scryp: payment request in place of PAYEE AMOUNT (text and --json)", async () => {
    const uri = `scryp:${hexOf(BOB)}?amount=7`;
    const r = await run(["pay", uri, ...net(), "--seed", "alice.seed", "--http"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^accepted: payment [0-9a-f]{64} \\(7 scryp to ${hexOf(BOB)}, by ${HOST}:${f.port}\\)\\n$`));
    paidByUriText = r.stdout.split(" ")[2]!;
    const doc = await jsonOk(["pay", uri, ...net(), "--seed", "alice.seed"]);
    expect(doc).toMatchObject({ status: "accepted", payee: hexOf(BOB), amount: 7 });
    paidByUri = doc.id;
  });

  test.each([
    [`scryp:${hexOf(BOB)}?amount=7&memo=rent`, "payment request: unknown parameter 'memo'"],
    [`scryp:${hexOf(BOB).toUpperCase()}?amount=7`, "payment request: the payee must be an account id"],
    [`scryp:${hexOf(BOB)}?amount=0`, "payment request: amount must be a whole number of scryp from 1"],
    [`scryp:${hexOf(BOB)}?amount=4294967296`, "payment request: amount must be at most 4294967295"],
    [`scryp:${hexOf(BOB)}`, "payment request: it has no amount"],
    [`SCRYP:${hexOf(BOB)}?amount=7`, 'payment request: it must start with "scryp:"'],
  ])("a malformed payment request is a usage error (exit 2): %s", async (uri, fragment) => {
    await textError(["pay", uri, ...net(), "--seed", "alice.seed"], 2, `scryp: ${fragment}`);
    await jsonError(["pay", uri, ...net(), "--seed", "alice.seed"], 2, "USAGE", fragment);
  });

  test("a payment request and an AMOUNT both: usage error", async () => {
    await jsonError(["pay", `scryp:${hexOf(BOB)}?amount=7`, "7", ...net()], 2, "USAGE", "not both");
  });

  test("rejected --json: the server's code, the payment id and server; exit 1", async () => {
    const error = await jsonError(["pay", hexOf(ALICE), "5000000", ...net(), "--seed", "bob.seed", "--http"], 1, "INSUFFICIENT_BALANCE");
    expect(error.id).toMatch(HEX64);
    expect(error.server).toBe(`${HOST}:${f.port}`);
    await textError(["pay", hexOf(ALICE), "5000000", ...net(), "--seed", "bob.seed", "--http"], 1, "rejected: INSUFFICIENT_BALANCE");
  });

  test("an unknown outcome keeps exit 3 with --json (OUTCOME_UNKNOWN, with the id to check)", async () => {
    const error = await jsonError(["pay", hexOf(BOB), "1", "--node", deadUrl, "--seed", "alice.seed"], 3, "OUTCOME_UNKNOWN", "nothing more was paid");
    expect(error.id).toMatch(HEX64);
  });

  test("an unreachable server over HTTP: exit 1, UNREACHABLE", async () => {
    await jsonError(["pay", hexOf(BOB), "1", "--node", deadUrl, "--seed", "alice.seed", "--http"], 1, "UNREACHABLE", "cannot reach");
  });
});

describe("balance and keygen --json", () => {
  test("balance: id, balance and each server's answer", async () => {
    const doc = await jsonOk(["balance", ...net(), "--seed", "bob.seed"]);
    expect(doc).toEqual({ id: hexOf(BOB), balance: expect.any(Number), servers: [{ server: `${HOST}:${f.port}`, balance: doc.balance }] });
    expect(doc.balance).toBeGreaterThanOrEqual(100);
  });

  test("balance errors: unknown account, no server answering, a missing seed", async () => {
    await jsonError(["balance", STRANGER, ...net()], 1, "UNKNOWN_ACCOUNT", STRANGER);
    const error = await jsonError(["balance", STRANGER, "--network", deadNetwork], 1, "NO_MAJORITY");
    expect(error.servers[0].error).toContain("cannot reach");
    await jsonError(["balance", "--seed", "nobody.seed", ...net()], 1, "SEED_FILE", "no seed file nobody.seed");
    await jsonError(["balance", "XYZ"], 2, "USAGE", "ID: must be an account id");
  });

  test("keygen: {id, seed, created}; the 'created' note is not printed with --json", async () => {
    const first = await jsonOk(["keygen", "--seed", "carol.seed"]);
    expect(first).toEqual({ id: expect.stringMatching(HEX64), seed: "carol.seed", created: true });
    expect(await jsonOk(["keygen", "--seed", "carol.seed"])).toEqual({ ...first, created: false });
    await jsonError(["keygen", "--seed", ""], 2, "USAGE", "--seed: must not be empty");
  });

  test("an unknown flag with --json is a usage error document", async () => {
    await jsonError(["balance", "--bogus"], 2, "USAGE", "--bogus");
  });
});

describe("history", () => {
  test("the seed's own account by default, newest first, with status; --json; --limit", async () => {
    const r = await run(["history", ...net(), "--seed", "bob.seed"]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe("");
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe(`payments of account ${hexOf(BOB)}, newest first (3 shown, at most 20):`);
    expect(lines[1]).toContain("+7  from ");
    expect(lines[1]).toContain(paidByUri);
    expect(lines[2]).toContain(paidByUriText);
    expect(lines[3]).toMatch(/\+100 {2}from [0-9a-f]{8}…[0-9a-f]{4} {2}agreed /);
    expect(lines[3]).toContain(paidId);

    const doc = await jsonOk(["history", hexOf(ALICE), ...net()]);
    expect(doc.id).toBe(hexOf(ALICE));
    expect(doc.limit).toBe(20);
    expect(doc.payments.map((p: any) => p.id).slice(-3)).toEqual([paidByUri, paidByUriText, paidId]);
    const first = doc.payments.at(-1);
    expect(first).toMatchObject({ id: paidId, amount: 100, payer: hexOf(ALICE), payee: hexOf(BOB), direction: "out", status: "agreed", servers: 1 });
    expect(doc.servers).toEqual([{ server: `${HOST}:${f.port}`, reachable: true }]);

    const one = await jsonOk(["history", hexOf(BOB), ...net(), "--limit", "1"]);
    expect(one.payments.map((p: any) => p.id)).toEqual([paidByUri]);
  });

  test("a genesis account without payments: exit 0, no payments", async () => {
    const doc = await jsonOk(["history", hexOf(SERVER), ...net()]);
    expect(doc.payments).toEqual([]);
  });

  test("errors: unknown account, bad ID, bad --limit, unreachable server", async () => {
    await jsonError(["history", STRANGER, ...net()], 1, "UNKNOWN_ACCOUNT", "never received or made a payment");
    await textError(["history", STRANGER, ...net()], 1, `scryp: account ${STRANGER} is unknown to the servers`);
    await jsonError(["history", "abc", ...net()], 2, "USAGE", "ID: must be an account id");
    await jsonError(["history", STRANGER, "--limit", "0", ...net()], 2, "USAGE", "--limit: must be 1 to 500");
    await jsonError(["history", STRANGER, "--limit", "501", ...net()], 2, "USAGE", "--limit: must be 1 to 500");
    await jsonError(["history", STRANGER, "--network", deadNetwork], 1, "UNREACHABLE", "no server answered");
    await textError(["history", STRANGER, "--node", deadUrl], 1, "scryp: no server answered");
  });
});

describe("tx", () => {
  test("an agreed payment's lifecycle (text and --json)", async () => {
    const r = await run(["tx", paidId, ...net()]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain(`payment ${paidId}\n  100 scryp from ${hexOf(ALICE)} to ${hexOf(BOB)}\n`);
    expect(r.stdout).toContain("agreed: 1 of 1 servers hold it in an agreed checkpoint\n");
    expect(r.stdout).toContain("final: 1 of 1 servers report its window final\n");
    expect(r.stdout).toMatch(new RegExp(`  ${HOST}:${f.port}  holds it \\(accepted .+Z\\), agreed up to window \\d+`));

    const doc = await jsonOk(["tx", paidId, "--node", f.url]);
    expect(doc).toMatchObject({ id: paidId, state: "agreed", final: true, finalWith: 1, holding: 1, agreedWith: 1, agreedWithout: 0, of: 1 });
    expect(doc.payment).toMatchObject({ id: paidId, amount: 100, payer: hexOf(ALICE), payee: hexOf(BOB) });
    expect(doc.servers).toEqual([{ server: `${HOST}:${f.port}`, reachable: true, holds: true, agreedWindow: expect.any(Number), acceptedAt: expect.any(Number) }]);
    expect(doc.servers[0].agreedWindow).toBeGreaterThanOrEqual(doc.payment.window);
  });

  test("errors: an id no server holds, a malformed id, no id, an unreachable server", async () => {
    await jsonError(["tx", "b".repeat(64), ...net()], 1, "NOT_FOUND", "no server holds payment");
    await textError(["tx", "b".repeat(64), ...net()], 1, "scryp: no server holds payment");
    await jsonError(["tx", "B".repeat(64), ...net()], 2, "USAGE", "ID: must be a payment id");
    await jsonError(["tx", ...net()], 2, "USAGE", "tx needs a payment ID");
    await jsonError(["tx", paidId, "--network", deadNetwork], 1, "UNREACHABLE", "no server answered");
  });
});

describe("status", () => {
  test("the network now (text)", async () => {
    const r = await run(["status", ...net()]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe("");
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe("network: 1 server(s), interval 2.0 s, blackout 0.8 s, skew 0.3 s");
    expect(lines[1]).toMatch(new RegExp(`^now .+Z: window \\d+( \\(blackout\\))?, alpha ${HOST}:${f.port} \\([0-9a-f]{8}…[0-9a-f]{4}\\), beta ${HOST}:${f.port} `));
    expect(lines[2]).toMatch(/^next switch in \d+\.\d s \(.+Z\): (blackout of window \d+|window \d+ starts); then alpha /);
    expect(lines[3]).toMatch(/^last agreed: window \d+, hash [0-9a-f]{8}…[0-9a-f]{4} \(1 of 1 servers at it\)$/);
    expect(lines[4]).toMatch(/^last final: window \d+ \(1 of 1 servers report it\)$/);
    expect(lines[5]).toMatch(new RegExp(`^  ${HOST}:${f.port}  alpha  offset [+-]\\d+ ms \\(±\\d+ ms\\)  agreed \\d+  vote window \\d+ [0-9a-f]{8}…[0-9a-f]{4} (agrees|ahead)`));
  });

  test("--json: window, alpha, beta, next switch, agreed, final, each server", async () => {
    const doc = await jsonOk(["status", ...net()]);
    const me = { index: 0, key: hexOf(SERVER), address: `${HOST}:${f.port}` };
    expect(doc).toMatchObject({ alpha: me, beta: me, final: { window: expect.any(Number), servers: 1 }, reachable: 1, of: 1 });
    expect(doc.window).toBe(Math.floor(doc.nowMs / FAST.interval));
    expect(doc.nextSwitch.inMs).toBeGreaterThan(0);
    expect(doc.nextSwitch.inMs).toBeLessThanOrEqual(FAST.interval);
    expect(doc.agreed).toMatchObject({ window: expect.any(Number), hash: expect.stringMatching(HEX64), servers: 1 });
    const [s] = doc.servers;
    expect(s).toMatchObject({ ...me, reachable: true, error: null, role: "alpha", syncing: false });
    // The node runs on this machine's clock: the offset is within the round trip's uncertainty, and small.
    expect(Math.abs(s.offsetMs)).toBeLessThanOrEqual(Math.ceil(s.roundTripMs / 2) + 50);
    expect(s.vote).toMatchObject({ window: expect.any(Number), hash: expect.stringMatching(HEX64) });
    expect(["agrees", "ahead"]).toContain(s.verdict);
  });

  test("errors: no server answering, a missing network file, a stray argument", async () => {
    await jsonError(["status", "--network", deadNetwork], 1, "UNREACHABLE", "no server answered");
    await textError(["status", "--network", deadNetwork], 1, "scryp: no server answered");
    await jsonError(["status", "--network", join(cwd, "missing.json")], 1, "NETWORK_FILE", "cannot read");
    await jsonError(["status", "extra", ...net()], 2, "USAGE", "unexpected argument 'extra'");
  });
});

describe("request", () => {
  test("prints the URI for the seed's own account and a QR code of it; the URI pays", async () => {
    const r = await run(["request", "25", "--seed", "bob.seed"]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe("");
    const uri = `scryp:${hexOf(BOB)}?amount=25`;
    const [first, ...qr] = r.stdout.trimEnd().split("\n");
    expect(first).toBe(uri);
    // The compiled binary carries the QR encoder: the same modules as the library renders here.
    expect(qr.join("\n")).toBe(renderUnicodeCompact(uri, { ecc: "M", border: 2 }).trimEnd());
    expect(qr.length).toBeGreaterThan(10);

    const before = (await jsonOk(["balance", ...net(), "--seed", "bob.seed"])).balance;
    await jsonOk(["pay", first!, ...net(), "--seed", "alice.seed", "--http"]);
    expect((await jsonOk(["balance", ...net(), "--seed", "bob.seed"])).balance).toBe(before + 25);
  });

  test("--json: {uri, payee, amount}", async () => {
    expect(await jsonOk(["request", "4294967295", "--seed", "alice.seed"])).toEqual({
      uri: `scryp:${hexOf(ALICE)}?amount=4294967295`,
      payee: hexOf(ALICE),
      amount: 4294967295,
    });
  });

  test("errors: a bad or missing amount, a missing seed (never created)", async () => {
    await jsonError(["request", "0", "--seed", "alice.seed"], 2, "USAGE", "AMOUNT: must be at least 1");
    await jsonError(["request", "--seed", "alice.seed"], 2, "USAGE", "request needs an AMOUNT");
    await jsonError(["request", "5", "--seed", "nobody.seed"], 1, "SEED_FILE", "no seed file nobody.seed");
    expect(existsSync(join(cwd, "nobody.seed"))).toBe(false);
  });
});

describe("help", () => {
  test.each([
    ["history", "Usage: scryp history [ID] [--limit N]"],
    ["tx", "Usage: scryp tx ID"],
    ["status", "Usage: scryp status [--network FILE]"],
    ["request", "Usage: scryp request AMOUNT"],
  ])("%s --help prints its usage, mentions --json, exits 0", async (cmd, usage) => {
    const r = await run([cmd, "--help"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toStartWith(usage);
    expect(r.stdout).toContain("--json");
    expect(r.stderr).toBe("");
  });

  test("the main help lists the new commands", async () => {
    const r = await run(["--help"]);
    for (const cmd of ["history", "tx", "status", "request"]) expect(r.stdout).toContain(`  ${cmd} `);
  });
});

// Last: its payments would change the counts the history tests above expect.
describe("pay --wait final", () => {
  test("--wait final: waits until the window is final (a lone server: at once), text and --json", async () => {
    const r = await run(["pay", hexOf(BOB), "3", ...net(), "--seed", "alice.seed", "--wait", "final"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/\nconfirmed: 1 of 1 servers hold it in an agreed checkpoint\nfinal: 1 of 1 servers report its window final\n$/);
    const doc = await jsonOk(["pay", hexOf(BOB), "4", ...net(), "--seed", "alice.seed", "--wait=final"]);
    expect(doc).toMatchObject({ status: "final", final: true, servers: 1, of: 1 });
  });
});
