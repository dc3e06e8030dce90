import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { poolView } from '../../config/inference-pool.ts';
import type { Snapshot } from '../../config/snapshot.ts';
import { apiKeyOf } from '../../ext-proc/translate/translator.ts';
import { type KubeSource, type KubeSourceOptions, startKubeSource } from '../../kube/source.ts';
import { eventually } from '../helpers/log-capture.ts';
import { FakeApiServer } from './fake-api-server.ts';
import {
  apiKey,
  baseObjects,
  FAST,
  inferencePool,
  knowsKey,
  NS,
  pod,
  resolvedModel,
  route,
  routeConfig,
  secret,
} from './objects.ts';

let fake: FakeApiServer;
const sources: KubeSource[] = [];

beforeEach(async () => {
  fake = await FakeApiServer.start();
});

afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.close()));
  await fake.close();
});

async function start(extra: Partial<KubeSourceOptions> = {}): Promise<KubeSource> {
  const source = await startKubeSource({
    kubeConfig: fake.kubeConfig(),
    namespaces: 'all',
    ...FAST,
    ...extra,
  });
  sources.push(source);
  return source;
}

function seed(objects: Record<string, unknown>[]): void {
  for (const o of objects) fake.apply(o);
}

/** LIST requests (not watches) for one resource. */
const lists = (plural: string) =>
  fake.requests.filter(
    (r) => r.method === 'GET' && r.query.watch === undefined && r.path.endsWith(`/${plural}`),
  ).length;
const watches = (plural: string) =>
  fake.requests.filter((r) => r.method === 'WATCH' && r.path.endsWith(`/${plural}`));

/** Waits until every reflector of the source has its watch open on the fake (5 for the default kinds). */
const allWatching = (count = 5) => eventually(() => fake.openWatches === count);

const model = (s: KubeSource) => resolvedModel(s.snapshot, `${NS}/chat`, 'chat-model');
const endpoints = (s: KubeSource) =>
  poolView(s.snapshot, `${NS}/llama`)
    ?.endpoints.map((e) => e.address)
    .sort();

const editChatModel = (modelNameOverride: string) =>
  fake.patch('RouteConfig', NS, 'chat', {
    spec: { routes: [route('main', 'chat-model', 'openai', { modelNameOverride })] },
  });

describe('Kubernetes source: every change reaches the snapshot', () => {
  it('publishes the cluster configuration, and a RouteConfig edit changes the resolved model', async () => {
    seed(baseObjects());
    const source = await start();
    const published: Snapshot[] = [];
    source.subscribe({ onSnapshot: (s) => published.push(s), onRejected: () => {} });
    expect(model(source)).toBe('gpt-4o');
    const firstVersion = source.snapshot.version;

    editChatModel('gpt-4.1');
    await eventually(() => model(source) === 'gpt-4.1');
    expect(source.snapshot.version).toBeGreaterThan(firstVersion);
    expect(published.at(-1)).toBe(source.snapshot);
  });

  it('makes a created APIKey known and a deleted one unknown', async () => {
    seed(baseObjects());
    const source = await start();
    fake.apply(secret('team-b', { key: 'sk-team-b-key-0002' }));
    fake.apply(apiKey('team-b', 'team-b', 'chat'));
    await eventually(() => knowsKey(source.snapshot, 'sk-team-b-key-0002'));

    fake.delete('APIKey', NS, 'team-b');
    await eventually(() => !knowsKey(source.snapshot, 'sk-team-b-key-0002'));
    expect(knowsKey(source.snapshot, 'sk-team-a-key-0001')).toBe(true);
  });

  it('rotates the provider key when its Secret changes', async () => {
    seed(baseObjects());
    const source = await start();
    const providerKey = () => apiKeyOf(source.snapshot.backends.get(`${NS}/openai`)?.credential);
    expect(providerKey()).toBe('sk-provider-0001');

    fake.apply(secret('openai', { 'api-key': 'sk-provider-0002' }));
    await eventually(() => providerKey() === 'sk-provider-0002');
  });

  it('moves a backend when its ProviderBackend changes, and drops the routes to it when it is deleted', async () => {
    seed(baseObjects());
    const source = await start();
    fake.patch('ProviderBackend', NS, 'openai', { spec: { baseURL: 'https://eu.openai.example/v1' } });
    await eventually(
      () => source.snapshot.backends.get(`${NS}/openai`)?.origin === 'https://eu.openai.example',
    );

    fake.delete('ProviderBackend', NS, 'openai');
    await eventually(() => !source.snapshot.routeConfigs.has(`${NS}/chat`));
    expect(source.outcomes.get(`RouteConfig ${NS}/chat`)?.problems[0]).toMatchObject({
      reason: 'BackendNotFound',
      message: `ProviderBackend "openai" not found in namespace "${NS}"`,
    });
    expect(knowsKey(source.snapshot, 'sk-team-a-key-0001')).toBe(false);
  });

  it('serves an InferencePool with the Pods its selector matches, following their readiness', async () => {
    seed([
      inferencePool('llama', { app: 'llama' }),
      pod('llama-0', { app: 'llama' }, '10.0.0.10'),
      pod('llama-1', { app: 'llama' }, '10.0.0.11'),
      pod('web-0', { app: 'web' }, '10.0.0.99'),
    ]);
    const source = await start({ kinds: ['InferencePool', 'Pod'] });
    expect(endpoints(source)).toEqual(['10.0.0.10:8000', '10.0.0.11:8000']);
    // Pods are read only through the pool's selector.
    expect(watches('pods').every((w) => w.query.labelSelector === 'app=llama')).toBe(true);
    expect(source.snapshot.pods.map((p) => p.metadata.name).sort()).toEqual(['llama-0', 'llama-1']);

    fake.patchStatus('Pod', NS, 'llama-1', { status: { conditions: [{ type: 'Ready', status: 'False' }] } });
    await eventually(() => endpoints(source)?.join() === '10.0.0.10:8000');
    fake.delete('Pod', NS, 'llama-0');
    fake.apply(pod('llama-2', { app: 'llama' }, '10.0.0.12'));
    await eventually(() => endpoints(source)?.join() === '10.0.0.12:8000');

    // A new selector gets its own watch; the old one's Pods leave the snapshot.
    fake.patch('InferencePool', NS, 'llama', { spec: { selector: { matchLabels: { app: 'web' } } } });
    await eventually(() => endpoints(source)?.join() === '10.0.0.99:8000');
    expect(source.snapshot.pods.map((p) => p.metadata.name)).toEqual(['web-0']);
  });

  it('reads only the Secrets labelled for agent-router, and says so when a reference misses one', async () => {
    seed([...baseObjects(), secret('unlabelled', { key: 'sk-unlabelled-0003' }, { labelled: false })]);
    fake.apply(apiKey('team-u', 'unlabelled', 'chat'));
    const source = await start();
    for (const r of fake.requests.filter((q) => q.path.endsWith('/secrets')))
      expect(r.query.labelSelector).toBe('agentrouter.dev/secret=true');
    expect(source.outcomes.get(`APIKey ${NS}/team-u`)?.problems).toEqual([
      expect.objectContaining({
        reason: 'SecretNotFound',
        message: expect.stringContaining(
          'agent-router reads only Secrets labelled agentrouter.dev/secret=true',
        ),
      }),
    ]);

    fake.patch('Secret', NS, 'unlabelled', { metadata: { labels: { 'agentrouter.dev/secret': 'true' } } });
    await eventually(() => knowsKey(source.snapshot, 'sk-unlabelled-0003'));
  });

  it('watches only the namespaces it is given', async () => {
    seed([...baseObjects(), ...baseObjects('team-b')]);
    const source = await start({ namespaces: ['team-b'] });
    expect([...source.snapshot.routeConfigs.keys()]).toEqual(['team-b/chat']);
    expect(fake.requests.every((r) => r.path.includes('/namespaces/team-b/'))).toBe(true);
  });
});

describe('Kubernetes source: connection trouble', () => {
  it('resumes a dropped watch where it stopped, losing no change made while it was down', async () => {
    seed(baseObjects());
    const source = await start();
    await allWatching();
    const listsBefore = lists('routeconfigs') + lists('apikeys');

    fake.setAvailable(false);
    fake.dropWatches();
    editChatModel('gpt-4.1');
    fake.delete('APIKey', NS, 'team-a');
    // The client keeps trying during the outage (and backs off).
    await eventually(() => fake.requests.some((r) => r.status === 503));
    fake.setAvailable(true);

    await eventually(() => model(source) === 'gpt-4.1' && !knowsKey(source.snapshot, 'sk-team-a-key-0001'));
    // Caught up from the watch history, not by listing again.
    expect(lists('routeconfigs') + lists('apikeys')).toBe(listsBefore);
    expect(watches('routeconfigs').at(-1)?.query.resourceVersion).not.toBe('');
  });

  it.each(['event', 'status'] as const)(
    'relists after 410 Gone (as an %s) and catches up, deletions included',
    async (goneAs) => {
      fake.goneAs = goneAs;
      seed(baseObjects());
      const source = await start();
      await allWatching();
      const listsBefore = lists('routeconfigs');

      fake.setAvailable(false);
      fake.dropWatches();
      editChatModel('gpt-4.1');
      fake.delete('APIKey', NS, 'team-a');
      fake.compact();
      fake.setAvailable(true);

      await eventually(() => model(source) === 'gpt-4.1' && !knowsKey(source.snapshot, 'sk-team-a-key-0001'));
      expect(lists('routeconfigs')).toBeGreaterThan(listsBefore);
    },
  );

  it('honours bookmarks: after one, a resume survives compaction without relisting', async () => {
    seed(baseObjects());
    const source = await start();
    await allWatching();
    const listsBefore = lists('routeconfigs');
    // A write none of the watches sees moves the resourceVersion past what they have seen.
    fake.apply(secret('elsewhere', { key: 'x' }, { labelled: false }));
    const bookmarkRv = fake.resourceVersion;

    fake.setAvailable(false);
    fake.bookmark();
    fake.endWatches();
    fake.compact();
    await eventually(() => fake.requests.some((r) => r.status === 503));
    fake.setAvailable(true);

    editChatModel('gpt-4.1');
    await eventually(() => model(source) === 'gpt-4.1');
    expect(lists('routeconfigs')).toBe(listsBefore);
    expect(watches('routeconfigs').at(-1)?.query.resourceVersion).toBe(bookmarkRv);
  });

  it('without a bookmark, the same resume after compaction has to relist', async () => {
    seed(baseObjects());
    const source = await start();
    await allWatching();
    const listsBefore = lists('routeconfigs');
    fake.apply(secret('elsewhere', { key: 'x' }, { labelled: false }));

    fake.setAvailable(false);
    fake.endWatches();
    fake.compact();
    await eventually(() => fake.requests.some((r) => r.status === 503));
    fake.setAvailable(true);

    editChatModel('gpt-4.1');
    await eventually(() => model(source) === 'gpt-4.1');
    expect(lists('routeconfigs')).toBeGreaterThan(listsBefore);
  });

  it('starts without a kind whose CRD is not installed, and picks it up once it is', async () => {
    await fake.close();
    fake = await FakeApiServer.start({ unserved: ['inferencepools'] });
    seed(baseObjects());
    const source = await start();
    expect(model(source)).toBe('gpt-4o');

    fake.serve('inferencepools');
    fake.apply(inferencePool('llama', { app: 'llama' }));
    fake.apply(pod('llama-0', { app: 'llama' }, '10.0.0.10'));
    await eventually(() => endpoints(source)?.join() === '10.0.0.10:8000');
  });

  it('waits for the API server at startup and starts once it answers', async () => {
    seed(baseObjects());
    fake.setAvailable(false);
    const starting = start();
    await eventually(() => fake.requests.filter((r) => r.status === 503).length >= 2);
    fake.setAvailable(true);
    const source = await starting;
    expect(model(source)).toBe('gpt-4o');
  });
});

describe('Kubernetes source: invalid objects', () => {
  it('sets an invalid RouteConfig aside, keeps its last good version and the other RouteConfigs serving', async () => {
    seed([
      ...baseObjects(),
      routeConfig('other', [route('main', 'other-model', 'openai', { modelNameOverride: 'gpt-4o-mini' })]),
    ]);
    const source = await start();
    const rejected: string[] = [];
    source.subscribe({ onSnapshot: () => {}, onRejected: (e) => rejected.push(e.message) });

    fake.patch('RouteConfig', NS, 'other', {
      spec: {
        routes: [route('main', 'other-model', 'openai', { modelNameOverride: 'gpt-5', weight: 2_000_000 })],
      },
    });
    await eventually(() => source.problems.length > 0);
    expect(source.problems).toEqual([
      expect.objectContaining({
        object: `RouteConfig ${NS}/other`,
        path: 'spec.routes[0].weight',
        message: 'must be an integer between 0 and 1000000',
      }),
    ]);
    expect(rejected.at(-1)).toContain(
      `kubernetes RouteConfig ${NS}/other: spec.routes[0].weight: must be an integer between 0 and 1000000`,
    );
    expect(resolvedModel(source.snapshot, `${NS}/other`, 'other-model')).toBe('gpt-4o-mini');

    // Other objects still change freely.
    editChatModel('gpt-4.1');
    await eventually(() => model(source) === 'gpt-4.1');
    expect(resolvedModel(source.snapshot, `${NS}/other`, 'other-model')).toBe('gpt-4o-mini');

    fake.patch('RouteConfig', NS, 'other', {
      spec: { routes: [route('main', 'other-model', 'openai', { modelNameOverride: 'gpt-5' })] },
    });
    await eventually(() => resolvedModel(source.snapshot, `${NS}/other`, 'other-model') === 'gpt-5');
    expect(source.problems).toEqual([]);
  });
});
