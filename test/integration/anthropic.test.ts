/**
 * Round trips through the real stack (dev gateway + ext_proc over loopback) to an Anthropic backend,
 * with the official openai SDK as the client and a fake Anthropic API answering with documented
 * Messages API fixtures.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { splitAt } from '../fixtures/openai/chat-request.arbitrary.ts';
import { type FakeProvider, type RecordedRequest, startFakeProvider } from '../helpers/fake-provider.ts';
import { COMMON_YAML, startTestStack, type TestStack } from '../helpers/stack.ts';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/anthropic');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name));
const json = (name: string) => JSON.parse(fixture(name).toString()) as Record<string, unknown>;

const GATEWAY_KEY = 'sk-test-team-a';
const PROVIDER_KEY = 'provider-secret';
const MODEL = 'claude-sonnet-4-5';

const WEATHER_TOOL: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Get the current weather in a given location',
    parameters: {
      type: 'object',
      properties: { location: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
      required: ['location'],
    },
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
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: claude }
spec:
  provider: Anthropic
  baseURL: ${provider.url}
  credentials: { secretRef: { name: keys, key: provider } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  routes:
    - { name: claude, model: chat-model, backendRef: { name: claude }, modelNameOverride: ${MODEL} }
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
    headers: { 'content-type': 'application/json', 'request-id': 'req_011CSHoEeqs5C35K2UUqR7Fy', ...headers },
    body: fixture(name),
  });
}

/** Answers with an SSE fixture, written in uneven chunks (some inside a multi-byte character). */
function answerStream(name: string): void {
  provider.answer({
    headers: { 'content-type': 'text/event-stream', 'request-id': 'req_011CSHoEeqs5C35K2UUqR7Fy' },
    body: splitAt(fixture(name), [0.031, 0.29, 0.3, 0.55, 0.81]),
  });
}

function lastRequest(): RecordedRequest & { json: Record<string, unknown> } {
  const request = provider.requests[provider.requests.length - 1]!;
  return { ...request, json: JSON.parse(request.body.toString()) };
}

function expectAnthropicAuth(request: RecordedRequest): void {
  expect(request.method).toBe('POST');
  expect(request.path).toBe('/v1/messages');
  expect(request.headers['x-api-key']).toBe(PROVIDER_KEY);
  expect(request.headers['anthropic-version']).toBe('2023-06-01');
  expect(request.headers.authorization).toBeUndefined();
  // The caller's gateway key reaches no header of the provider request.
  expect(JSON.stringify(request.headers)).not.toContain(GATEWAY_KEY);
}

describe('Anthropic backend through the gateway', () => {
  it('answers a chat completion from a Messages API reply, with usage and the provider request id', async () => {
    answerJson('response.text.json');
    const { data, response } = await t
      .client()
      .chat.completions.create({
        model: 'chat-model',
        messages: [
          { role: 'system', content: 'Answer in French.' },
          { role: 'user', content: 'Hello' },
        ],
        max_tokens: 64,
        temperature: 0.2,
      })
      .withResponse();

    const sent = lastRequest();
    expectAnthropicAuth(sent);
    expect(sent.json).toEqual({
      model: MODEL,
      max_tokens: 64,
      system: 'Answer in French.',
      messages: [{ role: 'user', content: 'Hello' }],
      temperature: 0.2,
    });

    expect(data.choices[0]!.message.content).toBe("Bonjour ! Comment puis-je vous aider aujourd'hui ?");
    expect(data.choices[0]!.finish_reason).toBe('stop');
    expect(data.model).toBe(MODEL);
    expect(data.usage).toEqual({
      prompt_tokens: 1045,
      completion_tokens: 14,
      total_tokens: 1059,
      prompt_tokens_details: { cached_tokens: 1024 },
    });
    expect(response.headers.get('x-agent-router-provider-request-id')).toBe('req_011CSHoEeqs5C35K2UUqR7Fy');
    expect(await t.logFor(response)).toMatchObject({
      provider: 'Anthropic',
      status: 200,
      tokens: { prompt: 1045, completion: 14, cached: 1024 },
    });
  });

  it('asks for extended thinking and structured output, and returns the thinking as reasoning_content', async () => {
    answerJson('response.thinking.json');
    const schema = {
      type: 'object',
      properties: { answer: { type: 'string' } },
      required: ['answer'],
      additionalProperties: false,
    };
    const data = await t.client().chat.completions.create({
      model: 'chat-model',
      messages: [{ role: 'user', content: 'Are there infinitely many primes n with n mod 4 == 3?' }],
      reasoning_effort: 'low',
      response_format: { type: 'json_schema', json_schema: { name: 'answer', strict: true, schema } },
    });
    expect(lastRequest().json).toMatchObject({
      max_tokens: 4096 + 1024,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      output_config: { format: { type: 'json_schema', schema } },
    });
    const message = data.choices[0]!.message as (typeof data.choices)[0]['message'] & {
      reasoning_content?: string;
    };
    expect(message.reasoning_content).toBe('Let me analyze this step by step...');
    expect(message.content).toBe('Yes, there are infinitely many prime numbers such that n mod 4 = 3.');
  });

  it('sends the client’s cache_control breakpoints to Anthropic and reports cache reads as cached tokens', async () => {
    const guide = `<repository-guide>\n${'Money is integer cents. Services live in services/.\n'.repeat(60)}</repository-guide>`;
    const ephemeral = { type: 'ephemeral' } as const;
    // The OpenAI SDK's types have no cache_control: a client adds it to the parts it sends.
    const messages = [
      {
        role: 'system',
        content: [
          { type: 'text', text: 'You are a code-review agent.' },
          { type: 'text', text: guide, cache_control: ephemeral },
        ],
      },
      {
        role: 'user',
        content: [{ type: 'text', text: 'Review services/ledger/post.ts.', cache_control: ephemeral }],
      },
    ] as unknown as OpenAI.ChatCompletionMessageParam[];
    const tools = [
      { ...WEATHER_TOOL, cache_control: { type: 'ephemeral', ttl: '1h' } },
    ] as unknown as OpenAI.ChatCompletionTool[];

    answerJson('response.prompt-caching.write.json');
    const first = await t
      .client()
      .chat.completions.create({ model: 'chat-model', messages, tools, max_tokens: 256 });
    const sent = lastRequest();
    expectAnthropicAuth(sent);
    expect(sent.json).toMatchObject({
      system: [
        { type: 'text', text: 'You are a code-review agent.' },
        { type: 'text', text: guide, cache_control: ephemeral },
      ],
      messages: [
        {
          role: 'user',
          content: [{ type: 'text', text: 'Review services/ledger/post.ts.', cache_control: ephemeral }],
        },
      ],
      tools: [{ name: 'get_weather', cache_control: { type: 'ephemeral', ttl: '1h' } }],
    });
    // Cache writes are prompt tokens; only reads are cached tokens.
    expect(first.usage).toEqual({
      prompt_tokens: 14 + 1890,
      completion_tokens: 19,
      total_tokens: 14 + 1890 + 19,
      prompt_tokens_details: { cached_tokens: 0 },
    });

    answerJson('response.prompt-caching.read.json');
    const { data: second, response } = await t
      .client()
      .chat.completions.create({ model: 'chat-model', messages, tools, max_tokens: 256 })
      .withResponse();
    expect(lastRequest().body.equals(sent.body)).toBe(true);
    expect(second.usage?.prompt_tokens_details).toEqual({ cached_tokens: 1890 });
    expect(await t.logFor(response)).toMatchObject({
      provider: 'Anthropic',
      tokens: { prompt: 9 + 1890, completion: 11, cached: 1890 },
    });
  });

  it('translates a 3 MB request — a long document and a base64 image — with the content intact', async () => {
    answerJson('response.text.json');
    // Large enough for the stand-in parser (ext-proc/json), with escapes and multi-byte text throughout.
    const document = 'Ligne « première » — "quoted" \\ tab\t end 😀\n'.repeat(40_000);
    const image = Buffer.alloc(600_000, 7).toString('base64');
    const data = await t.client().chat.completions.create({
      model: 'chat-model',
      messages: [
        { role: 'system', content: `Summarise.\n${document.slice(0, 5000)}` },
        {
          role: 'user',
          content: [
            { type: 'text', text: document },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${image}` } },
          ],
        },
      ],
      max_tokens: 64,
    });

    expect(data.choices[0]!.finish_reason).toBe('stop');
    const sent = lastRequest();
    expectAnthropicAuth(sent);
    expect(sent.json).toEqual({
      model: MODEL,
      max_tokens: 64,
      system: `Summarise.\n${document.slice(0, 5000)}`,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: document },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: image } },
          ],
        },
      ],
    });
    expect(Number(sent.headers['content-length'])).toBe(sent.body.length);
  });

  it('round-trips tools: tool_use comes back as tool_calls, the tool result goes back as tool_result', async () => {
    answerJson('response.tool-use.json');
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'user', content: 'What is the weather in San Francisco?' },
    ];
    const first = await t
      .client()
      .chat.completions.create({ model: 'chat-model', messages, tools: [WEATHER_TOOL], tool_choice: 'auto' });
    expect(lastRequest().json).toMatchObject({
      tools: [
        {
          name: 'get_weather',
          description: 'Get the current weather in a given location',
          input_schema: WEATHER_TOOL.function.parameters,
        },
      ],
      tool_choice: { type: 'auto' },
    });

    const reply = first.choices[0]!;
    expect(reply.finish_reason).toBe('tool_calls');
    expect(reply.message.tool_calls).toEqual([
      {
        id: 'toolu_01A09q90qw90lq917835lq9',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"location":"San Francisco, CA","unit":"celsius"}' },
      },
    ]);

    answerJson('response.text.json');
    await t.client().chat.completions.create({
      model: 'chat-model',
      messages: [
        ...messages,
        reply.message,
        { role: 'tool', tool_call_id: 'toolu_01A09q90qw90lq917835lq9', content: '15°C, foggy' },
      ],
      tools: [WEATHER_TOOL],
    });
    const followUp = lastRequest();
    expectAnthropicAuth(followUp);
    expect(followUp.json.messages).toEqual([
      { role: 'user', content: 'What is the weather in San Francisco?' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: "I'll check the current weather in San Francisco for you." },
          {
            type: 'tool_use',
            id: 'toolu_01A09q90qw90lq917835lq9',
            name: 'get_weather',
            input: { location: 'San Francisco, CA', unit: 'celsius' },
          },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_01A09q90qw90lq917835lq9', content: '15°C, foggy' },
        ],
      },
    ]);
  });

  it('streams text through the SDK, with the usage chunk when include_usage is set', async () => {
    answerStream('stream.text.sse');
    const { data: stream, response } = await t
      .client()
      .chat.completions.create({
        model: 'chat-model',
        messages: [{ role: 'user', content: 'Hello' }],
        stream: true,
        stream_options: { include_usage: true },
      })
      .withResponse();
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);

    const sent = lastRequest();
    expectAnthropicAuth(sent);
    expect(sent.json).toEqual({
      model: MODEL,
      max_tokens: 4096,
      messages: [{ role: 'user', content: 'Hello' }],
      stream: true,
    });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);

    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Héllo wörld 👋!');
    expect(chunks.every((c) => c.id === 'msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY' && c.model === MODEL)).toBe(
      true,
    );
    const finish = chunks.filter((c) => c.choices[0]?.finish_reason);
    expect(finish.map((c) => c.choices[0]!.finish_reason)).toEqual(['stop']);
    expect(chunks[chunks.length - 1]).toMatchObject({
      choices: [],
      usage: {
        prompt_tokens: 537,
        completion_tokens: 15,
        total_tokens: 552,
        prompt_tokens_details: { cached_tokens: 512 },
      },
    });
    expect(await t.logFor(response)).toMatchObject({
      provider: 'Anthropic',
      stream: true,
      tokens: { prompt: 537, completion: 15 },
    });
  });

  it('streams without a usage chunk when the client did not ask, and logs the usage all the same', async () => {
    answerStream('stream.text.sse');
    const { data: stream, response } = await t
      .client()
      .chat.completions.create({
        model: 'chat-model',
        messages: [{ role: 'user', content: 'Hello' }],
        stream: true,
      })
      .withResponse();
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    // Code that reads choices[0] of every chunk keeps working.
    expect(chunks.every((c) => c.choices.length === 1 && !c.usage)).toBe(true);
    expect(chunks.map((c) => c.choices[0]!.delta.content ?? '').join('')).toBe('Héllo wörld 👋!');
    expect(await t.logFor(response)).toMatchObject({
      stream: true,
      tokens: { prompt: 537, completion: 15, cached: 512 },
    });
  });

  it('streams tool calls that the SDK’s stream helper assembles into complete calls', async () => {
    answerStream('stream.tool-use.sse');
    const runner = t.client().chat.completions.stream({
      model: 'chat-model',
      messages: [{ role: 'user', content: 'What is the weather like in San Francisco?' }],
      tools: [WEATHER_TOOL],
      tool_choice: 'required',
    });
    const completion = await runner.finalChatCompletion();

    expect(lastRequest().json).toMatchObject({ stream: true, tool_choice: { type: 'any' } });
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBe("Okay, let's check the weather for San Francisco, CA:");
    expect(choice.message.tool_calls).toEqual([
      {
        id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6',
        type: 'function',
        function: {
          name: 'get_weather',
          arguments: '{"location": "San Francisco, CA", "unit": "fahrenheit"}',
        },
      },
      {
        id: 'toolu_01Nq4bVjLkzXpeCnRdwcS2Lp',
        type: 'function',
        function: { name: 'get_time', arguments: '{"timezone": "America/Los_Angeles"}' },
      },
    ]);
  });

  it.each([
    [429, 'response.error.rate-limit.json', OpenAI.RateLimitError, 'rate_limit_error'],
    [529, 'response.error.overloaded.json', OpenAI.InternalServerError, 'api_error'],
    [400, 'response.error.invalid-request.json', OpenAI.BadRequestError, 'invalid_request_error'],
  ])('surfaces an Anthropic %i as the matching OpenAI SDK error', async (status, file, errorClass, type) => {
    answerJson(file, status);
    const error = await t
      .client()
      .chat.completions.create({ model: 'chat-model', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(errorClass);
    const apiError = error as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(status);
    const anthropic = json(file).error as { type: string; message: string };
    expect(apiError.error).toEqual({ message: anthropic.message, type, param: null, code: anthropic.type });
    expect(provider.requests).toHaveLength(1);
  });

  it('passes Anthropic’s retry-after on with a 429, where the SDK reads it', async () => {
    // Rate-limit answers carry retry-after (platform.claude.com/docs/en/api/rate-limits, "Response headers").
    answerJson('response.error.rate-limit.json', 429, { 'retry-after': '17' });
    const error = (await t
      .client()
      .chat.completions.create({ model: 'chat-model', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error.headers?.get('retry-after')).toBe('17');
    expect(error.headers?.get('x-agent-router-provider-request-id')).toBe('req_011CSHoEeqs5C35K2UUqR7Fy');
  });

  it('raises an error from the SDK’s stream iteration when Anthropic sends event: error mid-stream', async () => {
    answerStream('stream.error.sse');
    const stream = await t.client().chat.completions.create({
      model: 'chat-model',
      messages: [{ role: 'user', content: 'Tell me a story' }],
      stream: true,
    });
    let text = '';
    const error = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().catch((e: unknown) => e);

    expect(text).toBe('Once upon');
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as Error).message).toBe('Overloaded');
    expect((error as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({
      type: 'api_error',
      code: 'overloaded_error',
    });
  });
});
