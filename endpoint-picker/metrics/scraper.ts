/**
 * Scrapes every endpoint's Prometheus `/metrics` on an interval and keeps the latest load per address.
 * A failing or slow endpoint is marked stale (and counted), never throws: the scheduler avoids stale
 * pods. Defaults follow the upstream EPP's flags (refresh 50 ms, staleness threshold 2 s).
 *
 * At 20 scrapes a second per pod the per-scrape cost is what matters: each pod keeps one persistent
 * connection (node:http with a keep-alive agent; `fetch` costs three times the CPU per request), and
 * only the series a load is read from are parsed.
 */
import http from 'node:http';
import { type MetricNames, type ModelServerLoad, readLoad, seriesNames } from './model-server-metrics.ts';
import { parseExposition } from './prometheus-text.ts';

/** Far more than any model server's exposition: a bigger answer is not a metrics endpoint. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Idle connections to pods that left the pool close after this. */
const IDLE_SOCKET_MS = 30_000;
/** A round of scrapes is spread over this many ticks of the interval. */
const ROUND_SLICES = 10;

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
  readonly #wanted: ReadonlySet<string>;
  #agent = scrapeAgent();

  constructor(private readonly options: ScraperOptions) {
    this.#intervalMs = options.intervalMs ?? 50;
    this.#staleAfterMs = options.staleAfterMs ?? 2_000;
    this.#timeoutMs = options.timeoutMs ?? 1_000;
    this.#now = options.now ?? Date.now;
    this.#wanted = seriesNames(options.names);
  }

  /** The endpoints to scrape; forgotten endpoints drop their data. */
  setTargets(addresses: readonly string[]): void {
    this.#addresses = addresses;
    const keep = new Set(addresses);
    for (const a of this.#latest.keys()) if (!keep.has(a)) this.#latest.delete(a);
  }

  start(): void {
    if (this.#timer) return;
    for (const a of this.#addresses) void this.scrape(a);
    // Each round is spread over the interval in slices: every pod is still scraped once per interval,
    // but a large pool's answers do not all land on the event loop at once, between two decisions.
    const slices = Math.max(1, Math.min(ROUND_SLICES, Math.floor(this.#intervalMs / 2)));
    let slice = 0;
    this.#timer = setInterval(() => {
      const addresses = this.#addresses;
      for (let i = slice; i < addresses.length; i += slices) void this.scrape(addresses[i]!);
      slice = (slice + 1) % slices;
    }, this.#intervalMs / slices);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#agent.destroy();
    this.#agent = scrapeAgent();
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
      const text = await this.#get(address);
      const load = readLoad(parseExposition(text, this.#wanted), this.options.names);
      if (typeof load === 'string') throw new Error(load);
      this.#latest.set(address, { ...load, updatedAtMs: this.#now() });
      this.version++;
    } catch (error) {
      this.options.onError?.(address, (error as Error).message);
    } finally {
      this.#inFlight.delete(address);
    }
  }

  /** GET http://<address>/metrics on the pod's persistent connection, within the scrape timeout. */
  #get(address: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const url = new URL(`http://${address}/metrics`);
      const request = http.get(
        { host: url.hostname, port: url.port, path: url.pathname, agent: this.#agent },
        (response) => {
          if (response.statusCode !== 200) {
            response.resume();
            reject(new Error(`HTTP ${response.statusCode}`));
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES)
              request.destroy(new Error(`metrics larger than ${MAX_BODY_BYTES} bytes`));
            else chunks.push(chunk);
          });
          response.on('end', () => resolve(Buffer.concat(chunks, size).toString('utf8')));
          response.on('error', reject);
        },
      );
      const deadline = setTimeout(
        () => request.destroy(new Error(`no answer within ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      );
      request.on('error', reject);
      request.on('close', () => clearTimeout(deadline));
    });
  }
}

/** One persistent connection per pod: scrapes of a pod never overlap (see `scrape`). */
function scrapeAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: 1, timeout: IDLE_SOCKET_MS });
}
