import type { ServerResponse } from 'node:http';

/**
 * An error the simulator answers with, in the OpenAI error shape
 * (`{"error":{"message","type","param","code"}}`, https://platform.openai.com/docs/guides/error-codes).
 * Every one is created by a factory below, so a status always comes with the same `type` and `code`.
 */
export class SimHttpError extends Error {
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly code: string | null;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    message: string,
    type: string,
    param: string | null = null,
    code: string | null = null,
    headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'SimHttpError';
    this.status = status;
    this.type = type;
    this.param = param;
    this.code = code;
    this.headers = headers;
  }
}

export function badRequest(message: string, param: string | null = null): SimHttpError {
  return new SimHttpError(400, message, 'invalid_request_error', param);
}

export function invalidApiKey(): SimHttpError {
  // OpenAI answers a missing or wrong key with 401, type invalid_request_error, code invalid_api_key.
  return new SimHttpError(
    401,
    'Incorrect API key provided.',
    'invalid_request_error',
    null,
    'invalid_api_key',
  );
}

export function modelNotFound(model: string): SimHttpError {
  return new SimHttpError(
    404,
    `The model \`${model}\` does not exist.`,
    'invalid_request_error',
    'model',
    'model_not_found',
  );
}

/** A prompt plus completion longer than the KV cache can hold; wording as vLLM's and OpenAI's. */
export function contextLengthExceeded(
  maxModelLen: number,
  promptTokens: number,
  completionTokens: number,
): SimHttpError {
  return new SimHttpError(
    400,
    `This model's maximum context length is ${maxModelLen} tokens. However, you requested ` +
      `${promptTokens + completionTokens} tokens (${promptTokens} in the messages, ` +
      `${completionTokens} in the completion). Please reduce the length of the messages or completion.`,
    'invalid_request_error',
    'messages',
    'context_length_exceeded',
  );
}

export function unknownUrl(method: string, path: string): SimHttpError {
  return new SimHttpError(
    404,
    `Unknown request URL: ${method} ${path}.`,
    'invalid_request_error',
    null,
    'unknown_url',
  );
}

export function methodNotAllowed(method: string, allowed: string): SimHttpError {
  return new SimHttpError(
    405,
    `Method ${method} is not allowed; use ${allowed}.`,
    'invalid_request_error',
    null,
    'method_not_allowed',
    { allow: allowed },
  );
}

export function payloadTooLarge(limitBytes: number): SimHttpError {
  return new SimHttpError(
    413,
    `Request body is larger than ${limitBytes} bytes.`,
    'invalid_request_error',
    null,
    'request_too_large',
  );
}

/** The error an injected fault answers with; 429 and 503 carry `retry-after` so clients exercise their backoff. */
export function injectedFault(status: number, message: string | undefined): SimHttpError {
  const text = message ?? `Injected fault: HTTP ${status}.`;
  if (status === 429) {
    // OpenAI's rate-limit body uses type "requests" and code "rate_limit_exceeded".
    return new SimHttpError(429, text, 'requests', null, 'rate_limit_exceeded', { 'retry-after': '1' });
  }
  if (status === 503) return new SimHttpError(503, text, 'server_error', null, null, { 'retry-after': '1' });
  if (status >= 500) return new SimHttpError(status, text, 'server_error');
  return new SimHttpError(status, text, 'invalid_request_error');
}

export function internalError(): SimHttpError {
  return new SimHttpError(500, 'The simulated model server failed.', 'server_error');
}

export function errorBody(error: SimHttpError): string {
  return JSON.stringify({
    error: { message: error.message, type: error.type, param: error.param, code: error.code },
  });
}

export function writeError(res: ServerResponse, error: SimHttpError): void {
  const body = errorBody(error);
  res.writeHead(error.status, {
    ...error.headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
