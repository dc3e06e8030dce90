import { describe, expect, it } from 'vitest';
import type { CompiledRouteConfig } from '../../../config/snapshot.ts';
import { AgentRouterError } from '../../../ext-proc/errors.ts';
import { decide, type RouteInput } from '../../../ext-proc/router/route.ts';
import { backend, compileValid, entry, routeConfig, routeConfigOf } from '../../fixtures/config/manifests.ts';
import { seededRandom } from './prng.ts';

function chatRoutes(): CompiledRouteConfig {
  const snapshot = compileValid([
    backend('sovereign'),
    backend('gold'),
    backend('eu'),
    backend('v1'),
    backend('v2'),
    backend('fallback'),
    routeConfig('chat', [
      // Switched off: it would match regulated traffic first if weight 0 did not disable it.
      entry('regulated-off', 'chat-model', 'v1', {
        weight: 0,
        match: { headers: [{ name: 'x-data-class', value: 'regulated' }] },
      }),
      entry('beta-off', 'chat-model', 'v1', {
        weight: 0,
        match: { headers: [{ name: 'x-beta', value: 'on' }] },
      }),
      entry('regulated', 'chat-model', 'sovereign', {
        modelNameOverride: 'llama-3.1-8b-instruct-eu',
        match: { headers: [{ name: 'x-data-class', type: 'Exact', value: 'regulated' }] },
      }),
      entry('gold', 'chat-model', 'gold', {
        match: { headers: [{ name: 'x-tier', type: 'RegularExpression', value: 'gold|platinum' }] },
      }),
      entry('eu-keys', 'chat-model', 'eu', { match: { attributes: [{ name: 'residency', value: 'eu' }] } }),
      entry('v1', 'chat-model', 'v1', { weight: 50 }),
      entry('v2', 'chat-model', 'v2', { weight: 50 }),
      entry('fallback', 'chat-model', 'fallback', { priority: 1 }),
      entry('stable', 'summarize-model', 'v1', { weight: 95 }),
      entry('canary', 'summarize-model', 'v2', { weight: 5 }),
      entry('eu-only', 'eu-model', 'eu', { match: { attributes: [{ name: 'residency', value: 'eu' }] } }),
      entry('dark', 'dark-model', 'v1', { weight: 0 }),
    ]),
  ]);
  return routeConfigOf(snapshot, 'chat');
}

const routes = chatRoutes();

function request(overrides: Partial<RouteInput> & { headers?: Record<string, string> } = {}): RouteInput {
  const { headers = {}, ...rest } = overrides;
  return {
    model: 'chat-model',
    sessionKey: undefined,
    random: 0,
    header: (name) => headers[name],
    attributes: {},
    ...rest,
  };
}

function thrown(fn: () => unknown): AgentRouterError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AgentRouterError) return error;
    throw error;
  }
  throw new Error('expected an AgentRouterError');
}

describe('decide', () => {
  it('routes by a matching policy entry, naming the route config and logical model', () => {
    const decision = decide(routes, request({ headers: { 'x-data-class': 'regulated' } }));
    expect(decision).toMatchObject({
      routeConfigId: 'default/chat',
      logicalModel: 'chat-model',
      reason: 'policy',
    });
    expect(decision.entry.id).toBe('default/chat/regulated');
    expect(decision.entry.resolvedModel).toBe('llama-3.1-8b-instruct-eu');
  });

  it('picks the first matching policy entry in declaration order', () => {
    const decision = decide(
      routes,
      request({
        headers: { 'x-data-class': 'regulated', 'x-tier': 'gold' },
        attributes: { residency: 'eu' },
      }),
    );
    expect(decision.entry.name).toBe('regulated');
    expect(
      decide(routes, request({ headers: { 'x-tier': 'gold' }, attributes: { residency: 'eu' } })).entry.name,
    ).toBe('gold');
  });

  it('treats a policy entry with weight 0 as switched off', () => {
    const decision = decide(routes, request({ headers: { 'x-beta': 'on' }, random: 0 }));
    expect(decision.reason).toBe('weighted-split');
    expect(decision.entry.name).toBe('v1');
  });

  it('matches a RegularExpression header against the whole value', () => {
    expect(decide(routes, request({ headers: { 'x-tier': 'platinum' } })).entry.name).toBe('gold');
    const partial = decide(routes, request({ headers: { 'x-tier': 'golden' } }));
    expect(partial.reason).toBe('weighted-split');
  });

  it('routes on the calling key’s attributes', () => {
    const decision = decide(routes, request({ attributes: { residency: 'eu', tenant: 'team-a' } }));
    expect(decision).toMatchObject({ reason: 'policy' });
    expect(decision.entry.name).toBe('eu-keys');
    expect(decide(routes, request({ attributes: { residency: 'us' } })).reason).toBe('weighted-split');
  });

  it('falls through to the weighted split when no policy matches, using the injected random number', () => {
    expect(decide(routes, request({ random: 0 })).entry.name).toBe('v1');
    expect(decide(routes, request({ random: 0.49 })).entry.name).toBe('v1');
    expect(decide(routes, request({ random: 0.5 })).entry.name).toBe('v2');
    expect(decide(routes, request({ random: 0.99 })).entry.name).toBe('v2');
  });

  it('gives the chosen entry its fallback chain', () => {
    const decision = decide(routes, request({ random: 0.7 }));
    expect(decision.entry.fallbackChain.map((e) => e.name)).toEqual(['v2', 'fallback']);
  });

  it('splits 50/50 within tolerance over 20,000 random draws', () => {
    const random = seededRandom(11);
    let v1 = 0;
    for (let i = 0; i < 20_000; i++)
      if (decide(routes, request({ random: random() })).entry.name === 'v1') v1++;
    expect(v1 / 20_000).toBeGreaterThan(0.48);
    expect(v1 / 20_000).toBeLessThan(0.52);
  });

  it('sends between 4% and 6% to a 95/5 canary over 20,000 random draws', () => {
    const random = seededRandom(12);
    let canary = 0;
    for (let i = 0; i < 20_000; i++) {
      const decision = decide(routes, request({ model: 'summarize-model', random: random() }));
      if (decision.entry.name === 'canary') canary++;
    }
    expect(canary / 20_000).toBeGreaterThan(0.04);
    expect(canary / 20_000).toBeLessThan(0.06);
  });

  it('keeps a session on one entry whatever the random number', () => {
    const random = seededRandom(13);
    for (let s = 0; s < 200; s++) {
      const sessionKey = `conversation-${s}`;
      const first = decide(routes, request({ sessionKey, random: random() }));
      expect(first.reason).toBe('sticky-split');
      for (let i = 0; i < 5; i++) {
        expect(decide(routes, request({ sessionKey, random: random() })).entry).toBe(first.entry);
      }
    }
  });

  it('spreads sessions across the split in proportion to the weights', () => {
    let canary = 0;
    for (let s = 0; s < 10_000; s++) {
      const decision = decide(routes, request({ model: 'summarize-model', sessionKey: `user-${s}` }));
      if (decision.entry.name === 'canary') canary++;
    }
    expect(canary / 10_000).toBeGreaterThan(0.04);
    expect(canary / 10_000).toBeLessThan(0.06);
  });

  it('lets a matching policy win over a session’s sticky split', () => {
    const decision = decide(
      routes,
      request({ sessionKey: 'conversation-1', headers: { 'x-data-class': 'regulated' } }),
    );
    expect(decision.reason).toBe('policy');
    expect(decision.entry.name).toBe('regulated');
  });

  it('rejects an unknown model with 404 model_not_found', () => {
    const error = thrown(() => decide(routes, request({ model: 'gpt-5-turbo' })));
    expect(error).toMatchObject({
      status: 404,
      type: 'invalid_request_error',
      code: 'model_not_found',
      param: 'model',
    });
    expect(error.message).toContain('"gpt-5-turbo"');
  });

  it('rejects a model whose only entries are policies that do not match with 503 no_eligible_route', () => {
    expect(decide(routes, request({ model: 'eu-model', attributes: { residency: 'eu' } })).entry.name).toBe(
      'eu-only',
    );
    const error = thrown(() =>
      decide(routes, request({ model: 'eu-model', attributes: { residency: 'us' } })),
    );
    expect(error).toMatchObject({ status: 503, type: 'api_error', code: 'no_eligible_route' });
    expect(error.message).toContain('"eu-model"');
  });

  it('rejects a model whose every entry has weight 0 with 503 no_eligible_route', () => {
    expect(thrown(() => decide(routes, request({ model: 'dark-model' })))).toMatchObject({
      status: 503,
      code: 'no_eligible_route',
    });
  });
});
