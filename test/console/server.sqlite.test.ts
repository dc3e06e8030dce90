import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqliteStore } from '../../analytics/store/sqlite.ts';
import { consoleApiSuite } from './api-suite.ts';

consoleApiSuite('SQLite', async () =>
  openSqliteStore({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'agent-router-console-sqlite-')) }),
);
