import type { Provider } from '../../config/manifests.ts';
import { anthropicTranslator } from './anthropic.ts';
import { azureOpenAITranslator } from './azure-openai.ts';
import { bedrockTranslator } from './bedrock.ts';
import { geminiTranslator } from './gemini.ts';
import { messagesAnthropicTranslator } from './messages-anthropic.ts';
import { messagesBedrockTranslator } from './messages-bedrock.ts';
import { messagesChatAdapter } from './messages-chat.ts';
import { messagesVertexAnthropicTranslator } from './messages-vertex-anthropic.ts';
import { mistralTranslator } from './mistral.ts';
import { openAITranslator } from './openai.ts';
import { responsesChatAdapter } from './responses-chat.ts';
import { CLIENT_SCHEMA, type ClientSchema, type Operation, type Translator } from './translator.ts';
import { vertexAnthropicTranslator } from './vertex-anthropic.ts';
import { viaChat } from './via-chat.ts';

/** One line per provider schema: its Chat Completions translator. Providers not listed are rejected at config load. */
export const translators: ReadonlyMap<Provider, Translator> = new Map<Provider, Translator>([
  ['OpenAI', openAITranslator('OpenAI')],
  ['OpenAICompatible', openAITranslator('OpenAI-compatible backend')],
  ['AzureOpenAI', azureOpenAITranslator()],
  ['Mistral', mistralTranslator()],
  ['Anthropic', anthropicTranslator],
  ['Gemini', geminiTranslator('Gemini')],
  ['VertexAI', geminiTranslator('VertexAI')],
  ['VertexAnthropic', vertexAnthropicTranslator()],
  ['Bedrock', bedrockTranslator],
]);

export const supportedProviders: ReadonlySet<Provider> = new Set(translators.keys());

/**
 * Providers that serve the Anthropic Messages API natively: the client's body passes. Bedrock does
 * for Claude models only, and chooses by model id (messages-bedrock.ts).
 */
const NATIVE_MESSAGES: ReadonlyMap<Provider, Translator> = new Map<Provider, Translator>([
  ['Anthropic', messagesAnthropicTranslator],
  ['VertexAnthropic', messagesVertexAnthropicTranslator()],
]);

/**
 * Providers that serve the OpenAI Responses API: their OpenAI translator sends it as it came. Others
 * get its stateless part through Chat Completions (responses-chat.ts).
 */
const NATIVE_RESPONSES: ReadonlySet<Provider> = new Set(['OpenAI', 'OpenAICompatible', 'AzureOpenAI']);

/**
 * The translator for every (client schema × provider) pair, compiled once at load: a request looks its
 * pair up, nothing else is decided per request.
 */
const BY_CLIENT_SCHEMA: ReadonlyMap<ClientSchema, ReadonlyMap<Provider, Translator>> = new Map([
  ['OpenAIChat', translators],
  [
    'AnthropicMessages',
    new Map(
      [...translators].map(([provider, chat]) => [
        provider,
        provider === 'Bedrock'
          ? messagesBedrockTranslator(viaChat(messagesChatAdapter, chat, 'a Bedrock backend (Converse)'))
          : (NATIVE_MESSAGES.get(provider) ?? viaChat(messagesChatAdapter, chat, `a ${provider} backend`)),
      ]),
    ),
  ],
  [
    'OpenAIResponses',
    new Map(
      [...translators].map(([provider, chat]) => [
        provider,
        NATIVE_RESPONSES.has(provider) ? chat : viaChat(responsesChatAdapter, chat, `a ${provider} backend`),
      ]),
    ),
  ],
]);

export function translatorFor(operation: Operation, provider: Provider): Translator | undefined {
  return BY_CLIENT_SCHEMA.get(CLIENT_SCHEMA[operation])?.get(provider);
}
