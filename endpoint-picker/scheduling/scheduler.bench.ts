/**
 * Decision cost over a 100-pod pool: `npx tsx endpoint-picker/scheduling/scheduler.bench.ts`.
 * Prints a table, then one JSON line per figure (`{"bench","value","unit"}`, the project's bench format).
 * Per-scorer figures are a one-scorer profile minus the empty profile (filters + picker only).
 */
import { PRESETS } from './presets.ts';
import { Scheduler } from './scheduler.ts';
import type { PodState, SchedulingRequest } from './types.ts';

const POD_COUNT = 100;
const DECISIONS = 20_000;
const ROUNDS = 5;

const pods: PodState[] = Array.from({ length: POD_COUNT }, (_, i) => ({
  name: `default/vllm-${i}`,
  address: `10.0.${i >> 8}.${i & 255}:8000`,
  labels: {},
  metrics: {
    waitingQueueSize: (i * 7) % 13,
    runningRequests: (i * 5) % 31,
    kvCacheUsage: ((i * 37) % 100) / 100,
    activeLoras: [],
    waitingLoras: [],
    maxLoras: 0,
    updatedAtMs: Date.now(),
  },
  stale: false,
}));

const systemPrompt = 'You are a helpful assistant. '.repeat(40); // ~1.2 KB shared by every request
const requests: SchedulingRequest[] = Array.from({ length: 256 }, (_, i) => ({
  requestId: `r${i}`,
  model: 'llama-3-8b',
  prompt: `${systemPrompt}User ${i % 32} asks question ${i}: ${'lorem ipsum '.repeat(60)}`,
  priority: 0,
  headers: {},
}));

/** Best of ROUNDS, in microseconds per decision. */
function measure(scheduler: Scheduler): number {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < DECISIONS; i++) scheduler.schedule(requests[i & 255]!, pods);
    const micros = Number(process.hrtime.bigint() - start) / 1000 / DECISIONS;
    best = Math.min(best, micros);
  }
  return best;
}

const single = (type: string) =>
  new Scheduler({ profiles: [{ name: 'p', scorers: [{ type }] }] }, { seed: 1 });
const SCORERS = ['queue', 'kv-cache-utilization', 'session-affinity', 'load-aware', 'prefix-cache'];
const PRESET_NAMES = ['ours', 'gie-default', 'least-queue', 'round-robin'] as const;

const cases: [string, Scheduler][] = [
  ['no_scorers', new Scheduler({ profiles: [{ name: 'p' }] }, { seed: 1 })],
  ...SCORERS.map((type): [string, Scheduler] => [`scorer_${type}`, single(type)]),
  ...PRESET_NAMES.map((name): [string, Scheduler] => [name, new Scheduler(PRESETS[name], { seed: 1 })]),
];
for (const [, scheduler] of cases) measure(scheduler); // warm up every path before timing any
const micros = new Map(cases.map(([name, scheduler]) => [name, measure(scheduler)]));
const base = micros.get('no_scorers')!;

const figures: [string, number][] = [['epp_decision_no_scorers_100_pods', base]];
for (const type of SCORERS) {
  figures.push([`epp_scorer_${type}_100_pods`, Math.max(0, micros.get(`scorer_${type}`)! - base)]);
}
for (const name of PRESET_NAMES) figures.push([`epp_decision_${name}_100_pods`, micros.get(name)!]);

const width = Math.max(...figures.map(([name]) => name.length));
for (const [name, value] of figures) console.log(`${name.padEnd(width)}  ${value.toFixed(2).padStart(8)} µs`);
for (const [name, value] of figures) {
  console.log(JSON.stringify({ bench: name, value: Number(value.toFixed(3)), unit: 'us' }));
}
