/**
 * OpenAI and OpenAI-compatible servers (vLLM, SGLang, Ollama, LiteLLM, …): the client's format already
 * is the provider's, so a request only changes path, credentials and `model`; responses pass through
 * untouched and are never parsed here.
 */
import { errors } from '../errors.ts';
import { spliceValues, topLevelValues } from '../json/top-level.ts';
import { openAIErrorFrom } from './openai-error.ts';
import {
  bearerOf,
  type Operation,
  type Translator,
  type UpstreamRequest,
  type UpstreamRequestInput,
} from './translator.ts';

/** The operations an OpenAI-format server takes as the client sent them (Messages are translated, registry.ts). */
export const OPENAI_PATHS: Readonly<Partial<Record<Operation, string>>> = {
  'chat.completions': '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
  responses: '/responses',
};

/** The upstream path of an operation an OpenAI-format server takes, or a 400 naming the backend. */
export function openAIPath(operation: Operation, providerName: string): string {
  const path = OPENAI_PATHS[operation];
  if (path === undefined)
    throw errors.invalidBody(`The ${providerName} serves no ${operation} operation as such.`);
  return path;
}

/**
 * Operations whose streams take `stream_options.include_usage`: Chat Completions and Completions.
 * A Responses stream always ends with `response.completed`, which carries usage
 * (platform.openai.com/docs/api-reference/responses-streaming/response/completed), and the Responses
 * API has no include_usage option to send.
 */
const USAGE_OPTION_OPERATIONS: ReadonlySet<Operation> = new Set(['chat.completions', 'completions']);

/** Headers other providers authenticate with; a gateway key or another provider's key must not leak here. */
const FOREIGN_AUTH_HEADERS = ['x-api-key', 'api-key', 'x-goog-api-key'];

const BODY_KEYS = new Set(['model', 'stream', 'stream_options']);

/**
 * The client's OpenAI body for a provider: `model` replaced and, when `askUsage` and the request
 * streams, `stream_options.include_usage` on, so every stream reports usage for the request log and
 * token metrics (the router-level phase removes the usage chunk for a client that did not ask).
 * Byte splices of the raw body: everything else is sent byte for byte. Keys are matched decoded, and a
 * body naming a top-level key twice is refused (json/top-level.ts), so the spliced `model` is the only
 * `model` any parser can read.
 */
export function openAIBody(input: UpstreamRequestInput, askUsage: boolean): Buffer {
  const spans = topLevelValues(input.raw, BODY_KEYS);
  const find = (key: string) => spans.find((s) => s.key === key);
  const model = spans.filter((s) => s.key === 'model');
  if (model.length === 0) return input.encode({ ...input.json(), model: input.model });
  const stream = find('stream');
  const streams =
    askUsage &&
    USAGE_OPTION_OPERATIONS.has(input.operation) &&
    stream !== undefined &&
    input.raw.toString('latin1', stream.start, stream.end) === 'true';
  if (!streams) return spliceValues(input.raw, model, () => JSON.stringify(input.model));
  const options = find('stream_options');
  if (options === undefined) {
    // No stream_options: added as the last member, before the object's closing brace.
    let close = input.raw.length - 1;
    while (close > 0 && input.raw[close] !== 0x7d) close--;
    const insertion = { key: 'stream_options', start: close, end: close };
    return spliceValues(
      input.raw,
      [...model, insertion].sort((a, b) => a.start - b.start),
      (span) =>
        span.key === 'model' ? JSON.stringify(input.model) : ',"stream_options":{"include_usage":true}',
    );
  }
  const current = parseSpan(input.raw.toString('utf8', options.start, options.end));
  const merged = {
    ...(current && typeof current === 'object' && !Array.isArray(current) ? current : {}),
    include_usage: true,
  };
  const edits = [...model, options].sort((a, b) => a.start - b.start);
  return spliceValues(input.raw, edits, (span) =>
    JSON.stringify(span.key === 'model' ? input.model : merged),
  );
}

/**
 * One member's value. The router-level phase parsed the whole body, but this filter runs on its own
 * and must not fail with a parser's exception on a body that filter never saw.
 */
function parseSpan(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw errors.malformedJson((error as Error).message);
  }
}

export function openAITranslator(providerName: string): Translator {
  return {
    convertsResponses: false,
    request(input: UpstreamRequestInput): UpstreamRequest {
      const headers: [string, string][] = [['content-type', 'application/json']];
      const removeHeaders = [...FOREIGN_AUTH_HEADERS];
      const bearer = bearerOf(input.credential);
      if (bearer) headers.push(['authorization', bearer]);
      else removeHeaders.push('authorization');
      return {
        path: input.backend.basePath + openAIPath(input.operation, providerName),
        headers,
        removeHeaders,
        body: openAIBody(input, input.backend.streamUsage !== false),
      };
    },
    responseBody: (body) => body,
    requestIdHeader: 'x-request-id',
    createStream: () => ({ chunk: () => undefined }),
    error: (status, body) => openAIErrorFrom(status, body, providerName),
  };
}
