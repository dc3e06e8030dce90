/**
 * Fallback along the priority chain when a backend refuses connections, fails, rate-limits or times out;
 * and the OpenAI-shaped 503/504 when nothing is left.
 */
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  attemptsOf,
  backendYaml,
  COMMON_YAML,
  refusedPort,
  startTestStack,
  type TestStack,
} from '../helpers/stack.ts';

let t: TestStack;

beforeAll(async () => {
  const dead = await refusedPort();
  t = await startTestStack(
    {
      primary: { apiKey: 'provider-secret' },
      secondary: { apiKey: 'provider-secret' },
      slow: { ttftMs: 60_000 },
    },
    (urls) =>
      [
        COMMON_YAML,
        backendYaml('primary', urls.primary!),
        backendYaml('secondary', urls.secondary!),
        backendYaml('slow', urls.slow!, false),
        backendYaml('dead', `http://127.0.0.1:${dead}`),
        `
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  fallback: { attempts: 3, perAttemptTimeout: 500ms }
  routes:
    - { name: p, model: chat-model, backendRef: { name: primary }, modelNameOverride: primary-model }
    - { name: s, model: chat-model, backendRef: { name: secondary }, modelNameOverride: secondary-model, priority: 1 }
    - { name: dead-first, model: refused-model, backendRef: { name: dead }, modelNameOverride: never }
    - { name: dead-then-ok, model: refused-model, backendRef: { name: secondary }, modelNameOverride: rescued-model, priority: 1 }
    - { name: dead-only, model: lonely-model, backendRef: { name: dead } }
    - { name: slow-first, model: slow-model, backendRef: { name: slow }, modelNameOverride: slow }
    - { name: slow-then-ok, model: slow-model, backendRef: { name: secondary }, modelNameOverride: after-timeout, priority: 1 }
`,
      ].join(''),
  );
});

afterAll(async () => {
  await t?.close();
});

afterEach(() => {
  for (const sim of Object.values(t.sims)) sim.setFault(undefined);
});

async function call(model: string) {
  return t
    .client()
    .chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 })
    .withResponse();
}

describe('fallback along the priority chain', () => {
  it('serves from the next priority when the first backend refuses connections', async () => {
    const { response, data } = await call('refused-model');
    expect(response.headers.get('x-agent-router-resolved-model')).toBe('rescued-model');
    expect(data.model).toBe('rescued-model');
    expect(await t.logFor(response)).toMatchObject({
      attempts: attemptsOf(2),
      backend: 'default/secondary',
      resolvedModel: 'rescued-model',
      status: 200,
    });
  });

  it.each([500, 503, 429])('falls back when the primary answers %i', async (status) => {
    t.sims.primary!.setFault({ status });
    const { response } = await call('chat-model');
    expect(response.headers.get('x-agent-router-backend')).toBe('default/secondary');
    expect(await t.logFor(response)).toMatchObject({
      attempts: attemptsOf(2),
      logicalModel: 'chat-model',
      resolvedModel: 'secondary-model',
    });
  });

  it('falls back when the primary does not answer within the per-attempt timeout', async () => {
    const { response } = await call('slow-model');
    expect(response.headers.get('x-agent-router-resolved-model')).toBe('after-timeout');
    expect(await t.logFor(response)).toMatchObject({ attempts: attemptsOf(2) });
  });

  it('returns the last answer, normalised to the OpenAI error shape, when every backend fails', async () => {
    t.sims.primary!.setFault({ status: 500 });
    t.sims.secondary!.setFault({ status: 503 });
    const error = await call('chat-model').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((error as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({
      type: expect.any(String),
      message: expect.any(String),
    });
  });

  it('answers 503 in the OpenAI shape when the only backend refuses connections', async () => {
    const response = await fetch(`${t.stack.gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-test-team-a', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'lonely-model', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('upstream_unavailable');
  });

  it('does not retry a 400 from the provider: it is the client error, passed on in OpenAI shape', async () => {
    t.sims.primary!.setFault({ status: 400, message: 'bad temperature' });
    const secondaryBefore = t.sims.secondary!.stats().requestsServed;
    const error = await call('chat-model').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as Error).message).toContain('bad temperature');
    expect(t.sims.secondary!.stats().requestsServed).toBe(secondaryBefore);
  });
});
