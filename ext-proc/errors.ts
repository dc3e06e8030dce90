/**
 * Errors as the client will see them: an HTTP status plus the OpenAI error object
 * (`{"error":{"message","type","param","code"}}`, as the OpenAI API documents it), so the official SDKs
 * raise the matching exception class. Created here, turned into an immediate response in one place.
 */
export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'api_error'
  | 'timeout_error';

export interface OpenAIErrorBody {
  error: { message: string; type: OpenAIErrorType; param: string | null; code: string | null };
}

export class AgentRouterError extends Error {
  constructor(
    readonly status: number,
    readonly type: OpenAIErrorType,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'AgentRouterError';
  }

  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const errors = {
  malformedJson: (detail: string) =>
    new AgentRouterError(
      400,
      'invalid_request_error',
      'invalid_json',
      `Request body is not valid JSON: ${detail}`,
    ),
  duplicateKey: (key: string) =>
    new AgentRouterError(
      400,
      'invalid_request_error',
      'duplicate_key',
      `The request body names the top-level key ${JSON.stringify(key)} more than once (counting escaped spellings such as "\\u0065" for "e"); send each key once.`,
      key,
    ),
  invalidBody: (message: string, param: string | null = null) =>
    new AgentRouterError(400, 'invalid_request_error', 'invalid_request', message, param),
  missingModel: () =>
    new AgentRouterError(
      400,
      'invalid_request_error',
      'missing_model',
      'The request body must name a model, e.g. {"model": "chat-model", ...}.',
      'model',
    ),
  missingKey: () =>
    new AgentRouterError(
      401,
      'authentication_error',
      'missing_api_key',
      'No API key provided. Send it as "Authorization: Bearer <key>" or "x-api-key: <key>".',
    ),
  unsupportedAuthorization: () =>
    new AgentRouterError(
      401,
      'authentication_error',
      'unsupported_authorization',
      'Only "Authorization: Bearer <key>" or "x-api-key: <key>" are accepted.',
    ),
  invalidKey: () =>
    new AgentRouterError(
      401,
      'authentication_error',
      'invalid_api_key',
      'The API key is unknown or has been disabled.',
    ),
  routeConfigInactive: (routeConfig: string) =>
    new AgentRouterError(
      403,
      'permission_error',
      'route_config_inactive',
      `The routing configuration "${routeConfig}" for this key is not active.`,
    ),
  modelNotFound: (model: string) =>
    new AgentRouterError(
      404,
      'invalid_request_error',
      'model_not_found',
      `The model "${model}" does not exist or you do not have access to it. GET /v1/models lists the models this key may use.`,
      'model',
    ),
  noEligibleRoute: (model: string) =>
    new AgentRouterError(
      503,
      'api_error',
      'no_eligible_route',
      `No route for model "${model}" is currently eligible (every entry has weight 0 or its policy does not match).`,
    ),
  bodyTooLarge: (limit: number) =>
    new AgentRouterError(
      413,
      'invalid_request_error',
      'request_too_large',
      `Request body exceeds the gateway limit of ${limit} bytes.`,
    ),
  routeGone: (route: string) =>
    new AgentRouterError(
      503,
      'api_error',
      'route_unavailable',
      `The route "${route}" chosen for this request was removed by a configuration change; retry the request.`,
    ),
  upstreamUnavailable: (detail: string) =>
    new AgentRouterError(
      503,
      'api_error',
      'upstream_unavailable',
      `No backend could serve the request: ${detail}`,
    ),
  badGateway: (detail: string) =>
    new AgentRouterError(
      502,
      'api_error',
      'bad_gateway',
      `The backend returned an invalid response: ${detail}`,
    ),
  upstreamTimeout: (detail: string) =>
    new AgentRouterError(
      504,
      'timeout_error',
      'upstream_timeout',
      `The backend did not answer in time: ${detail}`,
    ),
  /**
   * A provider's 401/403: the credential the gateway sent was refused, not the client's gateway key.
   * 502 (the gateway's upstream failed), with `x-should-retry: false` beside it (upstream-phase.ts).
   */
  providerAuth: (backend: string, provider: string, status: number, own: boolean, said: string) =>
    new AgentRouterError(
      502,
      'api_error',
      'provider_auth_error',
      own
        ? `The ${provider} backend "${backend}" refused the provider credential this API key brings for it (APIKey providerCredentials) with HTTP ${status}; the gateway key itself was accepted. The provider said: ${said}`
        : `The ${provider} backend "${backend}" refused the gateway's own credential for it with HTTP ${status}; your API key was accepted, and retrying will not help until an operator fixes the backend's credentials. The provider said: ${said}`,
    ),
  internal: (detail: string) => new AgentRouterError(500, 'api_error', 'internal_error', detail),
  /** The gateway broke the ext_proc protocol; Envoy answers such a request 500 (failure_mode_allow off). */
  extProcProtocol: (detail: string) =>
    new AgentRouterError(
      500,
      'api_error',
      'ext_proc_protocol_error',
      `The gateway broke the ext_proc protocol: ${detail}.`,
    ),
  /** The gateway is not set up the way agent-router needs (a filter missing, metadata not forwarded). */
  gatewayMisconfigured: (detail: string) =>
    new AgentRouterError(500, 'api_error', 'gateway_misconfigured', detail),
} as const;

/** Maps an HTTP status to the OpenAI error type the SDKs expect for it. */
export function errorTypeForStatus(status: number): OpenAIErrorType {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 408 || status === 504) return 'timeout_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}
