// The open-file limit: raised from soft to hard at start through libc (bun:ffi), and said in the log.
import { expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { raiseAndLogFileLimit, raiseFileLimit } from "../../src/node/fd-limit.ts";
import { ROOT, tempDir } from "../support/helpers.ts";

const linux = process.platform === "linux";

function procLimits(text: string): { soft: string; hard: string } {
  const [, soft, hard] = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text)!;
  return { soft: soft!, hard: hard! };
}

test.skipIf(!linux)("a process whose soft limit is below the hard one ends with soft = hard, as the kernel reports it", async () => {
  // Bun itself raises the limit when it starts, so the child lowers it first, then calls ours.
  const dir = tempDir("scryp-fd-limit-");
  try {
    const script = join(dir.path, "child.ts");
    writeFileSync(
      script,
      `import { dlopen, FFIType, ptr } from "bun:ffi";
import { readFileSync } from "node:fs";
import { raiseFileLimit } from ${JSON.stringify(join(ROOT, "src/node/fd-limit.ts"))};
const libc = dlopen("libc.so.6", { getrlimit: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 }, setrlimit: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 } });
const pair = new BigUint64Array(2);
libc.symbols.getrlimit(7, ptr(pair));
if (libc.symbols.setrlimit(7, ptr(new BigUint64Array([100n, pair[1]!]))) !== 0) throw new Error("could not lower the limit");
const lowered = readFileSync("/proc/self/limits", "utf8");
const outcome = raiseFileLimit();
console.log(JSON.stringify({ lowered, outcome, after: readFileSync("/proc/self/limits", "utf8") }, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
`,
    );
    const child = Bun.spawnSync([process.execPath, script], { stdout: "pipe", stderr: "pipe" });
    expect(child.stderr.toString()).toBe("");
    const { lowered, outcome, after } = JSON.parse(child.stdout.toString());
    expect(procLimits(lowered).soft).toBe("100");
    expect(outcome.kind).toBe("raised");
    expect(outcome.before.soft).toBe("100");
    expect(outcome.after.soft).toBe(outcome.before.hard);
    const kernel = procLimits(after);
    expect(kernel.soft).toBe(kernel.hard);
    expect(kernel.soft === "unlimited" ? "18446744073709551615" : kernel.soft).toBe(outcome.after.soft);
  } finally {
    dir.cleanup();
  }
});

test.skipIf(!linux)("in this process the limit is already at the hard one: kept, the same numbers the kernel reports", () => {
  const outcome = raiseFileLimit();
  expect(outcome.kind).toBe("kept");
  if (outcome.kind !== "kept") return;
  const kernel = procLimits(readFileSync("/proc/self/limits", "utf8"));
  expect(String(outcome.limit.soft)).toBe(kernel.soft);
});

test("another platform, or a libc that cannot be loaded: a failure to log, never a throw", () => {
  expect(raiseFileLimit("win32")).toEqual({ kind: "failed", reason: "not supported on win32", limit: null });
  const lines: string[] = [];
  const log = { info: (_c: string, m: string) => lines.push(`info ${m}`), warn: (_c: string, m: string) => lines.push(`warn ${m}`), error: (_c: string, m: string) => lines.push(`error ${m}`) };
  const outcome = raiseAndLogFileLimit(log);
  expect(lines).toHaveLength(1);
  if (outcome.kind === "failed") expect(lines[0]).toStartWith("warn could not raise the open-file limit");
  else expect(lines[0]).toMatch(/^info open-file limit (raised from \d+ to )?(\d+|unlimited)/);
});
