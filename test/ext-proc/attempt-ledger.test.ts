import { describe, expect, it } from 'vitest';
import { AttemptLedger } from '../../ext-proc/attempt-ledger.ts';

describe('AttemptLedger', () => {
  it('gives a request its attempts in order, once, as copies', () => {
    const ledger = new AttemptLedger();
    const first = { backend: 'a', status: 0 };
    ledger.note('r1', first);
    ledger.note('r1', { backend: 'b', status: 200 });
    first.status = 500; // the phase fills it in once the provider answers
    const taken = ledger.take('r1');
    expect(taken).toEqual([
      { backend: 'a', status: 500 },
      { backend: 'b', status: 200 },
    ]);
    first.status = 1;
    expect(taken![0]!.status).toBe(500);
    expect(ledger.take('r1')).toBeUndefined();
  });

  it('forgets the oldest requests past its bound, so attempts nobody takes cannot pile up', () => {
    const ledger = new AttemptLedger(2);
    for (const id of ['r1', 'r2', 'r3']) ledger.note(id, { backend: 'a', status: 200 });
    expect(ledger.size).toBe(2);
    expect(ledger.take('r1')).toBeUndefined();
    expect(ledger.take('r3')).toHaveLength(1);
  });

  it('drops entries older than its time to live when a new request is noted', () => {
    let now = 0;
    const ledger = new AttemptLedger(100, 1_000, () => now);
    ledger.note('old', { backend: 'a', status: 200 });
    now = 1_500;
    ledger.note('new', { backend: 'a', status: 200 });
    expect(ledger.take('old')).toBeUndefined();
    expect(ledger.take('new')).toHaveLength(1);
  });
});
