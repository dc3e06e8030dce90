/**
 * The console over the real local stack (dev gateway + ext-proc over loopback gRPC + SQLite store in a
 * temp dir + console), driven by the official OpenAI SDK: over a 50/50 A/B, what the API counts per
 * resolved model and per variant is exactly what was sent and what the request log lines say.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../analytics/store/sqlite.ts';
import { fixedToken } from '../../console/auth.ts';
import { backendYaml, COMMON_YAML, startTestStack, type TestStack } from '../helpers/stack.ts';

const TOKEN = 'ab-console-token';
const REQUESTS = 240;
const SESSIONS = 60;
const SESSIONLESS = 40;
let t: TestStack;
let consoleUrl: string;

beforeAll(async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'agent-router-console-ab-'));
  t = await startTestStack(
    { a: { apiKey: 'provider-secret' }, b: { apiKey: 'provider-secret' } },
    (urls) =>
      [
        COMMON_YAML,
        backendYaml('sim-a', urls.a!),
        backendYaml('sim-b', urls.b!),
        `
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  routes:
    - { name: chat-v1, model: chat-model, backendRef: { name: sim-a }, modelNameOverride: model-a, weight: 50 }
    - { name: chat-v2, model: chat-model, backendRef: { name: sim-b }, modelNameOverride: model-b, weight: 50 }
`,
      ].join(''),
    {
      store: openSqliteStore({ dataDir }),
      console: { port: 0, adminToken: fixedToken(TOKEN, 'test') },
    },
  );
  consoleUrl = t.stack.console!.url;
});

afterAll(async () => {
  await t?.close();
});

const api = async (pathAndQuery: string) => {
  const response = await fetch(`${consoleUrl}${pathAndQuery}`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return { text, body: JSON.parse(text) };
};

const countBy = (rows: Record<string, unknown>[], field: string) => {
  const counts: Record<string, number> = {};
  for (const r of rows) counts[String(r[field])] = (counts[String(r[field])] ?? 0) + 1;
  return counts;
};

describe('the console over a 50/50 A/B through the local stack', () => {
  it('counts every request sent, per resolved model and per variant, as the request log does', async () => {
    const client = t.client();
    const rawSession = (i: number) => `conversation-${i % SESSIONS}`;
    let next = 0;
    let answered = 0;
    const worker = async () => {
      for (let i = next++; i < REQUESTS; i = next++) {
        const headers = i < REQUESTS - SESSIONLESS ? { 'x-session-id': rawSession(i) } : {};
        const completion = await client.chat.completions.create(
          { model: 'chat-model', messages: [{ role: 'user', content: `hello ${i}` }], max_tokens: 4 },
          { headers },
        );
        expect(completion.choices[0]!.message.content).toBeTruthy();
        answered++;
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(answered).toBe(REQUESTS);
    await t.stack.writer!.flush();

    const logs = t.requestLogs().filter((r) => r.logicalModel === 'chat-model');
    expect(logs).toHaveLength(REQUESTS);
    const logByModel = countBy(logs, 'resolvedModel');
    const logByEntry = countBy(logs, 'routeEntry');
    // Both arms got traffic (50/50 over 60 sessions and 40 unsticky requests).
    expect(Object.keys(logByModel).sort()).toEqual(['model-a', 'model-b']);

    const usage = await api(
      '/api/v1/usage?logicalModel=chat-model&groupBy=resolvedModel&since=10m&interval=1m',
    );
    const usageByModel = Object.fromEntries(
      (usage.body.data as { key: string; requests: number }[]).map((g) => [g.key, g.requests]),
    );
    expect(usageByModel).toEqual(logByModel);
    expect(Object.values(usageByModel).reduce((a, b) => a + b, 0)).toBe(REQUESTS);
    const byEntry = await api('/api/v1/usage?logicalModel=chat-model&groupBy=routeEntry&since=10m');
    expect(
      Object.fromEntries(
        (byEntry.body.data as { key: string; requests: number }[]).map((g) => [g.key, g.requests]),
      ),
    ).toEqual(logByEntry);

    const experiment = await api('/api/v1/experiments/chat-model?since=10m');
    const variants = experiment.body.variants as { routeEntry: string; requests: number; sessions: number }[];
    expect(Object.fromEntries(variants.map((v) => [v.routeEntry, v.requests]))).toEqual(logByEntry);
    for (const v of variants) {
      const sessions = new Set(
        logs.filter((r) => r.routeEntry === v.routeEntry && r.sessionHash).map((r) => r.sessionHash),
      );
      expect(v.sessions).toBe(sessions.size);
    }
    expect(experiment.body.baseline).toBe('chat-v1');
    expect(experiment.body.samples).toMatchObject({ read: REQUESTS, analysed: REQUESTS });

    // Request Logs: the same requests, newest first, over pages.
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { data: { id: string; time: number }[]; nextCursor: string | null } } = await api(
        `/api/v1/requests?logicalModel=chat-model&limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      ids.push(...page.body.data.map((r) => r.id));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    expect([...ids].sort()).toEqual(logs.map((r) => String(r.requestId)).sort());

    // Sessions appear as keyed hashes only.
    for (const answer of [usage.text, experiment.text, (await api('/api/v1/requests?limit=1000')).text]) {
      for (let i = 0; i < SESSIONS; i++) expect(answer).not.toContain(rawSession(i));
      expect(answer).not.toContain('sk-test-team-a');
      expect(answer).not.toContain('provider-secret');
      expect(answer).not.toContain(TOKEN);
    }
  });

  it('requires the admin token it was given', async () => {
    expect((await fetch(`${consoleUrl}/api/v1/requests`)).status).toBe(401);
    const wrong = await fetch(`${consoleUrl}/api/v1/requests`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
  });
});
