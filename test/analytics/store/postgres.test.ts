import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../../analytics/store/postgres.ts';
import { type PostgresServer, startPostgres } from '../../helpers/postgres.ts';
import { record, storeSuite, T0 } from './store-suite.ts';

// A real server for this file (test/helpers/postgres.ts); fsync off because the tests never crash it.
let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres({ settings: { fsync: 'off', synchronous_commit: 'off' } });
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

let databases = 0;
storeSuite('PostgreSQL', async ({ now }) => {
  const connectionString = await server.createDatabase(`suite_${++databases}`);
  return openPostgresStore({ connectionString, now });
});

describe('PostgreSQL request store schema', () => {
  it('is created once when several sidecars start against one database at the same time', async () => {
    const connectionString = await server.createDatabase('concurrent_start');
    const stores = await Promise.all(
      Array.from({ length: 6 }, () => openPostgresStore({ connectionString, now: () => T0 })),
    );
    await Promise.all(stores.map((s, i) => s.write([record(`r${i}`, T0 + i)])));
    expect((await stores[0]!.requests({}, 10)).data).toHaveLength(6);
    await Promise.all(stores.map((s) => s.close()));
  });

  it('keeps raw rows in one partition per day and drops whole partitions on prune', async () => {
    const connectionString = await server.createDatabase('partitions');
    const day = 24 * 60 * 60 * 1000;
    const store = await openPostgresStore({ connectionString, now: () => T0, partitionsAhead: 1 });
    await store.write([record('old', T0 - 10 * day), record('new', T0)]);
    const { Client } = await import('pg');
    const client = new Client({ connectionString });
    await client.connect();
    const partitions = async () =>
      (
        await client.query<{ name: string }>(
          `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'agent_router_requests'::regclass ORDER BY 1`,
        )
      ).rows.map((r) => r.name);
    expect(await partitions()).toEqual([
      'agent_router_requests_p20260510',
      'agent_router_requests_p20260520',
      'agent_router_requests_p20260521',
    ]);
    await store.prune(5 * day);
    expect(await partitions()).toEqual([
      'agent_router_requests_p20260520',
      'agent_router_requests_p20260521',
    ]);
    await client.end();
    await store.close();
  });
});
