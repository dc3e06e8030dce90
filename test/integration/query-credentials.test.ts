/**
 * A query string never reaches a log or a provider: through the real stack, a credential in the query
 * (Gemini's `?key=` habit) is refused with 400 naming the header to use, the request log keeps the
 * path without its query, and any other query stays out of the upstream path.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeProvider, startFakeProvider } from '../helpers/fake-provider.ts';
import { eventually } from '../helpers/log-capture.ts';
import { backendYaml, COMMON_YAML, startTestStack, type TestStack } from '../helpers/stack.ts';

const QUERY_SECRET = 'sk-in-the-query-7f3a9c';
const COMPLETION = JSON.stringify({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 0,
  model: 'provider-model',
  choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});

let provider: FakeProvider;
let t: TestStack;

beforeAll(async () => {
  provider = await startFakeProvider();
  t = await startTestStack(
    {},
    () =>
      [
        COMMON_YAML,
        backendYaml('a', provider.url),
        `
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  routes:
    - { name: chat, model: chat-model, backendRef: { name: a }, modelNameOverride: provider-model }
`,
      ].join(''),
    { adminPort: 0 },
  );
});

afterAll(async () => {
  await t?.close();
  await provider?.close();
});

beforeEach(() => {
  provider.requests.length = 0;
  provider.answer({ status: 200, body: COMPLETION });
});

const BODY = JSON.stringify({ model: 'chat-model', messages: [{ role: 'user', content: 'hi' }] });

let sequence = 0;
/** Each request names its id, so its log line is found also for an answer that carries none back. */
function post(pathAndQuery: string, headers: Record<string, string> = {}) {
  const requestId = `query-test-${++sequence}`;
  return fetch(`${t.stack.gatewayUrl}${pathAndQuery}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: 'Bearer sk-test-team-a',
      'x-request-id': requestId,
      ...headers,
    },
    body: BODY,
  }).then((response) => Object.assign(response, { requestId }));
}

const logOf = (response: { requestId: string }) =>
  eventually(() => t.requestLogs().find((r) => r.requestId === response.requestId));

describe('credentials in the query string', () => {
  it('refuses ?key= with 400 credential_in_query that names the header to use, and never forwards it', async () => {
    const response = await post(`/v1/chat/completions?key=${QUERY_SECRET}&alt=sse`);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: Record<string, unknown> };
    expect(body.error).toMatchObject({
      type: 'invalid_request_error',
      code: 'credential_in_query',
      param: 'key',
    });
    expect(String(body.error.message)).toContain('Authorization');
    expect(JSON.stringify(body)).not.toContain(QUERY_SECRET);
    expect(provider.requests).toHaveLength(0);
    const line = await logOf(response);
    expect(line).toMatchObject({
      status: 400,
      errorCode: 'credential_in_query',
      path: '/v1/chat/completions',
    });
  });

  it('refuses every spelling clients use for a key in the URL, also without an Authorization header', async () => {
    for (const query of [
      `api_key=${QUERY_SECRET}`,
      `API-KEY=${QUERY_SECRET}`,
      `alt=sse&access_token=${QUERY_SECRET}`,
      `%6Bey=${QUERY_SECRET}`,
    ]) {
      const response = await post(`/v1/chat/completions?${query}`, { authorization: '' });
      expect(response.status, query).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('credential_in_query');
    }
    const models = await fetch(`${t.stack.gatewayUrl}/v1/models?key=${QUERY_SECRET}`);
    expect(models.status).toBe(400);
    expect(provider.requests).toHaveLength(0);
  });

  it('writes no query value to any log line, metric or response header', async () => {
    const refused = await post(`/v1/chat/completions?key=${QUERY_SECRET}`);
    await refused.text();
    await logOf(refused);
    const served = await post(`/v1/chat/completions?trace=${QUERY_SECRET}`);
    expect(served.status).toBe(200);
    await served.text();
    await logOf(served);
    for (const line of t.lines) expect(line).not.toContain(QUERY_SECRET);
    for (const response of [refused, served])
      for (const [name, value] of response.headers) expect(`${name}: ${value}`).not.toContain(QUERY_SECRET);
    const metrics = await (await fetch(`${t.stack.extProc.adminUrl}/metrics`)).text();
    expect(metrics).not.toContain(QUERY_SECRET);
  });

  it('logs the path without its query and keeps the client query out of the upstream path', async () => {
    const response = await post('/v1/chat/completions?alt=sse&trace=on');
    expect(response.status).toBe(200);
    await response.text();
    expect(provider.requests).toHaveLength(1);
    expect(provider.requests[0]!.path).toBe('/v1/chat/completions');
    const line = await logOf(response);
    expect(line).toMatchObject({ status: 200, path: '/v1/chat/completions' });
  });
});
