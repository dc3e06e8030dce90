/**
 * Random requests of the two new client APIs through the translators they reach. Random valid
 * Messages requests are made from random Chat Completions requests by our own Chat → Messages
 * translator (each checked against the Messages request checker first); random Responses requests
 * from the same chat requests, as input items. Each goes through the registry's translator for every
 * provider reached through Chat Completions, and the chat request it becomes must give a valid
 * Messages request again.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Credential } from '../../../config/credentials.ts';
import type { Provider } from '../../../config/manifests.ts';
import { SecretValue } from '../../../config/secret-value.ts';
import type { CompiledBackend } from '../../../config/snapshot.ts';
import { toAnthropicRequest } from '../../../ext-proc/translate/anthropic.ts';
import { toChatRequest } from '../../../ext-proc/translate/messages-chat.ts';
import { chatTarget, translatorFor } from '../../../ext-proc/translate/registry.ts';
import { responsesToChat } from '../../../ext-proc/translate/responses-chat.ts';
import { bodyInput, type Operation } from '../../../ext-proc/translate/translator.ts';
import { messagesRequestProblems } from '../../fixtures/anthropic/messages-request.check.ts';
import { chatRequest } from '../../fixtures/openai/chat-request.arbitrary.ts';

const apiKey: Credential = { type: 'APIKey', apiKey: new SecretValue('provider-key') };
const aws: Credential = {
  type: 'AWSAccessKey',
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: new SecretValue('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'),
};
const backend = (provider: Provider): CompiledBackend => ({
  id: `default/${provider}`,
  provider,
  origin: 'https://provider.example',
  basePath: '',
  region: 'us-east-1',
  defaults: {},
});

/** A random valid Messages request: a random chat request as our translator sends it to Anthropic. */
const messagesRequest = chatRequest.map((body) => {
  const { model: _model, ...rest } = toAnthropicRequest(body, { model: 'claude-sonnet-4-5' });
  return { model: 'claude-model', ...rest } as Record<string, unknown>;
});

/** Chat content parts as the Responses API's input parts. */
function responsesContent(content: unknown): unknown {
  if (!Array.isArray(content)) return content ?? '';
  return content.map((part: { type: string; text?: string; image_url?: { url: string } }) =>
    part.type === 'image_url'
      ? { type: 'input_image', image_url: part.image_url!.url }
      : { type: 'input_text', text: part.text ?? '' },
  );
}

/** A random Responses request with the same conversation as input items. */
const responsesRequest = chatRequest.map((body) => {
  const input: Record<string, unknown>[] = [];
  for (const message of body.messages as Record<string, unknown>[]) {
    if (message.role === 'tool')
      input.push({ type: 'function_call_output', call_id: message.tool_call_id, output: message.content });
    else if (Array.isArray(message.tool_calls))
      for (const call of message.tool_calls as {
        id: string;
        function: { name: string; arguments: string };
      }[])
        input.push({
          type: 'function_call',
          call_id: call.id,
          name: call.function.name,
          arguments: call.function.arguments,
        });
    else input.push({ role: message.role, content: responsesContent(message.content) });
  }
  const request: Record<string, unknown> = { model: 'agent-model', input, stream: body.stream === true };
  if (Array.isArray(body.tools))
    request.tools = (body.tools as { function: Record<string, unknown> }[]).map((tool) => ({
      type: 'function',
      ...tool.function,
    }));
  return request;
});

async function sendsJson(
  operation: Operation,
  provider: Provider,
  body: Record<string, unknown>,
): Promise<void> {
  const request = await translatorFor(operation, provider)!.request({
    operation,
    ...bodyInput(Buffer.from(JSON.stringify(body))),
    backend: backend(provider),
    model: 'provider-model',
    credential: provider === 'Bedrock' ? aws : apiKey,
  });
  expect(() => JSON.parse(request.body.toString())).not.toThrow();
}

/** Bedrock with a model that is not Claude: Messages go through Converse. */
const CHAT_PROVIDERS: Provider[] = ['OpenAI', 'OpenAICompatible', 'Mistral', 'Gemini', 'Bedrock'];

describe('random Messages requests', () => {
  it('are valid to begin with, and their chat request, for every chat target, gives a valid Messages request again', () => {
    fc.assert(
      fc.property(messagesRequest, fc.constantFrom(...CHAT_PROVIDERS), (body, provider) => {
        expect(messagesRequestProblems({ ...body, model: 'x' })).toEqual([]);
        const chat = toChatRequest(body, chatTarget(provider, 'a test backend'));
        const again = toAnthropicRequest(chat, { model: 'claude-sonnet-4-5' });
        expect(messagesRequestProblems(again as unknown as Record<string, unknown>)).toEqual([]);
        expect(again.messages.length).toBe((body.messages as unknown[]).length);
      }),
      { numRuns: 300 },
    );
  });

  it('translate for every provider reached through Chat Completions', async () => {
    await fc.assert(
      fc.asyncProperty(messagesRequest, fc.constantFrom(...CHAT_PROVIDERS), (body, provider) =>
        sendsJson('messages', provider, body),
      ),
      { numRuns: 200 },
    );
  });
});

describe('random Responses requests', () => {
  it('give a chat request that gives a valid Messages request', () => {
    fc.assert(
      fc.property(responsesRequest, (body) => {
        const chat = responsesToChat(body, chatTarget('OpenAI', 'a test backend'));
        const sent = toAnthropicRequest(chat, { model: 'claude-sonnet-4-5' });
        expect(messagesRequestProblems(sent as unknown as Record<string, unknown>)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('translate for every provider reached through Chat Completions', async () => {
    await fc.assert(
      fc.asyncProperty(
        responsesRequest,
        fc.constantFrom<Provider>('Anthropic', 'Mistral', 'Gemini'),
        (body, provider) => sendsJson('responses', provider, body),
      ),
      { numRuns: 200 },
    );
  });
});
