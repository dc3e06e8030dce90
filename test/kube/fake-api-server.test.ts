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
