// `bun run build`: compiles the single executable dist/scryp for this platform, with the version
// and the git commit baked in. The SQL migrations are imported as text, so nothing else ships.
// The verification worker is a second entrypoint: Bun bundles worker files only when listed.
// The wallet page's browser script is bundled in by a macro (src/wallet/bundle-macro.ts).
import { $ } from "bun";

const commit = (await $`git rev-parse --short=12 HEAD`.nothrow().quiet()).stdout.toString().trim() || "unknown";
const dirty = (await $`git status --porcelain --untracked-files=no`.nothrow().quiet()).stdout.toString().trim() !== "";
const label = dirty ? `${commit}-dirty` : commit;

const result = await $`${process.execPath} build --compile --minify --sourcemap=none --define ${`SCRYP_COMMIT=${JSON.stringify(label)}`} src/cli/main.ts src/node/verify-worker.ts --outfile dist/scryp`.nothrow();
if (result.exitCode !== 0) process.exit(result.exitCode);
console.log(`built dist/scryp (commit ${label})`);
