// Runs the devnet's nodes as child processes: each one's output goes line by line to its own sink
// (its log file), and its last lines are kept to show on the terminal if it exits on its own; they
// are stopped together (SIGTERM, then SIGKILL after a bound),
// and one that exits on its own stops the others, because a devnet missing a node is not the
// network the printed commands describe.
import type { Subprocess } from "bun";
import type { LineSink } from "./node-log.ts";

/** Longer than a pending signal handler needs to run; short next to a node's start-up. */
const SIGNAL_GRACE_MS = 250;
/** A node that exits on its own usually says why in its last few lines; shown on the terminal. */
export const LAST_LINES_SHOWN = 8;

export interface SupervisorOptions {
  /** Writes one whole line (no newline) to the devnet's stderr. */
  readonly writeLine: (line: string) => void;
  /** Names are padded to this width so the " | " columns line up (the devnet's own lines, a node's last lines). */
  readonly nameWidth: number;
  /** After SIGTERM, how long a node may take to commit what is queued and close its ledger. */
  readonly stopMsMax: number;
}

interface Child {
  readonly name: string;
  readonly process: Subprocess<"ignore", "pipe", "pipe">;
  /** Its newest lines, at most LAST_LINES_SHOWN. */
  readonly lastLines: string[];
  /** Resolves once the process exited and all its output was written. */
  readonly finished: Promise<void>;
}

export class Supervisor {
  private readonly children: Child[] = [];
  private stopping = false;
  private exitCode = 0;
  private killTimer: ReturnType<typeof setTimeout> | null = null;
  /** Children whose end was already reported (the one that exited unexpectedly). */
  private readonly reported = new Set<string>();
  private resolveDone: (code: number) => void = () => {};
  /** The devnet's exit status, once every child has exited after stop(). */
  readonly done: Promise<number> = new Promise((resolve) => (this.resolveDone = resolve));

  constructor(private readonly o: SupervisorOptions) {}

  get isStopping(): boolean {
    return this.stopping;
  }

  /** Writes a line of the devnet's own under the name "devnet". */
  say(message: string): void {
    this.o.writeLine(`${"devnet".padEnd(this.o.nameWidth)} | ${message}`);
  }

  /** Starts `argv` as `name`, its output to `sink` (closed once it exited); returns its pid. */
  spawn(name: string, argv: string[], sink: LineSink): number {
    const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: process.env, cwd: process.cwd() });
    const lastLines: string[] = [];
    const keep = (lines: readonly string[]) => {
      sink.write(lines);
      lastLines.push(...lines);
      lastLines.splice(0, Math.max(0, lastLines.length - LAST_LINES_SHOWN));
    };
    const relayed = Promise.all([relay(proc.stdout, keep), relay(proc.stderr, keep), proc.exited]).finally(() => sink.close());
    const finished = relayed.then(async () => {
      // Ctrl-C in a terminal signals the whole process group: a node can stop before the devnet's
      // own handler has run. Give that handler a moment before calling the exit unexpected.
      if (!this.stopping) await Bun.sleep(SIGNAL_GRACE_MS);
      if (this.stopping) return;
      this.reported.add(name);
      this.say(`${name} exited unexpectedly (${exitText(proc)}); stopping the other nodes`);
      this.showLastLines(name, lastLines);
      this.stop(1);
    });
    this.children.push({ name, process: proc, lastLines, finished });
    return proc.pid;
  }

  /**
   * Stops every node: SIGTERM (each commits what is queued, closes its ledger, exits 0), then
   * SIGKILL for any still running after stopMsMax. `done` resolves with `exitCode` (the first
   * one given) once all have exited. Idempotent.
   */
  stop(exitCode: number): void {
    if (this.stopping) return;
    this.stopping = true;
    this.exitCode = exitCode;
    for (const c of this.children) signal(c.process, "SIGTERM");
    this.killTimer = setTimeout(() => {
      const late = this.children.filter((c) => running(c.process));
      if (late.length > 0) this.say(`${late.map((c) => c.name).join(", ")} did not stop within ${this.o.stopMsMax} ms: killing`);
      this.killNow();
    }, this.o.stopMsMax);
    Promise.all(this.children.map((c) => c.finished)).then(() => {
      if (this.killTimer !== null) clearTimeout(this.killTimer);
      for (const c of this.children) {
        if (c.process.exitCode !== 0 && !this.reported.has(c.name)) {
          this.say(`${c.name} ended ${exitText(c.process)}`);
          this.showLastLines(c.name, c.lastLines);
        }
      }
      this.resolveDone(this.exitCode);
    });
  }

  /** SIGKILL to every node still running (a second Ctrl-C, or the stop bound passed). */
  killNow(): void {
    for (const c of this.children) signal(c.process, "SIGKILL");
  }

  /** A node's last lines on the terminal, prefixed with its name: why it ended is usually there. */
  private showLastLines(name: string, lines: readonly string[]): void {
    if (lines.length === 0) return;
    this.say(`${name}'s last ${lines.length === 1 ? "line" : `${lines.length} lines`}:`);
    for (const line of lines) this.o.writeLine(`${name.padEnd(this.o.nameWidth)} | ${line}`);
  }
}

/** Passes a child's output on, whole lines at a time (one call a chunk). */
async function relay(stream: ReadableStream<Uint8Array>, write: (lines: readonly string[]) => void): Promise<void> {
  const decoder = new TextDecoder();
  let partial = "";
  for await (const chunk of stream) {
    const lines = (partial + decoder.decode(chunk, { stream: true })).split("\n");
    partial = lines.pop()!;
    write(lines);
  }
  partial += decoder.decode();
  if (partial !== "") write([partial]);
}

const running = (p: Subprocess): boolean => p.exitCode === null && p.signalCode === null;

function signal(p: Subprocess, name: "SIGTERM" | "SIGKILL"): void {
  if (running(p)) p.kill(name);
}

function exitText(p: Subprocess): string {
  return p.signalCode !== null ? `killed by ${p.signalCode}` : `exit status ${p.exitCode}`;
}
