/**
 * The request store under load: ingest rate through the batched write path (RecordWriter → store.write,
 * batches with their rollups: the writer's defaults for SQLite, 500 records one at a time; for PostgreSQL
 * its POSTGRES_WRITER_OPTIONS, 1,000 records two at a time), and one `usage` query over 1M records spread over 7 days, on SQLite (a file in a temp dir,
 * the store's own settings: WAL, synchronous=NORMAL, 200 records per transaction) and on PostgreSQL (a
 * private server started as the tests start theirs, test/helpers/postgres.ts, with the server's default
 * settings, fsync on; the store's write transactions commit asynchronously, see postgres.ts). The 1M
 * records are the ingest workload, so the ingest figure is the rate over the whole load, tables and
 * indexes growing as they do in service. Being spread over a week, a 500-record batch spans about five
 * minutes, so it touches more rollup rows than a batch of live traffic at this rate would (all in one
 * minute): the rollup side is measured at its worst.
 *
 * Goals (issue 11): ingest ≥ 20,000 records/s on both; the usage query ≤ 300 ms. Where PostgreSQL is not
 * installed, its figures are left out (with a note on stderr), the SQLite ones still run.
 *
 * `--records N` (default 1,000,000) when run alone: `tsx bench/analytics-store.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { RequestRecord } from '../analytics/record.ts';
import { openPostgresStore, POSTGRES_WRITER_OPTIONS } from '../analytics/store/postgres.ts';
import { openSqliteStore, type SqliteStore } from '../analytics/store/sqlite.ts';
import type { RequestStore, UsageQuery } from '../analytics/store/store.ts';
import { RecordWriter, type RecordWriterOptions } from '../analytics/store/writer.ts';
import { postgresBinDir, startPostgres } from '../test/helpers/postgres.ts';
import type { Benchmark } from './benchmark.ts';
import { type BenchResult, report } from './report.ts';

const DEFAULT_RECORDS = 1_000_000;
const SPAN_MS = 7 * 24 * 60 * 60 * 1000;
const START = Date.UTC(2026, 0, 5);
const QUERY_RUNS = 5;
const PRODUCER_STEP = 200;

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A gateway's week: "chat-model" split 50/50 between two versions on two providers (80% of traffic), an
 * embedding model (20%), 12 keys, 5,000 sessions, 2% 5xx and 1% 429, log-normal-ish latencies.
 */
export function workload(count: number): (i: number) => RequestRecord {
  const next = random(42);
  const keys = Array.from({ length: 12 }, (_, k) => `key-${k}`);
  const chat = [
    { entry: 'chat-a', model: 'gpt-4o-2024-08-06', backend: 'openai', provider: 'OpenAI' },
    { entry: 'chat-b', model: 'claude-sonnet-4', backend: 'anthropic', provider: 'Anthropic' },
  ];
  const embed = { entry: 'embed', model: 'text-embedding-3-small', backend: 'openai', provider: 'OpenAI' };
  return (i) => {
    const isChat = next() < 0.8;
    const route = isChat ? chat[next() < 0.5 ? 0 : 1]! : embed;
    const u = next();
    const status = u < 0.02 ? 500 : u < 0.03 ? 429 : 200;
    const latencyMs = Math.round(40 * Math.exp(4 * next()) * 100) / 100;
    const prompt = 50 + Math.floor(next() * 2000);
    const completion = isChat ? 10 + Math.floor(next() * 600) : 0;
    return {
      id: `bench-${i.toString(36)}`,
      time: START + Math.floor((i * SPAN_MS) / count),
      keyId: keys[Math.floor(next() * keys.length)]!,
      routeConfig: 'default',
      routeEntry: route.entry,
      decision: 'sticky-split',
      logicalModel: isChat ? 'chat-model' : 'embed-model',
      resolvedModel: route.model,
      backend: route.backend,
      provider: route.provider,
      attempts: [{ backend: route.backend, status }],
      status,
      ...(status === 200 ? {} : { errorCode: status === 429 ? 'rate_limited' : 'provider_error' }),
      stream: isChat,
      cancelled: false,
      latencyMs,
      ...(isChat && status === 200 ? { ttftMs: Math.round(latencyMs * 0.25 * 100) / 100 } : {}),
      tokens: { prompt, completion, cached: Math.floor(prompt / 4) },
      costUsd: (prompt * 2.5 + completion * 10) / 1e6,
      sessionHash: (Math.floor(next() * 5000) * 2654435761).toString(16).padStart(64, '0'),
    };
  };
}

/**
 * Records/s of `count` records through a RecordWriter (default queue and batch sizes) into `store`, the
 * queue kept nearly full, as under sustained traffic: PRODUCER_STEP records per event loop turn.
 */
async function ingest(store: RequestStore, count: number, options: RecordWriterOptions): Promise<number> {
  const make = workload(count);
  const queueSize = 10_000;
  const writer = new RecordWriter(store, { ...options, queueSize, retentionMs: 0 });
  const started = performance.now();
  for (let i = 0; i < count; ) {
    if (writer.pending + PRODUCER_STEP > queueSize) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      continue;
    }
    for (const end = Math.min(count, i + PRODUCER_STEP); i < end; i++) writer.enqueue(make(i));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await writer.close();
  const seconds = (performance.now() - started) / 1000;
  const dropped = Object.values(writer.counters.dropped).reduce((a, b) => a + b, 0);
  if (dropped > 0 || writer.counters.written !== count)
    throw new Error(`ingest lost records: ${writer.counters.written} written, ${dropped} dropped`);
  return count / seconds;
}

/** Median ms of the usage query over the whole range, after one warm-up run. */
async function usageMs(store: RequestStore, query: UsageQuery): Promise<number> {
  const first = await store.usage(query);
  const total = first.groups.reduce((n, g) => n + g.requests, 0);
  const times: number[] = [];
  for (let r = 0; r < QUERY_RUNS; r++) {
    const started = performance.now();
    await store.usage(query);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  console.error(
    `  usage ${query.logicalModel ?? '(all models)'} by ${query.groupBy}, ${query.intervalMs / 60_000} min points: ` +
      `${first.groups.length} groups, ${total} requests, ${times.map((t) => t.toFixed(0)).join('/')} ms`,
  );
  return times[Math.floor(times.length / 2)]!;
}

const QUERY: UsageQuery = {
  logicalModel: 'chat-model',
  since: START,
  until: START + SPAN_MS,
  groupBy: 'resolvedModel',
  intervalMs: 60 * 60 * 1000,
};

async function measureStore(
  label: string,
  store: RequestStore,
  records: number,
  writer: RecordWriterOptions,
) {
  console.error(
    `${label}: writing ${records} records, batches of ${writer.batchSize ?? 500}, ${writer.concurrency ?? 1} in flight…`,
  );
  const rate = await ingest(store, records, writer);
  console.error(`  ${Math.round(rate)} records/s`);
  const ms = await usageMs(store, QUERY);
  await usageMs(store, { ...QUERY, logicalModel: undefined, groupBy: 'keyId' });
  // Sub-hour points read minute rollups only: the cost of a week at 15-minute resolution, for context.
  await usageMs(store, { ...QUERY, intervalMs: 15 * 60_000 });
  return { rate, ms };
}

/**
 * How long one SQLite write transaction (a default chunk, 200 records) holds the event loop: the
 * synchronous part of `write`, median of 50, on a store already holding `records` rows.
 */
async function sqliteBlockMs(store: SqliteStore, records: number): Promise<number> {
  const make = workload(records);
  const times: number[] = [];
  for (let k = 0; k < 50; k++) {
    const batch = Array.from({ length: 200 }, (_, j) => ({ ...make(k * 200 + j), id: `block-${k}-${j}` }));
    const started = performance.now();
    const written = store.write(batch); // a batch within one chunk runs to its COMMIT before write() returns
    times.push(performance.now() - started);
    await written;
  }
  times.sort((a, b) => a - b);
  console.error(
    `  a 200-record write transaction holds the event loop ${times[25]!.toFixed(1)} ms (median; max ${times[49]!.toFixed(1)} ms)`,
  );
  return times[25]!;
}

const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

async function measure(records: number): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), 'agent-router-bench-store-'));
  try {
    const sqlite = openSqliteStore({ dataDir: dir });
    const s = await measureStore('sqlite', sqlite, records, {});
    const blockMs = await sqliteBlockMs(sqlite, records);
    await sqlite.close();
    results.push(
      { name: 'analytics.ingest.sqlite.records-per-s', value: Math.round(s.rate), unit: 'records/s' },
      { name: 'analytics.ingest.sqlite.write-blocks-loop.ms', value: round(blockMs, 2), unit: 'ms' },
      { name: 'analytics.usage-query.1m-records.ms', value: round(s.ms), unit: 'ms' },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  if (postgresBinDir() === undefined) {
    console.error('postgres: not installed (no initdb), its figures are left out');
    return results;
  }
  const server = await startPostgres();
  try {
    const store = await openPostgresStore({ connectionString: await server.createDatabase('bench') });
    const p = await measureStore('postgres', store, records, POSTGRES_WRITER_OPTIONS);
    await store.close();
    results.push(
      { name: 'analytics.ingest.postgres.records-per-s', value: Math.round(p.rate), unit: 'records/s' },
      { name: 'analytics.usage-query.postgres.1m-records.ms', value: round(p.ms), unit: 'ms' },
    );
  } finally {
    await server.stop();
  }
  return results;
}

export const analyticsStore: Benchmark = {
  name: 'analytics request store',
  run: () => measure(DEFAULT_RECORDS),
};

if (import.meta.main) {
  const { values } = parseArgs({ options: { records: { type: 'string' } } });
  const records = values.records === undefined ? DEFAULT_RECORDS : Number(values.records);
  console.log(report(await measure(records)));
}
