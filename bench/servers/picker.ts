/**
 * The endpoint picker as the benchmark measures it: `startEndpointPicker` with the `ours` scheduler over a
 * generated pool (bench/picker-pool.ts), its real scraper reading each pod's `/metrics` over HTTP
 * (bench/pod-metrics.ts). The scraper's timer is stopped and the parent refreshes every pod between
 * measured rounds instead, so a round's CPU is decisions only: scraping 1,000 pods every 50 ms is
 * 20,000 scrapes a second whatever the request rate, a cost per pod and second, not per decision.
 * Staleness is judged over 30 s rather than 2 s so a slow round cannot age the pods into the healthy
 * filter's fail-open path; the parent checks every pod is fresh after each round.
 *
 * The parent can also ask for the next decision's debug record (`explain`), to check before measuring
 * that decisions see live metrics and a working prefix index.
 */
import { loadSnapshot } from '../../config/file-source.ts';
import { poolView } from '../../config/inference-pool.ts';
import { startEndpointPicker } from '../../endpoint-picker/server.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';
import { createLogger } from '../../observability/logger.ts';

export const PICKER_STALE_AFTER_MS = 30_000;
const REFRESH_CONCURRENCY = 64;

export type PickerRequest =
  | { type: 'picker-refresh' }
  | { type: 'picker-pods' }
  | { type: 'picker-explain-next' }
  | { type: 'picker-explained' };

/** Metrics freshness of the pool as the picker's scraper holds it. */
export interface PoolFreshness {
  pods: number;
  fresh: number;
  /** Age of the oldest metrics, ms. */
  maxAgeMs: number;
  /** CPU the refresh took in the picker process (scrapes and parsing), µs; 0 for a plain check. */
  scrapeCpuUs: number;
  pid: number;
}

/** The picker's `epp_decision` debug line: scheduling/explain.ts's record plus the request's ids. */
export interface DecisionRecord {
  event: 'epp_decision';
  requestId: string;
  outcome: string;
  endpoints: string[];
  scores: Record<string, Record<string, number>>;
}

export type PickerAnswer =
  | ({ type: 'picker-pods' } & PoolFreshness)
  | { type: 'picker-armed' }
  | { type: 'picker-explained'; record: DecisionRecord | undefined };

export interface BenchPicker {
  grpcPort: number;
  handle(message: PickerRequest): Promise<PickerAnswer>;
  shutdown(): Promise<void>;
}

export async function startBenchPicker(config: string): Promise<BenchPicker> {
  const snapshot = loadSnapshot(config, { supportedProviders });
  const addresses = poolView(snapshot)?.endpoints.map((e) => e.address) ?? [];
  let capture = false;
  let record: DecisionRecord | undefined;
  // At info the picker logs nothing per decision; debug lines are kept only when the parent asked.
  const logger = createLogger({
    level: 'info',
    destination: {
      write(line: string) {
        if (!capture || !line.includes('"event":"epp_decision"')) return;
        record = JSON.parse(line) as DecisionRecord;
        capture = false;
        logger.level = 'info';
      },
    },
  });
  const picker = await startEndpointPicker({
    snapshot,
    logger,
    grpcAddress: '127.0.0.1:0',
    healthAddress: '127.0.0.1:0',
    scheduler: 'ours',
    staleAfterMs: PICKER_STALE_AFTER_MS,
    seed: 1,
  });
  picker.scraper.stop();

  const freshness = (scrapeCpuUs: number): PickerAnswer => {
    const now = Date.now();
    let fresh = 0;
    let maxAgeMs = 0;
    for (const address of addresses) {
      const { load, stale } = picker.scraper.load(address);
      if (!stale) fresh++;
      maxAgeMs = Math.max(maxAgeMs, load ? now - load.updatedAtMs : Number.POSITIVE_INFINITY);
    }
    return { type: 'picker-pods', pods: addresses.length, fresh, maxAgeMs, scrapeCpuUs, pid: process.pid };
  };

  const refresh = async (): Promise<PickerAnswer> => {
    const before = process.cpuUsage();
    const started = Date.now();
    // At most REFRESH_CONCURRENCY scrapes at once, so none runs into the scraper's 1 s timeout on a busy
    // machine; a pod whose scrape failed, or was skipped because one from the picker's first tick was
    // still in flight, is tried again.
    for (let attempt = 0; attempt < 5; attempt++) {
      const due = addresses.filter((a) => (picker.scraper.load(a).load?.updatedAtMs ?? 0) < started);
      if (due.length === 0) break;
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      let next = 0;
      const worker = async () => {
        while (next < due.length) await picker.scraper.scrape(due[next++]!);
      };
      await Promise.all(Array.from({ length: Math.min(REFRESH_CONCURRENCY, due.length) }, worker));
    }
    const cpu = process.cpuUsage(before);
    return freshness(cpu.user + cpu.system);
  };

  return {
    grpcPort: picker.grpcPort,
    async handle(message) {
      switch (message.type) {
        case 'picker-refresh':
          return refresh();
        case 'picker-pods':
          return freshness(0);
        case 'picker-explain-next':
          record = undefined;
          capture = true;
          logger.level = 'debug';
          return { type: 'picker-armed' };
        case 'picker-explained':
          return { type: 'picker-explained', record };
      }
    },
    shutdown: () => picker.shutdown(1000),
  };
}
