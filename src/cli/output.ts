// How a client command speaks: plain lines for people, or with --json one document for scripts.
//
// The --json contract: exactly one JSON document on stdout when the command succeeds; when it
// fails, nothing on stdout and one {"error":{"code","message"}} document on stderr; the exit
// status is the same as without --json. Progress and notes (waiting out a blackout, a server that
// does not answer) go to stderr only without --json, so they never break that contract.

/** The commands that take --json; for them main.ts also writes usage and operating errors as JSON. */
export const JSON_COMMANDS: ReadonlySet<string> = new Set(["keygen", "pay", "balance", "history", "tx", "status", "request"]);

export const JSON_OPTION = { json: { type: "boolean" } } as const;

/** Whether --json is among the arguments (before a "--", after which nothing is an option). */
export function jsonRequested(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).includes("--json");
}

export interface ErrorDocument {
  readonly error: { readonly code: string; readonly message: string; readonly [extra: string]: unknown };
}

export function errorDocument(code: string, message: string, extra: Record<string, unknown> = {}): ErrorDocument {
  return { error: { code, message, ...extra } };
}

export class Output {
  constructor(readonly json: boolean) {}

  /** Progress, notes, warnings: stderr for people; nothing with --json. */
  note(line: string): void {
    if (!this.json) process.stderr.write(line + "\n");
  }

  /** One line of the result for people (stdout); nothing with --json. */
  line(text: string): void {
    if (!this.json) process.stdout.write(text + "\n");
  }

  /** The result for scripts (stdout), written only with --json. */
  document(doc: unknown): void {
    if (this.json) process.stdout.write(JSON.stringify(doc) + "\n");
  }

  /**
   * An operating failure: `text` (default "scryp: message") on stderr for people, or the error
   * document with --json. Returns the exit status to return.
   */
  fail(failure: { code: string; message: string; text?: string; extra?: Record<string, unknown> }, exitCode = 1): number {
    if (this.json) process.stderr.write(JSON.stringify(errorDocument(failure.code, failure.message, failure.extra)) + "\n");
    else process.stderr.write((failure.text ?? `scryp: ${failure.message}`) + "\n");
    return exitCode;
  }
}
