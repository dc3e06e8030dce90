import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RequestRecord } from '../../../analytics/record.ts';
import { openSqliteStore } from '../../../analytics/store/sqlite.ts';
import type { RequestStore } from '../../../analytics/store/store.ts';
import { RecordWriter } from '../../../analytics/store/writer.ts';
import { capturingLogger, eventually } from '../../helpers/log-capture.ts';
import { record, T0 } from './store-suite.ts';

/** A store that records what the writer asks of it; `write` does what the test says. */
class ScriptedStore implements RequestStore {
  batches: number[] = [];
  prunes: number[] = [];
  constructor(private readonly onWrite: (records: readonly RequestRecord[]) => Promise<void>) {}
  write(records: readonly RequestRecord[]): Promise<void> {
    this.batches.push(records.length);
    return this.onWrite(records);
  }
  async requests() {
    return { data: [] };
  }
  async usage(): Promise<never> {
    throw new Error('not used');
  }
  async experimentSamples() {
    return [];
  }
  async prune(olderThanMs: number) {
    this.prunes.push(olderThanMs);
  }
  async close() {}
}

const records = (n: number, prefix = 'r') =>
  Array.from({ length: n }, (_, i) => record(`${prefix}${i}`, T0 + i));
const warnings = (lines: () => Record<string, unknown>[]) =>
  lines().filter((l) => l.event === 'request_store_dropped');

describe('RecordWriter', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('drops and counts records once the queue is full, and warns at most once per interval with the count', async () => {
    vi.useFakeTimers();
    const { logger, records: lines } = capturingLogger();
    const store = new ScriptedStore(() => new Promise<void>(() => {})); // a write that never finishes
    const onDrop = vi.fn();
    const writer = new RecordWriter(store, {
      queueSize: 5,
      batchSize: 100,
      flushIntervalMs: 1_000,
      warnIntervalMs: 60_000,
      retentionMs: 0,
      logger,
      onDrop,
    });
    for (const r of records(8)) writer.enqueue(r);
    expect(writer.pending).toBe(5);
    expect(writer.counters.dropped.queue_full).toBe(3);
    expect(onDrop).toHaveBeenCalledTimes(3);
    expect(onDrop).toHaveBeenCalledWith(1, 'queue_full');

    await vi.advanceTimersByTimeAsync(1_000); // the five go to the (stuck) store; one warning for three
    expect(store.batches).toEqual([5]);
    expect(warnings(lines).map((w) => w.records)).toEqual([3]);

    for (const r of records(7, 'more')) writer.enqueue(r); // five fit again, two dropped
    await vi.advanceTimersByTimeAsync(30_000);
    expect(writer.counters.dropped.queue_full).toBe(5);
    expect(warnings(lines).map((w) => w.records)).toEqual([3]);

    await vi.advanceTimersByTimeAsync(30_000);
    expect(warnings(lines)).toMatchObject([
      { reason: 'queue_full', records: 3, queueSize: 5 },
      { reason: 'queue_full', records: 2, queueSize: 5 },
    ]);
  });

  it('never lets a failing store reach the caller: failed batches are counted and logged with the error', async () => {
    const { logger, records: lines } = capturingLogger();
    let calls = 0;
    const store = new ScriptedStore(() => {
      calls++;
      if (calls === 1) throw new Error('disk I/O error'); // thrown, not even a rejected promise
      return Promise.reject(new Error('connection refused'));
    });
    const writer = new RecordWriter(store, { batchSize: 2, retentionMs: 0, logger });
    expect(() => {
      for (const r of records(5)) writer.enqueue(r);
    }).not.toThrow();
    await expect(writer.flush()).resolves.toBeUndefined();
    expect(writer.counters).toEqual({ written: 0, dropped: { queue_full: 0, store_error: 5, closed: 0 } });
    await writer.close();
    expect(warnings(lines)).toMatchObject([
      { reason: 'store_error', records: 5, error: 'connection refused' },
    ]);
  });

  it('does not let a throwing drop callback reach the caller', () => {
    const store = new ScriptedStore(async () => {});
    const writer = new RecordWriter(store, {
      queueSize: 0,
      retentionMs: 0,
      onDrop: () => {
        throw new Error('metrics broke');
      },
    });
    expect(() => writer.enqueue(record('a', T0))).not.toThrow();
    expect(writer.counters.dropped.queue_full).toBe(1);
  });

  it('writes a full batch at once, without waiting for the timer', async () => {
    const store = new ScriptedStore(async () => {});
    const writer = new RecordWriter(store, { batchSize: 10, flushIntervalMs: 3_600_000, retentionMs: 0 });
    for (const r of records(10)) writer.enqueue(r);
    expect(store.batches).toEqual([]); // never on the caller's stack
    await eventually(() => store.batches.length === 1 || undefined);
    expect(writer.counters.written).toBe(10);
    await writer.close();
  });

  it('keeps at most `concurrency` writes in flight', async () => {
    const release: (() => void)[] = [];
    const store = new ScriptedStore(() => new Promise<void>((resolve) => release.push(resolve)));
    const writer = new RecordWriter(store, { batchSize: 10, concurrency: 2, retentionMs: 0 });
    for (const r of records(50)) writer.enqueue(r);
    const flushed = writer.flush();
    await eventually(() => release.length === 2 || undefined);
    expect(store.batches).toEqual([10, 10]);
    while (store.batches.length < 5 || release.length > 0) {
      release.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    await flushed;
    expect(store.batches).toEqual([10, 10, 10, 10, 10]);
    expect(writer.counters.written).toBe(50);
    await writer.close();
  });

  it('fills a free write slot as soon as another full batch is queued, while the first write is still running', async () => {
    const release: (() => void)[] = [];
    const store = new ScriptedStore(() => new Promise<void>((resolve) => release.push(resolve)));
    const writer = new RecordWriter(store, {
      batchSize: 10,
      concurrency: 2,
      flushIntervalMs: 3_600_000,
      retentionMs: 0,
    });
    for (const r of records(10, 'a')) writer.enqueue(r);
    await eventually(() => release.length === 1 || undefined);
    for (const r of records(10, 'b')) writer.enqueue(r);
    await eventually(() => release.length === 2 || undefined);
    expect(store.batches).toEqual([10, 10]);
    // A partial batch waits for the timer or a flush, not for a slot.
    for (const r of records(3, 'c')) writer.enqueue(r);
    for (const resolve of release.splice(0)) resolve();
    await new Promise((r) => setImmediate(r));
    expect(store.batches).toEqual([10, 10]);
    const closed = writer.close();
    await eventually(() => release.length === 1 || undefined);
    release.shift()?.();
    await closed;
    expect(store.batches).toEqual([10, 10, 3]);
    expect(writer.counters.written).toBe(23);
  });

  it('flushes everything queued on close, in batches, into a real store', async () => {
    const sqlite = openSqliteStore({ dataDir: ':memory:' });
    const sizes: number[] = [];
    const store = new ScriptedStore((batch) => {
      sizes.push(batch.length);
      return sqlite.write(batch);
    });
    const writer = new RecordWriter(store, { batchSize: 500, flushIntervalMs: 3_600_000, retentionMs: 0 });
    for (const r of records(1234)) writer.enqueue(r);
    await writer.close();
    expect(sizes).toEqual([500, 500, 234]);
    expect(writer.counters.written).toBe(1234);
    expect(writer.pending).toBe(0);
    let stored = 0;
    let cursor: string | undefined;
    do {
      const page = await sqlite.requests({}, 1000, cursor);
      stored += page.data.length;
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    expect(stored).toBe(1234);
    writer.enqueue(record('after-close', T0));
    expect(writer.counters.dropped.closed).toBe(1);
    await sqlite.close();
  });

  it('prunes by retention at start and then on its interval', async () => {
    vi.useFakeTimers();
    const store = new ScriptedStore(async () => {});
    const writer = new RecordWriter(store, { retentionMs: 86_400_000, pruneIntervalMs: 3_600_000 });
    await vi.advanceTimersByTimeAsync(0);
    expect(store.prunes).toEqual([86_400_000]);
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(store.prunes).toEqual([86_400_000, 86_400_000]);
    await writer.close();

    const none = new ScriptedStore(async () => {});
    await new RecordWriter(none, { retentionMs: 0 }).close();
    expect(none.prunes).toEqual([]);
  });
});
