/**
 * OpenAI and OpenAI-compatible servers (vLLM, SGLang, Ollama, LiteLLM, …): the client's format already
 * is the provider's, so a request only changes path, credentials and `model`; responses pass through
 * untouched and are never parsed here.
 */
import { openAIErrorFrom } from './openai-error.ts';
import type { Operation, Translator, UpstreamRequest, UpstreamRequestInput } from './translator.ts';

const PATHS: Record<Operation, string> = {
  'chat.completions': '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
};

/** Headers other providers authenticate with; a gateway key or another provider's key must not leak here. */
const FOREIGN_AUTH_HEADERS = ['x-api-key', 'api-key', 'x-goog-api-key'];

export function openAITranslator(providerName: string): Translator {
  return {
    convertsResponses: false,
    request(input: UpstreamRequestInput): UpstreamRequest {
      const body = input.body.model === input.model ? input.body : { ...input.body, model: input.model };
      const headers: [string, string][] = [['content-type', 'application/json']];
      const removeHeaders = [...FOREIGN_AUTH_HEADERS];
      if (input.credential) headers.push(['authorization', `Bearer ${input.credential.reveal()}`]);
      else removeHeaders.push('authorization');
      return {
        path: input.backend.basePath + PATHS[input.operation],
        headers,
        removeHeaders,
        body: Buffer.from(JSON.stringify(body)),
      };
    },
    responseBody: (body) => body,
    createStream: () => ({ chunk: () => undefined }),
    error: (status, body) => openAIErrorFrom(status, body, providerName),
  };
}
