import { describe, expect, it } from 'vitest';
import { traceContextOf, validTraceParent } from '../../ext-proc/trace-context.ts';

// The examples of W3C Trace Context Level 1, §3.2.2.
const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const OTHER = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('validTraceParent', () => {
  it('accepts a version-00 traceparent as it is', () => {
    expect(validTraceParent(VALID)).toBe(VALID);
    expect(validTraceParent(`  ${VALID} `)).toBe(VALID);
  });

  it('refuses what a receiver must ignore: version ff, zero ids, upper case, wrong lengths, extra fields on 00', () => {
    for (const bad of [
      undefined,
      '',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01',
      `${VALID}-extra`,
      'not a trace context at all, but long enough to pass a length check',
    ])
      expect(validTraceParent(bad), String(bad)).toBeUndefined();
  });

  it('reads the four known fields of a later version, which may append more (§3.2.4)', () => {
    expect(validTraceParent(`cc-${VALID.slice(3)}-what-the-future-holds`)).toBe(`cc-${VALID.slice(3)}`);
  });
});

describe('traceContextOf', () => {
  const headers =
    (h: Record<string, string>) =>
    (name: string): string | undefined =>
      h[name];

  it("takes Envoy's stream metadata over the client's header, each with its own tracestate", () => {
    expect(
      traceContextOf(
        { traceParent: VALID, traceState: 'envoy=1' },
        headers({ traceparent: OTHER, tracestate: 'client=2' }),
      ),
    ).toEqual({ traceParent: VALID, traceState: 'envoy=1' });
    expect(
      traceContextOf({ traceParent: VALID }, headers({ traceparent: OTHER, tracestate: 'client=2' })),
    ).toEqual({ traceParent: VALID });
  });

  it("falls back to the client's header when the metadata has none or a malformed one", () => {
    const client = headers({ traceparent: OTHER, tracestate: 'client=2' });
    expect(traceContextOf({}, client)).toEqual({ traceParent: OTHER, traceState: 'client=2' });
    expect(traceContextOf({ traceParent: 'garbage', traceState: 'envoy=1' }, client)).toEqual({
      traceParent: OTHER,
      traceState: 'client=2',
    });
  });

  it('has no context without a valid traceparent, and drops a tracestate that is too long or not printable', () => {
    expect(traceContextOf({}, headers({ tracestate: 'a=1' }))).toBeUndefined();
    expect(traceContextOf({}, headers({ traceparent: VALID, tracestate: 'x'.repeat(513) }))).toEqual({
      traceParent: VALID,
    });
    expect(traceContextOf({}, headers({ traceparent: VALID, tracestate: 'a=1\n' }))).toEqual({
      traceParent: VALID,
    });
  });
});
