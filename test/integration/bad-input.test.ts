/**
 * Every bad input gets a clear error in the OpenAI shape with the right status, through the real stack.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendYaml, COMMON_YAML, startTestStack, type TestStack } from '../helpers/stack.ts';

let t: TestStack;

beforeAll(async () => {
  t = await startTestStack(
    { a: { apiKey: 'provider-secret' } },
    (urls) =>
      [
        COMMON_YAML,
        backendYaml('a', urls.a!),
        `
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  routes:
    - { name: chat, model: chat-model, backendRef: { name: a }, modelNameOverride: provider-model-1 }
`,
      ].join(''),
    { maxRequestBodyBytes: 4096 },
  );
});

afterAll(async () => {
  await t?.close();
});

async function post(body: string, headers: Record<string, string> = {}, path = '/v1/chat/completions') {
  const response = await fetch(`${t.stack.gatewayUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test-team-a', ...headers },
    body,
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as { error: Record<string, unknown> },
  };
}

describe('bad input through the gateway', () => {
  it('rejects malformed JSON with 400 invalid_json', async () => {
    const r = await post('{"model": "chat-model", "messages": [');
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' });
    expect(r.headers.get('content-type')).toContain('application/json');
  });

  it('rejects a body that is not a JSON object', async () => {
    const r = await post('[1, 2, 3]');
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_request');
  });

  it('rejects a request without a model with 400 missing_model and param "model"', async () => {
    const r = await post(JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }));
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'missing_model', param: 'model' });
  });

  it('answers an unknown model with 404 model_not_found, which the SDK raises as NotFoundError', async () => {
    const error = await t
      .client()
      .chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
  });

  it('answers an unknown key and a disabled key with the same 401', async () => {
    for (const key of ['sk-not-a-key-at-all', 'sk-test-retired']) {
      const error = await t
        .client(key)
        .chat.completions.create({ model: 'chat-model', messages: [{ role: 'user', content: 'hi' }] })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((error as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key');
      expect(String((error as Error).message)).not.toContain(key);
    }
  });

  it('refuses a keyless request when no RouteConfig serves keyless requests', async () => {
    const r = await post(JSON.stringify({ model: 'chat-model', messages: [] }), { authorization: '' });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('missing_api_key');
  });

  it('accepts the key as x-api-key too', async () => {
    const r = await fetch(`${t.stack.gatewayUrl}/v1/models`, { headers: { 'x-api-key': 'sk-test-team-a' } });
    expect(r.status).toBe(200);
  });

  it('answers a body over the configured limit with 413', async () => {
    const big = JSON.stringify({
      model: 'chat-model',
      messages: [{ role: 'user', content: 'x'.repeat(8000) }],
    });
    const r = await post(big);
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('request_too_large');
  });

  it('answers unknown paths with 404 and wrong methods with 405 in the OpenAI shape', async () => {
    const unknown = await post('{}', {}, '/v1/does-not-exist');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('unknown_url');
    const wrong = await fetch(`${t.stack.gatewayUrl}/v1/chat/completions`, {
      headers: { authorization: 'Bearer sk-test-team-a' },
    });
    expect(wrong.status).toBe(405);
  });

  it('injects the backend credential: the provider never sees the gateway key, and a spoofed route header is ignored', async () => {
    // The simulated backend demands Bearer provider-secret; a forwarded gateway key would get 401.
    const r = await post(
      JSON.stringify({ model: 'chat-model', messages: [{ role: 'user', content: 'hi' }] }),
      {
        'x-agent-router-route': 'default/evil/entry',
        'x-agent-router-backend': 'spoofed',
      },
    );
    expect(r.status).toBe(200);
    expect(r.headers.get('x-agent-router-resolved-model')).toBe('provider-model-1');
    expect((r.body as unknown as { model: string }).model).toBe('provider-model-1');
  });
});
