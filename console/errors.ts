/**
 * The console API's errors as its clients see them: an HTTP status and the OpenAI-like error object
 * (`{"error":{"message","type","param","code"}}`), the shape the gateway's own errors have, so one error
 * reader serves both. Created here, written in one place (server.ts).
 */
export type ConsoleErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'api_error';

export interface ConsoleErrorBody {
  error: { message: string; type: ConsoleErrorType; param: string | null; code: string };
}

export class ConsoleError extends Error {
  constructor(
    readonly status: number,
    readonly type: ConsoleErrorType,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'ConsoleError';
  }

  toBody(): ConsoleErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const consoleErrors = {
  invalidParameter: (param: string, message: string) =>
    new ConsoleError(400, 'invalid_request_error', 'invalid_parameter', message, param),
  unknownParameter: (param: string, allowed: readonly string[]) =>
    new ConsoleError(
      400,
      'invalid_request_error',
      'unknown_parameter',
      `Unknown query parameter ${JSON.stringify(param)}; this endpoint takes ${allowed.join(', ')}.`,
      param,
    ),
  repeatedParameter: (param: string) =>
    new ConsoleError(
      400,
      'invalid_request_error',
      'invalid_parameter',
      `Query parameter ${JSON.stringify(param)} is given more than once; give it once.`,
      param,
    ),
  missingToken: () =>
    new ConsoleError(
      401,
      'authentication_error',
      'missing_admin_token',
      'The console API needs the admin token: send "Authorization: Bearer <token>".',
    ),
  invalidToken: () =>
    new ConsoleError(401, 'authentication_error', 'invalid_admin_token', 'The admin token is not valid.'),
  tokenUnavailable: (where: string) =>
    new ConsoleError(
      401,
      'authentication_error',
      'admin_token_unavailable',
      `The console has no admin token to check against (${where}); every request is refused until it has one.`,
    ),
  notFound: (path: string) =>
    new ConsoleError(
      404,
      'not_found_error',
      'unknown_url',
      `No such endpoint: ${path}. The API serves GET /api/v1/requests, /api/v1/usage and /api/v1/experiments/{logicalModel}.`,
    ),
  unknownLogicalModel: (model: string) =>
    new ConsoleError(
      404,
      'not_found_error',
      'model_not_found',
      `No active RouteConfig routes the logical model ${JSON.stringify(model)}.`,
      'logicalModel',
    ),
  noSplit: (model: string, routeConfig: string) =>
    new ConsoleError(
      404,
      'not_found_error',
      'no_weighted_split',
      `The logical model ${JSON.stringify(model)} has no weighted split in RouteConfig ${routeConfig} (only policy entries), so there is no experiment to analyse.`,
      'logicalModel',
    ),
  methodNotAllowed: (method: string) =>
    new ConsoleError(
      405,
      'invalid_request_error',
      'method_not_allowed',
      `Method ${method} is not allowed; the console API is read-only (GET).`,
    ),
  storeUnavailable: () =>
    new ConsoleError(
      503,
      'api_error',
      'store_unavailable',
      'The request store is not reachable yet; try again shortly.',
    ),
  internal: () =>
    new ConsoleError(500, 'api_error', 'internal_error', 'The console failed to answer; see its log.'),
};
