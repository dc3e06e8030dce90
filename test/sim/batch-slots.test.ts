import { describe, expect, it } from 'vitest';
import { createBatchSlots } from '../../sim/batch-slots.ts';

describe('createBatchSlots', () => {
  it('admits up to maxConcurrency at once and queues the rest', async () => {
    const slots = createBatchSlots(2);
    const never = new AbortController().signal;
    await slots.acquire(never);
    await slots.acquire(never);
    void slots.acquire(never);
    expect({ running: slots.running, waiting: slots.waiting }).toEqual({ running: 2, waiting: 1 });
  });

  it('hands freed slots to waiting requests in arrival order', async () => {
    const slots = createBatchSlots(1);
    const never = new AbortController().signal;
    await slots.acquire(never);
    const admitted: string[] = [];
    const first = slots.acquire(never).then(() => admitted.push('first'));
    const second = slots.acquire(never).then(() => admitted.push('second'));
    slots.release();
    await first;
    slots.release();
    await second;
    expect(admitted).toEqual(['first', 'second']);
    expect(slots.running).toBe(1);
    slots.release();
    expect(slots.running).toBe(0);
  });

  it('drops a waiting request whose client went away, without giving it a slot', async () => {
    const slots = createBatchSlots(1);
    const never = new AbortController().signal;
    await slots.acquire(never);
    const gone = new AbortController();
    const waiting = slots.acquire(gone.signal);
    gone.abort(new Error('client closed'));
    await expect(waiting).rejects.toThrow('client closed');
    expect(slots.waiting).toBe(0);
    slots.release();
    expect(slots.running).toBe(0);
  });

  it('rejects an already aborted request immediately', async () => {
    const slots = createBatchSlots(1);
    await expect(slots.acquire(AbortSignal.abort())).rejects.toBeDefined();
    expect(slots.running).toBe(0);
  });

  it('refuses a non-positive batch size', () => {
    expect(() => createBatchSlots(0)).toThrow(RangeError);
  });
});
