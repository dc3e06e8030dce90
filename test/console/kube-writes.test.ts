/**
 * The console's writes in Kubernetes mode, against the list/watch test server with server-side apply:
 * edits are applied with the console's field manager, the running configuration (a real KubeSource)
 * follows through its watches, a new key's secret lands in a labelled Secret, and conflicts — a change
 * made in between, a field another manager applied — come back as 409 with the API server's message.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConsoleServer } from '../../console/server.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';
import { CONSOLE_FIELD_MANAGER, kubeConfigWriter } from '../../kube/config-writer.ts';
import { DEFAULT_SECRET_SELECTOR, type KubeSource } from '../../kube/source.ts';
import { capturingLogger, eventually } from '../helpers/log-capture.ts';
import type { FakeApiServer } from '../kube/fake-api-server.ts';
import { knowsKey, NS, route, routeConfig } from '../kube/objects.ts';
import { type KubeConsole, startKubeConsole } from './kube-console.ts';
import { bearer, call } from './write-harness.ts';

const TOKEN = 'kube-console-token-31d0';

describe('console writes in Kubernetes mode', () => {
  let kube: KubeConsole;
  let fake: FakeApiServer;
  let source: KubeSource;
  let server: ConsoleServer;
  const logs = capturingLogger();

  beforeEach(async () => {
    kube = await startKubeConsole({ token: TOKEN, logger: logs.logger });
    ({ fake, source, server } = kube);
  });

  afterEach(async () => {
    await kube?.close();
  });

  const api = (p: string, method = 'GET', json?: unknown) =>
    call(`${server.url}/api/v1${p}`, method, {
      headers: bearer(TOKEN),
      ...(json !== undefined ? { json } : {}),
    });
  const split = () =>
    source.snapshot.routeConfigs
      .get(`${NS}/ab`)
      ?.models.get('ab-model')
      ?.split?.entries.map((e) => `${e.name}=${e.weight}`)
      .join(' ');

  it('steps a canary by server-side apply with the console’s field manager, and the watch follows', async () => {
    await eventually(() => split() === 'v1=95 v2=5');
    const rc = await api('/routeconfigs/ab');
    expect(rc.status, rc.text).toBe(200);
    expect((await api('/session')).body.mode).toBe('kubernetes');
    const stepped = await api('/routeconfigs/ab/canary', 'POST', {
      logicalModel: 'ab-model',
      stage: 20,
      version: rc.body.version,
    });
    expect(stepped.status, stepped.text).toBe(200);
    expect(stepped.body.version).not.toBe(rc.body.version);
    await eventually(() => split() === 'v1=80 v2=20');
    const applies = fake.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/routeconfigs/ab'));
    expect(applies).toHaveLength(1);
    expect(applies[0]).toMatchObject({
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: CONSOLE_FIELD_MANAGER },
      user: 'console',
      status: 200,
    });
    expect(fake.managedFields('RouteConfig', NS, 'ab')[CONSOLE_FIELD_MANAGER]).toContain('.spec.routes');
  });

  it('shows the status conditions the cluster reports for a RouteConfig and a key', async () => {
    const accepted = { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'compiled' };
    fake.patchStatus('RouteConfig', NS, 'ab', { status: { conditions: [accepted] } });
    fake.patchStatus('APIKey', NS, 'team-a', {
      status: { conditions: [{ ...accepted, message: 'key in force' }] },
    });
    const rc = (await api('/routeconfigs/ab')).body;
    expect(rc.conditions).toEqual([accepted]);
    // With the spec's generation, so a page can tell a condition about an older spec.
    expect(rc.generation).toBe(fake.get('RouteConfig', NS, 'ab')!.metadata.generation);
    expect((await api('/keys/team-a')).body.key.conditions).toEqual([
      { ...accepted, message: 'key in force' },
    ]);
  });

  it('creates a key as a labelled Secret and an APIKey; the key authenticates once the watch has it', async () => {
    const created = await api('/keys', 'POST', {
      name: 'team-k',
      routeConfig: 'chat',
      attributes: { tenant: 'k' },
    });
    expect(created.status, created.text).toBe(201);
    const secret = created.body.secret as string;
    const stored = fake.get('Secret', NS, 'apikey-team-k')!;
    expect(stored.metadata.labels).toEqual({ 'agentrouter.dev/secret': 'true' });
    expect(Buffer.from((stored.data as Record<string, string>)['api-key']!, 'base64').toString()).toBe(
      secret,
    );
    expect(fake.get('APIKey', NS, 'team-k')?.spec).toMatchObject({
      routeConfigRef: { name: 'chat' },
      attributes: { tenant: 'k' },
    });
    await eventually(() => knowsKey(source.snapshot, secret));
    const listed = await api('/keys');
    expect(listed.body.data.map((k: { name: string }) => k.name)).toEqual(['team-a', 'team-k']);
    expect(listed.text).not.toContain(secret);
  });

  it('answers 409 with the API server’s message when another manager applied the field, and changes nothing', async () => {
    fake.serverSideApply(
      routeConfig('ab', [
        route('v1', 'ab-model', 'openai', { weight: 95, baseline: true }),
        route('v2', 'ab-model', 'openai-b', { weight: 5 }),
      ]),
      'argocd',
    );
    const rc = await api('/routeconfigs/ab');
    const refused = await api('/routeconfigs/ab/canary', 'POST', {
      logicalModel: 'ab-model',
      stage: 50,
      version: rc.body.version,
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('source_conflict');
    expect(refused.body.error.message).toContain('conflict with "argocd"');
    expect(refused.body.error.message).toContain('.spec.routes');
    expect(
      (fake.get('RouteConfig', NS, 'ab')!.spec as { routes: { weight: number }[] }).routes[1]!.weight,
    ).toBe(5);
  });

  it('applies with the resourceVersion it planned on: a change in between is a conflict, not overwritten', async () => {
    const writer = kubeConfigWriter({
      kubeConfig: fake.kubeConfig('console'),
      namespaces: [NS],
      secretLabelSelector: DEFAULT_SECRET_SELECTOR,
      compile: { supportedProviders },
    });
    const edit = writer.edit((current) => {
      const rc = current.objects.find((o) => o.kind === 'RouteConfig' && o.name === 'ab')!;
      // Someone else writes after the console listed, before it applies.
      fake.patch('RouteConfig', NS, 'ab', { spec: { sessionHeader: 'x-other' } });
      const object = structuredClone(rc.object) as { spec: { routes: { weight: number }[] } };
      object.spec.routes[0]!.weight = 50;
      object.spec.routes[1]!.weight = 50;
      return { changes: [{ op: 'replace', target: rc, object }], result: undefined };
    });
    await expect(edit).rejects.toThrow(/the object has been modified/);
    const spec = fake.get('RouteConfig', NS, 'ab')!.spec as {
      sessionHeader: string;
      routes: { weight: number }[];
    };
    expect(spec.sessionHeader).toBe('x-other');
    expect(spec.routes.map((r) => r.weight)).toEqual([95, 5]);
  });

  it('answers 409 version_conflict when the object changed since the page loaded it', async () => {
    const rc = await api('/routeconfigs/ab');
    // A change by someone else after the console read it: the version no longer matches.
    fake.patch('RouteConfig', NS, 'ab', { spec: { active: true } });
    const stale = await api('/routeconfigs/ab', 'PUT', { spec: rc.body.spec, version: rc.body.version });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('version_conflict');
  });

  it('refuses an edit that adds a problem with 422, and applies nothing', async () => {
    const rc = await api('/routeconfigs/ab');
    const spec = structuredClone(rc.body.spec);
    spec.routes[1].backendRef = { name: 'missing' };
    const preview = await api('/routeconfigs/ab/preview', 'POST', { spec });
    expect(preview.body.valid).toBe(false);
    expect(preview.body.diff).toContain('-        name: openai-b\n+        name: missing\n');
    const refused = await api('/routeconfigs/ab', 'PUT', { spec, version: rc.body.version });
    expect(refused.status).toBe(422);
    expect(JSON.stringify(refused.body.problems)).toContain('missing');
    expect(fake.requests.filter((r) => r.method === 'PATCH')).toEqual([]);
  });
});
