import { describe, expect, it } from 'vitest';
import { healthyFilter } from '../../../../endpoint-picker/scheduling/filters/healthy.ts';
import { loraAffinityFilter } from '../../../../endpoint-picker/scheduling/filters/lora-affinity.ts';
import { saturationFilter } from '../../../../endpoint-picker/scheduling/filters/saturation.ts';
import { subsetFilter } from '../../../../endpoint-picker/scheduling/filters/subset.ts';
import type { PodState } from '../../../../endpoint-picker/scheduling/types.ts';
import { pod, request } from '../fixtures.ts';

const names = (pods: readonly PodState[]) => pods.map((p) => p.name.replace('default/', ''));

describe('subset filter', () => {
  const pods = [pod('a1'), pod('b2'), pod('c3')];

  it('keeps only the pods whose address is in the subset hint, given as a list or a set', () => {
    expect(
      names(subsetFilter().filter(request({ subset: ['10.0.0.3:8000', '10.0.0.1:8000'] }), pods)),
    ).toEqual(['a1', 'c3']);
    expect(names(subsetFilter().filter(request({ subset: new Set(['10.0.0.2:8000']) }), pods))).toEqual([
      'b2',
    ]);
  });

  it('keeps every pod when there is no hint, and none when the hint is empty', () => {
    expect(subsetFilter().filter(request(), pods)).toBe(pods);
    expect(subsetFilter().filter(request({ subset: [] }), pods)).toEqual([]);
  });

  it('matches on ip:port, not on ip alone', () => {
    expect(subsetFilter().filter(request({ subset: ['10.0.0.1:9000'] }), pods)).toEqual([]);
  });
});

describe('healthy filter', () => {
  it('drops stale pods and pods never scraped', () => {
    const pods = [pod('a1'), pod('b2', {}, { stale: true }), pod('c3', null), pod('d4')];
    expect(names(healthyFilter().filter(request(), pods))).toEqual(['a1', 'd4']);
  });

  it('fails open within the pool when every pod is stale or unscraped', () => {
    const pods = [pod('a1', {}, { stale: true }), pod('b2', null)];
    expect(healthyFilter().filter(request(), pods)).toBe(pods);
  });
});

describe('lora-affinity filter', () => {
  const lora = (active: string[], waiting: string[], maxLoras = 2) => ({
    activeLoras: active,
    waitingLoras: waiting,
    maxLoras,
  });

  it('prefers pods with the adapter active or already waiting to load', () => {
    const pods = [
      pod('a1', lora([], [])),
      pod('b2', lora(['sql'], [])),
      pod('c3', lora(['x'], ['sql'])),
      pod('d4'),
    ];
    expect(names(loraAffinityFilter().filter(request({ model: 'sql' }), pods))).toEqual(['b2', 'c3']);
  });

  it('then pods with a free adapter slot', () => {
    const pods = [
      pod('a1', lora(['x', 'y'], [])),
      pod('b2', lora(['x'], [])),
      pod('c3', lora([], ['y', 'z'])),
    ];
    expect(names(loraAffinityFilter().filter(request({ model: 'sql' }), pods))).toEqual(['b2']);
  });

  it('keeps every pod when none has the adapter or a free slot', () => {
    const pods = [pod('a1', lora(['x', 'y'], [])), pod('b2', lora([], [], 0))];
    expect(loraAffinityFilter().filter(request({ model: 'sql' }), pods)).toBe(pods);
  });

  it('leaves requests for a base model alone', () => {
    const pods = [pod('a1', lora(['x', 'y'], [])), pod('b2', lora([], []))];
    const filter = loraAffinityFilter({ baseModels: ['llama-3-8b'] });
    expect(filter.filter(request({ model: 'llama-3-8b' }), pods)).toBe(pods);
  });
});

describe('saturation filter', () => {
  const pods = [
    pod('a1', { waitingQueueSize: 6, kvCacheUsage: 0.1 }),
    pod('b2', { waitingQueueSize: 0, kvCacheUsage: 0.95 }),
    pod('c3', { waitingQueueSize: 5, kvCacheUsage: 0.8 }),
    pod('d4', { waitingQueueSize: 0, kvCacheUsage: 0 }, { stale: true }),
  ];

  it('sends sheddable requests only to pods with good capacity (fresh, queue <= 5, KV <= 0.8)', () => {
    expect(names(saturationFilter().filter(request({ priority: -1 }), pods))).toEqual(['c3']);
  });

  it('passes requests with priority >= 0 unchanged', () => {
    expect(saturationFilter().filter(request({ priority: 0 }), pods)).toBe(pods);
    expect(saturationFilter().filter(request({ priority: 5 }), pods)).toBe(pods);
  });

  it('empties the candidates for a sheddable request when no pod has capacity, and marks that as shedding', () => {
    const filter = saturationFilter({ queueDepthThreshold: 2 });
    expect(filter.filter(request({ priority: -1 }), pods)).toEqual([]);
    expect(filter.shedWhenEmpty).toBe(true);
  });
});
