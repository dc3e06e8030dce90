import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CellHistogram } from '../../observability/histogram-cells.ts';

const labelNames = ['backend', 'status'] as const;
const buckets = [0.005, 0.01, 0.1, 1, 10];

function pair() {
  const theirs = new Registry();
  const ours = new Registry();
  const reference = new Histogram({
    name: 'h_seconds',
    help: 'a "help" text',
    labelNames,
    buckets,
    registers: [theirs],
  });
  const cells = new CellHistogram({
    name: 'h_seconds',
    help: 'a "help" text',
    labelNames,
    buckets,
    registers: [ours],
  });
  return { theirs, ours, reference, cells };
}

describe('cell histograms', () => {
  it('expose exactly what prom-client histograms expose for the same observations', async () => {
    const label = fc.constantFrom('a', 'b\\"x', 'c\nd');
    const status = fc.constantFrom('200', '502');
    const observation = fc.record({
      backend: label,
      status,
      value: fc.oneof(fc.double({ min: 0, max: 20, noNaN: true }), fc.constantFrom(0.005, 10, 11, 0)),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(observation, { maxLength: 40 }), async (observations) => {
        const { theirs, ours, reference, cells } = pair();
        for (const { backend, status, value } of observations) {
          reference.labels(backend, status).observe(value);
          cells.cell({ backend, status }).observe(value);
        }
        expect(await ours.metrics()).toBe(await theirs.metrics());
        expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
      }),
      { numRuns: 200 },
    );
  });

  it('shows a label set only once it has been observed, and reset starts every cell from zero', async () => {
    const { ours, cells } = pair();
    const idle = cells.cell({ backend: 'idle', status: '200' });
    const busy = cells.cell({ backend: 'busy', status: '200' });
    busy.observe(0.5);
    expect(await ours.metrics()).not.toContain('idle');
    expect(await ours.metrics()).toContain('h_seconds_count{backend="busy",status="200"} 1');
    ours.resetMetrics();
    expect(await ours.metrics()).not.toContain('backend="busy"');
    busy.observe(2);
    idle.observe(0.001);
    const text = await ours.metrics();
    expect(text).toContain('h_seconds_sum{backend="busy",status="200"} 2');
    expect(text).toContain('h_seconds_bucket{le="0.005",backend="idle",status="200"} 1');
  });

  it('one label set is one series, whichever cell observes it', async () => {
    const { ours, cells } = pair();
    cells.cell({ backend: 'a', status: '200' }).observe(1);
    cells.cell({ status: '200', backend: 'a' }).observe(3);
    expect(await ours.metrics()).toContain('h_seconds_count{backend="a",status="200"} 2');
  });

  it('refuses what prom-client refuses: a missing or unknown label, a non-finite value, le as a label', () => {
    const { cells } = pair();
    expect(() => cells.cell({ backend: 'a' } as never)).toThrow(/status/);
    expect(() => cells.cell({ backend: 'a', status: '200', extra: 'x' } as never)).toThrow(/extra/);
    expect(() => cells.cell({ backend: 'a', status: '200' }).observe(Number.NaN)).toThrow(TypeError);
    expect(() => new CellHistogram({ name: 'x', help: 'x', labelNames: ['le'], buckets })).toThrow(/le/);
  });
});
