/**
 * Experiments: is a variant of a weighted split better or worse than its baseline? A pure function from
 * plain rows to a plain report; the store supplies the rows, the console serves the report.
 *
 * ## How a variant is judged
 *
 * **Who is compared.** The variants are the route entries of one logical model's weighted split. A request
 * belongs to the entry the split chose for it (`routeEntry`), whatever model finally answered after a
 * fallback: the entry is what was randomised, so this is an intention-to-treat comparison and fallbacks do
 * not move requests between arms. Only split-decided requests (decision `sticky-split` or
 * `weighted-split`) belong in an experiment; policy-routed requests were not randomised. The baseline is
 * the variant marked `baseline`, else the one with the heaviest weight (the first of equals).
 *
 * **Figures per variant.** Requests; sessions (distinct session hashes); error rate; TTFT p50 and p90;
 * latency p50 and p90; tokens per request; cost per request.
 * - An *error* is a request that got no answer (status 0), a status ≥ 400, or an error code. Client errors
 *   (4xx) count: the split assigns requests at random, so a client's own mistakes fall on both arms alike
 *   and cancel out of the difference, while a 4xx peculiar to one arm (a model that rejects a parameter,
 *   a smaller context window, a provider's 429) is a real difference between the variants.
 * - A *cancelled* request (status 499: the client went away first) is counted as a request but is not an
 *   error of the variant. Its latency is left out (it measures the client's patience, not the variant);
 *   its TTFT is kept when the first byte had arrived. Cancellations are reported per variant. Today a
 *   stream the upstream broke also ends as 499 (ext-proc/router-phase.ts), so it is not counted either.
 * - TTFT and latency are taken over requests that did not fail, so a variant that fails fast does not
 *   look fast. Quantiles are the smallest value with at least p of the requests at or below it
 *   (Hyndman & Fan type 1).
 * - Tokens and cost per request are means over the requests that report them.
 *
 * **The unit is the session.** With sticky sessions the split chooses once per session, not per request:
 * every request of a session shares its variant and much else (user, prompts, conversation length), so
 * its requests are not independent draws. Treating 2,000 requests from 20 sessions as 2,000 independent
 * observations would make intervals far too narrow. The session is therefore the resampled unit; a
 * request without a session is its own unit.
 *
 * **Intervals: a cluster bootstrap.** Each variant's sessions are resampled with replacement (as many as
 * it has, independently per variant), 2,000 times. In each resample every figure is recomputed from the
 * pooled requests of the drawn sessions: rates and means as ratio estimators (Σ errors / Σ requests over
 * the drawn sessions, so a long session weighs by its number of requests), quantiles over the drawn
 * sessions' requests (exactly, not from a histogram). The confidence interval of a difference
 * (variant − baseline) is the percentile interval of the 2,000 resampled differences; the interval of
 * the relative difference is the same for (variant − baseline) / baseline.
 *
 * **Verdicts.** Every figure compared is lower-is-better. `better` when the whole interval of
 * (variant − baseline) lies below 0, `worse` when it lies above 0, otherwise `inconclusive`.
 * `insufficient_data` when either variant has fewer than 100 requests carrying the figure or fewer than
 * 30 sessions carrying it, which includes a figure with no data at all (no TTFT recorded). With few
 * clusters, cluster-resampling intervals are too narrow (Cameron, Gelbach & Miller 2008, "Bootstrap-based
 * improvements for inference with clustered errors", Rev. Econ. Stat. 90(3)); in our simulations
 * (lognormal TTFT with a per-session effect, two identical variants) per-figure 95% intervals covered
 * 91–94% of the time with 10 sessions a variant and 93–96% from 30 on. Below 100 requests a p90 rests on
 * fewer than 10 requests above it. The error rate's interval is the least accurate when errors are few
 * (about 93% coverage with 3 errors a variant). Intervals are still reported under `insufficient_data`,
 * for reading, not for deciding.
 *
 * **Seven figures, one error budget.** A comparison makes up to seven claims at once. With seven separate
 * 95% intervals, two identical variants (an A/A test) show some `better` or `worse` by chance in about a
 * quarter of comparisons (22–25% in our simulations). So by default the intervals of one comparison are
 * simultaneous 95% intervals (Bonferroni): with m figures that have data on both sides, each interval has
 * level 1 − 0.05/m (99.3% for all seven), and an A/A comparison gives no verdict other than
 * `inconclusive` about 95% of the time (948–967 of 1,000 simulated A/A comparisons; each single figure
 * 99%). The answer states the level used (`level`). With `correction: "none"` each interval is a plain
 * per-figure 95% interval: more power, but read one figure at a time. Each variant's comparison with the
 * baseline is corrected on its own, not across variants. 2,000 resamples leave about 7 resampled
 * differences beyond each end of a 99.3% interval, which puts the ends within about ±5% of the
 * half-width of where unlimited resampling would put them.

 * **Reproducible.** Resampling uses a seeded generator (sfc32); each variant's stream derives from the
 * seed and its route entry. The same rows and seed give the same answer on every replica.
 *
 * **Caveats.** When weights changed inside the window (a canary going 5 → 20 → 50), the arms cover the
 * periods in different proportions and a drift over time shows as a difference: choose a window with
 * constant weights (`since`). A session that a weight change moved to the other arm appears in both and
 * is treated as two independent sessions.
 */
import {
  bootstrapSteps,
  type ClusterData,
  type Interval,
  percentileInterval,
  pointEstimates,
  runToEnd,
  sortObservations,
} from './bootstrap.ts';
import { deriveSeed, Random } from './random.ts';

/** One route entry of a logical model's weighted split. */
export interface ExperimentVariant {
  routeEntry: string;
  resolvedModel: string;
  weight: number;
  /** Marked as the baseline in the RouteConfig. */
  baseline?: boolean;
}

/** One request, as the store keeps it (analytics/record.ts RequestRecord). */
export interface ExperimentSample {
  routeEntry: string;
  resolvedModel: string;
  /** Requests without one are each their own cluster. */
  sessionHash?: string;
  status: number;
  errorCode?: string;
  latencyMs: number;
  ttftMs?: number;
  /** Total tokens (prompt + completion). */
  tokens?: number;
  costUsd?: number;
}

export interface ExperimentOptions {
  /** Bootstrap resamples per variant; default 2000. */
  resamples?: number;
  /** Seed of the resampling; default 1. */
  seed?: number;
  /** Confidence of a comparison's intervals; default 0.95. */
  confidence?: number;
  /** `bonferroni` (default): simultaneous intervals over a comparison's figures; `none`: per figure. */
  correction?: 'bonferroni' | 'none';
  /** Per variant and figure, the fewest requests carrying the figure for a verdict; default 100. */
  minRequests?: number;
  /** Per variant and figure, the fewest sessions carrying the figure for a verdict; default 30. */
  minSessions?: number;
}

export const EXPERIMENT_DEFAULTS: Readonly<Required<ExperimentOptions>> = {
  resamples: 2000,
  seed: 1,
  confidence: 0.95,
  correction: 'bonferroni',
  minRequests: 100,
  minSessions: 30,
};

/** The compared figures, all lower-is-better. */
export const EXPERIMENT_METRICS = [
  'errorRate',
  'ttftP50',
  'ttftP90',
  'latencyP50',
  'latencyP90',
  'tokensPerRequest',
  'costPerRequest',
] as const;
export type ExperimentMetric = (typeof EXPERIMENT_METRICS)[number];

export type Verdict = 'better' | 'worse' | 'inconclusive' | 'insufficient_data';

export interface VariantFigures extends Record<ExperimentMetric, number | null> {
  routeEntry: string;
  resolvedModel: string;
  weight: number;
  baseline: boolean;
  requests: number;
  /** Distinct session hashes. */
  sessions: number;
  /** Requests without a session (each its own resampled unit). */
  sessionlessRequests: number;
  errors: number;
  cancelled: number;
}

export interface MetricComparison {
  variant: number | null;
  baseline: number | null;
  /** variant − baseline. */
  difference: number | null;
  /** 100 · (variant − baseline) / baseline; null when the baseline is 0. */
  relativePercent: number | null;
  /** Interval of `difference` at the comparison's `level`. */
  ci: Interval | null;
  /** Interval of `relativePercent`; null when a resampled baseline is 0. */
  relativeCi: Interval | null;
  verdict: Verdict;
}

export interface VariantComparison {
  routeEntry: string;
  resolvedModel: string;
  /** The baseline's route entry. */
  baseline: string;
  /** The level of each interval below (after the correction). */
  level: number;
  metrics: Record<ExperimentMetric, MetricComparison>;
}

export interface ExperimentReport {
  /** The baseline's route entry. */
  baseline: string;
  variants: VariantFigures[];
  comparisons: VariantComparison[];
  /** Samples whose route entry is none of the variants'; left out. */
  unassignedRequests: number;
  method: Required<ExperimentOptions>;
}

/** The client went away before the answer completed (nginx's "client closed request"). */
export function isCancelled(sample: ExperimentSample): boolean {
  return sample.status === 499;
}

export function isError(sample: ExperimentSample): boolean {
  if (isCancelled(sample)) return false;
  return sample.status === 0 || sample.status >= 400 || sample.errorCode !== undefined;
}

/** Index of the baseline: the variant marked so, else the heaviest weight, the first of equals. */
export function baselineIndex(variants: readonly ExperimentVariant[]): number {
  const marked = variants.findIndex((v) => v.baseline === true);
  if (marked >= 0) return marked;
  let best = 0;
  for (let i = 1; i < variants.length; i++) if (variants[i]!.weight > variants[best]!.weight) best = i;
  return best;
}

// Columns of ClusterData, per session.
const REQUESTS = 0;
const ERRORS = 1;
const TTFT_COUNT = 2;
const LATENCY_COUNT = 3;
const TOKENS_COUNT = 4;
const TOKENS_SUM = 5;
const COST_COUNT = 6;
const COST_SUM = 7;
const WIDTH = 8;

const RATIOS = [
  { numerator: ERRORS, denominator: REQUESTS },
  { numerator: TOKENS_SUM, denominator: TOKENS_COUNT },
  { numerator: COST_SUM, denominator: COST_COUNT },
];
const QUANTILES = [0.5, 0.9];

/** Each figure's statistic (ratios first, then TTFT and latency quantiles) and the column counting its data. */
const METRIC_SOURCE: Record<ExperimentMetric, { statistic: number; count: number }> = {
  errorRate: { statistic: 0, count: REQUESTS },
  tokensPerRequest: { statistic: 1, count: TOKENS_COUNT },
  costPerRequest: { statistic: 2, count: COST_COUNT },
  ttftP50: { statistic: 3, count: TTFT_COUNT },
  ttftP90: { statistic: 4, count: TTFT_COUNT },
  latencyP50: { statistic: 5, count: LATENCY_COUNT },
  latencyP90: { statistic: 6, count: LATENCY_COUNT },
};

interface VariantSample {
  figures: VariantFigures;
  data: ClusterData;
  /** Per column: data points, and sessions with at least one. */
  observations: Float64Array;
  clustersWith: Float64Array;
}

function measured(x: number | undefined): x is number {
  return x !== undefined && Number.isFinite(x) && x >= 0;
}

function collect(variant: ExperimentVariant, baseline: boolean, samples: readonly ExperimentSample[]) {
  const clusterBySession = new Map<string, number>();
  const columns = Array.from({ length: WIDTH }, () => new Float64Array(samples.length));
  const ttftValues: number[] = [];
  const ttftClusters: number[] = [];
  const latencyValues: number[] = [];
  const latencyClusters: number[] = [];
  let clusters = 0;
  let sessionless = 0;
  let errors = 0;
  let cancelled = 0;
  for (const s of samples) {
    let c: number;
    if (s.sessionHash === undefined) {
      c = clusters++;
      sessionless++;
    } else {
      const known = clusterBySession.get(s.sessionHash);
      if (known === undefined) {
        c = clusters++;
        clusterBySession.set(s.sessionHash, c);
      } else c = known;
    }
    const error = isError(s);
    const cancel = isCancelled(s);
    columns[REQUESTS]![c]!++;
    if (error) {
      columns[ERRORS]![c]!++;
      errors++;
    }
    if (cancel) cancelled++;
    if (!error && measured(s.ttftMs)) {
      columns[TTFT_COUNT]![c]!++;
      ttftValues.push(s.ttftMs);
      ttftClusters.push(c);
    }
    if (!error && !cancel && measured(s.latencyMs)) {
      columns[LATENCY_COUNT]![c]!++;
      latencyValues.push(s.latencyMs);
      latencyClusters.push(c);
    }
    if (measured(s.tokens)) {
      columns[TOKENS_COUNT]![c]!++;
      columns[TOKENS_SUM]![c]! += s.tokens;
    }
    if (measured(s.costUsd)) {
      columns[COST_COUNT]![c]!++;
      columns[COST_SUM]![c]! += s.costUsd;
    }
  }
  const data: ClusterData = {
    clusters,
    columns: columns.map((column) => column.slice(0, clusters)),
    ratios: RATIOS,
    quantiles: [
      { count: TTFT_COUNT, ...sortObservations(ttftValues, ttftClusters), probabilities: QUANTILES },
      { count: LATENCY_COUNT, ...sortObservations(latencyValues, latencyClusters), probabilities: QUANTILES },
    ],
  };
  const observations = new Float64Array(WIDTH);
  const clustersWith = new Float64Array(WIDTH);
  data.columns.forEach((column, j) => {
    for (const v of column) {
      observations[j]! += v;
      if (v > 0) clustersWith[j]!++;
    }
  });
  const estimates = pointEstimates(data);
  const figures = {
    routeEntry: variant.routeEntry,
    resolvedModel: variant.resolvedModel,
    weight: variant.weight,
    baseline,
    requests: samples.length,
    sessions: clusterBySession.size,
    sessionlessRequests: sessionless,
    errors,
    cancelled,
  } as VariantFigures;
  for (const metric of EXPERIMENT_METRICS)
    figures[metric] = finiteOrNull(estimates[METRIC_SOURCE[metric].statistic]!);
  return { figures, data, observations, clustersWith } satisfies VariantSample;
}

function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function checkOptions(o: Required<ExperimentOptions>): void {
  if (!(Number.isInteger(o.resamples) && o.resamples >= 1))
    throw new RangeError(`experiments: resamples must be a positive integer, got ${o.resamples}`);
  if (!(o.confidence > 0 && o.confidence < 1))
    throw new RangeError(`experiments: confidence must lie in (0, 1), got ${o.confidence}`);
  if (!Number.isInteger(o.seed)) throw new RangeError(`experiments: seed must be an integer, got ${o.seed}`);
  if (o.correction !== 'bonferroni' && o.correction !== 'none')
    throw new RangeError(`experiments: correction must be "bonferroni" or "none", got ${o.correction}`);
  if (!(o.minRequests >= 0 && o.minSessions >= 0))
    throw new RangeError('experiments: minRequests and minSessions must be ≥ 0');
}

/**
 * The figures of every variant and the comparison of each non-baseline variant with the baseline.
 * Throws a RangeError for no variants, two variants with one route entry, or invalid options.
 */
export function analyzeExperiment(
  variants: readonly ExperimentVariant[],
  samples: readonly ExperimentSample[],
  options: ExperimentOptions = {},
): ExperimentReport {
  return runToEnd(experimentSteps(variants, samples, options));
}

/**
 * analyzeExperiment as steps (bootstrap.ts bootstrapSteps), for a caller that shares its event loop:
 * `runCooperatively(experimentSteps(…))` (cooperative.ts). Same report, whatever the slicing.
 */
export function* experimentSteps(
  variants: readonly ExperimentVariant[],
  samples: readonly ExperimentSample[],
  options: ExperimentOptions = {},
): Generator<void, ExperimentReport, void> {
  const method: Required<ExperimentOptions> = { ...EXPERIMENT_DEFAULTS, ...options };
  checkOptions(method);
  if (variants.length === 0) throw new RangeError('experiments: no variants');
  const byEntry = new Map<string, number>();
  variants.forEach((v, i) => {
    if (byEntry.has(v.routeEntry))
      throw new RangeError(`experiments: route entry ${v.routeEntry} named twice`);
    byEntry.set(v.routeEntry, i);
  });
  const grouped: ExperimentSample[][] = variants.map(() => []);
  let unassigned = 0;
  for (const s of samples) {
    const i = byEntry.get(s.routeEntry);
    if (i === undefined) unassigned++;
    else grouped[i]!.push(s);
  }

  const base = baselineIndex(variants);
  const prepared = variants.map((v, i) => collect(v, i === base, grouped[i]!));
  const replicates: Float64Array[][] = [];
  for (let i = 0; i < prepared.length; i++) {
    const random = new Random(deriveSeed(method.seed, variants[i]!.routeEntry));
    replicates.push(yield* bootstrapSteps(prepared[i]!.data, method.resamples, random));
  }
  const hasData = (p: VariantSample, metric: ExperimentMetric) =>
    p.observations[METRIC_SOURCE[metric].count]! > 0;
  const enough = (p: VariantSample, metric: ExperimentMetric) => {
    const column = METRIC_SOURCE[metric].count;
    return (
      hasData(p, metric) &&
      p.observations[column]! >= method.minRequests &&
      p.clustersWith[column]! >= method.minSessions
    );
  };

  const comparisons: VariantComparison[] = [];
  for (let i = 0; i < variants.length; i++) {
    if (i === base) continue;
    const sufficient = EXPERIMENT_METRICS.filter(
      (m) => enough(prepared[i]!, m) && enough(prepared[base]!, m),
    );
    // The family is every figure with data on both sides, decided or not, so that the level of the
    // intervals does not jump when a figure crosses the minimum sample.
    const withData = EXPERIMENT_METRICS.filter(
      (m) => hasData(prepared[i]!, m) && hasData(prepared[base]!, m),
    );
    const family = method.correction === 'bonferroni' ? Math.max(1, withData.length) : 1;
    const level = 1 - (1 - method.confidence) / family;
    const metrics = {} as Record<ExperimentMetric, MetricComparison>;
    for (const metric of EXPERIMENT_METRICS) {
      const s = METRIC_SOURCE[metric].statistic;
      metrics[metric] = compareMetric(
        prepared[i]!.figures[metric],
        prepared[base]!.figures[metric],
        replicates[i]![s]!,
        replicates[base]![s]!,
        level,
        sufficient.includes(metric),
      );
    }
    comparisons.push({
      routeEntry: variants[i]!.routeEntry,
      resolvedModel: variants[i]!.resolvedModel,
      baseline: variants[base]!.routeEntry,
      level,
      metrics,
    });
  }
  return {
    baseline: variants[base]!.routeEntry,
    variants: prepared.map((p) => p.figures),
    comparisons,
    unassignedRequests: unassigned,
    method,
  };
}

function compareMetric(
  variant: number | null,
  baseline: number | null,
  variantReplicates: Float64Array,
  baselineReplicates: Float64Array,
  level: number,
  sufficient: boolean,
): MetricComparison {
  const difference = variant === null || baseline === null ? null : variant - baseline;
  const relativePercent = difference === null || baseline === 0 ? null : (100 * difference) / baseline!;
  let ci: Interval | null = null;
  let relativeCi: Interval | null = null;
  if (difference !== null) {
    const n = variantReplicates.length;
    const differences = new Float64Array(n);
    const relatives = new Float64Array(n);
    let baselineZero = false;
    for (let b = 0; b < n; b++) {
      const d = variantReplicates[b]! - baselineReplicates[b]!;
      differences[b] = d;
      if (baselineReplicates[b] === 0) baselineZero = true;
      relatives[b] = (100 * d) / baselineReplicates[b]!;
    }
    ci = percentileInterval(differences, level);
    if (!baselineZero) relativeCi = percentileInterval(relatives, level);
  }
  let verdict: Verdict = 'insufficient_data';
  if (sufficient && ci !== null) verdict = ci.high < 0 ? 'better' : ci.low > 0 ? 'worse' : 'inconclusive';
  return { variant, baseline, difference, relativePercent, ci, relativeCi, verdict };
}
