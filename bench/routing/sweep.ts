/**
 * The routing benchmark's plan: calibrate the pool's saturation rate, then run every policy at each load
 * step (a fraction of that rate) on the same traffic. Every run is an independent simulation with fresh
 * engines and a fresh scheduler, so nothing carries over between policies or steps.
 */
import { PRESETS, type PresetName, Scheduler } from '../../endpoint-picker/scheduling/index.ts';
import { inferencePool, type PodSpec } from './pool.ts';
import { simulate } from './simulate.ts';
import { percentile, type RunSummary, summarize } from './summary.ts';
import { generateWorkload, type Workload, type WorkloadConfig } from './workload.ts';

export interface SweepConfig {
  readonly seed: number;
  readonly podCount: number;
  readonly heterogeneous: boolean;
  readonly model: string;
  readonly policies: readonly PresetName[];
  /** Fractions of the saturation rate. */
  readonly loadSteps: readonly number[];
  /** The step the goal is judged at. */
  readonly goalStep: number;
  /** The workload at every step; `ratePerSec` is set per step. */
  readonly workload: Omit<WorkloadConfig, 'seed' | 'ratePerSec'>;
  /** Halvings of the bracket around the saturation rate once one is found. */
  readonly calibrationRounds: number;
  /** Virtual seconds after the last arrival that count towards throughput (a load test's graceful stop). */
  readonly drainSeconds: number;
}

/** One round-robin run of the saturation search. */
export interface Probe {
  readonly ratePerSec: number;
  /** p90 TTFT of the second and of the last quarter of the measured requests, in arrival order. */
  readonly earlyP90Ms: number;
  readonly lateP90Ms: number;
  readonly growing: boolean;
}

export interface Calibration {
  /** In the order they ran. */
  readonly probes: readonly Probe[];
  /** Between the highest rate found stable and the lowest found growing. */
  readonly saturationRps: number;
}

export interface PolicyRun {
  readonly policy: PresetName;
  readonly summary: RunSummary;
}

export interface LoadStep {
  readonly fraction: number;
  readonly ratePerSec: number;
  readonly runs: readonly PolicyRun[];
}

export interface Sweep {
  readonly config: SweepConfig;
  readonly pods: readonly PodSpec[];
  readonly calibration: Calibration;
  readonly steps: readonly LoadStep[];
}

export const DEFAULT_POLICIES: readonly PresetName[] = [
  'round-robin',
  'random',
  'least-queue',
  'gie-default',
  'ours',
];

/**
 * 8 pods, 6 system prompts of 2k–6k tokens, 256 conversations of 3–8 turns (about 4.9k prompt tokens per
 * request on average, ~90% of them a prefix some earlier request had), load at 20–100% of saturation.
 */
export function defaultSweepConfig(seed: number, full: boolean): SweepConfig {
  const conversations = 256;
  return {
    seed,
    podCount: 8,
    heterogeneous: true,
    model: 'llama-3.1-8b-instruct',
    policies: DEFAULT_POLICIES,
    loadSteps: full ? [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1] : [0.2, 0.4, 0.6, 0.8, 1],
    goalStep: 0.8,
    workload: {
      systemPrompts: 6,
      systemPromptTokens: { min: 2000, max: 6000 },
      activeConversations: conversations,
      turns: { min: 3, max: 8 },
      userTokens: { min: 40, max: 400 },
      answerTokens: { min: 80, max: 400 },
      warmupRequests: conversations,
      requests: conversations * (full ? 13 : 5),
    },
    calibrationRounds: 4,
    drainSeconds: 30,
  };
}

/** `workload` with its arrivals rescaled to `ratePerSec` (exponential gaps scale with 1 / rate). */
function atRate(workload: Workload, ratePerSec: number): Workload {
  const scale = workload.config.ratePerSec / ratePerSec;
  return {
    config: { ...workload.config, ratePerSec },
    systemPrompts: workload.systemPrompts,
    requests: workload.requests.map((r) => ({ ...r, arrivalMs: r.arrivalMs * scale })),
  };
}

function run(config: SweepConfig, pods: readonly PodSpec[], policy: PresetName, workload: Workload) {
  const scheduler = new Scheduler(PRESETS[policy], { seed: config.seed });
  return simulate({ pods, scheduler, requests: workload.requests, model: config.model });
}

function p90Of(values: number[]): number {
  values.sort((a, b) => a - b);
  return percentile(values, 90);
}

/**
 * Whether round-robin's queue keeps growing at this rate: the p90 TTFT of the last quarter of the measured
 * requests is above that of the second quarter (the first may still carry the warm-up's backlog) and above
 * three times the light-load p90, so ordinary jitter at a stable rate does not count.
 */
function probe(
  config: SweepConfig,
  pods: readonly PodSpec[],
  workload: Workload,
  ratePerSec: number,
  lightP90Ms: number,
): Probe {
  const result = run(config, pods, 'round-robin', atRate(workload, ratePerSec));
  const ttft = result.outcomes
    .filter((o) => o.request.measured)
    .map((o) => o.firstTokenMs - o.request.arrivalMs);
  const quarter = Math.floor(ttft.length / 4);
  const earlyP90Ms = p90Of(ttft.slice(quarter, 2 * quarter));
  const lateP90Ms = p90Of(ttft.slice(ttft.length - quarter));
  const growing = lateP90Ms > earlyP90Ms && lateP90Ms > 3 * lightP90Ms;
  return { ratePerSec, earlyP90Ms, lateP90Ms, growing };
}

/**
 * The pool's saturation rate for this workload: the arrival rate above which round-robin's queue grows
 * without bound. Round-robin gives every pod the same rate, so that is the slowest pod's capacity times the
 * pod count. Found by search — starting at 1 req/s per pod (whose p90 is the light-load reference),
 * doubling until the queue grows, then halving the bracket `calibrationRounds` times — rather than by
 * measuring completions under heavy overload, where preemptions and recomputed prefills make a vLLM-like
 * engine serve markedly less than it can at the edge of saturation.
 */
export function calibrate(config: SweepConfig, pods: readonly PodSpec[], workload: Workload): Calibration {
  const probes: Probe[] = [];
  const light = probe(config, pods, workload, pods.length, Number.POSITIVE_INFINITY);
  probes.push(light);
  const lightP90Ms = light.lateP90Ms;
  let stable = light.ratePerSec;
  let growing = Number.POSITIVE_INFINITY;
  for (let rate = 2 * stable; growing === Number.POSITIVE_INFINITY; rate *= 2) {
    const next = probe(config, pods, workload, rate, lightP90Ms);
    probes.push(next);
    if (next.growing) growing = rate;
    else stable = rate;
    if (rate > 1e6) throw new Error('round-robin never saturated the pool');
  }
  for (let round = 0; round < config.calibrationRounds; round++) {
    const next = probe(config, pods, workload, (stable + growing) / 2, lightP90Ms);
    probes.push(next);
    if (next.growing) growing = next.ratePerSec;
    else stable = next.ratePerSec;
  }
  return { probes, saturationRps: (stable + growing) / 2 };
}

export function runSweep(config: SweepConfig, onProgress: (line: string) => void = () => {}): Sweep {
  const pods = inferencePool(config.podCount, config.heterogeneous);
  const workload = generateWorkload({ ...config.workload, seed: config.seed, ratePerSec: 1 });
  const calibration = calibrate(config, pods, workload);
  onProgress(
    `saturation ${calibration.saturationRps.toFixed(2)} req/s (${calibration.probes.length} probes)`,
  );
  const steps: LoadStep[] = config.loadSteps.map((fraction) => {
    const ratePerSec = fraction * calibration.saturationRps;
    const traffic = atRate(workload, ratePerSec);
    const runs = config.policies.map((policy) => ({
      policy,
      summary: summarize(run(config, pods, policy, traffic), config.drainSeconds),
    }));
    onProgress(`load ${Math.round(fraction * 100)}% (${ratePerSec.toFixed(2)} req/s) done`);
    return { fraction, ratePerSec, runs };
  });
  return { config, pods, calibration, steps };
}
