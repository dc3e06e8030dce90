/**
 * `npm run bench`: runs every benchmark, then prints one table and one JSON line per figure.
 * Options: `--requests N` (measured requests per round), `--cpu-prof DIR` (profile the measured servers),
 * `--only TEXT[,TEXT]` (run only the benchmarks whose name contains one of them, e.g. to profile one).
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
import { mcpToolsCall } from './mcp-tools-call.ts';
import { messagesStream } from './messages-stream.ts';
import { pickerCpu } from './picker-cpu.ts';
import { prefixHash } from './prefix-hash.ts';
import { type BenchResult, report } from './report.ts';

const BENCHMARKS: readonly Benchmark[] = [
  extProcCpu,
  extProcStream,
  messagesStream,
  body10mb,
  pickerCpu,
  prefixHash,
  analyticsExperiments,
  analyticsStore,
  mcpSessionId,
  mcpToolsCall,
];

const { values } = parseArgs({
  options: { requests: { type: 'string' }, 'cpu-prof': { type: 'string' }, only: { type: 'string' } },
});
const only = values.only?.split(',').map((term) => term.trim().toLowerCase());
const selected = (b: Benchmark) =>
  only === undefined || only.some((term) => b.name.toLowerCase().includes(term));
const unknown = (only ?? []).filter((term) => !BENCHMARKS.some((b) => b.name.toLowerCase().includes(term)));
if (unknown.length > 0) {
  console.error(
    `--only: no benchmark named ${unknown.join(', ')} (have ${BENCHMARKS.map((b) => b.name).join(', ')})`,
  );
  process.exit(2);
}
const requests = values.requests === undefined ? undefined : Number(values.requests);
if (requests !== undefined && !(Number.isInteger(requests) && requests > 0)) {
  console.error(`--requests must be a positive integer, got ${values.requests}`);
  process.exit(2);
}

const results: BenchResult[] = [];
for (const benchmark of BENCHMARKS) {
  if (!selected(benchmark)) continue;
  console.error(`running ${benchmark.name}…`);
  results.push(...(await benchmark.run({ requests, cpuProfDir: values['cpu-prof'] })));
}
console.log(report(results));
