/**
 * What the Google translators (Gemini API, Vertex AI Gemini, Anthropic on Vertex) share: the error
 * envelope of Google APIs, Vertex AI publisher-model paths, and the auth header for a credential.
 */
import type { Credential } from '../../config/credentials.ts';
import type { CompiledBackend } from '../../config/snapshot.ts';
import { type GcpAccessTokens, gcpAccessTokens } from '../credentials/gcp-access-token.ts';
import { errors, errorTypeForStatus, type OpenAIErrorBody, type OpenAIErrorType } from '../errors.ts';
import { openAIErrorFrom } from './openai-error.ts';

/** Auth headers of other providers (and a client's gateway key) that must not reach Google. */
const AUTH_HEADERS = ['authorization', 'x-api-key', 'api-key', 'x-goog-api-key'] as const;

export interface GoogleAuth {
  headers: [string, string][];
  removeHeaders: string[];
  /** A minted access token (UpstreamRequest.secrets). */
  secrets?: string[];
}

/**
 * The auth header for an attempt: an API key goes in `x-goog-api-key` (ai.google.dev/api#authentication;
 * Vertex AI express mode takes it too), a service account becomes `authorization: Bearer <access token>`.
 * Every other auth header is removed, so neither the client's gateway key nor another provider's key leaks.
 */
export function googleAuth(
  credential: Credential | undefined,
  tokens: GcpAccessTokens = gcpAccessTokens,
): GoogleAuth | Promise<GoogleAuth> {
  if (credential?.type === 'GCPServiceAccount')
    return tokens
      .token(credential)
      .then((token) => ({ ...withAuth(['authorization', `Bearer ${token}`]), secrets: [token] }));
  return withAuth(credential?.type === 'APIKey' ? ['x-goog-api-key', credential.apiKey.reveal()] : undefined);
}

function withAuth(header: [string, string] | undefined): GoogleAuth {
  return {
    headers: header ? [['content-type', 'application/json'], header] : [['content-type', 'application/json']],
    removeHeaders: AUTH_HEADERS.filter((h) => h !== header?.[0]),
  };
}

/**
 * `…/{version}/projects/{project}/locations/{region}/publishers/{publisher}/models/{model}:{method}`
 * (cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.publishers.models). A model id
 * that already is a resource name (`projects/…/endpoints/…`, a tuned model) is used as it is.
 */
export function vertexModelPath(
  backend: CompiledBackend,
  publisher: 'google' | 'anthropic',
  model: string,
  method: string,
): string {
  const version = backend.apiVersion ?? 'v1';
  if (model.startsWith('projects/')) return `${backend.basePath}/${version}/${model}:${method}`;
  if (!backend.project || !backend.region)
    throw errors.internal(`Vertex AI backend ${backend.id} has no project or region`);
  return `${backend.basePath}/${version}/projects/${backend.project}/locations/${backend.region}/publishers/${publisher}/models/${model}:${method}`;
}

/**
 * google.rpc.Status codes (cloud.google.com/apis/design/errors#handling_errors) as OpenAI error types,
 * so the type agrees with the HTTP status Google chose for each.
 */
const TYPE_BY_STATUS: Record<string, OpenAIErrorType> = {
  INVALID_ARGUMENT: 'invalid_request_error',
  FAILED_PRECONDITION: 'invalid_request_error',
  OUT_OF_RANGE: 'invalid_request_error',
  ALREADY_EXISTS: 'invalid_request_error',
  UNAUTHENTICATED: 'authentication_error',
  PERMISSION_DENIED: 'permission_error',
  NOT_FOUND: 'not_found_error',
  RESOURCE_EXHAUSTED: 'rate_limit_error',
  DEADLINE_EXCEEDED: 'timeout_error',
  CANCELLED: 'api_error',
  ABORTED: 'api_error',
  UNAVAILABLE: 'api_error',
  INTERNAL: 'api_error',
  UNKNOWN: 'api_error',
  UNIMPLEMENTED: 'api_error',
  DATA_LOSS: 'api_error',
};

/** The `error` object of a Google error envelope (bytes or parsed), plain or array-wrapped. */
function googleErrorObject(body: Buffer | unknown): Record<string, unknown> | undefined {
  let parsed: unknown = body;
  if (Buffer.isBuffer(body)) {
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return undefined;
    }
  }
  if (Array.isArray(parsed)) parsed = parsed[0];
  const error = (parsed as { error?: unknown } | undefined)?.error;
  return error && typeof error === 'object' ? (error as Record<string, unknown>) : undefined;
}

/**
 * The Google error envelope `{"error": {"code": 429, "message": "…", "status": "RESOURCE_EXHAUSTED"}}`
 * as an OpenAI error, or undefined when the body has another shape. Vertex AI sometimes wraps the
 * envelope in a one-element array (its JSON-array streaming form); both are read.
 */
export function googleErrorBody(status: number, body: Buffer | unknown): OpenAIErrorBody | undefined {
  const e = googleErrorObject(body);
  if (!e) return undefined;
  if (typeof e.message !== 'string') return undefined;
  const rpcStatus = typeof e.status === 'string' ? e.status : undefined;
  return {
    error: {
      message: e.message,
      type: (rpcStatus && TYPE_BY_STATUS[rpcStatus]) || errorTypeForStatus(status),
      param: null,
      code: rpcStatus ?? (typeof e.code === 'number' ? String(e.code) : `upstream_${status}`),
    },
  };
}

/**
 * The wait a Google error asks for, in whole seconds: its `google.rpc.RetryInfo` detail, whose
 * `retryDelay` is a Duration written as seconds with an "s" suffix ("21s", "1.5s"; protobuf JSON
 * mapping). Clients read it as `retry-after` (the OpenAI SDKs honour that header when they retry).
 */
export function googleRetryAfter(body: Buffer): number | undefined {
  const details = googleErrorObject(body)?.details;
  if (!Array.isArray(details)) return undefined;
  for (const detail of details as { '@type'?: unknown; retryDelay?: unknown }[]) {
    if (typeof detail?.['@type'] !== 'string' || !detail['@type'].endsWith('/google.rpc.RetryInfo')) continue;
    const match = typeof detail.retryDelay === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(detail.retryDelay) : null;
    if (match) return Math.ceil(Number(match[1]));
  }
  return undefined;
}

/** A Google error body of any shape (an HTML page from a front end included) as an OpenAI error. */
export function googleError(status: number, body: Buffer, provider: string): OpenAIErrorBody {
  return googleErrorBody(status, body) ?? openAIErrorFrom(status, body, provider);
}
