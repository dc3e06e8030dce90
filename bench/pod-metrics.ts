/**
 * `/metrics` for every pod of the benchmark pool (bench/picker-pool.ts), so the picker's own scraper reads
 * real vLLM exposition text over HTTP instead of the benchmark reaching into the picker. One tiny HTTP
 * server per pod address (all on one port, as the pool's single target port requires), in the process
 * that drives the benchmark, not in the measured one.
 *
 * Loads vary by pod and move on every scrape (queue 0–8, KV cache 4–94 %), so the queue and KV-cache
 * scorers have a spread to rank. The text is the simulator's vLLM renderer (sim/metrics.ts) with
 * `max_lora="0"`: a pool serving its base model without LoRA.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLatencyHistograms, createServerCounters, renderVllmMetrics } from '../sim/metrics.ts';
import { podIp } from './picker-pool.ts';

export interface PodMetricsServers {
  /** The pool's target port: every pod serves `/metrics` on `podIp(i):port`. */
  port: number;
  /** Scrapes served so far, all pods together. */
  scrapes(): number;
  close(): Promise<void>;
}

/** The load pod `index` reports on its `sweep`-th scrape. */
export function podLoad(index: number, sweep: number) {
  return {
    waiting: (index * 7 + sweep * 3) % 9,
    running: (index * 5 + sweep) % 48,
    kvCacheUsage: (((index * 37 + sweep * 13) % 91) + 4) / 100,
  };
}

export async function startPodMetrics(pods: number): Promise<PodMetricsServers> {
  const counters = createServerCounters();
  const latency = createLatencyHistograms();
  for (let i = 0; i < 200; i++) {
    latency.timeToFirstToken.observe(0.02 + (i % 17) * 0.03);
    latency.e2eRequestLatency.observe(0.5 + (i % 23) * 0.4);
  }
  const sweeps = new Int32Array(pods);
  const indexOf = new Map<string, number>();
  for (let i = 0; i < pods; i++) indexOf.set(podIp(i), i);
  let scrapes = 0;

  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const index = indexOf.get(req.socket.localAddress ?? '');
    if (req.url !== '/metrics' || index === undefined) {
      res.writeHead(404).end();
      return;
    }
    scrapes++;
    const load = podLoad(index, sweeps[index]!++);
    const text = renderVllmMetrics({
      modelName: 'llama-3.1-8b-instruct',
      engine: {
        nowMs: Date.now(),
        running: load.running,
        waiting: load.waiting,
        kvCacheUsage: load.kvCacheUsage,
        kvBlocksUsed: Math.round(load.kvCacheUsage * 31250),
        kvBlocksTotal: 31250,
        prefixCachedBlocks: 12_000,
        prefixCacheHits: 1_200_000,
        prefixCacheQueries: 3_400_000,
        promptTokens: 3_400_000,
        generationTokens: 1_100_000,
        preemptions: 3,
        finishedRequests: 9_000,
        cancelledRequests: 12,
        steps: 250_000,
      },
      counters,
      latency,
      maxLoras: 0,
      nowSeconds: Date.now() / 1000,
    });
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(text);
  };

  const servers: http.Server[] = [];
  const listen = (host: string, port: number) =>
    new Promise<number>((resolve, reject) => {
      // Connections outlive the gaps between the parent's refreshes (Node's default is 5 s), as they do
      // between scrapes 50 ms apart, so a refresh costs scrapes rather than TCP handshakes.
      const server = http.createServer({ keepAliveTimeout: 120_000 }, handle);
      server.once('error', reject);
      server.listen(port, host, () => {
        servers.push(server);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const closeAll = () =>
    Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve())))).then(
      () => {},
    );

  // The first pod picks a free port; the others bind the same port on their own address. Another process
  // may hold that port on a wildcard address: then start over on a new one.
  for (let attempt = 0; ; attempt++) {
    const port = await listen(podIp(0), 0);
    try {
      for (let i = 1; i < pods; i++) await listen(podIp(i), port);
      return {
        port,
        scrapes: () => scrapes,
        close: () => {
          for (const s of servers) s.closeAllConnections();
          return closeAll();
        },
      };
    } catch (error) {
      await closeAll();
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 5) throw error;
    }
  }
}
