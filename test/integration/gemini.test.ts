/**
 * Round trips through the real stack with the official OpenAI SDK to Gemini API and Vertex AI backends:
 * a fake Google front end on loopback answers with the recorded fixtures, and a token endpoint on
 * loopback verifies the service account's signed assertions and issues the Vertex AI access tokens.
 */
import { readFileSync } from 'node:fs';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeProvider, type RecordedRequest, startFakeProvider } from '../helpers/fake-provider.ts';
import { serviceAccountKeys, startTokenServer, type TokenServer } from '../helpers/google-token-server.ts';
import { attemptsOf, COMMON_YAML, refusedPort, startTestStack, type TestStack } from '../helpers/stack.ts';

const fixture = (path: string) => readFileSync(new URL(`../fixtures/${path}`, import.meta.url));

/** SSE fixture bytes cut into small pieces, so the gateway sees events split across chunks. */
function pieces(bytes: Buffer, size = 37): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}

const SSE = { 'content-type': 'text/event-stream' };
const VERTEX_PREFIX = '/v1/projects/demo-project/locations/europe-west4/publishers/google/models';

let google: FakeProvider;
let tokenServer: TokenServer;
let t: TestStack;

beforeAll(async () => {
  const keys = serviceAccountKeys();
  tokenServer = await startTokenServer(keys.publicKey);
  google = await startFakeProvider();
  const serviceAccountJson = JSON.stringify({
    type: 'service_account',
    project_id: 'demo-project',
    private_key_id: 'k1',
    private_key: keys.privatePem,
    client_email: 'router@demo-project.iam.gserviceaccount.com',
    token_uri: tokenServer.url,
  });
  // The same account behind a token endpoint that refuses connections: no token can be minted.
  const unreachableAccountJson = JSON.stringify({
    ...JSON.parse(serviceAccountJson),
    token_uri: `http://127.0.0.1:${await refusedPort()}/token`,
  });
  t = await startTestStack(
    {},
    () => `${COMMON_YAML}
---
apiVersion: v1
kind: Secret
metadata: { name: vertex-sa }
stringData:
  service-account.json: ${JSON.stringify(serviceAccountJson)}
---
apiVersion: v1
kind: Secret
metadata: { name: vertex-sa-unreachable }
stringData:
  service-account.json: ${JSON.stringify(unreachableAccountJson)}
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: vertex-no-token }
spec:
  provider: VertexAI
  baseURL: ${google.url}
  region: europe-west4
  credentials: { secretRef: { name: vertex-sa-unreachable } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: gemini }
spec:
  provider: Gemini
  baseURL: ${google.url}
  credentials: { secretRef: { name: keys, key: provider } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: vertex }
spec:
  provider: VertexAI
  baseURL: ${google.url}
  region: europe-west4
  credentials: { secretRef: { name: vertex-sa } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: claude-vertex }
spec:
  provider: VertexAnthropic
  baseURL: ${google.url}
  region: europe-west1
  credentials: { secretRef: { name: vertex-sa } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  fallback: { attempts: 2 }
  routes:
    - { name: g, model: gemini-chat, backendRef: { name: gemini }, modelNameOverride: gemini-2.5-flash }
    - { name: v, model: vertex-chat, backendRef: { name: vertex }, modelNameOverride: gemini-2.5-flash }
    - { name: ge, model: gemini-embed, backendRef: { name: gemini }, modelNameOverride: gemini-embedding-001 }
    - { name: ve, model: vertex-embed, backendRef: { name: vertex }, modelNameOverride: text-embedding-005 }
    - { name: c, model: claude-chat, backendRef: { name: claude-vertex }, modelNameOverride: claude-sonnet-4-5@20250929 }
    - { name: nt, model: no-token-chat, backendRef: { name: vertex-no-token }, modelNameOverride: gemini-2.5-pro }
    - { name: nt-gemini, model: no-token-chat, backendRef: { name: gemini }, modelNameOverride: gemini-2.5-flash, priority: 1 }
`,
  );
});

afterAll(async () => {
  await t?.close();
  await google?.close();
  await tokenServer?.close();
});

beforeEach(() => {
  google.requests.length = 0;
});

const last = (): RecordedRequest => google.requests.at(-1)!;
const sentBody = () => JSON.parse(last().body.toString()) as Record<string, unknown>;

describe('Gemini API through the gateway', () => {
  it('answers a buffered chat completion, authenticating with the provider key only', async () => {
    google.answer({ body: fixture('gemini/generate-content.text.response.json') });
    const completion = await t.client().chat.completions.create({
      model: 'gemini-chat',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Umbrella?' },
      ],
      max_tokens: 50,
    });
    expect(completion.choices[0]!.message.content).toBe('Take an umbrella in Paris; Lyon stays dry.');
    expect(completion.choices[0]!.finish_reason).toBe('stop');
    expect(completion.model).toBe('gemini-2.5-flash');
    expect(completion.usage).toMatchObject({ prompt_tokens: 112, completion_tokens: 29, total_tokens: 141 });
    expect(last().path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(last().headers['x-goog-api-key']).toBe('provider-secret');
    expect(last().headers.authorization).toBeUndefined();
    expect(sentBody()).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'Umbrella?' }] }],
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      generationConfig: { maxOutputTokens: 50 },
    });
  });

  it('streams text with a final usage chunk when include_usage is set', async () => {
    google.answer({ headers: SSE, body: pieces(fixture('gemini/stream.text.sse')) });
    const stream = await t.client().chat.completions.create({
      model: 'gemini-chat',
      messages: [{ role: 'user', content: 'Umbrella?' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('Yes — take an umbrella ☔ in Paris; Lyon stays dry (24 °C).');
    expect(finish).toBe('stop');
    expect(usage).toMatchObject({ prompt_tokens: 112, completion_tokens: 41, total_tokens: 153 });
    expect(last().path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
  });

  it('asks for thoughts when the client sets reasoning_effort, and returns them as reasoning_content with the answering snapshot as the model', async () => {
    google.answer({ body: fixture('gemini/generate-content.thinking.response.json') });
    const { data: completion, response } = await t
      .client()
      .chat.completions.create({
        model: 'gemini-chat',
        messages: [{ role: 'user', content: 'Are there infinitely many primes p ≡ 3 (mod 4)?' }],
        reasoning_effort: 'low',
      })
      .withResponse();
    expect(sentBody()).toMatchObject({
      generationConfig: { thinkingConfig: { thinkingBudget: 1024, includeThoughts: true } },
    });
    const message = completion.choices[0]!.message as OpenAI.ChatCompletionMessage & {
      reasoning_content?: string;
    };
    expect(message.reasoning_content).toMatch(/^\*\*Counting the primes\*\*/);
    expect(message.content).toMatch(/^Yes\. Suppose p1/);
    expect(completion.model).toBe('gemini-2.5-flash-preview-09-2025');
    expect(completion.usage?.completion_tokens_details?.reasoning_tokens).toBe(332);
    expect(await t.logFor(response)).toMatchObject({
      resolvedModel: 'gemini-2.5-flash',
      responseModel: 'gemini-2.5-flash-preview-09-2025',
      tokens: { prompt: 18, completion: 393, reasoning: 332 },
    });
  });

  it('streams thought summaries as reasoning_content deltas before the answer', async () => {
    google.answer({ headers: SSE, body: pieces(fixture('gemini/stream.thinking.sse')) });
    const stream = await t.client().chat.completions.create({
      model: 'gemini-chat',
      messages: [{ role: 'user', content: 'Are there infinitely many primes p ≡ 3 (mod 4)?' }],
      reasoning_effort: 'medium',
      stream: true,
    });
    let reasoning = '';
    let answer = '';
    const models = new Set<string>();
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as
        | { content?: string | null; reasoning_content?: string }
        | undefined;
      if (delta?.reasoning_content) {
        expect(answer).toBe('');
        reasoning += delta.reasoning_content;
      }
      answer += delta?.content ?? '';
      models.add(chunk.model);
    }
    expect(sentBody()).toMatchObject({
      generationConfig: { thinkingConfig: { thinkingBudget: 8192, includeThoughts: true } },
    });
    expect(reasoning).toMatch(/^\*\*Counting the primes\*\*[\s\S]*outside the list\.\n$/);
    expect(answer).toMatch(/^Yes\. Suppose p1, …, pk[\s\S]*none of the pi\.$/);
    expect([...models]).toEqual(['gemini-2.5-flash-preview-09-2025']);
  });

  it('returns tool calls and sends their results back as function responses', async () => {
    google.answer({ body: fixture('gemini/generate-content.function-call.response.json') });
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      },
    ];
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'user', content: 'Weather in Lyon and Paris?' },
    ];
    const first = await t
      .client()
      .chat.completions.create({ model: 'gemini-chat', messages, tools, tool_choice: 'required' });
    const calls = first.choices[0]!.message.tool_calls!;
    expect(first.choices[0]!.finish_reason).toBe('tool_calls');
    expect(
      calls.map((c) => (c.type === 'function' ? [c.function.name, JSON.parse(c.function.arguments)] : [])),
    ).toEqual([
      ['get_weather', { city: 'Lyon' }],
      ['get_weather', { city: 'Paris', days: 2 }],
    ]);
    expect(sentBody().toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY' } });

    google.answer({ body: fixture('gemini/generate-content.text.response.json') });
    await t.client().chat.completions.create({
      model: 'gemini-chat',
      tools,
      messages: [
        ...messages,
        first.choices[0]!.message,
        { role: 'tool', tool_call_id: calls[0]!.id, content: 'Sunny' },
        { role: 'tool', tool_call_id: calls[1]!.id, content: 'Rain' },
      ],
    });
    expect((sentBody().contents as unknown[]).slice(1)).toEqual([
      {
        role: 'model',
        parts: [
          { functionCall: { name: 'get_weather', args: { city: 'Lyon' } } },
          { functionCall: { name: 'get_weather', args: { city: 'Paris', days: 2 } } },
        ],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'get_weather', response: { content: 'Sunny' } } },
          { functionResponse: { name: 'get_weather', response: { content: 'Rain' } } },
        ],
      },
    ]);
  });

  it('streams tool calls', async () => {
    google.answer({ headers: SSE, body: pieces(fixture('gemini/stream.function-call.sse'), 11) });
    const stream = await t.client().chat.completions.create({
      model: 'gemini-chat',
      messages: [{ role: 'user', content: 'Weather?' }],
      stream: true,
    });
    const names: string[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) names.push(call.function?.name ?? '');
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(names).toEqual(['get_weather', 'get_weather']);
    expect(finish).toBe('tool_calls');
  });

  it('turns RESOURCE_EXHAUSTED into the SDK’s RateLimitError, its RetryInfo into retry-after', async () => {
    google.answer({ status: 429, body: fixture('gemini/error.resource-exhausted.json') });
    const error = await t
      .client()
      .chat.completions.create({ model: 'gemini-chat', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({
      type: 'rate_limit_error',
      code: 'RESOURCE_EXHAUSTED',
      message: 'Resource has been exhausted (e.g. check quota).',
    });
    // The fixture's google.rpc.RetryInfo says "21s".
    expect((error as InstanceType<typeof OpenAI.APIError>).headers?.get('retry-after')).toBe('21');
  });

  it('serves embeddings from batchEmbedContents', async () => {
    google.answer({ body: fixture('gemini/batch-embed-contents.response.json') });
    const result = await t
      .client()
      .embeddings.create({ model: 'gemini-embed', input: ['a', 'b'], encoding_format: 'float' });
    expect(result.data.map((d) => d.embedding.length)).toEqual([4, 4]);
    expect(last().path).toBe('/v1beta/models/gemini-embedding-001:batchEmbedContents');
  });
});

describe('Vertex AI through the gateway', () => {
  it('authenticates with one minted access token, reused across requests', async () => {
    google.answer((request) =>
      request.path.includes(':streamGenerateContent')
        ? { headers: SSE, body: pieces(fixture('vertex/stream.text.sse'), 13) }
        : { body: fixture('vertex/generate-content.text.response.json') },
    );
    const buffered = await t
      .client()
      .chat.completions.create({ model: 'vertex-chat', messages: [{ role: 'user', content: 'Pluie ?' }] });
    expect(buffered.choices[0]!.message.content).toBe('Bonjour ! Il pleut à Paris, prenez un parapluie.');

    const stream = await t.client().chat.completions.create({
      model: 'vertex-chat',
      messages: [{ role: 'user', content: 'Pluie ?' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('Bonjour ! Il pleut à Paris, prenez un parapluie.');
    expect(usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 });

    expect(google.requests.map((r) => r.path)).toEqual([
      `${VERTEX_PREFIX}/gemini-2.5-flash:generateContent`,
      `${VERTEX_PREFIX}/gemini-2.5-flash:streamGenerateContent?alt=sse`,
    ]);
    expect(google.requests.map((r) => r.headers.authorization)).toEqual([
      'Bearer ya29.token-1',
      'Bearer ya29.token-1',
    ]);
    expect(google.requests.every((r) => r.headers['x-goog-api-key'] === undefined)).toBe(true);
    expect(tokenServer.claims).toHaveLength(1);
    expect(tokenServer.claims[0]).toMatchObject({
      iss: 'router@demo-project.iam.gserviceaccount.com',
      aud: tokenServer.url,
      scope: 'https://www.googleapis.com/auth/cloud-platform',
    });
  });

  it('falls back to the next backend when no Vertex AI access token can be minted', async () => {
    google.answer({ body: fixture('gemini/generate-content.text.response.json') });
    const { data, response } = await t
      .client()
      .chat.completions.create({ model: 'no-token-chat', messages: [{ role: 'user', content: 'Umbrella?' }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe('Take an umbrella in Paris; Lyon stays dry.');
    // Only the second attempt reached a provider: the Gemini API, with its own key.
    expect(google.requests.map((r) => r.path)).toEqual(['/v1beta/models/gemini-2.5-flash:generateContent']);
    expect(last().headers['x-goog-api-key']).toBe('provider-secret');
    expect(await t.logFor(response)).toMatchObject({
      attempts: attemptsOf(2),
      provider: 'Gemini',
      resolvedModel: 'gemini-2.5-flash',
      status: 200,
    });
  });

  it('reads Vertex AI’s array-wrapped errors; a 403 is the provider refusing the gateway’s credential', async () => {
    google.answer({ status: 403, body: fixture('vertex/error.permission-denied.array.json') });
    const error = await t
      .client()
      .chat.completions.create({ model: 'vertex-chat', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    const { message, ...rest } = (error as InstanceType<typeof OpenAI.APIError>).error as { message: string };
    expect(rest).toMatchObject({ type: 'api_error', code: 'provider_auth_error' });
    expect(message).toContain("Permission 'aiplatform.endpoints.predict' denied");
    expect(message).toContain('(PERMISSION_DENIED)');
  });

  it('answers a 401 that quotes the minted access token as 502 provider_auth_error, the token redacted', async () => {
    const template = fixture('vertex/error.unauthenticated.echo.json').toString();
    google.answer((request) => ({
      status: 401,
      headers: {
        'content-type': 'application/json',
        'x-echo-authorization': String(request.headers.authorization),
      },
      body: template.replace('{{header}}', String(request.headers.authorization)),
    }));
    const response = await fetch(`${t.stack.gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-test-team-a', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'vertex-chat', messages: [{ role: 'user', content: 'hi' }] }),
    });
    const body = await response.text();
    expect(last().headers.authorization).toMatch(/^Bearer ya29\./);
    expect(response.status).toBe(502);
    expect(JSON.parse(body)).toMatchObject({ error: { code: 'provider_auth_error' } });
    expect(body).toContain('(Authorization: Bearer [redacted])');
    expect(`${[...response.headers].join('\n')}\n${body}`).not.toContain('ya29.');
    expect(t.lines.join('\n')).not.toContain('ya29.');
  });

  it('serves embeddings from :predict', async () => {
    google.answer({ body: fixture('vertex/predict.embeddings.response.json') });
    const result = await t
      .client()
      .embeddings.create({ model: 'vertex-embed', input: ['a', 'b'], encoding_format: 'float' });
    expect(result.data[1]!.embedding).toEqual([-0.0311, 0.0127, 0.0412, -0.0005]);
    expect(result.usage).toEqual({ prompt_tokens: 10, total_tokens: 10 });
    expect(last().path).toBe(`${VERTEX_PREFIX}/text-embedding-005:predict`);
    expect(last().headers.authorization).toBe('Bearer ya29.token-1');
  });
});

describe('Claude on Vertex AI through the gateway', () => {
  const prefix =
    '/v1/projects/demo-project/locations/europe-west1/publishers/anthropic/models/claude-sonnet-4-5@20250929';

  it('answers buffered and streamed, with the service account’s cached token', async () => {
    google.answer((request) =>
      request.path.endsWith(':streamRawPredict')
        ? { headers: SSE, body: pieces(fixture('vertex/anthropic.stream-raw-predict.sse'), 29) }
        : { body: fixture('vertex/anthropic.raw-predict.response.json') },
    );
    const buffered = await t.client().chat.completions.create({
      model: 'claude-chat',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    expect(buffered.choices[0]!.finish_reason).toBe('tool_calls');
    expect(buffered.choices[0]!.message.tool_calls?.[0]).toMatchObject({
      function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
    });
    const sent = sentBody();
    expect(sent.anthropic_version).toBe('vertex-2023-10-16');
    expect(sent.model).toBeUndefined();

    const stream = await t.client().chat.completions.create({
      model: 'claude-chat',
      messages: [{ role: 'user', content: 'Pluie ?' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Il pleut à Paris ☔ — prenez un parapluie.');

    expect(google.requests.map((r) => r.path)).toEqual([
      `${prefix}:rawPredict`,
      `${prefix}:streamRawPredict`,
    ]);
    // The same service account as the Vertex AI Gemini backend: its token is still cached.
    expect(google.requests.map((r) => r.headers.authorization)).toEqual([
      'Bearer ya29.token-1',
      'Bearer ya29.token-1',
    ]);
    expect(tokenServer.claims).toHaveLength(1);
  });

  it('passes cache_control breakpoints to Claude on Vertex AI as the client sent them', async () => {
    google.answer({ body: fixture('vertex/anthropic.raw-predict.response.json') });
    const ephemeral = { type: 'ephemeral' };
    await t.client().chat.completions.create({
      model: 'claude-chat',
      messages: [
        {
          role: 'system',
          content: [{ type: 'text', text: 'You forecast weather.', cache_control: ephemeral }],
        },
        { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?', cache_control: ephemeral }] },
      ] as unknown as OpenAI.ChatCompletionMessageParam[],
    });
    expect(last().path).toBe(`${prefix}:rawPredict`);
    expect(sentBody()).toMatchObject({
      anthropic_version: 'vertex-2023-10-16',
      system: [{ type: 'text', text: 'You forecast weather.', cache_control: ephemeral }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?', cache_control: ephemeral }] },
      ],
    });
  });
});
