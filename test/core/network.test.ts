// The network file: strict validation that names the field at fault.
import { describe, expect, test } from "bun:test";
import {
  NetworkFileError,
  parseNetwork,
  parseNetworkText,
  serverIndex,
  singleServerNetwork,
  splitAddress,
} from "../../src/core/network.ts";
import {
  BLACKOUT_MS_DEFAULT,
  CAPACITY_PAYMENTS_DEFAULT,
  CAPACITY_PAYMENTS_MAX,
  CAPACITY_PAYMENTS_MIN,
  INTERVAL_MS_DEFAULT,
  INTERVAL_MS_MAX,
  INTERVAL_MS_MIN,
  SKEW_MS_DEFAULT,
  SKEW_MS_MAX,
  SKEW_MS_MIN,
  SUPPLY,
} from "../../src/core/limits.ts";
import { hex } from "./fixtures.ts";

const K1 = "1".repeat(64);
const K2 = "2".repeat(64);
const K3 = "abcdef0123456789".repeat(4);

type Loose = Record<string, any>;

function valid(): Loose {
  return {
    servers: [
      { key: K1, address: "alpha.example.org:4000" },
      { key: K2, address: "10.0.0.2:65535" },
      { key: K3, address: "[::1]:1" },
    ],
    interval: 120_000,
    blackout: 15_000,
    skew: 5_000,
    genesis: { [K1]: 1000, [K3]: 5 },
  };
}

/** The NetworkFileError thrown for `json`; fails the test if none is thrown. */
function errorOf(json: unknown): NetworkFileError {
  try {
    parseNetwork(json);
  } catch (e) {
    expect(e).toBeInstanceOf(NetworkFileError);
    return e as NetworkFileError;
  }
  throw new Error("parseNetwork accepted an invalid network file");
}

function expectField(mutate: (n: Loose) => void, field: string): NetworkFileError {
  const n = valid();
  mutate(n);
  const e = errorOf(n);
  expect(e.field).toBe(field);
  expect(e.message).toStartWith(`network file: ${field}: `);
  expect(e.name).toBe("NetworkFileError");
  return e;
}

describe("a valid file", () => {
  test("parses, with keys decoded and addresses split", () => {
    const n = parseNetwork(valid());
    expect(n.intervalMs).toBe(120_000);
    expect(n.blackoutMs).toBe(15_000);
    expect(n.skewMs).toBe(5_000);
    expect(n.servers.length).toBe(3);
    expect(n.servers.map((s) => s.keyHex)).toEqual([K1, K2, K3]);
    expect(hex(n.servers[2]!.key)).toBe(K3);
    expect(n.servers[2]!.key.length).toBe(32);
    expect(n.servers.map((s) => [s.host, s.port, s.address])).toEqual([
      ["alpha.example.org", 4000, "alpha.example.org:4000"],
      ["10.0.0.2", 65535, "10.0.0.2:65535"],
      ["::1", 1, "[::1]:1"],
    ]);
    expect([...n.genesis.entries()]).toEqual([
      [K1, 1000],
      [K3, 5],
    ]);
  });

  test("parseNetworkText parses the same document from text", () => {
    const n = parseNetworkText(JSON.stringify(valid(), null, 2));
    expect(n.servers.map((s) => s.keyHex)).toEqual([K1, K2, K3]);
    expect(n.genesis.get(K1)).toBe(1000);
  });

  test("defaults: interval 120000, blackout 15000, skew 5000", () => {
    const n = valid();
    delete n.interval;
    delete n.blackout;
    delete n.skew;
    const parsed = parseNetwork(n);
    expect([parsed.intervalMs, parsed.blackoutMs, parsed.skewMs]).toEqual([120_000, 15_000, 5_000]);
    expect([INTERVAL_MS_DEFAULT, BLACKOUT_MS_DEFAULT, SKEW_MS_DEFAULT]).toEqual([120_000, 15_000, 5_000]);
    expect(parsed.file.interval).toBe(120_000);
  });

  test("an empty genesis is allowed; the whole supply in one account is allowed", () => {
    expect(parseNetwork({ ...valid(), genesis: {} }).genesis.size).toBe(0);
    expect(parseNetwork({ ...valid(), genesis: { [K2]: SUPPLY } }).genesis.get(K2)).toBe(0xffff_ffff);
  });

  test("genesis summing to exactly 2^32 − 1 over two accounts is allowed", () => {
    expect(parseNetwork({ ...valid(), genesis: { [K1]: 2 ** 31, [K2]: 2 ** 31 - 1 } }).genesis.size).toBe(2);
  });

  test("boundaries that pass: blackout = 2·skew + 1, blackout = interval − 1, the smallest skew with blackout 2·skew + 1", () => {
    expect(parseNetwork({ ...valid(), blackout: 10_001, skew: 5_000 }).blackoutMs).toBe(10_001);
    expect(parseNetwork({ ...valid(), interval: 15_001, blackout: 15_000 }).intervalMs).toBe(15_001);
    expect(parseNetwork({ ...valid(), skew: SKEW_MS_MIN, blackout: 2 * SKEW_MS_MIN + 1 }).skewMs).toBe(SKEW_MS_MIN);
  });

  test("schedule bounds that pass: the shortest and the longest interval, the largest skew", () => {
    expect(parseNetwork({ ...valid(), interval: INTERVAL_MS_MIN, blackout: 2 * SKEW_MS_MIN + 1, skew: SKEW_MS_MIN }).intervalMs).toBe(1_000);
    expect(parseNetwork({ ...valid(), interval: INTERVAL_MS_MAX }).intervalMs).toBe(86_400_000);
    // skew at its maximum leaves no blackout below the longest interval: the relations refuse it, naming blackout.
    expect(errorOf({ ...valid(), interval: INTERVAL_MS_MAX, blackout: INTERVAL_MS_MAX - 1, skew: SKEW_MS_MAX }).field).toBe("blackout");
    expect(parseNetwork({ ...valid(), interval: INTERVAL_MS_MAX, blackout: INTERVAL_MS_MAX - 1, skew: SKEW_MS_MAX - 1 }).skewMs).toBe(SKEW_MS_MAX - 1);
  });

  test("the schedules the repo runs stay valid: devnet's shortest, the simulator's, the e2e tests', the benchmark's", () => {
    for (const [interval, blackout, skew] of [
      [1_000, 200, 99],
      [1_000, 400, 150],
      [2_000, 800, 300],
      [2_000, 800, 399],
      [3_000, 1_000, 300],
      [10_000, 3_000, 1_499],
      [3_600_000, 1_500_000, 600_000],
    ] as const) {
      expect(parseNetwork({ ...valid(), interval, blackout, skew }).intervalMs).toBe(interval);
    }
  });

  test("ports 1 and 65535 pass", () => {
    const n = valid();
    n.servers[0].address = "h:1";
    n.servers[1].address = "h2:65535";
    expect(parseNetwork(n).servers.map((s) => s.port).slice(0, 2)).toEqual([1, 65535]);
  });

  test("singleServerNetwork produces a file that parses, holding the whole supply", () => {
    const n = parseNetwork(singleServerNetwork(K2, "127.0.0.1:7000"));
    expect(n.servers.map((s) => [s.keyHex, s.host, s.port])).toEqual([[K2, "127.0.0.1", 7000]]);
    expect(n.genesis.get(K2)).toBe(SUPPLY);
    expect([n.intervalMs, n.blackoutMs, n.skewMs]).toEqual([120_000, 15_000, 5_000]);
  });

  test("serverIndex finds a server by key hex, −1 otherwise", () => {
    const n = parseNetwork(valid());
    expect(serverIndex(n, K1)).toBe(0);
    expect(serverIndex(n, K3)).toBe(2);
    expect(serverIndex(n, "f".repeat(64))).toBe(-1);
  });

  test("splitAddress handles names, IPv4 and bracketed IPv6", () => {
    expect(splitAddress("example.org:80")).toEqual({ host: "example.org", port: 80 });
    expect(splitAddress("192.168.1.1:443")).toEqual({ host: "192.168.1.1", port: 443 });
    expect(splitAddress("[fe80::1:2]:9000")).toEqual({ host: "fe80::1:2", port: 9000 });
  });
});

describe("each violation names its field", () => {
  test("server key in uppercase → servers[0].key", () => {
    expectField((n) => (n.servers[0].key = K3.toUpperCase()), "servers[0].key");
  });
  test("server key too short → servers[1].key", () => {
    expectField((n) => (n.servers[1].key = "a".repeat(63)), "servers[1].key");
  });
  test("server key too long, or not hex → servers[0].key", () => {
    expectField((n) => (n.servers[0].key = "a".repeat(65)), "servers[0].key");
    expectField((n) => (n.servers[0].key = "g".repeat(64)), "servers[0].key");
  });
  test("address without a port → servers[1].address", () => {
    expectField((n) => (n.servers[1].address = "example.org"), "servers[1].address");
  });
  test("port 0 → servers[1].address", () => {
    expectField((n) => (n.servers[1].address = "example.org:0"), "servers[1].address");
  });
  test("port 70000 → servers[2].address", () => {
    expectField((n) => (n.servers[2].address = "example.org:70000"), "servers[2].address");
  });
  test("port 65536 → servers[0].address", () => {
    expectField((n) => (n.servers[0].address = "example.org:65536"), "servers[0].address");
  });
  test("unbracketed IPv6, empty host, spaces → servers[0].address", () => {
    for (const a of ["::1:4000", ":4000", "exa mple:4000", "host:", "host:12a"]) {
      expectField((n) => (n.servers[0].address = a), "servers[0].address");
    }
  });
  test("duplicate server key → servers", () => {
    const e = expectField((n) => (n.servers[1].key = K1), "servers");
    expect(e.message).toContain("twice");
  });
  test("no servers → servers", () => {
    expectField((n) => (n.servers = []), "servers");
  });
  test("more than 64 servers → servers", () => {
    expectField((n) => {
      n.servers = Array.from({ length: 65 }, (_, i) => ({ key: i.toString(16).padStart(64, "0"), address: `h:${1000 + i}` }));
    }, "servers");
  });
  test("servers missing → servers", () => {
    expectField((n) => delete n.servers, "servers");
  });
  test("unknown field inside a server → servers[0].weight", () => {
    expectField((n) => (n.servers[0].weight = 1), "servers[0].weight");
  });
  test("unknown top-level field is named", () => {
    expectField((n) => (n.coordinator = "x"), "coordinator");
  });
  test("genesis balance negative → genesis.<key>", () => {
    expectField((n) => (n.genesis[K2] = -1), `genesis.${K2}`);
  });
  test("genesis balance not a whole number → genesis.<key>", () => {
    expectField((n) => (n.genesis[K2] = 1.5), `genesis.${K2}`);
  });
  test("genesis balance 2^32 → genesis.<key>", () => {
    expectField((n) => (n.genesis[K2] = 2 ** 32), `genesis.${K2}`);
  });
  test("genesis balance as a string → genesis.<key>", () => {
    expectField((n) => (n.genesis[K2] = "5"), `genesis.${K2}`);
  });
  test("genesis key not 64 lowercase hex → genesis.<key>", () => {
    expectField((n) => (n.genesis[K3.toUpperCase()] = 1), `genesis.${K3.toUpperCase()}`);
  });
  test("genesis summing to 2^32 → genesis", () => {
    const e = expectField((n) => (n.genesis = { [K1]: 2 ** 32 - 1, [K2]: 1 }), "genesis");
    expect(e.message).toContain("sum");
  });
  test("genesis missing → genesis", () => {
    expectField((n) => delete n.genesis, "genesis");
  });
  test("blackout = 2 × skew → blackout", () => {
    const e = expectField((n) => {
      n.blackout = 10_000;
      n.skew = 5_000;
    }, "blackout");
    expect(e.message).toContain("skew");
  });
  test("blackout < 2 × skew (skew raised, blackout default) → blackout", () => {
    expectField((n) => {
      delete n.blackout;
      n.skew = 7_500;
    }, "blackout");
  });
  test("blackout = interval → blackout", () => {
    const e = expectField((n) => {
      n.interval = 15_000;
      n.blackout = 15_000;
    }, "blackout");
    expect(e.message).toContain("interval");
  });
  test("blackout > interval → blackout", () => {
    expectField((n) => {
      n.interval = 12_000;
    }, "blackout");
  });
  test("interval 0, negative, fractional → interval", () => {
    for (const v of [0, -1, 1.5, "120000"]) expectField((n) => (n.interval = v), "interval");
  });
  test("skew negative or fractional → skew", () => {
    for (const v of [-1, 0.5]) expectField((n) => (n.skew = v), "skew");
  });
  test("interval below 1 s or above 1 day → interval, in plain words with the unit", () => {
    expect(expectField((n) => (n.interval = INTERVAL_MS_MIN - 1), "interval").message).toBe("network file: interval: must be at least 1000 ms (1 s)");
    expect(expectField((n) => (n.interval = INTERVAL_MS_MAX + 1), "interval").message).toBe("network file: interval: must be at most 86400000 ms (1 day)");
    // 1e300 is a whole number to JavaScript: only the maximum stops it.
    expect(expectField((n) => (n.interval = 1e300), "interval").message).toContain("must be at most 86400000 ms");
    expectField((n) => (n.interval = 120), "interval");
  });
  test("an interval of 2 ms with skew 0 → interval (the first field at fault), and skew 0 alone → skew", () => {
    expectField((n) => {
      n.interval = 2;
      n.blackout = 1;
      n.skew = 0;
    }, "interval");
    const e = expectField((n) => (n.skew = 0), "skew");
    expect(e.message).toStartWith(`network file: skew: must be at least ${SKEW_MS_MIN} ms`);
    expectField((n) => (n.skew = SKEW_MS_MIN - 1), "skew");
  });
  test("skew above half a day → skew, not a puzzling blackout message", () => {
    for (const v of [SKEW_MS_MAX + 1, 1e300]) {
      expect(expectField((n) => (n.skew = v), "skew").message).toContain(`must be at most ${SKEW_MS_MAX} ms`);
    }
  });
  test("the defaults are inside the bounds", () => {
    expect(INTERVAL_MS_DEFAULT).toBeGreaterThanOrEqual(INTERVAL_MS_MIN);
    expect(INTERVAL_MS_DEFAULT).toBeLessThanOrEqual(INTERVAL_MS_MAX);
    expect(SKEW_MS_DEFAULT).toBeGreaterThanOrEqual(SKEW_MS_MIN);
    expect(SKEW_MS_DEFAULT).toBeLessThanOrEqual(SKEW_MS_MAX);
  });
  test("blackout negative → blackout", () => {
    expectField((n) => (n.blackout = -1), "blackout");
  });
  test("not an object → (top level)", () => {
    for (const v of [null, 42, "text", true]) expect(errorOf(v).field).toBe("(top level)");
  });
});

describe("parseNetworkText", () => {
  test("non-JSON text → field (file)", () => {
    for (const text of ["", "{", "servers: []", "{'servers': []}", "[1,2,"]) {
      let caught: unknown;
      try {
        parseNetworkText(text);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(NetworkFileError);
      expect((caught as NetworkFileError).field).toBe("(file)");
      expect((caught as NetworkFileError).message).toContain("not valid JSON");
    }
  });
  test("valid JSON but an invalid network → the schema's field", () => {
    const n = valid();
    n.servers[0].address = "nohost";
    expect(() => parseNetworkText(JSON.stringify(n))).toThrow(NetworkFileError);
    try {
      parseNetworkText(JSON.stringify(n));
    } catch (e) {
      expect((e as NetworkFileError).field).toBe("servers[0].address");
    }
  });
  test("a duplicate JSON key is not a second server: the last value wins, and it must still be valid", () => {
    const text = `{"servers":[{"key":"${K1}","address":"h:1"}],"genesis":{"${K1}":5,"${K1}":-5}}`;
    try {
      parseNetworkText(text);
      throw new Error("accepted");
    } catch (e) {
      expect((e as NetworkFileError).field).toBe(`genesis.${K1}`);
    }
  });
});

describe("network file errors are in plain words", () => {
  const KEY = "a".repeat(64);
  const cases: [string, unknown, string, string][] = [
    ["a list at the top level", [], "(top level)", "the network file must be a JSON object"],
    ["a number at the top level", 5, "(top level)", "the network file must be a JSON object"],
    ["genesis as a list", { servers: [{ key: KEY, address: "h:1" }], genesis: [] }, "genesis", "must be an object of account id to balance"],
    ["a missing field", { servers: [{ key: KEY, address: "h:1" }] }, "genesis", "is missing"],
    ["an unknown field", { servers: [{ key: KEY, address: "h:1" }], genesis: {}, extra: 1 }, "extra", "is not a field of the network file"],
    ["a time that is not a number", { servers: [{ key: KEY, address: "h:1" }], genesis: {}, interval: "x" }, "interval", "must be a number of ms"],
    ["servers not a list", { servers: {}, genesis: {} }, "servers", "must be a list"],
  ];
  for (const [name, json, field, message] of cases) {
    test(name, () => {
      try {
        parseNetwork(json);
        throw new Error("parsed");
      } catch (e) {
        expect(e).toBeInstanceOf(NetworkFileError);
        expect((e as NetworkFileError).field).toBe(field);
        expect((e as Error).message).toBe(`network file: ${field}: ${message}`);
      }
    });
  }
});

describe("capacity: the most payments one window may hold", () => {
  test("absent → the default 200,000 on the Network, and the file stays without the field", () => {
    const n = parseNetwork(valid());
    expect(n.capacity).toBe(CAPACITY_PAYMENTS_DEFAULT);
    expect(CAPACITY_PAYMENTS_DEFAULT).toBe(200_000);
    expect("capacity" in n.file).toBe(false);
    // The default one-server network and the devnet's files need not name it.
    expect(parseNetwork(singleServerNetwork(K2, "127.0.0.1:7000")).capacity).toBe(200_000);
  });
  test("bounds that pass: 1, 20, the maximum", () => {
    for (const c of [CAPACITY_PAYMENTS_MIN, 20, CAPACITY_PAYMENTS_MAX]) expect(parseNetwork({ ...valid(), capacity: c }).capacity).toBe(c);
    expect(CAPACITY_PAYMENTS_MIN).toBe(1);
  });
  test("0, negative, fractional, a string, above the maximum → capacity, in plain words", () => {
    expect(expectField((n) => (n.capacity = 0), "capacity").message).toBe("network file: capacity: must be at least 1 payment");
    expect(expectField((n) => (n.capacity = CAPACITY_PAYMENTS_MAX + 1), "capacity").message).toBe(
      `network file: capacity: must be at most ${CAPACITY_PAYMENTS_MAX} payments (a window's handover must fit one peer message)`,
    );
    expect(expectField((n) => (n.capacity = 2.5), "capacity").message).toBe("network file: capacity: must be a whole number of payments");
    expect(expectField((n) => (n.capacity = "200000"), "capacity").message).toBe("network file: capacity: must be a number of payments");
    for (const v of [-1, 1e300, null]) expectField((n) => (n.capacity = v), "capacity");
  });
});
