/**
 * The request path's side of the store: `enqueue` puts a record in a bounded in-memory queue and returns;
 * batches go to the store on a short timer, or as soon as a batch is full, `concurrency` writes at a time. Nothing
 * the store does reaches the caller: a full queue drops the record, a failed write drops its batch, and
 * both are counted (`counters`, and `onDrop` for a Prometheus counter) and logged as one warning per
 * reason per `warnIntervalMs`, carrying the number dropped since the last one. The writer also applies
 * retention: `store.prune(retentionMs)` at start and every `pruneIntervalMs`.
 *
 * Writes start from setImmediate, never inside `enqueue`: SQLite's writes are synchronous and would
 * otherwise run on the request's own call stack.
 */
import type { Logger } from '../../observability/logger.ts';
import type { RequestRecord } from '../record.ts';
import { DEFAULT_RETENTION_MS, type RequestStore } from './store.ts';

export type DropReason = 'queue_full' | 'store_error' | 'closed';

export interface WriterCounters {
  /** Records the store accepted. */
  written: number;
  /** Records dropped, by reason. */
  dropped: Record<DropReason, number>;
}

export interface RecordWriterOptions {
  /** Records held at most while waiting for the store. */
  queueSize?: number;
  /** Records per `store.write`. */
  batchSize?: number;
  /**
   * Writes in flight at once (default 1). PostgreSQL gains from 2 (postgres.ts POSTGRES_WRITER_OPTIONS);
   * SQLite writes synchronously: keep 1.
   */
  concurrency?: number;
  flushIntervalMs?: number;
  /** At most one warning per drop reason per interval. */
  warnIntervalMs?: number;
  /** Age beyond which records are pruned; 0 turns pruning off (another process prunes). */
  retentionMs?: number;
  pruneIntervalMs?: number;
  logger?: Pick<Logger, 'warn'>;
  /** Called on every drop with the number of records, e.g. `(n, reason) => counter.inc({ reason }, n)`. */
  onDrop?: (count: number, reason: DropReason) => void;
  now?: () => number;
}

const REASONS: readonly DropReason[] = ['queue_full', 'store_error', 'closed'];

export class RecordWriter {
  readonly counters: WriterCounters = { written: 0, dropped: { queue_full: 0, store_error: 0, closed: 0 } };
  private readonly store: RequestStore;
  private readonly queueSize: number;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly warnIntervalMs: number;
  private readonly retentionMs: number;
  private readonly logger: Pick<Logger, 'warn'> | undefined;
  private readonly onDrop: ((count: number, reason: DropReason) => void) | undefined;
  private readonly now: () => number;
  private queue: RequestRecord[] = [];
  /** Writes started and not yet settled. */
  private inFlight = 0;
  /**
   * Set by `flush` until the queue is empty and the writes have settled (partial batches may go too);
   * what every flush caller meanwhile waits for.
   */
  private drained: { promise: Promise<void>; resolve: () => void } | undefined;
  private pruning: Promise<void> | undefined;
  private kicked = false;
  private closed = false;
  private readonly flushTimer: NodeJS.Timeout;
  private readonly pruneTimer: NodeJS.Timeout | undefined;
  /** Drops not yet reported in a warning, the last warning's time, and the last store error, per reason. */
  private readonly unreported: Record<DropReason, number> = { queue_full: 0, store_error: 0, closed: 0 };
  private readonly lastWarning: Record<DropReason, number> = {
    queue_full: Number.NEGATIVE_INFINITY,
    store_error: Number.NEGATIVE_INFINITY,
    closed: Number.NEGATIVE_INFINITY,
  };
  private lastError: string | undefined;
  private lastPruneWarning = Number.NEGATIVE_INFINITY;

  constructor(store: RequestStore, options: RecordWriterOptions = {}) {
    this.store = store;
    this.queueSize = options.queueSize ?? 10_000;
    this.batchSize = options.batchSize ?? 500;
    this.concurrency = Math.max(1, options.concurrency ?? 1);
    this.warnIntervalMs = options.warnIntervalMs ?? 60_000;
    this.retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    this.logger = options.logger;
    this.onDrop = options.onDrop;
    this.now = options.now ?? Date.now;
    this.flushTimer = setInterval(() => {
      void this.flush();
      this.warnDrops();
    }, options.flushIntervalMs ?? 1_000);
    this.flushTimer.unref();
    if (this.retentionMs > 0) {
      this.pruneTimer = setInterval(() => this.prune(), options.pruneIntervalMs ?? 60 * 60 * 1000);
      this.pruneTimer.unref();
      this.prune();
    }
  }

  /** Records waiting for the store. */
  get pending(): number {
    return this.queue.length;
  }

  /** Queues a record for the store; never blocks, never throws. The record must not change afterwards. */
  enqueue(record: RequestRecord): void {
    if (this.closed || this.queue.length >= this.queueSize) {
      this.drop(1, this.closed ? 'closed' : 'queue_full');
      return;
    }
    this.queue.push(record);
    if (this.queue.length >= this.batchSize && this.inFlight < this.concurrency && !this.kicked) {
      this.kicked = true;
      setImmediate(() => {
        this.kicked = false;
        this.pump();
      });
    }
  }

  /** Writes everything queued (records queued meanwhile included); resolves when done, never rejects. */
  flush(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    if (this.drained === undefined) {
      let resolve = () => {};
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.drained = { promise, resolve };
    }
    const { promise } = this.drained;
    this.pump();
    return promise;
  }

  /** Stops the timers, writes what is queued, waits for a running prune and reports unreported drops. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.flushTimer);
    if (this.pruneTimer !== undefined) clearInterval(this.pruneTimer);
    await this.flush();
    await this.pruning;
    this.warnDrops(true);
  }

  /**
   * Starts writes while fewer than `concurrency` are in flight: full batches always, the rest of the queue
   * only while a flush drains it. Each settled write pumps again, so a backlog keeps every slot busy
   * instead of waiting for the slowest write of a round.
   */
  private pump(): void {
    while (
      this.inFlight < this.concurrency &&
      this.queue.length > 0 &&
      (this.drained !== undefined || this.queue.length >= this.batchSize)
    ) {
      const batch = this.queue.length <= this.batchSize ? this.queue : this.queue.splice(0, this.batchSize);
      if (batch === this.queue) this.queue = [];
      this.inFlight++;
      let written: Promise<void>;
      try {
        written = this.store.write(batch);
      } catch (error) {
        written = Promise.reject(error);
      }
      written.then(
        () => this.settle(batch.length),
        (error: unknown) => {
          this.lastError = error instanceof Error ? error.message : String(error);
          this.drop(batch.length, 'store_error');
          this.settle(0);
        },
      );
    }
    if (this.queue.length === 0 && this.inFlight === 0 && this.drained !== undefined) {
      const { resolve } = this.drained;
      this.drained = undefined;
      resolve();
    }
  }

  private settle(written: number): void {
    this.counters.written += written;
    this.inFlight--;
    this.pump();
  }

  private drop(count: number, reason: DropReason): void {
    this.counters.dropped[reason] += count;
    this.unreported[reason] += count;
    try {
      this.onDrop?.(count, reason);
    } catch {
      // A failing metrics callback must not reach the request path either.
    }
  }

  /** One warning per reason with drops since the last, unless one was logged less than an interval ago. */
  private warnDrops(force = false): void {
    const now = this.now();
    for (const reason of REASONS) {
      const records = this.unreported[reason];
      if (records === 0 || (!force && now - this.lastWarning[reason] < this.warnIntervalMs)) continue;
      this.unreported[reason] = 0;
      this.lastWarning[reason] = now;
      const fields =
        reason === 'store_error'
          ? { event: 'request_store_dropped', reason, records, error: this.lastError }
          : { event: 'request_store_dropped', reason, records, queueSize: this.queueSize };
      this.logger?.warn(fields, `request store: ${records} records dropped (${reason})`);
    }
  }

  private prune(): void {
    if (this.pruning !== undefined) return;
    this.pruning = Promise.resolve()
      .then(() => this.store.prune(this.retentionMs))
      .catch((error: unknown) => {
        const now = this.now();
        if (now - this.lastPruneWarning < this.warnIntervalMs) return;
        this.lastPruneWarning = now;
        this.logger?.warn(
          {
            event: 'request_store_prune_failed',
            error: error instanceof Error ? error.message : String(error),
          },
          'request store: retention prune failed',
        );
      })
      .finally(() => {
        this.pruning = undefined;
      });
  }
}
