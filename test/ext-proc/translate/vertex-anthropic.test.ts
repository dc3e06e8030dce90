/**
 * Claude on Vertex AI: the Anthropic Messages body on a Vertex AI publisher-model URL with a Bearer token,
 * Anthropic responses and streams, and errors from either the model (Anthropic's shape) or Vertex AI
 * itself (Google's envelope).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Credential } from '../../../config/credentials.ts';
import { SecretValue } from '../../../config/secret-value.ts';
import type { CompiledBackend } from '../../../config/snapshot.ts';
import { GcpAccessTokens } from '../../../ext-proc/credentials/gcp-access-token.ts';
import { AnthropicStreamTranslator, toAnthropicRequest } from '../../../ext-proc/translate/anthropic.ts';
import type { ResponseContext } from '../../../ext-proc/translate/translator.ts';
import { bodyInput } from '../../../ext-proc/translate/translator.ts';
import {
  toVertexAnthropicRequest,
  VERTEX_ANTHROPIC_VERSION,
  vertexAnthropicTranslator,
} from '../../../ext-proc/translate/vertex-anthropic.ts';
import { messagesRequestProblems } from '../../fixtures/anthropic/messages-request.check.ts';
import { chatRequest, cuts, splitAt } from '../../fixtures/openai/chat-request.arbitrary.ts';
import { serviceAccountKeys } from '../../helpers/google-token-server.ts';

const fixture = (path: string) => readFileSync(new URL(`../../fixtures/${path}`, import.meta.url));

const backend: CompiledBackend = {
  id: 'default/claude-vertex',
  provider: 'VertexAnthropic',
  origin: 'https://europe-west1-aiplatform.googleapis.com',
  basePath: '',
  region: 'europe-west1',
  project: 'demo-project',
  defaults: { maxTokens: 2048 },
};
const keys = serviceAccountKeys();
const serviceAccount: Credential = {
  type: 'GCPServiceAccount',
  clientEmail: 'router@demo-project.iam.gserviceaccount.com',
  privateKey: new SecretValue(keys.privatePem),
  tokenUri: 'https://oauth2.googleapis.com/token',
};
const MODEL = 'claude-sonnet-4-5@20250929';

function translator() {
  let minted = 0;
  const tokens = new GcpAccessTokens({
    fetch: async () => new Response(JSON.stringify({ access_token: `ya29.c${++minted}`, expires_in: 3599 })),
  });
  return { translator: vertexAnthropicTranslator(tokens), minted: () => minted };
}

function input(
  body: Record<string, unknown>,
  operation: 'chat.completions' | 'embeddings' = 'chat.completions',
) {
  const raw = Buffer.from(JSON.stringify(body));
  return {
    operation,
    ...bodyInput(raw),
    backend,
    model: MODEL,
    credential: serviceAccount,
  };
}

const context = (overrides: Partial<ResponseContext> = {}): ResponseContext => ({
  operation: 'chat.completions',
  model: MODEL,
  stream: false,
  includeUsage: false,
  ...overrides,
});

describe('Claude on Vertex AI requests', () => {
  it('posts the Messages body without model and with the Vertex anthropic_version to :rawPredict', async () => {
    const { translator: t, minted } = translator();
    const body = { model: 'claude', messages: [{ role: 'user', content: 'Pluie ?' }], temperature: 0.2 };
    const out = await t.request(input(body));
    expect(out.path).toBe(
      `/v1/projects/demo-project/locations/europe-west1/publishers/anthropic/models/${MODEL}:rawPredict`,
    );
    // Everything but model and version is the Anthropic translator's Messages body.
    const { model: _model, ...messagesBody } = toAnthropicRequest(body, { model: MODEL, maxTokens: 2048 });
    expect(JSON.parse(out.body.toString())).toEqual({
      anthropic_version: 'vertex-2023-10-16',
      ...messagesBody,
    });
    expect(messagesBody).toMatchObject({ max_tokens: 2048, temperature: 0.2 });
    expect(Object.fromEntries(out.headers)).toEqual({
      'content-type': 'application/json',
      authorization: 'Bearer ya29.c1',
    });
    expect(out.removeHeaders).toEqual(
      expect.arrayContaining(['x-api-key', 'api-key', 'x-goog-api-key', 'anthropic-version']),
    );
    await t.request(input(body));
    expect(minted()).toBe(1);
  });

  it('streams through :streamRawPredict with stream: true in the body', async () => {
    const out = await translator().translator.request(
      input({ model: 'claude', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    );
    expect(out.path.endsWith(`/models/${MODEL}:streamRawPredict`)).toBe(true);
    expect(JSON.parse(out.body.toString()).stream).toBe(true);
  });

  it('drops a JSON schema response format, which Vertex AI does not take, and keeps thinking', () => {
    const sent = toVertexAnthropicRequest(
      {
        model: 'chat-model',
        messages: [{ role: 'user', content: 'hi' }],
        response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } },
        reasoning_effort: 'low',
      },
      { model: 'claude-opus-4-7' },
    );
    expect(sent).not.toHaveProperty('output_config.format');
    expect(sent).toMatchObject({ thinking: { type: 'adaptive' }, output_config: { effort: 'low' } });
    const plain = toVertexAnthropicRequest(
      {
        model: 'm',
        messages: [{ role: 'user', content: 'hi' }],
        response_format: { type: 'json_schema', json_schema: { schema: {} } },
      },
      { model: 'claude-sonnet-4-5@20250929' },
    );
    expect(plain).not.toHaveProperty('output_config');
  });

  it('passes cache_control breakpoints to Claude on Vertex AI as the client sent them', () => {
    const body = toVertexAnthropicRequest(
      {
        model: 'chat-model',
        messages: [
          {
            role: 'system',
            content: [{ type: 'text', text: 'You review contracts.', cache_control: { type: 'ephemeral' } }],
          },
          {
            role: 'user',
            content: [
              {
                type: 'text',
                text: '<contract>…</contract>',
                cache_control: { type: 'ephemeral', ttl: '5m' },
              },
              { type: 'text', text: 'Summarise clause 4.' },
            ],
          },
        ],
      },
      { model: MODEL },
    );
    expect(body).toMatchObject({
      anthropic_version: VERTEX_ANTHROPIC_VERSION,
      system: [{ type: 'text', text: 'You review contracts.', cache_control: { type: 'ephemeral' } }],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: '<contract>…</contract>', cache_control: { type: 'ephemeral', ttl: '5m' } },
            { type: 'text', text: 'Summarise clause 4.' },
          ],
        },
      ],
    });
    const { anthropic_version: _version, ...messagesBody } = body;
    expect(messagesRequestProblems({ model: MODEL, ...messagesBody })).toEqual([]);
  });

  it('refuses embeddings with an OpenAI-shaped 400', () => {
    expect(() =>
      translator().translator.request(input({ model: 'claude', input: 'x' }, 'embeddings')),
    ).toThrow(/chat\/completions only/);
  });

  it('turns every valid OpenAI chat request into a valid Messages body for Vertex AI', () => {
    fc.assert(
      fc.property(chatRequest, (body) => {
        const request = toVertexAnthropicRequest(body, { model: MODEL });
        expect(request.model).toBeUndefined();
        expect(request.anthropic_version).toBe(VERTEX_ANTHROPIC_VERSION);
        const { anthropic_version: _version, ...messages } = request;
        expect(messagesRequestProblems({ model: MODEL, ...messages })).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});

describe('Claude on Vertex AI responses', () => {
  it('turns a rawPredict message with a tool call into a chat.completion', () => {
    const out = JSON.parse(
      translator()
        .translator.responseBody(fixture('vertex/anthropic.raw-predict.response.json'), context())
        .toString(),
    );
    expect(out).toMatchObject({
      id: 'msg_vrtx_01Rf7n3mFrSVgSP8k7ERc1Wx',
      object: 'chat.completion',
      model: MODEL,
      choices: [
        {
          message: {
            role: 'assistant',
            content: 'Let me check Paris.',
            tool_calls: [
              {
                id: 'toolu_vrtx_01JZ6m2QwXwDyyT8xRz3F2aa',
                type: 'function',
                function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
              },
            ],
          },
          finish_reason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 385, completion_tokens: 62, total_tokens: 447 },
    });
  });

  it('converts the streamRawPredict stream, with usage when asked for', () => {
    const stream = translator().translator.createStream(context({ stream: true, includeUsage: true }));
    const out = stream.chunk(fixture('vertex/anthropic.stream-raw-predict.sse'), true)!.toString();
    const chunks = out
      .split('\n\n')
      .filter((e) => e.startsWith('data: {'))
      .map(
        (e) =>
          JSON.parse(e.slice(6)) as {
            choices: { delta: { content?: string }; finish_reason: string | null }[];
            usage?: unknown;
          },
      );
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(
      'Il pleut à Paris ☔ — prenez un parapluie.',
    );
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('stop');
    expect(chunks.at(-1)!.usage).toMatchObject({ prompt_tokens: 18, completion_tokens: 17 });
    expect(out.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('gives byte-identical stream output for any split', () => {
    const bytes = fixture('vertex/anthropic.stream-raw-predict.sse');
    const run = (parts: Buffer[]) => {
      const stream = new AnthropicStreamTranslator(context({ stream: true, includeUsage: true }), {
        id: 'chatcmpl-test',
        created: 1751360400,
      });
      return Buffer.concat(parts.map((p, i) => stream.chunk(p, i === parts.length - 1))).toString();
    };
    const whole = run([bytes]);
    fc.assert(
      fc.property(cuts, (c) => {
        expect(run(splitAt(bytes, c))).toBe(whole);
      }),
      { numRuns: 200 },
    );
  });
});

describe('Claude on Vertex AI errors', () => {
  const { translator: t } = translator();

  it('keeps Anthropic’s error type from the model as the code', () => {
    expect(t.error(529, fixture('vertex/anthropic.error.overloaded.json'))).toEqual({
      error: { message: 'Overloaded', type: 'api_error', param: null, code: 'overloaded_error' },
    });
  });

  it('reads Vertex AI’s own errors in Google’s envelope, plain or in an array', () => {
    expect(t.error(404, fixture('vertex/anthropic.error.model-not-found.json')).error).toMatchObject({
      type: 'not_found_error',
      code: 'NOT_FOUND',
      message: expect.stringContaining('claude-opus-9@20300101'),
    });
    expect(t.error(429, fixture('vertex/error.resource-exhausted.json')).error).toMatchObject({
      type: 'rate_limit_error',
      code: 'RESOURCE_EXHAUSTED',
    });
    expect(t.error(403, fixture('vertex/error.permission-denied.array.json')).error.type).toBe(
      'permission_error',
    );
  });

  it('wraps anything else', () => {
    expect(t.error(502, Buffer.from('upstream connect error')).error).toMatchObject({
      type: 'api_error',
      message: expect.stringContaining('upstream connect error'),
    });
  });
});
