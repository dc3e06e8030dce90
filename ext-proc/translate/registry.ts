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
import { type ChatTarget, viaChat } from './via-chat.ts';

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
 * What each provider's chat translator takes beyond Chat Completions (via-chat.ts ChatTarget); a
 * provider not listed takes nothing more. Where a field is not taken, the adapters drop it:
 * - `top_k`: OpenAI-compatible servers take it (vLLM's and SGLang's extra sampling parameters,
 *   docs.vllm.ai "Extra Parameters"), and Gemini as generationConfig.topK. OpenAI and Azure refuse
 *   unknown parameters, Mistral's API has none, and Bedrock Converse has no topK in inferenceConfig
 *   (its additionalModelRequestFields name it differently for each model family).
 * - `reasoning_content` on earlier assistant turns: OpenAI-compatible servers, the field's home
 *   (DeepSeek's thinking mode needs it back on every turn that called tools, answers 400 without it,
 *   and ignores it on other turns: api-docs.deepseek.com/guides/thinking_mode). Anthropic and
 *   Bedrock would need Claude's signature with it, Gemini its thought signatures, and OpenAI's
 *   schema has no such member.
 * - `cache_control`: Anthropic and Claude on Vertex take it as it is, Bedrock as cachePoint blocks.
 */
const CHAT_TARGETS: ReadonlyMap<Provider, Omit<ChatTarget, 'name'>> = new Map<
  Provider,
  Omit<ChatTarget, 'name'>
>([
  ['OpenAICompatible', { topK: true, reasoningContent: true, cacheControl: false }],
  ['Gemini', { topK: true, reasoningContent: false, cacheControl: false }],
  ['VertexAI', { topK: true, reasoningContent: false, cacheControl: false }],
  ['Anthropic', { topK: false, reasoningContent: false, cacheControl: true }],
  ['VertexAnthropic', { topK: false, reasoningContent: false, cacheControl: true }],
  ['Bedrock', { topK: false, reasoningContent: false, cacheControl: true }],
]);

const NO_EXTRAS: Omit<ChatTarget, 'name'> = { topK: false, reasoningContent: false, cacheControl: false };

/** The chat target a provider is for an adapter; `name` as a client's 400 names it. */
export function chatTarget(provider: Provider, name = `a ${provider} backend`): ChatTarget {
  return { name, ...(CHAT_TARGETS.get(provider) ?? NO_EXTRAS) };
}

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
          ? messagesBedrockTranslator(
              viaChat(messagesChatAdapter, chat, chatTarget(provider, 'a Bedrock backend (Converse)')),
            )
          : (NATIVE_MESSAGES.get(provider) ??
            viaChat(messagesChatAdapter, chat, chatTarget(provider, `a ${provider} backend`))),
      ]),
    ),
  ],
  [
    'OpenAIResponses',
    new Map(
      [...translators].map(([provider, chat]) => [
        provider,
        NATIVE_RESPONSES.has(provider)
          ? chat
          : viaChat(responsesChatAdapter, chat, chatTarget(provider, `a ${provider} backend`)),
      ]),
    ),
  ],
]);

export function translatorFor(operation: Operation, provider: Provider): Translator | undefined {
  return BY_CLIENT_SCHEMA.get(CLIENT_SCHEMA[operation])?.get(provider);
}
