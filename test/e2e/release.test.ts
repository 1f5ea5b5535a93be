// scripts/release.ts, on the host's own target (no download): the binary, its sum in the table and
// in SHA256SUMS, its --version; a target that cannot be built is one plain line and does not fail the
// release; a failing host target does; so do bad flags. The registry is made unreachable through a
// refused proxy and an empty runtime cache, so no test here downloads anything.
import { afterEach, expect, test } from "bun:test";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, tempDir } from "../support/helpers.ts";
import pkg from "../../package.json" with { type: "json" };

const HOST_TARGET = `bun-${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`;
const HOST_FILE = `scryp-${HOST_TARGET}${process.platform === "win32" ? ".exe" : ""}`;

let dirs: { path: string; cleanup: () => void }[] = [];
afterEach(() => {
  for (const d of dirs) d.cleanup();
  dirs = [];
});

async function release(args: string[]) {
  const dir = tempDir("scryp-release-");
  dirs.push(dir);
  const cache = join(dir.path, "empty-cache");
  mkdirSync(cache);
  const proc = Bun.spawn([process.execPath, join(ROOT, "scripts", "release.ts"), ...args.map((a) => a.replace("$OUT", join(dir.path, "out")))], {
    cwd: dir.path,
    stdout: "pipe",
    stderr: "pipe",
    // Port 9 (discard) refuses: a target that needs its runtime downloaded fails at once.
    env: { ...process.env, HTTPS_PROXY: "http://127.0.0.1:9", https_proxy: "http://127.0.0.1:9", BUN_INSTALL_CACHE_DIR: cache },
    timeout: 60_000,
  });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, exitCode, out: join(dir.path, "out") };
}

async function sha256(path: string): Promise<string> {
  return new Bun.CryptoHasher("sha256").update(await Bun.file(path).arrayBuffer()).digest("hex");
}

test("the host target builds; its sum is in the table and SHA256SUMS; it prints the version and commit", async () => {
  const r = await release(["--out", "$OUT", HOST_TARGET]);
  expect(r.stderr).toBe("");
  expect(r.exitCode).toBe(0);
  const path = join(r.out, HOST_FILE);
  const sum = await sha256(path);
  const size = Bun.file(path).size;
  expect(size).toBeGreaterThan(1_000_000);
  expect(r.stdout).toMatch(new RegExp(`^${HOST_TARGET} +${size} +[\\d.]+ +${sum}$`, "m"));
  expect(readFileSync(join(r.out, "SHA256SUMS"), "utf8")).toBe(`${sum}  ${HOST_FILE}\n`);

  const version = Bun.spawnSync([path, "--version"]);
  expect(version.exitCode).toBe(0);
  // The version and the commit label, as `bun run build` bakes them into dist/scryp.
  expect(version.stdout.toString()).toMatch(new RegExp(`^scryp ${pkg.version.replace(/\./g, "\\.")} \\([0-9a-f]{7,}(-dirty)?\\)\\n$`));
  expect(r.stdout).toContain(`--version prints "${version.stdout.toString().trim()}"`);
});

test("targets that cannot be built are one plain line each, with Bun's reason; the release still succeeds", async () => {
  const r = await release(["--out", "$OUT", HOST_TARGET, "bun-plan9-x64", "bun-linux-arm64-musl"]);
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toContain("cannot build 2 target(s) here:\n");
  expect(r.stdout).toContain(`  bun-plan9-x64: error: Unsupported target "plan9" in "bun-plan9-x64"\n`);
  // The runtime for another target comes from the npm registry, unreachable here by construction.
  expect(r.stdout).toMatch(/^ {2}bun-linux-arm64-musl: Failed to download 'bun-linux-aarch64-musl-v[\d.]+': ConnectionRefused$/m);
  const sums = readFileSync(join(r.out, "SHA256SUMS"), "utf8");
  expect(sums.trim().split("\n")).toHaveLength(1);
  expect(sums).toEndWith(`  ${HOST_FILE}\n`);
  expect(Bun.file(join(r.out, "scryp-bun-linux-arm64-musl")).size).toBe(0); // nothing left behind
});

test("the release fails when the host target cannot be built", async () => {
  const dir = tempDir("scryp-release-host-");
  dirs.push(dir);
  // A non-empty directory where the host binary should go: Bun refuses to write there.
  mkdirSync(join(dir.path, HOST_FILE, "in-the-way"), { recursive: true });
  const r = await release(["--out", dir.path, HOST_TARGET]);
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toContain(`release: the host target ${HOST_TARGET} failed: `);
  expect(r.stderr).toContain("is a directory");
});

test("bad flags are a usage error, exit 2", async () => {
  for (const args of [["--bogus"], ["--out"], ["--target-timeout-seconds", "0"], ["--target-timeout-seconds", "x"]]) {
    const r = await release(args);
    expect(r.exitCode, args.join(" ")).toBe(2);
    expect(r.stderr).toStartWith("release: ");
    expect(r.stderr).toContain("usage: bun scripts/release.ts");
  }
});
