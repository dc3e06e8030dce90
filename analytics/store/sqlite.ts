/**
 * The embedded request store: one SQLite file under the data directory, through Node's built-in
 * `node:sqlite` (no native addon). WAL mode, so the console can read while ext-proc writes; statements
 * compiled once (queries once per filter shape); each chunk of a batch inserted in one transaction that
 * also upserts its per-minute and per-hour rollups.
 *
 * `node:sqlite` is synchronous: a statement holds the event loop until it returns. So no call does an
 * unbounded amount of work at once: `write` commits at most `chunkSize` records per transaction (default
 * 200, about 5 ms of CPU in `npm run bench`'s workload, which reports it as
 * analytics.ingest.sqlite.write-blocks-loop.ms; 500 doubles that for a quarter more throughput) and
 * yields to the event loop (setImmediate) between chunks; `prune` deletes in chunks the same way; `usage`
 * reads rollups, whose size grows with minutes and hours rather than requests. `busy_timeout` is short
 * for the same reason: one process writes the file (several sidecars share PostgreSQL instead), so
 * waiting on a lock only happens around a reader's checkpoint.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import type { RequestRecord } from '../record.ts';
import { encodeCursor } from './cursor.ts';
import { checkLimit, requestsQuery } from './filter.ts';
import {
  HOUR_MS,
  LATENCY_COLUMNS,
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
  TTFT_COLUMNS,
} from './rollup.ts';
import {
  RECORD_COLUMNS,
  type RecordColumn,
  recordValues,
  rowToRecord,
  rowToSample,
  SAMPLE_COLUMNS,
} from './rows.ts';
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

/** The database file's name inside the data directory. */
export const SQLITE_FILE = 'requests.sqlite';

export interface SqliteStoreOptions {
  /** Directory that holds the database file (created if missing), or ':memory:' for a private in-memory database. */
  dataDir: string;
  /** Records per transaction; the event loop runs between transactions. */
  chunkSize?: number;
  /** The clock `prune` measures age against. */
  now?: () => number;
}

const RECORDS = 'agent_router_requests';
/** One rollup table per period, same columns. */
const ROLLUPS: Readonly<Record<RollupPeriod, string>> = {
  [MINUTE_MS]: 'agent_router_rollups_1m',
  [HOUR_MS]: 'agent_router_rollups_1h',
};
/** Rows deleted per statement by `prune`. */
const PRUNE_CHUNK = 5_000;

function rollupTable(name: string): string {
  return `CREATE TABLE IF NOT EXISTS ${name} (
  start INTEGER NOT NULL,
  ${ROLLUP_LABELS.map((c) => `${c} TEXT NOT NULL`).join(',\n  ')},
  requests INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  tokens_prompt INTEGER NOT NULL,
  tokens_completion INTEGER NOT NULL,
  tokens_cached INTEGER NOT NULL,
  tokens_reasoning INTEGER NOT NULL,
  cost_usd REAL NOT NULL,
  ${[...LATENCY_COLUMNS, ...TTFT_COLUMNS].map((c) => `${c} INTEGER NOT NULL`).join(', ')},
  latency_min REAL NOT NULL,
  ttft_min REAL,
  latency_max REAL NOT NULL,
  ttft_max REAL,
  PRIMARY KEY (start, ${ROLLUP_LABELS.join(', ')})
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ${name}_logical_model ON ${name} (logical_model, start);`;
}

/** SQLite type of each raw column, NOT NULL on the columns every record has. */
const RECORD_TYPES: Record<RecordColumn, string> = {
  id: 'TEXT NOT NULL',
  time: 'INTEGER NOT NULL',
  key_id: 'TEXT',
  method: 'TEXT',
  path: 'TEXT',
  operation: 'TEXT',
  route_config: 'TEXT',
  route_entry: 'TEXT',
  decision: 'TEXT',
  logical_model: 'TEXT',
  resolved_model: 'TEXT',
  backend: 'TEXT',
  provider: 'TEXT',
  endpoint: 'TEXT',
  attempts: 'TEXT NOT NULL',
  status: 'INTEGER NOT NULL',
  error_code: 'TEXT',
  stream: 'INTEGER NOT NULL',
  cancelled: 'INTEGER NOT NULL',
  latency_ms: 'REAL NOT NULL',
  ttft_ms: 'REAL',
  tpot_ms: 'REAL',
  tokens_prompt: 'INTEGER',
  tokens_completion: 'INTEGER',
  tokens_cached: 'INTEGER',
  tokens_reasoning: 'INTEGER',
  cost_usd: 'REAL',
  session_hash: 'TEXT',
  response_model: 'TEXT',
  trace_parent: 'TEXT',
  trace_state: 'TEXT',
};

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ${RECORDS} (
  ${RECORD_COLUMNS.map((c) => `${c} ${RECORD_TYPES[c]}`).join(',\n  ')}
);
CREATE UNIQUE INDEX IF NOT EXISTS ${RECORDS}_time_id ON ${RECORDS} (time, id);
CREATE INDEX IF NOT EXISTS ${RECORDS}_logical_model ON ${RECORDS} (logical_model, time, id);
CREATE INDEX IF NOT EXISTS ${RECORDS}_resolved_model ON ${RECORDS} (resolved_model, time, id);
CREATE INDEX IF NOT EXISTS ${RECORDS}_key_id ON ${RECORDS} (key_id, time, id);
${ROLLUP_PERIODS.map((p) => rollupTable(ROLLUPS[p])).join('\n')}
`;

const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');

/** SQLite's scalar min()/max() return NULL if either side is NULL; the extremes must skip NULLs instead. */
const mergeExtreme = (fn: 'min' | 'max', c: string) =>
  `${c} = ${fn}(coalesce(${c}, excluded.${c}), coalesce(excluded.${c}, ${c}))`;

const upsertRollup = (table: string) => `INSERT INTO ${table} (${ROLLUP_COLUMNS.join(', ')})
VALUES (${placeholders(ROLLUP_COLUMNS.length)})
ON CONFLICT (start, ${ROLLUP_LABELS.join(', ')}) DO UPDATE SET
${[
  ...ROLLUP_SUMS.map((c) => `${c} = ${c} + excluded.${c}`),
  ...ROLLUP_MINS.map((c) => mergeExtreme('min', c)),
  ...ROLLUP_MAXES.map((c) => mergeExtreme('max', c)),
].join(',\n')}`;

/**
 * Adds the record columns a table created by an earlier schema lacks (appended at the end; every query
 * names its columns). Columns are only ever added, and only nullable ones: a NOT NULL column would make
 * SQLite refuse the ALTER, which is the error such a schema change deserves.
 */
function addMissingColumns(db: DatabaseSync): void {
  const present = new Set(
    (db.prepare(`PRAGMA table_info(${RECORDS})`).all() as { name: string }[]).map((c) => c.name),
  );
  for (const c of RECORD_COLUMNS) {
    if (!present.has(c)) db.exec(`ALTER TABLE ${RECORDS} ADD COLUMN ${c} ${RECORD_TYPES[c]}`);
  }
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class SqliteStore implements RequestStore {
  private readonly db: DatabaseSync;
  private readonly chunkSize: number;
  private readonly now: () => number;
  private readonly insertRecord: StatementSync;
  private readonly upsertRollups: { periodMs: RollupPeriod; statement: StatementSync }[];
  private readonly samples: StatementSync;
  private readonly pruneRecords: StatementSync;
  private readonly pruneRollups: { periodMs: RollupPeriod; statement: StatementSync }[];
  /** Requests and usage statements, compiled on first use of each filter shape. */
  private readonly statements = new Map<string, StatementSync>();

  constructor(options: SqliteStoreOptions) {
    this.chunkSize = options.chunkSize ?? 200;
    this.now = options.now ?? Date.now;
    let file = ':memory:';
    if (options.dataDir !== ':memory:') {
      mkdirSync(options.dataDir, { recursive: true });
      file = path.join(options.dataDir, SQLITE_FILE);
    }
    this.db = new DatabaseSync(file);
    // WAL: readers (the console) never block the writer; NORMAL sync is durable across process crashes
    // and loses at most the last transactions on power loss, which a request log can afford.
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 250;');
    this.db.exec(SCHEMA);
    addMissingColumns(this.db);
    this.insertRecord = this.db.prepare(
      `INSERT INTO ${RECORDS} (${RECORD_COLUMNS.join(', ')}) VALUES (${placeholders(RECORD_COLUMNS.length)})
       ON CONFLICT (time, id) DO NOTHING`,
    );
    this.upsertRollups = ROLLUP_PERIODS.map((periodMs) => ({
      periodMs,
      statement: this.db.prepare(upsertRollup(ROLLUPS[periodMs])),
    }));
    this.samples = this.db.prepare(
      `SELECT ${SAMPLE_COLUMNS.join(', ')} FROM ${RECORDS}
       WHERE logical_model = ? AND route_config = ? AND decision IN (SELECT value FROM json_each(?))
         AND time >= ? AND time < ?
       ORDER BY time DESC, id DESC LIMIT ?`,
    );
    this.pruneRecords = this.db.prepare(
      `DELETE FROM ${RECORDS} WHERE rowid IN (SELECT rowid FROM ${RECORDS} WHERE time < ? LIMIT ${PRUNE_CHUNK})`,
    );
    this.pruneRollups = ROLLUP_PERIODS.map((periodMs) => ({
      periodMs,
      statement: this.db.prepare(`DELETE FROM ${ROLLUPS[periodMs]} WHERE start < ?`),
    }));
  }

  async write(records: readonly RequestRecord[]): Promise<void> {
    for (let start = 0; start < records.length; start += this.chunkSize) {
      if (start > 0) await yieldToLoop();
      this.writeChunk(records.slice(start, start + this.chunkSize));
    }
  }

  /** One transaction: the rows, then the rollups of the rows actually inserted (a repeated (time, id) is skipped). */
  private writeChunk(records: readonly RequestRecord[]): void {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const inserted: RequestRecord[] = [];
      for (const r of records) {
        if (this.insertRecord.run(...recordValues(r)).changes > 0) inserted.push(r);
      }
      for (const { periodMs, statement } of this.upsertRollups) {
        for (const row of rollUp(inserted, periodMs)) statement.run(...rollupValues(row));
      }
      this.db.exec('COMMIT');
    } catch (error) {
      // Some errors (SQLITE_FULL, for one) have rolled the transaction back already.
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  private statement(key: string, sql: () => string): StatementSync {
    let statement = this.statements.get(key);
    if (statement === undefined) {
      statement = this.db.prepare(sql());
      this.statements.set(key, statement);
    }
    return statement;
  }

  async requests(filter: RequestFilter, limit: number, cursor?: string): Promise<RequestPage> {
    const query = requestsQuery(filter, limit, cursor, () => '?');
    const statement = this.statement(
      `requests:${query.shape}`,
      () =>
        `SELECT ${RECORD_COLUMNS.join(', ')} FROM ${RECORDS} ${query.where} ORDER BY time DESC, id DESC LIMIT ?`,
    );
    const rows = statement.all(...query.params, query.fetch);
    const data = rows.slice(0, limit).map(rowToRecord);
    const last = data[data.length - 1];
    return rows.length > limit && last !== undefined
      ? { data, nextCursor: encodeCursor({ time: last.time, id: last.id }) }
      : { data };
  }

  async usage(query: UsageQuery): Promise<UsageResult> {
    const plan = planUsage(query);
    const byModel = query.logicalModel !== undefined;
    const cells: UsageCell[] = [];
    for (const segment of plan.segments) {
      const statement = this.statement(
        `usage:${segment.periodMs}:${query.groupBy}:${byModel}`,
        () =>
          `SELECT ${GROUP_COLUMNS[query.groupBy]} AS key, CAST((start - ?) / ? AS INTEGER) AS point,
           ${usageSelectList((e) => e)}
           FROM ${ROLLUPS[segment.periodMs]} WHERE start >= ? AND start < ?${byModel ? ' AND logical_model = ?' : ''}
           GROUP BY key, point`,
      );
      const params: SQLInputValue[] = [plan.origin, query.intervalMs, segment.from, segment.to];
      if (query.logicalModel !== undefined) params.push(query.logicalModel);
      cells.push(...(statement.all(...params) as UsageCell[]));
    }
    return buildUsage(query, plan, cells);
  }

  async experimentSamples(filter: SampleFilter, limit: number): Promise<ExperimentSample[]> {
    checkLimit(limit);
    const { logicalModel, routeConfig, decisions, since, until } = filter;
    return this.samples
      .all(logicalModel, routeConfig, JSON.stringify(decisions), since, until, limit)
      .map(rowToSample);
  }

  async prune(olderThanMs: number): Promise<void> {
    const cutoff = this.now() - olderThanMs;
    while (this.pruneRecords.run(cutoff).changes === PRUNE_CHUNK) await yieldToLoop();
    for (const { periodMs, statement } of this.pruneRollups) {
      statement.run(Math.floor(cutoff / periodMs) * periodMs);
    }
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }
}

export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(options);
}
