import { describe, expect, it } from 'vitest';
import { kvCacheUtilizationScorer } from '../../../../endpoint-picker/scheduling/scorers/kv-cache-utilization.ts';
import { pod, request, scores } from '../fixtures.ts';

describe('kv-cache-utilization scorer', () => {
  it('scores 1 − usage, so the emptiest cache wins', () => {
    const pods = [
      pod('a', { kvCacheUsage: 0.9 }),
      pod('b', { kvCacheUsage: 0.25 }),
      pod('c', { kvCacheUsage: 0 }),
    ];
    const s = scores(kvCacheUtilizationScorer(), request(), pods);
    expect(s[0]).toBeCloseTo(0.1, 12);
    expect(s[1]).toBe(0.75);
    expect(s[2]).toBe(1);
  });

  it('is absolute, not normalised: close usages give close scores', () => {
    const pods = [pod('a', { kvCacheUsage: 0.1 }), pod('b', { kvCacheUsage: 0.2 })];
    const [a, b] = scores(kvCacheUtilizationScorer(), request(), pods);
    expect(a! - b!).toBeCloseTo(0.1, 12);
  });

  it('scores a pod without metrics 0', () => {
    expect(scores(kvCacheUtilizationScorer(), request(), [pod('a', null)])).toEqual([0]);
  });
});
