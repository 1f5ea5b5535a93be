// `bun run simulate [--seed N] [--servers 3] [--windows 200] [--loss 0.05]`: runs the consensus
// simulator with random payments and a lossy network, checks every invariant, prints a summary.
// A failure prints its seed; the same command with that seed replays it exactly.
import { parseArgs } from "node:util";
import { Simulation } from "../src/sim/simulator.ts";
import { createLogger } from "../src/node/log.ts";

const { values } = parseArgs({
  options: {
    seed: { type: "string", default: String(Date.now() % 1_000_000) },
    servers: { type: "string", default: "3" },
    windows: { type: "string", default: "200" },
    loss: { type: "string", default: "0.05" },
    verbose: { type: "boolean", default: false },
  },
});
const seed = Number(values.seed);
const sim = new Simulation({
  seed,
  servers: Number(values.servers),
  lossRate: Number(values.loss),
  ...(values.verbose ? { log: createLogger("text") } : {}),
});
const started = performance.now();
try {
  sim.randomTraffic(Number(values.windows), 10);
  sim.checkSafety();
  // Heal the network and let it settle: everyone must end at the same agreed state.
  sim.dropRules = [];
  Object.assign(sim, { lossRate: 0 });
  sim.runWindows(4);
  sim.checkSafety();
  const c = sim.converged();
  console.log(
    `seed ${seed}: ${values.windows} windows, ${sim.stats.accepted}/${sim.stats.submitted} payments accepted, ` +
      `${sim.stats.dropped}/${sim.stats.messages} messages dropped, ${(performance.now() - started).toFixed(0)} ms`,
  );
  console.log(`rejections: ${JSON.stringify(Object.fromEntries(sim.stats.rejected))}`);
  console.log(c.ok ? "converged: " : "NOT CONVERGED: ", c.detail);
  for (const s of sim.servers) console.log(`server ${s.index}:`, JSON.stringify(s.coordinator.counters));
  process.exit(c.ok ? 0 : 1);
} finally {
  sim.close();
}
