/**
 * Thinking blocks the gateway writes (for reasoning from a Chat Completions backend) carry its own
 * signature and never reach Claude's API, where they would fail signature verification; everything
 * else in the body passes as it was.
 */
import { describe, expect, it } from 'vitest';
import { SecretValue } from '../../../config/secret-value.ts';
import type { CompiledBackend } from '../../../config/snapshot.ts';
import { messagesAnthropicTranslator } from '../../../ext-proc/translate/messages-anthropic.ts';
import {
  GATEWAY_THINKING_SIGNATURE,
  mayHoldGatewayThinking,
  withoutGatewayThinking,
} from '../../../ext-proc/translate/thinking-signature.ts';
import { bodyInput } from '../../../ext-proc/translate/translator.ts';

const ours = { type: 'thinking', thinking: 'chat model reasoning', signature: GATEWAY_THINKING_SIGNATURE };
const claudes = { type: 'thinking', thinking: 'Claude reasoning', signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3h' };

const conversation = {
  model: 'claude-model',
  max_tokens: 100,
  messages: [
    { role: 'user', content: 'Weather in Paris?' },
    {
      role: 'assistant',
      content: [ours, { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }],
    },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '18°C' }] },
    { role: 'assistant', content: [ours] },
    { role: 'assistant', content: [claudes, { type: 'text', text: 'It is 18°C.' }] },
    { role: 'user', content: 'Thanks' },
  ],
};

const backend: CompiledBackend = {
  id: 'default/claude',
  provider: 'Anthropic',
  origin: 'https://api.anthropic.com',
  basePath: '',
  defaults: {},
};

describe('gateway thinking blocks', () => {
  it('are left out of the body, and a turn left empty with them; Claude’s own blocks stay', () => {
    const out = withoutGatewayThinking(conversation);
    expect(out.messages).toEqual([
      conversation.messages[0],
      { role: 'assistant', content: [conversation.messages[1]!.content[1]] },
      conversation.messages[2],
      conversation.messages[4],
      conversation.messages[5],
    ]);
    const plain = { ...conversation, messages: [conversation.messages[4]] };
    expect(withoutGatewayThinking(plain)).toBe(plain);
  });

  it('are found by a byte check before any parse', () => {
    expect(mayHoldGatewayThinking(Buffer.from(JSON.stringify(conversation)))).toBe(true);
    expect(
      mayHoldGatewayThinking(Buffer.from(JSON.stringify({ messages: [conversation.messages[4]] }))),
    ).toBe(false);
  });

  it('never reach Anthropic, whose body otherwise passes byte for byte', () => {
    const send = (body: string) =>
      messagesAnthropicTranslator.request({
        operation: 'messages',
        ...bodyInput(Buffer.from(body)),
        backend,
        model: 'claude-sonnet-4-5',
        credential: { type: 'APIKey', apiKey: new SecretValue('sk-ant-provider') },
      }) as { body: Buffer };
    const sent = JSON.parse(send(JSON.stringify(conversation)).body.toString()) as typeof conversation;
    expect(sent.model).toBe('claude-sonnet-4-5');
    expect(JSON.stringify(sent)).not.toContain(GATEWAY_THINKING_SIGNATURE);
    expect(sent.messages).toHaveLength(5);
    const untouched = `{"model":"claude-model", "max_tokens":100,"messages":[${JSON.stringify(conversation.messages[4])}]}`;
    expect(send(untouched).body.toString()).toBe(untouched.replace('"claude-model"', '"claude-sonnet-4-5"'));
  });
});
