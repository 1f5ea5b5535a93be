// The compiled binary's command line: version, help, usage errors (exit 2), operating errors (exit 1).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { freePort, tempDir, testKeyPair } from "../support/helpers.ts";
import { runScryp, startBinaryNode, writeJson } from "../support/binary-node.ts";
import { HOST, hexOf, writeSeed } from "./e2e-support.ts";

const PAYEE = "a".repeat(64);
let dir: { path: string; cleanup: () => void };
let cwd: string;

beforeAll(() => {
  dir = tempDir("scryp-e2e-cli-");
  cwd = dir.path;
});
afterAll(() => dir.cleanup());

/** A usage error: exit 2, nothing on stdout, exactly one line on stderr starting "scryp: ". */
async function expectUsageError(args: string[], fragment: string) {
  const r = await runScryp(args, cwd);
  expect({ args, exitCode: r.exitCode }).toEqual({ args, exitCode: 2 });
  expect(r.stdout).toBe("");
  expect(r.stderr.endsWith("\n")).toBe(true);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]!.startsWith("scryp: ")).toBe(true);
  expect(lines[0]).toContain(fragment);
  expect(r.stderr).not.toContain("internal error");
}

describe("version and help", () => {
  test("--version prints 'scryp <version> (<commit>)' and exits 0", async () => {
    for (const flag of ["--version", "-v"]) {
      const r = await runScryp([flag], cwd);
      expect(r.exitCode).toBe(0);
      expect(r.stderr).toBe("");
      const m = /^scryp (\S+) \((\S+)\)\n$/.exec(r.stdout);
      expect(m).not.toBeNull();
      expect(m![1]).toBe(pkg.version);
      // The build bakes the git commit in (12 hex digits, maybe "-dirty"); "source" means it did not.
      expect(m![2]).toMatch(/^([0-9a-f]{12}(-dirty)?|unknown)$/);
    }
  });

  test("--help, -h and help print the main usage and exit 0", async () => {
    for (const args of [["--help"], ["-h"], ["help"]]) {
      const r = await runScryp(args, cwd);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain("Usage: scryp <command> [options]");
      for (const cmd of ["node", "keygen", "pay", "balance"]) expect(r.stdout).toContain(`  ${cmd} `);
      expect(r.stderr).toBe("");
    }
  });

  test("no command prints the main usage on stderr (a usage error) and exits 2", async () => {
    const r = await runScryp([], cwd);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("Usage: scryp <command> [options]");
    expect(r.stdout).toBe("");
  });

  test("balance without ID does not create a missing seed file: it says how to make one", async () => {
    const r = await runScryp(["balance", "--seed", "tpyo.seed", "--node", "http://127.0.0.1:9"], cwd);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("no seed file tpyo.seed");
    expect(await Bun.file(`${cwd}/tpyo.seed`).exists()).toBe(false);
  });

  test.each([
    ["node", "Usage: scryp node [--network FILE]"],
    ["keygen", "Usage: scryp keygen [--seed FILE]"],
    ["pay", "Usage: scryp pay PAYEE AMOUNT"],
    ["balance", "Usage: scryp balance [ID]"],
  ])("%s --help prints its usage and exits 0", async (cmd, usage) => {
    for (const flag of ["--help", "-h"]) {
      const r = await runScryp([cmd, flag], cwd);
      expect(r.exitCode).toBe(0);
      expect(r.stdout.startsWith(usage)).toBe(true);
      expect(r.stderr).toBe("");
    }
    // Help has no side effects (no seed file, no data dir).
    expect(existsSync(join(cwd, ".seed"))).toBe(false);
    expect(existsSync(join(cwd, "scryp-data"))).toBe(false);
  });
});

describe("usage errors: one line on stderr, exit 2", () => {
  const cases: [string[], string][] = [
    [["frobnicate"], "unknown command 'frobnicate'"],
    [["--bogus"], "unknown option '--bogus'"],
    [["pay", "X", "1", "--bogus"], "--bogus"],
    [["node", "--port", "0"], "--port: must be 1 to 65535"],
    [["node", "--port", "65536"], "--port: must be 1 to 65535"],
    [["node", "--port", "abc"], "--port: must be a port number"],
    [["node", "--port"], "--port"],
    [["node", "--log", "xml"], "--log: must be text or json"],
    [["node", "extra"], "unexpected argument 'extra'"],
    [["keygen", "--seed", ""], "--seed: must not be empty"],
    [["pay", "A".repeat(64), "1"], "PAYEE: must be an account id"],
    [["pay", "abc", "1"], "PAYEE: must be an account id"],
    [["pay", "a".repeat(63), "1"], "PAYEE: must be an account id"],
    [["pay", PAYEE], "pay needs PAYEE and AMOUNT"],
    [["pay", PAYEE, "0"], "AMOUNT: must be at least 1"],
    [["pay", PAYEE, "4294967296"], "AMOUNT: must be at most 4294967295"],
    [["pay", PAYEE, "-1"], "-1"],
    [["pay", PAYEE, "1.5"], "AMOUNT: must be a whole number of scryp"],
    [["pay", PAYEE, "1", "extra"], "unexpected argument 'extra'"],
    [["pay", PAYEE, "1", "--node", "notaurl"], "--node: must be a URL"],
    [["pay", PAYEE, "1", "--node", "ftp://127.0.0.1:7400"], "--node: must start with http:// or https://"],
    [["pay", PAYEE, "1", "--network", "n.json", "--node", "http://127.0.0.1:7400"], "give --network or --node, not both"],
    [["balance", PAYEE, "--network", "n.json", "--node", "http://127.0.0.1:7400"], "give --network or --node, not both"],
    [["balance", "XYZ"], "ID: must be an account id"],
  ];
  for (const [args, fragment] of cases) {
    test(`scryp ${args.map((a) => (a.length > 12 ? a.slice(0, 8) + "…" : a)).join(" ")}`, async () => {
      await expectUsageError(args, fragment);
      // A usage error changes nothing on disk.
      expect(existsSync(join(cwd, ".seed"))).toBe(false);
    });
  }
});

describe("keygen", () => {
  test("creates .seed (32 bytes, mode 0600), prints the key; a second run prints the same key and leaves the file alone", async () => {
    const { path: kdir, cleanup } = tempDir("scryp-e2e-keygen-");
    try {
      const first = await runScryp(["keygen"], kdir);
      expect(first.exitCode).toBe(0);
      expect(first.stdout).toMatch(/^[0-9a-f]{64}\n$/);
      expect(first.stderr).toContain("created seed file .seed");
      const seedPath = join(kdir, ".seed");
      const st = statSync(seedPath);
      expect(st.mode & 0o777).toBe(0o600);
      expect(st.size).toBe(32);
      const bytesBefore = readFileSync(seedPath);
      const mtimeBefore = st.mtimeMs;

      const second = await runScryp(["keygen"], kdir);
      expect(second.exitCode).toBe(0);
      expect(second.stdout).toBe(first.stdout);
      expect(second.stderr).not.toContain("created");
      expect(readFileSync(seedPath).equals(bytesBefore)).toBe(true);
      expect(statSync(seedPath).mtimeMs).toBe(mtimeBefore);
      expect(statSync(seedPath).mode & 0o777).toBe(0o600);
    } finally {
      cleanup();
    }
  });

  test("--seed FILE: the printed key is the Ed25519 public key of the seed", async () => {
    const kp = testKeyPair(7);
    writeSeed(join(cwd, "seven.seed"), kp);
    const r = await runScryp(["keygen", "--seed", "seven.seed"], cwd);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(hexOf(kp) + "\n");
  });

  test("a seed file of the wrong length: exit 1, plain message, file untouched", async () => {
    for (const size of [0, 31, 33, 64]) {
      const path = join(cwd, `bad-${size}.seed`);
      writeFileSync(path, new Uint8Array(size).fill(1));
      for (const args of [["keygen", "--seed", path], ["pay", PAYEE, "1", "--seed", path, "--node", "http://127.0.0.1:9"], ["balance", "--seed", path, "--node", "http://127.0.0.1:9"]]) {
        const r = await runScryp(args, cwd);
        expect(r.exitCode).toBe(1);
        expect(r.stdout).toBe("");
        expect(r.stderr).toBe(`scryp: seed file ${path} holds ${size} bytes; a seed is exactly 32 bytes\n`);
      }
      expect(statSync(path).size).toBe(size);
    }
  });

  test("a seed path that cannot be created: exit 1 naming the path", async () => {
    const path = join(cwd, "no-such-dir", "x.seed");
    const r = await runScryp(["keygen", "--seed", path], cwd);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toStartWith(`scryp: cannot create seed file ${path}`);
    expect(r.stderr).not.toContain("internal error");
  });
});

describe("node start-up errors: exit 1, plain message", () => {
  const server = testKeyPair(1);
  const serverHex = hexOf(server);
  let seedPath: string;
  const servers = [{ key: serverHex, address: `${HOST}:7999` }];

  beforeAll(() => {
    seedPath = join(cwd, "server.seed");
    writeSeed(seedPath, server);
  });

  async function nodeWithNetwork(content: unknown, raw = false) {
    const path = join(cwd, `net-${Math.random().toString(36).slice(2)}.json`);
    if (raw) writeFileSync(path, content as string);
    else writeJson(path, content);
    return runScryp(["node", "--network", path, "--seed", seedPath, "--data", join(cwd, "netdata"), "--port", String(await freePort())], cwd);
  }

  function expectNetworkError(r: { exitCode: number; stderr: string }, field: string, message: string) {
    expect(r.exitCode).toBe(1);
    const last = r.stderr.trimEnd().split("\n").at(-1)!;
    expect(last).toStartWith(`scryp: network file: ${field}: `);
    expect(last).toContain(message);
    expect(r.stderr).not.toContain("internal error");
    expect(r.stderr).not.toContain("serving UDP and HTTP");
  }

  test("blackout not above 2 × skew names 'blackout'", async () => {
    expectNetworkError(await nodeWithNetwork({ servers, blackout: 10_000, skew: 5_000, genesis: {} }), "blackout", "must exceed 2 × skew");
    expectNetworkError(await nodeWithNetwork({ servers, blackout: 100, skew: 50, genesis: {} }), "blackout", "must exceed 2 × skew");
  });

  test("an absurd schedule names its field: interval 1e300, interval 2 ms, skew 0", async () => {
    expectNetworkError(await nodeWithNetwork({ servers, interval: 1e300, genesis: {} }), "interval", "must be at most 86400000 ms");
    expectNetworkError(await nodeWithNetwork({ servers, interval: 2, blackout: 1, skew: 0, genesis: {} }), "interval", "must be at least 1000 ms");
    expectNetworkError(await nodeWithNetwork({ servers, blackout: 1, skew: 0, genesis: {} }), "skew", "must be at least 50 ms");
  });

  test("blackout not shorter than interval names 'blackout'", async () => {
    expectNetworkError(await nodeWithNetwork({ servers, interval: 10_000, blackout: 12_000, genesis: {} }), "blackout", "must be shorter than interval");
  });

  test("a bad server key names servers[0].key", async () => {
    expectNetworkError(await nodeWithNetwork({ servers: [{ key: serverHex.toUpperCase(), address: `${HOST}:7999` }], genesis: {} }), "servers[0].key", "64 lowercase hex");
  });

  test("a bad genesis key names it", async () => {
    expectNetworkError(await nodeWithNetwork({ servers, genesis: { xyz: 5 } }), "genesis.xyz", "64 lowercase hex");
  });

  test("a genesis summing over the supply names 'genesis'", async () => {
    expectNetworkError(
      await nodeWithNetwork({ servers, genesis: { [serverHex]: 4294967295, ["b".repeat(64)]: 1 } }),
      "genesis",
      "must sum to at most 4294967295",
    );
  });

  test("a negative or fractional balance names the account", async () => {
    expectNetworkError(await nodeWithNetwork({ servers, genesis: { [serverHex]: -5 } }), `genesis.${serverHex}`, "must not be negative");
    expectNetworkError(await nodeWithNetwork({ servers, genesis: { [serverHex]: 1.5 } }), `genesis.${serverHex}`, "must be a whole number");
  });

  test("a bad address, no servers, an unknown field", async () => {
    expectNetworkError(await nodeWithNetwork({ servers: [{ key: serverHex, address: "127.0.0.1" }], genesis: {} }), "servers[0].address", 'must be "host:port"');
    expectNetworkError(await nodeWithNetwork({ servers: [], genesis: {} }), "servers", "must list at least one server");
    expectNetworkError(await nodeWithNetwork({ servers, genesis: {}, extra: 1 }), "extra", "extra");
  });

  test("a file that is not JSON", async () => {
    expectNetworkError(await nodeWithNetwork("{ this is not json", true), "(file)", "not valid JSON");
  });

  test("a missing file", async () => {
    const r = await runScryp(["node", "--network", join(cwd, "missing.json"), "--seed", seedPath, "--data", join(cwd, "netdata")], cwd);
    expectNetworkError(r, "(file)", "cannot read");
  });

  test("pay and balance with a bad --network also exit 1 naming the field", async () => {
    const path = join(cwd, "bad-client-net.json");
    writeJson(path, { servers, blackout: 1, skew: 5_000, genesis: {} });
    for (const args of [["pay", PAYEE, "1", "--network", path, "--seed", seedPath], ["balance", PAYEE, "--network", path]]) {
      const r = await runScryp(args, cwd);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toStartWith("scryp: network file: blackout: must exceed 2 × skew");
      expect(r.stdout).toBe("");
    }
  });

  test("a node whose key is not in the network file: exit 1, plain message", async () => {
    const r = await nodeWithNetwork({ servers: [{ key: "c".repeat(64), address: `${HOST}:7999` }], genesis: {} });
    expect(r.exitCode).toBe(1);
    const last = r.stderr.trimEnd().split("\n").at(-1)!;
    expect(last).toBe(`scryp: this server's key ${serverHex} is not in the network file; add it to "servers" or use the right --seed`);
    expect(r.stderr).not.toContain("    at ");
  });

  test("a port in use (UDP): exit 1 naming the port", async () => {
    const port = await freePort();
    const blocker = await Bun.udpSocket({ hostname: HOST, port });
    try {
      const r = await runScryp(["node", "--seed", seedPath, "--data", join(cwd, "udpbusy"), "--port", String(port)], cwd);
      expect(r.exitCode).toBe(1);
      const last = r.stderr.trimEnd().split("\n").at(-1)!;
      expect(last).toStartWith(`scryp: cannot listen on UDP ${HOST}:${port}: `);
      expect(last).toContain("already in use");
    } finally {
      blocker.close();
    }
  });

  test("a port in use (TCP only): exit 1 naming the port", async () => {
    const port = await freePort();
    const blocker = Bun.serve({ hostname: HOST, port, fetch: () => new Response("busy") });
    try {
      const r = await runScryp(["node", "--seed", seedPath, "--data", join(cwd, "tcpbusy"), "--port", String(port)], cwd);
      expect(r.exitCode).toBe(1);
      const last = r.stderr.trimEnd().split("\n").at(-1)!;
      expect(last).toStartWith(`scryp: cannot listen on TCP ${HOST}:${port}: `);
      expect(last).toContain("already in use");
    } finally {
      blocker.stop(true);
    }
  });

  test("a data directory that cannot be created: exit 1 naming it", async () => {
    const file = join(cwd, "plain-file");
    writeFileSync(file, "x");
    const r = await runScryp(["node", "--seed", seedPath, "--data", join(file, "sub"), "--port", String(await freePort())], cwd);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trimEnd().split("\n").at(-1)).toStartWith(`scryp: data directory ${join(file, "sub")} is not writable`);
  });

  test("a data directory from another genesis: exit 1", async () => {
    const data = join(cwd, "genesis-data");
    mkdirSync(data);
    const a = join(cwd, "genesis-a.json");
    const b = join(cwd, "genesis-b.json");
    writeJson(a, { servers, genesis: { [serverHex]: 100 } });
    writeJson(b, { servers, genesis: { [serverHex]: 200 } });
    const port = await freePort();
    const node = await startBinaryNode(cwd, ["--network", a, "--seed", seedPath, "--data", data, "--port", String(port)], port);
    expect(await node.kill("SIGTERM")).toBe(0);
    const r = await runScryp(["node", "--network", b, "--seed", seedPath, "--data", data, "--port", String(await freePort())], cwd);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trimEnd().split("\n").at(-1)).toBe(
      "scryp: the data directory holds a ledger from a different genesis (another network file); use another --data directory",
    );
  });
});

describe("clients against nothing", () => {
  test("pay --http to a closed port: exit 1 'cannot reach'", async () => {
    const port = await freePort();
    const r = await runScryp(["pay", PAYEE, "1", "--http", "--node", `http://${HOST}:${port}`, "--seed", join(cwd, "client.seed")], cwd);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toStartWith(`scryp: cannot reach http://${HOST}:${port}/tx`);
  });

  test("balance from a closed port: exit 1, says no server answered", async () => {
    const port = await freePort();
    const r = await runScryp(["balance", PAYEE, "--node", `http://${HOST}:${port}`], cwd);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`server ${HOST}:${port} did not answer`);
    expect(r.stderr).toContain(`no majority of the 1 server(s) agrees on the balance of ${PAYEE}`);
  });

  test("pay with no network file and no --node: exit 1 naming the default path", async () => {
    const { path: empty, cleanup } = tempDir("scryp-e2e-nonet-");
    try {
      const r = await runScryp(["pay", PAYEE, "1"], empty);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toStartWith("scryp: network file: (file): cannot read scryp-data/network.json");
      // The target is resolved before the seed is read: nothing was created.
      expect(existsSync(join(empty, ".seed"))).toBe(false);
    } finally {
      cleanup();
    }
  });
});
