// The version and the git commit it was built from. `scripts/build.ts` sets SCRYP_COMMIT with
// --define; running from source says "source".
import pkg from "../package.json" with { type: "json" };

declare const SCRYP_COMMIT: string | undefined;

export const VERSION: string = pkg.version;
export const COMMIT: string = typeof SCRYP_COMMIT === "string" ? SCRYP_COMMIT : "source";
