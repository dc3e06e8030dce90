import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../../analytics/store/postgres.ts';
import { RECORD_COLUMNS } from '../../../analytics/store/rows.ts';
import { type PostgresServer, startPostgres } from '../../helpers/postgres.ts';
import { FULL, record, storeSuite, T0 } from './store-suite.ts';

/** The raw table as the schema before method, path and operation (commit 249ab46) created it. */
const PREVIOUS_SCHEMA = `CREATE TABLE agent_router_requests (
  id text COLLATE "C" NOT NULL,
  time int8 NOT NULL,
  key_id text,
  route_config text,
  route_entry text,
  decision text,
  logical_model text,
  resolved_model text,
  backend text,
  provider text,
  endpoint text,
  attempts text NOT NULL,
  status int4 NOT NULL,
  error_code text,
  stream bool NOT NULL,
  cancelled bool NOT NULL,
  latency_ms float8 NOT NULL,
  ttft_ms float8,
  tpot_ms float8,
  tokens_prompt int4,
  tokens_completion int4,
  tokens_cached int4,
  tokens_reasoning int4,
  cost_usd float8,
  session_hash text,
  PRIMARY KEY (time, id)
) PARTITION BY RANGE (time)`;

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

  it("adds the columns a previous schema's table lacks, to its existing partitions too, once", async () => {
    const connectionString = await server.createDatabase('previous_schema');
    const day = 24 * 60 * 60 * 1000;
    const today = Math.floor(T0 / day) * day;
    const { Client } = await import('pg');
    const client = new Client({ connectionString });
    await client.connect();
    await client.query(PREVIOUS_SCHEMA);
    await client.query(
      `CREATE TABLE agent_router_requests_p20260520 PARTITION OF agent_router_requests
       FOR VALUES FROM (${today}) TO (${today + day})`,
    );
    await client.query(
      `INSERT INTO agent_router_requests (id, time, attempts, status, stream, cancelled, latency_ms)
       VALUES ('legacy', $1, '[{"backend":"openai","status":200}]', 200, false, false, 100)`,
      [T0 - 1],
    );

    // Sidecars starting at once against the old table: one migrates, the others find the columns there.
    const stores = await Promise.all(
      Array.from({ length: 3 }, () => openPostgresStore({ connectionString, now: () => T0 })),
    );
    await stores[0]!.write([FULL]); // into the partition created before the migration
    for (const store of stores) {
      expect((await store.requests({}, 10)).data).toStrictEqual([FULL, record('legacy', T0 - 1)]);
    }
    await Promise.all(stores.map((s) => s.close()));
    const again = await openPostgresStore({ connectionString, now: () => T0 });
    expect((await again.requests({}, 10)).data).toStrictEqual([FULL, record('legacy', T0 - 1)]);
    await again.close();

    const columns = await client.query<{ name: string }>(
      `SELECT attname AS name FROM pg_attribute
       WHERE attrelid = 'agent_router_requests_p20260520'::regclass AND attnum > 0 AND NOT attisdropped`,
    );
    expect(columns.rows.map((c) => c.name).sort()).toEqual([...RECORD_COLUMNS].sort());
    await client.end();
  });
});
