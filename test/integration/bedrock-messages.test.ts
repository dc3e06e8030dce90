/**
 * Anthropic Messages clients on Claude on Bedrock, through the real stack (dev gateway + ext_proc over
 * loopback) with the official @anthropic-ai/sdk client and a Bedrock Runtime stand-in answering in
 * Bedrock's documented shapes: InvokeModel (the Messages body, `anthropic_version` and
 * `anthropic_beta` in it), InvokeModelWithResponseStream (Anthropic events in `chunk` frames) and
 * CountTokens (`{"inputTokens":N}`).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SseParser } from '../../ext-proc/translate/sse.ts';
import { encodeEvents } from '../fixtures/bedrock/event-streams.ts';
import { splitAt } from '../fixtures/openai/chat-request.arbitrary.ts';
import { type FakeProvider, type RecordedRequest, startFakeProvider } from '../helpers/fake-provider.ts';
import { COMMON_YAML, startTestStack, type TestStack } from '../helpers/stack.ts';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/anthropic');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name));

const GATEWAY_KEY = 'sk-test-team-a';
const ACCESS_KEY_ID = 'AKIDEXAMPLE';
const SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const PROFILE = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const FOUNDATION = 'anthropic.claude-sonnet-4-5-20250929-v1:0';

let t: TestStack;
let bedrock: FakeProvider;

beforeAll(async () => {
  bedrock = await startFakeProvider();
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
  baseURL: ${bedrock.url}
  credentials: { type: AWSAccessKey, secretRef: { name: aws } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  routes:
    - { name: claude, model: claude-model, backendRef: { name: bedrock }, modelNameOverride: ${PROFILE} }
`,
    ].join(''),
  );
});

afterAll(async () => {
  await t?.close();
  await bedrock?.close();
});

beforeEach(() => {
  bedrock.requests.length = 0;
});

const client = () => new Anthropic({ baseURL: t.stack.gatewayUrl, apiKey: GATEWAY_KEY, maxRetries: 0 });

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Signed for bedrock in us-east-1 over the bytes received; no gateway key or secret sent. */
function expectSigned(request: RecordedRequest): void {
  expect(String(request.headers.authorization)).toMatch(
    new RegExp(`^AWS4-HMAC-SHA256 Credential=${ACCESS_KEY_ID}/\\d{8}/us-east-1/bedrock/aws4_request, `),
  );
  expect(request.headers['x-amz-content-sha256']).toBe(sha256(request.body));
  const headers = JSON.stringify(request.headers);
  expect(headers).not.toContain(GATEWAY_KEY);
  expect(headers).not.toContain(SECRET_ACCESS_KEY);
}

describe('Anthropic Messages clients on Claude on Bedrock', () => {
  it('sends the Messages body on InvokeModel, the anthropic-beta header as anthropic_beta, and answers as Anthropic', async () => {
    bedrock.answer({
      headers: { 'content-type': 'application/json', 'x-amzn-requestid': 'req-1' },
      body: fixture('response.text.json'),
    });
    const system = [
      { type: 'text' as const, text: 'Long rules', cache_control: { type: 'ephemeral' as const } },
    ];
    const message = await client().messages.create(
      { model: 'claude-model', max_tokens: 64, system, messages: [{ role: 'user', content: 'Bonjour' }] },
      { headers: { 'anthropic-beta': 'context-1m-2025-08-07,interleaved-thinking-2025-05-14' } },
    );
    expect(message.content).toEqual([
      { type: 'text', text: "Bonjour ! Comment puis-je vous aider aujourd'hui ?" },
    ]);
    const sent = bedrock.requests.at(-1)!;
    expect(sent.path).toBe(`/model/${encodeURIComponent(PROFILE)}/invoke`);
    expectSigned(sent);
    expect(sent.headers['anthropic-beta']).toBeUndefined();
    expect(sent.headers['anthropic-version']).toBeUndefined();
    expect(JSON.parse(sent.body.toString())).toEqual({
      anthropic_version: 'bedrock-2023-05-31',
      anthropic_beta: ['context-1m-2025-08-07', 'interleaved-thinking-2025-05-14'],
      max_tokens: 64,
      system,
      messages: [{ role: 'user', content: 'Bonjour' }],
    });
  });

  it('streams the Anthropic events Bedrock wraps in chunk frames, through the SDK', async () => {
    const parser = new SseParser();
    const events = [...parser.push(fixture('stream.text.sse')), ...parser.end()];
    const frames = encodeEvents(
      events.map((e) => ({ event: 'chunk', payload: { bytes: Buffer.from(e.data).toString('base64') } })),
    );
    bedrock.answer({
      headers: { 'content-type': 'application/vnd.amazon.eventstream' },
      body: splitAt(frames, [0.1, 0.33, 0.5, 0.8]),
    });
    const stream = client().messages.stream(
      { model: 'claude-model', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] },
      { headers: { 'anthropic-beta': 'fine-grained-tool-streaming-2025-05-14' } },
    );
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe('end_turn');
    expect(final.content[0]?.type).toBe('text');
    const sent = bedrock.requests.at(-1)!;
    expect(sent.path).toBe(`/model/${encodeURIComponent(PROFILE)}/invoke-with-response-stream`);
    const body = JSON.parse(sent.body.toString()) as Record<string, unknown>;
    expect(body.anthropic_beta).toEqual(['fine-grained-tool-streaming-2025-05-14']);
    expect(body.stream).toBeUndefined();
  });

  it('counts tokens with Bedrock’s CountTokens and answers in Anthropic’s shape', async () => {
    bedrock.answer({
      headers: { 'content-type': 'application/json', 'x-amzn-requestid': 'req-2' },
      body: '{"inputTokens":19}',
    });
    const count = await client().messages.countTokens({
      model: 'claude-model',
      system: 'You are a scientist',
      messages: [{ role: 'user', content: 'Hello, Claude' }],
    });
    expect(count).toEqual({ input_tokens: 19 });
    const sent = bedrock.requests.at(-1)!;
    expect(sent.path).toBe(`/model/${encodeURIComponent(FOUNDATION)}/count-tokens`);
    expectSigned(sent);
    const outer = JSON.parse(sent.body.toString()) as { input: { invokeModel: { body: string } } };
    expect(JSON.parse(Buffer.from(outer.input.invokeModel.body, 'base64').toString())).toEqual({
      anthropic_version: 'bedrock-2023-05-31',
      max_tokens: 1024,
      system: 'You are a scientist',
      messages: [{ role: 'user', content: 'Hello, Claude' }],
    });
  });

  it('gives a CountTokens refusal back in Anthropic’s error shape', async () => {
    bedrock.answer({
      status: 400,
      headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'ValidationException' },
      body: '{"message":"The provided model doesn\'t support counting tokens."}',
    });
    const error = await client()
      .messages.countTokens({ model: 'claude-model', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringContaining('counting tokens') },
    });
  });
});
