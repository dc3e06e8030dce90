import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Credential } from '../../../config/credentials.ts';
import { SecretValue } from '../../../config/secret-value.ts';
import type { CompiledBackend } from '../../../config/snapshot.ts';
import { AgentRouterError } from '../../../ext-proc/errors.ts';
import { mistralToolCallId, mistralTranslator } from '../../../ext-proc/translate/mistral.ts';
import type { Operation, UpstreamRequest } from '../../../ext-proc/translate/translator.ts';
import { bodyInput } from '../../../ext-proc/translate/translator.ts';
import {
  mistralToolCallIdError,
  mistralUnauthorized,
  mistralValidationError,
} from '../../fixtures/mistral/fixtures.ts';
import { cachedChatRequest, chatRequest } from '../../fixtures/openai/chat-request.arbitrary.ts';

const translator = mistralTranslator();
const key: Credential = { type: 'APIKey', apiKey: new SecretValue('mistral-secret') };
const backend: CompiledBackend = {
  id: 'default/mistral',
  provider: 'Mistral',
  origin: 'https://api.mistral.ai',
  basePath: '/v1',
  defaults: {},
};

function translate(
  raw: Buffer | object,
  options: { operation?: Operation; credential?: Credential | undefined } = {},
): UpstreamRequest {
  const bytes = Buffer.isBuffer(raw) ? raw : Buffer.from(JSON.stringify(raw));
  return translator.request({
    operation: options.operation ?? 'chat.completions',
    ...bodyInput(bytes),
    backend,
    model: 'mistral-small-latest',
    credential: 'credential' in options ? options.credential : key,
  }) as UpstreamRequest;
}

const bodyOf = (out: UpstreamRequest) => JSON.parse(out.body.toString()) as Record<string, unknown>;

/** Top-level fields of Mistral's ChatCompletionRequest (client-python models/chatcompletionrequest.py). */
const MISTRAL_CHAT_FIELDS = new Set([
  'model',
  'messages',
  'temperature',
  'top_p',
  'max_tokens',
  'stream',
  'stop',
  'random_seed',
  'metadata',
  'response_format',
  'tools',
  'tool_choice',
  'presence_penalty',
  'frequency_penalty',
  'n',
  'prediction',
  'parallel_tool_calls',
  'reasoning_effort',
  'prompt_mode',
  'guardrails',
  'prompt_cache_key',
  'safe_prompt',
]);

/** Fields of Mistral's message models by role (models/{system,user,assistant,tool}message.py). */
const MESSAGE_FIELDS: Record<string, ReadonlySet<string>> = {
  system: new Set(['role', 'content']),
  user: new Set(['role', 'content']),
  assistant: new Set(['role', 'content', 'tool_calls', 'prefix']),
  tool: new Set(['role', 'content', 'tool_call_id', 'name']),
};

describe('Mistral translator, path and headers', () => {
  it('posts to {base}/chat/completions with the key as a bearer token', () => {
    const out = translate({ model: 'chat-model', messages: [{ role: 'user', content: 'hi' }] });
    expect(out.path).toBe('/v1/chat/completions');
    expect(Object.fromEntries(out.headers)).toEqual({
      'content-type': 'application/json',
      authorization: 'Bearer mistral-secret',
    });
    expect(out.removeHeaders).toEqual(expect.arrayContaining(['x-api-key', 'api-key', 'x-goog-api-key']));
  });

  it('removes the client’s authorization (the gateway key) when the backend has no credential', () => {
    const out = translate({ model: 'm', messages: [] }, { credential: undefined });
    expect(out.removeHeaders).toContain('authorization');
    expect(out.headers.map(([k]) => k)).not.toContain('authorization');
  });

  it('refuses the legacy completions API, which Mistral does not have', () => {
    const attempt = () => translate({ model: 'm', prompt: 'x' }, { operation: 'completions' });
    expect(attempt).toThrow(AgentRouterError);
    expect(attempt).toThrow(/no legacy completions API/);
  });

  it('passes responses through and names mistral-correlation-id as the provider request id', () => {
    expect(translator.convertsResponses).toBe(false);
    expect(translator.requestIdHeader).toBe('mistral-correlation-id');
  });
});

describe('Mistral translator, chat bodies', () => {
  it('splices only the model into the client’s bytes when Mistral accepts everything else', () => {
    const raw = Buffer.from(
      '{"model":"chat-model",  "messages":[{"role":"system","content":"be brief"},{"role":"user","content":"caf\\u00e9"}],' +
        '"temperature":0.2,"n":2,"response_format":{"type":"json_object"},"stream":true,"tool_choice":"any"}',
    );
    const out = translate(raw);
    expect(out.body.toString()).toBe(raw.toString().replace('"chat-model"', '"mistral-small-latest"'));
  });

  it('renames max_completion_tokens and seed, maps tool_choice "required" to "any" and drops OpenAI-only fields', () => {
    const out = bodyOf(
      translate({
        model: 'chat-model',
        messages: [{ role: 'user', content: 'weather?' }],
        max_completion_tokens: 64,
        seed: 7,
        tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
        tool_choice: 'required',
        user: 'alice',
        stream: true,
        stream_options: { include_usage: true },
        logprobs: true,
        top_logprobs: 2,
        logit_bias: { '50256': -100 },
        store: true,
        service_tier: 'auto',
        n: 2,
        response_format: { type: 'json_schema', json_schema: { name: 'w', schema: { type: 'object' } } },
        parallel_tool_calls: false,
      }),
    );
    expect(out).toEqual({
      model: 'mistral-small-latest',
      messages: [{ role: 'user', content: 'weather?' }],
      max_tokens: 64,
      random_seed: 7,
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
      tool_choice: 'any',
      stream: true,
      n: 2,
      response_format: { type: 'json_schema', json_schema: { name: 'w', schema: { type: 'object' } } },
      parallel_tool_calls: false,
    });
  });

  it('keeps a named tool_choice, which Mistral spells like OpenAI', () => {
    const choice = { type: 'function', function: { name: 'get_weather' } };
    expect(bodyOf(translate({ model: 'm', messages: [], tool_choice: choice })).tool_choice).toEqual(choice);
  });

  it('prefers max_completion_tokens over a max_tokens sent alongside it', () => {
    const out = bodyOf(translate({ model: 'm', messages: [], max_tokens: 10, max_completion_tokens: 20 }));
    expect(out.max_tokens).toBe(20);
    expect(out).not.toHaveProperty('max_completion_tokens');
  });

  it('maps OpenAI reasoning efforts onto Mistral’s none/high', () => {
    const effort = (value: string) =>
      bodyOf(translate({ model: 'm', messages: [], reasoning_effort: value })).reasoning_effort;
    expect(['none', 'minimal', 'low', 'medium', 'high', 'xhigh'].map(effort)).toEqual([
      'none',
      'none',
      'none',
      'high',
      'high',
      'high',
    ]);
  });

  it('turns developer messages into system ones and drops message fields Mistral does not define', () => {
    const out = bodyOf(
      translate({
        model: 'm',
        messages: [
          { role: 'developer', content: 'be brief' },
          { role: 'user', name: 'alice', content: 'hi' },
          { role: 'assistant', content: 'hello', refusal: null, annotations: [], name: 'bot' },
          { role: 'tool', tool_call_id: 'Ab3dE6gH9', name: 'get_weather', content: 'sunny' },
        ],
      }),
    );
    expect(out.messages).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello' },
      { role: 'tool', tool_call_id: 'Ab3dE6gH9', name: 'get_weather', content: 'sunny' },
    ]);
  });

  it('drops Anthropic cache_control markers from content parts and tools, which Mistral does not define', () => {
    const marker = { type: 'ephemeral' };
    const out = bodyOf(
      translate({
        model: 'm',
        messages: [
          { role: 'system', content: [{ type: 'text', text: 'You review code.', cache_control: marker }] },
          { role: 'user', content: [{ type: 'text', text: 'Review this.', cache_control: marker }] },
        ],
        tools: [
          {
            type: 'function',
            function: { name: 'grep', parameters: { type: 'object' } },
            cache_control: marker,
          },
          { type: 'function', function: { name: 'read', cache_control: marker } },
        ],
      }),
    );
    expect(out.messages).toEqual([
      { role: 'system', content: [{ type: 'text', text: 'You review code.' }] },
      { role: 'user', content: [{ type: 'text', text: 'Review this.' }] },
    ]);
    expect(out.tools).toEqual([
      { type: 'function', function: { name: 'grep', parameters: { type: 'object' } } },
      { type: 'function', function: { name: 'read' } },
    ]);
    expect(JSON.stringify(out)).not.toContain('cache_control');
  });

  it('replaces tool call ids Mistral rejects with stable 9-character ids, the same for a call and its result', () => {
    const out = bodyOf(
      translate({
        model: 'm',
        messages: [
          { role: 'user', content: 'weather?' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_Qx81nAbZ', type: 'function', function: { name: 'w', arguments: '{}' } },
              { id: 'D681PevKs', type: 'function', function: { name: 'w', arguments: '{}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_Qx81nAbZ', content: 'sunny' },
          { role: 'tool', tool_call_id: 'D681PevKs', content: 'rainy' },
        ],
      }),
    );
    const messages = out.messages as { tool_calls?: { id: string }[]; tool_call_id?: string }[];
    const [first, second] = messages[1]!.tool_calls!;
    expect(first!.id).toMatch(/^[A-Za-z0-9]{9}$/);
    expect(first!.id).toBe(mistralToolCallId('call_Qx81nAbZ'));
    expect(messages[2]!.tool_call_id).toBe(first!.id);
    expect(second!.id).toBe('D681PevKs');
    expect(messages[3]!.tool_call_id).toBe('D681PevKs');
  });
});

describe('Mistral translator, keys and values spelled with escapes', () => {
  const long = JSON.stringify('x'.repeat(300 * 1024));

  it('refuses a body naming a top-level key twice after decoding, small or large, on the splice and the rewrite path', () => {
    const cases = [
      ['"model":"chat-model","mod\\u0065l":"chat-model"', 'model'],
      ['"model":"chat-model","model":"chat-model"', 'model'],
      ['"model":"m","temperature":0.1,"t\\u0065mperature":2', 'temperature'],
      ['"model":"m","user":"a","\\u0075ser":"b"', 'user'],
    ] as const;
    for (const [members, key] of cases) {
      for (const content of ['"hi"', long]) {
        const raw = Buffer.from(`{${members},"messages":[{"role":"user","content":${content}}]}`);
        expect(() => translate(raw), members).toThrow(
          expect.objectContaining({ status: 400, code: 'duplicate_key', param: key }),
        );
      }
    }
  });

  it('rewrites escaped spellings of what it rewrites: tool_choice "required", developer roles, OpenAI-only message fields', () => {
    for (const content of ['"hi"', long]) {
      const raw = Buffer.from(
        '{"model":"chat-model","tool_choice":"requ\\u0069red","tools":[],"messages":[' +
          '{"role":"dev\\u0065loper","content":"be brief"},' +
          `{"role":"user","n\\u0061me":"alice","content":${content}}]}`,
      );
      const out = bodyOf(translate(raw));
      expect(out.model).toBe('mistral-small-latest');
      expect(out.tool_choice).toBe('any');
      expect(out.messages).toEqual([
        { role: 'system', content: 'be brief' },
        { role: 'user', content: JSON.parse(content) },
      ]);
    }
  });
});

describe('Mistral translator, embeddings', () => {
  it('posts to {base}/embeddings, renaming dimensions and dropping user', () => {
    const out = translate(
      { model: 'embed', input: ['a', 'b'], dimensions: 256, encoding_format: 'base64', user: 'alice' },
      { operation: 'embeddings' },
    );
    expect(out.path).toBe('/v1/embeddings');
    expect(bodyOf(out)).toEqual({
      model: 'mistral-small-latest',
      input: ['a', 'b'],
      output_dimension: 256,
      encoding_format: 'base64',
    });
  });

  it('splices only the model when the embeddings request is already Mistral-valid', () => {
    const raw = Buffer.from('{"input": "hello", "model": "embed", "encoding_format": "float"}');
    expect(translate(raw, { operation: 'embeddings' }).body.toString()).toBe(
      '{"input": "hello", "model": "mistral-small-latest", "encoding_format": "float"}',
    );
  });
});

describe('Mistral translator, errors', () => {
  it('turns a 422 validation detail into one readable OpenAI error message', () => {
    expect(translator.error(422, mistralValidationError)).toEqual({
      error: {
        message: 'Mistral rejected the request: messages.0.user.name: Extra inputs are not permitted',
        type: 'invalid_request_error',
        param: 'messages.0.user.name',
        code: 'upstream_422',
      },
    });
  });

  it('keeps the message of Mistral’s flat error objects', () => {
    expect(translator.error(400, mistralToolCallIdError).error).toMatchObject({
      message: expect.stringContaining('must be a-z, A-Z, 0-9, with a length of 9'),
      type: 'invalid_request_error',
    });
    expect(translator.error(401, mistralUnauthorized).error).toMatchObject({
      message: 'Unauthorized',
      type: 'authentication_error',
    });
  });

  it('keeps OpenAI-shaped error bodies and wraps text ones', () => {
    const shaped = Buffer.from('{"error":{"message":"slow down","type":"rate_limit_error","code":"rate"}}');
    expect(translator.error(429, shaped).error).toMatchObject({ message: 'slow down', code: 'rate' });
    expect(translator.error(503, Buffer.from('upstream connect error')).error).toMatchObject({
      type: 'api_error',
      message: expect.stringContaining('Mistral returned HTTP 503'),
    });
  });
});

describe('Mistral translator, any OpenAI chat request', () => {
  it('yields a request Mistral’s schema accepts, keeping what Mistral understands', () => {
    fc.assert(
      fc.property(chatRequest, (request) => {
        const out = translate(request);
        const body = bodyOf(out);
        expect(body.model).toBe('mistral-small-latest');
        expect(Array.isArray(body.messages)).toBe(true);
        for (const k of Object.keys(body)) expect(MISTRAL_CHAT_FIELDS).toContain(k);
        expect(body.tool_choice).not.toBe('required');
        for (const field of ['temperature', 'top_p', 'max_tokens', 'stop', 'stream', 'tools'] as const) {
          expect(body[field]).toEqual(request[field]);
        }
        const callIds = new Set<string>();
        const messages = body.messages as Record<string, unknown>[];
        expect(messages).toHaveLength((request.messages as unknown[]).length);
        for (const message of messages) {
          const allowed = MESSAGE_FIELDS[message.role as string];
          expect(allowed, `role ${String(message.role)}`).toBeDefined();
          for (const k of Object.keys(message)) expect(allowed).toContain(k);
          for (const call of (message.tool_calls as { id: string }[] | undefined) ?? []) {
            expect(call.id).toMatch(/^[A-Za-z0-9]{9}$/);
            callIds.add(call.id);
          }
          if (message.role === 'tool') expect(callIds).toContain(message.tool_call_id);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('sends no cache_control of any request marked for prompt caching', () => {
    fc.assert(
      fc.property(cachedChatRequest, ({ body }) => {
        expect(translate(body).body.toString()).not.toContain('cache_control');
      }),
      { numRuns: 200 },
    );
  });
});
