/**
 * The OpenAI Responses API as a client API through the real stack, with the official openai SDK's
 * `client.responses.create` and `.stream`: passed to an OpenAI-compatible backend with only model,
 * path and credentials rewritten, usage read from the answer and from `response.completed`; refused
 * with what to do on a backend without the Responses API.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeProvider, startFakeProvider } from '../helpers/fake-provider.ts';
import { backendYaml, COMMON_YAML, startTestStack, type TestStack } from '../helpers/stack.ts';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/anthropic');

let t: TestStack;
let vllm: FakeProvider;
let claude: FakeProvider;

beforeAll(async () => {
  vllm = await startFakeProvider();
  claude = await startFakeProvider();
  t = await startTestStack({}, () =>
    [
      COMMON_YAML,
      backendYaml('vllm', vllm.url),
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
  routes:
    - { name: vllm, model: agent-model, backendRef: { name: vllm }, modelNameOverride: qwen3-8b }
    - { name: claude, model: claude-model, backendRef: { name: claude }, modelNameOverride: claude-sonnet-4-5 }
`,
    ].join(''),
  );
});

afterAll(async () => {
  await t?.close();
  await vllm?.close();
  await claude?.close();
});

beforeEach(() => {
  vllm.requests.length = 0;
});

/** A Response object in the documented shape (platform.openai.com/docs/api-reference/responses/object). */
const response = (text: string) => ({
  id: 'resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b',
  object: 'response',
  created_at: 1741476542,
  status: 'completed',
  error: null,
  incomplete_details: null,
  instructions: null,
  max_output_tokens: null,
  model: 'qwen3-8b',
  output: [
    {
      type: 'message',
      id: 'msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b',
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text, annotations: [] }],
    },
  ],
  parallel_tool_calls: true,
  previous_response_id: null,
  store: false,
  temperature: 1,
  text: { format: { type: 'text' } },
  tool_choice: 'auto',
  tools: [],
  top_p: 1,
  usage: {
    input_tokens: 36,
    input_tokens_details: { cached_tokens: 12 },
    output_tokens: 87,
    output_tokens_details: { reasoning_tokens: 20 },
    total_tokens: 123,
  },
});

const sse = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

describe('Responses API clients on an OpenAI-compatible backend', () => {
  it('passes responses.create with only model, path and credentials rewritten, with usage in the record', async () => {
    vllm.answer({
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(response('Hello there!')),
    });
    const { data, response: raw } = await t
      .client()
      .responses.create({
        model: 'agent-model',
        instructions: 'Be brief.',
        input: [{ role: 'user', content: 'Say hello' }],
        tools: [
          {
            type: 'function',
            name: 'get_weather',
            parameters: { type: 'object', properties: {} },
            strict: false,
          },
        ],
        text: { format: { type: 'json_schema', name: 'greeting', schema: { type: 'object' } } },
      })
      .withResponse();
    expect(data.output_text).toBe('Hello there!');
    const sent = vllm.requests.at(-1)!;
    expect(sent.path).toBe('/v1/responses');
    expect(sent.headers.authorization).toBe('Bearer provider-secret');
    const body = JSON.parse(sent.body.toString());
    expect(body.model).toBe('qwen3-8b');
    expect(body.instructions).toBe('Be brief.');
    expect(body.text.format.name).toBe('greeting');
    expect(body.stream_options).toBeUndefined();
    const log = await t.logFor(raw);
    expect(log).toMatchObject({
      path: '/v1/responses',
      logicalModel: 'agent-model',
      responseModel: 'qwen3-8b',
    });
    expect(log.tokens).toEqual({ prompt: 36, completion: 87, cached: 12, reasoning: 20 });
  });

  it('streams with responses.stream, usage read from response.completed', async () => {
    const final = response('Hi!');
    vllm.answer({
      headers: { 'content-type': 'text/event-stream' },
      body: [
        sse('response.created', {
          sequence_number: 0,
          response: { ...final, status: 'in_progress', output: [], usage: null },
        }),
        sse('response.output_item.added', {
          sequence_number: 1,
          output_index: 0,
          item: { ...final.output[0]!, status: 'in_progress', content: [] },
        }),
        sse('response.content_part.added', {
          sequence_number: 1,
          item_id: final.output[0]!.id,
          output_index: 0,
          content_index: 0,
          part: { type: 'output_text', text: '', annotations: [] },
        }),
        sse('response.output_text.delta', {
          sequence_number: 1,
          item_id: final.output[0]!.id,
          output_index: 0,
          content_index: 0,
          delta: 'Hi',
        }),
        sse('response.output_text.delta', {
          sequence_number: 2,
          item_id: final.output[0]!.id,
          output_index: 0,
          content_index: 0,
          delta: '!',
        }),
        sse('response.completed', { sequence_number: 3, response: final }),
      ],
    });
    const deltas: string[] = [];
    const stream = t.client().responses.stream({ model: 'agent-model', input: 'Say hi' });
    stream.on('response.output_text.delta', (event) => deltas.push(event.delta));
    const done = await stream.finalResponse();
    expect(deltas.join('')).toBe('Hi!');
    expect(done.usage?.output_tokens).toBe(87);
    const body = JSON.parse(vllm.requests.at(-1)!.body.toString());
    expect(body).toMatchObject({ model: 'qwen3-8b', stream: true });
    expect(body.stream_options).toBeUndefined();
    await expect
      .poll(() => t.requestLogs().find((r) => r.path === '/v1/responses' && r.stream === true)?.tokens)
      .toEqual({ prompt: 36, completion: 87, cached: 12, reasoning: 20 });
  });
});

describe('Responses API clients on a backend without the Responses API (Anthropic)', () => {
  beforeEach(() => {
    claude.requests.length = 0;
  });

  it('translates responses.create: instructions, input items, function tools and reasoning effort', async () => {
    claude.answer({
      headers: { 'content-type': 'application/json' },
      body: readFileSync(path.join(FIXTURES, 'response.tool-use.json')),
    });
    const { data, response: raw } = await t
      .client()
      .responses.create({
        model: 'claude-model',
        instructions: 'Be brief.',
        input: [
          { role: 'user', content: [{ type: 'input_text', text: 'Weather in SF?' }] },
          { type: 'function_call', call_id: 'toolu_0', name: 'get_weather', arguments: '{"location":"LA"}' },
          { type: 'function_call_output', call_id: 'toolu_0', output: '25C' },
        ],
        tools: [
          {
            type: 'function',
            name: 'get_weather',
            parameters: { type: 'object', properties: {} },
            strict: false,
          },
        ],
        max_output_tokens: 300,
        reasoning: { effort: 'low' },
      })
      .withResponse();
    const call = data.output.find((item) => item.type === 'function_call');
    expect(call).toMatchObject({
      type: 'function_call',
      name: 'get_weather',
      call_id: expect.stringMatching(/^toolu_/),
    });
    expect(JSON.parse((call as { arguments: string }).arguments)).toHaveProperty('location');
    expect(data.usage?.input_tokens).toBeGreaterThan(0);
    const sent = JSON.parse(claude.requests.at(-1)!.body.toString());
    expect(claude.requests.at(-1)!.path).toBe('/v1/messages');
    expect(sent).toMatchObject({
      model: 'claude-sonnet-4-5',
      system: 'Be brief.',
      tools: [{ name: 'get_weather' }],
      messages: [
        { role: 'user', content: 'Weather in SF?' },
        {
          role: 'assistant',
          content: [{ type: 'tool_use', id: 'toolu_0', name: 'get_weather', input: { location: 'LA' } }],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_0', content: '25C' }] },
      ],
    });
    const log = await t.logFor(raw);
    expect((log.tokens as { prompt: number }).prompt).toBe(data.usage?.input_tokens);
  });

  it('streams the Responses events from an Anthropic stream, with usage in response.completed', async () => {
    claude.answer({
      headers: { 'content-type': 'text/event-stream' },
      body: readFileSync(path.join(FIXTURES, 'stream.text.sse')),
    });
    const deltas: string[] = [];
    const stream = t.client().responses.stream({ model: 'claude-model', input: 'Hello' });
    stream.on('response.output_text.delta', (event) => deltas.push(event.delta));
    const done = await stream.finalResponse();
    expect(deltas.length).toBeGreaterThan(1);
    expect(done.output_text).toBe(deltas.join(''));
    expect(done.usage?.output_tokens).toBeGreaterThan(0);
  });

  it('asks for structured output as the provider’s JSON schema format', async () => {
    claude.answer({
      headers: { 'content-type': 'application/json' },
      body: readFileSync(path.join(FIXTURES, 'response.text.json')),
    });
    await t.client().responses.create({
      model: 'claude-model',
      input: 'A city',
      text: {
        format: {
          type: 'json_schema',
          name: 'city',
          schema: { type: 'object', properties: { name: { type: 'string' } } },
        },
      },
    });
    const sent = JSON.parse(claude.requests.at(-1)!.body.toString());
    expect(sent.output_config.format).toEqual({
      type: 'json_schema',
      schema: { type: 'object', properties: { name: { type: 'string' } } },
    });
  });

  it('refuses previous_response_id and store: true with a 400 saying what to do', async () => {
    for (const extra of [{ previous_response_id: 'resp_1' }, { store: true }]) {
      const error = await t
        .client()
        .responses.create({ model: 'claude-model', input: 'hi', ...extra })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as InstanceType<typeof OpenAI.APIError>).message).toMatch(
        /whole conversation in "input"/,
      );
    }
    expect(claude.requests).toHaveLength(0);
  });
});
