import { describe, expect, it } from 'vitest';
import {
  bucketIndex,
  LATENCY_BOUNDS_MS,
  quantile,
  TTFT_BOUNDS_MS,
} from '../../../analytics/store/histogram.ts';

describe('rollup histograms', () => {
  it('use the OTel GenAI bucket advice, in milliseconds', () => {
    expect(LATENCY_BOUNDS_MS).toEqual([
      10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240, 20480, 40960, 81920,
    ]);
    expect(TTFT_BOUNDS_MS).toEqual([
      1, 5, 10, 20, 40, 60, 80, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000,
    ]);
  });

  it('count a value equal to a bound in the bucket that bound closes, and larger values in the overflow', () => {
    expect(bucketIndex(LATENCY_BOUNDS_MS, 0)).toBe(0);
    expect(bucketIndex(LATENCY_BOUNDS_MS, 10)).toBe(0);
    expect(bucketIndex(LATENCY_BOUNDS_MS, 10.001)).toBe(1);
    expect(bucketIndex(LATENCY_BOUNDS_MS, 81920)).toBe(13);
    expect(bucketIndex(LATENCY_BOUNDS_MS, 200_000)).toBe(14);
  });

  it('interpolate linearly within the bucket the rank falls in', () => {
    const counts = new Array<number>(15).fill(0);
    counts[3] = 4; // (40, 80]
    counts[4] = 4; // (80, 160]
    // No extremes known: the bucket's own bounds.
    expect(quantile(LATENCY_BOUNDS_MS, { counts, min: null, max: null }, 0.25)).toBe(60);
    expect(quantile(LATENCY_BOUNDS_MS, { counts, min: null, max: null }, 0.75)).toBe(120);
    // Extremes narrow the outer buckets: [50, 80] and [80, 100].
    expect(quantile(LATENCY_BOUNDS_MS, { counts, min: 50, max: 100 }, 0.25)).toBe(65);
    expect(quantile(LATENCY_BOUNDS_MS, { counts, min: 50, max: 100 }, 0.75)).toBe(90);
  });

  it('end the overflow bucket at the largest value seen, and answer null for an empty histogram', () => {
    const counts = new Array<number>(15).fill(0);
    counts[14] = 10; // above 81.92 s
    expect(quantile(LATENCY_BOUNDS_MS, { counts, min: 90_000, max: 190_000 }, 0.5)).toBe(140_000);
    expect(
      quantile(LATENCY_BOUNDS_MS, { counts: new Array(15).fill(0), min: null, max: null }, 0.5),
    ).toBeNull();
  });
});
