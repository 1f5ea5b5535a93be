// The pure parts of `scryp devnet`: durations, the derived skew, the network it builds, the
// conflicts a re-run reports, and the command lines it prints.
import { describe, expect, test } from "bun:test";
import { formatDuration, parseDurationMs } from "../../src/devnet/duration.ts";
import { buildDevnetNetwork, conflictsWithStored, describeDevnet, skewForBlackout } from "../../src/devnet/devnet-network.ts";
import { commandLine, isCompiledMain, scrypWords, shellQuote, type Invocation } from "../../src/devnet/paste-commands.ts";
import { parseNetwork } from "../../src/core/network.ts";
import { SUPPLY } from "../../src/core/limits.ts";

describe("durations", () => {
  test.each([
    ["1500ms", 1_500],
    ["10s", 10_000],
    ["2m", 120_000],
    ["1h", 3_600_000],
    ["0s", 0],
  ])("%s is %d ms", (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  test.each(["10", "", "s", "1.5s", "-1s", "10 s", "10S", "10sec", "1d", "1234567890s", " 10s"])("%p is refused", (text) => {
    expect(parseDurationMs(text)).toBeNull();
  });

  test("formatDuration picks the largest exact unit and round-trips", () => {
    expect([120_000, 10_000, 1_500, 800, 3_600_000, 90_000, 0].map(formatDuration)).toEqual(["2m", "10s", "1500ms", "800ms", "1h", "90s", "0ms"]);
    for (const ms of [1, 999, 1_000, 61_000, 7_200_000]) expect(parseDurationMs(formatDuration(ms))).toBe(ms);
  });
});

describe("the devnet network", () => {
  test("skew keeps blackout > 2 × skew, at most the protocol default", () => {
    expect(skewForBlackout(3_000)).toBe(1_499);
    expect(skewForBlackout(800)).toBe(399);
    expect(skewForBlackout(200)).toBe(99);
    expect(skewForBlackout(60_000)).toBe(5_000);
    for (let b = 1; b < 20_000; b += 37) expect(b > 2 * skewForBlackout(b)).toBe(true);
  });

  const keys = ["a", "b", "c"].map((c) => c.repeat(64));
  const demo = "d".repeat(64);

  test("servers on consecutive loopback ports, the whole supply to the demo account, valid", () => {
    const file = buildDevnetNetwork({ serverKeys: keys, demoKey: demo, basePort: 7400, intervalMs: 10_000, blackoutMs: 3_000 });
    expect(file).toEqual({
      servers: keys.map((key, i) => ({ key, address: `127.0.0.1:${7400 + i}` })),
      interval: 10_000,
      blackout: 3_000,
      skew: 1_499,
      genesis: { [demo]: SUPPLY },
    });
    const network = parseNetwork(file);
    expect(describeDevnet(network)).toBe("3 nodes, ports 7400-7402, interval 10s, blackout 3s");
  });

  test("a bad schedule is refused by the network file's own validation", () => {
    expect(() => buildDevnetNetwork({ serverKeys: keys, demoKey: demo, basePort: 7400, intervalMs: 2_000, blackoutMs: 2_000 })).toThrow(/blackout/);
  });

  test("a re-run names each flag that contradicts the stored network, and only those", () => {
    const network = parseNetwork(buildDevnetNetwork({ serverKeys: keys, demoKey: demo, basePort: 7400, intervalMs: 10_000, blackoutMs: 3_000 }));
    expect(conflictsWithStored(network, {})).toEqual([]);
    expect(conflictsWithStored(network, { nodes: 3, intervalMs: 10_000, blackoutMs: 3_000, basePort: 7400 })).toEqual([]);
    expect(conflictsWithStored(network, { nodes: 4, intervalMs: 2_000, blackoutMs: 800, basePort: 7500 })).toEqual([
      "--nodes 4",
      "--interval 2s",
      "--blackout 800ms",
      "--port 7500",
    ]);
  });
});

describe("the printed commands", () => {
  const base: Invocation = {
    compiled: true,
    execPath: "/home/ann/scryp/dist/scryp",
    scriptPath: "/$bunfs/root/scryp",
    cwd: "/home/ann/scryp",
    onPath: () => false,
  };

  test("compiled: relative to the working directory, absolute outside it, the bare name when on PATH", () => {
    expect(scrypWords(base)).toEqual(["./dist/scryp"]);
    expect(scrypWords({ ...base, cwd: "/tmp/x" })).toEqual(["/home/ann/scryp/dist/scryp"]);
    expect(scrypWords({ ...base, execPath: "/usr/local/bin/scryp", onPath: (n) => n === "scryp" })).toEqual(["scryp"]);
  });

  test("from source: the script too, through npx when bun is this checkout's", () => {
    const source = { ...base, compiled: false, scriptPath: "/home/ann/scryp/src/cli/main.ts" };
    expect(scrypWords({ ...source, execPath: "/home/ann/scryp/node_modules/bun/bin/bun.exe" })).toEqual(["npx", "bun", "src/cli/main.ts"]);
    expect(scrypWords({ ...source, execPath: "/usr/bin/bun", onPath: (n) => n === "bun" })).toEqual(["bun", "src/cli/main.ts"]);
    expect(scrypWords({ ...source, execPath: "/opt/bun/bun", cwd: "/tmp" })).toEqual(["/opt/bun/bun", "/home/ann/scryp/src/cli/main.ts"]);
  });

  test("compiled main modules are recognised", () => {
    expect(isCompiledMain("/$bunfs/root/scryp")).toBe(true);
    expect(isCompiledMain("B:\\~BUN\\root\\scryp.exe")).toBe(true);
    expect(isCompiledMain("/home/ann/scryp/src/cli/main.ts")).toBe(false);
  });

  test("words a shell would split or expand are quoted", () => {
    expect(shellQuote("scryp-devnet/demo.seed")).toBe("scryp-devnet/demo.seed");
    expect(shellQuote("my devnet/demo.seed")).toBe("'my devnet/demo.seed'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote("$HOME")).toBe("'$HOME'");
    expect(commandLine(["./dist/scryp", "balance", "--seed", "a b"])).toBe("./dist/scryp balance --seed 'a b'");
  });
});
