/**
 * Latency and TTFT histograms of the rollups: the OTel GenAI bucket advice (observability/genai-buckets.ts)
 * in milliseconds, the bucket a value falls in, and percentiles read back from bucket counts.
 */
import {
  REQUEST_DURATION_BUCKETS_S,
  TIME_TO_FIRST_TOKEN_BUCKETS_S,
} from '../../observability/genai-buckets.ts';

/** Seconds to milliseconds, rounded to the microsecond so 1.28 s is 1280 ms and not 1280.0000000000002. */
const toMs = (bounds: readonly number[]) => Object.freeze(bounds.map((s) => Math.round(s * 1e6) / 1e3));

/** Upper bounds of the finite latency buckets, ms; one more bucket holds everything above the last. */
export const LATENCY_BOUNDS_MS: readonly number[] = toMs(REQUEST_DURATION_BUCKETS_S);
export const TTFT_BOUNDS_MS: readonly number[] = toMs(TIME_TO_FIRST_TOKEN_BUCKETS_S);

/** Buckets per histogram, the overflow bucket included. */
export const LATENCY_BUCKETS = LATENCY_BOUNDS_MS.length + 1;
export const TTFT_BUCKETS = TTFT_BOUNDS_MS.length + 1;

/** The bucket of `value`: the first whose upper bound is ≥ value (upper-inclusive), else the overflow bucket. */
export function bucketIndex(bounds: readonly number[], value: number): number {
  let i = 0;
  while (i < bounds.length && value > bounds[i]!) i++;
  return i;
}

/** A histogram summed over any number of rollup rows. `min`/`max` are the extreme values seen, when any. */
export interface BucketCounts {
  counts: readonly number[];
  min: number | null;
  max: number | null;
}

/**
 * The q-quantile (0 < q < 1) of the values counted in `histogram`, null when it counts none.
 *
 * As Prometheus' histogram_quantile: the rank q·total falls in some bucket; the estimate is interpolated
 * linearly between that bucket's lower and upper bounds by how far into the bucket's count the rank lies
 * (values are assumed spread evenly inside a bucket). The first bucket's lower bound is 0. Unlike
 * Prometheus, the bounds are narrowed to the observed min and max, so the overflow bucket (above 81.92 s
 * for latency) ends at the largest value seen instead of being unbounded, and a group whose values are
 * all equal reports exactly that value.
 */
export function quantile(bounds: readonly number[], histogram: BucketCounts, q: number): number | null {
  const { counts, min, max } = histogram;
  let total = 0;
  for (const c of counts) total += c;
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c > 0 && below + c >= rank) {
      let lower = i === 0 ? 0 : bounds[i - 1]!;
      let upper = i < bounds.length ? bounds[i]! : (max ?? lower);
      if (min !== null && min > lower) lower = Math.min(min, upper);
      if (max !== null && max < upper) upper = Math.max(max, lower);
      return lower + ((upper - lower) * (rank - below)) / c;
    }
    below += c;
  }
  return max;
}
