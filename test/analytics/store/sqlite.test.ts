import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStore, SQLITE_FILE } from '../../../analytics/store/sqlite.ts';
import { record, storeSuite, T0 } from './store-suite.ts';

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
});
