// The commands the devnet prints, ready to paste into a shell in the same working directory, run
// with the same executable the user started the devnet with. Pure: the caller supplies the facts.
import { isAbsolute, join, relative, sep } from "node:path";

/** How this process was started, as far as re-running it is concerned. */
export interface Invocation {
  /** The compiled `scryp` binary (true), or the bun runtime running a script (false). */
  readonly compiled: boolean;
  /** Absolute path of the running executable: the scryp binary, or bun. */
  readonly execPath: string;
  /** Absolute path of the script bun runs (src/cli/main.ts); unused when compiled. */
  readonly scriptPath: string;
  readonly cwd: string;
  /** Whether a name on PATH resolves to execPath (outside node_modules/.bin). */
  readonly onPath: (name: string) => boolean;
}

/**
 * A compiled executable's main module lives in bun's embedded file system ("/$bunfs/…" on POSIX,
 * "B:\~BUN\…" on Windows); from source it is the script on disk.
 */
export function isCompiledMain(main: string): boolean {
  return main.startsWith("/$bunfs/") || /^[A-Za-z]:[\\/]~BUN[\\/]/.test(main);
}

/** `rel` (from path.relative) points inside the directory it was taken from. */
const isInside = (rel: string): boolean => rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);

/** An executable's path as typed from `cwd`: "./dist/scryp" inside it, absolute outside it. */
function executableFromCwd(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return isInside(rel) ? `.${sep}${rel}` : path;
}

/** A script's path as typed from `cwd`: "src/cli/main.ts" inside it, absolute outside it. */
function scriptFromCwd(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return isInside(rel) ? rel : path;
}

/** The words that run scryp again: ["./dist/scryp"], ["scryp"], or ["npx", "bun", "src/cli/main.ts"]. */
export function scrypWords(inv: Invocation): string[] {
  const base = inv.execPath.split(/[\\/]/).at(-1)!;
  if (inv.compiled) return [inv.onPath(base) ? base : executableFromCwd(inv.execPath, inv.cwd)];
  // From source: bun installed by npm in this checkout is what `npx bun` runs (as the README does).
  const script = scriptFromCwd(inv.scriptPath, inv.cwd);
  const localBun = isInside(relative(inv.cwd, inv.execPath)) && inv.execPath.split(/[\\/]/).includes("node_modules");
  if (localBun) return ["npx", "bun", script];
  return [inv.onPath("bun") ? "bun" : inv.execPath, script];
}

/** POSIX shell quoting: plain words stay as they are, anything else goes in single quotes. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_\/.:=@%+,-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export const commandLine = (words: readonly string[]): string => words.map(shellQuote).join(" ");

export interface PasteBlockInput {
  readonly scryp: readonly string[];
  readonly summary: string;
  /** The devnet's directory, as given (--dir). */
  readonly dir: string;
  readonly networkPath: string;
  readonly demoSeed: string;
  readonly friendSeed: string;
  readonly friendKey: string;
  readonly amount: number;
  readonly statusUrl: string;
  /** The folder of the nodes' log files: node-1.log, node-2.log, … */
  readonly logsDir: string;
  readonly nodes: number;
  /** Whether stdin is a terminal, so Enter can show the commands again. */
  readonly interactive: boolean;
}

/** The log files, in a line: "scryp-devnet/logs/node-1.log … node-3.log". */
function logFilesText(p: PasteBlockInput): string {
  const first = join(p.logsDir, "node-1.log");
  return p.nodes === 1 ? first : `${first} … node-${p.nodes}.log`;
}

/** `tail -f DIR/node-*.log`: the glob stays outside the quotes, so the shell expands it. */
const tailCommand = (p: PasteBlockInput): string => `${commandLine(["tail", "-f"])} ${shellQuote(p.logsDir)}${sep}node-*.log`;

/** The commands that work while the devnet runs, each after a line saying what it does. */
function runningCommands(p: PasteBlockInput): string[] {
  const target = ["--network", p.networkPath];
  const pay = commandLine([...p.scryp, "pay", p.friendKey, String(p.amount), ...target, "--seed", p.demoSeed, "--wait"]);
  const balance = commandLine([...p.scryp, "balance", ...target, "--seed", p.friendSeed]);
  return [
    `Pay ${p.amount} scryp from the demo account (${p.demoSeed}) to the friend account (${p.friendSeed}):`,
    `  ${pay}`,
    "Check the friend's balance:",
    `  ${balance}`,
    "Status page:",
    `  ${p.statusUrl}`,
  ];
}

/** What Enter shows when stdin is a terminal. */
export const AGAIN_HINT = "Enter (or c + Enter) shows these commands again.";

/**
 * The text printed on stdout once the devnet is ready. The commands are the lines indented by two
 * spaces, so a script can pick them out; the rest is what they do.
 */
export function pasteBlock(p: PasteBlockInput): string {
  return [
    `scryp devnet is ready: ${p.summary}`,
    "",
    ...runningCommands(p),
    `Each node logs to its own file (${logFilesText(p)}); follow them all:`,
    `  ${tailCommand(p)}`,
    "",
    ...(p.interactive ? [AGAIN_HINT] : []),
    "Ctrl-C stops every node; running the devnet again with the same --dir resumes this network.",
    "",
  ].join("\n");
}

/** The same commands, on demand (Enter): the live lines have pushed the first ones out of sight. */
export function commandsAgain(p: PasteBlockInput): string {
  return [`scryp devnet is running: ${p.summary}`, ...runningCommands(p), "Follow the nodes' logs:", `  ${tailCommand(p)}`, ""].join("\n");
}

/** At exit: how to resume, and the commands that work again once it runs. */
export function exitBlock(p: PasteBlockInput): string {
  return [
    "",
    `scryp devnet stopped: ${p.summary}. Resume this network with:`,
    `  ${commandLine([...p.scryp, "devnet", "--dir", p.dir])}`,
    "Once it is ready again:",
    ...runningCommands(p),
    `The nodes' logs: ${logFilesText(p)}`,
    "",
  ].join("\n");
}

/** What a line typed on the devnet's terminal asks for: the commands (Enter, or c), else a hint. */
export function inputAction(line: string): "commands" | "hint" {
  const word = line.trim().toLowerCase();
  return word === "" || word === "c" ? "commands" : "hint";
}
