import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { compile, parseDuration } from '../../config/compile.ts';
import type { AnyManifest } from '../../config/manifests.ts';
import type { ConfigProblem } from '../../config/problems.ts';
import { SecretValue } from '../../config/secret-value.ts';
import type { CompiledEntry } from '../../config/snapshot.ts';
import { apiKeyOf } from '../../ext-proc/translate/translator.ts';
import {
  apiKey,
  backend,
  compileValid,
  entry,
  located,
  routeConfig,
  routeConfigOf,
  secret,
} from '../fixtures/config/manifests.ts';

const GATEWAY_KEY = 'sk-gateway-team-a-0123456789';
const PROVIDER_KEY = 'sk-provider-secret-abcdef';
const BYO_KEY = 'sk-bring-your-own-key-xyz';

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');
const names = (list: readonly CompiledEntry[] | undefined) => list?.map((e) => e.name);

function problemsOf(manifests: AnyManifest[], options = {}): ConfigProblem[] {
  return compile(located(manifests, 'config.yaml'), options).problems;
}

/** The smallest valid set: a secret for keys and provider, one backend, one route config, one key. */
function baseManifests(): AnyManifest[] {
  return [
    secret('gateway-keys', { stringData: { 'team-a': GATEWAY_KEY } }),
    secret('provider', { stringData: { 'api-key': PROVIDER_KEY } }),
    backend('openai', 'OpenAI', { baseURL: undefined, credentials: { secretRef: { name: 'provider' } } }),
    routeConfig('chat', [entry('a', 'chat-model', 'openai')]),
    apiKey('team-a', {
      secretRef: { name: 'gateway-keys', key: 'team-a' },
      routeConfigRef: { name: 'chat' },
      attributes: { tenant: 'team-a' },
    }),
  ];
}

describe('compile: references', () => {
  it('compiles a valid set without problems', () => {
    expect(problemsOf(baseManifests())).toEqual([]);
  });

  it('carries a backend’s streamUsage: false, and leaves it out when on (the default)', () => {
    const manifests = baseManifests();
    manifests.push(
      backend('vllm', 'OpenAICompatible', { baseURL: 'http://vllm:8000/v1', streamUsage: false }),
    );
    const { snapshot, problems } = compile(located(manifests, 'config.yaml'));
    expect(problems).toEqual([]);
    expect(snapshot.backends.get('default/vllm')?.streamUsage).toBe(false);
    expect(snapshot.backends.get('default/openai')).not.toHaveProperty('streamUsage');
  });

  it('reports a missing Secret at the referring field, with file and document', () => {
    const manifests = baseManifests();
    manifests.splice(1, 1); // drop the provider secret: the backend is now document 2
    expect(problemsOf(manifests)).toEqual([
      {
        source: 'config.yaml',
        document: 2,
        object: 'ProviderBackend openai',
        path: 'spec.credentials.secretRef',
        message: 'Secret "provider" not found in namespace "default"',
      },
    ]);
  });

  it('reports a missing Secret key, defaulting the key name to api-key', () => {
    const manifests = baseManifests();
    manifests[1] = secret('provider', { stringData: { token: PROVIDER_KEY } });
    expect(problemsOf(manifests)).toEqual([
      expect.objectContaining({
        document: 3,
        path: 'spec.credentials.secretRef',
        message: 'Secret "provider" has no key "api-key" (credential type APIKey)',
      }),
    ]);
  });

  it('reports a missing ProviderBackend at the route entry that names it', () => {
    const manifests = baseManifests();
    manifests[3] = routeConfig('chat', [
      entry('a', 'chat-model', 'openai'),
      entry('b', 'chat-model', 'gone'),
    ]);
    const problems = problemsOf(manifests);
    expect(problems[0]).toEqual({
      source: 'config.yaml',
      document: 4,
      object: 'RouteConfig chat',
      path: 'spec.routes[1].backendRef.name',
      message: 'ProviderBackend "gone" not found in namespace "default"',
    });
  });

  it('reports a missing RouteConfig at the APIKey that names it', () => {
    const manifests = baseManifests();
    manifests[4] = apiKey('team-a', {
      secretRef: { name: 'gateway-keys', key: 'team-a' },
      routeConfigRef: { name: 'nope' },
    });
    expect(problemsOf(manifests)).toEqual([
      expect.objectContaining({
        document: 5,
        object: 'APIKey team-a',
        path: 'spec.routeConfigRef.name',
        message: 'RouteConfig "nope" not found in namespace "default"',
      }),
    ]);
  });

  it('reports a missing ProviderBackend in a bring-your-own-key credential', () => {
    const manifests = baseManifests();
    manifests[4] = apiKey('team-a', {
      secretRef: { name: 'gateway-keys', key: 'team-a' },
      routeConfigRef: { name: 'chat' },
      providerCredentials: [{ backendRef: { name: 'azure' }, secretRef: { name: 'provider' } }],
    });
    expect(problemsOf(manifests)).toEqual([
      expect.objectContaining({
        path: 'spec.providerCredentials[0].backendRef.name',
        message: 'ProviderBackend "azure" not found',
      }),
    ]);
  });

  it('looks references up in the referring object’s namespace only', () => {
    const manifests = baseManifests();
    manifests[1] = { ...secret('provider', { stringData: { 'api-key': PROVIDER_KEY } }) };
    manifests[1].metadata = { name: 'provider', namespace: 'other' };
    expect(problemsOf(manifests)).toEqual([
      expect.objectContaining({ message: 'Secret "provider" not found in namespace "default"' }),
    ]);
  });

  it('reports an object defined twice, naming where it was first defined', () => {
    const manifests = [...baseManifests(), backend('openai')];
    expect(problemsOf(manifests)).toEqual([
      expect.objectContaining({
        document: 6,
        object: 'ProviderBackend openai',
        path: 'metadata.name',
        message: 'duplicates the object defined in config.yaml (document 3)',
      }),
    ]);
  });

  it('reports an InferencePool backendRef whose pool does not exist, and resolves one that does', () => {
    const manifests = baseManifests();
    manifests[3] = routeConfig('chat', [
      { name: 'a', model: 'chat-model', backendRef: { name: 'pool', kind: 'InferencePool' } },
    ]);
    expect(problemsOf(manifests)[0]).toEqual(
      expect.objectContaining({
        path: 'spec.routes[0].backendRef.name',
        message: 'InferencePool "pool" not found in namespace "default"',
      }),
    );
    const pool = {
      apiVersion: 'inference.networking.k8s.io/v1',
      kind: 'InferencePool',
      metadata: { name: 'pool', namespace: 'default' },
      spec: { selector: { matchLabels: { app: 'vllm' } }, targetPorts: [{ number: 8000 }] },
    };
    const snapshot = compileValid([...manifests, pool as never]);
    expect(snapshot.entries.get('default/chat/a')?.backend).toMatchObject({
      id: 'default/pool',
      kind: 'InferencePool',
      provider: 'OpenAICompatible',
    });
  });
});

describe('compile: keys', () => {
  it('reports two APIKeys with the same key material, without printing the key', () => {
    const manifests = [
      ...baseManifests(),
      secret('more-keys', { stringData: { copy: GATEWAY_KEY } }),
      apiKey('team-b', { secretRef: { name: 'more-keys', key: 'copy' }, routeConfigRef: { name: 'chat' } }),
    ];
    const result = compile(located(manifests, 'config.yaml'));
    expect(result.problems).toEqual([
      {
        source: 'config.yaml',
        document: 7,
        object: 'APIKey team-b',
        path: 'spec.secretRef',
        message: 'uses the same key material as APIKey "default/team-a"',
      },
    ]);
    expect(JSON.stringify(result.problems)).not.toContain(GATEWAY_KEY);
    expect([...result.snapshot.keysById.keys()]).toEqual(['default/team-a']);
  });

  it('reports a key shorter than 8 characters', () => {
    const manifests = baseManifests();
    manifests[0] = secret('gateway-keys', { stringData: { 'team-a': 'short' } });
    expect(problemsOf(manifests)).toEqual([
      expect.objectContaining({
        path: 'spec.secretRef',
        message: 'the key must be at least 8 characters long',
      }),
    ]);
  });

  it('keeps keys by the sha256 hex of their material and by id, never the material itself', () => {
    const snapshot = compileValid(baseManifests());
    const key = snapshot.keysByHash.get(sha256Hex(GATEWAY_KEY));
    expect(key).toBeDefined();
    expect(key).toBe(snapshot.keysById.get('default/team-a'));
    expect(key?.id).toBe('default/team-a');
    expect(key?.hash.toString('hex')).toBe(sha256Hex(GATEWAY_KEY));
    expect(key?.routeConfig).toBe(routeConfigOf(snapshot, 'chat'));
    expect(key?.attributes).toEqual({ tenant: 'team-a' });
    expect(key?.disabled).toBe(false);
    expect(snapshot.keysByHash.size).toBe(1);
  });

  it('reads Secret values from stringData as written and from data base64-decoded', () => {
    const manifests = baseManifests();
    manifests[0] = secret('gateway-keys', {
      data: { 'team-a': Buffer.from(GATEWAY_KEY).toString('base64') },
    });
    manifests[1] = secret('provider', { stringData: { 'api-key': PROVIDER_KEY } });
    const snapshot = compileValid(manifests);
    expect(snapshot.keysByHash.has(sha256Hex(GATEWAY_KEY))).toBe(true);
    expect(apiKeyOf(snapshot.backends.get('default/openai')?.credential)).toBe(PROVIDER_KEY);
  });

  it('prefers stringData over data for the same key, as Kubernetes does', () => {
    const manifests = baseManifests();
    manifests[1] = secret('provider', {
      data: { 'api-key': Buffer.from('from-data-value').toString('base64') },
      stringData: { 'api-key': PROVIDER_KEY },
    });
    expect(apiKeyOf(compileValid(manifests).backends.get('default/openai')?.credential)).toBe(PROVIDER_KEY);
  });

  it('keeps bring-your-own-key credentials per backend id', () => {
    const manifests = [
      ...baseManifests().slice(0, 4),
      secret('byo', { stringData: { 'api-key': BYO_KEY } }),
      apiKey('team-a', {
        secretRef: { name: 'gateway-keys', key: 'team-a' },
        routeConfigRef: { name: 'chat' },
        providerCredentials: [{ backendRef: { name: 'openai' }, secretRef: { name: 'byo' } }],
      }),
    ];
    const key = compileValid(manifests).keysById.get('default/team-a');
    expect(apiKeyOf(key?.providerCredentials.get('default/openai'))).toBe(BYO_KEY);
  });

  it('never exposes secret text through JSON.stringify or util.inspect', () => {
    const manifests = [
      ...baseManifests().slice(0, 4),
      secret('byo', { stringData: { 'api-key': BYO_KEY } }),
      apiKey('team-a', {
        secretRef: { name: 'gateway-keys', key: 'team-a' },
        routeConfigRef: { name: 'chat' },
        providerCredentials: [{ backendRef: { name: 'openai' }, secretRef: { name: 'byo' } }],
      }),
    ];
    const snapshot = compileValid(manifests);
    const credential = snapshot.backends.get('default/openai')?.credential;
    const key = snapshot.keysById.get('default/team-a')!;
    expect(credential?.type === 'APIKey' && credential.apiKey).toBeInstanceOf(SecretValue);
    const views = [
      JSON.stringify(credential),
      JSON.stringify([...snapshot.backends.values()]),
      JSON.stringify([...key.providerCredentials]),
      JSON.stringify({ ...key, routeConfig: undefined }),
      String(credential),
      `${key.providerCredentials.get('default/openai')}`,
      inspect(credential),
      inspect(credential, { showHidden: true, customInspect: false }),
      inspect(snapshot, { depth: Number.POSITIVE_INFINITY }),
      inspect(snapshot, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
    ];
    for (const view of views) {
      expect(view).not.toContain(PROVIDER_KEY);
      expect(view).not.toContain(BYO_KEY);
      expect(view).not.toContain(GATEWAY_KEY);
    }
    expect(JSON.stringify(credential)).toBe('{"type":"APIKey","apiKey":"[redacted]"}');
    expect(inspect(credential)).toBe("{ type: 'APIKey', apiKey: SecretValue([redacted]) }");
  });
});

describe('compile: keyless and providers', () => {
  it('serves keyless requests from the one active defaultForKeyless RouteConfig', () => {
    const manifests = [
      ...baseManifests(),
      routeConfig('public', [entry('p', 'chat-model', 'openai')], { defaultForKeyless: true }),
    ];
    const snapshot = compileValid(manifests);
    expect(snapshot.keylessRouteConfig?.id).toBe('default/public');
  });

  it('reports a second active defaultForKeyless RouteConfig', () => {
    const manifests = [
      ...baseManifests(),
      routeConfig('public', [entry('p', 'chat-model', 'openai')], { defaultForKeyless: true }),
      routeConfig('public-2', [entry('p', 'chat-model', 'openai')], { defaultForKeyless: true }),
    ];
    expect(problemsOf(manifests)).toEqual([
      {
        source: 'config.yaml',
        document: 7,
        object: 'RouteConfig public-2',
        path: 'spec.defaultForKeyless',
        message: 'only one active RouteConfig may serve keyless requests; "default/public" already does',
      },
    ]);
  });

  it('lets an inactive defaultForKeyless RouteConfig stand beside an active one', () => {
    const manifests = [
      ...baseManifests(),
      routeConfig('old', [entry('p', 'chat-model', 'openai')], { defaultForKeyless: true, active: false }),
      routeConfig('public', [entry('p', 'chat-model', 'openai')], { defaultForKeyless: true }),
    ];
    expect(compileValid(manifests).keylessRouteConfig?.id).toBe('default/public');
  });

  it('has no keyless RouteConfig unless one asks for it', () => {
    expect(compileValid(baseManifests()).keylessRouteConfig).toBeUndefined();
  });

  it('reports a provider this build does not support', () => {
    const manifests = [
      ...baseManifests(),
      backend('claude', 'Anthropic', { baseURL: 'https://api.anthropic.com/v1' }),
    ];
    const problems = problemsOf(manifests, { supportedProviders: new Set(['OpenAI', 'OpenAICompatible']) });
    expect(problems).toEqual([
      {
        source: 'config.yaml',
        document: 6,
        object: 'ProviderBackend claude',
        path: 'spec.provider',
        message: 'provider Anthropic is not supported by this build (supported: OpenAI, OpenAICompatible)',
      },
    ]);
  });

  it('accepts every provider when the build names no supported set', () => {
    const manifests = [
      ...baseManifests(),
      backend('claude', 'Anthropic', { baseURL: 'https://api.anthropic.com/v1' }),
    ];
    expect(problemsOf(manifests)).toEqual([]);
  });

  it('uses the documented base URL for OpenAI and splits it into origin and path', () => {
    const manifests = [
      ...baseManifests(),
      backend('vllm', 'OpenAICompatible', { baseURL: 'http://10.0.0.7:8000/v1/' }),
    ];
    const snapshot = compileValid(manifests);
    expect(snapshot.backends.get('default/openai')).toMatchObject({
      id: 'default/openai',
      provider: 'OpenAI',
      origin: 'https://api.openai.com',
      basePath: '/v1',
    });
    expect(snapshot.backends.get('default/vllm')).toMatchObject({
      origin: 'http://10.0.0.7:8000',
      basePath: '/v1',
    });
  });

  it('requires a baseURL for a provider without a documented default', () => {
    const manifests = [...baseManifests(), backend('azure', 'AzureOpenAI', { baseURL: undefined })];
    expect(problemsOf(manifests)).toEqual([
      expect.objectContaining({ path: 'spec.baseURL', message: 'is required for provider AzureOpenAI' }),
    ]);
  });
});

describe('compile: route configs', () => {
  it('finds entries by "<namespace>/<routeconfig>/<entry>" and sorts model names', () => {
    const manifests = [
      ...baseManifests().slice(0, 3),
      routeConfig('chat', [
        entry('z', 'zeta', 'openai', { modelNameOverride: 'gpt-4o-mini' }),
        entry('c', 'chat-model', 'openai', { weight: 7, priority: 2 }),
        entry('a', 'alpha', 'openai'),
      ]),
    ];
    const snapshot = compileValid(manifests);
    const rc = routeConfigOf(snapshot, 'chat');
    expect(rc.modelNames).toEqual(['alpha', 'chat-model', 'zeta']);
    expect([...snapshot.entries.keys()]).toEqual(['default/chat/z', 'default/chat/c', 'default/chat/a']);
    expect(snapshot.entries.get('default/chat/z')).toMatchObject({
      name: 'z',
      routeConfigId: 'default/chat',
      model: 'zeta',
      resolvedModel: 'gpt-4o-mini',
      weight: 1,
      priority: 0,
    });
    expect(snapshot.entries.get('default/chat/c')).toMatchObject({
      resolvedModel: 'chat-model',
      weight: 7,
      priority: 2,
    });
    expect(rc.entries.get('a')).toBe(snapshot.entries.get('default/chat/a'));
  });

  it('applies defaults: active, x-session-id, three attempts on every retryable failure, 60s', () => {
    const rc = routeConfigOf(compileValid(baseManifests()), 'chat');
    expect(rc.active).toBe(true);
    expect(rc.defaultForKeyless).toBe(false);
    expect(rc.sessionHeader).toBe('x-session-id');
    expect(rc.fallback).toEqual({
      attempts: 3,
      retryOn: new Set(['connect-failure', '5xx', '429', 'timeout']),
      perAttemptTimeoutMs: 60_000,
    });
  });

  it('lower-cases the session header and compiles the fallback policy', () => {
    const manifests = baseManifests();
    manifests[3] = routeConfig('chat', [entry('a', 'chat-model', 'openai')], {
      active: false,
      sessionHeader: 'X-Conversation-ID',
      fallback: { attempts: 2, retryOn: ['429'], perAttemptTimeout: '1.5s' },
    });
    const rc = routeConfigOf(compileValid(manifests), 'chat');
    expect(rc.active).toBe(false);
    expect(rc.sessionHeader).toBe('x-conversation-id');
    expect(rc.fallback).toEqual({ attempts: 2, retryOn: new Set(['429']), perAttemptTimeoutMs: 1500 });
  });

  it('carries the version it was given', () => {
    expect(compileValid(baseManifests(), { version: 7 }).version).toBe(7);
    expect(compileValid(baseManifests()).version).toBe(1);
  });
});

describe('compile: splits and fallback chains', () => {
  function chatModel(routes: Parameters<typeof routeConfig>[1]) {
    const snapshot = compileValid([...baseManifests().slice(0, 3), routeConfig('chat', routes)]);
    return { snapshot, model: routeConfigOf(snapshot, 'chat').models.get('chat-model')! };
  }

  it('splits among the best priority and falls back to higher priorities in priority, then declaration, order', () => {
    const { snapshot, model } = chatModel([
      entry('a', 'chat-model', 'openai', { weight: 30 }),
      entry('fb-late', 'chat-model', 'openai', { priority: 2 }),
      entry('b', 'chat-model', 'openai', { weight: 70 }),
      entry('fb-first', 'chat-model', 'openai', { priority: 1 }),
      entry('fb-late-2', 'chat-model', 'openai', { priority: 2 }),
    ]);
    expect(names(model.split?.entries)).toEqual(['a', 'b']);
    expect(model.split?.cumulative).toEqual([30, 100]);
    expect(model.split?.total).toBe(100);
    expect(model.policy).toEqual([]);
    const chain = (name: string) => names(snapshot.entries.get(`default/chat/${name}`)?.fallbackChain);
    expect(chain('a')).toEqual(['a', 'fb-first', 'fb-late', 'fb-late-2']);
    expect(chain('b')).toEqual(['b', 'fb-first', 'fb-late', 'fb-late-2']);
    // A fallback reached directly on a later attempt continues down the same chain.
    expect(chain('fb-first')).toEqual(['fb-first', 'fb-late', 'fb-late-2']);
    expect(chain('fb-late')).toEqual(['fb-late', 'fb-late-2']);
  });

  it('never puts a weight-0 entry in a split or a chain', () => {
    const { snapshot, model } = chatModel([
      entry('off', 'chat-model', 'openai', { weight: 0 }),
      entry('a', 'chat-model', 'openai', { weight: 5 }),
      entry('fb-off', 'chat-model', 'openai', { weight: 0, priority: 1 }),
      entry('fb', 'chat-model', 'openai', { priority: 1 }),
      entry('eu', 'chat-model', 'openai', { match: { headers: [{ name: 'x-residency', value: 'eu' }] } }),
      entry('eu-off', 'chat-model', 'openai', {
        weight: 0,
        priority: 1,
        match: { headers: [{ name: 'x-residency', value: 'eu' }] },
      }),
    ]);
    expect(names(model.split?.entries)).toEqual(['a']);
    for (const e of snapshot.entries.values()) {
      if (e.weight === 0) continue;
      expect(names(e.fallbackChain)).not.toContain('off');
      expect(names(e.fallbackChain)).not.toContain('fb-off');
      expect(names(e.fallbackChain)).not.toContain('eu-off');
    }
    expect(names(snapshot.entries.get('default/chat/a')?.fallbackChain)).toEqual(['a', 'fb']);
    expect(names(snapshot.entries.get('default/chat/eu')?.fallbackChain)).toEqual(['eu']);
    // A request decided before the reload that zeroed its entry still has a way there, then on.
    expect(names(snapshot.entries.get('default/chat/off')?.fallbackChain)).toEqual(['off', 'fb']);
    expect(names(snapshot.entries.get('default/chat/fb-off')?.fallbackChain)).toEqual(['fb-off']);
  });

  it('moves the split to the next priority when every best-priority entry has weight 0', () => {
    const { model } = chatModel([
      entry('off', 'chat-model', 'openai', { weight: 0 }),
      entry('p1', 'chat-model', 'openai', { priority: 1 }),
      entry('p2', 'chat-model', 'openai', { priority: 2 }),
    ]);
    expect(names(model.split?.entries)).toEqual(['p1']);
    expect(names(model.split?.entries[0]?.fallbackChain)).toEqual(['p1', 'p2']);
  });

  it('has no split when every open entry has weight 0', () => {
    const { model } = chatModel([
      entry('off', 'chat-model', 'openai', { weight: 0 }),
      entry('eu', 'chat-model', 'openai', { match: { attributes: [{ name: 'residency', value: 'eu' }] } }),
    ]);
    expect(model.split).toBeUndefined();
    expect(names(model.policy)).toEqual(['eu']);
  });

  it('lets a policy entry fall back only to entries with the very same condition, at higher priorities', () => {
    const eu = [
      { name: 'x-residency', value: 'eu' },
      { name: 'X-Tier', type: 'RegularExpression' as const, value: 'gold|silver' },
    ];
    const { snapshot, model } = chatModel([
      entry('open', 'chat-model', 'openai'),
      entry('eu-1', 'chat-model', 'openai', { match: { headers: eu } }),
      entry('us', 'chat-model', 'openai', {
        priority: 1,
        match: { headers: [{ name: 'x-residency', value: 'us' }] },
      }),
      // Same condition, conditions written in another order and header names in another case.
      entry('eu-2', 'chat-model', 'openai', {
        priority: 1,
        match: { headers: [eu[1]!, { name: 'X-Residency', value: 'eu' }] },
      }),
      entry('eu-attr', 'chat-model', 'openai', {
        priority: 1,
        match: { attributes: [{ name: 'x-residency', value: 'eu' }] },
      }),
      entry('eu-3', 'chat-model', 'openai', { priority: 3, match: { headers: eu } }),
      entry('open-fb', 'chat-model', 'openai', { priority: 5 }),
    ]);
    expect(names(model.policy)).toEqual(['eu-1', 'us', 'eu-2', 'eu-attr', 'eu-3']);
    const chain = (name: string) => names(snapshot.entries.get(`default/chat/${name}`)?.fallbackChain);
    expect(chain('eu-1')).toEqual(['eu-1', 'eu-2', 'eu-3']);
    expect(chain('eu-2')).toEqual(['eu-2', 'eu-3']);
    expect(chain('us')).toEqual(['us']);
    expect(chain('eu-attr')).toEqual(['eu-attr']);
    expect(chain('open')).toEqual(['open', 'open-fb']);
  });

  it('does not mistake one condition whose value contains "&" for two conditions', () => {
    const { snapshot } = chatModel([
      entry('both', 'chat-model', 'openai', {
        match: {
          attributes: [
            { name: 'a', value: '1' },
            { name: 'b', value: '2' },
          ],
        },
      }),
      entry('literal', 'chat-model', 'openai', {
        priority: 1,
        match: { attributes: [{ name: 'a', value: '1&b=2' }] },
      }),
    ]);
    // A request with a=1 and b=2 must not fall back to an entry that requires a="1&b=2".
    expect(names(snapshot.entries.get('default/chat/both')?.fallbackChain)).toEqual(['both']);
  });

  it('keeps each model’s entries to itself', () => {
    const { snapshot } = chatModel([
      entry('a', 'chat-model', 'openai'),
      entry('s', 'summarize-model', 'openai'),
      entry('s-fb', 'summarize-model', 'openai', { priority: 1 }),
    ]);
    const rc = routeConfigOf(snapshot, 'chat');
    expect(names(rc.models.get('chat-model')?.split?.entries[0]?.fallbackChain)).toEqual(['a']);
    expect(names(rc.models.get('summarize-model')?.split?.entries[0]?.fallbackChain)).toEqual(['s', 's-fb']);
  });

  it('compiles RegularExpression matches as whole-value matches and lower-cases header names', () => {
    const { model } = chatModel([
      entry('gold', 'chat-model', 'openai', {
        match: {
          headers: [{ name: 'X-Tier', type: 'RegularExpression', value: 'gold|platinum' }],
          attributes: [{ name: 'Tenant', value: 'Team-A' }],
        },
      }),
    ]);
    const match = model.policy[0]?.match;
    expect(match?.headers[0]?.name).toBe('x-tier');
    expect(match?.headers[0]?.regex?.test('gold')).toBe(true);
    expect(match?.headers[0]?.regex?.test('golden')).toBe(false);
    expect(match?.headers[0]?.regex?.test('xplatinum')).toBe(false);
    expect(match?.attributes[0]).toEqual({ name: 'Tenant', exact: 'Team-A' });
  });
});

describe('parseDuration', () => {
  it('reads milliseconds, seconds and minutes', () => {
    expect([
      parseDuration('500ms'),
      parseDuration('30s'),
      parseDuration('1.5s'),
      parseDuration('2m'),
    ]).toEqual([500, 30_000, 1500, 120_000]);
  });

  it('throws on text that is not a duration', () => {
    expect(() => parseDuration('30')).toThrow('invalid duration 30');
  });
});
