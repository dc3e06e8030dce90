/**
 * The console API against one store (server.sqlite.test.ts and server.postgres.test.ts run it): the
 * real HTTP server on loopback, records written straight into the store, the configuration compiled
 * from manifests like any other. Auth, parameter errors, paging, usage groups, experiments and the gate.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../analytics/record.ts';
import type { RequestStore } from '../../analytics/store/store.ts';
import { loadSnapshot } from '../../config/file-source.ts';
import { SnapshotStore } from '../../config/store.ts';
import { fixedToken } from '../../console/auth.ts';
import type { ConsoleErrorBody } from '../../console/errors.ts';
import { type ConsoleServer, StoreUnavailableError, startConsole } from '../../console/server.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';
import { capturingLogger } from '../helpers/log-capture.ts';

const TOKEN = 'console-admin-token-0123456789';
const MINUTE = 60_000;
/** 2026-05-20T10:00:00Z; "now" is an hour later. */
const T0 = Date.UTC(2026, 4, 20, 10, 0, 0);
const NOW = T0 + 60 * MINUTE;

export const CONSOLE_CONFIG = `
apiVersion: v1
kind: Secret
metadata: { name: keys }
stringData: { team-a: sk-test-team-a, provider: provider-secret }
---
apiVersion: agentrouter.dev/v1alpha1
kind: APIKey
metadata: { name: team-a }
spec: { secretRef: { name: keys, key: team-a }, routeConfigRef: { name: main } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: openai }
spec: { provider: OpenAI, credentials: { secretRef: { name: keys, key: provider } } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  routes:
    - name: chat-regulated
      model: chat-model
      backendRef: { name: openai }
      modelNameOverride: gpt-eu
      match: { headers: [{ name: x-data-class, value: regulated }] }
    - { name: chat-v1, model: chat-model, backendRef: { name: openai }, modelNameOverride: gpt-a, weight: 30, baseline: true }
    - { name: chat-v2, model: chat-model, backendRef: { name: openai }, modelNameOverride: gpt-b, weight: 70 }
    - { name: shared-main, model: shared-model, backendRef: { name: openai } }
    - name: policy-only
      model: policy-model
      backendRef: { name: openai }
      match: { headers: [{ name: x-tier, value: gold }] }
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: other }
spec:
  routes:
    - { name: shared-a, model: shared-model, backendRef: { name: openai }, weight: 1 }
    - { name: shared-b, model: shared-model, backendRef: { name: openai }, weight: 1 }
`;

/** A raw session id, to prove that only its hash ever reaches an answer. */
const RAW_SESSION = (i: number) => `user-session-${i}`;
const hashOf = (i: number) => `h${i.toString(16).padStart(31, '0')}`;

/**
 * chat-model over half an hour: 300 requests on chat-v1 (the marked baseline, though the lighter
 * weight; 60 sessions, TTFT ~100 ms) and 300 on chat-v2 (60 sessions, TTFT ~200 ms, a few errors),
 * 20 policy-routed; 30 sessionless shared-model requests in RouteConfig other.
 */
export function consoleRecords(): RequestRecord[] {
  const records: RequestRecord[] = [];
  let n = 0;
  const add = (fields: Partial<RequestRecord>) => {
    const i = n++;
    records.push({
      id: `req-${String(i).padStart(4, '0')}`,
      time: T0 + i * 3_000,
      keyId: 'default/team-a',
      routeConfig: 'default/main',
      logicalModel: 'chat-model',
      backend: 'default/openai',
      provider: 'OpenAI',
      attempts: [{ backend: 'default/openai', status: 200 }],
      status: 200,
      stream: true,
      cancelled: false,
      latencyMs: 500 + (i % 7) * 10,
      tokens: { prompt: 100, completion: 20 },
      costUsd: 0.001,
      ...fields,
    });
  };
  for (let i = 0; i < 600; i++) {
    const v1 = i % 2 === 0;
    const session = v1 ? (i / 2) % 60 : 60 + (((i - 1) / 2) % 60);
    add({
      routeEntry: v1 ? 'chat-v1' : 'chat-v2',
      resolvedModel: v1 ? 'gpt-a' : 'gpt-b',
      decision: 'sticky-split',
      sessionHash: hashOf(session),
      ttftMs: (v1 ? 100 : 200) + (i % 11),
      ...(i % 50 === 3 ? { status: 502, errorCode: 'upstream_error' } : {}),
    });
  }
  for (let i = 0; i < 20; i++)
    add({ routeEntry: 'chat-regulated', resolvedModel: 'gpt-eu', decision: 'policy', ttftMs: 900 });
  for (let i = 0; i < 30; i++)
    add({
      routeConfig: 'default/other',
      logicalModel: 'shared-model',
      routeEntry: i % 2 ? 'shared-a' : 'shared-b',
      resolvedModel: 'shared-model',
      decision: 'weighted-split',
      ttftMs: 50,
      keyId: 'default/team-b',
    });
  return records;
}

export type OpenConsoleStore = () => Promise<RequestStore>;

export function consoleApiSuite(name: string, open: OpenConsoleStore): void {
  describe(`console API over ${name}`, () => {
    let store: RequestStore;
    let server: ConsoleServer;
    let open_: ConsoleServer;
    let records: RequestRecord[];
    const logs = capturingLogger();

    beforeAll(async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-router-console-'));
      const configPath = path.join(dir, 'config.yaml');
      writeFileSync(configPath, CONSOLE_CONFIG);
      const config = new SnapshotStore(loadSnapshot(configPath, { supportedProviders }));
      store = await open();
      records = consoleRecords();
      await store.write(records);
      const common = { host: '127.0.0.1', port: 0, store, config, logger: logs.logger, now: () => NOW };
      server = await startConsole({ ...common, adminToken: fixedToken(TOKEN, 'test') });
      open_ = await startConsole({ ...common, adminToken: undefined });
    }, 60_000);

    afterAll(async () => {
      await server?.close();
      await open_?.close();
      await store?.close();
    });

    const get = async (pathAndQuery: string, token: string | null = TOKEN, base = server.url) => {
      const response = await fetch(`${base}${pathAndQuery}`, {
        headers: token === null ? {} : { authorization: `Bearer ${token}` },
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, text, body: JSON.parse(text) };
    };

    const expectError = async (pathAndQuery: string, status: number, param: string | null, code?: string) => {
      const answer = await get(pathAndQuery);
      expect(answer.status, answer.text).toBe(status);
      expect(Object.keys(answer.body)).toEqual(['error']);
      expect(answer.body.error).toEqual({
        message: expect.any(String),
        type: expect.any(String),
        param,
        code: code ?? expect.any(String),
      });
      return answer.body.error as { message: string };
    };

    describe('auth', () => {
      it('answers 401 without a token, with a wrong one, and with another scheme', async () => {
        for (const token of [null, 'wrong-token', `${TOKEN}x`, TOKEN.slice(0, -1)]) {
          const answer = await get('/api/v1/requests', token);
          expect(answer.status).toBe(401);
          expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
          expect(answer.body.error.type).toBe('authentication_error');
          expect(answer.text).not.toContain(TOKEN);
        }
        const basic = await fetch(`${server.url}/api/v1/usage`, {
          headers: { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` },
        });
        expect(basic.status).toBe(401);
      });

      it('answers 200 with the token, on every endpoint', async () => {
        for (const p of ['/api/v1/requests', '/api/v1/usage', '/api/v1/experiments/chat-model'])
          expect((await get(p)).status, p).toBe(200);
      });

      it('refuses every request while the token source has none, rather than opening up', async () => {
        const locked = await startConsole({
          host: '127.0.0.1',
          port: 0,
          store,
          config: new SnapshotStore(loadSnapshot(writeConfig(), { supportedProviders })),
          logger: logs.logger,
          adminToken: { read: () => undefined, source: 'Secret agent-router/console key token' },
        });
        try {
          const answer = await get('/api/v1/requests', 'anything', locked.url);
          expect(answer.status).toBe(401);
          expect(answer.body.error.code).toBe('admin_token_unavailable');
        } finally {
          await locked.close();
        }
      });

      it('is open when started without a token (the local stack on loopback)', async () => {
        expect((await get('/api/v1/requests', null, open_.url)).status).toBe(200);
      });

      it('serves /healthz without a token', async () => {
        expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      });
    });

    describe('GET /api/v1/requests', () => {
      it('pages through every record newest first, with no repeats and no gaps', async () => {
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const answer: { status: number; body: { data: RequestRecord[]; nextCursor: string | null } } =
            await get(`/api/v1/requests?limit=97${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
          expect(answer.status).toBe(200);
          expect(answer.body.data.length).toBeLessThanOrEqual(97);
          seen.push(...answer.body.data.map((r) => r.id));
          cursor = answer.body.nextCursor;
          pages++;
        } while (cursor !== null);
        expect(pages).toBe(Math.ceil(records.length / 97));
        const expected = [...records].sort((a, b) => b.time - a.time).map((r) => r.id);
        expect(seen).toEqual(expected);
      });

      it('filters by logical model, resolved model, key, status and time', async () => {
        const ids = async (q: string) =>
          ((await get(`/api/v1/requests?limit=1000&${q}`)).body.data as RequestRecord[]).map((r) => r.id);
        const by = (f: (r: RequestRecord) => boolean) =>
          records
            .filter(f)
            .sort((a, b) => b.time - a.time)
            .map((r) => r.id);
        expect(await ids('logicalModel=shared-model')).toEqual(by((r) => r.logicalModel === 'shared-model'));
        expect(await ids('resolvedModel=gpt-b')).toEqual(by((r) => r.resolvedModel === 'gpt-b'));
        expect(await ids('keyId=default%2Fteam-b')).toEqual(by((r) => r.keyId === 'default/team-b'));
        expect(await ids('status=502')).toEqual(by((r) => r.status === 502));
        const since = new Date(T0 + 600_000).toISOString();
        expect(await ids(`since=${since}&until=${T0 + 900_000}`)).toEqual(
          by((r) => r.time >= T0 + 600_000 && r.time < T0 + 900_000),
        );
        // A duration before now: the last 40 minutes before NOW.
        expect(await ids('since=40m')).toEqual(by((r) => r.time >= NOW - 40 * MINUTE));
        // An empty value is no filter.
        expect((await ids('logicalModel=&status=')).length).toBe(Math.min(1000, records.length));
      });

      it('filters by route config and entry, decision, error code, session, stream and cancelled', async () => {
        const ids = async (q: string) =>
          ((await get(`/api/v1/requests?limit=1000&${q}`)).body.data as RequestRecord[]).map((r) => r.id);
        const by = (f: (r: RequestRecord) => boolean) =>
          records
            .filter(f)
            .sort((a, b) => b.time - a.time)
            .slice(0, 1000)
            .map((r) => r.id);
        expect(await ids('routeConfig=default%2Fother')).toEqual(
          by((r) => r.routeConfig === 'default/other'),
        );
        expect(await ids('routeEntry=chat-regulated')).toEqual(by((r) => r.routeEntry === 'chat-regulated'));
        expect(await ids('decision=policy')).toEqual(by((r) => r.decision === 'policy'));
        expect(await ids('errorCode=upstream_error&routeEntry=chat-v2')).toEqual(
          by((r) => r.errorCode === 'upstream_error' && r.routeEntry === 'chat-v2'),
        );
        expect(await ids(`sessionHash=${hashOf(3)}`)).toEqual(by((r) => r.sessionHash === hashOf(3)));
        expect(await ids('stream=true&cancelled=false&provider=OpenAI&backend=default%2Fopenai')).toEqual(
          by((r) => r.stream && !r.cancelled),
        );
        expect(await ids('stream=false')).toEqual([]);
      });

      it('carries the session as its hash only, never the raw id, key or token', async () => {
        const answer = await get('/api/v1/requests?limit=1000');
        const data = answer.body.data as RequestRecord[];
        expect(data.some((r) => r.sessionHash === hashOf(0))).toBe(true);
        for (let i = 0; i < 120; i++) expect(answer.text).not.toContain(RAW_SESSION(i));
        for (const secret of ['sk-test-team-a', 'provider-secret', TOKEN])
          expect(answer.text).not.toContain(secret);
      });
    });

    describe('GET /api/v1/usage', () => {
      it('counts every request per resolved model, with percentiles, tokens, cost and a series', async () => {
        const answer = await get(
          `/api/v1/usage?logicalModel=chat-model&groupBy=resolvedModel&since=${T0}&until=${NOW}&interval=10m`,
        );
        expect(answer.status).toBe(200);
        const body = answer.body;
        expect(body).toMatchObject({
          logicalModel: 'chat-model',
          groupBy: 'resolvedModel',
          intervalMs: 600_000,
        });
        const counts = Object.fromEntries(
          (body.data as { key: string; requests: number }[]).map((g) => [g.key, g.requests]),
        );
        expect(counts).toEqual({ 'gpt-a': 300, 'gpt-b': 300, 'gpt-eu': 20 });
        const b = body.data.find((g: { key: string }) => g.key === 'gpt-b');
        expect(b.errors).toBe(records.filter((r) => r.resolvedModel === 'gpt-b' && r.status >= 400).length);
        expect(b.ttftMs.p50).toBeGreaterThan(150);
        expect(b.ttftMs.p50).toBeLessThan(260);
        expect(b.latencyMs).toEqual({
          p50: expect.any(Number),
          p90: expect.any(Number),
          p99: expect.any(Number),
        });
        expect(b.tokens).toEqual({ prompt: 30_000, completion: 6_000, cached: 0, reasoning: 0 });
        expect(b.costUsd).toBeCloseTo(0.3, 6);
        expect(b.series).toHaveLength(6);
        expect(b.series.reduce((n: number, p: { requests: number }) => n + p.requests, 0)).toBe(300);
      });

      it('groups by route entry, key and backend', async () => {
        const groups = async (groupBy: string) =>
          Object.fromEntries(
            (
              (await get(`/api/v1/usage?groupBy=${groupBy}&since=${T0}&until=${NOW}`)).body.data as {
                key: string;
                requests: number;
              }[]
            ).map((g) => [g.key, g.requests]),
          );
        expect(await groups('routeEntry')).toEqual({
          'chat-v1': 300,
          'chat-v2': 300,
          'chat-regulated': 20,
          'shared-a': 15,
          'shared-b': 15,
        });
        expect(await groups('keyId')).toEqual({ 'default/team-a': 620, 'default/team-b': 30 });
        expect(await groups('backend')).toEqual({ 'default/openai': 650 });
      });

      it('defaults to the last 24 hours at 5-minute points', async () => {
        const body = (await get('/api/v1/usage')).body;
        expect(body.intervalMs).toBe(5 * MINUTE);
        expect(body.until).toBe(NOW);
        expect(body.data[0].series).toHaveLength(288);
      });
    });

    describe('GET /api/v1/experiments/{logicalModel}', () => {
      it('compares the split variants with the marked baseline, over split-decided requests only', async () => {
        const answer = await get(`/api/v1/experiments/chat-model?since=${T0}`);
        expect(answer.status, answer.text).toBe(200);
        const body = answer.body;
        expect(body).toMatchObject({
          logicalModel: 'chat-model',
          routeConfig: 'default/main',
          since: T0,
          until: NOW,
          baseline: 'chat-v1',
          // The store reads only the requests the split decided: the 20 policy-routed ones are not read.
          samples: { read: 600, analysed: 600, truncated: false },
        });
        expect(
          body.variants.map(
            (v: {
              routeEntry: string;
              weight: number;
              baseline: boolean;
              requests: number;
              sessions: number;
            }) => [v.routeEntry, v.weight, v.baseline, v.requests, v.sessions],
          ),
        ).toEqual([
          ['chat-v1', 30, true, 300, 60],
          ['chat-v2', 70, false, 300, 60],
        ]);
        expect(body.comparisons).toHaveLength(1);
        const c = body.comparisons[0];
        expect(c).toMatchObject({ routeEntry: 'chat-v2', baseline: 'chat-v1' });
        // chat-v2's TTFT is twice the baseline's: worse, with enough requests and sessions on both.
        expect(c.metrics.ttftP50.verdict).toBe('worse');
        expect(c.metrics.ttftP50.relativePercent).toBeGreaterThan(80);
        expect(c.metrics.costPerRequest.verdict).toBe('inconclusive');
        for (let i = 0; i < 120; i++) expect(answer.text).not.toContain(RAW_SESSION(i));
      });

      it('reads only the requests in [since, until)', async () => {
        const none = await get(`/api/v1/experiments/chat-model?since=${T0 - 60 * MINUTE}&until=${T0}`);
        expect(none.status, none.text).toBe(200);
        expect(none.body).toMatchObject({ since: T0 - 60 * MINUTE, until: T0, samples: { read: 0 } });
        const all = await get(`/api/v1/experiments/chat-model?since=${T0}&until=${NOW}`);
        expect(all.body.samples.read).toBe(600);
      });

      it('names the RouteConfig when several split the logical model', async () => {
        const error = await expectError('/api/v1/experiments/shared-model', 400, 'routeConfig');
        expect(error.message).toContain('default/main');
        expect(error.message).toContain('default/other');
        const byName = await get(`/api/v1/experiments/shared-model?routeConfig=other&since=${T0}`);
        expect(byName.status).toBe(200);
        expect(byName.body.routeConfig).toBe('default/other');
        expect(byName.body.samples.analysed).toBe(30);
        // Heaviest weight, first of equals.
        expect(byName.body.baseline).toBe('shared-a');
        const main = await get(`/api/v1/experiments/shared-model?routeConfig=default%2Fmain&since=${T0}`);
        expect(main.body.samples.analysed).toBe(0);
        await expectError('/api/v1/experiments/shared-model?routeConfig=nope', 400, 'routeConfig');
      });

      it('answers 404 for a logical model no RouteConfig routes, and for one without a split', async () => {
        await expectError('/api/v1/experiments/no-such-model', 404, 'logicalModel', 'model_not_found');
        await expectError('/api/v1/experiments/policy-model', 404, 'logicalModel', 'no_weighted_split');
      });
    });

    describe('GET /api/v1/experiments/{logicalModel}/gate', () => {
      it('passes (200) while no listed metric is worse, and fails (412) once one is', async () => {
        const pass = await get(
          `/api/v1/experiments/chat-model/gate?variant=chat-v2&metrics=costPerRequest,tokensPerRequest&since=${T0}`,
        );
        expect(pass.status, pass.text).toBe(200);
        expect(pass.body).toMatchObject({
          pass: true,
          baseline: 'chat-v1',
          verdicts: { 'chat-v2': { costPerRequest: 'inconclusive', tokensPerRequest: 'inconclusive' } },
          failed: [],
        });
        const fail = await get(
          `/api/v1/experiments/chat-model/gate?variant=chat-v2&metrics=ttftP50&since=${T0}`,
        );
        expect(fail.status, fail.text).toBe(412);
        expect(fail.body).toMatchObject({
          pass: false,
          failed: [{ variant: 'chat-v2', metric: 'ttftP50', relativePercent: expect.any(Number) }],
        });
        // Every metric and variant by default; too few requests is no failure.
        expect((await get(`/api/v1/experiments/chat-model/gate?since=${T0}`)).status).toBe(412);
        const young = await get(`/api/v1/experiments/shared-model/gate?routeConfig=other&since=${T0}`);
        expect(young.status).toBe(200);
        expect(young.body.verdicts['shared-b'].ttftP50).toBe('insufficient_data');
        await expectError('/api/v1/experiments/chat-model/gate?variant=chat-v1', 400, 'variant');
        await expectError('/api/v1/experiments/chat-model/gate?variant=nope', 400, 'variant');
        await expectError('/api/v1/experiments/chat-model/gate?metrics=ttftP50,speed', 400, 'metrics');
      });
    });

    describe('parameter errors', () => {
      it.each([
        ['/api/v1/requests?limit=0', 'limit'],
        ['/api/v1/requests?limit=1001', 'limit'],
        ['/api/v1/requests?limit=ten', 'limit'],
        ['/api/v1/requests?status=600', 'status'],
        ['/api/v1/requests?status=2xx', 'status'],
        ['/api/v1/requests?since=yesterday', 'since'],
        ['/api/v1/requests?since=2026-05-20', 'since'],
        ['/api/v1/requests?since=2026-02-30T00:00:00Z', 'since'],
        ['/api/v1/requests?until=2026-05-20T10:00:00', 'until'],
        [`/api/v1/requests?since=${T0 + 1}&until=${T0}`, 'until'],
        ['/api/v1/requests?cursor=not-a-cursor', 'cursor'],
        ['/api/v1/requests?logicalmodel=chat-model', 'logicalmodel'],
        ['/api/v1/requests?limit=1&limit=2', 'limit'],
        ['/api/v1/usage?groupBy=model', 'groupBy'],
        ['/api/v1/usage?interval=90s', 'interval'],
        ['/api/v1/usage?interval=0m', 'interval'],
        ['/api/v1/usage?interval=1m&since=30d', 'interval'],
        [`/api/v1/usage?since=${NOW}&until=${T0}`, 'since'],
        ['/api/v1/experiments/chat-model?limit=200001', 'limit'],
        ['/api/v1/experiments/chat-model?since=2099-01-01T00:00:00Z', 'since'],
        [`/api/v1/experiments/chat-model?since=${T0}&until=${T0}`, 'until'],
        ['/api/v1/requests?stream=yes', 'stream'],
        ['/api/v1/experiments/%E0%A4%A', 'logicalModel'],
      ])('%s is a 400 naming %s', async (url, param) => {
        const error = await expectError(url, 400, param);
        expect(error.message).toContain(param === 'logicalModel' ? 'logical model' : param);
      });

      it('answers an unknown path 404 and a write to a read endpoint 405, in the same error shape', async () => {
        await expectError('/api/v1/nothing-here', 404, null, 'unknown_url');
        const post = await fetch(`${server.url}/api/v1/requests`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        expect(post.status).toBe(405);
        expect(post.headers.get('allow')).toBe('GET, HEAD');
        expect(((await post.json()) as ConsoleErrorBody).error.code).toBe('method_not_allowed');
      });

      it('answers 503 for keys and RouteConfigs when started without a configuration source to edit', async () => {
        await expectError('/api/v1/keys', 503, null, 'config_source_unavailable');
        await expectError('/api/v1/routeconfigs/main', 503, null, 'config_source_unavailable');
      });
    });

    it('answers 503 while the store is not reachable', async () => {
      const unavailable = new StoreUnavailableError('not connected');
      const down: RequestStore = {
        write: () => Promise.reject(unavailable),
        requests: () => Promise.reject(unavailable),
        usage: () => Promise.reject(unavailable),
        experimentSamples: () => Promise.reject(unavailable),
        prune: () => Promise.reject(unavailable),
        close: () => Promise.resolve(),
      };
      const console503 = await startConsole({
        host: '127.0.0.1',
        port: 0,
        store: down,
        config: new SnapshotStore(loadSnapshot(writeConfig(), { supportedProviders })),
        logger: logs.logger,
        adminToken: undefined,
      });
      try {
        const answer = await get('/api/v1/usage', null, console503.url);
        expect(answer.status).toBe(503);
        expect(answer.body.error.code).toBe('store_unavailable');
      } finally {
        await console503.close();
      }
    });
  });
}

function writeConfig(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-router-console-'));
  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, CONSOLE_CONFIG);
  return file;
}
