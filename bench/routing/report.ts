/**
 * The routing benchmark's output: the pool and calibration, one table row per load step and policy, the
 * goal verdicts, then one JSON line per figure in the project's bench format (bench/report.ts). Pure
 * formatting and arithmetic over a finished sweep; printing is the caller's.
 */
import type { PresetName } from '../../endpoint-picker/scheduling/index.ts';
import { type BenchResult, displayValue, jsonLine } from '../report.ts';
import type { LoadStep, PolicyRun, Sweep } from './sweep.ts';

/** The goal, judged at `SweepConfig.goalStep`: ours ÷ theirs for p90 TTFT at most these. */
export const GOAL_RATIO_VS_ROUND_ROBIN = 0.6;
export const GOAL_RATIO_VS_GIE_DEFAULT = 0.85;

export interface GoalVerdict {
  readonly goal: string;
  readonly met: boolean;
  readonly detail: string;
}

function runOf(step: LoadStep, policy: PresetName): PolicyRun {
  const run = step.runs.find((r) => r.policy === policy);
  if (run === undefined) throw new RangeError(`policy ${policy} was not run at ${step.fraction} load`);
  return run;
}

function goalStepOf(sweep: Sweep): LoadStep {
  const step = sweep.steps.find((s) => Math.abs(s.fraction - sweep.config.goalStep) < 1e-9);
  if (step === undefined) throw new RangeError(`no load step at ${sweep.config.goalStep} of saturation`);
  return step;
}

const percent = (fraction: number): string => `${Math.round(fraction * 100)}%`;

/** Ours' throughput over the best other policy's, per step: the goal wants every one >= 1. */
function throughputRatios(sweep: Sweep): { step: LoadStep; ratio: number; best: PolicyRun | undefined }[] {
  return sweep.steps.map((step) => {
    const ours = runOf(step, 'ours').summary.outputTokensPerSec;
    let best: PolicyRun | undefined;
    for (const run of step.runs) {
      if (run.policy === 'ours') continue;
      if (best === undefined || run.summary.outputTokensPerSec > best.summary.outputTokensPerSec) best = run;
    }
    return { step, ratio: best === undefined ? 1 : ours / best.summary.outputTokensPerSec, best };
  });
}

export function verdicts(sweep: Sweep): GoalVerdict[] {
  const step = goalStepOf(sweep);
  const ours = runOf(step, 'ours').summary.ttftP90Ms;
  const vs = (policy: PresetName, limit: number): GoalVerdict => {
    const theirs = runOf(step, policy).summary.ttftP90Ms;
    const ratio = ours / theirs;
    return {
      goal: `p90 TTFT at ${percent(step.fraction)} load: ours / ${policy} <= ${limit}`,
      met: ratio <= limit,
      detail: `${displayValue(ours)} ms / ${displayValue(theirs)} ms = ${ratio.toFixed(3)}`,
    };
  };
  const ratios = throughputRatios(sweep);
  const worst = ratios.reduce((a, b) => (b.ratio < a.ratio ? b : a));
  return [
    vs('round-robin', GOAL_RATIO_VS_ROUND_ROBIN),
    vs('gie-default', GOAL_RATIO_VS_GIE_DEFAULT),
    {
      goal: 'output throughput: ours >= every other policy at every step',
      met: ratios.every((r) => r.ratio >= 1),
      detail:
        worst.ratio === 1
          ? 'equal to the best other policy at every step'
          : `lowest ours / best other = ${worst.ratio.toFixed(4)} ` +
            `(${percent(worst.step.fraction)} load, vs ${worst.best?.policy ?? 'none'})`,
    },
  ];
}

/** The JSON-line figures. Ratios are ours ÷ theirs at the goal step (`x`: lower is better for ours). */
export function figures(sweep: Sweep): BenchResult[] {
  const step = goalStepOf(sweep);
  const ours = runOf(step, 'ours').summary;
  const rr = runOf(step, 'round-robin').summary;
  const gie = runOf(step, 'gie-default').summary;
  const worst = Math.min(...throughputRatios(sweep).map((r) => r.ratio));
  return [
    { name: 'routing.p90-ttft-vs-round-robin', value: ours.ttftP90Ms / rr.ttftP90Ms, unit: 'x' },
    { name: 'routing.p90-ttft-vs-gie-default', value: ours.ttftP90Ms / gie.ttftP90Ms, unit: 'x' },
    { name: 'routing.p90-ttft-ours-ms', value: ours.ttftP90Ms, unit: 'ms' },
    { name: 'routing.p90-ttft-round-robin-ms', value: rr.ttftP90Ms, unit: 'ms' },
    { name: 'routing.p90-ttft-gie-default-ms', value: gie.ttftP90Ms, unit: 'ms' },
    { name: 'routing.p50-ttft-ours-ms', value: ours.ttftP50Ms, unit: 'ms' },
    { name: 'routing.p90-e2e-ours-ms', value: ours.e2eP90Ms, unit: 'ms' },
    { name: 'routing.prefix-hit-rate-ours', value: ours.prefixHitRate, unit: 'ratio' },
    { name: 'routing.prefix-hit-rate-gie-default', value: gie.prefixHitRate, unit: 'ratio' },
    { name: 'routing.throughput-ours-vs-best-other-min', value: worst, unit: 'x' },
    { name: 'routing.saturation-rps', value: sweep.calibration.saturationRps, unit: 'req/s' },
  ];
}

function tableOf(sweep: Sweep): string {
  const header = [
    'load',
    'req/s in',
    'policy',
    'TTFT p50 ms',
    'TTFT p90 ms',
    'E2E p90 ms',
    'done req/s',
    'out tok/s',
    'unfinished',
    'prefix hit',
    'preempt',
  ];
  const rows: string[][] = [];
  for (const step of sweep.steps) {
    for (const { policy, summary: s } of step.runs) {
      rows.push([
        percent(step.fraction),
        step.ratePerSec.toFixed(2),
        policy,
        displayValue(s.ttftP50Ms),
        displayValue(s.ttftP90Ms),
        displayValue(s.e2eP90Ms),
        s.requestsPerSec.toFixed(2),
        Math.round(s.outputTokensPerSec).toString(),
        s.unfinished.toString(),
        `${(s.prefixHitRate * 100).toFixed(1)}%`,
        s.preemptions.toString(),
      ]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const left = new Set([0, 2]);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (left.has(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const lines = [line(header), widths.map((w) => '-'.repeat(w)).join('  ')];
  rows.forEach((row, i) => {
    if (i > 0 && row[0] !== rows[i - 1]![0]) lines.push('');
    lines.push(line(row));
  });
  return lines.join('\n');
}

function describePool(sweep: Sweep): string {
  const { config, pods, calibration } = sweep;
  const w = config.workload;
  const notes = pods.filter((pod) => pod.note !== 'default').map((pod) => `${pod.name} ${pod.note}`);
  const probes = calibration.probes.map(
    (p) =>
      `${p.ratePerSec.toFixed(2)} req/s ${p.growing ? 'grows' : 'stable'} ` +
      `(p90 TTFT ${displayValue(p.earlyP90Ms)} -> ${displayValue(p.lateP90Ms)} ms)`,
  );
  return [
    `routing benchmark (virtual time, seed ${config.seed})`,
    `workload: ${w.systemPrompts} system prompts of ${w.systemPromptTokens.min}-${w.systemPromptTokens.max} ` +
      `tokens, ${w.activeConversations} conversations of ${w.turns.min}-${w.turns.max} turns in progress, ` +
      `${w.requests} Poisson arrivals per run (the first ${w.warmupRequests} warm up the caches)`,
    `pool: ${pods.length} pods, fleet-default engines${notes.length > 0 ? ` except ${notes.join(', ')}` : ''}`,
    `saturation search (round-robin; p90 TTFT of the 2nd -> last quarter of measured requests):`,
    ...probes.map((line) => `  ${line}`),
    `saturation: ${calibration.saturationRps.toFixed(2)} req/s, where round-robin's queue starts to grow ` +
      'without bound',
    `throughput: measured requests (and their output tokens) completed by ${config.drainSeconds} s after ` +
      'the last arrival, per second of the measured arrival window',
  ].join('\n');
}

/** The whole report: pool and calibration, table, goal verdicts, JSON lines. */
export function routingReport(sweep: Sweep): string {
  const goals = verdicts(sweep).map((v) => `${v.met ? 'met    ' : 'NOT met'}  ${v.goal}: ${v.detail}`);
  return [describePool(sweep), '', tableOf(sweep), '', ...goals, '', ...figures(sweep).map(jsonLine)].join(
    '\n',
  );
}
