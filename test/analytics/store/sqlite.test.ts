import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { RECORD_COLUMNS } from '../../../analytics/store/rows.ts';
import { openSqliteStore, SQLITE_FILE } from '../../../analytics/store/sqlite.ts';
import { FULL, record, storeSuite, T0 } from './store-suite.ts';

/** The raw table as the schema before method, path and operation (commit 249ab46) created it. */
const PREVIOUS_SCHEMA = `
CREATE TABLE agent_router_requests (
  id TEXT NOT NULL,
  time INTEGER NOT NULL,
  key_id TEXT,
  route_config TEXT,
  route_entry TEXT,
  decision TEXT,
  logical_model TEXT,
  resolved_model TEXT,
  backend TEXT,
  provider TEXT,
  endpoint TEXT,
  attempts TEXT NOT NULL,
  status INTEGER NOT NULL,
  error_code TEXT,
  stream INTEGER NOT NULL,
  cancelled INTEGER NOT NULL,
  latency_ms REAL NOT NULL,
  ttft_ms REAL,
  tpot_ms REAL,
  tokens_prompt INTEGER,
  tokens_completion INTEGER,
  tokens_cached INTEGER,
  tokens_reasoning INTEGER,
  cost_usd REAL,
  session_hash TEXT
);
CREATE UNIQUE INDEX agent_router_requests_time_id ON agent_router_requests (time, id);
`;

storeSuite('SQLite (:memory:)', async ({ now }) =>
  openSqliteStore({ dataDir: ':memory:', now, chunkSize: 7 }),
);

describe('SQLite request store file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'agent-router-sqlite-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lives in the data directory in WAL mode and keeps its records across reopening', async () => {
    const dataDir = path.join(dir, 'data', 'nested');
    const first = openSqliteStore({ dataDir });
    await first.write([record('a', T0), record('b', T0 + 1)]);
    await first.close();

    const db = new DatabaseSync(path.join(dataDir, SQLITE_FILE), { readOnly: true });
    expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    db.close();

    const second = openSqliteStore({ dataDir });
    expect((await second.requests({}, 10)).data.map((r) => r.id)).toEqual(['b', 'a']);
    await second.close();
  });

  it("adds the columns a previous schema's table lacks, keeps its rows, and does so once", async () => {
    const dataDir = path.join(dir, 'previous');
    mkdirSync(dataDir, { recursive: true });
    const old = new DatabaseSync(path.join(dataDir, SQLITE_FILE));
    old.exec(PREVIOUS_SCHEMA);
    old
      .prepare(
        `INSERT INTO agent_router_requests (id, time, attempts, status, stream, cancelled, latency_ms)
         VALUES ('legacy', ?, '[{"backend":"openai","status":200}]', 200, 0, 0, 100)`,
      )
      .run(T0 - 1);
    old.close();

    // The second opening finds every column present.
    for (const pass of [1, 2]) {
      const store = openSqliteStore({ dataDir });
      if (pass === 1) await store.write([FULL]);
      expect((await store.requests({}, 10)).data).toStrictEqual([FULL, record('legacy', T0 - 1)]);
      await store.close();
    }
    const db = new DatabaseSync(path.join(dataDir, SQLITE_FILE), { readOnly: true });
    const columns = db.prepare('PRAGMA table_info(agent_router_requests)').all() as { name: string }[];
    expect(columns.map((c) => c.name).sort()).toEqual([...RECORD_COLUMNS].sort());
    db.close();
  });
});
