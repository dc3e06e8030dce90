import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeApi } from '../../kube/api.ts';
import type { ObjectOutcome } from '../../kube/reconcile.ts';
import { type KubeSource, type KubeSourceOptions, startKubeSource } from '../../kube/source.ts';
import { conditionsFor, desiredStatus, StatusWriter, statusKey } from '../../kube/status.ts';
import { eventually } from '../helpers/log-capture.ts';
import { FakeApiServer } from './fake-api-server.ts';
import { apiKey, baseObjects, FAST, NS, route, routeConfig, secret, silentLogger } from './objects.ts';

type Json = Record<string, unknown>;
type Condition = {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
};

const served: ObjectOutcome = {
  id: `RouteConfig ${NS}/chat`,
  kind: 'RouteConfig',
  namespace: NS,
  name: 'chat',
  generation: 3,
  problems: [],
  invalid: false,
  serving: { version: 'current' },
};

const invalidWeight: ObjectOutcome = {
  ...served,
  generation: 4,
  invalid: true,
  serving: { version: 'previous', generation: 3 },
  problems: [
    {
      source: 'kubernetes',
      document: 0,
      object: served.id,
      path: 'spec.routes[1].weight',
      message: 'must be an integer between 0 and 1000000',
      condition: 'Accepted',
      reason: 'Invalid',
    },
  ],
};

describe('status conditions', () => {
  it('says Accepted and ResolvedRefs for a served object, with its generation', () => {
    expect(conditionsFor(served)).toEqual([
      {
        type: 'Accepted',
        status: 'True',
        reason: 'Accepted',
        message: 'accepted and in use',
        observedGeneration: 3,
      },
      {
        type: 'ResolvedRefs',
        status: 'True',
        reason: 'ResolvedRefs',
        message: 'all references resolved',
        observedGeneration: 3,
      },
    ]);
  });

  it('names the field of an invalid spec and the generation still served', () => {
    expect(conditionsFor(invalidWeight)).toEqual([
      {
        type: 'Accepted',
        status: 'False',
        reason: 'Invalid',
        message:
          'spec.routes[1].weight: must be an integer between 0 and 1000000 (still serving generation 3, the last accepted one)',
        observedGeneration: 4,
      },
      {
        type: 'ResolvedRefs',
        status: 'Unknown',
        reason: 'Invalid',
        message: 'references are checked once the spec is valid',
        observedGeneration: 4,
      },
    ]);
  });

  it('says which reference does not resolve, in both conditions', () => {
    const missingSecret: ObjectOutcome = {
      ...served,
      kind: 'APIKey',
      problems: [
        {
          source: 'kubernetes',
          document: 0,
          object: `APIKey ${NS}/team-a`,
          path: 'spec.secretRef',
          message: 'Secret "team-a" not found in namespace "apps"',
          condition: 'ResolvedRefs',
          reason: 'SecretNotFound',
        },
      ],
    };
    delete missingSecret.serving;
    const [accepted, resolved] = conditionsFor(missingSecret);
    expect(accepted).toMatchObject({ status: 'False', reason: 'UnresolvedRefs' });
    expect(resolved).toMatchObject({
      status: 'False',
      reason: 'SecretNotFound',
      message: 'spec.secretRef: Secret "team-a" not found in namespace "apps"',
    });
  });

  it("keeps lastTransitionTime while a condition holds, moves it when the condition flips, and keeps other writers' conditions", () => {
    const t0 = new Date('2025-01-01T00:00:00Z');
    const t1 = new Date('2025-01-02T00:00:00Z');
    const foreign = {
      type: 'Programmed',
      status: 'True',
      reason: 'X',
      message: 'y',
      lastTransitionTime: 'then',
    };
    const first = desiredStatus(served, { conditions: [foreign] }, t0);
    const again = desiredStatus({ ...served, generation: 5 }, first, t1);
    const conditions = again.conditions as Json[];
    expect(conditions.map((c) => [c.type, c.lastTransitionTime])).toEqual([
      ['Accepted', '2025-01-01T00:00:00Z'],
      ['ResolvedRefs', '2025-01-01T00:00:00Z'],
      ['Programmed', 'then'],
    ]);
    const flipped = desiredStatus(invalidWeight, again, t1).conditions as Json[];
    expect(flipped[0]).toMatchObject({ status: 'False', lastTransitionTime: '2025-01-02T00:00:00Z' });
  });

  it('writes how many routes a served RouteConfig serves, for the Routes printer column', () => {
    const status = desiredStatus({ ...served, routes: 3 }, undefined, new Date());
    expect(status.routes).toBe(3);
    expect(statusKey(desiredStatus({ ...served, routes: 4 }, status, new Date()))).not.toBe(
      statusKey(status),
    );
    expect(desiredStatus(invalidWeight, undefined, new Date())).not.toHaveProperty('routes');
  });

  it('sees nothing to write when the object already says it, whatever the times', () => {
    const written = desiredStatus(served, undefined, new Date('2025-01-01T00:00:00Z'));
    expect(statusKey(desiredStatus(served, written, new Date()))).toBe(statusKey(written));
    expect(statusKey(desiredStatus(invalidWeight, written, new Date()))).not.toBe(statusKey(written));
  });
});

describe('status writer', () => {
  it('writes once per change while its write has not come back, and again for an object recreated under the same name', async () => {
    const server = await FakeApiServer.start();
    try {
      server.apply(routeConfig('chat', [route('main', 'chat-model', 'openai')]));
      const writer = new StatusWriter({
        api: new KubeApi(server.kubeConfig()),
        logger: silentLogger,
        canWrite: () => true,
      });
      const target = { kind: 'RouteConfig' as const, outcome: served, observed: undefined, uid: 'first' };
      expect(await writer.sync([target])).toBe(0);
      // The cache has not seen the write yet: no second write.
      await writer.sync([target]);
      expect(server.statusWrites()).toHaveLength(1);
      // Deleted and recreated (a new uid) before the cache caught up: its status is written.
      await writer.sync([{ ...target, uid: 'second' }]);
      expect(server.statusWrites()).toHaveLength(2);
      // Once the cache shows what was written, nothing is left to do.
      await writer.sync([
        { ...target, uid: 'second', observed: server.get('RouteConfig', NS, 'chat')?.status as Json },
      ]);
      expect(server.statusWrites()).toHaveLength(2);
    } finally {
      await server.close();
    }
  });
});

let fake: FakeApiServer;
const sources: KubeSource[] = [];

beforeEach(async () => {
  fake = await FakeApiServer.start();
});

afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.close()));
  await fake.close();
});

/** A source that competes for the status Lease as pod `identity` (also its bearer token on the fake). */
async function startWriter(identity: string, extra: Partial<KubeSourceOptions> = {}): Promise<KubeSource> {
  const source = await startKubeSource({
    kubeConfig: fake.kubeConfig(identity),
    namespaces: 'all',
    ...FAST,
    status: {
      identity,
      leaseNamespace: 'agent-router',
      leaseDurationMs: 1_000,
      renewDeadlineMs: 700,
      retryPeriodMs: 100,
    },
    ...extra,
  });
  sources.push(source);
  return source;
}

const conditions = (kind: string, name: string): Condition[] =>
  ((fake.get(kind, NS, name)?.status as Json | undefined)?.conditions as Condition[] | undefined) ?? [];
const condition = (kind: string, name: string, type: string) =>
  conditions(kind, name).find((c) => c.type === type);
const lease = () => (fake.get('Lease', 'agent-router', 'agent-router-status')?.spec ?? {}) as Json;
const accepted = (kind: string, name: string) => condition(kind, name, 'Accepted')?.status;

/** Every object of the base set says Accepted=True. */
const allAccepted = () =>
  accepted('RouteConfig', 'chat') === 'True' &&
  accepted('ProviderBackend', 'openai') === 'True' &&
  accepted('APIKey', 'team-a') === 'True';

/** Resolves once the source has completed a pass that started after this call. */
async function onePass(source: KubeSource): Promise<void> {
  const before = source.stats.passes;
  source.resync();
  await eventually(() => source.stats.passes > before);
}

describe('status written to the cluster', () => {
  it('writes Accepted and ResolvedRefs with observedGeneration on each RouteConfig, ProviderBackend and APIKey', async () => {
    for (const o of baseObjects()) fake.apply(o);
    await startWriter('pod-a');
    await eventually(allAccepted);
    for (const [kind, name] of [
      ['RouteConfig', 'chat'],
      ['ProviderBackend', 'openai'],
      ['APIKey', 'team-a'],
    ] as const) {
      expect(conditions(kind, name).map((c) => [c.type, c.status, c.reason, c.observedGeneration])).toEqual([
        ['Accepted', 'True', 'Accepted', 1],
        ['ResolvedRefs', 'True', 'ResolvedRefs', 1],
      ]);
      expect(fake.get(kind, NS, name)?.status).toMatchObject({ observedGeneration: 1 });
    }
    // Through the status subresource, as a merge patch.
    expect(fake.statusWrites().every((w) => w.contentType === 'application/merge-patch+json')).toBe(true);
  });

  it('marks an invalid RouteConfig Accepted=False with the field path, and a missing Secret SecretNotFound, while the rest stay Accepted', async () => {
    for (const o of baseObjects()) fake.apply(o);
    fake.apply(
      routeConfig('broken', [route('a', 'm', 'openai'), route('b', 'm', 'openai', { weight: 2_000_000 })]),
    );
    fake.apply(apiKey('team-z', 'no-such-secret', 'chat'));
    await startWriter('pod-a');
    await eventually(() => allAccepted() && accepted('RouteConfig', 'broken') === 'False');
    expect(condition('RouteConfig', 'broken', 'Accepted')).toMatchObject({
      reason: 'Invalid',
      message: 'spec.routes[1].weight: must be an integer between 0 and 1000000',
      observedGeneration: 1,
    });
    await eventually(() => condition('APIKey', 'team-z', 'ResolvedRefs')?.status === 'False');
    expect(condition('APIKey', 'team-z', 'ResolvedRefs')).toMatchObject({
      reason: 'SecretNotFound',
      message: expect.stringContaining(
        'spec.secretRef: Secret "no-such-secret" not found in namespace "apps"',
      ),
    });
    expect(condition('APIKey', 'team-z', 'Accepted')).toMatchObject({
      status: 'False',
      reason: 'UnresolvedRefs',
    });

    // Fixed: Accepted again, with the new generation.
    fake.patch('RouteConfig', NS, 'broken', { spec: { routes: [route('a', 'm', 'openai')] } });
    await eventually(() => accepted('RouteConfig', 'broken') === 'True');
    expect(condition('RouteConfig', 'broken', 'Accepted')?.observedGeneration).toBe(2);
  });

  it('marks the ProviderBackend ResolvedRefs=False InvalidSecret when its Secret holds a key no header can carry, and Accepted again once fixed', async () => {
    for (const o of baseObjects()) fake.apply(o);
    fake.apply(secret('openai', { 'api-key': 'sk-provider-0001\r\n' }));
    const source = await startWriter('pod-a');
    await eventually(() => condition('ProviderBackend', 'openai', 'ResolvedRefs')?.status === 'False');
    expect(condition('ProviderBackend', 'openai', 'ResolvedRefs')).toMatchObject({
      reason: 'InvalidSecret',
      message: expect.stringContaining(
        'spec.credentials.secretRef: Secret "openai" key "api-key" holds a carriage return (U+000D)',
      ),
    });
    expect(source.snapshot.backends.has(`${NS}/openai`)).toBe(false);
    await eventually(() => condition('RouteConfig', 'chat', 'ResolvedRefs')?.reason === 'RefNotAccepted');

    fake.apply(secret('openai', { 'api-key': 'sk-provider-0002' }));
    await eventually(allAccepted);
    expect(source.snapshot.backends.has(`${NS}/openai`)).toBe(true);
  });

  it('writes nothing when nothing changed: not on resync, not for a new leader, once per real change', async () => {
    for (const o of baseObjects()) fake.apply(o);
    const first = await startWriter('pod-a');
    await eventually(allAccepted);
    await onePass(first);
    const settled = fake.statusWrites().length;
    expect(settled).toBe(3);

    await onePass(first);
    await onePass(first);
    expect(fake.statusWrites()).toHaveLength(settled);

    // A new leader finds every status right already.
    await first.close();
    sources.splice(0);
    const second = await startWriter('pod-b');
    await eventually(() => second.isLeader);
    await onePass(second);
    expect(fake.statusWrites()).toHaveLength(settled);

    // A spec change: exactly one write, for that object.
    fake.patch('RouteConfig', NS, 'chat', {
      spec: { routes: [route('main', 'chat-model', 'openai', { modelNameOverride: 'gpt-4.1' })] },
    });
    await eventually(() => condition('RouteConfig', 'chat', 'Accepted')?.observedGeneration === 2);
    await onePass(second);
    const after = fake.statusWrites().slice(settled);
    expect(after.map((w) => w.path)).toEqual([
      `/apis/agentrouter.dev/v1alpha1/namespaces/${NS}/routeconfigs/chat/status`,
    ]);
  });
});

describe('one elected status writer', () => {
  it('lets only the Lease holder write, and hands over when it stops', async () => {
    for (const o of baseObjects()) fake.apply(o);
    const a = await startWriter('pod-a');
    const b = await startWriter('pod-b');
    await eventually(() => a.isLeader !== b.isLeader);
    const [leader, follower, leaderId, followerId] = a.isLeader
      ? [a, b, 'pod-a', 'pod-b']
      : [b, a, 'pod-b', 'pod-a'];
    await eventually(allAccepted);
    expect(lease()).toMatchObject({ holderIdentity: leaderId });

    fake.apply(routeConfig('broken', [route('a', 'm', 'openai', { weight: -1 })]));
    await eventually(() => accepted('RouteConfig', 'broken') === 'False');
    await onePass(follower);
    expect(fake.statusWrites(followerId)).toEqual([]);
    expect(fake.statusWrites(leaderId).length).toBeGreaterThan(0);

    // The leader shuts down and releases the Lease: the other takes over without waiting for expiry.
    await leader.close();
    await eventually(() => follower.isLeader);
    expect(lease()).toMatchObject({ holderIdentity: followerId, leaseTransitions: 1 });
    const leaderWrites = fake.statusWrites(leaderId).length;
    fake.patch('RouteConfig', NS, 'broken', { spec: { routes: [route('a', 'm', 'openai')] } });
    await eventually(() => accepted('RouteConfig', 'broken') === 'True');
    expect(fake.statusWrites(followerId).length).toBeGreaterThan(0);
    expect(fake.statusWrites(leaderId)).toHaveLength(leaderWrites);
  });

  it('takes over after the Lease expires when the leader is cut off, and the cut-off leader stops writing', async () => {
    for (const o of baseObjects()) fake.apply(o);
    const a = await startWriter('pod-a');
    await eventually(() => a.isLeader);
    const b = await startWriter('pod-b');
    await eventually(allAccepted);

    fake.setUnreachable('pod-a', true);
    await eventually(() => !a.isLeader);
    await eventually(() => b.isLeader);
    expect(lease().holderIdentity).toBe('pod-b');

    fake.apply(routeConfig('late', [route('a', 'm', 'openai', { weight: -1 })]));
    await eventually(() => accepted('RouteConfig', 'late') === 'False');
    expect(fake.statusWrites('pod-b').map((w) => w.path)).toContain(
      `/apis/agentrouter.dev/v1alpha1/namespaces/${NS}/routeconfigs/late/status`,
    );

    // Reachable again, the old leader stays a follower while the new one renews.
    fake.setUnreachable('pod-a', false);
    await onePass(a);
    expect(a.isLeader).toBe(false);
    expect(fake.statusWrites('pod-a').some((w) => w.path.includes('/late/'))).toBe(false);
  });
});
