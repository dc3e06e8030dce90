/**
 * The simulator's `/v1/responses`, as vLLM serves it: the official openai SDK's
 * `client.responses.create` and `.stream` get text, a function call whose arguments validate against
 * the tool's parameters, structured output that validates against `text.format`'s schema, an
 * incomplete response when max_output_tokens cuts it, and a 400 for state the server does not keep.
 */
import { Ajv } from 'ajv';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ModelServer, startModelServer } from '../../sim/model-server.ts';

let server: ModelServer;
let client: OpenAI;
const model = 'sim-llama';

beforeAll(async () => {
  server = await startModelServer({ host: '127.0.0.1', port: 0 });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
});

afterAll(async () => {
  await server?.close();
});

const weather = {
  type: 'object',
  properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } },
  required: ['city', 'unit'],
  additionalProperties: false,
};
const ajv = new Ajv({ strict: false });

describe('the simulator’s Responses API', () => {
  it('answers text, buffered and streamed, the same words, with usage', async () => {
    const response = await client.responses.create({
      model,
      input: 'Tell me about routers',
      instructions: 'Be brief',
    });
    expect(response.object).toBe('response');
    expect(response.status).toBe('completed');
    expect(response.output_text).toMatch(/\w+/);
    expect(response.usage!.output_tokens).toBeGreaterThan(0);
    const stream = client.responses.stream({
      model,
      input: 'Tell me about routers',
      instructions: 'Be brief',
    });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    const final = await stream.finalResponse();
    expect(final.output_text).toBe(response.output_text);
    expect(types.slice(0, 4)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
    ]);
    expect(types.slice(-4)).toEqual([
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
  });

  it('calls a function tool with arguments that validate, and answers text after its output', async () => {
    const tools: OpenAI.Responses.Tool[] = [
      { type: 'function', name: 'get_weather', parameters: weather, strict: true },
    ];
    const stream = client.responses.stream({ model, input: 'Weather in Paris?', tools });
    const final = await stream.finalResponse();
    const call = final.output[0]!;
    expect(call.type).toBe('function_call');
    if (call.type !== 'function_call') throw new Error('no call');
    expect(call.name).toBe('get_weather');
    expect(ajv.validate(weather, JSON.parse(call.arguments))).toBe(true);
    const next = await client.responses.create({
      model,
      tools,
      input: [
        { role: 'user', content: 'Weather in Paris?' },
        { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
        { type: 'function_call_output', call_id: call.call_id, output: '18°C' },
      ],
    });
    expect(next.output[0]!.type).toBe('message');
    expect(next.output_text).toMatch(/\w+/);
  });

  it('answers structured output that validates against text.format', async () => {
    const response = await client.responses.create({
      model,
      input: 'Weather as JSON',
      text: { format: { type: 'json_schema', name: 'weather', schema: weather, strict: true } },
    });
    expect(ajv.validate(weather, JSON.parse(response.output_text))).toBe(true);
  });

  it('is incomplete when max_output_tokens cuts the answer, and refuses previous_response_id', async () => {
    const cut = await client.responses.create({ model, input: 'Tell me a long story', max_output_tokens: 2 });
    expect(cut.status).toBe('incomplete');
    expect(cut.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    const error = await client.responses
      .create({ model, input: 'again', previous_response_id: cut.id })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
  });
});
