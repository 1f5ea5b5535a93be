// The fuzz suite's randomness, mutations and failure reports. Every run draws a fresh seed (so CI
// explores new inputs each time) unless FUZZ_SEED is set; every failure message carries the seed,
// the case number and the input, so `FUZZ_SEED=<n> bun test test/fuzz/<file>` replays it exactly.
// Cases are bounded by count, never by time: a busy machine runs slower, never differently.
import { concatBytes } from "../../src/core/bytes.ts";
import { prng } from "../../src/sim/simulator.ts";
import { toHex } from "../../src/core/bytes.ts";

function seedFromEnvironment(): number {
  const text = process.env.FUZZ_SEED;
  if (text === undefined || text === "") return Math.floor(Math.random() * 0x1_0000_0000);
  const seed = Number(text);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new Error(`FUZZ_SEED must be a u32, not ${JSON.stringify(text)}`);
  return seed;
}

/** The one seed of this run. */
export const FUZZ_SEED = seedFromEnvironment();

/** Hex of an input, cut so a failure message stays readable (the seed replays the whole of it). */
const NOTE_HEX_CHARS_MAX = 600;

/** FNV-1a: mixes a case's name and number into the run's seed, so each case replays on its own. */
function mix(seed: number, name: string, index: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (const c of `${name}#${index}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193);
  return h >>> 0;
}

/** A seeded source of random inputs (the simulator's mulberry32 underneath). */
export class Fuzz {
  private readonly random: () => number;
  /** What the case is looking at now; printed when it fails. */
  note = "";

  constructor(seed: number) {
    this.random = prng(seed);
  }

  next(): number {
    return this.random();
  }

  /** An integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.random() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.random() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = Math.floor(this.random() * 256);
    return out;
  }

  /** Records the input under test, for the failure message. */
  input(bytes: Uint8Array | string): void {
    const text = typeof bytes === "string" ? JSON.stringify(bytes) : `${bytes.length} bytes ${toHex(bytes)}`;
    this.note = text.length > NOTE_HEX_CHARS_MAX ? `${text.slice(0, NOTE_HEX_CHARS_MAX)}…` : text;
  }
}

/**
 * Runs `count` cases of `name`, each with its own PRNG derived from the run's seed. A failure is
 * rethrown with the seed, the case number and the input.
 */
export function fuzzCases(name: string, count: number, body: (fuzz: Fuzz, index: number) => void): void {
  for (let i = 0; i < count; i++) {
    const fuzz = new Fuzz(mix(FUZZ_SEED, name, i));
    try {
      body(fuzz, i);
    } catch (e) {
      throw new Error(`${name}: case ${i} failed (replay: FUZZ_SEED=${FUZZ_SEED}); input: ${fuzz.note}\n${(e as Error)?.stack ?? String(e)}`);
    }
  }
}

/** The async form, for cases that talk to a process. */
export async function fuzzCasesAsync(name: string, count: number, body: (fuzz: Fuzz, index: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < count; i++) {
    const fuzz = new Fuzz(mix(FUZZ_SEED, name, i));
    try {
      await body(fuzz, i);
    } catch (e) {
      throw new Error(`${name}: case ${i} failed (replay: FUZZ_SEED=${FUZZ_SEED}); input: ${fuzz.note}\n${(e as Error)?.stack ?? String(e)}`);
    }
  }
}

/** A field of a binary format that holds an integer: where it is and how wide (big-endian). */
export interface IntegerField {
  readonly offset: number;
  readonly widthBytes: 1 | 4 | 8;
}

/** Integers that break careless code: zero, one, the edges of signed and unsigned widths, 2^53. */
const EXTREME_VALUES: readonly bigint[] = [
  0n,
  1n,
  2n,
  0x7fn,
  0x80n,
  0xffn,
  0x7fff_ffffn,
  0x8000_0000n,
  0xffff_fffen,
  0xffff_ffffn,
  0x1_0000_0000n,
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 53n + 1n,
  2n ** 63n - 1n,
  2n ** 63n,
  2n ** 64n - 1n, // -1 as a signed value
  2n ** 64n - 2n, // -2
  2n ** 64n - 2n ** 53n, // -(2^53)
];

export function writeInteger(bytes: Uint8Array, field: IntegerField, value: bigint): void {
  const masked = BigInt.asUintN(field.widthBytes * 8, value);
  for (let i = 0; i < field.widthBytes; i++) {
    const at = field.offset + field.widthBytes - 1 - i;
    if (at < bytes.length) bytes[at] = Number((masked >> BigInt(8 * i)) & 0xffn);
  }
}

/** An extreme integer, or one close to what a count field would need to match the length. */
export function extremeInteger(fuzz: Fuzz, plausible: readonly number[] = []): bigint {
  if (plausible.length > 0 && fuzz.chance(0.3)) return BigInt(fuzz.pick(plausible) + fuzz.int(-1, 1));
  return fuzz.pick(EXTREME_VALUES);
}

/**
 * One to three mutations of `valid`: bit flips, byte writes, truncation, extension, insertion,
 * deletion, duplication, fills, splicing in another encoding, extreme integers in `fields`.
 * Never returns the input object itself (it may return equal bytes; callers that must avoid the
 * original compare).
 */
export function mutate(fuzz: Fuzz, valid: Uint8Array, fields: readonly IntegerField[] = [], others: readonly Uint8Array[] = [], plausible: readonly number[] = []): Uint8Array {
  let bytes: Uint8Array = valid.slice();
  const rounds = fuzz.int(1, 3);
  for (let r = 0; r < rounds; r++) {
    const at = () => fuzz.int(0, Math.max(0, bytes.length - 1));
    switch (fuzz.int(0, 10)) {
      case 0: {
        if (bytes.length === 0) break;
        const flips = fuzz.int(1, 3);
        for (let i = 0; i < flips; i++) bytes[at()]! ^= 1 << fuzz.int(0, 7);
        break;
      }
      case 1:
        if (bytes.length > 0) bytes[at()] = fuzz.int(0, 255);
        break;
      case 2:
        bytes = bytes.slice(0, fuzz.int(0, bytes.length));
        break;
      case 3:
        bytes = concatBytes(bytes, fuzz.bytes(fuzz.pick([1, 1, 2, 8, 64, 140, fuzz.int(1, 400)])));
        break;
      case 4: {
        const i = fuzz.int(0, bytes.length);
        bytes = concatBytes(bytes.subarray(0, i), fuzz.bytes(fuzz.int(1, 16)), bytes.subarray(i));
        break;
      }
      case 5: {
        const i = at();
        bytes = concatBytes(bytes.subarray(0, i), bytes.subarray(Math.min(bytes.length, i + fuzz.int(1, 32))));
        break;
      }
      case 6: {
        const i = at();
        const j = Math.min(bytes.length, i + fuzz.int(1, 160));
        bytes = concatBytes(bytes.subarray(0, j), bytes.subarray(i, j), bytes.subarray(j));
        break;
      }
      case 7: {
        const i = at();
        bytes.fill(fuzz.pick([0x00, 0xff]), i, Math.min(bytes.length, i + fuzz.int(1, 32)));
        break;
      }
      case 8:
        if (others.length > 0) {
          const other = fuzz.pick(others);
          const cut = fuzz.int(0, bytes.length);
          bytes = fuzz.chance(0.5) ? concatBytes(bytes, other) : concatBytes(bytes.subarray(0, cut), other.subarray(Math.min(other.length, cut)));
        }
        break;
      default:
        if (fields.length > 0) writeInteger(bytes, fuzz.pick(fields), extremeInteger(fuzz, plausible));
        else if (bytes.length > 0) bytes[at()] = 0;
        break;
    }
  }
  return bytes;
}

export { concatBytes };

/** A random length for a binary input: mostly near the interesting sizes, sometimes far. */
export function randomLength(fuzz: Fuzz, interesting: readonly number[], max: number): number {
  if (fuzz.chance(0.6)) return Math.max(0, Math.min(max, fuzz.pick(interesting) + fuzz.int(-2, 2)));
  return fuzz.int(0, max);
}
