/**
 * `npm run bench`: runs every benchmark, then prints one table and one JSON line per figure.
 * Options: `--requests N` (measured requests per round), `--cpu-prof DIR` (profile the measured servers).
 * A new benchmark is a module exporting a `Benchmark` plus one line in BENCHMARKS.
 */
import { parseArgs } from 'node:util';
import { analyticsExperiments } from './analytics-experiments.ts';
import { analyticsStore } from './analytics-store.ts';
import type { Benchmark } from './benchmark.ts';
import { body10mb } from './body-10mb.ts';
import { extProcCpu } from './ext-proc-cpu.ts';
import { extProcStream } from './ext-proc-stream.ts';
import { mcpSessionId } from './mcp-session-id.ts';
import { pickerCpu } from './picker-cpu.ts';
import { prefixHash } from './prefix-hash.ts';
import { type BenchResult, report } from './report.ts';

const BENCHMARKS: readonly Benchmark[] = [
  extProcCpu,
  extProcStream,
  body10mb,
  pickerCpu,
  prefixHash,
  analyticsExperiments,
  analyticsStore,
  mcpSessionId,
];

const { values } = parseArgs({
  options: { requests: { type: 'string' }, 'cpu-prof': { type: 'string' } },
});
const requests = values.requests === undefined ? undefined : Number(values.requests);
if (requests !== undefined && !(Number.isInteger(requests) && requests > 0)) {
  console.error(`--requests must be a positive integer, got ${values.requests}`);
  process.exit(2);
}

const results: BenchResult[] = [];
for (const benchmark of BENCHMARKS) {
  console.error(`running ${benchmark.name}…`);
  results.push(...(await benchmark.run({ requests, cpuProfDir: values['cpu-prof'] })));
}
console.log(report(results));
