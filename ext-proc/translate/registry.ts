import type { Provider } from '../../config/manifests.ts';
import { openAITranslator } from './openai.ts';
import type { Translator } from './translator.ts';

/** One line per provider schema. Providers not listed here are rejected at config load. */
export const translators: ReadonlyMap<Provider, Translator> = new Map<Provider, Translator>([
  ['OpenAI', openAITranslator('OpenAI')],
  ['OpenAICompatible', openAITranslator('OpenAI-compatible backend')],
]);

export const supportedProviders: ReadonlySet<Provider> = new Set(translators.keys());
