// Every HTTP connection, peer request, SQLite file and worker holds a file descriptor. With the
// common soft limit of 1,024 a node held by ~1,010 slow connections stopped answering anyone, so at
// start the node raises its soft RLIMIT_NOFILE to the hard limit, which an unprivileged process
// may do. Through libc's getrlimit/setrlimit (bun:ffi): on Linux and macOS only; anywhere else, or
// on any failure, the node says so and runs with the limit it has. (Bun 1.4 on Linux already
// raises the soft limit when it starts; this does not rely on that, and logs the figure in force:
// when the hard limit itself is 1,024, only the operator can raise it, e.g. LimitNOFILE=.)
import { dlopen, FFIType, ptr } from "bun:ffi";
import type { Logger } from "../core/logger.ts";

/** libc and the RLIMIT_NOFILE resource number, per platform (<sys/resource.h>). */
const PLATFORMS: Partial<Record<NodeJS.Platform, { readonly libc: string; readonly resource: number }>> = {
  linux: { libc: "libc.so.6", resource: 7 },
  darwin: { libc: "libc.dylib", resource: 8 },
};
/** rlim_t is 64 bits on both; all ones (Linux) or 2^63−1 (macOS) means unlimited. */
const RLIM_INFINITY_LINUX = 0xffff_ffff_ffff_ffffn;
const RLIM_INFINITY_DARWIN = 0x7fff_ffff_ffff_ffffn;

export interface FileLimit {
  readonly soft: bigint;
  readonly hard: bigint;
}

export type FileLimitOutcome =
  | { readonly kind: "raised"; readonly before: FileLimit; readonly after: FileLimit }
  | { readonly kind: "kept"; readonly limit: FileLimit }
  | { readonly kind: "failed"; readonly reason: string; readonly limit: FileLimit | null };

interface Rlimit {
  get(): FileLimit;
  set(limit: FileLimit): boolean;
  close(): void;
}

function openRlimit(platform: NodeJS.Platform): Rlimit | string {
  const target = PLATFORMS[platform];
  if (target === undefined) return `not supported on ${platform}`;
  let lib;
  try {
    lib = dlopen(target.libc, {
      getrlimit: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
      setrlimit: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
    });
  } catch (e) {
    return `cannot load ${target.libc}: ${(e as Error).message}`;
  }
  const { getrlimit, setrlimit } = lib.symbols;
  return {
    get() {
      const pair = new BigUint64Array(2);
      if (getrlimit(target.resource, ptr(pair)) !== 0) throw new Error("getrlimit(RLIMIT_NOFILE) failed");
      return { soft: pair[0]!, hard: pair[1]! };
    },
    set(limit) {
      return setrlimit(target.resource, ptr(new BigUint64Array([limit.soft, limit.hard]))) === 0;
    },
    close: () => lib.close(),
  };
}

/** Raises the soft open-file limit to the hard one where allowed. Never throws. */
export function raiseFileLimit(platform: NodeJS.Platform = process.platform): FileLimitOutcome {
  let rlimit: Rlimit | string;
  try {
    rlimit = openRlimit(platform);
  } catch (e) {
    rlimit = (e as Error).message;
  }
  if (typeof rlimit === "string") return { kind: "failed", reason: rlimit, limit: null };
  let before: FileLimit | null = null;
  try {
    before = rlimit.get();
    if (before.soft >= before.hard) return { kind: "kept", limit: before };
    if (!rlimit.set({ soft: before.hard, hard: before.hard })) return { kind: "failed", reason: `setrlimit to ${describe(before.hard)} was refused`, limit: before };
    return { kind: "raised", before, after: rlimit.get() };
  } catch (e) {
    return { kind: "failed", reason: (e as Error).message, limit: before };
  } finally {
    rlimit.close();
  }
}

export function describe(n: bigint): string {
  return n === RLIM_INFINITY_LINUX || n === RLIM_INFINITY_DARWIN ? "unlimited" : n.toString();
}

/** Raises the limit and logs the one in force: the number of connections the node can hold. */
export function raiseAndLogFileLimit(log: Logger): FileLimitOutcome {
  const outcome = raiseFileLimit();
  if (outcome.kind === "raised") {
    log.info("node", `open-file limit raised from ${describe(outcome.before.soft)} to ${describe(outcome.after.soft)}`, { openFilesMax: describe(outcome.after.soft) });
  } else if (outcome.kind === "kept") {
    log.info("node", `open-file limit ${describe(outcome.limit.soft)} (the hard limit)`, { openFilesMax: describe(outcome.limit.soft) });
  } else {
    const inForce = outcome.limit === null ? "unknown" : describe(outcome.limit.soft);
    log.warn("node", `could not raise the open-file limit (${outcome.reason}); running with ${inForce}`, { openFilesMax: inForce });
  }
  return outcome;
}
