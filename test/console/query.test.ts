import { describe, expect, it } from 'vitest';
import { ConsoleError } from '../../console/errors.ts';
import { parseDuration, parseTime, Query } from '../../console/query.ts';

const NOW = Date.UTC(2026, 4, 20, 12, 0, 0);

function problem(run: () => unknown): { param: string | null; code: string } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConsoleError);
    const e = error as ConsoleError;
    expect(e.status).toBe(400);
    return { param: e.param, code: e.code };
  }
  throw new Error('no error');
}

describe('console query parameters', () => {
  it('reads times as epoch milliseconds, RFC 3339 with a zone, or a duration before now', () => {
    expect(parseTime('1767225600000', NOW)).toBe(1_767_225_600_000);
    expect(parseTime('2026-01-01T00:00:00Z', NOW)).toBe(Date.UTC(2026, 0, 1));
    expect(parseTime('2026-01-01t01:00:00.5+01:00', NOW)).toBe(Date.UTC(2026, 0, 1, 0, 0, 0, 500));
    expect(parseTime('2026-01-01 00:00:00z', NOW)).toBe(Date.UTC(2026, 0, 1));
    expect(parseTime('30m', NOW)).toBe(NOW - 30 * 60_000);
    expect(parseTime('7d', NOW)).toBe(NOW - 7 * 86_400_000);
  });

  it('refuses times that are not one of those', () => {
    for (const text of [
      '2026-01-01',
      '2026-01-01T00:00:00',
      '2026-02-30T00:00:00Z',
      '2026-13-01T00:00:00Z',
      'Mon, 01 Jan 2026 00:00:00 GMT',
      '-5m',
      '1.5h',
      '',
      '1e12',
    ])
      expect(parseTime(text, NOW), text).toBeUndefined();
  });

  it('reads durations in s, m, h and d', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('1w')).toBeUndefined();
  });

  it('names the parameter of every problem: unknown, repeated, out of range, not in the list', () => {
    const q = (text: string) =>
      new Query(new URLSearchParams(text), ['limit', 'groupBy', 'since', 'interval', 'metrics']);
    expect(problem(() => q('limt=5'))).toEqual({ param: 'limt', code: 'unknown_parameter' });
    expect(problem(() => q('limit=5&limit=6'))).toEqual({ param: 'limit', code: 'invalid_parameter' });
    expect(problem(() => q('limit=0').integer('limit', 1, 10)).param).toBe('limit');
    expect(problem(() => q('limit=5.5').integer('limit', 1, 10)).param).toBe('limit');
    expect(problem(() => q('limit=0x5').integer('limit', 1, 10)).param).toBe('limit');
    expect(problem(() => q('groupBy=x').oneOf('groupBy', ['a', 'b'])).param).toBe('groupBy');
    expect(problem(() => q('since=soon').time('since', NOW)).param).toBe('since');
    expect(problem(() => q('interval=30s').interval('interval')).param).toBe('interval');
    expect(problem(() => q('metrics=a,c').listOf('metrics', ['a', 'b'])).param).toBe('metrics');
    expect(q('limit=7').integer('limit', 1, 10)).toBe(7);
    expect(q('interval=15m').interval('interval')).toBe(900_000);
    expect(q('metrics=a, b').listOf('metrics', ['a', 'b'])).toEqual(['a', 'b']);
  });

  it('takes an empty value as absent', () => {
    const q = new Query(new URLSearchParams('limit=&groupBy='), ['limit', 'groupBy']);
    expect(q.integer('limit', 1, 10)).toBeUndefined();
    expect(q.oneOf('groupBy', ['a'])).toBeUndefined();
  });
});
