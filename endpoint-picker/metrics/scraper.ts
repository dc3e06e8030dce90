/**
 * Scrapes every endpoint's Prometheus `/metrics` on an interval and keeps the latest load per address.
 * A failing or slow endpoint is marked stale (and counted), never throws: the scheduler avoids stale
 * pods. Defaults follow the upstream EPP's flags (refresh 50 ms, staleness threshold 2 s).
 */
import { type MetricNames, type ModelServerLoad, readLoad } from './model-server-metrics.ts';
import { parseExposition } from './prometheus-text.ts';

export interface ScrapedLoad extends ModelServerLoad {
  updatedAtMs: number;
}

export interface ScraperOptions {
  names: MetricNames;
  intervalMs?: number;
  staleAfterMs?: number;
  timeoutMs?: number;
  /** Called for each failed scrape (for the picker's scrape-error metric and a debug log). */
  onError?(address: string, reason: string): void;
  now?(): number;
}

export class MetricsScraper {
  readonly #latest = new Map<string, ScrapedLoad>();
  #addresses: readonly string[] = [];
  #timer: NodeJS.Timeout | undefined;
  #inFlight = new Set<string>();
  /** Bumped on every successful scrape, so readers can cache what they derive from the loads. */
  version = 0;
  readonly #intervalMs: number;
  readonly #staleAfterMs: number;
  readonly #timeoutMs: number;
  readonly #now: () => number;

  constructor(private readonly options: ScraperOptions) {
    this.#intervalMs = options.intervalMs ?? 50;
    this.#staleAfterMs = options.staleAfterMs ?? 2_000;
    this.#timeoutMs = options.timeoutMs ?? 1_000;
    this.#now = options.now ?? Date.now;
  }

  /** The endpoints to scrape; forgotten endpoints drop their data. */
  setTargets(addresses: readonly string[]): void {
    this.#addresses = addresses;
    const keep = new Set(addresses);
    for (const a of this.#latest.keys()) if (!keep.has(a)) this.#latest.delete(a);
  }

  start(): void {
    if (this.#timer) return;
    const tick = () => {
      for (const a of this.#addresses) void this.scrape(a);
    };
    tick();
    this.#timer = setInterval(tick, this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The latest load of an endpoint and whether it is too old to trust. */
  load(address: string): { load: ScrapedLoad | undefined; stale: boolean } {
    const load = this.#latest.get(address);
    return { load, stale: !load || this.#now() - load.updatedAtMs > this.#staleAfterMs };
  }

  async scrape(address: string): Promise<void> {
    if (this.#inFlight.has(address)) return; // a slow endpoint is not scraped twice at once
    this.#inFlight.add(address);
    try {
      const response = await fetch(`http://${address}/metrics`, {
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const load = readLoad(parseExposition(await response.text()), this.options.names);
      if (typeof load === 'string') throw new Error(load);
      this.#latest.set(address, { ...load, updatedAtMs: this.#now() });
      this.version++;
    } catch (error) {
      this.options.onError?.(address, (error as Error).message);
    } finally {
      this.#inFlight.delete(address);
    }
  }
}
