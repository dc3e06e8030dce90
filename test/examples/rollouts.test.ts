/**
 * examples/rollouts/: the Argo Rollouts AnalysisTemplate and the Flagger Canary parse, have the shape
 * those tools read, and ask the console questions it answers: each jsonPath is evaluated against a
 * real answer of the API (the console over SQLite with the API suite's records, where chat-v2's TTFT
 * is twice its baseline's), and the Flagger webhook's gate URL is served 412 for that variant.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../analytics/store/sqlite.ts';
import { loadSnapshot } from '../../config/file-source.ts';
import { SnapshotStore } from '../../config/store.ts';
import { fixedToken } from '../../console/auth.ts';
import type { GateAnswer } from '../../console/experiments.ts';
import { type ConsoleServer, startConsole } from '../../console/server.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';
import { CONSOLE_CONFIG, consoleRecords } from '../console/api-suite.ts';
import { capturingLogger } from '../helpers/log-capture.ts';
import {
  argoResult,
  argoSucceeds,
  argoTemplate,
  argoWebMetrics,
  flaggerCanary,
  flaggerGate,
} from '../helpers/rollouts-examples.ts';

const TOKEN = 'rollouts-token';
let server: ConsoleServer;
let since: number;
let closeStore: () => Promise<void>;

beforeAll(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-router-rollouts-'));
  writeFileSync(path.join(dir, 'config.yaml'), CONSOLE_CONFIG);
  const store = openSqliteStore({ dataDir: dir });
  closeStore = () => store.close();
  const records = consoleRecords();
  await store.write(records);
  since = records[0]!.time;
  server = await startConsole({
    host: '127.0.0.1',
    port: 0,
    store,
    config: new SnapshotStore(loadSnapshot(path.join(dir, 'config.yaml'), { supportedProviders })),
    adminToken: fixedToken(TOKEN, 'test'),
    logger: capturingLogger().logger,
    now: () => records.at(-1)!.time + 1,
  });
});

afterAll(async () => {
  await server?.close();
  await closeStore?.();
});

describe('the Argo Rollouts AnalysisTemplate', () => {
  it('is an AnalysisTemplate whose token comes from a Secret, with web metrics only', () => {
    const t = argoTemplate();
    expect(t).toMatchObject({ apiVersion: 'argoproj.io/v1alpha1', kind: 'AnalysisTemplate' });
    const token = t.spec.args.find((a) => a.name === 'console-token');
    expect(token?.valueFrom).toEqual({ secretKeyRef: { name: 'agent-router-console', key: 'token' } });
    for (const m of t.spec.metrics) expect(Object.keys(m.provider)).toEqual(['web']);
  });

  it('fails a measurement exactly when the canary variant is worse, read from a real answer', async () => {
    const metrics = argoWebMetrics({
      'console-url': server.url,
      'console-token': TOKEN,
      window: String(since),
    });
    expect(metrics.map((m) => m.name)).toEqual(['ttft-p50', 'error-rate']);
    const results: Record<string, unknown> = {};
    for (const m of metrics) {
      const response = await fetch(m.url, {
        headers: Object.fromEntries(m.headers.map((h) => [h.key, h.value])),
      });
      expect(response.status).toBe(200);
      const answer = await response.json();
      results[m.name] = argoResult(m.jsonPath, answer);
      expect(['better', 'worse', 'inconclusive', 'insufficient_data']).toContain(results[m.name]);
    }
    // chat-v2's TTFT is twice chat-v1's in these records; its error rate 4% against 0%.
    expect(results['ttft-p50']).toBe('worse');
    expect(argoSucceeds(metrics[0]!.successCondition, results['ttft-p50'])).toBe(false);
    expect(argoSucceeds(metrics[0]!.successCondition, 'inconclusive')).toBe(true);
    expect(argoSucceeds(metrics[0]!.successCondition, 'insufficient_data')).toBe(true);
  });
});

describe('the Flagger Canary', () => {
  it('is a Canary whose rollout webhook runs curl -f with the admin token against the gate', () => {
    const c = flaggerCanary();
    expect(c).toMatchObject({ apiVersion: 'flagger.app/v1beta1', kind: 'Canary' });
    const { cmd, url } = flaggerGate();
    expect(cmd).toMatch(/^curl -fsS /);
    expect(cmd).toContain('Authorization: Bearer $(cat /var/run/secrets/agent-router-console/token)');
    expect(url.pathname).toBe('/api/v1/experiments/chat-model/gate');
    expect(url.searchParams.get('variant')).toBe('chat-v2');
  });

  it('calls a gate the console answers 412 when the variant is worse', async () => {
    const { url } = flaggerGate();
    url.searchParams.set('since', String(since));
    const response = await fetch(`${server.url}${url.pathname}${url.search}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const body = (await response.json()) as GateAnswer;
    expect(response.status, JSON.stringify(body)).toBe(412);
    expect(body.failed.map((f: { metric: string }) => f.metric)).toContain('ttftP50');
  });
});
