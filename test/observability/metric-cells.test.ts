import { Counter, Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CounterCells, GaugeCells } from '../../observability/metric-cells.ts';

function counter() {
  const registry = new Registry();
  const cells = new CounterCells<'backend'>();
  const metric = new Counter({
    name: 'test_total',
    help: 'h',
    labelNames: ['backend'] as const,
    registers: [registry],
    collect() {
      cells.flush(this);
    },
  });
  return { registry, cells, metric };
}

describe('metric cells', () => {
  it('a scrape shows exactly what the increments add up to, and a second scrape adds nothing', async () => {
    const { registry, cells } = counter();
    const a = cells.cell({ backend: 'a' });
    const b = cells.cell({ backend: 'b' });
    a.inc();
    a.inc(2.5);
    b.inc(0);
    expect(await registry.metrics()).toContain('test_total{backend="a"} 3.5');
    expect(await registry.metrics()).toContain('test_total{backend="a"} 3.5');
    expect(await registry.metrics()).not.toContain('backend="b"');
    a.inc();
    b.inc(4);
    const text = await registry.metrics();
    expect(text).toContain('test_total{backend="a"} 4.5');
    expect(text).toContain('test_total{backend="b"} 4');
  });

  it('two cells of one label set add into one series (a cache that dropped its cell loses nothing)', async () => {
    const { cells, metric } = counter();
    cells.cell({ backend: 'a' }).inc();
    cells.cell({ backend: 'a' }).inc(2);
    expect((await metric.get()).values).toEqual([expect.objectContaining({ value: 3 })]);
  });

  it('refuses what prom-client refuses: a negative or non-finite increment', () => {
    const { cells } = counter();
    const a = cells.cell({ backend: 'a' });
    expect(() => a.inc(-1)).toThrow(TypeError);
    expect(() => a.inc(Number.NaN)).toThrow(TypeError);
    expect(() => a.inc(Number.POSITIVE_INFINITY)).toThrow(TypeError);
  });

  it('a gauge cell reads what is open now; one label set is one cell', async () => {
    const registry = new Registry();
    const cells = new GaugeCells<'filter'>();
    new Gauge({
      name: 'open',
      help: 'h',
      labelNames: ['filter'] as const,
      registers: [registry],
      collect() {
        cells.flush(this);
      },
    });
    const router = cells.cell({ filter: 'router' });
    router.inc();
    router.inc();
    cells.cell({ filter: 'router' }).dec();
    expect(await registry.metrics()).toContain('open{filter="router"} 1');
    router.dec();
    expect(await registry.metrics()).toContain('open{filter="router"} 0');
  });
});
