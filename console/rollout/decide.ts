/**
 * The rollout controller's policy, apart from its loop: given a rollout's spec, the candidate's weight
 * now, what the controller remembers of the step, and the experiment statistics of the step's window,
 * what to do next. Plain data in, plain data out.
 *
 * The rule, per step:
 * - **Roll back** at once when a gate is breached with confidence: the lower end of the interval of the
 *   candidate's difference from the baseline lies beyond the gate (the intervals are the experiments'
 *   simultaneous ones, analytics/experiments.ts). Uncertain excess is not yet a breach, so noise in a
 *   small sample does not end a healthy rollout.
 * - **Advance** when the step has lasted `stepDuration`, both variants have `minRequests` requests in it,
 *   and every gate's estimate lies within the gate (a figure short of the minimum sample, minRequests
 *   requests and 30 sessions per variant, waits).
 * - Otherwise **wait**, saying for what.
 */
import type { ExperimentMetric, ExperimentReport, MetricComparison } from '../../analytics/experiments.ts';
import type { RolloutGates, RolloutSpec } from '../../config/manifests.ts';

export type RolloutPhase = 'progressing' | 'completed' | 'rolled-back' | 'paused';

/** What the controller keeps per rollout between ticks. */
export interface StepState {
  /** The candidate's weight, in percent of the two variants' total, when the step began. */
  stage: number;
  /** When the step began (epoch ms): the start of its experiment window. */
  since: number;
  phase: RolloutPhase;
  /** Why it rolled back, once it has. */
  reason?: string;
}

export type RolloutAction =
  | { kind: 'wait'; reason: string }
  | { kind: 'advance'; to: number; reason: string }
  | { kind: 'rollback'; reason: string }
  | { kind: 'complete'; reason: string };

export const DEFAULT_STEP_DURATION_MS = 10 * 60_000;
export const DEFAULT_MIN_REQUESTS = 100;

const GATE_METRICS: readonly (keyof RolloutGates & ExperimentMetric)[] = [
  'errorRate',
  'ttftP90',
  'latencyP90',
  'costPerRequest',
];

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000 };

/** `30s`, `10m`, `1h` (validate.ts checked the form) in milliseconds. */
export function stepDurationMs(spec: RolloutSpec): number {
  const m = /^(\d+)(s|m|h)$/.exec(spec.stepDuration ?? '');
  return m === null ? DEFAULT_STEP_DURATION_MS : Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** The step after `stage`: the first step above it. */
export function nextStep(spec: RolloutSpec, stage: number): number {
  return spec.steps.find((s) => s > stage) ?? 100;
}

/** How a gate reads its comparison: the error rate in percentage points, the others in percent. */
function excess(
  metric: keyof RolloutGates,
  c: MetricComparison,
): { estimate: number | null; low: number | null } {
  if (metric === 'errorRate')
    return {
      estimate: c.difference === null ? null : 100 * c.difference,
      low: c.ci === null ? null : 100 * c.ci.low,
    };
  return { estimate: c.relativePercent, low: c.relativeCi?.low ?? null };
}

const fmt = (metric: keyof RolloutGates, value: number) =>
  metric === 'errorRate'
    ? `${value >= 0 ? '+' : ''}${value.toFixed(2)} pp`
    : `${value >= 0 ? '+' : ''}${value.toFixed(1)}%`;
const limit = (metric: keyof RolloutGates, gate: number) =>
  metric === 'errorRate' ? `${gate} pp` : `${gate}%`;

export interface DecideInput {
  spec: RolloutSpec;
  /** The candidate's weight now, percent of the two variants' total. */
  stage: number;
  state: StepState;
  now: number;
  /** The experiment over the step's window, the candidate compared with the baseline; absent at 0 and 100. */
  report: ExperimentReport | undefined;
  candidate: string;
}

export function decide(input: DecideInput): RolloutAction {
  const { spec, stage, state, now, report, candidate } = input;
  if (spec.paused === true) return { kind: 'wait', reason: `paused at ${stage}%` };
  if (state.phase === 'rolled-back' && stage === 0)
    return { kind: 'wait', reason: `rolled back: ${state.reason ?? 'a gate was breached'}` };
  if (stage >= 100) return { kind: 'complete', reason: `${candidate} takes all traffic` };
  if (stage === 0) return { kind: 'advance', to: nextStep(spec, 0), reason: 'rollout starts' };

  const comparison = report?.comparisons.find((c) => c.routeEntry === candidate);
  const gates = Object.entries(spec.gates).filter(
    (e): e is [keyof RolloutGates, number] =>
      typeof e[1] === 'number' && GATE_METRICS.includes(e[0] as never),
  );
  if (comparison !== undefined) {
    for (const [metric, gate] of gates) {
      const c = comparison.metrics[metric];
      if (c.verdict === 'insufficient_data') continue;
      const { low } = excess(metric, c);
      if (low !== null && low > gate)
        return {
          kind: 'rollback',
          reason: `${metric} of ${candidate} is ${fmt(metric, excess(metric, c).estimate ?? low)} against the baseline (interval from ${fmt(metric, low)}), beyond the gate of ${limit(metric, gate)}`,
        };
    }
  }

  const remainingMs = state.since + stepDurationMs(spec) - now;
  if (remainingMs > 0)
    return { kind: 'wait', reason: `holding ${stage}% for ${Math.ceil(remainingMs / 1000)} s more` };
  const minRequests = spec.minRequests ?? DEFAULT_MIN_REQUESTS;
  const short = (report?.variants ?? []).filter((v) => v.requests < minRequests);
  if (report === undefined || comparison === undefined || short.length > 0 || report.variants.length < 2)
    return {
      kind: 'wait',
      reason: `needs ${minRequests} requests per variant in this step (${(report?.variants ?? []).map((v) => `${v.routeEntry} ${v.requests}`).join(', ') || 'none yet'})`,
    };
  for (const [metric, gate] of gates) {
    const c = comparison.metrics[metric];
    if (c.verdict === 'insufficient_data')
      return {
        kind: 'wait',
        reason: `${metric}: not enough data yet (100 requests and 30 sessions per variant)`,
      };
    const { estimate } = excess(metric, c);
    if (estimate !== null && estimate > gate)
      return {
        kind: 'wait',
        reason: `${metric} ${fmt(metric, estimate)} is beyond the gate of ${limit(metric, gate)}, not yet with confidence`,
      };
  }
  const to = nextStep(spec, stage);
  return {
    kind: 'advance',
    to,
    reason: `gates hold at ${stage}% (${gates
      .map(([m]) => {
        const e = excess(m, comparison.metrics[m]).estimate;
        return `${m} ${e === null ? 'n/a' : fmt(m, e)}`;
      })
      .join(', ')})`,
  };
}
