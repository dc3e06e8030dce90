import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SecretValue } from '../../../config/secret-value.ts';
import type { CompiledBackend } from '../../../config/snapshot.ts';
import { AgentRouterError } from '../../../ext-proc/errors.ts';
import { HttpHead } from '../../../ext-proc/phases.ts';
import {
  AnthropicStreamTranslator,
  anthropicError,
  anthropicTranslator,
  claudeVersion,
  finishReasonOf,
  fromAnthropicResponse,
  toAnthropicRequest,
} from '../../../ext-proc/translate/anthropic.ts';
import type { ResponseContext, UpstreamRequest } from '../../../ext-proc/translate/translator.ts';
import { bodyInput } from '../../../ext-proc/translate/translator.ts';
import { messagesRequestProblems } from '../../fixtures/anthropic/messages-request.check.ts';
import {
  cachedChatRequest,
  chatRequest,
  cuts,
  splitAt,
} from '../../fixtures/openai/chat-request.arbitrary.ts';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/anthropic');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name));
const json = (name: string) => JSON.parse(fixture(name).toString()) as Record<string, unknown>;

const MODEL = 'claude-sonnet-4-5';
const CREATED = 1_700_000_000;

const backend: CompiledBackend = {
  id: 'default/claude',
  provider: 'Anthropic',
  origin: 'https://api.anthropic.com',
  basePath: '',
  defaults: {},
};

function translate(
  body: object,
  options: {
    apiKey?: string;
    backend?: Partial<CompiledBackend>;
    operation?: 'chat.completions' | 'embeddings';
  } = {},
) {
  const raw = Buffer.from(JSON.stringify(body));
  return anthropicTranslator.request({
    operation: options.operation ?? 'chat.completions',
    ...bodyInput(raw),
    backend: { ...backend, ...options.backend },
    model: MODEL,
    credential:
      options.apiKey === undefined ? undefined : { type: 'APIKey', apiKey: new SecretValue(options.apiKey) },
  }) as UpstreamRequest;
}

function context(overrides: Partial<ResponseContext> = {}): ResponseContext {
  return { operation: 'chat.completions', model: MODEL, stream: true, includeUsage: false, ...overrides };
}

/** Runs SSE bytes through a stream translator in the given parts, the end of stream sent on its own. */
function convertStream(parts: Buffer[], includeUsage: boolean, endWithLastPart = false): string {
  const translator = new AnthropicStreamTranslator(context({ includeUsage }), { created: CREATED });
  const out: Buffer[] = [];
  parts.forEach((part, i) => {
    out.push(translator.chunk(part, endWithLastPart && i === parts.length - 1));
  });
  if (!endWithLastPart) out.push(translator.chunk(Buffer.alloc(0), true));
  return Buffer.concat(out).toString();
}

const requestFixtures = readdirSync(FIXTURES).filter((f) => f.startsWith('request.'));

describe('Anthropic request translation', () => {
  it.each(requestFixtures)('%s: the OpenAI body becomes exactly the documented Messages body', (file) => {
    const { openai, anthropic, options } = json(file) as {
      openai: Record<string, unknown>;
      anthropic: Record<string, unknown>;
      options?: { maxTokens?: number; model?: string };
    };
    const out = toAnthropicRequest(openai, { model: options?.model ?? MODEL, maxTokens: options?.maxTokens });
    expect(out).toEqual(anthropic);
    expect(messagesRequestProblems(out as unknown as Record<string, unknown>)).toEqual([]);
  });

  it('posts to <basePath>/v1/messages with x-api-key and the default anthropic-version', () => {
    const out = translate(
      { model: 'chat-model', messages: [{ role: 'user', content: 'hi' }] },
      { apiKey: 'sk-ant' },
    );
    expect(out.path).toBe('/v1/messages');
    expect(Object.fromEntries(out.headers)).toEqual({
      'content-type': 'application/json',
      'anthropic-version': '2023-06-01',
      'x-api-key': 'sk-ant',
    });
    // The gateway key (Authorization: Bearer) and other providers' auth headers never reach Anthropic.
    expect(out.removeHeaders).toEqual(expect.arrayContaining(['authorization', 'api-key', 'x-goog-api-key']));
    expect(out.removeHeaders).not.toContain('x-api-key');
    expect(JSON.parse(out.body.toString())).toEqual({
      model: MODEL,
      max_tokens: 4096,
      messages: [{ role: 'user', content: 'hi' }],
    });
  });

  it('uses the backend’s base path, API version and default max tokens', () => {
    const out = translate(
      { model: 'chat-model', messages: [{ role: 'user', content: 'hi' }] },
      {
        apiKey: 'sk-ant',
        backend: { basePath: '/anthropic', apiVersion: '2024-01-01', defaults: { maxTokens: 512 } },
      },
    );
    expect(out.path).toBe('/anthropic/v1/messages');
    expect(Object.fromEntries(out.headers)['anthropic-version']).toBe('2024-01-01');
    expect(JSON.parse(out.body.toString()).max_tokens).toBe(512);
  });

  it('strips a caller’s x-api-key when the backend has no credential', () => {
    const out = translate({ model: 'chat-model', messages: [{ role: 'user', content: 'hi' }] });
    expect(out.removeHeaders).toContain('x-api-key');
    expect(out.headers.map(([name]) => name)).not.toContain('x-api-key');
  });

  it('refuses operations other than chat completions with a 400', () => {
    expect(() => translate({ model: 'm', input: 'x' }, { operation: 'embeddings' })).toThrow(
      AgentRouterError,
    );
  });

  it.each([
    [
      'an audio content part',
      [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AA==', format: 'wav' } }] }],
      'messages[0].content[0]',
    ],
    [
      'a non-base64 data URL',
      [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png,rawbytes' } }] }],
      'messages[0].content[0]',
    ],
    [
      'tool arguments that are not a JSON object',
      [
        { role: 'user', content: 'hi' },
        {
          role: 'assistant',
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '[1,' } }],
        },
      ],
      'messages[1].tool_calls[0].function.arguments',
    ],
    ['a function-role message', [{ role: 'function', name: 'f', content: 'x' }], 'messages[0].role'],
  ])('answers 400 naming the field for %s', (_name, messages, param) => {
    let thrown: unknown;
    try {
      toAnthropicRequest({ model: 'chat-model', messages }, { model: MODEL });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AgentRouterError);
    expect((thrown as AgentRouterError).status).toBe(400);
    expect((thrown as AgentRouterError).param).toBe(param);
  });

  it('drops a json_object response format and refuses one of an unknown type or without a schema', () => {
    const base = { model: 'chat-model', messages: [{ role: 'user', content: 'JSON please' }] };
    for (const format of [{ type: 'json_object' }, { type: 'text' }, null]) {
      expect(toAnthropicRequest({ ...base, response_format: format }, { model: MODEL })).not.toHaveProperty(
        'output_config',
      );
    }
    for (const format of [{ type: 'xml' }, { type: 'json_schema', json_schema: { name: 'x' } }]) {
      expect(() => toAnthropicRequest({ ...base, response_format: format }, { model: MODEL })).toThrow(
        expect.objectContaining({ status: 400, param: expect.stringMatching(/^response_format/) }),
      );
    }
  });

  it('names a response format or content part that is no object, or has no type, as such, never as "undefined" (found by fuzzing)', () => {
    const base = { model: 'chat-model', messages: [{ role: 'user', content: 'JSON please' }] };
    const refusal = (body: Record<string, unknown>) => {
      try {
        toAnthropicRequest({ ...base, ...body }, { model: MODEL });
      } catch (error) {
        return error as AgentRouterError;
      }
      throw new Error('not refused');
    };
    const messages = (part: unknown) => ({ messages: [{ role: 'user', content: [part] }] });
    const cases: [Record<string, unknown>, string, string][] = [
      [{ response_format: 'json' }, 'response_format must be an object', 'response_format'],
      [{ response_format: [] }, 'response_format must be an object', 'response_format'],
      [{ response_format: {} }, 'response_format has no type', 'response_format'],
      [
        messages([['deep']]),
        'messages[0].content[0] must be a content part object',
        'messages[0].content[0]',
      ],
      [messages(null), 'messages[0].content[0] must be a content part object', 'messages[0].content[0]'],
      [messages({ text: 'x' }), 'messages[0].content[0] has no type', 'messages[0].content[0]'],
    ];
    for (const [body, message, param] of cases) {
      const error = refusal(body);
      expect(error, JSON.stringify(body)).toMatchObject({ status: 400, code: 'invalid_request', param });
      expect(error.message).toContain(message);
      expect(error.message).not.toContain('undefined');
    }
  });

  it('leaves thinking off where the Messages API would refuse it or the budget is below 1,024', () => {
    const user = { role: 'user', content: 'Think.' };
    const weather = {
      type: 'function',
      function: { name: 'get_weather', parameters: { type: 'object', properties: {} } },
    };
    const cases: Record<string, unknown>[] = [
      { messages: [user], reasoning_effort: 'minimal' },
      { messages: [user], reasoning_effort: 'none' },
      { messages: [user], reasoning_effort: 'high', max_tokens: 1024 },
      { messages: [user], reasoning_effort: 'low', tools: [weather], tool_choice: 'required' },
      {
        messages: [
          user,
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: 'Sunny' },
        ],
        tools: [weather],
        reasoning_effort: 'medium',
        temperature: 0.2,
      },
    ];
    for (const body of cases) {
      const out = toAnthropicRequest({ model: 'chat-model', ...body }, { model: MODEL });
      expect(out.thinking, JSON.stringify(body)).toBeUndefined();
      expect(messagesRequestProblems(out as unknown as Record<string, unknown>)).toEqual([]);
    }
    // The last case keeps its temperature: without thinking nothing forbids it.
    expect(toAnthropicRequest({ model: 'chat-model', ...cases[4] }, { model: MODEL }).temperature).toBe(0.2);
  });

  it('translates every valid OpenAI chat request into a structurally valid Messages request', () => {
    fc.assert(
      fc.property(chatRequest, (body) => {
        const out = translate(body, { apiKey: 'sk-ant' });
        const sent = JSON.parse(out.body.toString()) as Record<string, unknown>;
        expect(messagesRequestProblems(sent)).toEqual([]);
        expect(sent.model).toBe(MODEL);
        expect(sent.stream === true).toBe(body.stream === true);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps every cache breakpoint of any request, in a structurally valid Messages request', () => {
    fc.assert(
      fc.property(cachedChatRequest, ({ body, marked }) => {
        const sent = JSON.parse(translate(body, { apiKey: 'sk-ant' }).body.toString()) as Record<
          string,
          unknown
        >;
        expect(messagesRequestProblems(sent)).toEqual([]);
        expect(JSON.stringify(sent).split('"cache_control"').length - 1).toBe(marked);
      }),
      { numRuns: 300 },
    );
  });

  it('does so for a model with adaptive thinking too', () => {
    fc.assert(
      fc.property(chatRequest, (body) => {
        const sent = toAnthropicRequest(body, { model: 'claude-opus-4-7' });
        expect(messagesRequestProblems(sent as unknown as Record<string, unknown>)).toEqual([]);
        expect(sent.thinking?.type).not.toBe('enabled');
      }),
      { numRuns: 200 },
    );
  });

  it('reads the Claude version from every platform’s model ids', () => {
    expect(claudeVersion('claude-opus-4-7')).toEqual([4, 7]);
    expect(claudeVersion('claude-sonnet-4-5@20250929')).toEqual([4, 5]);
    expect(claudeVersion('claude-sonnet-4-5-20250929')).toEqual([4, 5]);
    expect(claudeVersion('us.anthropic.claude-sonnet-4-6-v1:0')).toEqual([4, 6]);
    expect(claudeVersion('anthropic.claude-3-7-sonnet-20250219-v1:0')).toEqual([3, 7]);
    expect(claudeVersion('claude-sonnet-4-20250514')).toEqual([4, 0]);
    expect(claudeVersion('claude-opus-5')).toEqual([5, 0]);
    expect(claudeVersion('my-finetune')).toBeUndefined();
    // Claude 3.5 predates extended thinking: reasoning_effort adds nothing.
    const old = toAnthropicRequest(
      { model: 'x', reasoning_effort: 'high', messages: [{ role: 'user', content: 'hi' }] },
      { model: 'claude-3-5-sonnet-20241022' },
    );
    expect(old.thinking).toBeUndefined();
  });

  it('marks image and assistant text blocks, and sends a lone marked text part as a block, not the string shorthand', () => {
    const ephemeral = { type: 'ephemeral' };
    const out = toAnthropicRequest(
      {
        model: 'chat-model',
        messages: [
          {
            role: 'user',
            content: [
              {
                type: 'image_url',
                image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' },
                cache_control: ephemeral,
              },
              { type: 'text', text: 'What does the chart show?' },
            ],
          },
          {
            role: 'assistant',
            content: [{ type: 'text', text: 'Revenue by month.', cache_control: ephemeral }],
          },
          { role: 'user', content: [{ type: 'text', text: 'And the trend?', cache_control: ephemeral }] },
        ],
      },
      { model: MODEL },
    );
    expect(out.messages).toEqual([
      {
        role: 'user',
        content: [
          {
            type: 'image',
            source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' },
            cache_control: ephemeral,
          },
          { type: 'text', text: 'What does the chart show?' },
        ],
      },
      { role: 'assistant', content: [{ type: 'text', text: 'Revenue by month.', cache_control: ephemeral }] },
      { role: 'user', content: [{ type: 'text', text: 'And the trend?', cache_control: ephemeral }] },
    ]);
    expect(messagesRequestProblems(out as unknown as Record<string, unknown>)).toEqual([]);
  });

  it('reads a tool’s marker inside `function` too, and keeps system a string when no system part is marked', () => {
    const out = toAnthropicRequest(
      {
        model: 'chat-model',
        messages: [
          { role: 'system', content: [{ type: 'text', text: 'Be brief.' }] },
          { role: 'user', content: 'hi' },
        ],
        tools: [
          {
            type: 'function',
            function: {
              name: 'search',
              parameters: { type: 'object' },
              cache_control: { type: 'ephemeral' },
            },
          },
        ],
      },
      { model: MODEL },
    );
    expect(out.system).toBe('Be brief.');
    // A marked system part without text leaves no system at all (an empty list would be refused).
    const empty = toAnthropicRequest(
      {
        model: 'chat-model',
        messages: [
          { role: 'system', content: [{ type: 'text', text: '', cache_control: { type: 'ephemeral' } }] },
          { role: 'user', content: 'hi' },
        ],
      },
      { model: MODEL },
    );
    expect(empty.system).toBeUndefined();
    expect(out.tools).toEqual([
      { name: 'search', input_schema: { type: 'object' }, cache_control: { type: 'ephemeral' } },
    ]);
  });

  it('refuses a cache_control that is not an object with a type, naming the part', () => {
    const refused = (body: Record<string, unknown>) => {
      try {
        toAnthropicRequest({ model: 'chat-model', ...body }, { model: MODEL });
      } catch (error) {
        return [(error as AgentRouterError).status, (error as AgentRouterError).param];
      }
      return undefined;
    };
    expect(
      refused({
        messages: [{ role: 'user', content: [{ type: 'text', text: 'x', cache_control: 'ephemeral' }] }],
      }),
    ).toEqual([400, 'messages[0].content[0].cache_control']);
    expect(
      refused({
        messages: [{ role: 'user', content: 'x' }],
        tools: [{ type: 'function', function: { name: 'f' }, cache_control: { ttl: '1h' } }],
      }),
    ).toEqual([400, 'tools[0].cache_control']);
  });

  it('the structural check rejects more than 4 breakpoints and a marker Anthropic does not define', () => {
    const marked = (text: string, cache_control: unknown) => ({ type: 'text', text, cache_control });
    expect(
      messagesRequestProblems({
        model: MODEL,
        max_tokens: 16,
        system: [marked('a', { type: 'ephemeral' }), marked('b', { type: 'ephemeral' })],
        messages: [
          {
            role: 'user',
            content: [
              marked('c', { type: 'ephemeral' }),
              marked('d', { type: 'ephemeral' }),
              marked('e', { type: 'persistent', ttl: '1d' }),
            ],
          },
        ],
      }),
    ).toEqual([
      'messages[0].content[2].cache_control must be {type: "ephemeral", ttl?: "5m" | "1h"}',
      '5 cache_control breakpoints; a request may have 4',
    ]);
  });

  it('the structural check is not vacuous: it rejects bodies that break the documented rules', () => {
    const problems = messagesRequestProblems({
      model: MODEL,
      messages: [
        { role: 'assistant', content: 'hi' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: {} }] },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'x' },
            { type: 'tool_result', tool_use_id: 't2' },
          ],
        },
      ],
      temperature: 1.5,
      n: 2,
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'unknown top-level field n',
        'max_tokens must be an integer ≥ 1',
        'temperature must be within 0.0–1.0',
        'the first message must use the user role',
        'messages[1] does not alternate roles',
        'messages[2].content[1]: tool_result blocks must come first in their message',
        'messages[2].content[1].tool_use_id t2 references no earlier tool_use',
        'messages[2] does not answer tool_use t1 of the previous message',
        'tool_use/tool_result blocks without tools',
      ]),
    );
  });
});

describe('Anthropic buffered responses', () => {
  it.each([
    ['response.text.json', 'response.text.openai.json'],
    ['response.tool-use.json', 'response.tool-use.openai.json'],
    ['response.thinking.json', 'response.thinking.openai.json'],
  ])('%s becomes the chat.completion in %s', (input, expected) => {
    expect(fromAnthropicResponse(json(input), { model: MODEL }, CREATED)).toEqual(json(expected));
  });

  it('converts a whole body through the translator, reporting the provider model id', () => {
    const out = JSON.parse(
      anthropicTranslator.responseBody(fixture('response.text.json'), context({ stream: false })).toString(),
    );
    expect(out).toMatchObject({
      object: 'chat.completion',
      model: MODEL,
      id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
    });
    expect(out.created).toEqual(expect.any(Number));
  });

  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['pause_turn', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
  ])('maps stop_reason %s to finish_reason %s', (stopReason, finishReason) => {
    expect(finishReasonOf(stopReason)).toBe(finishReason);
  });

  it('answers 502 when a successful response is not a Messages API message', () => {
    const bad = [Buffer.from('<html>gateway</html>'), Buffer.from('{"type":"completion"}')];
    for (const body of bad)
      expect(() => anthropicTranslator.responseBody(body, context({ stream: false }))).toThrow(
        expect.objectContaining({ status: 502 }),
      );
  });

  it('declares request-id as the provider request id and text/event-stream for streams', () => {
    expect(anthropicTranslator.requestIdHeader).toBe('request-id');
    const head = new HttpHead(new Map());
    expect(anthropicTranslator.responseHeaders?.(head, context())).toEqual({
      setHeaders: [['content-type', 'text/event-stream']],
    });
    expect(anthropicTranslator.responseHeaders?.(head, context({ stream: false }))).toEqual({});
  });
});

describe('Anthropic errors', () => {
  it.each([
    [429, 'response.error.rate-limit.json', 'rate_limit_error', 'rate_limit_error'],
    [529, 'response.error.overloaded.json', 'api_error', 'overloaded_error'],
    [400, 'response.error.invalid-request.json', 'invalid_request_error', 'invalid_request_error'],
  ])(
    'HTTP %i with %s becomes an OpenAI %s error keeping Anthropic’s type as code',
    (status, file, type, code) => {
      const body = fixture(file);
      const message = (json(file).error as { message: string }).message;
      expect(anthropicError(status, body)).toEqual({ error: { message, type, param: null, code } });
    },
  );

  it.each([
    [401, 'authentication_error'],
    [403, 'permission_error'],
    [404, 'not_found_error'],
    [413, 'invalid_request_error'],
    [500, 'api_error'],
  ])('types HTTP %i as %s', (status, type) => {
    const body = Buffer.from(
      JSON.stringify({ type: 'error', error: { type: 'whatever_error', message: 'm' } }),
    );
    expect(anthropicError(status, body).error.type).toBe(type);
  });

  it('wraps a body that is not JSON, keeping its text', () => {
    expect(anthropicError(502, Buffer.from('<html>Bad Gateway</html>')).error).toMatchObject({
      type: 'api_error',
      code: 'upstream_502',
      message: expect.stringContaining('Bad Gateway'),
    });
  });
});

const STREAMS: [string, boolean, string][] = [
  ['stream.text.sse', false, 'stream.text.openai.sse'],
  ['stream.text.sse', true, 'stream.text.include-usage.openai.sse'],
  ['stream.tool-use.sse', true, 'stream.tool-use.include-usage.openai.sse'],
  ['stream.thinking.sse', true, 'stream.thinking.include-usage.openai.sse'],
  ['stream.error.sse', false, 'stream.error.openai.sse'],
];

describe('Anthropic streams', () => {
  it.each(STREAMS)(
    '%s (include_usage %s) becomes the OpenAI chunk stream in %s',
    (input, includeUsage, expected) => {
      expect(convertStream([fixture(input)], includeUsage)).toBe(fixture(expected).toString());
    },
  );

  it.each(STREAMS)('%s (include_usage %s) gives the same bytes under any chunking', (input, includeUsage) => {
    const raw = fixture(input);
    const whole = convertStream([raw], includeUsage);
    fc.assert(
      fc.property(cuts, fc.boolean(), (points, endWithLastPart) => {
        expect(convertStream(splitAt(raw, points), includeUsage, endWithLastPart)).toBe(whole);
      }),
      { numRuns: 200 },
    );
  });

  it('converts event by event: a complete event is answered before the stream ends', () => {
    const translator = new AnthropicStreamTranslator(context(), { created: CREATED });
    const raw = fixture('stream.text.sse').toString();
    const firstEvent = raw.slice(0, raw.indexOf('\n\n') + 2);
    expect(translator.chunk(Buffer.from(firstEvent.slice(0, 40)), false).toString()).toBe('');
    const out = translator.chunk(Buffer.from(firstEvent.slice(40)), false).toString();
    expect(JSON.parse(out.slice('data: '.length))).toMatchObject({
      id: 'msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY',
      choices: [{ delta: { role: 'assistant', content: '' } }],
    });
  });

  it('reports a stream that ends before message_stop as an error, then [DONE]', () => {
    const raw = fixture('stream.text.sse').toString();
    const cut = Buffer.from(raw.slice(0, raw.indexOf('event: message_delta')));
    const out = convertStream([cut], false);
    expect(out.endsWith('data: [DONE]\n\n')).toBe(true);
    const events = out.split('\n\n').filter(Boolean);
    expect(JSON.parse(events[events.length - 2]!.slice('data: '.length))).toEqual({
      error: {
        message: 'The Anthropic stream ended before message_stop.',
        type: 'api_error',
        param: null,
        code: 'upstream_stream_error',
      },
    });
  });

  it('ignores everything after an error event', () => {
    const raw = Buffer.concat([fixture('stream.error.sse'), fixture('stream.text.sse')]);
    expect(convertStream([raw], false)).toBe(fixture('stream.error.openai.sse').toString());
  });
});
