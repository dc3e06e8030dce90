/**
 * Anthropic Messages API clients on Claude on Vertex AI: the client's Messages body goes to the
 * publisher model's `:rawPredict` (`:streamRawPredict` for a stream) without `model` (the URL names it)
 * and with `anthropic_version: "vertex-2023-10-16"` (docs.anthropic.com/en/api/claude-on-vertex-ai);
 * `cache_control` breakpoints and every other member are sent as the client wrote them (less thinking
 * blocks the gateway wrote, thinking-signature.ts). Token counting
 * is Vertex AI's `count-tokens:rawPredict`, whose body names the model
 * (cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude/count-tokens). Answers are
 * Anthropic's and pass as they come; only a stream's content type is set, as for chat.
 */
import type { GcpAccessTokens } from '../credentials/gcp-access-token.ts';
import { errors } from '../errors.ts';
import { type GoogleAuth, googleAuth, googleRetryAfter, vertexModelPath } from './google-api.ts';
import { withModel } from './messages-anthropic.ts';
import { mayHoldGatewayThinking, withoutGatewayThinking } from './thinking-signature.ts';
import type { Translator, UpstreamRequest, UpstreamRequestInput } from './translator.ts';
import { VERTEX_ANTHROPIC_VERSION, vertexAnthropicError } from './vertex-anthropic.ts';

function requestOf(input: UpstreamRequestInput): { path: string; body: Buffer } {
  if (input.operation === 'messages.count_tokens')
    return {
      path: vertexModelPath(input.backend, 'anthropic', 'count-tokens', 'rawPredict'),
      body: withModel(input),
    };
  if (input.operation !== 'messages')
    throw errors.internal(`the Vertex Messages translator was given a ${input.operation} request`);
  const json = mayHoldGatewayThinking(input.raw) ? withoutGatewayThinking(input.json()) : input.json();
  const { model: _model, ...rest } = json;
  return {
    path: vertexModelPath(
      input.backend,
      'anthropic',
      input.model,
      rest.stream === true ? 'streamRawPredict' : 'rawPredict',
    ),
    body: input.encode({ anthropic_version: VERTEX_ANTHROPIC_VERSION, ...rest }),
  };
}

export function messagesVertexAnthropicTranslator(tokens?: GcpAccessTokens): Translator {
  return {
    convertsResponses: true,
    request(input: UpstreamRequestInput): UpstreamRequest | Promise<UpstreamRequest> {
      const { path, body } = requestOf(input);
      const build = (auth: GoogleAuth): UpstreamRequest => ({
        path,
        headers: auth.headers,
        // The Anthropic version travels in the body here; a client's header must not contradict it.
        removeHeaders: [...auth.removeHeaders, 'anthropic-version'],
        body,
        secrets: auth.secrets,
      });
      const auth = googleAuth(input.credential, tokens);
      return auth instanceof Promise ? auth.then(build) : build(auth);
    },
    responseHeaders: (_head, context) =>
      context.stream ? { setHeaders: [['content-type', 'text/event-stream']] } : {},
    responseBody: (body) => body,
    createStream: () => ({ chunk: () => undefined }),
    error: vertexAnthropicError,
    retryAfter: googleRetryAfter,
  };
}
