/**
 * The endpoint picker's CPU per scheduling decision over pools of 10, 100 and 1,000 pods, against a no-op
 * ExternalProcessor on the same gRPC stack that answers the same FULL_DUPLEX_STREAMED messages the same
 * way minus the decision (bench/servers/noop-picker.ts). Same method as ext-proc-cpu.ts: each server in
 * its own process, CPU read over IPC around the measured window, cheapest of rotating rounds.
 *
 * Before measuring, every picker must show that it does its real work: every pod's metrics fresh (read by
 * the picker's own scraper from bench/pod-metrics.ts), decisions `picked`, and the decision's debug
 * record scoring every pod with non-zero queue, KV-cache and prefix-cache scores. Metrics are refreshed
 * (every pod scraped) before a round when the oldest are over REFRESH_AFTER_MS old, and every pod is
 * checked fresh after each round (see bench/servers/picker.ts for why the scraper's own timer is paused
 * while measuring). Refreshing 1,000 pods costs about a second, so not before every round.
 */
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DESTINATION_ENDPOINT_HEADER } from '../endpoint-picker/protocol.ts';
import type { Benchmark, BenchOptions } from './benchmark.ts';
import { createExtProcClient, DriverError, type ExtProcClient } from './ext-proc-driver.ts';
import { drivePicks, runPick } from './picker-driver.ts';
import { writePoolManifests } from './picker-pool.ts';
import { startPodMetrics } from './pod-metrics.ts';
import type { BenchResult } from './report.ts';
import { ServerProcess } from './server-process.ts';
import type { DecisionRecord, PoolFreshness } from './servers/picker.ts';

export const POOL_SIZES = [10, 100, 1000] as const;
const DEFAULT_REQUESTS = 250;
const CONCURRENCY = 16;
const ROUNDS = 12;
const REFRESH_AFTER_MS = 5_000;
/** The goal: a decision over 100 pods may cost at most this many times the no-op's CPU per request. */
export const PICKER_RATIO_GOAL = 1.3;
const GOAL_POOL_SIZE = 100;

interface Target {
  label: string;
  /** Pool size; undefined for the no-op. */
  pods: number | undefined;
  server: ServerProcess;
  client?: ExtProcClient;
  cpuUs: number[];
  /** Refreshes' CPU per pod scraped, µs. */
  scrapeUs: number[];
  /** Age of the oldest metrics at the end of each measured round, ms. */
  ageMs: number[];
}

async function freshness(target: Target, refresh: boolean): Promise<PoolFreshness> {
  const answer = await target.server.request({ type: refresh ? 'picker-refresh' : 'picker-pods' });
  if (answer.type !== 'picker-pods')
    throw new Error(`${target.label}: expected pod freshness, got ${answer.type}`);
  if (answer.pods !== target.pods || answer.fresh !== answer.pods) {
    throw new DriverError(
      `${target.label}: ${answer.fresh} of ${answer.pods} pods have fresh metrics (expected ${target.pods})`,
    );
  }
  if (refresh) target.scrapeUs.push(answer.scrapeCpuUs / answer.pods);
  return answer;
}

/** Refuses to measure a picker whose decision does not rest on live metrics and the prefix index. */
async function checkRealWork(target: Target, index: number): Promise<string> {
  const pool = await freshness(target, true);
  await target.server.request({ type: 'picker-explain-next' });
  const { headers } = await runPick(target.client!, index);
  const answer = await target.server.request({ type: 'picker-explained' });
  if (answer.type !== 'picker-explained' || answer.record === undefined)
    throw new DriverError(`${target.label}: no decision record was logged`);
  const record: DecisionRecord = answer.record;
  const destination = headers.request_headers?.response?.header_mutation?.set_headers
    ?.find((h) => h.header.key === DESTINATION_ENDPOINT_HEADER)
    ?.header.raw_value?.toString();
  if (record.outcome !== 'picked' || destination !== record.endpoints.join(','))
    throw new DriverError(`${target.label}: decision ${record.outcome}, destination ${destination}`);
  const scored = Object.values(record.scores);
  if (scored.length !== target.pods)
    throw new DriverError(`${target.label}: ${scored.length} of ${target.pods} pods were scored`);
  const best = (scorer: string) => Math.max(...scored.map((s) => s[scorer] ?? 0));
  for (const scorer of ['queue', 'kv-cache-utilization', 'prefix-cache']) {
    if (!(best(scorer) > 0)) throw new DriverError(`${target.label}: no pod has a ${scorer} score above 0`);
  }
  const primary = record.scores[Object.keys(record.scores)[0]!]!;
  const shown = Object.entries(primary)
    .map(([name, value]) => `${name} ${value}`)
    .join(', ');
  return (
    `${target.label}: picked ${destination}; ${pool.fresh}/${pool.pods} pods fresh (oldest ` +
    `${pool.maxAgeMs} ms); primary scored ${shown}; best prefix match ${best('prefix-cache')}`
  );
}

async function measure(target: Target, requests: number, firstIndex: number): Promise<number> {
  if (target.pods !== undefined && (await freshness(target, false)).maxAgeMs > REFRESH_AFTER_MS)
    await freshness(target, true);
  const before = await target.server.cpuMicros(true);
  await drivePicks(target.client!, { requests, concurrency: CONCURRENCY, firstIndex });
  const after = await target.server.cpuMicros(false);
  if (target.pods !== undefined) target.ageMs.push((await freshness(target, false)).maxAgeMs);
  return (after - before) / requests;
}

async function run(options: BenchOptions): Promise<BenchResult[]> {
  const requests = options.requests ?? DEFAULT_REQUESTS;
  const warmup = Math.max(600, requests);
  const [load] = os.loadavg();
  if (load! > os.availableParallelism() - 1) {
    console.error(
      `load average ${load!.toFixed(1)} on ${os.availableParallelism()} CPUs: expect noisy figures`,
    );
  }
  const metrics = await startPodMetrics(Math.max(...POOL_SIZES));
  const manifests = POOL_SIZES.map((pods) => writePoolManifests(pods, metrics.port));
  const targets: Target[] = [
    { label: 'noop', pods: undefined, server: new ServerProcess('noop-picker', options.cpuProfDir) },
    ...POOL_SIZES.map((pods, i) => ({
      label: `picker-${pods}`,
      pods,
      server: new ServerProcess('picker', options.cpuProfDir, manifests[i]),
    })),
  ].map((t) => ({ ...t, cpuUs: [], scrapeUs: [], ageMs: [] }));
  const pickers = targets.filter((t) => t.pods !== undefined);
  try {
    const ports = await Promise.all(targets.map((t) => t.server.ready));
    targets.forEach((t, i) => {
      t.client = createExtProcClient(ports[i]!);
    });
    for (const t of pickers) {
      const pool = await freshness(t, true);
      if (options.cpuProfDir) console.error(`${t.label}: pid ${pool.pid} (profiles under picker/)`);
    }
    let index = 0;
    // Warm-up also fills the prefix index, so measured decisions match conversations already placed.
    for (const t of targets) {
      await drivePicks(t.client!, { requests: warmup, concurrency: CONCURRENCY, firstIndex: index });
      index += warmup;
    }
    for (const t of pickers) console.error(await checkRealWork(t, index++));

    for (let r = 0; r < ROUNDS; r++) {
      const order = targets.map((_, i) => targets[(i + r) % targets.length]!);
      const line: string[] = [];
      for (const t of order) {
        const cpu = await measure(t, requests, index);
        index += requests;
        t.cpuUs.push(cpu);
        line.push(`${t.label} ${cpu.toFixed(1)}`);
      }
      console.error(`round ${r + 1}/${ROUNDS} (µs CPU/request): ${line.join(', ')}`);
    }

    const cheapest = (t: Target) => Math.min(...t.cpuUs);
    const noop = cheapest(targets[0]!);
    const results: BenchResult[] = [];
    const ratios: BenchResult[] = [];
    for (const t of pickers) {
      const cpu = cheapest(t);
      results.push({ name: `picker.decision.cpu-us-${t.pods}`, value: round2(cpu), unit: 'us' });
      ratios.push({ name: `picker.decision.cpu-ratio-${t.pods}`, value: round2(cpu / noop), unit: 'x-noop' });
      console.error(
        `${t.label}: ${cpu.toFixed(1)} µs CPU/request = ${(cpu / noop).toFixed(2)}x the no-op's ` +
          `${noop.toFixed(1)} µs; rounds ${Math.min(...t.cpuUs).toFixed(0)}–${Math.max(...t.cpuUs).toFixed(0)} µs`,
      );
    }
    // A cross-check on load drift: each round's picker window against the no-op window of the same round.
    for (const t of pickers) {
      const paired = t.cpuUs.map((cpu, r) => cpu / targets[0]!.cpuUs[r]!).sort((a, b) => a - b);
      console.error(
        `${t.label}: median of per-round ratios ${paired[Math.floor(paired.length / 2)]!.toFixed(2)}x`,
      );
    }
    const goal = cheapest(pickers.find((t) => t.pods === GOAL_POOL_SIZE)!) / noop;
    console.error(
      `picker at ${GOAL_POOL_SIZE} pods costs ${goal.toFixed(2)}x the no-op's CPU per decision ` +
        `(goal ≤ ${PICKER_RATIO_GOAL}x): ${goal <= PICKER_RATIO_GOAL ? 'met' : 'NOT met'}`,
    );
    const oldest = Math.max(...pickers.flatMap((t) => t.ageMs));
    console.error(
      `every pod's metrics were fresh after every round; the oldest were ${(oldest / 1000).toFixed(1)} s old`,
    );
    const largest = pickers[pickers.length - 1]!;
    const scrape = Math.min(...largest.scrapeUs);
    console.error(
      `not in the figures above: scraping costs the picker ${scrape.toFixed(0)} µs CPU per pod scrape, ` +
        `${((scrape * largest.pods! * 20) / 1e4).toFixed(0)}% of a core for ${largest.pods} pods at the ` +
        'default 50 ms interval',
    );
    return [
      ...results,
      { name: 'noop-picker.decision.cpu-us', value: round2(noop), unit: 'us' },
      ...ratios,
      { name: 'picker.scrape.cpu-us-per-pod', value: round2(scrape), unit: 'us' },
    ];
  } finally {
    for (const t of targets) t.client?.close();
    await Promise.all(
      targets.map((t) =>
        Promise.race([
          t.server.stop(),
          new Promise<void>((resolve) => setTimeout(resolve, 5000).unref()),
        ]).finally(() => t.server.kill()),
      ),
    );
    await metrics.close();
    for (const file of manifests) rmSync(path.dirname(file), { recursive: true, force: true });
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

export const pickerCpu: Benchmark = { name: 'endpoint picker CPU per decision', run };
