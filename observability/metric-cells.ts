/**
 * Counters and gauges bumped per request, summed in plain numbers and handed to prom-client when the
 * metric is read (its `collect` hook, which runs before every scrape and every `get()`).
 *
 * Why: every prom-client `inc` hashes and validates its label set again, bound children included
 * (prom-client lib/counter.js incWithoutExemplar, lib/util.js hashObject), which made the per-request
 * metrics a visible share of ext-proc's CPU and garbage. A cell is one label set, resolved once by its
 * caller; bumping it is an addition. A read hands each bumped cell's sum to prom-client, once per label
 * set, so what a scrape sees is exactly what the increments add up to.
 */
import type { Counter, Gauge, LabelValues } from 'prom-client';

export interface CounterCell {
  /** Adds `value` (1 by default); like prom-client, a negative or non-finite value is an error. */
  inc(value?: number): void;
}

export interface GaugeCell {
  inc(): void;
  dec(): void;
}

class PendingCounter<T extends string> implements CounterCell {
  pending = 0;
  constructor(
    readonly owner: CounterCells<T>,
    readonly labels: LabelValues<T>,
  ) {}

  inc(value = 1): void {
    if (!(value >= 0) || value === Number.POSITIVE_INFINITY)
      throw new TypeError(`a counter is increased by a finite non-negative number, not ${value}`);
    if (value === 0) return;
    if (this.pending === 0) this.owner.dirty.push(this);
    this.pending += value;
  }
}

/**
 * The cells of one prom-client Counter, flushed by its `collect` hook. Only cells bumped since the last read are visited, and a cell no caller holds any
 * more is garbage once flushed: nothing here grows with the number of label sets seen.
 */
export class CounterCells<T extends string> {
  dirty: PendingCounter<T>[] = [];

  cell(labels: LabelValues<T>): CounterCell {
    return new PendingCounter(this, labels);
  }

  /** From the counter's `collect` hook: `collect() { cells.flush(this); }`. */
  flush(counter: Counter<T>): void {
    const dirty = this.dirty;
    this.dirty = [];
    for (const cell of dirty) {
      const value = cell.pending;
      cell.pending = 0;
      counter.inc(cell.labels, value);
    }
  }
}

class OpenCount<T extends string> implements GaugeCell {
  value = 0;
  constructor(readonly labels: LabelValues<T>) {}
  inc(): void {
    this.value++;
  }
  dec(): void {
    this.value--;
  }
}

/** The cells of one prom-client Gauge that counts what is open now; a read sets each cell's value. */
export class GaugeCells<T extends string> {
  readonly #cells = new Map<string, OpenCount<T>>();

  /** The cell of a label set, kept for the gauge's life: for a few fixed label sets only. */
  cell(labels: LabelValues<T>): GaugeCell {
    const key = JSON.stringify(labels);
    let cell = this.#cells.get(key);
    if (!cell) {
      cell = new OpenCount(labels);
      this.#cells.set(key, cell);
    }
    return cell;
  }

  /** From the gauge's `collect` hook: `collect() { cells.flush(this); }`. */
  flush(gauge: Gauge<T>): void {
    for (const cell of this.#cells.values()) gauge.set(cell.labels, cell.value);
  }
}
