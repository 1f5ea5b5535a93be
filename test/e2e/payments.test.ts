// End to end with one node: `scryp pay` over UDP and HTTP, `scryp balance`, GET /tx/:id, rejections,
// and the default network file a node writes when started without --network.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SUPPLY } from "../../src/core/limits.ts";
import { freePort, tempDir, testKeyPair } from "../support/helpers.ts";
import { runScryp, startBinaryNode, startSoloNode, type BinaryNode } from "../support/binary-node.ts";
import { HOST, getJson, hexOf, httpBalance, startFundedNode, writeSeed, SERVER, type FundedNode } from "./e2e-support.ts";

const PAYER = testKeyPair(2);
const PAYEE = testKeyPair(3);
const PAYER_START = 1000;

const ACCEPTED = /^accepted: payment ([0-9a-f]{64}) \((\d+) scryp to ([0-9a-f]{64}), by ([^)]+)\)\n$/;

describe("one node with a network file funding a payer", () => {
  let dir: { path: string; cleanup: () => void };
  let f: FundedNode;
  let payerSeed: string;
  // What the ledger should hold, kept in step with every accepted payment.
  let payerBalance = PAYER_START;
  let payeeBalance: number | undefined = undefined;

  beforeAll(async () => {
    dir = tempDir("scryp-e2e-pay-");
    payerSeed = join(dir.path, "payer.seed");
    writeSeed(payerSeed, PAYER);
    f = await startFundedNode(dir.path, [[PAYER, PAYER_START]]);
  });
  afterAll(async () => {
    await f?.node.kill("SIGKILL");
    dir.cleanup();
  });

  const pay = (payee: string, amount: number | string, ...extra: string[]) =>
    runScryp(["pay", payee, String(amount), "--node", f.url, ...extra], dir.path);

  async function expectBalances() {
    // An account exists while its balance is above 0: an emptied payer answers 404.
    expect(await httpBalance(f.url, hexOf(PAYER))).toBe(payerBalance === 0 ? undefined : payerBalance);
    expect(await httpBalance(f.url, hexOf(PAYEE))).toBe(payeeBalance);
    expect(await httpBalance(f.url, hexOf(SERVER))).toBe(SUPPLY - PAYER_START);
    const status = await getJson(`${f.url}/status`);
    expect(status.json.ledger.supply).toBe(SUPPLY);
  }

  async function expectStoredPayment(id: string, amount: number) {
    const tx = await getJson(`${f.url}/tx/${id}`);
    expect(tx.status).toBe(200);
    expect(tx.json).toMatchObject({ id, amount, payer: hexOf(PAYER), payee: hexOf(PAYEE), status: "accepted" });
    expect(tx.json.tx).toMatch(/^[0-9a-f]{280}$/);
    // The stored bytes hash to the id.
    const bytes = Buffer.from(tx.json.tx as string, "hex");
    expect(new Bun.CryptoHasher("sha256").update(bytes).digest("hex")).toBe(id);
    expect(Math.abs((tx.json.timestamp as number) - Date.now())).toBeLessThan(10_000);
  }

  test("the genesis balances are served before any payment", async () => {
    await expectBalances();
    const r = await runScryp(["balance", hexOf(PAYEE), "--node", f.url], dir.path);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(`account ${hexOf(PAYEE)} does not exist (it has never received a payment)\n`);
  });

  test("pay over UDP: exit 0, prints the id; balances move; GET /tx/:id returns it", async () => {
    const r = await pay(hexOf(PAYEE), 100, "--seed", payerSeed);
    expect(r.exitCode).toBe(0);
    const m = ACCEPTED.exec(r.stdout);
    expect(m).not.toBeNull();
    expect(m![2]).toBe("100");
    expect(m![3]).toBe(hexOf(PAYEE));
    expect(m![4]).toBe(`${HOST}:${f.port}`);
    payerBalance -= 100;
    payeeBalance = 100;
    await expectBalances();
    await expectStoredPayment(m![1]!, 100);
  });

  test("pay over --http: exit 0, prints the id; balances move; GET /tx/:id returns it", async () => {
    const r = await pay(hexOf(PAYEE), 50, "--seed", payerSeed, "--http");
    expect(r.exitCode).toBe(0);
    const m = ACCEPTED.exec(r.stdout);
    expect(m).not.toBeNull();
    expect(m![2]).toBe("50");
    payerBalance -= 50;
    payeeBalance = 150;
    await expectBalances();
    await expectStoredPayment(m![1]!, 50);
  });

  test("scryp balance shows payer and payee, by ID and by --seed", async () => {
    const payer = await runScryp(["balance", hexOf(PAYER), "--node", f.url], dir.path);
    expect(payer.exitCode).toBe(0);
    expect(payer.stdout).toBe(`${payerBalance} scryp (account ${hexOf(PAYER)})\n`);
    const payee = await runScryp(["balance", hexOf(PAYEE), "--node", f.url], dir.path);
    expect(payee.exitCode).toBe(0);
    expect(payee.stdout).toBe(`150 scryp (account ${hexOf(PAYEE)})\n`);
    const own = await runScryp(["balance", "--seed", payerSeed, "--node", f.url], dir.path);
    expect(own.exitCode).toBe(0);
    expect(own.stdout).toBe(`${payerBalance} scryp (account ${hexOf(PAYER)})\n`);
  });

  test("scryp balance with --network asks the servers of the file", async () => {
    const r = await runScryp(["balance", hexOf(PAYER), "--network", f.networkPath], dir.path);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(`${payerBalance} scryp (account ${hexOf(PAYER)})\n`);
  });

  test("pay with --network: the client computes the alpha from the file", async () => {
    const r = await runScryp(["pay", hexOf(PAYEE), "25", "--network", f.networkPath, "--seed", payerSeed], dir.path);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(ACCEPTED);
    payerBalance -= 25;
    payeeBalance = 175;
    await expectBalances();
  });

  test("insufficient balance: exit 1, INSUFFICIENT_BALANCE, balances unchanged (UDP and HTTP)", async () => {
    for (const extra of [[], ["--http"]]) {
      const r = await pay(hexOf(PAYEE), payerBalance + 1, "--seed", payerSeed, ...extra);
      expect(r.exitCode).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(
        new RegExp(`^rejected: INSUFFICIENT_BALANCE: the payer's balance is lower than the amount \\(payment [0-9a-f]{64}, server ${HOST}:${f.port}\\)\\n$`),
      );
      // The rejected payment is not stored.
      const id = /payment ([0-9a-f]{64})/.exec(r.stderr)![1];
      expect((await getJson(`${f.url}/tx/${id}`)).status).toBe(404);
      await expectBalances();
    }
  });

  test("paying exactly the whole balance is accepted and removes the account; its history stays", async () => {
    const before = payerBalance;
    const r = await pay(hexOf(PAYEE), before, "--seed", payerSeed);
    expect(r.exitCode).toBe(0);
    payerBalance = 0;
    payeeBalance = 175 + before;
    await expectBalances();
    const b = await runScryp(["balance", hexOf(PAYER), "--node", f.url], dir.path);
    expect(b.exitCode).toBe(1);
    expect(b.stderr).toContain("does not exist");
    const history = await getJson(`${f.url}/accounts/${hexOf(PAYER)}/transactions`);
    expect(history.status).toBe(200);
    expect(history.json.transactions.length).toBeGreaterThan(0);
    expect(history.json.transactions[0]).toMatchObject({ payer: hexOf(PAYER), amount: before });
    // And now even 1 is too much.
    const again = await pay(hexOf(PAYEE), 1, "--seed", payerSeed);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain("rejected: UNKNOWN_PAYER");
    await expectBalances();
  });

  test("paying from an unfunded (new) seed: exit 1, UNKNOWN_PAYER; no account appears", async () => {
    const fresh = join(dir.path, "fresh.seed");
    for (const extra of [[], ["--http"]]) {
      const r = await pay(hexOf(PAYEE), 1, "--seed", fresh, ...extra);
      expect(r.exitCode).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/^rejected: UNKNOWN_PAYER: the payer has no account \(payment [0-9a-f]{64}, server [^)]+\)\n$/);
    }
    // pay created the seed (mode 0600) and the account still does not exist.
    expect(existsSync(fresh)).toBe(true);
    const b = await runScryp(["balance", "--seed", fresh, "--node", f.url], dir.path);
    expect(b.exitCode).toBe(1);
    expect(b.stderr).toContain("does not exist");
    await expectBalances();
  });

  test("paying yourself: exit 1, SELF_PAYMENT", async () => {
    const payeeSeed = join(dir.path, "payee-own.seed");
    writeSeed(payeeSeed, PAYEE);
    const self = await pay(hexOf(PAYEE), 1, "--seed", payeeSeed);
    expect(self.exitCode).toBe(1);
    expect(self.stderr).toStartWith("rejected: SELF_PAYMENT: the payer and the payee are the same account");
    await expectBalances();
  });

  test("GET /tx/:id: unknown id → 404 NOT_FOUND, bad id → 400 INVALID_ID", async () => {
    const missing = await getJson(`${f.url}/tx/${"0".repeat(64)}`);
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe("NOT_FOUND");
    const bad = await getJson(`${f.url}/tx/${"A".repeat(64)}`);
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe("INVALID_ID");
  });

  test("GET /status and GET /network describe the node", async () => {
    const status = await getJson(`${f.url}/status`);
    expect(status.status).toBe(200);
    expect(status.json.key).toBe(hexOf(SERVER));
    expect(status.json.ledger).toMatchObject({ supply: SUPPLY, payments: 4 });
    const network = await getJson(`${f.url}/network`);
    expect(network.json.servers).toEqual([{ key: hexOf(SERVER), address: `${HOST}:${f.port}` }]);
    expect(network.json.genesis[hexOf(PAYER)]).toBe(PAYER_START);
  });
});

describe("the one-server network of a node started without --network", () => {
  let dir: { path: string; cleanup: () => void };
  let node: BinaryNode;
  let port: number;
  const payee = hexOf(testKeyPair(5));

  beforeAll(async () => {
    dir = tempDir("scryp-e2e-default-");
    port = await freePort();
    // No --network, --seed or --data: .seed and scryp-data/ in the working directory.
    node = await startBinaryNode(dir.path, ["--port", String(port)], port);
  });
  afterAll(async () => {
    await node?.kill("SIGKILL");
    dir.cleanup();
  });

  test("the node writes scryp-data/network.json naming itself with the whole supply", async () => {
    const key = (await getJson(`http://${HOST}:${port}/status`)).json.key as string;
    const file = JSON.parse(readFileSync(join(dir.path, "scryp-data", "network.json"), "utf8"));
    expect(file.servers).toEqual([{ key, address: `${HOST}:${port}` }]);
    expect(file.genesis).toEqual({ [key]: SUPPLY });
    expect(existsSync(join(dir.path, "scryp-data", "ledger.sqlite"))).toBe(true);
    // keygen in the same directory shows the node's own key.
    const k = await runScryp(["keygen"], dir.path);
    expect(k.exitCode).toBe(0);
    expect(k.stdout).toBe(key + "\n");
  });

  test("scryp pay / balance with no --network or --node use it (UDP and HTTP)", async () => {
    const udp = await runScryp(["pay", payee, "7"], dir.path);
    expect(udp.stderr).toBe("");
    expect(udp.exitCode).toBe(0);
    expect(udp.stdout).toMatch(ACCEPTED);
    expect(udp.stdout).toContain(`by ${HOST}:${port})`);
    const http = await runScryp(["pay", payee, "3", "--http"], dir.path);
    expect(http.exitCode).toBe(0);
    expect(http.stdout).toMatch(ACCEPTED);

    const b = await runScryp(["balance", payee], dir.path);
    expect(b.exitCode).toBe(0);
    expect(b.stdout).toBe(`10 scryp (account ${payee})\n`);
    const own = await runScryp(["balance"], dir.path);
    expect(own.exitCode).toBe(0);
    const key = (await getJson(`http://${HOST}:${port}/status`)).json.key as string;
    expect(own.stdout).toBe(`${SUPPLY - 10} scryp (account ${key})\n`);
  });
});

describe("the whole supply in one payment", () => {
  test("a solo node pays 4294967295 to one account, which can pay it back", async () => {
    const { path, cleanup } = tempDir("scryp-e2e-supply-");
    const node = await startSoloNode(path);
    try {
      const serverKey = (await getJson(`${node.url}/status`)).json.key as string;
      const payeeSeed = join(path, "payee.seed");
      writeSeed(payeeSeed, PAYEE);
      const all = await runScryp(["pay", hexOf(PAYEE), String(SUPPLY), "--node", node.url, "--seed", join(path, "server.seed")], path);
      expect(all.exitCode).toBe(0);
      expect(await httpBalance(node.url, serverKey)).toBeUndefined(); // emptied: no account
      expect(await httpBalance(node.url, hexOf(PAYEE))).toBe(SUPPLY);
      const back = await runScryp(["pay", serverKey, String(SUPPLY), "--node", node.url, "--seed", payeeSeed, "--http"], path);
      expect(back.exitCode).toBe(0);
      expect(await httpBalance(node.url, serverKey)).toBe(SUPPLY);
      expect(await httpBalance(node.url, hexOf(PAYEE))).toBeUndefined();
      // Only the account holding scryp counts; the emptied one is gone.
      expect((await getJson(`${node.url}/status`)).json.ledger).toMatchObject({ supply: SUPPLY, payments: 2, accounts: 1 });
    } finally {
      await node.kill("SIGKILL");
      cleanup();
    }
  });
});
