/**
 * A pass-through provider that reports a failure inside its 200 stream, quoting the credential it was
 * sent (as OpenAI-compatible proxies do), must not hand that credential to the client: the router-level
 * phase redacts the answering backend's credential from chunks that carry an error. Through the real
 * stack with the official OpenAI SDK; the provider is a fake on loopback.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type FakeProvider, startFakeProvider } from '../helpers/fake-provider.ts';
import { COMMON_YAML, startTestStack, type TestStack } from '../helpers/stack.ts';

let t: TestStack;
let provider: FakeProvider;
const PROVIDER_KEY = 'provider-secret'; // COMMON_YAML's keys.provider

beforeAll(async () => {
  provider = await startFakeProvider();
  t = await startTestStack({}, () =>
    [
      COMMON_YAML,
      `
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: proxy }
spec:
  provider: OpenAICompatible
  baseURL: ${provider.url}/v1
  credentials: { secretRef: { name: keys, key: provider } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  routes:
    - { name: proxied, model: chat-model, backendRef: { name: proxy } }
`,
    ].join(''),
  );
});

afterAll(async () => {
  await t?.close();
  await provider?.close();
});

it('redacts the injected credential from an error event inside a 200 stream', async () => {
  const chunk = (delta: object) =>
    `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta }] })}\n\n`;
  provider.answer({
    headers: { 'content-type': 'text/event-stream' },
    body: [
      chunk({ role: 'assistant', content: 'hel' }),
      `data: ${JSON.stringify({ error: { message: `upstream rejected Authorization: Bearer ${PROVIDER_KEY}`, type: 'invalid_request_error' } })}\n\n`,
    ],
  });
  const response = await fetch(`${t.stack.gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk-test-team-a', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'chat-model', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });
  const text = await response.text();
  expect(provider.requests.at(-1)?.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
  expect(text).toContain('upstream rejected Authorization: Bearer [redacted]');
  expect(text).not.toContain(PROVIDER_KEY);
  expect(t.lines.join('\n')).not.toContain(PROVIDER_KEY);
});
