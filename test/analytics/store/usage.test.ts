import { describe, expect, it } from 'vitest';
import { planUsage } from '../../../analytics/store/usage.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.UTC(2026, 4, 20, 10, 0, 0);

describe('usage plan', () => {
  it('reads whole hours from the hour rollups and the partial hours at either end from the minute rollups', () => {
    const plan = planUsage({
      since: T0 + 20 * MINUTE + 5_000,
      until: T0 + 3 * HOUR + 10 * MINUTE + 1,
      groupBy: 'resolvedModel',
      intervalMs: HOUR,
    });
    expect(plan.origin).toBe(T0);
    expect(plan.points).toBe(4);
    expect(plan.segments).toEqual([
      { periodMs: HOUR, from: T0 + HOUR, to: T0 + 3 * HOUR },
      { periodMs: MINUTE, from: T0 + 20 * MINUTE, to: T0 + HOUR },
      // until falls inside minute 10: that minute counts (its start is before until).
      { periodMs: MINUTE, from: T0 + 3 * HOUR, to: T0 + 3 * HOUR + 11 * MINUTE },
    ]);
  });

  it('reads only minute rollups for intervals under an hour, or ranges without a whole hour', () => {
    expect(
      planUsage({ since: T0, until: T0 + 6 * HOUR, groupBy: 'keyId', intervalMs: 15 * MINUTE }).segments,
    ).toEqual([{ periodMs: MINUTE, from: T0, to: T0 + 6 * HOUR }]);
    expect(
      planUsage({ since: T0 + MINUTE, until: T0 + HOUR, groupBy: 'keyId', intervalMs: HOUR }).segments,
    ).toEqual([{ periodMs: MINUTE, from: T0 + MINUTE, to: T0 + HOUR }]);
  });

  it('aligns points to multiples of the interval since the epoch', () => {
    const day = 24 * HOUR;
    const plan = planUsage({ since: T0, until: T0 + 3 * day, groupBy: 'backend', intervalMs: day });
    expect(plan.origin).toBe(Date.UTC(2026, 4, 20));
    expect(plan.points).toBe(4);
  });

  it('refuses more points than a chart can hold', () => {
    expect(() =>
      planUsage({ since: 0, until: 365 * 24 * HOUR, groupBy: 'backend', intervalMs: MINUTE }),
    ).toThrow(RangeError);
  });
});
