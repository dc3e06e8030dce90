/**
 * A body that names `model` twice — once spelled with a JSON escape — must not reach the model the
 * override keeps a client from. Through the real stack (dev gateway + ext-proc over loopback gRPC) with
 * the official OpenAI SDK sending the exact bytes, and a fake provider that records what it receives.
 * Here the logical name is itself a real model id: logical `gpt-4o` → override `gpt-4o-mini`.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeProvider, startFakeProvider } from '../helpers/fake-provider.ts';
import { COMMON_YAML, startTestStack, type TestStack } from '../helpers/stack.ts';

let t: TestStack;
let provider: FakeProvider;

beforeAll(async () => {
  provider = await startFakeProvider();
  provider.answer({
    body: JSON.stringify({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
    }),
  });
  t = await startTestStack({}, () =>
    [
      COMMON_YAML,
      `
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: openai }
spec:
  provider: OpenAI
  baseURL: ${provider.url}/v1
  credentials: { secretRef: { name: keys, key: provider } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  routes:
    - { name: mini, model: gpt-4o, backendRef: { name: openai }, modelNameOverride: gpt-4o-mini }
`,
    ].join(''),
  );
});

afterAll(async () => {
  await t?.close();
  await provider?.close();
});

/** The SDK's own request path, with the body bytes exactly as written (an ArrayBuffer view passes verbatim). */
function post(body: string) {
  return t.client().post('/chat/completions', {
    body: Buffer.from(body),
    headers: { 'content-type': 'application/json' },
  });
}

describe('a body naming model twice, once as "mod\\u0065l"', () => {
  it('is refused with 400 duplicate_key naming the key, and reaches no backend', async () => {
    const before = provider.requests.length;
    // A small body, and one over 256 KiB (parsed with stand-ins, ext-proc/json/large-json.ts).
    for (const content of ['hi', 'a long message '.repeat(20_000)]) {
      const error = await post(
        `{"model":"gpt-4o","mod\\u0065l":"gpt-4o","messages":[{"role":"user","content":${JSON.stringify(content)}}]}`,
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      const bad = error as InstanceType<typeof OpenAI.BadRequestError>;
      expect(bad.status).toBe(400);
      expect(bad.error).toMatchObject({
        type: 'invalid_request_error',
        code: 'duplicate_key',
        param: 'model',
      });
      expect(bad.message).toContain('"model"');
    }
    expect(provider.requests.length).toBe(before);

    // The same request without the duplicate is served, with the override: the backend was reachable.
    await post('{"mod\\u0065l":"gpt-4o","messages":[{"role":"user","content":"hi"}]}');
    expect(provider.requests.length).toBe(before + 1);
    expect(JSON.parse(provider.requests.at(-1)!.body.toString()).model).toBe('gpt-4o-mini');
  });
});
