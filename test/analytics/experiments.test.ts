import { describe, expect, it } from 'vitest';
import {
  bootstrapReplicates,
  type ClusterData,
  pointEstimates,
  sortObservations,
  weightedQuantile,
} from '../../analytics/bootstrap.ts';
import {
  analyzeExperiment,
  baselineIndex,
  EXPERIMENT_METRICS,
  type ExperimentReport,
  type ExperimentSample,
  type ExperimentVariant,
  isError,
} from '../../analytics/experiments.ts';
import { Random } from '../../analytics/random.ts';
import { type ArmSpec, simulate } from './simulate.ts';

function variantsOf(arms: readonly ArmSpec[]): ExperimentVariant[] {
  return arms.map((a) => ({
    routeEntry: a.routeEntry,
    resolvedModel: `${a.routeEntry}-model`,
    weight: a.weight,
  }));
}

function width(report: ExperimentReport, metric: (typeof EXPERIMENT_METRICS)[number]): number {
  const ci = report.comparisons[0]!.metrics[metric].ci!;
  return ci.high - ci.low;
}

/** `count` requests of one variant, `perSession` to a session. */
function rows(routeEntry: string, count: number, perSession: number, fill: Partial<ExperimentSample> = {}) {
  return Array.from(
    { length: count },
    (_, i): ExperimentSample => ({
      routeEntry,
      resolvedModel: `${routeEntry}-model`,
      sessionHash: `${routeEntry}-${Math.floor(i / perSession)}`,
      status: 200,
      latencyMs: 1000 + (i % 50),
      ttftMs: 300 + (i % 40),
      tokens: 500,
      costUsd: 0.001,
      ...fill,
    }),
  );
}

describe('experiment verdicts on simulated splits', () => {
  const arms: ArmSpec[] = [
    { routeEntry: 'chat/v1', weight: 50 },
    { routeEntry: 'chat/v2', weight: 50, ttftFactor: 1.3 },
  ];
  const samples = simulate({ seed: 11, arms, requests: 2000, sessions: 200 });

  it('finds a variant 30% slower to first token worse on TTFT p50, over 2,000 requests in 200 sessions', () => {
    const report = analyzeExperiment(variantsOf(arms), samples);
    expect(report.baseline).toBe('chat/v1');
    const ttft = report.comparisons[0]!.metrics.ttftP50;
    expect(ttft.verdict).toBe('worse');
    expect(ttft.ci!.low).toBeGreaterThan(0);
    expect(ttft.relativeCi!.low).toBeLessThan(30);
    expect(ttft.relativeCi!.high).toBeGreaterThan(30);
    expect(report.comparisons[0]!.metrics.ttftP90.verdict).toBe('worse');
  });

  it('finds the faster variant better on TTFT p50 when the slower one is the baseline', () => {
    const variants = variantsOf(arms).map((v) => ({ ...v, baseline: v.routeEntry === 'chat/v2' }));
    const report = analyzeExperiment(variants, samples);
    expect(report.baseline).toBe('chat/v2');
    expect(report.comparisons[0]!.routeEntry).toBe('chat/v1');
    expect(report.comparisons[0]!.metrics.ttftP50.verdict).toBe('better');
    expect(report.comparisons[0]!.metrics.ttftP50.ci!.high).toBeLessThan(0);
  });

  it('calls an A/A split inconclusive on each of TTFT, latency and error rate in at least 95 of 100 seeded runs', () => {
    const same: ArmSpec[] = [
      { routeEntry: 'a', weight: 50 },
      { routeEntry: 'b', weight: 50 },
    ];
    const inconclusive = Object.fromEntries(EXPERIMENT_METRICS.map((m) => [m, 0]));
    let anyVerdict = 0;
    for (let run = 0; run < 100; run++) {
      const aa = simulate({ seed: 5000 + run, arms: same, requests: 2000, sessions: 200 });
      const { metrics } = analyzeExperiment(variantsOf(same), aa, { seed: run }).comparisons[0]!;
      let all = true;
      for (const m of EXPERIMENT_METRICS) {
        if (metrics[m].verdict === 'inconclusive') inconclusive[m]!++;
        else all = false;
      }
      if (!all) anyVerdict++;
    }
    for (const m of EXPERIMENT_METRICS) expect(inconclusive[m], m).toBeGreaterThanOrEqual(95);
    // All seven figures at once: the simultaneous intervals hold the chance of any verdict in an A/A
    // comparison at 5% (52 of these seeds' first 1,000 runs). 100 runs cannot show ≤ 5% (a 5% rate gives
    // more than 5 in 38% of sets of 100), but they do tell it from the ≈ 25% of uncorrected intervals.
    expect(anyVerdict).toBeLessThanOrEqual(12);
  });

  // Errors and token counts are independent of the session in the simulation, so only TTFT and latency,
  // which carry the session's effect, are wider.
  it('reports wider intervals for 2,000 requests in 20 sticky sessions than in 2,000 sessions, and no verdict', () => {
    const same: ArmSpec[] = [
      { routeEntry: 'a', weight: 50 },
      { routeEntry: 'b', weight: 50 },
    ];
    const spread = { arms: same, requests: 2000, sessionSigma: 0.5 };
    const few = analyzeExperiment(variantsOf(same), simulate({ ...spread, seed: 3, sessions: 20 }));
    const many = analyzeExperiment(variantsOf(same), simulate({ ...spread, seed: 3, sessions: 2000 }));
    for (const m of ['ttftP50', 'ttftP90', 'latencyP50', 'latencyP90'] as const)
      expect(width(few, m), m).toBeGreaterThan(2 * width(many, m));
    expect(few.variants.map((v) => v.sessions).reduce((a, b) => a + b)).toBe(20);
    // Ten sessions a variant are below the minimum of 30: intervals for reading, no verdicts.
    for (const m of EXPERIMENT_METRICS)
      expect(few.comparisons[0]!.metrics[m].verdict).toBe('insufficient_data');
    expect(many.comparisons[0]!.metrics.ttftP50.verdict).toBe('inconclusive');
  });
});

describe('experiment figures and rules', () => {
  const pair: ExperimentVariant[] = [
    { routeEntry: 'a', resolvedModel: 'a-model', weight: 50 },
    { routeEntry: 'b', resolvedModel: 'b-model', weight: 50 },
  ];

  it('takes quantiles as the smallest value with at least p of the requests at or below it, means per request', () => {
    const samples = Array.from(
      { length: 10 },
      (_, i): ExperimentSample => ({
        routeEntry: 'a',
        resolvedModel: 'a-model',
        status: 200,
        latencyMs: 10 - i,
        ttftMs: (10 - i) / 10,
        tokens: i % 2 === 0 ? 100 : 300,
        costUsd: i === 0 ? 0.5 : undefined,
      }),
    );
    const [a] = analyzeExperiment(pair, samples).variants;
    expect(a).toMatchObject({ requests: 10, sessions: 0, sessionlessRequests: 10, errors: 0, cancelled: 0 });
    expect(a).toMatchObject({ latencyP50: 5, latencyP90: 9, ttftP50: 0.5, ttftP90: 0.9 });
    expect(a).toMatchObject({ errorRate: 0, tokensPerRequest: 200, costPerRequest: 0.5 });
  });

  it('counts no answer, status ≥ 400 and an error code as errors, and a cancelled 499 as a request but no error', () => {
    const sample = (status: number, extra: Partial<ExperimentSample> = {}): ExperimentSample => ({
      routeEntry: 'a',
      resolvedModel: 'a-model',
      status,
      latencyMs: 100,
      ...extra,
    });
    expect(isError(sample(200))).toBe(false);
    expect(isError(sample(0))).toBe(true);
    expect(isError(sample(400))).toBe(true);
    expect(isError(sample(429))).toBe(true);
    expect(isError(sample(503))).toBe(true);
    expect(isError(sample(200, { errorCode: 'upstream_stream_error' }))).toBe(true);
    expect(isError(sample(499))).toBe(false);
    expect(isError(sample(499, { errorCode: 'client_cancelled' }))).toBe(false);

    const samples = [
      sample(200, { latencyMs: 100, ttftMs: 10 }),
      sample(200, { latencyMs: 200, ttftMs: 20 }),
      sample(503, { latencyMs: 1, ttftMs: 1 }),
      // Cancelled after its first byte: its TTFT counts, its latency (the client's patience) does not.
      sample(499, { latencyMs: 5000, ttftMs: 30 }),
    ];
    const [a] = analyzeExperiment(pair, samples).variants;
    expect(a).toMatchObject({ requests: 4, errors: 1, cancelled: 1, errorRate: 0.25 });
    expect(a).toMatchObject({ latencyP50: 100, latencyP90: 200, ttftP50: 20, ttftP90: 30 });
  });

  it('attributes requests to the route entry the split chose, whatever model answered, and counts strangers apart', () => {
    const samples = [
      ...rows('a', 3, 1),
      ...rows('a', 2, 1, { resolvedModel: 'fallback-model' }),
      ...rows('policy-entry', 4, 1),
    ];
    const report = analyzeExperiment(pair, samples);
    expect(report.variants[0]!.requests).toBe(5);
    expect(report.variants[1]!.requests).toBe(0);
    expect(report.unassignedRequests).toBe(4);
  });

  it('gives insufficient_data below 100 requests or below 30 sessions a variant, with the interval still shown', () => {
    const enough = rows('a', 400, 4);
    const fewRequests = analyzeExperiment(pair, [...enough, ...rows('b', 90, 1)]);
    const fewSessions = analyzeExperiment(pair, [...enough, ...rows('b', 580, 20)]);
    const both = analyzeExperiment(pair, [...enough, ...rows('b', 120, 4)]);
    for (const report of [fewRequests, fewSessions]) {
      for (const m of EXPERIMENT_METRICS) {
        expect(report.comparisons[0]!.metrics[m].verdict).toBe('insufficient_data');
        expect(report.comparisons[0]!.metrics[m].ci).not.toBeNull();
      }
    }
    expect(fewSessions.variants[1]).toMatchObject({ requests: 580, sessions: 29 });
    expect(both.variants[1]).toMatchObject({ requests: 120, sessions: 30 });
    for (const m of EXPERIMENT_METRICS)
      expect(both.comparisons[0]!.metrics[m].verdict).not.toBe('insufficient_data');
    // The thresholds are options.
    const lowered = analyzeExperiment(pair, [...enough, ...rows('b', 90, 1)], { minRequests: 50 });
    expect(lowered.comparisons[0]!.metrics.latencyP50.verdict).not.toBe('insufficient_data');
  });

  it('gives insufficient_data and no figures to a metric without data, and corrects only over figures with data', () => {
    const samples = [
      ...rows('a', 300, 3, { ttftMs: undefined, costUsd: undefined }),
      ...rows('b', 300, 3, { ttftMs: undefined, costUsd: undefined }),
    ];
    const report = analyzeExperiment(pair, samples);
    expect(report.variants[0]).toMatchObject({ ttftP50: null, ttftP90: null, costPerRequest: null });
    const { metrics, level } = report.comparisons[0]!;
    for (const m of ['ttftP50', 'ttftP90', 'costPerRequest'] as const) {
      expect(metrics[m]).toMatchObject({ variant: null, baseline: null, difference: null, ci: null });
      expect(metrics[m].verdict).toBe('insufficient_data');
    }
    expect(metrics.latencyP50.verdict).toBe('inconclusive');
    // Four figures with data (error rate, latency p50 and p90, tokens): each interval at 1 − 0.05/4.
    expect(level).toBeCloseTo(1 - 0.05 / 4, 12);
  });

  it('states no relative difference against a baseline of zero', () => {
    const samples = [
      ...rows('a', 300, 3),
      ...rows('b', 300, 3, { status: 500 }).slice(0, 30),
      ...rows('b', 270, 3),
    ];
    const { errorRate } = analyzeExperiment(pair, samples).comparisons[0]!.metrics;
    expect(errorRate.baseline).toBe(0);
    expect(errorRate.difference).toBeCloseTo(0.1, 12);
    expect(errorRate).toMatchObject({ relativePercent: null, relativeCi: null, verdict: 'worse' });
  });

  it('picks the baseline marked so, else the heaviest weight, the first of equals', () => {
    const v = (routeEntry: string, weight: number, baseline?: boolean): ExperimentVariant => ({
      routeEntry,
      resolvedModel: routeEntry,
      weight,
      ...(baseline === undefined ? {} : { baseline }),
    });
    expect(baselineIndex([v('a', 95), v('b', 5, true)])).toBe(1);
    expect(baselineIndex([v('a', 5), v('b', 95)])).toBe(1);
    expect(baselineIndex([v('a', 20), v('b', 40), v('c', 40)])).toBe(1);
    expect(baselineIndex([v('a', 50, false), v('b', 50)])).toBe(0);
    const report = analyzeExperiment([v('a', 20), v('b', 40), v('c', 40)], []);
    expect(report.baseline).toBe('b');
    expect(report.comparisons.map((c) => [c.routeEntry, c.baseline])).toEqual([
      ['a', 'b'],
      ['c', 'b'],
    ]);
    expect(report.comparisons[0]!.metrics.errorRate.verdict).toBe('insufficient_data');
  });

  it('gives the same answer for the same seed, and per-figure 95% intervals without the correction', () => {
    const arms: ArmSpec[] = [
      { routeEntry: 'a', weight: 50 },
      { routeEntry: 'b', weight: 50 },
    ];
    const samples = simulate({ seed: 8, arms, requests: 1000, sessions: 100 });
    const once = analyzeExperiment(variantsOf(arms), samples, { seed: 42 });
    expect(analyzeExperiment(variantsOf(arms), samples, { seed: 42 })).toEqual(once);
    const other = analyzeExperiment(variantsOf(arms), samples, { seed: 43 });
    expect(other.variants).toEqual(once.variants);
    expect(other.comparisons[0]!.metrics.ttftP50.ci).not.toEqual(once.comparisons[0]!.metrics.ttftP50.ci);
    expect(once.comparisons[0]!.level).toBeCloseTo(1 - 0.05 / 7, 12);
    expect(once.method).toMatchObject({
      resamples: 2000,
      seed: 42,
      confidence: 0.95,
      correction: 'bonferroni',
    });

    const plain = analyzeExperiment(variantsOf(arms), samples, { seed: 42, correction: 'none' });
    expect(plain.comparisons[0]!.level).toBe(0.95);
    for (const m of EXPERIMENT_METRICS) expect(width(plain, m)).toBeLessThan(width(once, m));
  });

  it('refuses no variants, a route entry named twice and invalid options', () => {
    expect(() => analyzeExperiment([], [])).toThrow(RangeError);
    expect(() => analyzeExperiment([pair[0]!, pair[0]!], [])).toThrow(/named twice/);
    expect(() => analyzeExperiment(pair, [], { resamples: 0 })).toThrow(/resamples/);
    expect(() => analyzeExperiment(pair, [], { confidence: 1 })).toThrow(/confidence/);
  });
});

describe('cluster bootstrap kernel', () => {
  /** Clusters of `sizes[c]` observations each, with a ratio (values / 1 per observation) and p50/p90. */
  function clusterData(
    sizes: readonly number[],
    random: Random,
  ): { data: ClusterData; perCluster: number[][] } {
    const perCluster = sizes.map((n) => Array.from({ length: n }, () => Math.round(random.next() * 1000)));
    const values = perCluster.flat();
    const clusterOf = perCluster.flatMap((vs, c) => vs.map(() => c));
    const data: ClusterData = {
      clusters: sizes.length,
      columns: [
        Float64Array.from(sizes),
        Float64Array.from(perCluster, (vs) => vs.reduce((a, b) => a + b, 0)),
      ],
      ratios: [{ numerator: 1, denominator: 0 }],
      quantiles: [{ count: 0, ...sortObservations(values, clusterOf), probabilities: [0.5, 0.9] }],
    };
    return { data, perCluster };
  }

  /** The statistics recomputed the slow way: pool the drawn clusters' observations and sort them. */
  function bruteForce(perCluster: number[][], counts: Int32Array): number[] {
    const pooled: number[] = [];
    counts.forEach((w, c) => {
      for (let k = 0; k < w; k++) pooled.push(...perCluster[c]!);
    });
    pooled.sort((x, y) => x - y);
    const at = (p: number) => pooled[Math.ceil(p * pooled.length) - 1]!;
    return [pooled.reduce((a, b) => a + b, 0) / pooled.length, at(0.5), at(0.9)];
  }

  for (const [name, sizes] of [
    ['five large sessions (walks from the pivot)', [200, 150, 300, 250, 100]],
    ['sessionless requests (walks from the ends)', Array.from({ length: 300 }, () => 1)],
    ['sessions of mixed sizes', Array.from({ length: 60 }, (_, i) => 1 + (i % 7) * 3)],
  ] as const) {
    it(`recomputes ratios and quantiles exactly for ${name}`, () => {
      const { data, perCluster } = clusterData(sizes, new Random(9));
      const replicates = bootstrapReplicates(data, 50, new Random(77));
      const draws = new Random(77);
      for (let b = 0; b < 50; b++) {
        const counts = new Int32Array(data.clusters);
        draws.countDraws(counts);
        expect([0, 1, 2].map((s) => replicates[s]![b]!)).toEqual(bruteForce(perCluster, counts));
      }
      expect(Array.from(pointEstimates(data))).toEqual(
        bruteForce(perCluster, new Int32Array(sizes.length).fill(1)),
      );
    });
  }

  it('finds weighted quantiles of ties and zero weights', () => {
    const { values, clusterOf } = sortObservations([3, 1, 2, 2, 5], [0, 1, 2, 2, 3]);
    const weights = Int32Array.from([0, 2, 1, 1]);
    // Pooled: 1, 1, 2, 2, 5 (3 has weight 0).
    expect(weightedQuantile(values, clusterOf, weights, 5, 0.5)).toBe(2);
    expect(weightedQuantile(values, clusterOf, weights, 5, 0.2)).toBe(1);
    expect(weightedQuantile(values, clusterOf, weights, 5, 0.9)).toBe(5);
    expect(weightedQuantile(values, clusterOf, weights, 5, 0.8)).toBe(2);
    expect(weightedQuantile(values, clusterOf, weights, 0, 0.5)).toBeNaN();
  });
});
