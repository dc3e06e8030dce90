/**
 * What the router-level phase needs to know about the API a client speaks (translate/translator.ts
 * ClientSchema): the shape its errors take, where its answers carry token usage, and which request
 * field names a session. One object per client schema, chosen once per request from the path; the
 * per-attempt phase picks the translator for (client schema × provider schema) from registry.ts.
 */
import type { AgentRouterError, OpenAIErrorBody } from './errors.ts';
import { CLIENT_SCHEMA, type ClientSchema, type Operation } from './translate/translator.ts';
import {
  EventUsageScanner,
  SseUsageScanner,
  type TokenUsage,
  type UsageScanner,
  usageFromJson,
} from './usage.ts';

export interface ClientApi {
  readonly schema: ClientSchema;
  /**
   * The client's error body for a gateway error, or for a provider error the per-attempt phase has
   * normalised to the OpenAI error object. Undefined: the OpenAI object is the client's shape.
   */
  errorBody?(status: number, error: OpenAIErrorBody): unknown;
  /** Usage of a buffered successful answer. */
  usage(body: Buffer): TokenUsage | undefined;
  /** A scanner for a successful stream; `strip` when the client did not ask for a usage chunk. */
  usageScanner(strip: boolean): UsageScanner;
  /** Whether the client asked for the usage chunk that the gateway asks every provider for. */
  clientAsksUsage(request: Record<string, unknown>): boolean;
  /** The request's own session key, where its API has one. */
  sessionKey(request: Record<string, unknown>): string | undefined;
}

const openAIChat: ClientApi = {
  schema: 'OpenAIChat',
  usage: usageFromJson,
  usageScanner: (strip) => new SseUsageScanner(strip),
  clientAsksUsage: (request) =>
    (request.stream_options as { include_usage?: unknown } | null | undefined)?.include_usage === true,
  sessionKey: (request) => (typeof request.user === 'string' ? request.user : undefined),
};

/**
 * The Responses API: errors are the OpenAI error object; usage is the response object's (buffered) or
 * `response.completed`'s `response.usage` (platform.openai.com/docs/api-reference/responses-streaming);
 * no usage chunk is ever added to its stream, so there is nothing to strip.
 */
const openAIResponses: ClientApi = {
  schema: 'OpenAIResponses',
  usage: usageFromJson,
  usageScanner: () => new EventUsageScanner(),
  clientAsksUsage: () => true,
  sessionKey: (request) =>
    typeof request.user === 'string'
      ? request.user
      : typeof request.safety_identifier === 'string'
        ? request.safety_identifier
        : undefined,
};

/**
 * Anthropic's error type for each HTTP status, as platform.claude.com/docs/en/api/errors lists them
 * (400 invalid_request_error, 401 authentication_error, 403 permission_error, 404 not_found_error,
 * 413 request_too_large, 429 rate_limit_error, 500 api_error, 529 overloaded_error); "we may also use
 * [invalid_request_error] for other 4XX status codes", and other 5xx (the gateway's 502, 503, 504) are
 * api_error.
 */
const ANTHROPIC_ERROR_TYPES: ReadonlyMap<number, string> = new Map([
  [400, 'invalid_request_error'],
  [401, 'authentication_error'],
  [403, 'permission_error'],
  [404, 'not_found_error'],
  [413, 'request_too_large'],
  [429, 'rate_limit_error'],
  [500, 'api_error'],
  [529, 'overloaded_error'],
]);

export function anthropicErrorType(status: number): string {
  return ANTHROPIC_ERROR_TYPES.get(status) ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

/** `{"type":"error","error":{"type","message"}}`, the shape of every Anthropic error response. */
export function anthropicErrorBody(status: number, error: OpenAIErrorBody): unknown {
  return { type: 'error', error: { type: anthropicErrorType(status), message: error.error.message } };
}

/**
 * The Messages API: usage is the message's (`usage.input_tokens`, cache reads and writes,
 * `output_tokens`), in a stream `message_start`'s `message.usage` then `message_delta`'s cumulative
 * `usage` (platform.claude.com/docs/en/build-with-claude/streaming). The session is
 * `metadata.user_id`, Anthropic's end-user id.
 */
const anthropicMessages: ClientApi = {
  schema: 'AnthropicMessages',
  errorBody: anthropicErrorBody,
  usage: usageFromJson,
  usageScanner: () => new EventUsageScanner(),
  clientAsksUsage: () => true,
  sessionKey: (request) => {
    const user = (request.metadata as { user_id?: unknown } | null | undefined)?.user_id;
    return typeof user === 'string' ? user : undefined;
  },
};

const CLIENT_APIS: Readonly<Record<ClientSchema, ClientApi>> = {
  OpenAIChat: openAIChat,
  OpenAIResponses: openAIResponses,
  AnthropicMessages: anthropicMessages,
};

export function clientApiOf(operation: Operation | undefined): ClientApi {
  return operation === undefined ? openAIChat : CLIENT_APIS[CLIENT_SCHEMA[operation]];
}

/** The client's view of a gateway error (an immediate response). */
export function clientErrorBody(api: ClientApi, error: AgentRouterError): unknown {
  const body = error.toBody();
  return api.errorBody ? api.errorBody(error.status, body) : body;
}
