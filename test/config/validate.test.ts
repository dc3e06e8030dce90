import { describe, expect, it } from 'vitest';
import type { RouteConfigManifest } from '../../config/manifests.ts';
import { formatProblem } from '../../config/problems.ts';
import { validateManifest } from '../../config/validate.ts';

const origin = { source: 'config/routes.yaml', document: 3 };

function routeConfigDoc(routes: unknown[], spec: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'agentrouter.dev/v1alpha1',
    kind: 'RouteConfig',
    metadata: { name: 'chat' },
    spec: { ...spec, routes },
  };
}

const route = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  model: 'chat-model',
  backendRef: { name: 'openai' },
  ...extra,
});

describe('validateManifest', () => {
  it('accepts a valid RouteConfig and fills the namespace it was given', () => {
    const result = validateManifest(routeConfigDoc([route('a', { weight: 3 })]), origin, 'team-a');
    expect(result.problems).toEqual([]);
    expect(result.manifest?.metadata).toEqual({ name: 'chat', namespace: 'team-a' });
  });

  it('defaults a missing namespace to "default" and keeps an explicit one', () => {
    const implicit = validateManifest(routeConfigDoc([route('a')]), origin);
    expect(implicit.manifest?.metadata.namespace).toBe('default');
    const doc = routeConfigDoc([route('a')]);
    doc.metadata = { name: 'chat', namespace: 'prod' };
    expect(validateManifest(doc, origin, 'team-a').manifest?.metadata.namespace).toBe('prod');
  });

  it('names the file, document, object and field path of a bad route weight', () => {
    const result = validateManifest(routeConfigDoc([route('a'), route('b', { weight: -1 })]), origin);
    expect(result.manifest).toBeUndefined();
    expect(result.problems).toEqual([
      {
        source: 'config/routes.yaml',
        document: 3,
        object: 'RouteConfig chat',
        path: 'spec.routes[1].weight',
        message: expect.stringContaining('must be an integer between 0 and'),
      },
    ]);
    expect(formatProblem(result.problems[0]!)).toMatch(
      /^config\/routes\.yaml \(document 3\) RouteConfig chat: spec\.routes\[1\]\.weight: must be an integer/,
    );
  });

  it('reports every problem of a document at once, each with its own path', () => {
    const result = validateManifest(
      routeConfigDoc([{ name: 'Bad_Name', backendRef: {} }, route('b', { priority: 1.5, match: {} })]),
      origin,
    );
    expect(result.problems.map((p) => p.path)).toEqual([
      'spec.routes[0].name',
      'spec.routes[0].model',
      'spec.routes[0].backendRef.name',
      'spec.routes[1].priority',
      'spec.routes[1].match',
    ]);
    for (const p of result.problems) expect(p).toMatchObject({ source: 'config/routes.yaml', document: 3 });
  });

  it('rejects an unknown kind and lists the kinds it knows', () => {
    const result = validateManifest(
      { apiVersion: 'agentrouter.dev/v1alpha1', kind: 'RoutingRule', metadata: { name: 'x' }, spec: {} },
      origin,
    );
    expect(result.manifest).toBeUndefined();
    expect(result.problems).toEqual([
      expect.objectContaining({
        object: 'RoutingRule x',
        path: 'kind',
        message: expect.stringMatching(
          /unsupported kind "RoutingRule".*RouteConfig, ProviderBackend, APIKey/,
        ),
      }),
    ]);
  });

  it('rejects a document without a kind', () => {
    const result = validateManifest({ apiVersion: 'v1', metadata: { name: 'x' } }, origin);
    expect(result.problems).toEqual([expect.objectContaining({ path: 'kind', object: '<no kind> x' })]);
  });

  it('rejects the wrong apiVersion for a kind, naming the expected one', () => {
    const doc = routeConfigDoc([route('a')]);
    doc.apiVersion = 'agentrouter.dev/v1';
    const result = validateManifest(doc, origin);
    expect(result.problems).toEqual([
      expect.objectContaining({
        path: 'apiVersion',
        message: 'must be agentrouter.dev/v1alpha1 for kind RouteConfig (got "agentrouter.dev/v1")',
      }),
    ]);
    const pool = validateManifest(
      {
        apiVersion: 'agentrouter.dev/v1alpha1',
        kind: 'InferencePool',
        metadata: { name: 'pool' },
        spec: { selector: { matchLabels: { app: 'vllm' } }, targetPorts: [{ number: 8000 }] },
      },
      origin,
    );
    expect(pool.problems).toEqual([
      expect.objectContaining({
        path: 'apiVersion',
        message: expect.stringContaining('inference.networking.k8s.io/v1'),
      }),
    ]);
    const secret = validateManifest({ apiVersion: 'v2', kind: 'Secret', metadata: { name: 's' } }, origin);
    expect(secret.problems.map((p) => p.path)).toEqual(['apiVersion']);
  });

  it('accepts a rollout of a model whose split has two variants, and names what is wrong with others', () => {
    const two = [route('old', { weight: 95 }), route('new', { weight: 5 })];
    const rollout = (extra: Record<string, unknown> = {}) => ({
      model: 'chat-model',
      steps: [5, 20, 50, 100],
      gates: { ttftP90: 20 },
      ...extra,
    });
    const problemsOf = (routes: unknown[], rollouts: unknown[]) =>
      validateManifest(routeConfigDoc(routes, { rollouts }), origin).problems.map((p) => [p.path, p.message]);
    expect(problemsOf(two, [rollout({ stepDuration: '1h', minRequests: 500, paused: false })])).toEqual([]);
    // A policy entry and a fallback entry are no variants of the split.
    const withPolicyAndFallback = [
      ...two,
      route('policy', { match: { headers: [{ name: 'x-tier', value: 'gold' }] } }),
      route('spare', { priority: 1 }),
    ];
    expect(problemsOf(withPolicyAndFallback, [rollout()])).toEqual([]);
    expect(problemsOf([...two, route('third', { weight: 1 })], [rollout()])).toEqual([
      [
        'spec.rollouts[0].model',
        'model "chat-model" has 3 weighted variants (old, new, third); a rollout moves traffic between exactly two',
      ],
    ]);
    expect(problemsOf(two, [rollout({ model: 'other' })])[0]?.[0]).toBe('spec.rollouts[0].model');
    expect(problemsOf(two, [rollout({ steps: [20, 5, 100] })])).toEqual([
      ['spec.rollouts[0].steps[1]', 'steps must rise: 5 follows 20'],
    ]);
    expect(problemsOf(two, [rollout({ gates: {} })])[0]?.[0]).toBe('spec.rollouts[0].gates');
    expect(problemsOf(two, [rollout({ gates: { p99: 5 } })])).toEqual([
      [
        'spec.rollouts[0].gates.p99',
        'is not a gate; gates are errorRate, ttftP90, latencyP90, costPerRequest',
      ],
      ['spec.rollouts[0].gates', 'must set at least one of errorRate, ttftP90, latencyP90, costPerRequest'],
    ]);
    expect(problemsOf(two, [rollout({ gates: { errorRate: -1 } })])[0]?.[0]).toBe(
      'spec.rollouts[0].gates.errorRate',
    );
  });

  it('rejects duplicate route names at the second occurrence', () => {
    const result = validateManifest(routeConfigDoc([route('a'), route('b'), route('a')]), origin);
    expect(result.problems).toEqual([
      expect.objectContaining({ path: 'spec.routes[2].name', message: 'duplicate route name "a"' }),
    ]);
  });

  it('rejects an invalid regular expression in a RegularExpression header match', () => {
    const result = validateManifest(
      routeConfigDoc([
        route('a', {
          match: { headers: [{ name: 'x-tier', type: 'RegularExpression', value: 'gold|(silver' }] },
        }),
      ]),
      origin,
    );
    expect(result.problems).toEqual([
      expect.objectContaining({
        path: 'spec.routes[0].match.headers[0].value',
        message: expect.stringContaining('is not a valid regular expression'),
      }),
    ]);
  });

  it('rejects an invalid regular expression in an attribute match', () => {
    const result = validateManifest(
      routeConfigDoc([
        route('a', {
          match: { attributes: [{ name: 'tenant', type: 'RegularExpression', value: '*team' }] },
        }),
      ]),
      origin,
    );
    expect(result.problems.map((p) => p.path)).toEqual(['spec.routes[0].match.attributes[0].value']);
  });

  it('accepts the same text as an Exact match, where it is not a pattern', () => {
    const result = validateManifest(
      routeConfigDoc([
        route('a', { match: { headers: [{ name: 'x-tier', type: 'Exact', value: 'gold|(silver' }] } }),
      ]),
      origin,
    );
    expect(result.problems).toEqual([]);
  });

  it('rejects an unknown match type', () => {
    const result = validateManifest(
      routeConfigDoc([route('a', { match: { headers: [{ name: 'x-tier', type: 'Prefix', value: 'g' }] } })]),
      origin,
    );
    expect(result.problems).toEqual([
      expect.objectContaining({
        path: 'spec.routes[0].match.headers[0].type',
        message: 'must be one of Exact, RegularExpression (got "Prefix")',
      }),
    ]);
  });

  it('accepts an unquoted 429 in retryOn and normalises it to the string "429"', () => {
    const result = validateManifest(
      routeConfigDoc([route('a')], {
        fallback: { attempts: 2, retryOn: [429, '5xx'], perAttemptTimeout: '30s' },
      }),
      origin,
    );
    expect(result.problems).toEqual([]);
    expect((result.manifest as RouteConfigManifest).spec.fallback?.retryOn).toEqual(['429', '5xx']);
  });

  it('rejects other retryOn values and malformed durations', () => {
    const result = validateManifest(
      routeConfigDoc([route('a')], {
        fallback: { attempts: 0, retryOn: [503, 'reset'], perAttemptTimeout: '30' },
      }),
      origin,
    );
    expect(result.problems.map((p) => p.path)).toEqual([
      'spec.fallback.attempts',
      'spec.fallback.retryOn[0]',
      'spec.fallback.retryOn[1]',
      'spec.fallback.perAttemptTimeout',
    ]);
  });

  it('rejects a ProviderBackend with an unknown provider or a URL with a query', () => {
    const result = validateManifest(
      {
        apiVersion: 'agentrouter.dev/v1alpha1',
        kind: 'ProviderBackend',
        metadata: { name: 'b' },
        spec: { provider: 'OpenAi', baseURL: 'https://api.example.com/v1?x=1' },
      },
      origin,
    );
    expect(result.problems).toEqual([
      expect.objectContaining({
        object: 'ProviderBackend b',
        path: 'spec.provider',
        message: expect.stringContaining('(got "OpenAi")'),
      }),
      expect.objectContaining({ path: 'spec.baseURL', message: 'must not carry a query or fragment' }),
    ]);
  });

  it('requires a baseURL for an OpenAICompatible backend', () => {
    const result = validateManifest(
      {
        apiVersion: 'agentrouter.dev/v1alpha1',
        kind: 'ProviderBackend',
        metadata: { name: 'b' },
        spec: { provider: 'OpenAICompatible' },
      },
      origin,
    );
    expect(result.problems).toEqual([
      expect.objectContaining({ path: 'spec.baseURL', message: 'is required' }),
    ]);
  });

  it('names the nested path of a bad APIKey provider credential', () => {
    const result = validateManifest(
      {
        apiVersion: 'agentrouter.dev/v1alpha1',
        kind: 'APIKey',
        metadata: { name: 'team-a' },
        spec: {
          secretRef: { name: 'keys', key: 'team-a' },
          routeConfigRef: { name: 'chat' },
          attributes: { tier: 1 },
          providerCredentials: [{ backendRef: { name: 'openai' }, secretRef: {} }],
        },
      },
      origin,
    );
    expect(result.problems.map((p) => p.path)).toEqual([
      'spec.attributes.tier',
      'spec.providerCredentials[0].secretRef.name',
    ]);
  });

  it('rejects non-string Secret values in data and stringData', () => {
    const result = validateManifest(
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { a: 1 }, stringData: { b: true } },
      origin,
    );
    expect(result.problems.map((p) => p.path)).toEqual(['data.a', 'stringData.b']);
  });

  it('rejects a document that is not an object, or has no metadata', () => {
    expect(validateManifest('just text', origin).problems).toEqual([
      {
        source: 'config/routes.yaml',
        document: 3,
        object: 'document',
        path: '',
        message: 'must be an object',
      },
    ]);
    expect(validateManifest({ apiVersion: 'v1', kind: 'Secret' }, origin).problems).toEqual([
      expect.objectContaining({ object: 'document', path: 'metadata', message: 'is required' }),
    ]);
  });

  it('rejects an invalid object name', () => {
    const doc = routeConfigDoc([route('a')]);
    doc.metadata = { name: 'Chat_Config' };
    expect(validateManifest(doc, origin).problems).toEqual([
      expect.objectContaining({
        path: 'metadata.name',
        message: expect.stringContaining('"Chat_Config" is not a valid name'),
      }),
    ]);
  });
});
