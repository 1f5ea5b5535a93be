// The wallet page's script, bundled for browsers when the code that imports it is transpiled: a
// Bun macro (wallet-assets.ts imports this `with { type: "macro" }`), so `bun build --compile`
// bakes the bundle into dist/scryp as a string, and running from source bundles it on load.
// Bun.build cannot run inside a macro (the bundler would wait on itself), hence the CLI in a child.
// It fails loudly: a wallet page without its script must never ship.
export function walletScriptBundle(): string {
  const entry = `${import.meta.dir}/browser/main.ts`;
  const result = Bun.spawnSync([process.execPath, "build", entry, "--target=browser", "--format=esm", "--minify"], { stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  if (result.exitCode !== 0) throw new Error(`bundling the wallet script (${entry}) failed:\n${result.stderr.toString()}`);
  return result.stdout.toString();
}
