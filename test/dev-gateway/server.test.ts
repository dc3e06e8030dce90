/**
 * The dev gateway's response path, through the real stack: when the per-attempt filter answers in
 * place of the provider's response (a 200 it cannot translate, a provider that breaks while the filter
 * holds the body), that answer reaches the router-level filter as the attempt's response, as Envoy
 * hands an upstream filter's local reply to the router. So the client and the request log line agree
 * on the status, and the request is not logged as a client cancellation. Both were found by the HTTP
 * fuzz target (fuzz/http-gateway.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeProvider, startFakeProvider } from '../helpers/fake-provider.ts';
import { COMMON_YAML, startTestStack, type TestStack } from '../helpers/stack.ts';

let t: TestStack;
let claude: FakeProvider;

beforeAll(async () => {
  claude = await startFakeProvider();
  t = await startTestStack(
    {},
    () => `${COMMON_YAML}
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: claude }
spec:
  provider: Anthropic
  baseURL: ${claude.url}
  credentials: { secretRef: { name: keys, key: provider } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  routes:
    - { name: claude, model: chat-model, backendRef: { name: claude }, modelNameOverride: claude-haiku-4-5 }
`,
  );
});

afterAll(async () => {
  await t?.close();
  await claude?.close();
});

async function ask(requestId: string) {
  const response = await fetch(`${t.stack.gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      authorization: 'Bearer sk-test-team-a',
      'content-type': 'application/json',
      'x-request-id': requestId,
    },
    body: JSON.stringify({ model: 'chat-model', messages: [{ role: 'user', content: 'hi' }] }),
  });
  return { response, body: (await response.json()) as { error: { code: string; message: string } } };
}

const logOf = (response: Response) => t.logFor(response);

describe('an answer the per-attempt filter gives in place of the provider’s response', () => {
  it('a 200 the translator cannot read: the client gets 502 bad_gateway and the log line says 502', async () => {
    claude.answer({ body: '<html>not the Messages API</html>' });
    const { response, body } = await ask('untranslatable-200');
    expect(response.status).toBe(502);
    expect(body.error.code).toBe('bad_gateway');
    expect(response.headers.get('x-request-id')).toBe('untranslatable-200');
    expect(await logOf(response)).toMatchObject({ status: 502, cancelled: false });
  });

  it('a provider that breaks mid-body while the filter holds it: 502 bad_gateway, logged as 502', async () => {
    const whole = JSON.stringify({
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-haiku-4-5',
      content: [{ type: 'text', text: 'Hello' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 1, output_tokens: 1 },
    });
    claude.answer({ body: [whole.slice(0, 40), whole.slice(40)], breakAfterChunks: 1 });
    const { response, body } = await ask('reset-mid-body');
    expect(response.status).toBe(502);
    expect(body.error.code).toBe('bad_gateway');
    expect(body.error.message).toContain('mid-response');
    expect(await logOf(response)).toMatchObject({ status: 502, cancelled: false });
    const errorLines = t.lines.map((l) => JSON.parse(l) as { level: number }).filter((l) => l.level >= 50);
    expect(errorLines).toEqual([]);
  });
});
