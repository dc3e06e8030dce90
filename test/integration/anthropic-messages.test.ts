/**
 * The Anthropic Messages API as a client API, through the real stack (dev gateway + ext_proc over
 * loopback) with the official @anthropic-ai/sdk client: on an Anthropic stand-in (the body passes with
 * only model, path and credentials rewritten; beta headers and cache_control kept), and translated to
 * Chat Completions on an OpenAI-compatible simulator and an OpenAI-compatible stand-in.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GATEWAY_THINKING_SIGNATURE } from '../../ext-proc/translate/thinking-signature.ts';
import { splitAt } from '../fixtures/openai/chat-request.arbitrary.ts';
import { type FakeProvider, startFakeProvider } from '../helpers/fake-provider.ts';
import { backendYaml, COMMON_YAML, startTestStack, type TestStack } from '../helpers/stack.ts';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/anthropic');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name));

const GATEWAY_KEY = 'sk-test-team-a';
const PROVIDER_KEY = 'provider-secret';

let t: TestStack;
let claude: FakeProvider;
let chat: FakeProvider;

beforeAll(async () => {
  claude = await startFakeProvider();
  chat = await startFakeProvider();
  t = await startTestStack({ sim: {} }, (urls) =>
    [
      COMMON_YAML,
      backendYaml('sim', urls.sim!, false),
      backendYaml('chat', chat.url),
      `
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
  fallback: { attempts: 2, perAttemptTimeout: 10s }
  routes:
    - { name: fallback-claude, model: fallback-model, backendRef: { name: claude }, modelNameOverride: claude-opus-4-1 }
    - { name: fallback-chat, model: fallback-model, backendRef: { name: chat }, modelNameOverride: gpt-4o, priority: 1 }
    - { name: claude, model: claude-model, backendRef: { name: claude }, modelNameOverride: claude-sonnet-4-5 }
    - { name: sim, model: sim-model, backendRef: { name: sim }, modelNameOverride: sim-llama }
    - { name: chat, model: chat-model, backendRef: { name: chat }, modelNameOverride: gpt-4o-mini }
`,
    ].join(''),
  );
});

afterAll(async () => {
  await t?.close();
  await claude?.close();
  await chat?.close();
});

beforeEach(() => {
  claude.requests.length = 0;
  chat.requests.length = 0;
});

const client = (apiKey = GATEWAY_KEY) =>
  new Anthropic({ baseURL: t.stack.gatewayUrl, apiKey, maxRetries: 0 });

const lastJson = (provider: FakeProvider) =>
  JSON.parse(provider.requests.at(-1)!.body.toString()) as Record<string, unknown>;

const chunk = (delta: object, extra: object = {}) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-9', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini-2024-07-18', choices: [{ index: 0, delta, finish_reason: null }], ...extra })}\n\n`;
const finish = (reason: string) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-9', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini-2024-07-18', choices: [{ index: 0, delta: {}, finish_reason: reason }] })}\n\n`;
const usageChunk = `data: ${JSON.stringify({ id: 'chatcmpl-9', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini-2024-07-18', choices: [], usage: { prompt_tokens: 30, completion_tokens: 9, total_tokens: 39, prompt_tokens_details: { cached_tokens: 10 } } })}\n\n`;

describe('Anthropic Messages clients on an Anthropic backend', () => {
  it('passes the body with only model, path and credentials rewritten, keeping beta headers and cache_control', async () => {
    claude.answer({
      headers: { 'content-type': 'application/json', 'request-id': 'req_1' },
      body: fixture('response.prompt-caching.read.json'),
    });
    const anthropic = client();
    const { data, response } = await anthropic.messages
      .create(
        {
          model: 'claude-model',
          max_tokens: 100,
          system: [{ type: 'text', text: 'Long instructions', cache_control: { type: 'ephemeral' } }],
          messages: [{ role: 'user', content: 'Hello' }],
        },
        { headers: { 'anthropic-beta': 'prompt-caching-2024-07-31' } },
      )
      .withResponse();
    expect(data.type).toBe('message');
    expect(data.usage.cache_read_input_tokens).toBeGreaterThan(0);
    const sent = claude.requests.at(-1)!;
    expect(sent.path).toBe('/v1/messages');
    expect(sent.headers['x-api-key']).toBe(PROVIDER_KEY);
    expect(sent.headers['anthropic-beta']).toBe('prompt-caching-2024-07-31');
    expect(sent.headers.authorization).toBeUndefined();
    expect(JSON.stringify(sent.headers)).not.toContain(GATEWAY_KEY);
    const body = lastJson(claude);
    expect(body.model).toBe('claude-sonnet-4-5');
    expect(body.system).toEqual([
      { type: 'text', text: 'Long instructions', cache_control: { type: 'ephemeral' } },
    ]);
    const log = await t.logFor(response);
    expect(log).toMatchObject({
      logicalModel: 'claude-model',
      backend: 'default/claude',
      path: '/v1/messages',
    });
    expect((log.tokens as { cached?: number }).cached).toBe(data.usage.cache_read_input_tokens);
  });

  it('streams Anthropic events as they came and records their usage', async () => {
    claude.answer({
      headers: { 'content-type': 'text/event-stream', 'request-id': 'req_2' },
      body: splitAt(fixture('stream.tool-use.sse'), [0.1, 0.37, 0.5, 0.9]),
    });
    const stream = client().messages.stream({
      model: 'claude-model',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'Weather in SF?' }],
      tools: [{ name: 'get_weather', input_schema: { type: 'object' } }],
    });
    const message = await stream.finalMessage();
    expect(message.stop_reason).toBe('tool_use');
    const tool = message.content.find((b) => b.type === 'tool_use');
    expect(tool).toMatchObject({ name: 'get_weather', input: { location: expect.stringContaining('San') } });
  });

  it('accepts the gateway key in x-api-key and refuses a wrong one in Anthropic’s error shape', async () => {
    const error = await client('sk-wrong')
      .messages.create({ model: 'claude-model', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toEqual({
      type: 'error',
      error: { type: 'authentication_error', message: expect.any(String) },
    });
  });

  it('answers an unknown model with not_found_error', async () => {
    const error = await client()
      .messages.create({ model: 'nope', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.NotFoundError);
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: 'error',
      error: { type: 'not_found_error' },
    });
  });

  it('turns a provider 529 into overloaded_error', async () => {
    claude.answer({
      status: 529,
      headers: { 'content-type': 'application/json' },
      body: fixture('response.error.overloaded.json'),
    });
    const error = await client()
      .messages.create({ model: 'claude-model', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect((error as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: 'error',
      error: { type: 'overloaded_error' },
    });
  });

  it('counts tokens on Anthropic', async () => {
    claude.answer({ headers: { 'content-type': 'application/json' }, body: '{"input_tokens":14}' });
    const count = await client().messages.countTokens({
      model: 'claude-model',
      messages: [{ role: 'user', content: 'Hello, how are you?' }],
    });
    expect(count.input_tokens).toBe(14);
    expect(claude.requests.at(-1)!.path).toBe('/v1/messages/count_tokens');
    expect(lastJson(claude).model).toBe('claude-sonnet-4-5');
  });
});

describe('Anthropic Messages clients on OpenAI-compatible backends', () => {
  it('gets a Messages answer from the simulator, buffered and streamed', async () => {
    const anthropic = client();
    const { data, response } = await anthropic.messages
      .create({ model: 'sim-model', max_tokens: 32, messages: [{ role: 'user', content: 'Say hello' }] })
      .withResponse();
    expect(data).toMatchObject({ type: 'message', role: 'assistant', stop_reason: expect.any(String) });
    expect(data.content[0]).toMatchObject({ type: 'text', text: expect.any(String) });
    expect(data.usage.output_tokens).toBeGreaterThan(0);
    const log = await t.logFor(response);
    expect(log).toMatchObject({ backend: 'default/sim', resolvedModel: 'sim-llama' });
    expect((log.tokens as { completion: number }).completion).toBe(data.usage.output_tokens);

    const events: string[] = [];
    const stream = anthropic.messages.stream({
      model: 'sim-model',
      max_tokens: 32,
      messages: [{ role: 'user', content: 'Say hello' }],
    });
    stream.on('streamEvent', (event) => events.push(event.type));
    const message = await stream.finalMessage();
    expect(events[0]).toBe('message_start');
    expect(events.at(-1)).toBe('message_stop');
    expect(events).toContain('content_block_delta');
    expect(message.content[0]).toMatchObject({ type: 'text' });
    expect(message.usage.output_tokens).toBeGreaterThan(0);
  });

  it('translates tools both ways, with the tool call streamed as input_json_delta', async () => {
    chat.answer({
      headers: { 'content-type': 'text/event-stream' },
      body: [
        chunk({ role: 'assistant', content: '' }),
        chunk({
          tool_calls: [
            { index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } },
          ],
        }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"location":' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
        finish('tool_calls'),
        usageChunk,
        'data: [DONE]\n\n',
      ],
    });
    const events: string[] = [];
    const stream = client().messages.stream({
      model: 'chat-model',
      max_tokens: 50,
      tools: [
        {
          name: 'get_weather',
          description: 'Weather',
          input_schema: { type: 'object', properties: { location: { type: 'string' } } },
        },
      ],
      tool_choice: { type: 'any' },
      messages: [
        { role: 'user', content: 'Weather?' },
        {
          role: 'assistant',
          content: [{ type: 'tool_use', id: 'call_0', name: 'get_weather', input: { location: 'Rome' } }],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'call_0', content: '20C' },
            { type: 'text', text: 'And Paris?' },
          ],
        },
      ],
    });
    stream.on('streamEvent', (event) => {
      events.push(event.type === 'content_block_delta' ? event.delta.type : event.type);
    });
    const message = await stream.finalMessage();
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content).toEqual([
      { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { location: 'Paris' } },
    ]);
    expect(events).toContain('input_json_delta');
    expect(message.usage).toMatchObject({ input_tokens: 20, output_tokens: 9, cache_read_input_tokens: 10 });
    const sent = lastJson(chat);
    expect(sent).toMatchObject({
      model: 'gpt-4o-mini',
      max_completion_tokens: 50,
      tool_choice: 'required',
      stream: true,
      stream_options: { include_usage: true },
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather' } }],
      messages: [
        { role: 'user', content: 'Weather?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: 'call_0',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"location":"Rome"}' },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'call_0', content: '20C' },
        { role: 'user', content: 'And Paris?' },
      ],
    });
    expect(chat.requests.at(-1)!.path).toBe('/v1/chat/completions');
    expect(chat.requests.at(-1)!.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
  });

  it('turns reasoning into thinking blocks and a thinking budget into reasoning_effort', async () => {
    chat.answer({
      headers: { 'content-type': 'text/event-stream' },
      body: [
        chunk({ role: 'assistant', content: '' }),
        chunk({ reasoning_content: 'Let me think' }),
        chunk({ reasoning_content: ' hard.' }),
        chunk({ content: 'Forty-two.' }),
        finish('stop'),
        usageChunk,
        'data: [DONE]\n\n',
      ],
    });
    const message = await client()
      .messages.stream({
        model: 'chat-model',
        max_tokens: 20000,
        thinking: { type: 'enabled', budget_tokens: 10000 },
        messages: [{ role: 'user', content: 'Meaning of life?' }],
      })
      .finalMessage();
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'Let me think hard.', signature: GATEWAY_THINKING_SIGNATURE },
      { type: 'text', text: 'Forty-two.' },
    ]);
    expect(lastJson(chat).reasoning_effort).toBe('medium');

    // The next turn sends the answer back as it came, as Claude Code does: the chat backend gets the
    // thinking as the turn's reasoning_content, and Claude never sees a block it did not sign.
    const followUp = {
      max_tokens: 20000,
      messages: [
        { role: 'user' as const, content: 'Meaning of life?' },
        { role: 'assistant' as const, content: message.content },
        { role: 'user' as const, content: 'Why?' },
      ],
    };
    chat.answer({ body: fixture('response.text.openai.json') });
    await client().messages.create({ model: 'chat-model', ...followUp });
    expect((lastJson(chat).messages as unknown[])[1]).toEqual({
      role: 'assistant',
      content: 'Forty-two.',
      reasoning_content: 'Let me think hard.',
    });
    claude.answer({ headers: { 'content-type': 'application/json' }, body: fixture('response.text.json') });
    await client().messages.create({ model: 'claude-model', ...followUp });
    expect((lastJson(claude).messages as unknown[])[1]).toEqual({
      role: 'assistant',
      content: [{ type: 'text', text: 'Forty-two.' }],
    });
  });

  it('never completes a broken stream: an error event and no message_stop', async () => {
    chat.answer({
      headers: { 'content-type': 'text/event-stream' },
      body: [
        chunk({ role: 'assistant', content: '' }),
        chunk({ content: 'Half' }),
        chunk({ content: ' an answer' }),
      ],
      breakAfterChunks: 2,
    });
    const events: string[] = [];
    const stream = client().messages.stream({
      model: 'chat-model',
      max_tokens: 20,
      messages: [{ role: 'user', content: 'hi' }],
    });
    stream.on('streamEvent', (event) => events.push(event.type));
    await expect(stream.finalMessage()).rejects.toThrow();
    expect(events).not.toContain('message_stop');
  });

  it('drops cache_control for a chat backend, so a prompt marked for caching still succeeds', async () => {
    chat.answer({
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'chatcmpl-2',
        object: 'chat.completion',
        created: 1,
        model: 'gpt-4o-mini-2024-07-18',
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
        usage: {
          prompt_tokens: 1200,
          completion_tokens: 1,
          total_tokens: 1201,
          prompt_tokens_details: { cached_tokens: 1024 },
        },
      }),
    });
    const { data, response } = await client()
      .messages.create({
        model: 'chat-model',
        max_tokens: 10,
        system: [{ type: 'text', text: 'Long', cache_control: { type: 'ephemeral' } }],
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'hi', cache_control: { type: 'ephemeral' } }] },
        ],
      })
      .withResponse();
    expect(data.usage).toMatchObject({ input_tokens: 176, cache_read_input_tokens: 1024, output_tokens: 1 });
    expect(data.model).toBe('gpt-4o-mini-2024-07-18');
    expect(JSON.stringify(lastJson(chat))).not.toContain('cache_control');
    const log = await t.logFor(response);
    expect(log.tokens).toMatchObject({ prompt: 1200, cached: 1024, completion: 1 });
  });

  it('falls back from an overloaded Anthropic backend to a chat backend, translated for it', async () => {
    claude.answer({
      status: 529,
      headers: { 'content-type': 'application/json' },
      body: fixture('response.error.overloaded.json'),
    });
    chat.answer({
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'chatcmpl-3',
        object: 'chat.completion',
        created: 1,
        model: 'gpt-4o-2024-08-06',
        choices: [
          { index: 0, message: { role: 'assistant', content: 'From the backup.' }, finish_reason: 'stop' },
        ],
        usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
      }),
    });
    const { data, response } = await client()
      .messages.create({
        model: 'fallback-model',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'hi' }],
      })
      .withResponse();
    expect(data.content).toEqual([{ type: 'text', text: 'From the backup.' }]);
    expect(lastJson(claude).model).toBe('claude-opus-4-1');
    expect(lastJson(chat)).toMatchObject({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    const log = await t.logFor(response);
    expect(log).toMatchObject({ backend: 'default/chat', resolvedModel: 'gpt-4o', status: 200 });
    expect((log.attempts as unknown[]).length).toBe(2);
  });

  it('refuses count_tokens clearly, in Anthropic’s error shape', async () => {
    const error = await client()
      .messages.countTokens({ model: 'chat-model', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringContaining('count_tokens') },
    });
    expect(chat.requests).toHaveLength(0);
  });
});
