/**
 * How the CLI opens the request store: the --store spec, retention, what a log line may say about a
 * PostgreSQL connection (never its password), and the background connection that keeps a database
 * that is down from holding up the gateway.
 */
import { describe, expect, it } from 'vitest';
import type { RequestStore } from '../../analytics/store/store.ts';
import {
  connectInBackground,
  describeStore,
  parseStoreSpec,
  recordInto,
  retentionMs,
} from '../../cli/request-store.ts';
import { StoreUnavailableError } from '../../console/server.ts';
import { createExtProcMetrics } from '../../observability/metrics.ts';
import { capturingLogger, eventually } from '../helpers/log-capture.ts';

const DAY = 86_400_000;

describe('--store', () => {
  const parse = (text: string | undefined, env: NodeJS.ProcessEnv = {}) =>
    parseStoreSpec(text, { dataDir: '/data', fallback: 'none', env });

  it('names SQLite under the data directory or a directory of its own, PostgreSQL, or none', () => {
    expect(parse('sqlite')).toEqual({ kind: 'sqlite', dataDir: '/data' });
    expect(parse('sqlite:/var/lib/ar')).toEqual({ kind: 'sqlite', dataDir: '/var/lib/ar' });
    expect(parse('postgres')).toEqual({ kind: 'postgres' });
    expect(parse('none')).toEqual({ kind: 'none' });
    expect(parse(undefined)).toEqual({ kind: 'none' });
    expect(parse(undefined, { AGENT_ROUTER_STORE: 'postgres' })).toEqual({ kind: 'postgres' });
    expect(parseStoreSpec(undefined, { dataDir: 'd', fallback: 'sqlite', env: {} })).toEqual({
      kind: 'sqlite',
      dataDir: 'd',
    });
  });

  it('refuses a connection string on the command line, and anything else', () => {
    expect(() => parse('postgres://u:pw@db/x')).toThrow(/DATABASE_URL/);
    expect(() => parse('postgres://u:pw@db/x')).not.toThrow(/pw/);
    expect(() => parse('mysql')).toThrow(/expected sqlite/);
    expect(() => parse('sqlite:')).toThrow();
  });

  it('describes a PostgreSQL store by host, port and database only', () => {
    const fromUrl = describeStore(
      { kind: 'postgres' },
      { DATABASE_URL: 'postgres://app:hunter2@db.internal:6432/router?sslmode=require' },
    );
    expect(fromUrl).toBe('postgres db.internal:6432/router (DATABASE_URL)');
    const fromPg = describeStore(
      { kind: 'postgres' },
      { PGHOST: 'pg', PGDATABASE: 'ar', PGUSER: 'app', PGPASSWORD: 'hunter2' },
    );
    expect(fromPg).toBe('postgres pg:5432/ar (PG* variables)');
    expect(describeStore({ kind: 'sqlite', dataDir: '/d' })).toBe('sqlite /d/requests.sqlite');
  });
});

describe('--retention-days', () => {
  it('is 30 days by default, 0 keeps everything, and only whole days are taken', () => {
    expect(retentionMs(undefined)).toBe(30 * DAY);
    expect(retentionMs('7')).toBe(7 * DAY);
    expect(retentionMs('0')).toBe(0);
    for (const bad of ['-1', '1.5', 'week']) expect(() => retentionMs(bad)).toThrow(/retention-days/);
  });
});

describe('a store connected in the background', () => {
  it('fails fast while connecting, retries, and serves once the database is there', async () => {
    const { logger, records } = capturingLogger();
    let attempts = 0;
    const real: RequestStore = {
      write: async () => {},
      requests: async () => ({ data: [] }),
      usage: async () => {
        throw new Error('unused');
      },
      experimentSamples: async () => [],
      prune: async () => {},
      close: async () => {},
    };
    const opened = connectInBackground(
      async () => {
        attempts++;
        if (attempts < 2) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
        return real;
      },
      'postgres db:5432/x',
      logger,
    );
    await expect(opened.store.write([])).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(opened.store.requests({}, 1)).rejects.toBeInstanceOf(StoreUnavailableError);
    await opened.ready;
    expect(attempts).toBe(2);
    await expect(opened.store.requests({}, 1)).resolves.toEqual({ data: [] });
    expect(records().map((r) => r.event)).toEqual(['request_store_unavailable', 'request_store_open']);
    await opened.store.close();
  });

  it('counts the records it cannot write as store_error drops on the Prometheus counter', async () => {
    const { logger } = capturingLogger();
    const metrics = createExtProcMetrics();
    const opened = connectInBackground(() => new Promise<RequestStore>(() => {}), 'postgres down', logger);
    const { writer, recorder } = recordInto(opened.store, {
      logger,
      dropped: metrics.recordsDropped,
      flushIntervalMs: 10,
    });
    for (let i = 0; i < 5; i++)
      recorder.onRequest({
        id: `r${i}`,
        time: 0,
        attempts: [],
        status: 200,
        stream: false,
        cancelled: false,
        latencyMs: 1,
      });
    await eventually(() => writer.counters.dropped.store_error === 5 || undefined);
    const text = await metrics.registry.metrics();
    expect(text).toContain('agent_router_request_records_dropped_total{reason="store_error"} 5');
    await writer.close();
    await opened.store.close();
  });
});
