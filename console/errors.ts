/**
 * The console API's errors as its clients see them: an HTTP status and the OpenAI-like error object
 * (`{"error":{"message","type","param","code"}}`), the shape the gateway's own errors have, so one error
 * reader serves both. Created here, written in one place (server.ts).
 */
export type ConsoleErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'conflict_error'
  | 'api_error';

/** One thing wrong with a submitted configuration: the field path in the object, and why. */
export interface FieldProblem {
  path: string;
  message: string;
}

export interface ConsoleErrorBody {
  error: { message: string; type: ConsoleErrorType; param: string | null; code: string };
  /** Validation failures only. */
  problems?: FieldProblem[];
}

export class ConsoleError extends Error {
  constructor(
    readonly status: number,
    readonly type: ConsoleErrorType,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    readonly problems?: readonly FieldProblem[],
  ) {
    super(message);
    this.name = 'ConsoleError';
  }

  toBody(): ConsoleErrorBody {
    const error = { message: this.message, type: this.type, param: this.param, code: this.code };
    return this.problems ? { error, problems: [...this.problems] } : { error };
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
      `No such endpoint: ${path}. The API serves /api/v1/session, /api/v1/keys, /api/v1/routeconfigs, /api/v1/requests, /api/v1/usage and /api/v1/experiments/{logicalModel}.`,
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
  methodNotAllowed: (method: string, allowed: readonly string[]) =>
    new ConsoleError(
      405,
      'invalid_request_error',
      'method_not_allowed',
      `Method ${method} is not allowed here; this endpoint takes ${allowed.join(', ')}.`,
    ),
  readOnly: () =>
    new ConsoleError(
      403,
      'permission_error',
      'read_only',
      'The console is read-only (--read-only): change the configuration through its source (Git, kubectl) instead.',
    ),
  /** A write that lacks what proves it comes from the console's own page (or a Bearer client). */
  forbiddenWrite: (code: string, message: string) => new ConsoleError(403, 'permission_error', code, message),
  invalidBody: (message: string, param: string | null = null) =>
    new ConsoleError(
      400,
      'invalid_request_error',
      param ? 'invalid_parameter' : 'invalid_json',
      message,
      param,
    ),
  objectNotFound: (kind: string, name: string) =>
    new ConsoleError(
      404,
      'not_found_error',
      `${kind.toLowerCase()}_not_found`,
      `No ${kind} named ${JSON.stringify(name)} in the configuration.`,
    ),
  ambiguousName: (kind: string, name: string, namespaces: readonly string[]) =>
    new ConsoleError(
      409,
      'conflict_error',
      'ambiguous_name',
      `${kind} ${JSON.stringify(name)} exists in several namespaces (${namespaces.join(', ')}); the console edits names that are unique.`,
    ),
  alreadyExists: (kind: string, name: string) =>
    new ConsoleError(
      409,
      'conflict_error',
      'already_exists',
      `A ${kind} named ${JSON.stringify(name)} already exists; choose another name.`,
      'name',
    ),
  versionConflict: (name: string) =>
    new ConsoleError(
      409,
      'conflict_error',
      'version_conflict',
      `RouteConfig ${name} changed since you loaded it (version mismatch); reload it, then make your change again.`,
      'version',
    ),
  /** Refused by a source that decides itself (the API server's 409 on a field owned by another manager). */
  sourceConflict: (message: string) => new ConsoleError(409, 'conflict_error', 'source_conflict', message),
  notTwoVariants: (model: string, found: readonly string[]) =>
    new ConsoleError(
      409,
      'conflict_error',
      'not_two_variants',
      `Canary stages move the weights of exactly two weighted variants; logical model ${JSON.stringify(model)} has ${found.length === 0 ? 'none' : `${found.length} (${found.join(', ')})`} at its preferred priority without a match condition.`,
      'logicalModel',
    ),
  notCutOver: (model: string, old: string, weight: number) =>
    new ConsoleError(
      409,
      'conflict_error',
      'not_cut_over',
      `The old route ${old} of ${JSON.stringify(model)} still has weight ${weight}; step the canary to 100 first, then remove it.`,
      'logicalModel',
    ),
  invalidConfig: (problems: readonly FieldProblem[]) =>
    new ConsoleError(
      422,
      'invalid_request_error',
      'invalid_config',
      `The configuration would not be valid, so nothing was written: ${problems
        .slice(0, 3)
        .map((p) => (p.path ? `${p.path}: ${p.message}` : p.message))
        .join('; ')}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''}.`,
      null,
      problems,
    ),
  noConfigSource: () =>
    new ConsoleError(
      503,
      'api_error',
      'config_source_unavailable',
      'This console was started without a configuration source it can edit, so it cannot read or change keys and RouteConfigs.',
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
