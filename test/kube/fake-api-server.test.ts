import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeApi } from '../../kube/api.ts';
import { RESOURCES } from '../../kube/resources.ts';
import { eventually } from '../helpers/log-capture.ts';
import { FakeApiServer } from './fake-api-server.ts';
import { NS, pod, routeConfig } from './objects.ts';

let fake: FakeApiServer;
let api: KubeApi;

beforeEach(async () => {
  fake = await FakeApiServer.start();
  api = new KubeApi(fake.kubeConfig());
});

afterEach(async () => {
  await fake.close();
});

/** Opens a watch and collects its events as [type, name, resourceVersion]. */
async function collect(resourceVersion: string, labelSelector?: string) {
  const events: [string, string, string][] = [];
  const ended: unknown[] = [];
  const stop = await api.watch(
    RESOURCES.Pod,
    { namespace: NS, resourceVersion, timeoutSeconds: 30, ...(labelSelector ? { labelSelector } : {}) },
    (type, o) => {
      const m = (o as { metadata?: { name?: string; resourceVersion?: string } }).metadata;
      events.push([type, m?.name ?? '', m?.resourceVersion ?? '']);
    },
    (error) => ended.push(error ?? 'closed'),
  );
  return { events, ended, stop };
}

describe('fake API server semantics', () => {
  it('replays the history after a resourceVersion, and turns selector transitions into ADDED/DELETED', async () => {
    const start = fake.resourceVersion;
    fake.apply(pod('p', { app: 'x' }, '10.0.0.1'));
    fake.patch('Pod', NS, 'p', { metadata: { labels: { app: 'y' } } });
    fake.patch('Pod', NS, 'p', { metadata: { labels: { app: 'x' } } });
    const w = await collect(start, 'app=x');
    await eventually(() => w.events.length === 3);
    expect(w.events.map(([type]) => type)).toEqual(['ADDED', 'DELETED', 'ADDED']);
    w.stop();
  });

  it('answers a watch from a compacted resourceVersion with an ERROR event carrying code 410', async () => {
    const start = fake.resourceVersion;
    fake.apply(pod('p', {}, '10.0.0.1'));
    fake.compact();
    const w = await collect(start);
    await eventually(() => w.ended.length === 1);
    expect(w.events).toEqual([['ERROR', '', '']]);
  });

  it('serves a paged list from one snapshot, which the client follows to the end', async () => {
    for (let i = 0; i < 1_050; i += 1) fake.apply(pod(`p-${String(i).padStart(4, '0')}`, {}, '10.0.0.1'));
    const rv = fake.resourceVersion;
    const result = await api.list(RESOURCES.Pod, { namespace: NS });
    expect(result.items).toHaveLength(1_050);
    expect(result.resourceVersion).toBe(rv);
    expect(fake.requests.filter((r) => r.path.endsWith('/pods'))).toHaveLength(3);
  });

  it('keeps spec and status apart: status writes do not move the generation, spec writes cannot set status', async () => {
    fake.apply(routeConfig('chat', [{ name: 'a', model: 'm', backendRef: { name: 'b' } }]));
    await api.patchStatus(RESOURCES.RouteConfig, NS, 'chat', { observedGeneration: 1 });
    expect(fake.get('RouteConfig', NS, 'chat')?.metadata.generation).toBe(1);
    fake.patch('RouteConfig', NS, 'chat', { spec: { active: false }, status: { observedGeneration: 99 } });
    const after = fake.get('RouteConfig', NS, 'chat');
    expect(after?.metadata.generation).toBe(2);
    expect(after?.status).toEqual({ observedGeneration: 1 });
  });

  it('refuses a stale update of a Lease with 409 Conflict', async () => {
    const created = await api.createLease('ns', { metadata: { name: 'l' }, spec: { holderIdentity: 'a' } });
    await api.replaceLease('ns', 'l', { ...created, spec: { holderIdentity: 'b' } });
    await expect(
      api.replaceLease('ns', 'l', { ...created, spec: { holderIdentity: 'c' } }),
    ).rejects.toMatchObject({
      code: 409,
    });
  });
});

describe('fake API server: server-side apply', () => {
  const apply = async (body: unknown, query: string) => {
    // The fake tells clients apart by their bearer token (see kubeConfig()).
    const headers = { 'content-type': 'application/apply-patch+yaml', authorization: 'Bearer ssa-test' };
    const response = await fetch(
      `${fake.url}/apis/agentrouter.dev/v1alpha1/namespaces/${NS}/routeconfigs/ab?${query}`,
      {
        method: 'PATCH',
        headers,
        body: JSON.stringify(body),
      },
    );
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const rc = (weights: [number, number], extra: Record<string, unknown> = {}) =>
    routeConfig(
      'ab',
      [
        { name: 'v1', model: 'm', backendRef: { name: 'b' }, weight: weights[0] },
        { name: 'v2', model: 'm', backendRef: { name: 'b' }, weight: weights[1] },
      ],
      extra,
    );

  it('creates, then merges, and records the manager’s fields (a list as one field)', async () => {
    expect((await apply(rc([95, 5]), 'fieldManager=console')).status).toBe(201);
    expect(fake.managedFields('RouteConfig', NS, 'ab')).toEqual({ console: ['.spec.routes'] });
    fake.serverSideApply({ ...routeConfig('ab', []), spec: { active: true } }, 'other');
    const merged = await apply(rc([80, 20]), 'fieldManager=console');
    expect(merged.status).toBe(200);
    expect(merged.body.spec).toMatchObject({ active: true, routes: [{ weight: 80 }, { weight: 20 }] });
  });

  it('refuses to change a field another manager applied (409 naming it), unless forced', async () => {
    fake.serverSideApply(rc([95, 5]), 'argocd');
    const refused = await apply(rc([80, 20]), 'fieldManager=console');
    expect(refused.status).toBe(409);
    expect(refused.body.message).toBe('Apply failed with 1 conflict: conflict with "argocd": .spec.routes');
    // The same value is no conflict: both managers then share the field.
    expect((await apply(rc([95, 5]), 'fieldManager=console')).status).toBe(200);
    const forced = await apply(rc([80, 20]), 'fieldManager=console&force=true');
    expect(forced.status).toBe(200);
    expect(fake.managedFields('RouteConfig', NS, 'ab')).toEqual({ argocd: [], console: ['.spec.routes'] });
  });

  it('removes what a manager stops applying, needs a fieldManager, and checks a given resourceVersion', async () => {
    await apply(rc([95, 5], { sessionHeader: 'x-s' }), 'fieldManager=console');
    const dropped = await apply(rc([95, 5]), 'fieldManager=console');
    expect(dropped.body.spec).not.toHaveProperty('sessionHeader');
    expect((await apply(rc([95, 5]), '')).status).toBe(400);
    const stale = await apply(
      { ...rc([50, 50]), metadata: { name: 'ab', namespace: NS, resourceVersion: '1' } },
      'fieldManager=console',
    );
    expect(stale.status).toBe(409);
    expect(stale.body.message).toContain('the object has been modified');
  });
});
