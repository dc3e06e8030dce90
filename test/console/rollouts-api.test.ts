import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../analytics/store/sqlite.ts';
import type { RequestStore } from '../../analytics/store/store.ts';
import { loadSnapshot } from '../../config/file-source.ts';
import { fixedToken } from '../../console/auth.ts';
import type { RolloutStatus } from '../../console/rollout/controller.ts';
import { type ConsoleServer, startConsole } from '../../console/server.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';
import { capturingLogger } from '../helpers/log-capture.ts';

const TOKEN = 'rollouts-api-admin-token-0123';
const STATUS: RolloutStatus = {
  routeConfig: 'default/default',
  model: 'summarize-model',
  baseline: 'summarize-stable',
  candidate: 'summarize-canary',
  stage: 20,
  steps: [5, 20, 50, 100],
  phase: 'progressing',
  stepStartedAt: 1_796_212_800_000,
  decision: 'wait',
  reason: 'holding 20% for 300 s more',
  decidedAt: 1_796_212_860_000,
  transitions: [],
};

describe('console: rollouts and readiness', () => {
  let store: RequestStore;
  let server: ConsoleServer;
  let without: ConsoleServer;
  let ready = false;

  beforeAll(async () => {
    store = openSqliteStore({ dataDir: ':memory:' });
    const common = {
      host: '127.0.0.1',
      port: 0,
      store,
      config: { snapshot: loadSnapshot('examples/local.yaml', { supportedProviders }) },
      adminToken: fixedToken(TOKEN, 'test'),
      logger: capturingLogger().logger,
    };
    server = await startConsole({ ...common, rollouts: { status: () => [STATUS] }, ready: () => ready });
    without = await startConsole(common);
  });
  afterAll(async () => {
    await server?.close();
    await without?.close();
    await store?.close();
  });

  it('lists the rollouts as the controller last judged them, behind the admin token', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await fetch(`${server.url}/api/v1/rollouts`)).status).toBe(401);
    const answer = await fetch(`${server.url}/api/v1/rollouts`, { headers: auth });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ running: true, data: [STATUS] });
    expect(await (await fetch(`${without.url}/api/v1/rollouts`, { headers: auth })).json()).toEqual({
      running: false,
      data: [],
    });
  });

  it('answers /readyz 503 until ready, then 200, without a token', async () => {
    ready = false;
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    ready = true;
    const answer = await fetch(`${server.url}/readyz`);
    expect(answer.status).toBe(200);
    expect(await answer.text()).toBe('ready\n');
    expect((await fetch(`${without.url}/readyz`)).status).toBe(200);
  });
});
