/**
 * `npm run bench:routing`: the endpoint picker's routing quality on a simulated vLLM pool, in virtual time
 * (bench/routing/). Prints the pool and its calibration, one row per load step and policy, the goal
 * verdicts, then one JSON line per figure. Deterministic for a seed.
 * Options: `--seed N` (default 1), `--full` (more requests per run and more load steps).
 */
import { parseArgs } from 'node:util';
import { routingReport } from './routing/report.ts';
import { defaultSweepConfig, runSweep } from './routing/sweep.ts';

const { values } = parseArgs({
  options: { seed: { type: 'string' }, full: { type: 'boolean', default: false } },
});
const seed = values.seed === undefined ? 1 : Number(values.seed);
if (!Number.isInteger(seed)) {
  console.error(`--seed must be an integer, got ${values.seed}`);
  process.exit(2);
}

const started = performance.now();
const sweep = runSweep(defaultSweepConfig(seed, values.full), (line) => console.error(line));
console.error(`simulated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
console.log(routingReport(sweep));
