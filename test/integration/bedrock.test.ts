/**
 * Round trips through the real stack (dev gateway + ext_proc over loopback) to a Bedrock backend, with
 * the official openai SDK as the client and a fake Bedrock Runtime answering with documented Converse
 * JSON and binary ConverseStream recordings. Every request the fake receives is checked to carry a
 * SigV4 signature that verifies against the bytes as received.
 */
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { splitAt } from '../fixtures/openai/chat-request.arbitrary.ts';
import { type FakeProvider, type RecordedRequest, startFakeProvider } from '../helpers/fake-provider.ts';
import { COMMON_YAML, startTestStack, type TestStack } from '../helpers/stack.ts';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/bedrock');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name));

const GATEWAY_KEY = 'sk-test-team-a';
const ACCESS_KEY_ID = 'AKIDEXAMPLE';
const SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const MODEL = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
const EMBED_MODEL = 'amazon.titan-embed-text-v2:0';
const REQUEST_ID = '7c1f6a52-3e3e-4c2b-9a4e-5d1e0b7f9a10';

const WEATHER_TOOL: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

let t: TestStack;
let provider: FakeProvider;

beforeAll(async () => {
  provider = await startFakeProvider();
  t = await startTestStack({}, () =>
    [
      COMMON_YAML,
      `
---
apiVersion: v1
kind: Secret
metadata: { name: aws }
stringData:
  aws-access-key-id: ${ACCESS_KEY_ID}
  aws-secret-access-key: ${SECRET_ACCESS_KEY}
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: bedrock }
spec:
  provider: Bedrock
  region: us-east-1
  baseURL: ${provider.url}
  credentials: { type: AWSAccessKey, secretRef: { name: aws } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  routes:
    - { name: claude, model: chat-model, backendRef: { name: bedrock }, modelNameOverride: ${MODEL} }
    - { name: titan, model: embed-model, backendRef: { name: bedrock }, modelNameOverride: ${EMBED_MODEL} }
`,
    ].join(''),
  );
});

afterAll(async () => {
  await t?.close();
  await provider?.close();
});

beforeEach(() => {
  provider.requests.length = 0;
});

function answerJson(name: string, status = 200, headers: Record<string, string> = {}): void {
  provider.answer({
    status,
    headers: { 'content-type': 'application/json', 'x-amzn-requestid': REQUEST_ID, ...headers },
    body: fixture(name),
  });
}

/** Answers with a binary ConverseStream recording, written in uneven chunks that split messages. */
function answerStream(name: string): void {
  provider.answer({
    headers: { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': REQUEST_ID },
    body: splitAt(fixture(name), [0.013, 0.2, 0.21, 0.47, 0.66, 0.9]),
  });
}

function lastRequest(): RecordedRequest & { json: Record<string, unknown> } {
  const request = provider.requests[provider.requests.length - 1]!;
  return { ...request, json: JSON.parse(request.body.toString()) };
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
/** RFC 3986 unreserved characters stay, everything else is %XX: SigV4's UriEncode. */
const uriEncode = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * Verifies the request's SigV4 signature as AWS would, from what was received: the canonical request
 * (path segments encoded a second time, as for every service but S3), the signed headers' received
 * values, the body's hash; the signing key derived from the secret
 * (docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html).
 */
function expectSigV4(request: RecordedRequest): void {
  const authorization = String(request.headers.authorization);
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      authorization,
    );
  expect(match, authorization).not.toBeNull();
  const [, keyId, day, region, service, signedHeaders, signature] = match!;
  expect({ keyId, region, service }).toEqual({
    keyId: ACCESS_KEY_ID,
    region: 'us-east-1',
    service: 'bedrock',
  });
  expect(request.headers['x-amz-content-sha256']).toBe(sha256(request.body));
  const names = signedHeaders!.split(';');
  expect(names).toEqual(
    expect.arrayContaining(['host', 'content-type', 'x-amz-date', 'x-amz-content-sha256']),
  );
  const amzDate = String(request.headers['x-amz-date']);
  const canonical = [
    request.method,
    request.path
      .split('/')
      .map((segment) => uriEncode(segment))
      .join('/'),
    '',
    ...names.map((n) => `${n}:${String(request.headers[n]).trim()}`),
    '',
    signedHeaders,
    sha256(request.body),
  ].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${SECRET_ACCESS_KEY}`, day!), region!), service!), 'aws4_request');
  expect(createHmac('sha256', key).update(stringToSign).digest('hex')).toBe(signature);
  // Neither the caller's gateway key nor the secret reaches the provider.
  expect(JSON.stringify(request.headers)).not.toContain(GATEWAY_KEY);
  expect(JSON.stringify(request.headers)).not.toContain(SECRET_ACCESS_KEY);
}

describe('Bedrock backend through the gateway', () => {
  it('answers a chat completion from Converse, signed for bedrock in us-east-1, with usage and request id', async () => {
    answerJson('converse-response.text.json');
    const { data, response } = await t
      .client()
      .chat.completions.create({
        model: 'chat-model',
        messages: [
          { role: 'system', content: 'Answer in one sentence.' },
          { role: 'user', content: 'Which is warmer, Paris or Oslo?' },
        ],
        max_tokens: 64,
      })
      .withResponse();
    const request = lastRequest();
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse');
    expect(request.headers['content-type']).toBe('application/json');
    expectSigV4(request);
    expect(request.json).toEqual({
      messages: [{ role: 'user', content: [{ text: 'Which is warmer, Paris or Oslo?' }] }],
      system: [{ text: 'Answer in one sentence.' }],
      inferenceConfig: { maxTokens: 64 },
    });
    expect(data.model).toBe(MODEL);
    expect(data.choices[0]!.message.content).toBe(
      'Paris is warmer: 18°C and sunny, against 4°C and rain in Oslo.',
    );
    expect(data.choices[0]!.finish_reason).toBe('stop');
    expect(data.usage).toEqual({ prompt_tokens: 125, completion_tokens: 21, total_tokens: 146 });
    expect(response.headers.get('x-agent-router-provider-request-id')).toBe(REQUEST_ID);
    expect(await t.logFor(response)).toMatchObject({
      provider: 'Bedrock',
      status: 200,
      tokens: { prompt: 125, completion: 21 },
    });
  });

  it('sends cache_control breakpoints as cachePoint blocks, signed, and reports cache reads as cached tokens', async () => {
    answerJson('converse-response.prompt-caching.json');
    const request = JSON.parse(fixture('chat-request.prompt-caching.json').toString()) as Record<
      string,
      unknown
    >;
    const { data, response } = await t
      .client()
      .chat.completions.create(request as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .withResponse();
    const sent = lastRequest();
    expectSigV4(sent);
    expect(sent.json).toEqual(JSON.parse(fixture('converse-request.prompt-caching.json').toString()));
    expect(data.usage).toEqual({
      prompt_tokens: 31 + 1792 + 256,
      completion_tokens: 24,
      total_tokens: 31 + 1792 + 256 + 24,
      prompt_tokens_details: { cached_tokens: 1792 },
    });
    expect(await t.logFor(response)).toMatchObject({
      provider: 'Bedrock',
      tokens: { prompt: 31 + 1792 + 256, completion: 24, cached: 1792 },
    });
  });

  it('returns tool calls from toolUse blocks and sends tool results back as toolResult blocks', async () => {
    answerJson('converse-response.tool-use.json');
    const completion = await t.client().chat.completions.create({
      model: 'chat-model',
      messages: [{ role: 'user', content: 'Weather in Paris and Oslo?' }],
      tools: [WEATHER_TOOL],
      tool_choice: 'required',
    });
    expect(lastRequest().json.toolConfig).toEqual({
      tools: [
        {
          toolSpec: {
            name: 'get_weather',
            description: 'Current weather for a city',
            inputSchema: { json: WEATHER_TOOL.function.parameters },
          },
        },
      ],
      toolChoice: { any: {} },
    });
    const message = completion.choices[0]!.message;
    expect(completion.choices[0]!.finish_reason).toBe('tool_calls');
    expect(message.tool_calls).toEqual([
      {
        id: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
      },
      {
        id: 'tooluse_Qm9zdG9uV2VhdGhlcjEy',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
      },
    ]);

    answerJson('converse-response.text.json');
    await t.client().chat.completions.create({
      model: 'chat-model',
      messages: [
        { role: 'user', content: 'Weather in Paris and Oslo?' },
        message,
        { role: 'tool', tool_call_id: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q', content: '18°C, sunny' },
        { role: 'tool', tool_call_id: 'tooluse_Qm9zdG9uV2VhdGhlcjEy', content: '4°C, rain' },
      ],
      tools: [WEATHER_TOOL],
    });
    const followUp = lastRequest();
    expectSigV4(followUp);
    expect(followUp.json.messages).toEqual([
      { role: 'user', content: [{ text: 'Weather in Paris and Oslo?' }] },
      {
        role: 'assistant',
        content: [
          { text: 'Checking both cities.' },
          {
            toolUse: {
              toolUseId: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q',
              name: 'get_weather',
              input: { city: 'Paris' },
            },
          },
          {
            toolUse: {
              toolUseId: 'tooluse_Qm9zdG9uV2VhdGhlcjEy',
              name: 'get_weather',
              input: { city: 'Oslo' },
            },
          },
        ],
      },
      {
        role: 'user',
        content: [
          { toolResult: { toolUseId: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q', content: [{ text: '18°C, sunny' }] } },
          { toolResult: { toolUseId: 'tooluse_Qm9zdG9uV2VhdGhlcjEy', content: [{ text: '4°C, rain' }] } },
        ],
      },
    ]);
  });

  it('streams text through the SDK from a binary ConverseStream, with the usage chunk for include_usage', async () => {
    answerStream('converse-stream.text.bin');
    const { data: stream, response } = await t
      .client()
      .chat.completions.create({
        model: 'chat-model',
        messages: [{ role: 'user', content: 'Say hello' }],
        stream: true,
        stream_options: { include_usage: true },
      })
      .withResponse();
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      expect(chunk.model).toBe(MODEL);
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    const request = lastRequest();
    expect(request.path).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream');
    expectSigV4(request);
    expect(text).toBe('Hello from Bedrock!');
    expect(finish).toBe('stop');
    expect(usage).toEqual({ prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 });
    expect(await t.logFor(response)).toMatchObject({
      stream: true,
      status: 200,
      tokens: { prompt: 12, completion: 5 },
    });
  });

  it('streams tool calls through the SDK, their arguments assembled from fragments', async () => {
    answerStream('converse-stream.tool-use.bin');
    const stream = await t.client().chat.completions.create({
      model: 'chat-model',
      messages: [{ role: 'user', content: 'Weather in Paris and Oslo?' }],
      tools: [WEATHER_TOOL],
      stream: true,
    });
    const calls: { id?: string; name?: string; arguments: string }[] = [];
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      text += choice?.delta.content ?? '';
      finish = choice?.finish_reason ?? finish;
      for (const call of choice?.delta.tool_calls ?? []) {
        calls[call.index] ??= { arguments: '' };
        const entry = calls[call.index]!;
        if (call.id) entry.id = call.id;
        if (call.function?.name) entry.name = call.function.name;
        entry.arguments += call.function?.arguments ?? '';
      }
    }
    expect(text).toBe('Checking both cities.');
    expect(finish).toBe('tool_calls');
    expect(calls).toEqual([
      { id: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q', name: 'get_weather', arguments: '{"city": "Paris"}' },
      { id: 'tooluse_Qm9zdG9uV2VhdGhlcjEy', name: 'get_weather', arguments: '{"city": "Oslo"}' },
    ]);
  });

  it('raises the SDK’s RateLimitError for a ThrottlingException', async () => {
    answerJson('error.throttling.json', 429, {
      'x-amzn-errortype': 'ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/',
    });
    const error = await t
      .client()
      .chat.completions.create({ model: 'chat-model', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({
      message: 'Too many requests, please wait before trying again.',
      type: 'rate_limit_error',
      code: 'ThrottlingException',
    });
  });

  it('answers a 403 that quotes the access key and the signed header as 502 provider_auth_error, redacted', async () => {
    const template = fixture('error.unrecognized-client.echo.json').toString();
    provider.answer((request) => ({
      status: 403,
      headers: {
        'content-type': 'application/json',
        'x-amzn-requestid': REQUEST_ID,
        'x-amzn-errortype':
          'UnrecognizedClientException:http://internal.amazon.com/coral/com.amazon.coral.service/',
      },
      body: template
        .replace('{{key}}', ACCESS_KEY_ID)
        .replace('{{header}}', String(request.headers.authorization)),
    }));
    const response = await fetch(`${t.stack.gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${GATEWAY_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat-model', messages: [{ role: 'user', content: 'hi' }] }),
    });
    const body = await response.text();
    const signature = /Signature=([0-9a-f]{64})/.exec(String(lastRequest().headers.authorization))![1]!;
    expect(response.status).toBe(502);
    expect(response.headers.get('x-agent-router-provider-request-id')).toBe(REQUEST_ID);
    expect(JSON.parse(body)).toMatchObject({ error: { type: 'api_error', code: 'provider_auth_error' } });
    expect(body).toContain('Access key [redacted], Authorization: [redacted]');
    const everything = `${[...response.headers].join('\n')}\n${body}\n${t.lines.join('\n')}`;
    for (const secret of [ACCESS_KEY_ID, SECRET_ACCESS_KEY, signature])
      expect(everything).not.toContain(secret);
  });

  it('makes the SDK’s stream iteration throw when an exception arrives inside the stream', async () => {
    answerStream('converse-stream.throttling.bin');
    const stream = await t.client().chat.completions.create({
      model: 'chat-model',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let text = '';
    const error = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().catch((e: unknown) => e);
    expect(text).toBe('Partial');
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as Error).message).toContain('Too many tokens, please wait before trying again.');
  });

  it('embeds with Titan Text Embeddings through InvokeModel', async () => {
    answerJson('titan-embed-response.json');
    // encoding_format is explicit: the response context does not carry it yet (see the translator).
    const result = await t
      .client()
      .embeddings.create({ model: 'embed-model', input: 'hello world', encoding_format: 'float' });
    const request = lastRequest();
    expect(request.path).toBe('/model/amazon.titan-embed-text-v2%3A0/invoke');
    expectSigV4(request);
    expect(request.json).toEqual({ inputText: 'hello world' });
    expect(result).toMatchObject({
      object: 'list',
      model: EMBED_MODEL,
      data: [{ object: 'embedding', index: 0, embedding: [0.0123, -0.0456, 0.0789, 0.25] }],
      usage: { prompt_tokens: 7, total_tokens: 7 },
    });
  });
});
