/**
 * The request store as the CLI opens it, and the writer that puts every request record into it.
 *
 *   --store sqlite           SQLite, file requests.sqlite under --data-dir (default .agent-router/)
 *   --store sqlite:DIR       SQLite under DIR
 *   --store postgres         PostgreSQL: DATABASE_URL if set, else libpq's PG* variables (PGHOST, PGPORT,
 *                            PGDATABASE, PGUSER, PGPASSWORD, PGSSLMODE…), which node-postgres reads itself
 *   --store none             no store
 *
 * AGENT_ROUTER_STORE gives the same value when the flag is absent. A connection string on the command
 * line is refused: it would show in `ps` and in logs. What is logged of a store is its kind, host, port
 * and database, never a user or password.
 *
 * PostgreSQL is connected (and its schema created) in the background, retrying with backoff, so a
 * database that is down when a sidecar starts costs records (counted as store_error drops), not the
 * gateway: requests never wait for the store (analytics/store/writer.ts).
 */
import path from 'node:path';
import type { RequestRecord } from '../analytics/record.ts';
import { openPostgresStore } from '../analytics/store/postgres.ts';
import { openSqliteStore, SQLITE_FILE } from '../analytics/store/sqlite.ts';
import type { RequestStore } from '../analytics/store/store.ts';
import { DEFAULT_RETENTION_MS } from '../analytics/store/store.ts';
import { RecordWriter, type RecordWriterOptions } from '../analytics/store/writer.ts';
import { StoreUnavailableError } from '../console/server.ts';
import type { RequestObserver } from '../ext-proc/request-log.ts';
import type { Logger } from '../observability/logger.ts';

export const STORE_ENV = 'AGENT_ROUTER_STORE';
export const DEFAULT_DATA_DIR = '.agent-router';
export const DEFAULT_RETENTION_DAYS = DEFAULT_RETENTION_MS / (24 * 60 * 60 * 1000);

export type StoreSpec = { kind: 'sqlite'; dataDir: string } | { kind: 'postgres' } | { kind: 'none' };

/** `--store` (or AGENT_ROUTER_STORE) as a spec; `fallback` when neither is given. */
export function parseStoreSpec(
  text: string | undefined,
  options: { dataDir: string; fallback: 'sqlite' | 'none'; env?: NodeJS.ProcessEnv },
): StoreSpec {
  const value = text ?? (options.env ?? process.env)[STORE_ENV] ?? options.fallback;
  if (value === 'none') return { kind: 'none' };
  if (value === 'sqlite') return { kind: 'sqlite', dataDir: options.dataDir };
  if (value.startsWith('sqlite:') && value.length > 'sqlite:'.length)
    return { kind: 'sqlite', dataDir: value.slice('sqlite:'.length) };
  if (value === 'postgres' || value === 'postgresql') return { kind: 'postgres' };
  if (/^postgres(ql)?:\/\//.test(value))
    throw new Error(
      "--store: give PostgreSQL's connection in DATABASE_URL or the PG* variables, not on the command line (it would show in ps and logs); then --store postgres",
    );
  throw new Error(`--store ${JSON.stringify(value)}: expected sqlite, sqlite:DIR, postgres or none`);
}

/** `--retention-days`: whole days ≥ 0 (0 keeps everything: another process prunes, or nobody). */
export function retentionMs(text: string | undefined): number {
  if (text === undefined) return DEFAULT_RETENTION_MS;
  const days = Number(text);
  if (!Number.isInteger(days) || days < 0 || days > 36_500)
    throw new Error(`--retention-days ${text}: expected whole days from 0 (keep all) to 36500`);
  return days * 24 * 60 * 60 * 1000;
}

/** Where the store is, for a log line: no user, no password. */
export function describeStore(spec: StoreSpec, env: NodeJS.ProcessEnv = process.env): string {
  if (spec.kind === 'none') return 'none';
  if (spec.kind === 'sqlite') return `sqlite ${path.join(spec.dataDir, SQLITE_FILE)}`;
  if (env.DATABASE_URL) {
    try {
      const url = new URL(env.DATABASE_URL);
      return `postgres ${url.hostname}:${url.port || 5432}${url.pathname} (DATABASE_URL)`;
    } catch {
      return 'postgres (DATABASE_URL, not a URL node-postgres may still parse)';
    }
  }
  return `postgres ${env.PGHOST ?? 'localhost'}:${env.PGPORT ?? 5432}/${env.PGDATABASE ?? env.PGUSER ?? ''} (PG* variables)`;
}

export interface OpenedStore {
  store: RequestStore;
  /** Resolves once the store is usable (at once for SQLite). */
  ready: Promise<void>;
}

/** Undefined for `none`. SQLite opens at once (a bad directory throws); PostgreSQL in the background. */
export function openStore(
  spec: StoreSpec,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
): OpenedStore | undefined {
  if (spec.kind === 'none') return undefined;
  if (spec.kind === 'sqlite') {
    const store = openSqliteStore({ dataDir: spec.dataDir });
    logger.info({ event: 'request_store_open', store: describeStore(spec, env) }, 'request store open');
    return { store, ready: Promise.resolve() };
  }
  const connectionString = env.DATABASE_URL || undefined;
  const onError = (error: Error) =>
    logger.warn(
      { event: 'request_store_connection_error', error: error.message },
      'request store connection error',
    );
  return connectInBackground(
    () => openPostgresStore({ ...(connectionString ? { connectionString } : {}), onError }),
    describeStore(spec, env),
    logger,
  );
}

/**
 * A store that is `open()`ed with retries (1 s doubling to 30 s) until it succeeds; until then writes
 * and reads fail at once with StoreUnavailableError (the writer counts a store_error drop, the console
 * answers 503), so nothing waits for a database that is not there.
 */
export function connectInBackground(
  open: () => Promise<RequestStore>,
  description: string,
  logger: Logger,
): OpenedStore {
  let inner: RequestStore | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let delayMs = 1_000;
  let resolveReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    resolveReady = resolve;
  });
  const attempt = () => {
    timer = undefined;
    open().then(
      (store) => {
        if (closed) {
          void store.close();
          return;
        }
        inner = store;
        logger.info({ event: 'request_store_open', store: description }, 'request store open');
        resolveReady();
      },
      (error: Error) => {
        if (closed) return;
        logger.warn(
          {
            event: 'request_store_unavailable',
            store: description,
            error: error.message,
            retryInMs: delayMs,
          },
          'request store not reachable; records are dropped until it is',
        );
        timer = setTimeout(attempt, delayMs);
        timer.unref();
        delayMs = Math.min(delayMs * 2, 30_000);
      },
    );
  };
  attempt();
  const connected = (): RequestStore => {
    if (inner === undefined)
      throw new StoreUnavailableError(`request store (${description}) not connected yet`);
    return inner;
  };
  const store: RequestStore = {
    write: async (records) => connected().write(records),
    requests: async (filter, limit, cursor) => connected().requests(filter, limit, cursor),
    usage: async (query) => connected().usage(query),
    experimentSamples: async (filter, limit) => connected().experimentSamples(filter, limit),
    prune: async (olderThanMs) => connected().prune(olderThanMs),
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      await inner?.close();
    },
  };
  return { store, ready };
}

export interface RecordingOptions extends RecordWriterOptions {
  logger: Logger;
  /** ext-proc's agent_router_request_records_dropped_total. */
  dropped: { inc(labels: { reason: string }, value: number): void };
}

/** The writer in front of `store` and the request observer that feeds it (ext-proc's `recorders`). */
export function recordInto(
  store: RequestStore,
  options: RecordingOptions,
): { writer: RecordWriter; recorder: RequestObserver } {
  const { dropped, ...writerOptions } = options;
  const writer = new RecordWriter(store, {
    ...writerOptions,
    onDrop: (count, reason) => dropped.inc({ reason }, count),
  });
  return { writer, recorder: { onRequest: (record: RequestRecord) => writer.enqueue(record) } };
}

/** Closes the writer (flushing what is queued) for at most `graceMs`: a store that hangs must not hold up a shutdown. */
export async function closeWriter(writer: RecordWriter, graceMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    writer.close(),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    }),
  ]);
  clearTimeout(timer);
}
