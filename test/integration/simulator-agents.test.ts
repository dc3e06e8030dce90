/**
 * The offline demo for agents: the simulated OpenAI-compatible server behind the real stack (dev
 * gateway + ext_proc over loopback) answers an Anthropic SDK client's tools and an OpenAI SDK
 * client's Responses API (passed through, as to vLLM) with calls and structured output that validate
 * against the client's schemas.
 */
import Anthropic from '@anthropic-ai/sdk';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendYaml, COMMON_YAML, startTestStack, type TestStack } from '../helpers/stack.ts';

let t: TestStack;

beforeAll(async () => {
  t = await startTestStack({ sim: {} }, (urls) =>
    [
      COMMON_YAML,
      backendYaml('sim', urls.sim!, false),
      `
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  routes:
    - { name: sim, model: agent-model, backendRef: { name: sim }, modelNameOverride: sim-llama }
`,
    ].join(''),
  );
});

afterAll(async () => {
  await t?.close();
});

const weather = {
  type: 'object' as const,
  properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } },
  required: ['city', 'unit'],
  additionalProperties: false,
};
const ajv = new Ajv({ strict: false });

describe('agents on the simulated backend, through the gateway', () => {
  it('gives an Anthropic SDK client a tool_use block whose input validates, streamed', async () => {
    const anthropic = new Anthropic({ baseURL: t.stack.gatewayUrl, apiKey: 'sk-test-team-a', maxRetries: 0 });
    const message = await anthropic.messages
      .stream({
        model: 'agent-model',
        max_tokens: 256,
        tools: [{ name: 'get_weather', description: 'Weather', input_schema: weather }],
        messages: [{ role: 'user', content: 'Weather in Paris?' }],
      })
      .finalMessage();
    expect(message.stop_reason).toBe('tool_use');
    const use = message.content.find((b) => b.type === 'tool_use');
    expect(use).toMatchObject({ type: 'tool_use', name: 'get_weather' });
    expect(ajv.validate(weather, (use as { input: unknown }).input)).toBe(true);
  });

  it('serves the Responses API: text, a function call and structured output', async () => {
    const client = t.client();
    const text = await client.responses.create({ model: 'agent-model', input: 'Hello' });
    expect(text.output_text).toMatch(/\w+/);
    expect(text.model).toBe('sim-llama');
    const stream = client.responses.stream({
      model: 'agent-model',
      input: 'Weather in Paris?',
      tools: [{ type: 'function', name: 'get_weather', parameters: weather, strict: true }],
    });
    const call = (await stream.finalResponse()).output[0]!;
    if (call.type !== 'function_call') throw new Error(`expected a function call, got ${call.type}`);
    expect(ajv.validate(weather, JSON.parse(call.arguments))).toBe(true);
    const structured = await client.responses.create({
      model: 'agent-model',
      input: 'Weather as JSON',
      text: { format: { type: 'json_schema', name: 'weather', schema: weather, strict: true } },
    });
    expect(ajv.validate(weather, JSON.parse(structured.output_text))).toBe(true);
  });
});
