// A real small disk for storage-fault tests: a tmpfs mounted in a test's directory. Mounting needs
// root (CI runs as root); where it is not permitted, mountTmpfs returns null and the tests that
// need it are skipped with a message saying so.
import { mkdirSync, openSync, writeSync, closeSync, rmSync } from "node:fs";
import { join } from "node:path";

export interface Tmpfs {
  readonly path: string;
  /** Changes the size (mount -o remount): smaller than what is used fails, larger gives space. */
  resize(sizeKiB: number): void;
  /** Writes a filler file until the disk is full; returns its size in bytes. */
  fill(name?: string): number;
  /** Removes a filler file written by fill(). */
  unfill(name?: string): void;
  unmount(): void;
}

export function mountTmpfs(parent: string, name: string, sizeKiB: number): Tmpfs | null {
  const path = join(parent, name);
  mkdirSync(path, { recursive: true });
  if (Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${sizeKiB}k`, "tmpfs", path], { stdout: "ignore", stderr: "ignore" }).exitCode !== 0) return null;
  let mounted = true;
  return {
    path,
    resize(size) {
      const r = Bun.spawnSync(["mount", "-o", `remount,size=${size}k`, path], { stdout: "ignore", stderr: "pipe" });
      if (r.exitCode !== 0) throw new Error(`remount ${path} to ${size} KiB failed: ${r.stderr.toString()}`);
    },
    fill(file = "filler") {
      const fd = openSync(join(path, file), "a");
      const chunk = new Uint8Array(64 * 1024);
      let total = 0;
      try {
        for (let size = chunk.length; size >= 512; ) {
          try {
            total += writeSync(fd, chunk, 0, size);
          } catch {
            size >>= 1; // ENOSPC: finish the last pages with smaller writes
          }
        }
      } finally {
        closeSync(fd);
      }
      return total;
    },
    unfill(file = "filler") {
      rmSync(join(path, file), { force: true });
    },
    unmount() {
      if (!mounted) return;
      mounted = false;
      Bun.spawnSync(["umount", "-l", path]);
    },
  };
}

/** Whether this process may mount a tmpfs (tried once, in a scratch directory). */
export function canMountTmpfs(scratch: string): boolean {
  const t = mountTmpfs(scratch, "probe-mount", 64);
  if (t === null) return false;
  t.unmount();
  return true;
}
