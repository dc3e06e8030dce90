import { afterAll, beforeAll } from 'vitest';
import { openPostgresStore } from '../../analytics/store/postgres.ts';
import { type PostgresServer, startPostgres } from '../helpers/postgres.ts';
import { consoleApiSuite } from './api-suite.ts';

// A real server for this file (test/helpers/postgres.ts); fsync off because the tests never crash it.
let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres({ settings: { fsync: 'off', synchronous_commit: 'off' } });
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

consoleApiSuite('PostgreSQL', async () =>
  openPostgresStore({ connectionString: await server.createDatabase('console_api') }),
);
