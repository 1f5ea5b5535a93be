// Durations on the command line: a whole number and a unit — `1500ms`, `10s`, `2m`, `1h`.
// A bare number is refused: "10" could mean seconds or milliseconds, and guessing wrong by 1000×
// turns a 10-second window into a 3-hour one.

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
type Unit = keyof typeof UNIT_MS;

/** Nine digits are enough for any duration a network uses (a 1e9 h duration is a typo). */
const DURATION = /^(\d{1,9})(ms|s|m|h)$/;

/** Milliseconds, or null when `text` is not a duration. */
export function parseDurationMs(text: string): number | null {
  const match = DURATION.exec(text);
  if (match === null) return null;
  const ms = Number(match[1]) * UNIT_MS[match[2] as Unit];
  return Number.isSafeInteger(ms) ? ms : null;
}

/** The shortest exact text for `ms`: 120000 → "2m", 10000 → "10s", 1500 → "1500ms". */
export function formatDuration(ms: number): string {
  for (const unit of ["h", "m", "s"] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
