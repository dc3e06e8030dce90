/**
 * What the experiments statistics cost (analytics/experiments.ts): one analysis of 20,000 requests of a
 * 50/50 sticky split in 2,000 sessions (about 10 requests each), with the default 2,000 bootstrap
 * resamples, from the raw rows to the report. In-process: CPU time via process.cpuUsage, cheapest of
 * ROUNDS after warm-up rounds, so other work on the machine inflates it as little as possible; the median
 * wall time goes to stderr beside it. Also on stderr, the worst case for the same request count: no
 * sessions at all, so every request is its own resampled unit (20,000 clusters instead of 2,000).
 *
 * `tsx bench/analytics-experiments.ts` prints the JSON line on its own; `analyticsExperiments` is the
 * `Benchmark` for bench/run.ts.
 */
import { pathToFileURL } from 'node:url';
import {
  analyzeExperiment,
  type ExperimentSample,
  type ExperimentVariant,
} from '../analytics/experiments.ts';
import { Random } from '../analytics/random.ts';
import type { Benchmark } from './benchmark.ts';
import { type BenchResult, jsonLine } from './report.ts';

const REQUESTS = 20_000;
const SESSIONS = 2_000;
const WARMUP = 2;
const ROUNDS = 7;

const VARIANTS: ExperimentVariant[] = [
  { routeEntry: 'default/chat/v1', resolvedModel: 'chat-v1', weight: 50 },
  { routeEntry: 'default/chat/v2', resolvedModel: 'chat-v2', weight: 50 },
];

function normal(random: Random): number {
  return Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
}

/** Lognormal TTFT and decode time with a per-session effect, 2% errors, v2 10% slower to first token. */
export function workload(requests: number, sessions: number, seed = 7): ExperimentSample[] {
  const random = new Random(seed);
  const session = Array.from({ length: sessions }, () => ({
    variant: random.below(2),
    effect: 0.3 * normal(random),
  }));
  const samples: ExperimentSample[] = [];
  for (let i = 0; i < requests; i++) {
    const s = sessions > 0 ? random.below(sessions) : -1;
    const variant = s >= 0 ? session[s]!.variant : random.below(2);
    const effect = s >= 0 ? session[s]!.effect : 0.3 * normal(random);
    const ttftMs = (variant === 1 ? 1.1 : 1) * 400 * Math.exp(effect + 0.5 * normal(random));
    const completion = 50 + random.below(300);
    const failed = random.next() < 0.02;
    const sample: ExperimentSample = {
      routeEntry: VARIANTS[variant]!.routeEntry,
      resolvedModel: VARIANTS[variant]!.resolvedModel,
      status: failed ? 503 : 200,
      latencyMs: failed ? 5 : ttftMs + completion * 20 * Math.exp(effect + 0.2 * normal(random)),
    };
    if (s >= 0) sample.sessionHash = `session-${s}`;
    if (!failed) {
      sample.ttftMs = ttftMs;
      sample.tokens = 600 + completion;
      sample.costUsd = (600 * 0.15 + completion * 0.6) / 1e6;
    }
    samples.push(sample);
  }
  return samples;
}

/** Cheapest CPU milliseconds and median wall milliseconds of one analysis of `samples`. */
function measure(samples: readonly ExperimentSample[]): { cpuMs: number; wallMs: number } {
  for (let i = 0; i < WARMUP; i++) analyzeExperiment(VARIANTS, samples);
  let cpuMs = Number.POSITIVE_INFINITY;
  const walls: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const cpu = process.cpuUsage();
    const start = performance.now();
    analyzeExperiment(VARIANTS, samples);
    walls.push(performance.now() - start);
    const used = process.cpuUsage(cpu);
    cpuMs = Math.min(cpuMs, (used.user + used.system) / 1000);
  }
  walls.sort((a, b) => a - b);
  return { cpuMs, wallMs: walls[Math.floor(ROUNDS / 2)]! };
}

async function run(): Promise<BenchResult[]> {
  const sticky = measure(workload(REQUESTS, SESSIONS));
  const sessionless = measure(workload(REQUESTS, 0));
  console.error(
    `experiments statistics over ${REQUESTS} requests: ${sticky.cpuMs.toFixed(0)} ms CPU (median wall ` +
      `${sticky.wallMs.toFixed(0)} ms) in ${SESSIONS} sessions; without sessions (${REQUESTS} resampled ` +
      `units) ${sessionless.cpuMs.toFixed(0)} ms CPU (median wall ${sessionless.wallMs.toFixed(0)} ms)`,
  );
  return [{ name: 'analytics.experiments.20k-requests.ms', value: Math.round(sticky.cpuMs), unit: 'ms' }];
}

export const analyticsExperiments: Benchmark = { name: 'analytics experiments statistics', run };

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const result of await run()) console.log(jsonLine(result));
}
