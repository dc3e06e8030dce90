/**
 * What the Chat Completions bridge (via-chat.ts) keeps of a Messages or Responses request, per target:
 * `top_k` where the target takes it (OpenAI-compatible servers; Gemini's topK), earlier turns'
 * reasoning as `reasoning_content` where it does (OpenAI-compatible servers), `cache_control` where
 * it does (Bedrock Converse, as cachePoint blocks); dropped everywhere else. Through the registry's
 * translators, so the provider bodies asserted on are the ones sent.
 */
import { describe, expect, it } from 'vitest';
import type { Credential } from '../../../config/credentials.ts';
import type { Provider } from '../../../config/manifests.ts';
import { SecretValue } from '../../../config/secret-value.ts';
import type { CompiledBackend } from '../../../config/snapshot.ts';
import { chatTarget, translatorFor } from '../../../ext-proc/translate/registry.ts';
import { responsesToChat } from '../../../ext-proc/translate/responses-chat.ts';
import { GATEWAY_THINKING_SIGNATURE } from '../../../ext-proc/translate/thinking-signature.ts';
import { bodyInput, type Operation } from '../../../ext-proc/translate/translator.ts';

type Json = Record<string, unknown>;

const apiKey: Credential = { type: 'APIKey', apiKey: new SecretValue('provider-key') };
const aws: Credential = {
  type: 'AWSAccessKey',
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: new SecretValue('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'),
};

async function sent(operation: Operation, provider: Provider, body: Json, model = 'provider-model') {
  const backend: CompiledBackend = {
    id: `default/${provider}`,
    provider,
    origin: 'https://provider.example',
    basePath: '',
    region: 'us-east-1',
    defaults: {},
  };
  const request = await translatorFor(operation, provider)!.request({
    operation,
    ...bodyInput(Buffer.from(JSON.stringify(body))),
    backend,
    model,
    credential: provider === 'Bedrock' ? aws : apiKey,
  });
  return JSON.parse(request.body.toString()) as Json;
}

const ephemeral = { type: 'ephemeral' };

/** A Messages request with top_k, an earlier turn's thinking and cache_control breakpoints. */
const messages: Json = {
  model: 'agent-model',
  max_tokens: 100,
  top_k: 40,
  system: [{ type: 'text', text: 'Long rules', cache_control: ephemeral }],
  tools: [
    {
      name: 'get_weather',
      description: 'Weather',
      input_schema: { type: 'object', properties: { city: { type: 'string' } } },
      cache_control: ephemeral,
    },
  ],
  messages: [
    { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?', cache_control: ephemeral }] },
    {
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 'Paris needs the tool.', signature: GATEWAY_THINKING_SIGNATURE },
        { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix' },
        { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
      ],
    },
    {
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '18°C', cache_control: ephemeral }],
    },
  ],
};

describe('Messages through Chat Completions', () => {
  it('keeps top_k and earlier reasoning for an OpenAI-compatible server, and drops cache_control', async () => {
    const body = await sent('messages', 'OpenAICompatible', messages);
    expect(body.top_k).toBe(40);
    const chat = body.messages as Json[];
    expect(chat[2]).toEqual({
      role: 'assistant',
      content: null,
      reasoning_content: 'Paris needs the tool.',
      tool_calls: [
        { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      ],
    });
    expect(JSON.stringify(body)).not.toContain('cache_control');
    expect(chat[3]).toEqual({ role: 'tool', tool_call_id: 'toolu_1', content: '18°C' });
  });

  it('drops top_k, reasoning and cache_control for OpenAI, which refuses unknown members', async () => {
    const body = await sent('messages', 'OpenAI', messages);
    expect(body.top_k).toBeUndefined();
    expect(JSON.stringify(body)).not.toContain('reasoning_content');
    expect(JSON.stringify(body)).not.toContain('cache_control');
  });

  it('sends top_k to Gemini as generationConfig.topK', async () => {
    const body = await sent('messages', 'Gemini', messages, 'gemini-2.5-flash');
    expect((body.generationConfig as Json).topK).toBe(40);
    expect(JSON.stringify(body)).not.toContain('top_k');
  });

  it('turns cache_control into cachePoint blocks on Bedrock Converse, and sends no top_k', async () => {
    const body = await sent('messages', 'Bedrock', messages, 'amazon.nova-pro-v1:0');
    const cachePoint = { cachePoint: { type: 'default' } };
    expect(body.system).toEqual([{ text: 'Long rules' }, cachePoint]);
    expect((body.toolConfig as { tools: unknown[] }).tools[1]).toEqual(cachePoint);
    const converse = body.messages as { role: string; content: Json[] }[];
    expect(converse[0]!.content).toEqual([{ text: 'Weather in Paris?' }, cachePoint]);
    expect(converse.at(-1)!.content.at(-1)).toEqual(cachePoint);
    expect(JSON.stringify(body)).not.toMatch(/top_?k/i);
    expect(JSON.stringify(body)).not.toContain('Paris needs the tool');
  });
});

/** A Responses request whose input holds an earlier reasoning item before its function call. */
const responses: Json = {
  model: 'agent-model',
  input: [
    { role: 'user', content: 'Weather in Paris?' },
    {
      type: 'reasoning',
      id: 'rs_1',
      summary: [{ type: 'summary_text', text: 'Summary only.' }],
      content: [{ type: 'reasoning_text', text: 'Paris needs the tool.' }],
      encrypted_content: 'gAAAAB…',
    },
    { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
    { type: 'function_call_output', call_id: 'call_1', output: '18°C' },
    { type: 'reasoning', id: 'rs_2', summary: [{ type: 'summary_text', text: 'It is mild.' }] },
    { role: 'assistant', content: [{ type: 'output_text', text: 'It is 18°C.' }] },
    { role: 'user', content: 'Thanks' },
  ],
  tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object' } }],
};

describe('Responses through Chat Completions', () => {
  it('gives reasoning items to the assistant turn they preceded, as reasoning_content, where the target takes it', async () => {
    const body = await sent('responses', 'Mistral', responses, 'mistral-large-latest');
    expect(JSON.stringify(body)).not.toContain('Paris needs the tool');
    const chat = await sent('responses', 'Gemini', responses, 'gemini-2.5-flash');
    expect(JSON.stringify(chat)).not.toContain('Paris needs the tool');
    // OpenAI-compatible servers take the Responses API as it is (registry.ts NATIVE_RESPONSES), so the
    // adapter is checked on its own for a target that takes reasoning.
    const out = responsesToChat(responses, chatTarget('OpenAICompatible')).messages as Json[];
    expect(out[1]).toMatchObject({ role: 'assistant', reasoning_content: 'Paris needs the tool.' });
    expect(out[3]).toMatchObject({
      role: 'assistant',
      content: 'It is 18°C.',
      reasoning_content: 'It is mild.',
    });
    expect(out).toHaveLength(5);
  });
});
