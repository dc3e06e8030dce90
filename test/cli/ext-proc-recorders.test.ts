/**
 * The readers of ext-proc's request records as the CLI wires them, `agent-router ext-proc` as a child
 * process. `--store`: with SQLite, the records of the requests it handled are in the file after a clean
 * shutdown; with PostgreSQL down, ext-proc still becomes ready and serves (the store connects in the
 * background), and no log line shows the connection's password; a connection string on the command
 * line is refused. OTEL_EXPORTER_OTLP_*: the records reach an OTLP receiver as spans. Uses its own
 * loopback addresses.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../analytics/store/sqlite.ts';
import { headerMap, rawClient } from '../helpers/ext-proc-client.ts';
import { eventually } from '../helpers/log-capture.ts';
import { refusedPort } from '../helpers/stack.ts';
import { startHttpReceiver } from '../observability/otlp-receiver.ts';

const HOST = '127.0.0.96';
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(
    process.execPath,
    ['bin/agent-router.mjs', 'ext-proc', '--config', 'examples/local.yaml', ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    },
  );
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { child, output: () => output, exited };
}

async function ready(admin: string, r: ReturnType<typeof run>): Promise<void> {
  let exit: number | null | undefined;
  void r.exited.then((code) => {
    exit = code;
  });
  await eventually(async () => {
    if (exit !== undefined) throw new Error(`ext-proc exited ${exit}:\n${r.output()}`);
    try {
      return (await fetch(`${admin}/readyz`)).status === 200 || undefined;
    } catch {
      return undefined;
    }
  }, 20_000);
}

/** GET /v1/models through a Process stream: answered by ext-proc itself, recorded like any request. */
async function listModels(target: string): Promise<void> {
  const client = rawClient(target);
  try {
    const s = client.open();
    s.send({
      request_headers: {
        headers: headerMap({
          ':method': 'GET',
          ':path': '/v1/models',
          authorization: 'Bearer sk-agent-router-team-a',
        }),
        end_of_stream: true,
      },
    });
    const r = await s.next();
    expect(r.immediate_response).toBeDefined();
    s.end();
  } finally {
    client.close();
  }
}

describe('agent-router ext-proc --store', () => {
  it('sqlite:DIR: the records of the requests handled are in the file after SIGTERM', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-router-ext-proc-store-'));
    const [grpcPort, adminPort] = [await refusedPort(), await refusedPort()];
    const r = run([
      `--host=${HOST}`,
      `--grpc-port=${grpcPort}`,
      `--admin-port=${adminPort}`,
      `--store=sqlite:${dir}`,
    ]);
    await ready(`http://${HOST}:${adminPort}`, r);
    for (let i = 0; i < 3; i++) await listModels(`${HOST}:${grpcPort}`);
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
    const store = openSqliteStore({ dataDir: dir });
    try {
      const page = await store.requests({}, 10);
      expect(page.data).toHaveLength(3);
      expect(page.data[0]).toMatchObject({ keyId: 'default/team-a', status: 200, stream: false });
    } finally {
      await store.close();
    }
  }, 40_000);

  it('postgres with the database down: ext-proc is ready and serving, and the password is never logged', async () => {
    const [grpcPort, adminPort, dbPort] = [await refusedPort(), await refusedPort(), await refusedPort()];
    const r = run(
      [`--host=${HOST}`, `--grpc-port=${grpcPort}`, `--admin-port=${adminPort}`, '--store=postgres'],
      {
        DATABASE_URL: `postgres://router:s3cr3t-pw@127.0.0.1:${dbPort}/router`,
      },
    );
    await ready(`http://${HOST}:${adminPort}`, r);
    await listModels(`${HOST}:${grpcPort}`);
    await eventually(() => r.output().includes('request_store_unavailable') || undefined);
    expect(r.output()).toContain(`127.0.0.1:${dbPort}/router`);
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
    expect(r.output()).not.toContain('s3cr3t-pw');
    expect(r.output()).not.toContain('router:');
  }, 40_000);

  it('refuses a connection string on the command line', async () => {
    const r = run(['--grpc-port=0', '--admin-port=0', '--store=postgres://router:pw@db/router']);
    expect(await r.exited).toBe(1);
    expect(r.output()).toContain('DATABASE_URL');
    expect(r.output()).not.toContain(':pw@');
  }, 20_000);
});

describe('agent-router ext-proc with OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  it('exports each request record as a span to the OTLP endpoint, the last ones at shutdown', async () => {
    const receiver = await startHttpReceiver();
    try {
      const [grpcPort, adminPort] = [await refusedPort(), await refusedPort()];
      const r = run([`--host=${HOST}`, `--grpc-port=${grpcPort}`, `--admin-port=${adminPort}`], {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_METRICS_EXPORTER: 'none',
      });
      await ready(`http://${HOST}:${adminPort}`, r);
      await listModels(`${HOST}:${grpcPort}`);
      r.child.kill('SIGTERM');
      expect(await r.exited).toBe(0);
      const traces = receiver.on('/v1/traces');
      expect(traces.length).toBeGreaterThan(0);
      const text = traces.map((t) => t.body.toString()).join('');
      expect(text).toContain('default/team-a');
      expect(text).not.toContain('sk-agent-router-team-a');
      expect(receiver.on('/v1/metrics')).toEqual([]);
    } finally {
      await receiver.close();
    }
  }, 40_000);
});
