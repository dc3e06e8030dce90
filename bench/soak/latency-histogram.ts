/**
 * Latencies in a fixed set of log-spaced buckets, so a soak of any length keeps O(1) state in the load
 * generator: ~1,400 counters from 0.1 ms to 2 min, each 1% wider than the last, so a percentile read
 * from it is within 1% of the exact one.
 */
const MIN_MS = 0.1;
const MAX_MS = 120_000;
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
const BUCKETS = Math.ceil(Math.log(MAX_MS / MIN_MS) / LOG_GROWTH) + 1;

export class LatencyHistogram {
  readonly #counts = new Float64Array(BUCKETS);
  #total = 0;

  get count(): number {
    return this.#total;
  }

  /** Values under 0.1 ms count as 0.1 ms, over 2 min as 2 min. */
  record(ms: number): void {
    const index = ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / MIN_MS) / LOG_GROWTH));
    this.#counts[index]!++;
    this.#total++;
  }

  /** The `q`-quantile (0 < q ≤ 1) as its bucket's upper bound, in ms; 0 when nothing was recorded. */
  quantile(q: number): number {
    if (this.#total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(MAX_MS, MIN_MS * GROWTH ** i);
    }
    return MAX_MS;
  }
}
