import { describe, expect, it } from 'vitest';
import { type Candidate, reconcile } from '../../kube/reconcile.ts';
import { type CachedObject, project, type WatchedKind } from '../../kube/resources.ts';
import {
  apiKey,
  backend,
  baseObjects,
  knowsKey,
  resolvedModel,
  route,
  routeConfig,
  secret,
} from './objects.ts';

type Json = Record<string, unknown>;

/** Objects as the cache holds them; `generation` and `created` as the API server would set them. */
function cached(objects: Json[], meta: Record<string, { generation?: number; created?: string }> = {}) {
  return objects.map((o, i) => {
    const m = o.metadata as { name: string; namespace: string };
    const extra = meta[`${o.kind} ${m.namespace}/${m.name}`] ?? {};
    const raw = {
      ...o,
      metadata: {
        ...m,
        resourceVersion: String(i + 1),
        generation: extra.generation ?? 1,
        creationTimestamp: extra.created ?? '2025-01-01T00:00:00Z',
      },
    };
    return project(o.kind as WatchedKind, raw) as CachedObject;
  });
}

const HINT = { secretHint: 'agent-router reads only Secrets labelled agentrouter.dev/secret=true' };

describe('reconcile', () => {
  it('compiles the objects with the same validation and compile as file mode', () => {
    const result = reconcile(cached(baseObjects()), new Map());
    expect(result.problems).toEqual([]);
    expect(resolvedModel(result.snapshot, 'apps/chat', 'chat-model')).toBe('gpt-4o');
    expect(knowsKey(result.snapshot, 'sk-team-a-key-0001')).toBe(true);
    expect(result.snapshot.keysById.get('apps/team-a')?.attributes).toEqual({ tenant: 'a' });
    expect(result.outcomes.get('RouteConfig apps/chat')).toMatchObject({
      problems: [],
      serving: { version: 'current' },
      generation: 1,
      routes: result.snapshot.routeConfigs.get('apps/chat')!.entries.size,
    });
    expect(result.outcomes.get('RouteConfig apps/chat')!.routes).toBeGreaterThan(0);
  });

  it('leaves out an invalid RouteConfig, naming it "Kind namespace/name" and the field path, and serves the rest', () => {
    const broken = routeConfig('broken', [
      route('a', 'other-model', 'openai'),
      route('b', 'other-model', 'openai', { weight: -1 }),
    ]);
    const result = reconcile(cached([...baseObjects(), broken]), new Map());
    expect(result.problems).toEqual([
      {
        source: 'kubernetes',
        document: 0,
        object: 'RouteConfig apps/broken',
        path: 'spec.routes[1].weight',
        message: 'must be an integer between 0 and 1000000',
        condition: 'Accepted',
        reason: 'Invalid',
      },
    ]);
    expect(result.snapshot.routeConfigs.has('apps/broken')).toBe(false);
    expect(resolvedModel(result.snapshot, 'apps/chat', 'chat-model')).toBe('gpt-4o');
    expect(result.outcomes.get('RouteConfig apps/broken')?.invalid).toBe(true);
  });

  it('drops what depends on a rejected object and says the reference exists but is not accepted', () => {
    const objects = [
      ...baseObjects(),
      secret('team-b', { key: 'sk-team-b-key-0002' }),
      routeConfig('broken', [route('a', 'm', 'missing-backend')]),
      apiKey('team-b', 'team-b', 'broken'),
    ];
    const result = reconcile(cached(objects), new Map(), HINT);
    expect(result.outcomes.get('RouteConfig apps/broken')?.problems).toEqual([
      expect.objectContaining({
        path: 'spec.routes[0].backendRef.name',
        message: 'ProviderBackend "missing-backend" not found in namespace "apps"',
        condition: 'ResolvedRefs',
        reason: 'BackendNotFound',
      }),
    ]);
    expect(result.outcomes.get('APIKey apps/team-b')?.problems).toEqual([
      expect.objectContaining({
        path: 'spec.routeConfigRef.name',
        message: 'RouteConfig "broken" exists but is not accepted (see its status)',
        reason: 'RefNotAccepted',
      }),
    ]);
    expect(knowsKey(result.snapshot, 'sk-team-b-key-0002')).toBe(false);
    expect(knowsKey(result.snapshot, 'sk-team-a-key-0001')).toBe(true);
  });

  it('calls a missing Secret SecretNotFound and says which Secrets are read', () => {
    const objects = [...baseObjects(), apiKey('team-c', 'not-there', 'chat')];
    const result = reconcile(cached(objects), new Map(), HINT);
    expect(result.outcomes.get('APIKey apps/team-c')?.problems).toEqual([
      expect.objectContaining({
        path: 'spec.secretRef',
        message:
          'Secret "not-there" not found in namespace "apps" (agent-router reads only Secrets labelled agentrouter.dev/secret=true)',
        condition: 'ResolvedRefs',
        reason: 'SecretNotFound',
      }),
    ]);
  });

  it('calls a Secret without the expected key InvalidSecret, and leaves the backend out rather than serve it without credentials', () => {
    const objects = baseObjects().map((o) =>
      o.kind === 'Secret' && (o.metadata as { name: string }).name === 'openai'
        ? secret('openai', { 'wrong-key': 'x' })
        : o,
    );
    const result = reconcile(cached(objects), new Map());
    expect(result.outcomes.get('ProviderBackend apps/openai')?.problems).toEqual([
      expect.objectContaining({ path: 'spec.credentials.secretRef', reason: 'InvalidSecret' }),
    ]);
    expect(result.snapshot.backends.has('apps/openai')).toBe(false);
    expect(result.outcomes.get('RouteConfig apps/chat')?.problems[0]?.reason).toBe('RefNotAccepted');
  });

  it('calls a Secret whose data is not base64 InvalidSecret on the backend, quoting what is wrong with it', () => {
    const objects = baseObjects().map((o) =>
      o.kind === 'Secret' && (o.metadata as { name: string }).name === 'openai'
        ? { ...o, data: { 'api-key': 'sk-provider-0001' } }
        : o,
    );
    const result = reconcile(cached(objects), new Map());
    expect(result.outcomes.get('Secret apps/openai')?.problems).toEqual([
      expect.objectContaining({ path: 'data[api-key]', reason: 'Invalid' }),
    ]);
    expect(result.outcomes.get('ProviderBackend apps/openai')?.problems).toEqual([
      expect.objectContaining({
        path: 'spec.credentials.secretRef',
        condition: 'ResolvedRefs',
        reason: 'InvalidSecret',
        message: expect.stringMatching(/^Secret "openai" is invalid: data\[api-key\]: is not valid base64/),
      }),
    ]);
    expect(result.snapshot.backends.has('apps/openai')).toBe(false);
  });

  it('calls a provider key that ends in a newline InvalidSecret, and leaves the backend out rather than 503 every request', () => {
    const objects = baseObjects().map((o) =>
      o.kind === 'Secret' && (o.metadata as { name: string }).name === 'openai'
        ? secret('openai', { 'api-key': 'sk-provider-0001\n' })
        : o,
    );
    const result = reconcile(cached(objects), new Map());
    expect(result.outcomes.get('ProviderBackend apps/openai')?.problems).toEqual([
      expect.objectContaining({
        path: 'spec.credentials.secretRef',
        condition: 'ResolvedRefs',
        reason: 'InvalidSecret',
        message: expect.stringContaining(
          'Secret "openai" key "api-key" holds a line feed (U+000A) at offset 16',
        ),
      }),
    ]);
    expect(result.snapshot.backends.has('apps/openai')).toBe(false);
    expect(result.outcomes.get('RouteConfig apps/chat')?.problems[0]?.reason).toBe('RefNotAccepted');
  });

  it('keeps serving the last good version of an object that became invalid, and serves the fix', () => {
    const v1 = reconcile(cached(baseObjects()), new Map());
    const invalid = baseObjects().map((o) =>
      o.kind === 'RouteConfig'
        ? routeConfig('chat', [
            route('main', 'chat-model', 'openai', { modelNameOverride: 'gpt-5', weight: 'x' }),
          ])
        : o,
    );
    const v2 = reconcile(cached(invalid, { 'RouteConfig apps/chat': { generation: 2 } }), v1.lastGood);
    expect(resolvedModel(v2.snapshot, 'apps/chat', 'chat-model')).toBe('gpt-4o');
    expect(knowsKey(v2.snapshot, 'sk-team-a-key-0001')).toBe(true);
    expect(v2.outcomes.get('RouteConfig apps/chat')).toMatchObject({
      generation: 2,
      invalid: true,
      serving: { version: 'previous', generation: 1 },
      problems: [expect.objectContaining({ path: 'spec.routes[0].weight' })],
    });
    // The APIKey itself is fine and served (with the RouteConfig's last good version).
    expect(v2.outcomes.get('APIKey apps/team-a')).toMatchObject({
      problems: [],
      serving: { version: 'current' },
    });

    const fixed = baseObjects().map((o) =>
      o.kind === 'RouteConfig'
        ? routeConfig('chat', [route('main', 'chat-model', 'openai', { modelNameOverride: 'gpt-5' })])
        : o,
    );
    const v3 = reconcile(cached(fixed, { 'RouteConfig apps/chat': { generation: 3 } }), v2.lastGood);
    expect(resolvedModel(v3.snapshot, 'apps/chat', 'chat-model')).toBe('gpt-5');
    expect(v3.outcomes.get('RouteConfig apps/chat')).toMatchObject({
      problems: [],
      serving: { version: 'current' },
    });
  });

  it('keeps the last good version when the current one names a backend that does not exist', () => {
    const v1 = reconcile(cached(baseObjects()), new Map());
    const edited = baseObjects().map((o) =>
      o.kind === 'RouteConfig' ? routeConfig('chat', [route('main', 'chat-model', 'typo-backend')]) : o,
    );
    const v2 = reconcile(cached(edited, { 'RouteConfig apps/chat': { generation: 2 } }), v1.lastGood);
    expect(resolvedModel(v2.snapshot, 'apps/chat', 'chat-model')).toBe('gpt-4o');
    expect(v2.outcomes.get('RouteConfig apps/chat')).toMatchObject({
      invalid: false,
      serving: { version: 'previous', generation: 1 },
      problems: [expect.objectContaining({ reason: 'BackendNotFound' })],
    });
  });

  it('never brings back a deleted object: a deleted Secret takes its backend and what routes to it out', () => {
    const v1 = reconcile(cached(baseObjects()), new Map());
    const withoutSecret = baseObjects().filter(
      (o) => !(o.kind === 'Secret' && (o.metadata as { name: string }).name === 'openai'),
    );
    const v2 = reconcile(cached(withoutSecret), v1.lastGood);
    expect(v2.snapshot.backends.size).toBe(0);
    expect(v2.snapshot.routeConfigs.size).toBe(0);
    expect(knowsKey(v2.snapshot, 'sk-team-a-key-0001')).toBe(false);
    expect(v2.outcomes.get('ProviderBackend apps/openai')?.problems[0]?.reason).toBe('SecretNotFound');

    const withoutKey = baseObjects().filter((o) => o.kind !== 'APIKey');
    const v3 = reconcile(cached(withoutKey), v1.lastGood);
    expect(knowsKey(v3.snapshot, 'sk-team-a-key-0001')).toBe(false);
    expect(v3.lastGood.has('APIKey apps/team-a')).toBe(false);
  });

  it('names the right object when two namespaces hold objects of the same name', () => {
    const teamB = baseObjects('team-b').map((o) =>
      o.kind === 'RouteConfig'
        ? routeConfig('chat', [route('main', 'chat-model', 'nowhere')], {}, 'team-b')
        : o,
    );
    const result = reconcile(cached([...baseObjects(), ...teamB]), new Map());
    expect(result.problems.map((p) => [p.object, p.path])).toEqual([
      ['APIKey team-b/team-a', 'spec.routeConfigRef.name'],
      ['RouteConfig team-b/chat', 'spec.routes[0].backendRef.name'],
    ]);
    expect([...result.snapshot.routeConfigs.keys()]).toEqual(['apps/chat']);
  });

  it('lets the older of two keyless RouteConfigs keep keyless traffic', () => {
    const objects = [
      ...baseObjects(),
      routeConfig('newer', [route('r', 'm', 'openai')], { defaultForKeyless: true }),
      routeConfig('older', [route('r', 'm', 'openai')], { defaultForKeyless: true }),
    ];
    const result = reconcile(
      cached(objects, {
        'RouteConfig apps/newer': { created: '2025-03-01T00:00:00Z' },
        'RouteConfig apps/older': { created: '2025-02-01T00:00:00Z' },
      }),
      new Map(),
    );
    expect(result.snapshot.keylessRouteConfig?.id).toBe('apps/older');
    expect(result.outcomes.get('RouteConfig apps/newer')?.problems).toEqual([
      expect.objectContaining({ path: 'spec.defaultForKeyless', reason: 'Conflicted' }),
    ]);
  });

  it('fingerprints what it compiled: same input, same fingerprint; any change, another', () => {
    const lastGood = new Map<string, Candidate>();
    const a = reconcile(cached(baseObjects()), lastGood);
    const b = reconcile(cached(baseObjects()), lastGood);
    expect(b.fingerprint).toBe(a.fingerprint);
    const edited = baseObjects().map((o) =>
      o.kind === 'ProviderBackend' ? backend('openai', { region: 'eu' }) : o,
    );
    expect(reconcile(cached(edited), lastGood).fingerprint).not.toBe(a.fingerprint);
  });
});
