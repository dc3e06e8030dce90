import type { Provider } from '../../config/manifests.ts';
import { anthropicTranslator } from './anthropic.ts';
import { azureOpenAITranslator } from './azure-openai.ts';
import { bedrockTranslator } from './bedrock.ts';
import { geminiTranslator } from './gemini.ts';
import { mistralTranslator } from './mistral.ts';
import { openAITranslator } from './openai.ts';
import type { Translator } from './translator.ts';
import { vertexAnthropicTranslator } from './vertex-anthropic.ts';

/** One line per provider schema. Providers not listed here are rejected at config load. */
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
