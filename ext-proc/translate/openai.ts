/**
 * OpenAI and OpenAI-compatible servers (vLLM, SGLang, Ollama, LiteLLM, …): the client's format already
 * is the provider's, so a request only changes path, credentials and `model`; responses pass through
 * untouched and are never parsed here.
 */
import { spliceValues, topLevelValues } from './json-top-level.ts';
import { openAIErrorFrom } from './openai-error.ts';
import {
  apiKeyOf,
  type Operation,
  type Translator,
  type UpstreamRequest,
  type UpstreamRequestInput,
} from './translator.ts';

const PATHS: Record<Operation, string> = {
  'chat.completions': '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
};

/** Headers other providers authenticate with; a gateway key or another provider's key must not leak here. */
const FOREIGN_AUTH_HEADERS = ['x-api-key', 'api-key', 'x-goog-api-key'];

const MODEL_KEY = new Set(['model']);

/** The body with its `model` replaced: a splice of the raw bytes, everything else byte-for-byte. */
function withModel(input: UpstreamRequestInput, model: string): Buffer {
  const spans = topLevelValues(input.raw, MODEL_KEY);
  if (spans.length > 0) return spliceValues(input.raw, spans, () => JSON.stringify(model));
  return input.encode({ ...input.json(), model });
}

export function openAITranslator(providerName: string): Translator {
  return {
    convertsResponses: false,
    request(input: UpstreamRequestInput): UpstreamRequest {
      const headers: [string, string][] = [['content-type', 'application/json']];
      const removeHeaders = [...FOREIGN_AUTH_HEADERS];
      const key = apiKeyOf(input.credential);
      if (key) headers.push(['authorization', `Bearer ${key}`]);
      else removeHeaders.push('authorization');
      return {
        path: input.backend.basePath + PATHS[input.operation],
        headers,
        removeHeaders,
        body: withModel(input, input.model),
      };
    },
    responseBody: (body) => body,
    requestIdHeader: 'x-request-id',
    createStream: () => ({ chunk: () => undefined }),
    error: (status, body) => openAIErrorFrom(status, body, providerName),
  };
}
