/**
 * A Prometheus histogram observed through cells: a caller resolves a label set once (a cell) and each
 * observation is a bucket search and three additions.
 *
 * Why: prom-client's Histogram converts, validates and hashes the label set on every `observe`, bound
 * children included (prom-client lib/histogram.js observe: convertLabelsAndValues, validateLabel,
 * hashObject), about 1.2 µs a call here, and ext-proc observes two or three histograms per request.
 * Unlike a counter (metric-cells.ts), a histogram's counts cannot be handed to prom-client in bulk, so
 * this is the metric itself: the registry reads it as it reads its own metrics, through `get()` and
 * `getForPromString()`, which answer in the shape prom-client's Histogram answers (same series, same
 * order, same values), so the exposition text is the same byte for byte.
 */
import type { Histogram, LabelValues, MetricValueWithName, Registry } from 'prom-client';

export interface HistogramCell {
  /** Records one value; like prom-client, a non-finite value is an error. */
  observe(value: number): void;
}

class Series<T extends string> implements HistogramCell {
  /** Per upper bound, the observations in that bucket alone (cumulated when read). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  /** In the metric's list of series: a label set appears once it has been observed, as in prom-client. */
  listed = false;

  constructor(
    readonly owner: CellHistogram<T>,
    readonly labels: Readonly<Record<string, string | number>>,
    buckets: number,
  ) {
    this.counts = new Float64Array(buckets);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const bounds = this.owner.upperBounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.sum += value;
    this.count++;
    if (!this.listed) {
      this.listed = true;
      this.owner.listed.push(this);
    }
  }
}

export interface CellHistogramConfiguration<T extends string> {
  name: string;
  help: string;
  labelNames: readonly T[];
  buckets: readonly number[];
  registers?: Registry[];
}

type Value = MetricValueWithName<string> & {
  sharedLabels?: Record<string, string | number>;
  exemplar?: null;
};

/** What a metric's get() answers the registry (prom-client's Histogram answers the same members). */
export interface HistogramData {
  name: string;
  help: string;
  type: 'histogram';
  values: Value[];
  aggregator: 'sum';
}

export class CellHistogram<T extends string> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  readonly labelNames: readonly T[];
  readonly upperBounds: readonly number[];
  /** Observed series in first-observation order. */
  listed: Series<T>[] = [];
  readonly #cells = new Map<string, Series<T>>();

  constructor(config: CellHistogramConfiguration<T>) {
    this.name = config.name;
    this.help = config.help;
    this.labelNames = [...config.labelNames];
    if (this.labelNames.includes('le' as T)) throw new Error('le is a reserved label keyword');
    this.upperBounds = Object.freeze([...config.buckets]);
    // The registry reads any metric through get()/getForPromString(); its type names its own classes.
    for (const registry of config.registers ?? []) registry.registerMetric(this as unknown as Histogram<T>);
  }

  /** The cell of a label set; every label name must be given, as prom-client requires. */
  cell(labels: LabelValues<T>): HistogramCell {
    const values = this.labelNames.map((name) => {
      const value = labels[name];
      if (value === undefined) throw new Error(`${this.name}: label ${name} has no value`);
      return value;
    });
    for (const name of Object.keys(labels))
      if (!this.labelNames.includes(name as T))
        throw new Error(`${this.name}: added label "${name}" is not included in initial labelset`);
    const key = values.join('\u0000');
    let cell = this.#cells.get(key);
    if (!cell) {
      const ordered: Record<string, string | number> = {};
      this.labelNames.forEach((name, i) => {
        ordered[name] = values[i]!;
      });
      cell = new Series(this, ordered, this.upperBounds.length);
      this.#cells.set(key, cell);
    }
    return cell;
  }

  /** As prom-client's Histogram#getForPromString: each series' buckets (cumulative), +Inf, sum, count. */
  async getForPromString(): Promise<HistogramData> {
    const bucket = `${this.name}_bucket`;
    const values: Value[] = [];
    for (const series of this.listed) {
      let cumulative = 0;
      for (let i = 0; i < this.upperBounds.length; i++) {
        cumulative += series.counts[i]!;
        values.push(value({ le: this.upperBounds[i]! }, cumulative, bucket, series.labels, null));
      }
      values.push(value({ le: '+Inf' }, series.count, bucket, series.labels, null));
      values.push(value({}, series.sum, `${this.name}_sum`, series.labels, undefined));
      values.push(value({}, series.count, `${this.name}_count`, series.labels, undefined));
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** As prom-client's Histogram#get: the label set and `le` in one labels object per value. */
  async get(): Promise<HistogramData> {
    const data = await this.getForPromString();
    data.values = data.values.map(({ sharedLabels, ...rest }) => ({
      ...rest,
      labels: { ...sharedLabels, ...rest.labels },
    }));
    return data;
  }

  /** Forgets every observation (registry.resetMetrics); cells callers hold start again from zero. */
  reset(): void {
    for (const series of this.listed) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
      series.listed = false;
    }
    this.listed = [];
  }
}

function value(
  labels: Record<string, string | number>,
  amount: number,
  metricName: string,
  sharedLabels: Readonly<Record<string, string | number>>,
  exemplar: null | undefined,
): Value {
  // As prom-client's setValuePair: no exemplars kept (null on buckets, undefined on sum and count).
  return {
    labels,
    sharedLabels: sharedLabels as Record<string, string | number>,
    value: amount,
    metricName,
    exemplar,
  };
}
