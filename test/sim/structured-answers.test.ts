/**
 * The simulator answers tool calls and structured outputs when asked, so the offline demo shows them:
 * with function tools it calls one (the named one, or the first the last message mentions) with
 * arguments that validate against the tool's parameters, and answers in text once the last message is
 * a tool result; with response_format json_schema its content validates against the schema. Checked
 * with the official openai SDK, buffered and streamed, and with Ajv as the validator.
 */
import { Ajv } from 'ajv';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonInstance } from '../../sim/json-instance.ts';
import { type ModelServer, startModelServer } from '../../sim/model-server.ts';

let server: ModelServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startModelServer({ host: '127.0.0.1', port: 0 });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
});

afterAll(async () => {
  await server?.close();
});

const ajv = new Ajv({ strict: false });
const validates = (schema: object, value: unknown) => {
  const validate = ajv.compile(schema);
  expect(validate(value), JSON.stringify(validate.errors)).toBe(true);
};

const weather = {
  type: 'object',
  properties: {
    location: { type: 'string', minLength: 3 },
    unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
    days: { type: 'integer', minimum: 1, maximum: 7 },
  },
  required: ['location', 'unit'],
  additionalProperties: false,
};
const tools: OpenAI.ChatCompletionTool[] = [
  { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } },
  { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: weather } },
];
/** The simulator accepts any model when it is given none. */
const model = 'sim-llama';

describe('simulated tool calls', () => {
  it('calls the tool the last message mentions, with arguments that validate, buffered', async () => {
    const completion = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Use get_weather for Paris' }],
      tools,
    });
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    const call = choice.message.tool_calls![0]!;
    expect(call.type).toBe('function');
    expect(call.id).toMatch(/^call_/);
    if (call.type !== 'function') throw new Error('not a function call');
    expect(call.function.name).toBe('get_weather');
    validates(weather, JSON.parse(call.function.arguments));
  });

  it('streams the call, its arguments in fragments the SDK joins', async () => {
    const stream = client.chat.completions.stream({
      model,
      messages: [{ role: 'user', content: 'Weather please' }],
      tools,
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      stream_options: { include_usage: true },
    });
    const fragments: string[] = [];
    stream.on('tool_calls.function.arguments.delta', (e) => fragments.push(e.arguments_delta));
    const final = await stream.finalChatCompletion();
    expect(fragments.length).toBeGreaterThan(1);
    const call = final.choices[0]!.message.tool_calls![0]!;
    if (call.type !== 'function') throw new Error('not a function call');
    expect(call.function.name).toBe('get_weather');
    validates(weather, JSON.parse(call.function.arguments));
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
    // One simulated token per four characters of the arguments.
    expect(final.usage?.completion_tokens).toBe(Math.ceil(call.function.arguments.length / 4));
  });

  it('answers in text after a tool result, and when tool_choice is none', async () => {
    const afterResult = await client.chat.completions.create({
      model,
      tools,
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '18°C' },
      ],
    });
    expect(afterResult.choices[0]!.finish_reason).toBe('stop');
    expect(afterResult.choices[0]!.message.content).toMatch(/\w/);
    const none = await client.chat.completions.create({
      model,
      tools,
      tool_choice: 'none',
      messages: [{ role: 'user', content: 'Use get_weather' }],
    });
    expect(none.choices[0]!.message.tool_calls).toBeUndefined();
  });

  it('refuses a tool_choice naming no tool, as OpenAI does, with 400', async () => {
    const error = await client.chat.completions
      .create({
        model,
        tools,
        tool_choice: { type: 'function', function: { name: 'missing' } },
        messages: [{ role: 'user', content: 'hi' }],
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
  });
});

const report = {
  $defs: { city: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } },
  type: 'object',
  properties: {
    title: { type: 'string' },
    cities: { type: 'array', items: { $ref: '#/$defs/city' }, minItems: 2 },
    score: { type: 'number', minimum: 0.5 },
    verdict: { anyOf: [{ type: 'string', enum: ['good', 'bad'] }, { type: 'null' }] },
    tags: { type: ['array', 'null'], items: { type: 'string' } },
    ok: { type: 'boolean' },
    version: { const: 2 },
  },
  required: ['title', 'cities', 'score', 'verdict', 'tags', 'ok', 'version'],
  additionalProperties: false,
};

describe('simulated structured outputs', () => {
  it('answers JSON that validates against the json_schema, buffered and streamed', async () => {
    const format = {
      type: 'json_schema' as const,
      json_schema: { name: 'report', schema: report, strict: true },
    };
    const completion = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Report' }],
      response_format: format,
    });
    validates(report, JSON.parse(completion.choices[0]!.message.content!));
    const stream = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Report' }],
      response_format: format,
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(completion.choices[0]!.message.content);
  });

  it('answers a JSON object for json_object, and cuts JSON short at max_tokens with finish length', async () => {
    const object = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'JSON please' }],
      response_format: { type: 'json_object' },
    });
    expect(JSON.parse(object.choices[0]!.message.content!)).toEqual({ answer: expect.any(String) });
    const cut = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'JSON please' }],
      response_format: { type: 'json_object' },
      max_completion_tokens: 2,
    });
    expect(cut.choices[0]!.finish_reason).toBe('length');
    expect(() => JSON.parse(cut.choices[0]!.message.content!)).toThrow();
  });

  it('builds instances that validate for each supported keyword', () => {
    for (const schema of [weather, report, { type: 'array', items: { type: 'integer', minimum: 3 } }, {}])
      validates(schema, jsonInstance(schema, [' river', ' harbor']));
  });
});
