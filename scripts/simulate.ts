// The consensus simulator from the command line (src/sim/swarm.ts):
//   bun run simulate --seed N [--servers 3|5] [--seconds T] [--harsh] [--byzantine [--behaviours a,b]] [--verbose] [--log]
//     replays one seed: its fault mix, traffic, healing; prints what happened; exit 1 on a failure.
//   bun run simulate --seeds N [--servers 3|5] [--seconds T] [--harsh] [--byzantine]
//     runs N fresh random seeds, each with its own random fault mix; prints every failing seed
//     with the invariant it broke and the command that replays it; exit 1 if any failed.
// Without --servers a swarm alternates 3 and 5 servers. --harsh uses the mix known to break the
// protocol's open limit now and then (see src/sim/swarm.ts). --byzantine makes one server (drawn
// from the seed) faulty (src/sim/byzantine.ts); --log prints every server's log lines of a replay.
import { parseArgs } from "node:util";
import { BYZANTINE_BEHAVIOURS, type ByzantineBehaviour } from "../src/sim/byzantine.ts";
import { describeMix, freshSeed, replayCommand, runSeed, type SeedResult, type SeedRun } from "../src/sim/swarm.ts";

const { values } = parseArgs({
  options: {
    seed: { type: "string" },
    seeds: { type: "string" },
    servers: { type: "string" },
    seconds: { type: "string", default: "60" },
    harsh: { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
    byzantine: { type: "boolean", default: false },
    log: { type: "boolean", default: false },
    behaviours: { type: "string" },
  },
});

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

const seconds = Number(values.seconds);
if (!Number.isInteger(seconds) || seconds < 1 || seconds > 3_600) fail("--seconds must be a whole number of simulated seconds, 1..3600");
const serversGiven = values.servers === undefined ? null : Number(values.servers);
if (serversGiven !== null && serversGiven !== 3 && serversGiven !== 5) fail("--servers must be 3 or 5");
const mode = values.harsh ? "harsh" : "ci";
const behaviours = values.behaviours === undefined ? undefined : (values.behaviours.split(",") as ByzantineBehaviour[]);
for (const b of behaviours ?? []) if (!(BYZANTINE_BEHAVIOURS as readonly string[]).includes(b)) fail(`--behaviours: ${b} is not one of ${BYZANTINE_BEHAVIOURS.join(", ")}`);
const byzantine = { byzantine: values.byzantine || behaviours !== undefined, ...(behaviours === undefined ? {} : { behaviours }) };

function report(r: SeedResult): void {
  const s = r.stats;
  const summary = s
    ? `${s.accepted}/${s.submitted} payments accepted, ${r.agreedSomewhere} acknowledged and agreed, ${s.dropped}/${s.messages} messages dropped, ` +
      `${s.duplicated} duplicated, ${s.replayed} replayed, ${s.crashes} crashes, ${s.events} events`
    : "";
  const head = `seed ${r.run.seed} (${r.run.servers} servers, ${r.run.seconds} s${r.run.mode === "harsh" ? ", harsh" : ""}): ${r.ok ? "ok" : `FAILED (${r.failure})`} in ${r.wallMs.toFixed(0)} ms`;
  console.log(`${head}${summary ? ` — ${summary}` : ""}`);
  if (r.byzantine !== null) console.log(`  byzantine: ${JSON.stringify(r.byzantine.stats)}; proven by ${r.byzantine.provenBy} honest server(s)`);
  if (values.verbose || !r.ok) console.log(`  mix: ${describeMix(r.mix)}`);
  if (!r.ok) {
    console.log(`  ${r.message}`);
    console.log(`  replay: ${replayCommand(r.run)}`);
  }
}

if (values.seed !== undefined) {
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) fail("--seed must be a whole number ≥ 0");
  const run: SeedRun = { seed, servers: (serversGiven ?? 3) as 3 | 5, seconds, mode, ...byzantine };
  const line = (level: string) => (component: string, message: string, fields?: Record<string, unknown>) => console.log(`${level} ${component}: ${message}${fields ? ` ${JSON.stringify(fields)}` : ""}`);
  const r = runSeed(run, values.log ? { info: line("info"), warn: line("warn"), error: line("error") } : undefined);
  report(r);
  process.exit(r.ok ? 0 : 1);
}

const count = Number(values.seeds ?? "20");
if (!Number.isInteger(count) || count < 1) fail("--seeds must be a whole number ≥ 1");
const failed: SeedResult[] = [];
const started = performance.now();
for (let i = 0; i < count; i++) {
  const run: SeedRun = { seed: freshSeed(), servers: (serversGiven ?? (i % 2 === 0 ? 3 : 5)) as 3 | 5, seconds, mode, ...byzantine };
  const r = runSeed(run);
  report(r);
  if (!r.ok) failed.push(r);
}
console.log(`\n${count} seeds in ${((performance.now() - started) / 1000).toFixed(1)} s: ${count - failed.length} ok, ${failed.length} failed`);
for (const r of failed) console.log(`  seed ${r.run.seed}: ${r.failure} — replay: ${replayCommand(r.run)}`);
process.exit(failed.length === 0 ? 0 : 1);
