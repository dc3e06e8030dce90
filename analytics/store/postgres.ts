/**
 * The shared request store: one PostgreSQL database that every ext-proc sidecar writes to and the
 * console reads, through `pg` (pure JS).
 *
 * - Raw rows live in `agent_router_requests`, range-partitioned by day (UTC) on `time`; a partition is
 *   created before the first write that needs it (and `partitionsAhead` days ahead at start and at each
 *   prune), and retention drops whole partitions, so old data leaves without DELETE, bloat or vacuum.
 * - Each batch is one transaction: one multi-row INSERT of every row, the rows sent as one JSON array that
 *   `json_populate_recordset` turns into table rows (a fixed statement text, prepared once per connection,
 *   whatever the batch size; no 65,535-parameter ceiling; and the cheapest encoding for the sidecar's
 *   CPU, where per-column array parameters cost node-postgres an escaping pass per value), then one
 *   multi-row upsert per rollup table (minute, hour) of the batch's rollups (`INSERT … ON CONFLICT DO
 *   UPDATE`, additive), in a fixed key order so concurrent writers cannot deadlock.
 * - Schema and partitions are created under a transaction-scoped advisory lock, so sidecars starting at
 *   once against one database serialise their DDL instead of racing on `IF NOT EXISTS`.
 */
import { Pool, type PoolClient, type PoolConfig } from 'pg';
import type { RequestRecord } from '../record.ts';
import { encodeCursor } from './cursor.ts';
import { checkLimit, requestsQuery } from './filter.ts';
import {
  HOUR_MS,
  MINUTE_MS,
  ROLLUP_COLUMNS,
  ROLLUP_LABELS,
  ROLLUP_MAXES,
  ROLLUP_MINS,
  ROLLUP_PERIODS,
  ROLLUP_SUMS,
  type RollupPeriod,
  rollUp,
  rollupValues,
} from './rollup.ts';
import { RECORD_COLUMNS, recordValues, rowToRecord, rowToSample, SAMPLE_COLUMNS } from './rows.ts';
import type {
  ExperimentSample,
  RequestFilter,
  RequestPage,
  RequestStore,
  SampleFilter,
  UsageQuery,
  UsageResult,
} from './store.ts';
import { buildUsage, GROUP_COLUMNS, planUsage, type UsageCell, usageSelectList } from './usage.ts';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:5432/db?sslmode=…`; or give `pool` (node-postgres PoolConfig) instead. */
  connectionString?: string;
  pool?: PoolConfig;
  /** Days of partitions kept created beyond today. */
  partitionsAhead?: number;
  /** The clock `prune` measures age against. */
  now?: () => number;
  /** Errors of idle pooled connections (the pool replaces them); without a listener they would crash the process. */
  onError?: (error: Error) => void;
}

/**
 * How a RecordWriter should feed this store: `new RecordWriter(store, { ...POSTGRES_WRITER_OPTIONS, … })`.
 * A batch costs five round trips whatever its size, so larger batches and two in flight (one encoded
 * while the server stores the other, two server processes sharing the work) roughly double what the
 * writer's defaults (500, one at a time, which suit SQLite) reach; see `npm run bench`.
 */
export const POSTGRES_WRITER_OPTIONS = { batchSize: 1000, concurrency: 2 } as const;

const RECORDS = 'agent_router_requests';
/** One rollup table per period, same columns. */
const ROLLUPS: Readonly<Record<RollupPeriod, string>> = {
  [MINUTE_MS]: 'agent_router_rollups_1m',
  [HOUR_MS]: 'agent_router_rollups_1h',
};
const DAY_MS = 24 * 60 * 60 * 1000;
/** pg_advisory_xact_lock(int, int) key of all of this store's DDL: "agrt", 1. */
const DDL_LOCK = 'SELECT pg_advisory_xact_lock(1634169460, 1)';
const DDL_TRY_LOCK = 'SELECT pg_try_advisory_xact_lock(1634169460, 1) AS locked';
/** SQLSTATE 23514 with this message: a row's time has no partition (one dropped or created elsewhere). */
const NO_PARTITION = /no partition of relation/;

/** PostgreSQL type of each raw column. */
const RECORD_TYPES: Record<(typeof RECORD_COLUMNS)[number], string> = {
  id: 'text',
  time: 'int8',
  key_id: 'text',
  method: 'text',
  path: 'text',
  operation: 'text',
  route_config: 'text',
  route_entry: 'text',
  decision: 'text',
  logical_model: 'text',
  resolved_model: 'text',
  backend: 'text',
  provider: 'text',
  endpoint: 'text',
  attempts: 'text',
  status: 'int4',
  error_code: 'text',
  stream: 'bool',
  cancelled: 'bool',
  latency_ms: 'float8',
  ttft_ms: 'float8',
  tpot_ms: 'float8',
  tokens_prompt: 'int4',
  tokens_completion: 'int4',
  tokens_cached: 'int4',
  tokens_reasoning: 'int4',
  cost_usd: 'float8',
  session_hash: 'text',
  response_model: 'text',
  trace_parent: 'text',
  trace_state: 'text',
};
const REQUIRED = new Set(['id', 'time', 'attempts', 'status', 'stream', 'cancelled', 'latency_ms']);

/** A raw column's definition in CREATE TABLE and ALTER TABLE … ADD COLUMN. */
const columnDefinition = (c: (typeof RECORD_COLUMNS)[number]) =>
  `${c} ${RECORD_TYPES[c]}${c === 'id' ? ' COLLATE "C"' : ''}${REQUIRED.has(c) ? ' NOT NULL' : ''}`;

const ROLLUP_TYPES: Record<string, string> = Object.fromEntries([
  ['start', 'int8'],
  ...ROLLUP_LABELS.map((c) => [c, 'text']),
  ...ROLLUP_SUMS.map((c) => [c, c === 'cost_usd' ? 'float8' : 'int8']),
  ...[...ROLLUP_MINS, ...ROLLUP_MAXES].map((c) => [c, 'float8']),
]);

/** Rollup count columns left out of the JSON when zero. */
const ROLLUP_ZEROS: ReadonlySet<string> = new Set(ROLLUP_SUMS);

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS ${RECORDS} (
    ${RECORD_COLUMNS.map(columnDefinition).join(',\n    ')},
    PRIMARY KEY (time, id)
  ) PARTITION BY RANGE (time)`,
  `CREATE INDEX IF NOT EXISTS ${RECORDS}_logical_model ON ${RECORDS} (logical_model, time, id)`,
  `CREATE INDEX IF NOT EXISTS ${RECORDS}_resolved_model ON ${RECORDS} (resolved_model, time, id)`,
  `CREATE INDEX IF NOT EXISTS ${RECORDS}_key_id ON ${RECORDS} (key_id, time, id)`,
  ...ROLLUP_PERIODS.flatMap((period) => [
    `CREATE TABLE IF NOT EXISTS ${ROLLUPS[period]} (
    ${ROLLUP_COLUMNS.map(
      (c) => `${c} ${ROLLUP_TYPES[c]}${c === 'ttft_min' || c === 'ttft_max' ? '' : ' NOT NULL'}`,
    ).join(',\n    ')},
    PRIMARY KEY (start, ${ROLLUP_LABELS.join(', ')})
  )`,
    `CREATE INDEX IF NOT EXISTS ${ROLLUPS[period]}_logical_model ON ${ROLLUPS[period]} (logical_model, start)`,
  ]),
];

/**
 * A batch's transaction commits without waiting for its WAL to reach disk (for this transaction only):
 * a database crash can lose the last fraction of a second of request records (up to 3 × wal_writer_delay),
 * never corrupt or half-apply a batch, and a commit no longer costs a disk flush. A request log can take
 * that trade; the writer drops batches on failure anyway.
 */
const BEGIN_WRITE = 'BEGIN; SET LOCAL synchronous_commit TO off';

const INSERT_TEXT = `INSERT INTO ${RECORDS} (${RECORD_COLUMNS.join(', ')})
    SELECT ${RECORD_COLUMNS.join(', ')} FROM json_populate_recordset(NULL::${RECORDS}, $1::json)
    ON CONFLICT (time, id) DO NOTHING`;
const INSERT_RECORDS = { name: 'agent_router_insert_requests', text: INSERT_TEXT };
/** The same insert naming the rows it inserted, for the rare batch that holds an already stored record. */
const INSERT_RECORDS_RETURNING = {
  name: 'agent_router_insert_requests_returning',
  text: `${INSERT_TEXT} RETURNING time, id`,
};

const upsertRollups = (period: RollupPeriod) => ({
  name: `agent_router_upsert_${ROLLUPS[period]}`,
  text: `INSERT INTO ${ROLLUPS[period]} AS r (${ROLLUP_COLUMNS.join(', ')})
    SELECT ${ROLLUP_COLUMNS.map((c) => (ROLLUP_ZEROS.has(c) ? `COALESCE(${c}, 0)` : c)).join(', ')}
    FROM json_populate_recordset(NULL::${ROLLUPS[period]}, $1::json)
    ON CONFLICT (start, ${ROLLUP_LABELS.join(', ')}) DO UPDATE SET
    ${[
      ...ROLLUP_SUMS.map((c) => `${c} = r.${c} + EXCLUDED.${c}`),
      // LEAST and GREATEST skip NULLs, as the TTFT extremes of a minute without TTFT need.
      ...ROLLUP_MINS.map((c) => `${c} = LEAST(r.${c}, EXCLUDED.${c})`),
      ...ROLLUP_MAXES.map((c) => `${c} = GREATEST(r.${c}, EXCLUDED.${c})`),
    ].join(',\n    ')}`,
});
const UPSERT_ROLLUPS = ROLLUP_PERIODS.map((period) => ({ period, statement: upsertRollups(period) }));

const SAMPLES = {
  name: 'agent_router_experiment_samples',
  text: `SELECT ${SAMPLE_COLUMNS.join(', ')} FROM ${RECORDS}
    WHERE logical_model = $1 AND route_config = $2 AND decision = ANY($3::text[]) AND time >= $4 AND time < $5
    ORDER BY time DESC, id DESC LIMIT $6`,
};

/** NUL and unpaired surrogates: PostgreSQL text cannot hold the first, its JSON input refuses the second. */
const UNSTORABLE = /[\u0000\ud800-\udfff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * `text` as PostgreSQL can store it: NUL and unpaired surrogates become U+FFFD. Such text comes from
 * clients (a `model` of "\u0000"); left as is, it would fail the whole batch it is in.
 */
function storable(text: string): string {
  if (!UNSTORABLE.test(text)) return text;
  return text.replace(LONE_SURROGATE, '\ufffd').replaceAll('\u0000', '\ufffd');
}

/**
 * Rows as the JSON array of objects json_populate_recordset reads, written out directly (objects with 28
 * or 52 computed keys would be slow dictionary-mode objects). A key left out reads as NULL, so NULLs are
 * left out, and so are the zero counts of `zeros` columns (most histogram buckets of a rollup row), which
 * the statement reads back through COALESCE. A JSON scalar is read through its column type's text input,
 * so recordValues' 0/1 booleans fill bool columns; a non-finite number becomes null, as in JSON.stringify;
 * text goes through `storable`.
 */
function rowsJson(
  rows: readonly (string | number | null)[][],
  names: readonly string[],
  zeros: ReadonlySet<string> = new Set(),
): string {
  const keys = names.map((name) => `"${name}":`);
  const omitZero = names.map((name) => zeros.has(name));
  let out = '[';
  for (let r = 0; r < rows.length; r++) {
    out += r === 0 ? '{' : ',{';
    const row = rows[r]!;
    let first = true;
    for (let c = 0; c < keys.length; c++) {
      const v = row[c];
      if (v === null || v === undefined || (v === 0 && omitZero[c])) continue;
      out +=
        (first ? '' : ',') +
        keys[c]! +
        (typeof v === 'string' ? JSON.stringify(storable(v)) : Number.isFinite(v) ? v : 'null');
      first = false;
    }
    out += '}';
  }
  return `${out}]`;
}

/**
 * ALTER TABLE on the partitioned parent adds the columns to every partition. It takes an ACCESS EXCLUSIVE
 * lock on the parent even when IF NOT EXISTS makes it a no-op (checked on PostgreSQL 15), which would
 * stall the other sidecars' inserts at each start; so the catalog is read first and the ALTER runs only
 * when a column is missing. Only nullable columns can be added to a table that holds rows.
 */
async function addMissingColumns(client: PoolClient): Promise<void> {
  const result = await client.query<{ name: string }>(
    `SELECT attname AS name FROM pg_attribute
     WHERE attrelid = '${RECORDS}'::regclass AND attnum > 0 AND NOT attisdropped`,
  );
  const present = new Set(result.rows.map((r) => r.name));
  const missing = RECORD_COLUMNS.filter((c) => !present.has(c));
  if (missing.length === 0) return;
  const additions = missing.map((c) => `ADD COLUMN IF NOT EXISTS ${columnDefinition(c)}`);
  await client.query(`ALTER TABLE ${RECORDS} ${additions.join(', ')}`);
}

const dayOf = (time: number) => Math.floor(time / DAY_MS);
const partitionName = (day: number) =>
  `${RECORDS}_p${new Date(day * DAY_MS).toISOString().slice(0, 10).replaceAll('-', '')}`;
const PARTITION_DAY = new RegExp(`^${RECORDS}_p(\\d{4})(\\d{2})(\\d{2})$`);

export class PostgresStore implements RequestStore {
  private readonly pool: Pool;
  private readonly now: () => number;
  private readonly partitionsAhead: number;
  /** Days whose partition this process has created or seen created. */
  private readonly partitions = new Set<number>();

  constructor(pool: Pool, options: PostgresStoreOptions) {
    this.pool = pool;
    this.now = options.now ?? Date.now;
    this.partitionsAhead = options.partitionsAhead ?? 2;
  }

  /**
   * Creates the schema (idempotent, safe against concurrent starts), adds the record columns a table
   * created by an earlier schema lacks, and creates the partitions ahead.
   */
  async init(): Promise<void> {
    await this.ddl(async (client) => {
      for (const statement of SCHEMA) await client.query(statement);
      await addMissingColumns(client);
    });
    await this.ensureAhead();
  }

  /** Runs `work` in a transaction holding the store's DDL advisory lock. */
  private async ddl(work: (client: PoolClient) => Promise<void>): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(DDL_LOCK);
      await work(client);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  private async ensureAhead(): Promise<void> {
    const today = dayOf(this.now());
    await this.ensurePartitions(Array.from({ length: this.partitionsAhead + 1 }, (_, i) => today + i));
  }

  private async ensurePartitions(days: Iterable<number>): Promise<void> {
    const missing = [...new Set(days)].filter((d) => !this.partitions.has(d));
    if (missing.length === 0) return;
    await this.ddl(async (client) => {
      for (const day of missing) {
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${partitionName(day)} PARTITION OF ${RECORDS}
           FOR VALUES FROM (${day * DAY_MS}) TO (${(day + 1) * DAY_MS})`,
        );
      }
    });
    for (const day of missing) this.partitions.add(day);
  }

  async write(records: readonly RequestRecord[]): Promise<void> {
    if (records.length === 0) return;
    const days = new Set(records.map((r) => dayOf(r.time)));
    await this.ensurePartitions(days);
    try {
      await this.insert(records);
    } catch (error) {
      if (!NO_PARTITION.test(String((error as Error).message))) throw error;
      // Another process dropped a partition this one remembered (retention): forget, recreate, retry once.
      for (const day of days) this.partitions.delete(day);
      await this.ensurePartitions(days);
      await this.insert(records);
    }
  }

  private async insert(records: readonly RequestRecord[]): Promise<void> {
    const values = [rowsJson(records.map(recordValues), RECORD_COLUMNS)];
    const client = await this.pool.connect();
    try {
      await client.query(BEGIN_WRITE);
      const inserted = await client.query({ ...INSERT_RECORDS, values });
      let fresh = records;
      if (inserted.rowCount !== records.length) {
        // A (time, id) already stored, or repeated in the batch, was skipped: redo the batch learning which
        // rows went in, and roll up only those.
        await client.query('ROLLBACK');
        await client.query(BEGIN_WRITE);
        const returned = await client.query<{ time: string; id: string }>({
          ...INSERT_RECORDS_RETURNING,
          values,
        });
        const keys = new Set(returned.rows.map((row) => `${row.time}\u0000${row.id}`));
        fresh = records.filter((r) => keys.delete(`${Math.trunc(r.time)}\u0000${r.id}`));
      }
      for (const { period, statement } of UPSERT_ROLLUPS) {
        const rollups = rollUp(fresh, period);
        if (rollups.length === 0) continue;
        await client.query({
          ...statement,
          values: [rowsJson(rollups.map(rollupValues), ROLLUP_COLUMNS, ROLLUP_ZEROS)],
        });
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  async requests(filter: RequestFilter, limit: number, cursor?: string): Promise<RequestPage> {
    const query = requestsQuery(
      filter,
      limit,
      cursor,
      (i) => `$${i}`,
      (value) => value,
    );
    const result = await this.pool.query({
      text: `SELECT ${RECORD_COLUMNS.join(', ')} FROM ${RECORDS} ${query.where}
        ORDER BY time DESC, id DESC LIMIT $${query.params.length + 1}`,
      values: [...query.params, query.fetch],
    });
    const data = result.rows.slice(0, limit).map(rowToRecord);
    const last = data[data.length - 1];
    return result.rows.length > limit && last !== undefined
      ? { data, nextCursor: encodeCursor({ time: last.time, id: last.id }) }
      : { data };
  }

  async usage(query: UsageQuery): Promise<UsageResult> {
    const plan = planUsage(query);
    const results = await Promise.all(
      plan.segments.map((segment) => {
        const values: (string | number)[] = [plan.origin, query.intervalMs, segment.from, segment.to];
        if (query.logicalModel !== undefined) values.push(query.logicalModel);
        return this.pool.query<UsageCell>({
          text: `SELECT ${GROUP_COLUMNS[query.groupBy]} AS key, ((start - $1::int8) / $2::int8)::int4 AS point,
            ${usageSelectList((e) => `(${e})::float8`)}
            FROM ${ROLLUPS[segment.periodMs]} WHERE start >= $3::int8 AND start < $4::int8
            ${query.logicalModel !== undefined ? 'AND logical_model = $5' : ''}
            GROUP BY 1, 2`,
          values,
        });
      }),
    );
    return buildUsage(
      query,
      plan,
      results.flatMap((r) => r.rows),
    );
  }

  async experimentSamples(filter: SampleFilter, limit: number): Promise<ExperimentSample[]> {
    checkLimit(limit);
    const { logicalModel, routeConfig, decisions, since, until } = filter;
    const result = await this.pool.query({
      ...SAMPLES,
      values: [logicalModel, routeConfig, decisions, since, until, limit],
    });
    return result.rows.map(rowToSample);
  }

  /**
   * Drops the day partitions that end at or before the cutoff (so rows are kept up to one day beyond the
   * retention), deletes the rollup periods that start before it, and creates the partitions ahead. When another sidecar
   * is already pruning, this one skips the drops.
   */
  async prune(olderThanMs: number): Promise<void> {
    const cutoff = this.now() - olderThanMs;
    const dropped: number[] = [];
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const lock = await client.query<{ locked: boolean }>(DDL_TRY_LOCK);
      if (lock.rows[0]?.locked) {
        const partitions = await client.query<{ name: string }>(
          `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = '${RECORDS}'::regclass`,
        );
        for (const { name } of partitions.rows) {
          const match = PARTITION_DAY.exec(name);
          if (match === null) continue;
          const day = dayOf(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
          if ((day + 1) * DAY_MS > cutoff) continue;
          await client.query(`DROP TABLE IF EXISTS ${name}`);
          dropped.push(day);
        }
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
    for (const day of dropped) this.partitions.delete(day);
    for (const period of ROLLUP_PERIODS) {
      await this.pool.query(`DELETE FROM ${ROLLUPS[period]} WHERE start < $1`, [
        Math.floor(cutoff / period) * period,
      ]);
    }
    await this.ensureAhead();
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Connects, creates the schema if needed and returns the store. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const pool = new Pool({ connectionString: options.connectionString, max: 4, ...options.pool });
  pool.on('error', (error) => options.onError?.(error));
  const store = new PostgresStore(pool, options);
  try {
    await store.init();
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
  return store;
}
