import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { infoLineWriter, isoTime } from '../../observability/logger.ts';
import { capturingLogger } from '../helpers/log-capture.ts';

const record = {
  event: 'request',
  requestId: 'b3e1c0de-0000-4000-8000-000000000001',
  startedAt: 1_700_000_000_000,
  attempts: [{ backend: 'default/sim', status: 200, endpoint: '127.0.0.10:8000' }],
  status: 200,
  stream: false,
  keyId: 'default/team-a',
  note: 'quote " backslash \\ newline \n tab \t é 😀 \u0001',
  tokens: { prompt: 412, completion: 389 },
  missing: undefined,
  latencyMs: 1.25,
};

const withoutTime = (line: string) => {
  const parsed = JSON.parse(line) as Record<string, unknown>;
  expect(typeof parsed.time).toBe('string');
  expect(new Date(parsed.time as string).toISOString()).toBe(parsed.time);
  delete parsed.time;
  return parsed;
};

describe('the per-request line writer', () => {
  it('writes the line pino writes for the same fields: same members, same order', () => {
    const { logger, lines } = capturingLogger();
    logger.info(record, 'request');
    infoLineWriter(logger)(record, 'request');
    expect(lines).toHaveLength(2);
    const [viaPino, fast] = lines.map(withoutTime);
    expect(fast).toEqual(viaPino);
    expect(Object.keys(fast!)).toEqual(Object.keys(viaPino!));
    expect(Object.keys(fast!).slice(0, 2)).toEqual(['level', 'event']);
    expect(fast!.msg).toBe('request');
  });

  it('writes nothing when info is below the logger’s level', () => {
    const { logger, lines } = capturingLogger('warn');
    infoLineWriter(logger)(record, 'request');
    expect(lines).toHaveLength(0);
  });

  it('leaves a line with a redacted name to pino, so the secret is censored', () => {
    const { logger, lines } = capturingLogger();
    infoLineWriter(logger)({ event: 'x', authorization: 'Bearer sk-secret-1234' }, 'x');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('sk-secret-1234');
    expect(JSON.parse(lines[0]!).authorization).toBe('[redacted]');
  });

  it('writes through logger.info for a logger it did not make (a child keeps its bindings)', () => {
    const { logger, records } = capturingLogger();
    const child = logger.child({ component: 'c' });
    infoLineWriter(child)({ event: 'request', status: 200 }, 'request');
    expect(records()).toEqual([expect.objectContaining({ component: 'c', event: 'request', status: 200 })]);
  });
});

describe('isoTime', () => {
  it('writes what toISOString writes, any millisecond, any year Date can hold', () => {
    fc.assert(
      fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), (ms) => {
        expect(isoTime(ms)).toBe(new Date(ms).toISOString());
      }),
    );
    // Consecutive milliseconds across a second and a year, as a busy process writes them.
    const start = Date.UTC(2026, 11, 31, 23, 59, 59, 990);
    for (let ms = start; ms < start + 30; ms++) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });
});
