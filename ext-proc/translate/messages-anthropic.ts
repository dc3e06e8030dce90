/**
 * Anthropic Messages API clients on Anthropic: the client's body goes as it was sent, with only
 * `model` replaced (modelNameOverride), to `/v1/messages` or `/v1/messages/count_tokens`
 * (platform.claude.com/docs/en/api/messages, …/api/messages-count-tokens), authenticated with the
 * backend's `x-api-key`. The client's `anthropic-beta` header passes as sent (platform.claude.com/docs/en/api/beta-headers),
 * and so does every `cache_control` breakpoint, which stays in the body's bytes; only thinking blocks
 * the gateway wrote for a Chat Completions backend are left out (thinking-signature.ts). Answers, streams
 * included, are Anthropic's and pass unread by this translator; errors are normalised as for chat
 * (anthropic.ts anthropicError) and put back into Anthropic's shape by the router-level phase.
 */
import { errors } from '../errors.ts';
import { spliceValues, topLevelValues } from '../json/top-level.ts';
import { anthropicError, DEFAULT_ANTHROPIC_VERSION } from './anthropic.ts';
import { mayHoldGatewayThinking, withoutGatewayThinking } from './thinking-signature.ts';
import { apiKeyOf, type Translator, type UpstreamRequest, type UpstreamRequestInput } from './translator.ts';

const MODEL_KEY: ReadonlySet<string> = new Set(['model']);

/** Headers other providers and the gateway authenticate with; Anthropic gets only its own x-api-key. */
const FOREIGN_AUTH_HEADERS = ['authorization', 'api-key', 'x-goog-api-key'];

/**
 * The client's body with `model` replaced, byte for byte otherwise; a body holding thinking blocks the
 * gateway wrote (thinking-signature.ts) is re-encoded without them.
 */
export function withModel(input: UpstreamRequestInput): Buffer {
  if (mayHoldGatewayThinking(input.raw))
    return input.encode({ ...withoutGatewayThinking(input.json()), model: input.model });
  const spans = topLevelValues(input.raw, MODEL_KEY);
  if (spans.length === 0) return input.encode({ ...input.json(), model: input.model });
  return spliceValues(input.raw, spans, () => JSON.stringify(input.model));
}

export const messagesAnthropicTranslator: Translator = {
  convertsResponses: false,
  // "Every API response includes a unique request-id header" (platform.claude.com/docs/en/api/errors).
  requestIdHeader: 'request-id',
  request(input: UpstreamRequestInput): UpstreamRequest {
    let path: string;
    if (input.operation === 'messages') path = '/v1/messages';
    else if (input.operation === 'messages.count_tokens') path = '/v1/messages/count_tokens';
    else throw errors.internal(`the Messages translator was given a ${input.operation} request`);
    const headers: [string, string][] = [
      ['content-type', 'application/json'],
      ['anthropic-version', input.backend.apiVersion ?? DEFAULT_ANTHROPIC_VERSION],
    ];
    const removeHeaders = [...FOREIGN_AUTH_HEADERS];
    const key = apiKeyOf(input.credential);
    if (key) headers.push(['x-api-key', key]);
    else removeHeaders.push('x-api-key');
    return { path: `${input.backend.basePath}${path}`, headers, removeHeaders, body: withModel(input) };
  },
  responseBody: (body) => body,
  createStream: () => ({ chunk: () => undefined }),
  error: anthropicError,
};
