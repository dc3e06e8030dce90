/**
 * Claude on Vertex AI: the Anthropic Messages API behind a Vertex AI publisher-model URL
 * (docs.anthropic.com/en/api/claude-on-vertex-ai, cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude):
 * POST …/publishers/anthropic/models/{model}:rawPredict, or :streamRawPredict for a stream; the body is a
 * Messages request without `model` (the URL names it) and with `anthropic_version: "vertex-2023-10-16"`
 * in place of the anthropic-version header; a service account's Bearer token authenticates. Responses,
 * streams and model errors are Anthropic's, converted by the Anthropic translator; errors raised by
 * Vertex AI itself (quota, permissions, unknown model) come in Google's envelope.
 * `spec.apiVersion` of such a backend is the Vertex AI REST version (default v1).
 */
import type { GcpAccessTokens } from '../credentials/gcp-access-token.ts';
import { errors, type OpenAIErrorBody } from '../errors.ts';
import {
  AnthropicStreamTranslator,
  anthropicError,
  anthropicResponseBody,
  toAnthropicRequest,
} from './anthropic.ts';
import {
  type GoogleAuth,
  googleAuth,
  googleErrorBody,
  googleRetryAfter,
  vertexModelPath,
} from './google-api.ts';
import type { ResponseContext, Translator, UpstreamRequest, UpstreamRequestInput } from './translator.ts';

/** The one value Vertex AI accepts for Claude (docs.anthropic.com/en/api/claude-on-vertex-ai). */
export const VERTEX_ANTHROPIC_VERSION = 'vertex-2023-10-16';

/**
 * The Messages request Vertex AI expects for an OpenAI chat body. Structured outputs are available on
 * the Claude API and Bedrock (platform.claude.com/docs/en/build-with-claude/structured-outputs), not
 * on Vertex AI, so a JSON schema response format is dropped here, as for any field the provider lacks.
 */
export function toVertexAnthropicRequest(
  body: Record<string, unknown>,
  options: { model: string; maxTokens?: number | undefined },
): Record<string, unknown> {
  const { model: _model, output_config, ...request } = toAnthropicRequest(body, options);
  const effort = output_config?.effort;
  return {
    anthropic_version: VERTEX_ANTHROPIC_VERSION,
    ...request,
    ...(effort ? { output_config: { effort } } : {}),
  };
}

/**
 * Errors from the model are Anthropic's `{"type":"error","error":{…}}`; errors from Vertex AI's front end
 * are Google's `{"error":{"code","message","status"}}` (sometimes in an array).
 */
export function vertexAnthropicError(status: number, body: Buffer): OpenAIErrorBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return anthropicError(status, body);
  }
  if ((parsed as { type?: unknown } | null)?.type === 'error') return anthropicError(status, body);
  return googleErrorBody(status, parsed) ?? anthropicError(status, body);
}

export function vertexAnthropicTranslator(tokens?: GcpAccessTokens): Translator {
  return {
    convertsResponses: true,
    request(input: UpstreamRequestInput): UpstreamRequest | Promise<UpstreamRequest> {
      if (input.operation !== 'chat.completions')
        throw errors.invalidBody(
          `Claude on Vertex AI serves /v1/chat/completions only; ${input.operation} is not available for this model.`,
        );
      const json = input.json();
      const method = json.stream === true ? 'streamRawPredict' : 'rawPredict';
      const path = vertexModelPath(input.backend, 'anthropic', input.model, method);
      const body = input.encode(
        toVertexAnthropicRequest(json, { model: input.model, maxTokens: input.backend.defaults.maxTokens }),
      );
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
    responseBody: (body: Buffer, context: ResponseContext) =>
      anthropicResponseBody(body, context, 'Claude on Vertex AI'),
    createStream: (context) => new AnthropicStreamTranslator(context),
    error: vertexAnthropicError,
    // Vertex AI's own quota errors carry Google's RetryInfo.
    retryAfter: googleRetryAfter,
  };
}
