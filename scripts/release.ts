// `bun run release`: the single executable for every target Bun can cross-compile to, minified,
// into dist/release/scryp-<target>[.exe], then a table of sizes and SHA-256 sums and a SHA256SUMS
// file (`sha256sum -c SHA256SUMS` in that folder checks them). The same source, commit label and
// file name give the same bytes, so anyone can rebuild a release and compare its sums.
//
// Bun compiles for another target by downloading that target's Bun runtime (the @oven/bun-<os>-<arch>
// package from the npm registry) into its install cache on first use; the host's own target needs no
// download. A target that cannot be built here is reported with the reason Bun gave, in one line, and
// the release goes on: only a failure of the host's own target fails the release.
//
//   bun scripts/release.ts [--out DIR] [--target-timeout-seconds N] [TARGET ...]
//   (defaults: dist/release, 180 s, every target below)
import { $ } from "bun";
import { mkdirSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import pkg from "../package.json" with { type: "json" };

/**
 * Every target `bun build --compile` names (Bun 1.4.5). "-modern" is the default build, and arm64 has
 * no baseline variant (Bun quietly builds the default one), so neither is listed. In 1.4.5 the x64
 * "-baseline" runtimes on npm are byte-identical to the default ones; they are kept for users who
 * look for them. freebsd-x64-baseline is named by Bun but not published: it is tried and reported.
 */
const TARGETS = [
  "bun-linux-x64",
  "bun-linux-x64-baseline",
  "bun-linux-x64-musl",
  "bun-linux-x64-musl-baseline",
  "bun-linux-arm64",
  "bun-linux-arm64-musl",
  "bun-linux-x64-android",
  "bun-linux-arm64-android",
  "bun-darwin-x64",
  "bun-darwin-x64-baseline",
  "bun-darwin-arm64",
  "bun-windows-x64",
  "bun-windows-x64-baseline",
  "bun-windows-arm64",
  "bun-freebsd-x64",
  "bun-freebsd-x64-baseline",
  "bun-freebsd-arm64",
] as const;
/** One target: a runtime download (~40 MB) on a slow link plus the compile. */
const TARGET_TIMEOUT_MS_DEFAULT = 180_000;
/** The whole release; targets not started by then are reported as skipped. */
const RELEASE_TIMEOUT_MS = 15 * 60_000;
/** `scryp --version` of the host binary, as a check that what was built runs. */
const VERSION_CHECK_TIMEOUT_MS = 10_000;

/** The repository: sources and git are read from here, whatever the working directory. */
const ROOT = resolve(import.meta.dir, "..");
const HOST_TARGET = `bun-${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`;

function usage(message: string): never {
  console.error(`release: ${message}\nusage: bun scripts/release.ts [--out DIR] [--target-timeout-seconds N] [TARGET ...]`);
  process.exit(2);
}

function parseArgs(argv: string[]): { outDir: string; targetTimeoutMs: number; targets: string[] } {
  let outDir = "dist/release";
  let targetTimeoutMs = TARGET_TIMEOUT_MS_DEFAULT;
  const targets: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--out") {
      const value = argv[++i];
      if (value === undefined || value === "") usage("--out needs a directory");
      outDir = value;
    } else if (arg === "--target-timeout-seconds") {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < 1 || value > 3600) usage("--target-timeout-seconds needs a whole number of seconds, 1 to 3600");
      targetTimeoutMs = value * 1000;
    } else if (arg.startsWith("-")) {
      usage(`unknown flag ${arg}`);
    } else {
      targets.push(arg);
    }
  }
  return { outDir, targetTimeoutMs, targets: targets.length > 0 ? targets : [...TARGETS] };
}

async function commitLabel(): Promise<string> {
  // The same label scripts/build.ts bakes in: the short commit, "-dirty" with uncommitted changes.
  const commit = (await $`git rev-parse --short=12 HEAD`.cwd(ROOT).nothrow().quiet()).stdout.toString().trim() || "unknown";
  const dirty = (await $`git status --porcelain --untracked-files=no`.cwd(ROOT).nothrow().quiet()).stdout.toString().trim() !== "";
  return dirty ? `${commit}-dirty` : commit;
}

const stripAnsi = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, "");

/** Bun's progress lines ("[12ms]  bundle  208 modules", "Decompressing..."): never the reason. */
const PROGRESS_LINE = /^\[[\d.]+m?s\]|^(Decompressing|Extracting|Downloading)\.\.\./;

/** The line of Bun's output that says why a build failed: an "error:" line, else stderr's first. */
function failureReason(stderr: string, stdout: string): string {
  const meaningful = (text: string) =>
    stripAnsi(text)
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !PROGRESS_LINE.test(l));
  const lines = [...meaningful(stderr), ...meaningful(stdout)];
  return lines.find((l) => /^error:/i.test(l)) ?? lines[0] ?? "bun build failed without a message";
}

async function sha256File(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return hasher.digest("hex");
}

type Result =
  | { readonly target: string; readonly ok: true; readonly file: string; readonly sizeBytes: number; readonly sha256: string; readonly ms: number }
  | { readonly target: string; readonly ok: false; readonly reason: string };

async function buildTarget(target: string, outDir: string, label: string, targetTimeoutMs: number, deadlineMs: number): Promise<Result> {
  const file = `scryp-${target}${target.startsWith("bun-windows") ? ".exe" : ""}`;
  const path = resolve(outDir, file);
  // A binary left from an earlier release must not pass for this one.
  try {
    unlinkSync(path);
  } catch {
    // not there (or not a file: then the build fails and says so)
  }
  const timeoutMs = Math.min(targetTimeoutMs, deadlineMs - Date.now());
  if (timeoutMs <= 0) return { target, ok: false, reason: `skipped: the release ran out of its ${RELEASE_TIMEOUT_MS / 60_000} minutes` };
  const startedMs = Date.now();
  const proc = Bun.spawn(
    [process.execPath, "build", "--compile", `--target=${target}`, "--minify", "--sourcemap=none", "--define", `SCRYP_COMMIT=${JSON.stringify(label)}`, "src/cli/main.ts", "src/node/verify-worker.ts", "--outfile", path],
    { cwd: ROOT, stdout: "pipe", stderr: "pipe", timeout: timeoutMs, killSignal: "SIGKILL" },
  );
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (proc.signalCode !== null) return { target, ok: false, reason: `timed out after ${Math.round(timeoutMs / 1000)} s and was stopped (a stalled runtime download looks like this)` };
  if (exitCode !== 0) return { target, ok: false, reason: failureReason(stderr, stdout) };
  let sizeBytes: number;
  try {
    sizeBytes = statSync(path).size;
  } catch {
    return { target, ok: false, reason: `bun build exited 0 but wrote no ${path}` };
  }
  return { target, ok: true, file, sizeBytes, sha256: await sha256File(path), ms: Date.now() - startedMs };
}

/** Runs the host binary's --version: it must print this version and commit. */
async function checkVersion(path: string, label: string): Promise<string | null> {
  const proc = Bun.spawn([path, "--version"], { stdout: "pipe", stderr: "pipe", timeout: VERSION_CHECK_TIMEOUT_MS, killSignal: "SIGKILL" });
  const [stdout, exitCode] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  const expected = `scryp ${pkg.version} (${label})\n`;
  if (exitCode !== 0 || stdout !== expected) return `${path} --version printed ${JSON.stringify(stdout)} (exit ${exitCode}), expected ${JSON.stringify(expected)}`;
  return null;
}

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

async function main(): Promise<number> {
  const startedMs = Date.now();
  const { outDir, targetTimeoutMs, targets } = parseArgs(process.argv.slice(2));
  const label = await commitLabel();
  mkdirSync(outDir, { recursive: true });
  console.log(`scryp ${pkg.version} (${label}): building ${targets.length} target(s) into ${outDir}; this host is ${HOST_TARGET}`);

  const results: Result[] = [];
  const deadlineMs = startedMs + RELEASE_TIMEOUT_MS;
  for (const target of targets) {
    const r = await buildTarget(target, outDir, label, targetTimeoutMs, deadlineMs);
    console.log(r.ok ? `  built  ${r.target} (${(r.ms / 1000).toFixed(1)} s)` : `  FAILED ${r.target}: ${r.reason}`);
    results.push(r);
  }

  const built = results.filter((r) => r.ok);
  const failed = results.filter((r) => !r.ok);
  const sums = built.map((r) => `${r.sha256}  ${r.file}\n`).join("");
  writeFileSync(join(outDir, "SHA256SUMS"), sums);

  const width = Math.max(6, ...built.map((r) => r.target.length));
  console.log("");
  console.log(`${"target".padEnd(width)}  ${"bytes".padStart(11)}  ${"MiB".padStart(6)}  sha256`);
  for (const r of built) console.log(`${r.target.padEnd(width)}  ${String(r.sizeBytes).padStart(11)}  ${mib(r.sizeBytes).padStart(6)}  ${r.sha256}`);
  console.log(`\nwrote ${join(outDir, "SHA256SUMS")} (${built.length} file(s))`);
  if (failed.length > 0) {
    console.log(`cannot build ${failed.length} target(s) here:`);
    for (const r of failed) console.log(`  ${r.target}: ${r.reason}`);
  }

  let status = 0;
  const host = results.find((r) => r.target === HOST_TARGET);
  if (host === undefined) {
    console.log(`note: the host target ${HOST_TARGET} was not asked for; its binary was not run`);
  } else if (!host.ok) {
    console.error(`release: the host target ${HOST_TARGET} failed: ${host.reason}`);
    status = 1;
  } else {
    const problem = await checkVersion(join(outDir, host.file), label);
    if (problem !== null) {
      console.error(`release: ${problem}`);
      status = 1;
    } else {
      console.log(`checked: ${join(outDir, host.file)} --version prints "scryp ${pkg.version} (${label})"`);
    }
  }
  console.log(`release took ${((Date.now() - startedMs) / 1000).toFixed(1)} s`);
  return status;
}

process.exit(await main());
