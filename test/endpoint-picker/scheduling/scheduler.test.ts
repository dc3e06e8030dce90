import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { explain } from '../../../endpoint-picker/scheduling/explain.ts';
import { PRESETS, type PresetName } from '../../../endpoint-picker/scheduling/presets.ts';
import { Scheduler } from '../../../endpoint-picker/scheduling/scheduler.ts';
import { sessionTokenFor } from '../../../endpoint-picker/scheduling/scorers/session-affinity.ts';
import type { PickResult, PodState, SchedulingRequest } from '../../../endpoint-picker/scheduling/types.ts';
import { NOW, pod, promptOf, request } from './fixtures.ts';

const pool = (n: number, metrics = {}): PodState[] =>
  Array.from({ length: n }, (_, i) => pod(`p${i + 1}`, metrics));

function picked(result: PickResult) {
  if (result.kind !== 'picked') throw new Error(`expected a pick, got ${result.kind}: ${result.message}`);
  return result;
}

describe('Scheduler', () => {
  it('adds scorer outputs with their weights and picks the best total', () => {
    const scheduler = new Scheduler({
      profiles: [
        {
          name: 'p',
          scorers: [
            { type: 'queue', weight: 2 },
            { type: 'kv-cache-utilization', weight: 1 },
          ],
        },
      ],
    });
    const pods = [
      pod('a1', { waitingQueueSize: 0, kvCacheUsage: 0.5 }),
      pod('b2', { waitingQueueSize: 10, kvCacheUsage: 0 }),
    ];
    const result = picked(scheduler.schedule(request(), pods));
    expect([...result.scores.totals]).toEqual([2 * 1 + 0.5, 2 * 0 + 1]);
    expect([...result.scores.matrix]).toEqual([1, 0, 0.5, 1]);
    expect(result.primary).toBe('default/a1');
    expect(result.endpoints).toEqual(['10.0.0.1:8000']);
    expect(result.profile).toBe('p');
  });

  it('answers 503 when the pool has no pods', () => {
    const result = new Scheduler(PRESETS.ours).schedule(request(), []);
    expect(result).toMatchObject({ kind: 'no-capacity', status: 503, stage: 'pool' });
  });

  it('respects the subset hint, and answers 503 when no pod of the subset is in the pool', () => {
    const scheduler = new Scheduler(PRESETS.ours, { seed: 1 });
    const pods = pool(6);
    const subset = ['10.0.0.2:8000', '10.0.0.5:8000'];
    for (let i = 0; i < 30; i++) {
      const result = picked(
        scheduler.schedule(request({ requestId: `r${i}`, subset, prompt: `q${i}` }), pods),
      );
      for (const endpoint of result.endpoints) expect(subset).toContain(endpoint);
    }
    expect(scheduler.schedule(request({ subset: ['10.9.9.9:8000'] }), pods)).toMatchObject({
      kind: 'no-capacity',
      status: 503,
      stage: 'subset',
    });
    expect(scheduler.schedule(request({ subset: [] }), pods)).toMatchObject({
      kind: 'no-capacity',
      status: 503,
    });
  });

  it('does not fail open outside the subset: a stale subset still beats healthy pods outside it', () => {
    const scheduler = new Scheduler(PRESETS.ours, { seed: 1 });
    const pods = [pod('a1', {}, { stale: true }), pod('b2'), pod('c3')];
    const result = picked(scheduler.schedule(request({ subset: ['10.0.0.1:8000'] }), pods));
    expect(result.endpoints).toEqual(['10.0.0.1:8000']);
  });

  it('sheds a sheddable request with 429 when the pool is saturated, and only a sheddable one', () => {
    const scheduler = new Scheduler(PRESETS.ours, { seed: 2 });
    const saturated = pool(4, { waitingQueueSize: 9, kvCacheUsage: 0.5 });
    expect(scheduler.schedule(request({ priority: -1 }), saturated)).toMatchObject({
      kind: 'shed',
      status: 429,
      stage: 'saturation',
    });
    expect(scheduler.schedule(request({ priority: 0 }), saturated).kind).toBe('picked');
    expect(scheduler.schedule(request({ priority: 3 }), saturated).kind).toBe('picked');
    const oneFree = [...saturated, pod('p9', { waitingQueueSize: 1, kvCacheUsage: 0.2 })];
    expect(picked(scheduler.schedule(request({ priority: -1 }), oneFree)).endpoints).toEqual([
      '10.0.0.9:8000',
    ]);
  });

  it('replays the same decisions for the same seed', () => {
    const pods = pool(8);
    const requests = Array.from({ length: 40 }, (_, i) =>
      request({ requestId: `r${i}`, prompt: promptOf(`topic-${i % 5}`, 1 + (i % 4)) }),
    );
    for (const preset of ['ours', 'random', 'gie-default'] as const) {
      const run = (seed: number) => {
        const scheduler = new Scheduler(PRESETS[preset], { seed });
        return requests.map((r) => picked(scheduler.schedule(r, pods)).endpoints.join(','));
      };
      expect(run(99)).toEqual(run(99));
      expect(run(99)).not.toEqual(run(100));
    }
  });

  it('runs the named profile, and refuses an unknown one', () => {
    const scheduler = new Scheduler({
      profiles: [
        { name: 'a', picker: { type: 'round-robin' } },
        { name: 'b', picker: { type: 'round-robin' } },
      ],
      defaultProfile: 'b',
    });
    expect(picked(scheduler.schedule(request(), pool(2))).profile).toBe('b');
    expect(picked(scheduler.schedule(request(), pool(2), 'a')).profile).toBe('a');
    expect(() => scheduler.schedule(request(), pool(2), 'c')).toThrow(/no scheduling profile "c"/);
  });

  it('forgets the prefix state of a pod that left the pool', () => {
    const scheduler = new Scheduler(
      { profiles: [{ name: 'p', scorers: [{ type: 'prefix-cache' }] }] },
      { seed: 3 },
    );
    const pods = pool(3);
    const req = request({ prompt: promptOf('doc', 4) });
    const first = picked(scheduler.schedule(req, pods)).primary;
    expect(
      explain(picked(scheduler.schedule(request({ prompt: promptOf('doc', 4) }), pods))).scores?.[first],
    ).toEqual({
      total: 1,
      'prefix-cache': 1,
    });
    scheduler.forgetPod(first);
    const after = explain(picked(scheduler.schedule(request({ prompt: promptOf('doc', 4) }), pods)));
    expect(after.scores?.[first]?.['prefix-cache']).toBe(0);
  });
});

describe('explain', () => {
  it('records, per pod best first, the total and each scorer, with the endpoints', () => {
    const scheduler = new Scheduler(PRESETS['gie-default'], { seed: 1 });
    const pods = [
      pod('a1', { waitingQueueSize: 4, kvCacheUsage: 0.5 }),
      pod('b2', { waitingQueueSize: 0, kvCacheUsage: 0.25 }),
    ];
    const record = explain(scheduler.schedule(request(), pods));
    expect(record).toEqual({
      profile: 'default',
      outcome: 'picked',
      endpoints: ['10.0.0.2:8000'],
      primary: 'default/b2',
      weights: { queue: 2, 'kv-cache-utilization': 2, 'prefix-cache': 3 },
      scores: {
        'default/b2': { total: 3.5, queue: 1, 'kv-cache-utilization': 0.75, 'prefix-cache': 0 },
        'default/a1': { total: 1, queue: 0, 'kv-cache-utilization': 0.5, 'prefix-cache': 0 },
      },
    });
    expect(Object.keys(explain(scheduler.schedule(request(), pods), { top: 1 }).scores ?? {})).toEqual([
      'default/b2',
    ]);
    expect(JSON.parse(JSON.stringify(record))).toEqual(record);
  });

  it('records a rejection with its status and stage', () => {
    const result = new Scheduler(PRESETS.ours).schedule(request({ subset: [] }), pool(2));
    expect(explain(result)).toMatchObject({ outcome: 'no-capacity', status: 503, stage: 'subset' });
  });
});

describe('schedule (property)', () => {
  const presetName = fc.constantFrom(...(Object.keys(PRESETS) as PresetName[]));
  const metrics = fc.option(
    fc.record({
      waitingQueueSize: fc.integer({ min: 0, max: 20 }),
      runningRequests: fc.integer({ min: 0, max: 64 }),
      kvCacheUsage: fc.double({ min: 0, max: 1, noNaN: true }),
      activeLoras: fc.subarray(['sql', 'chat']),
      waitingLoras: fc.subarray(['sql', 'chat']),
      maxLoras: fc.integer({ min: 0, max: 2 }),
      updatedAtMs: fc.constant(NOW),
    }),
    { nil: null },
  );
  const pods = fc
    .uniqueArray(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 12 })
    .chain((ids) =>
      fc.tuple(
        ...ids.map((id) => fc.tuple(metrics, fc.boolean()).map(([m, stale]) => pod(`p${id}`, m, { stale }))),
      ),
    );
  const scenario = pods.chain((ps) =>
    fc.record({
      preset: presetName,
      seed: fc.integer(),
      pods: fc.constant(ps),
      requests: fc.array(
        fc.record({
          subset: fc.option(fc.subarray([...ps.map((p) => p.address), '10.9.9.9:8000']), { nil: undefined }),
          priority: fc.integer({ min: -2, max: 2 }),
          model: fc.constantFrom('base', 'sql', 'chat'),
          prompt: fc.string({ maxLength: 300 }),
          sessionToken: fc.option(fc.constantFrom(...ps.map((p) => sessionTokenFor(p)), 'garbage=='), {
            nil: undefined,
          }),
        }),
        { minLength: 1, maxLength: 8 },
      ),
    }),
  );

  const fresh = (p: PodState) => !p.stale && p.metrics !== undefined;
  const goodCapacity = (p: PodState) =>
    fresh(p) && p.metrics!.waitingQueueSize <= 5 && p.metrics!.kvCacheUsage <= 0.8;

  it('returns endpoints only from the candidate set and never an excluded pod', () => {
    fc.assert(
      fc.property(scenario, ({ preset, seed, pods: ps, requests }) => {
        const scheduler = new Scheduler(PRESETS[preset], { seed });
        for (const [i, fields] of requests.entries()) {
          const req: SchedulingRequest = request({ requestId: `r${i}`, ...fields });
          const result = scheduler.schedule(req, ps);
          const allowed = ps.filter(
            (p) => req.subset === undefined || (req.subset as string[]).includes(p.address),
          );
          if (allowed.length === 0) {
            expect(result).toMatchObject({ kind: 'no-capacity', status: 503 });
            continue;
          }
          const sheds = preset === 'ours' && req.priority < 0 && !allowed.some(goodCapacity);
          if (sheds) {
            expect(result).toMatchObject({ kind: 'shed', status: 429 });
            continue;
          }
          const ok = picked(result);
          expect(ok.endpoints.length).toBeGreaterThan(0);
          expect(new Set(ok.endpoints).size).toBe(ok.endpoints.length);
          const chosen = ok.endpoints.map((address) => allowed.find((p) => p.address === address));
          for (const p of chosen) expect(p).toBeDefined();
          expect(chosen[0]!.name).toBe(ok.primary);
          if (preset === 'ours') {
            if (allowed.some(fresh)) for (const p of chosen) expect(fresh(p!)).toBe(true);
            if (req.priority < 0) for (const p of chosen) expect(goodCapacity(p!)).toBe(true);
          }
        }
      }),
      { seed: 20240611, numRuns: 400 },
    );
  });
});
