/**
 * The cluster bootstrap's kernel: statistics of one sample of clusters (sessions), recomputed over
 * resamples of whole clusters drawn with replacement. Knows ratios and quantiles, not which metric is which
 * (analytics/experiments.ts maps metrics onto them).
 *
 * Everything a resample needs is laid out once:
 * - per cluster, the sums every statistic is built from, one Float64Array per column;
 * - per quantile column, every observation sorted once, with the cluster it belongs to.
 * A resample is then a multiplicity per cluster (how often it was drawn). A ratio is Σ w·numerator /
 * Σ w·denominator, each a dot product of the multiplicities with one column. A quantile of the pooled
 * requests of the drawn clusters is a walk along the presorted observations, adding each one's cluster
 * multiplicity until the wanted rank is reached: exact (no histogram, so no binning error) and with no
 * sorting per resample. The walk starts from the nearer end, or, when there are fewer clusters than that
 * walk is long, from the sample's own quantile (see QuantilePlan). Per resample nothing is allocated.
 */
import type { Random } from './random.ts';

/** A statistic Σ numerator / Σ denominator over clusters; the numbers index `ClusterData.columns`. */
export interface RatioStatistic {
  numerator: number;
  denominator: number;
}

/** Quantiles of one kind of observation (e.g. TTFT) over the pooled requests of the clusters. */
export interface QuantileColumn {
  /** The column holding each cluster's number of these observations. */
  count: number;
  /** Every observation, ascending. */
  values: Float64Array;
  /** The cluster of `values[i]`. */
  clusterOf: Int32Array;
  /** Probabilities in (0, 1), e.g. [0.5, 0.9]. */
  probabilities: readonly number[];
}

export interface ClusterData {
  clusters: number;
  /** `columns[j][c]`: quantity j summed over cluster c. */
  columns: readonly Float64Array[];
  ratios: readonly RatioStatistic[];
  quantiles: readonly QuantileColumn[];
}

/** Statistics are numbered ratios first, then each quantile column's probabilities in order. */
export function statisticCount(data: ClusterData): number {
  let n = data.ratios.length;
  for (const q of data.quantiles) n += q.probabilities.length;
  return n;
}

/** Sorts observations ascending, carrying each one's cluster along. */
export function sortObservations(
  values: ArrayLike<number>,
  clusterOf: ArrayLike<number>,
): { values: Float64Array; clusterOf: Int32Array } {
  const n = values.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => values[a]! - values[b]!);
  const sortedValues = new Float64Array(n);
  const sortedClusters = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    sortedValues[i] = values[order[i]!]!;
    sortedClusters[i] = clusterOf[order[i]!]!;
  }
  return { values: sortedValues, clusterOf: sortedClusters };
}

/**
 * The p-quantile of observations weighted by their cluster's multiplicity, `total` being the weighted
 * count: the smallest observation whose cumulative weight reaches rank ⌈p·total⌉ (the inverse of the
 * empirical distribution function, Hyndman & Fan type 1). NaN when `total` is 0.
 */
export function weightedQuantile(
  values: Float64Array,
  clusterOf: Int32Array,
  weights: Int32Array,
  total: number,
  p: number,
): number {
  if (!(total > 0)) return Number.NaN;
  const rank = rankOf(p, total);
  let acc = 0;
  if (p <= 0.5) {
    for (let i = 0; i < values.length; i++) {
      acc += weights[clusterOf[i]!]!;
      if (acc >= rank) return values[i]!;
    }
  } else {
    // From the top: observation i holds the rank iff the weight at and above it is ≥ total − rank + 1.
    const need = total - rank + 1;
    for (let i = values.length - 1; i >= 0; i--) {
      acc += weights[clusterOf[i]!]!;
      if (acc >= need) return values[i]!;
    }
  }
  return Number.NaN;
}

/** Σ weights·column, in four partial sums: one running sum would wait on every addition's latency. */
function dot(weights: Float64Array, column: Float64Array): number {
  const n = weights.length;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let c = 0;
  for (; c + 3 < n; c += 4) {
    s0 += weights[c]! * column[c]!;
    s1 += weights[c + 1]! * column[c + 1]!;
    s2 += weights[c + 2]! * column[c + 2]!;
    s3 += weights[c + 3]! * column[c + 3]!;
  }
  for (; c < n; c++) s0 += weights[c]! * column[c]!;
  return s0 + s1 + (s2 + s3);
}

/**
 * How a resample finds each column's weighted sum: a dot product (`kind` −1), a copy of an earlier
 * identical column (`kind` = its index), or v · Σ weights for a column that is v in every cluster (`kind`
 * −2). Real data repeats itself here: without sessions every request count is 1, and the counts of
 * requests with TTFT, latency, tokens and cost are often one and the same column.
 */
interface ColumnPlan {
  kind: Int32Array;
  constant: Float64Array;
}

/**
 * A quantile found from a pivot: the observation at `pivot` (the sample's own quantile) and, per cluster,
 * how many of its observations lie below it. A resample's weight below the pivot is one dot product over
 * the clusters, and its quantile is a short walk from the pivot, since a resampled quantile lands near
 * the sample's. Used where there are fewer clusters than observations on the walk from the nearer end
 * (sessions of many requests); without it, that walk.
 */
interface QuantilePlan {
  pivot: number;
  below: Float64Array | null;
}

interface Plan {
  columns: ColumnPlan;
  /** Per quantile column, per probability. */
  quantiles: QuantilePlan[][];
}

function planColumns(columns: readonly Float64Array[]): ColumnPlan {
  const kind = new Int32Array(columns.length).fill(-1);
  const constant = new Float64Array(columns.length);
  for (let j = 0; j < columns.length; j++) {
    const column = columns[j]!;
    if (column.length > 0 && column.every((v) => v === column[0])) {
      kind[j] = -2;
      constant[j] = column[0]!;
      continue;
    }
    for (let i = 0; i < j; i++) {
      if (kind[i] === -1 && columns[i]!.every((v, c) => v === column[c])) {
        kind[j] = i;
        break;
      }
    }
  }
  return { kind, constant };
}

function rankOf(p: number, total: number): number {
  // The epsilon keeps p·total from rounding just above an integer it equals.
  return Math.max(1, Math.ceil(p * total - 1e-9));
}

function plan(data: ClusterData): Plan {
  const quantiles = data.quantiles.map((q) =>
    q.probabilities.map((p): QuantilePlan => {
      const m = q.values.length;
      if (m === 0 || data.clusters >= Math.min(p, 1 - p) * m) return { pivot: 0, below: null };
      const pivot = rankOf(p, m) - 1;
      const below = new Float64Array(data.clusters);
      for (let i = 0; i < pivot; i++) below[q.clusterOf[i]!]!++;
      return { pivot, below };
    }),
  );
  return { columns: planColumns(data.columns), quantiles };
}

/** weightedQuantile, walking from `pivot` with `below` the weight of the observations before it. */
function quantileFromPivot(
  values: Float64Array,
  clusterOf: Int32Array,
  weights: Int32Array,
  total: number,
  p: number,
  pivot: number,
  below: number,
): number {
  if (!(total > 0)) return Number.NaN;
  const rank = rankOf(p, total);
  // acc is the weight of the observations up to and including i (for i = pivot − 1 to start with).
  let acc = below;
  if (acc < rank) {
    for (let i = pivot; i < values.length; i++) {
      acc += weights[clusterOf[i]!]!;
      if (acc >= rank) return values[i]!;
    }
    return Number.NaN;
  }
  for (let i = pivot - 1; i >= 0; i--) {
    const w = weights[clusterOf[i]!]!;
    if (acc - w < rank) return values[i]!;
    acc -= w;
  }
  return Number.NaN;
}

/**
 * One resample's statistics into `out[·][at]`: `weights` (as doubles, for the dot products) and `counts`
 * are the clusters' multiplicities, `totalWeight` their sum, `acc` scratch space per column.
 */
function evaluate(
  data: ClusterData,
  plan: Plan,
  weights: Float64Array,
  counts: Int32Array,
  totalWeight: number,
  acc: Float64Array,
  out: Float64Array[],
  at: number,
): void {
  const { kind, constant } = plan.columns;
  for (let j = 0; j < data.columns.length; j++) {
    const k = kind[j]!;
    acc[j] = k === -2 ? constant[j]! * totalWeight : k >= 0 ? acc[k]! : dot(weights, data.columns[j]!);
  }
  let s = 0;
  for (const r of data.ratios) {
    const den = acc[r.denominator]!;
    out[s++]![at] = den > 0 ? acc[r.numerator]! / den : Number.NaN;
  }
  for (let i = 0; i < data.quantiles.length; i++) {
    const q = data.quantiles[i]!;
    const total = acc[q.count]!;
    for (let k = 0; k < q.probabilities.length; k++) {
      const p = q.probabilities[k]!;
      const { pivot, below } = plan.quantiles[i]![k]!;
      out[s++]![at] =
        below === null
          ? weightedQuantile(q.values, q.clusterOf, counts, total, p)
          : quantileFromPivot(q.values, q.clusterOf, counts, total, p, pivot, dot(weights, below));
    }
  }
}

/** The statistics of the sample itself (every cluster once). NaN where a statistic has no data. */
export function pointEstimates(data: ClusterData): Float64Array {
  const out = Array.from({ length: statisticCount(data) }, () => new Float64Array(1));
  const weights = new Float64Array(data.clusters).fill(1);
  const counts = new Int32Array(data.clusters).fill(1);
  const acc = new Float64Array(data.columns.length);
  evaluate(data, plan(data), weights, counts, data.clusters, acc, out, 0);
  return Float64Array.from(out, (o) => o[0]!);
}

/**
 * `resamples` bootstrap replicates of every statistic: each replicate draws `clusters` clusters uniformly
 * with replacement. Returns one array of replicates per statistic (NaN where a resample has no data for
 * it); all NaN when there are no clusters.
 */
export function bootstrapReplicates(data: ClusterData, resamples: number, random: Random): Float64Array[] {
  return runToEnd(bootstrapSteps(data, resamples, random));
}

/** Resamples between two points where a cooperative caller may give the event loop a turn. */
export const RESAMPLES_PER_STEP = 16;

/**
 * bootstrapReplicates as steps: yields after every RESAMPLES_PER_STEP resamples and returns the
 * replicates, so a caller on a shared event loop (the console, the local stack) can pause between steps
 * (analytics/cooperative.ts). The same draws in the same order either way: the figures do not depend on
 * how the work was sliced.
 */
export function* bootstrapSteps(
  data: ClusterData,
  resamples: number,
  random: Random,
): Generator<void, Float64Array[], void> {
  const { clusters } = data;
  const out = Array.from({ length: statisticCount(data) }, () => new Float64Array(resamples));
  if (clusters === 0) {
    for (const o of out) o.fill(Number.NaN);
    return out;
  }
  const resamplePlan = plan(data);
  const acc = new Float64Array(data.columns.length);
  const counts = new Int32Array(clusters);
  const weights = new Float64Array(clusters);
  for (let b = 0; b < resamples; b++) {
    counts.fill(0);
    random.countDraws(counts);
    for (let c = 0; c < clusters; c++) weights[c] = counts[c]!;
    // countDraws draws exactly `clusters` times.
    evaluate(data, resamplePlan, weights, counts, clusters, acc, out, b);
    if (b % RESAMPLES_PER_STEP === RESAMPLES_PER_STEP - 1) yield;
  }
  return out;
}

/** Runs steps without pausing. */
export function runToEnd<T>(steps: Generator<void, T, void>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

export interface Interval {
  low: number;
  high: number;
}

/**
 * The central `level` percentile interval of bootstrap replicates (linear interpolation between order
 * statistics, Hyndman & Fan type 7). Non-finite replicates are left out; null when none is finite.
 */
export function percentileInterval(replicates: Float64Array, level: number): Interval | null {
  let n = 0;
  const finite = new Float64Array(replicates.length);
  for (const r of replicates) if (Number.isFinite(r)) finite[n++] = r;
  if (n === 0) return null;
  const sorted = finite.subarray(0, n).sort();
  const tail = (1 - level) / 2;
  return { low: typeSeven(sorted, tail), high: typeSeven(sorted, 1 - tail) };
}

function typeSeven(sorted: Float64Array, p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}
