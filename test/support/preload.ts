// Runs once before the test files: builds the compiled binary the end-to-end tests run, so
// `npm test` on a clean clone tests what ships.
import { $ } from "bun";

const result = await $`${process.execPath} run build`.nothrow().quiet();
if (result.exitCode !== 0) {
  process.stderr.write(result.stderr);
  throw new Error("bun run build failed: the end-to-end tests need dist/scryp");
}
