// What `scryp devnet` shows on a terminal: the live line a window (which windows get one, the
// payments counted, how it reads), the commands printed, repeated on Enter and at exit, and the
// nodes' log files (lines appended, a full disk falling back to the terminal, the supervisor
// writing a child's lines there and showing its last ones when it exits on its own).
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { advanceLive, formatWindowLine, lastClosedWindow, startLive, type LiveState, type StatusSample, type WindowLine } from "../../src/devnet/live-line.ts";
import { AGAIN_HINT, commandsAgain, exitBlock, inputAction, pasteBlock, type PasteBlockInput } from "../../src/devnet/paste-commands.ts";
import { NodeLogError, openNodeLog, type LineSink } from "../../src/devnet/node-log.ts";
import { LAST_LINES_SHOWN, Supervisor } from "../../src/devnet/supervisor.ts";
import { AssertionError } from "../../src/core/assert.ts";
import { tempDir } from "../support/helpers.ts";

// Three servers, 2 s windows, 800 ms blackout: window 1000 spans [2_000_000, 2_002_000) ms, its
// alpha is server 1 (1000 mod 3) and its blackout starts at 2_001_200.
const p = { serverCount: 3, intervalMs: 2_000, blackoutMs: 800 };
const ADDRESSES = ["127.0.0.1:7400", "127.0.0.1:7401", "127.0.0.1:7402"];
/** A moment in window `w`: `intoMs` after its start. */
const at = (w: number, intoMs: number) => w * 2_000 + intoMs;
const BEFORE_BLACKOUT = 500;
const IN_BLACKOUT = 1_500;
const sample = (nowMs: number, role: StatusSample["role"], agreedWindow: number, payments: number): StatusSample => ({ nowMs, role, agreedWindow, payments });

/** The three nodes at `nowMs`: every one agreed `agreed` and holds `payments`, roles from the schedule. */
function all(nowMs: number, agreed: number, payments: number): StatusSample[] {
  const w = Math.floor(nowMs / 2_000);
  const inBlackout = nowMs - w * 2_000 >= 1_200;
  return [0, 1, 2].map((i) => sample(nowMs, !inBlackout && i === w % 3 ? "alpha" : inBlackout && i === w % 3 ? "beta" : "idle", agreed, payments));
}

/** Feeds polls in order from `state`; returns every line printed and the last state. */
function run(state: LiveState, polls: [number, (StatusSample | null)[]][]): { lines: WindowLine[]; state: LiveState } {
  const lines: WindowLine[] = [];
  for (const [nowMs, samples] of polls) {
    const next = advanceLive(state, nowMs, samples, p);
    lines.push(...next.lines);
    state = next.state;
  }
  return { lines, state };
}

describe("the live line: which windows, how many payments", () => {
  test("the last closed window is the current one from its blackout on", () => {
    expect(lastClosedWindow(at(1000, BEFORE_BLACKOUT), p)).toBe(999);
    expect(lastClosedWindow(at(1000, 1_199), p)).toBe(999);
    expect(lastClosedWindow(at(1000, 1_200), p)).toBe(1000);
  });

  test("the start prints nothing of the past; each window agreed since gets one line, with its payments", () => {
    const start = startLive(at(1000, BEFORE_BLACKOUT), all(at(1000, BEFORE_BLACKOUT), 999, 10), p);
    expect(start).toEqual({ printedWindow: 999, settled: { window: 999, payments: 10 } });
    const { lines } = run(start, [
      [at(1000, 900), all(at(1000, 900), 999, 10)], // window 1000 still open: nothing
      [at(1000, IN_BLACKOUT), all(at(1000, IN_BLACKOUT), 1000, 13)],
      [at(1000, IN_BLACKOUT + 100), all(at(1000, IN_BLACKOUT + 100), 1000, 13)], // no second line
      [at(1001, IN_BLACKOUT), all(at(1001, IN_BLACKOUT), 1001, 13)],
    ]);
    expect(lines).toEqual([
      { window: 1000, alpha: 1, payments: 3, agreed: true },
      { window: 1001, alpha: 2, payments: 0, agreed: true },
    ]);
  });

  test("the open window's alpha is not counted: its ledger holds payments not closed yet", () => {
    const start: LiveState = { printedWindow: 1000, settled: { window: 1000, payments: 13 } };
    // In window 1001 the alpha (server 2) already holds 2 more; the others agree on 1000 with 13.
    const t = at(1001, BEFORE_BLACKOUT);
    const open = run(start, [[t, [sample(t, "beta", 1000, 13), sample(t, "idle", 1000, 13), sample(t, "alpha", 1000, 15)]]]);
    expect(open).toEqual({ lines: [], state: start });
    // Only the alpha answers: nothing is learnt about the count.
    expect(run(start, [[t, [null, null, sample(t, "alpha", 1000, 15)]]]).state).toEqual(start);
    const b = at(1001, IN_BLACKOUT);
    expect(run(open.state, [[b, [sample(b, "idle", 1001, 15), null, sample(b, "beta", 1001, 15)]]]).lines).toEqual([{ window: 1001, alpha: 2, payments: 2, agreed: true }]);
  });

  test("a count that includes a window applied but not agreed yet is not used", () => {
    const start: LiveState = { printedWindow: 1000, settled: { window: 1000, payments: 13 } };
    // Blackout of 1001: the beta holds its own window's 4 payments, not agreed yet.
    const b = at(1001, IN_BLACKOUT);
    const pending = run(start, [[b, [sample(b, "idle", 1000, 13), sample(b, "idle", 1000, 13), sample(b, "beta", 1000, 17)]]]);
    expect(pending).toEqual({ lines: [], state: start });
  });

  test("a window seen agreed without the counts on both sides has unknown payments", () => {
    const start: LiveState = { printedWindow: 1000, settled: { window: 1000, payments: 13 } };
    const t = at(1003, BEFORE_BLACKOUT);
    const { lines, state } = run(start, [[t, all(t, 1002, 20)]]);
    expect(lines).toEqual([
      { window: 1001, alpha: 2, payments: null, agreed: true },
      { window: 1002, alpha: 0, payments: null, agreed: true },
    ]);
    expect(state).toEqual({ printedWindow: 1002, settled: { window: 1002, payments: 20 } });
    // From there on, counts are known again.
    const b = at(1003, IN_BLACKOUT);
    expect(run(state, [[b, all(b, 1003, 21)]]).lines).toEqual([{ window: 1003, alpha: 1, payments: 1, agreed: true }]);
  });

  test("a window not agreed two windows after it closed is reported once as not agreed", () => {
    const start: LiveState = { printedWindow: 1000, settled: { window: 1000, payments: 13 } };
    const polls: [number, StatusSample[]][] = [
      [at(1002, IN_BLACKOUT), all(at(1002, IN_BLACKOUT), 1000, 13)], // 1001 closed, then 1002: one window later
      [at(1003, BEFORE_BLACKOUT), all(at(1003, BEFORE_BLACKOUT), 1000, 13)],
      [at(1003, IN_BLACKOUT), all(at(1003, IN_BLACKOUT), 1000, 13)], // 1003 closed too: two windows later
      [at(1003, IN_BLACKOUT + 100), all(at(1003, IN_BLACKOUT + 100), 1000, 13)],
    ];
    const { lines, state } = run(start, polls);
    expect(lines).toEqual([{ window: 1001, alpha: 2, payments: null, agreed: false }]);
    // Agreed late after all: 1001 gets no second line; 1002 and 1003 get theirs.
    const t = at(1004, 100);
    expect(run(state, [[t, all(t, 1003, 16)]]).lines.map((l) => [l.window, l.agreed])).toEqual([
      [1002, true],
      [1003, true],
    ]);
  });

  test("no node answering: only windows given up on", () => {
    const start: LiveState = { printedWindow: 1000, settled: null };
    expect(run(start, [[at(1001, 100), [null, null, null]]]).lines).toEqual([]);
    expect(run(start, [[at(1003, IN_BLACKOUT), [null, null, null]]]).lines).toEqual([{ window: 1001, alpha: 2, payments: null, agreed: false }]);
  });

  test("the start skips windows long past when nothing was ever agreed", () => {
    const t = at(1000, BEFORE_BLACKOUT);
    expect(startLive(t, [null, null, null], p)).toEqual({ printedWindow: 997, settled: null });
  });

  test("with one server its own count is used, though it is always the alpha", () => {
    const one = { serverCount: 1, intervalMs: 2_000, blackoutMs: 800 };
    const b = at(1000, IN_BLACKOUT);
    const next = advanceLive({ printedWindow: 999, settled: { window: 999, payments: 5 } }, b, [sample(b, "alpha", 1000, 7)], one);
    expect(next.lines).toEqual([{ window: 1000, alpha: 0, payments: 2, agreed: true }]);
  });

  test("a count that went down is a bug, and fails loudly", () => {
    const b = at(1001, IN_BLACKOUT);
    expect(() => advanceLive({ printedWindow: 1000, settled: { window: 1000, payments: 13 } }, b, all(b, 1001, 12), p)).toThrow(AssertionError);
  });

  test("how a line reads", () => {
    expect(formatWindowLine({ window: 898059993, alpha: 1, payments: 3, agreed: true }, ADDRESSES)).toBe("window 898059993  alpha 127.0.0.1:7401  3 payments  agreed ✓");
    expect(formatWindowLine({ window: 898059994, alpha: 2, payments: 1, agreed: true }, ADDRESSES)).toBe("window 898059994  alpha 127.0.0.1:7402  1 payment  agreed ✓");
    expect(formatWindowLine({ window: 898059995, alpha: 0, payments: 0, agreed: true }, ADDRESSES)).toBe("window 898059995  alpha 127.0.0.1:7400  0 payments  agreed ✓");
    expect(formatWindowLine({ window: 898059996, alpha: 1, payments: null, agreed: false }, ADDRESSES)).toBe("window 898059996  alpha 127.0.0.1:7401  ? payments  agreed ✗");
    expect(() => formatWindowLine({ window: 1, alpha: 3, payments: 0, agreed: true }, ADDRESSES)).toThrow(AssertionError);
  });
});

describe("the commands printed, and printed again", () => {
  const input: PasteBlockInput = {
    scryp: ["./dist/scryp"],
    summary: "3 nodes, ports 7400-7402, interval 10s, blackout 3s (scryp-devnet)",
    dir: "scryp-devnet",
    networkPath: "scryp-devnet/network.json",
    demoSeed: "scryp-devnet/demo.seed",
    friendSeed: "scryp-devnet/friend.seed",
    friendKey: "f".repeat(64),
    amount: 100,
    statusUrl: "http://127.0.0.1:7400/",
    logsDir: "scryp-devnet/logs",
    nodes: 3,
    interactive: false,
  };
  const pay = `./dist/scryp pay ${"f".repeat(64)} 100 --network scryp-devnet/network.json --seed scryp-devnet/demo.seed --wait`;
  const balance = "./dist/scryp balance --network scryp-devnet/network.json --seed scryp-devnet/friend.seed";
  const tail = "tail -f scryp-devnet/logs/node-*.log";
  const commands = (text: string) =>
    text
      .split("\n")
      .filter((l) => l.startsWith("  "))
      .map((l) => l.slice(2));

  test("the banner: pay, balance, status page and the logs; Enter offered only on a terminal", () => {
    const banner = pasteBlock(input);
    expect(commands(banner)).toEqual([pay, balance, "http://127.0.0.1:7400/", tail]);
    expect(banner).toContain("Each node logs to its own file (scryp-devnet/logs/node-1.log … node-3.log); follow them all:");
    expect(banner).not.toContain(AGAIN_HINT);
    expect(banner.endsWith("Ctrl-C stops every node; running the devnet again with the same --dir resumes this network.\n")).toBe(true);
    const onTerminal = pasteBlock({ ...input, interactive: true });
    expect(onTerminal).toContain(`\n${AGAIN_HINT}\nCtrl-C stops every node`);
    expect(commands(onTerminal)).toEqual(commands(banner));
  });

  test("on Enter: the same commands, the logs too", () => {
    expect(commands(commandsAgain(input))).toEqual([pay, balance, "http://127.0.0.1:7400/", tail]);
  });

  test("at exit: how to resume, then the commands for when it runs again; no tail of logs that are no longer written", () => {
    const text = exitBlock(input);
    expect(commands(text)).toEqual(["./dist/scryp devnet --dir scryp-devnet", pay, balance, "http://127.0.0.1:7400/"]);
    expect(text).toContain("The nodes' logs: scryp-devnet/logs/node-1.log … node-3.log");
  });

  test("a directory with a space: quoted, the log glob left to the shell", () => {
    const spaced = { ...input, dir: "my devnet", logsDir: "my devnet/logs" };
    expect(commands(commandsAgain(spaced))).toContain("tail -f 'my devnet/logs'/node-*.log");
    expect(commands(exitBlock(spaced))[0]).toBe("./dist/scryp devnet --dir 'my devnet'");
  });

  test("one node: one log file named", () => {
    expect(pasteBlock({ ...input, nodes: 1 })).toContain("(scryp-devnet/logs/node-1.log); follow");
  });

  test("what a typed line asks for: Enter or c shows the commands, anything else a hint", () => {
    for (const line of ["", "c", "C", " c ", "\r"]) expect(inputAction(line)).toBe("commands");
    for (const line of ["x", "cc", "commands", "q"]) expect(inputAction(line)).toBe("hint");
  });
});

describe("the nodes' log files", () => {
  const memory = () => {
    const lines: string[] = [];
    return { lines, sink: { write: (l: readonly string[]) => void lines.push(...l), close() {} } satisfies LineSink };
  };

  test("lines are appended, across opens", () => {
    const t = tempDir("scryp-devnet-log-");
    try {
      const path = join(t.path, "logs", "node-1.log");
      const first = openNodeLog(path, memory().sink, () => {});
      first.write(["one", "two"]);
      first.close();
      const second = openNodeLog(path, memory().sink, () => {});
      second.write(["three"]);
      second.write([]);
      second.close();
      expect(readFileSync(path, "utf8")).toBe("one\ntwo\nthree\n");
    } finally {
      t.cleanup();
    }
  });

  test("a log that cannot be opened is an error naming it", () => {
    const t = tempDir("scryp-devnet-log-");
    try {
      writeFileSync(join(t.path, "logs"), "a file, not a folder");
      expect(() => openNodeLog(join(t.path, "logs", "node-1.log"), memory().sink, () => {})).toThrow(NodeLogError);
      expect(() => openNodeLog(join(t.path, "logs", "node-1.log"), memory().sink, () => {})).toThrow(/cannot open the node log .*node-1\.log/);
    } finally {
      t.cleanup();
    }
  });

  test.skipIf(!existsSync("/dev/full"))("a full disk: said once, the lines go to the terminal instead", () => {
    const terminal = memory();
    const said: string[] = [];
    const log = openNodeLog("/dev/full", terminal.sink, (m) => said.push(m));
    log.write(["one"]);
    log.write(["two", "three"]);
    log.close();
    expect(terminal.lines).toEqual(["one", "two", "three"]);
    expect(said).toHaveLength(1);
    expect(said[0]).toContain("cannot write /dev/full");
  });

  test("the supervisor writes a child's lines to its log, and shows its last ones when it exits on its own", async () => {
    const t = tempDir("scryp-devnet-log-");
    try {
      const path = join(t.path, "logs", "node-1.log");
      const terminal: string[] = [];
      const supervisor = new Supervisor({ writeLine: (l) => terminal.push(l), nameWidth: 6, stopMsMax: 5_000 });
      const count = LAST_LINES_SHOWN + 2;
      const script = `i=1; while [ $i -le ${count} ]; do echo "line $i"; i=$((i+1)); done; echo "to stderr" >&2; printf 'no newline'; exit 3`;
      supervisor.spawn("node-1", ["sh", "-c", script], openNodeLog(path, { write: () => {}, close() {} }, () => {}));
      expect(await supervisor.done).toBe(1);
      const logged = readFileSync(path, "utf8").split("\n");
      expect(logged.filter((l) => l.startsWith("line "))).toEqual(Array.from({ length: count }, (_, i) => `line ${i + 1}`));
      expect(logged).toContain("to stderr");
      expect(logged.at(-1)).toBe(""); // every line whole, the unterminated one too
      expect(logged).toContain("no newline");
      // Not on the terminal, but for the last lines after it exited.
      expect(terminal[0]).toBe("devnet | node-1 exited unexpectedly (exit status 3); stopping the other nodes");
      expect(terminal[1]).toBe(`devnet | node-1's last ${LAST_LINES_SHOWN} lines:`);
      expect(terminal.slice(2)).toHaveLength(LAST_LINES_SHOWN);
      for (const line of terminal.slice(2)) expect(line.startsWith("node-1 | ")).toBe(true);
      expect(terminal.slice(2)).toContain("node-1 | no newline");
      expect(terminal.slice(2)).not.toContain("node-1 | line 1");
    } finally {
      t.cleanup();
    }
  });
});
