/**
 * Every call the web app makes, to its own origin only (the CSP's `connect-src 'self'` refuses the rest).
 * Reads are GETs with the session cookie; writes add `x-csrf-token` (the session's token) and a JSON body,
 * as the console requires of every write. A non-2xx answer becomes an ApiError carrying the API's error
 * object, field-path problems included, so a page shows what the server said.
 */
import type { Problem } from './types.ts';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | undefined,
    readonly param: string | undefined,
    readonly problems: Problem[],
  ) {
    super(message);
  }
}

interface ErrorBody {
  error?: { message?: string; code?: string | null; param?: string | null; problems?: Problem[] };
}

let csrfToken = '';
let onUnauthorized: () => void = () => {};

/** Called when a call other than the session's answers 401: the session ended (expired, logged out elsewhere). */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

/** Set from GET/POST /api/v1/session; sent on every write. */
export function setCsrfToken(token: string): void {
  csrfToken = token;
}

async function answer<T>(response: Response, path: string): Promise<T> {
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (response.ok) return body as T;
  if (response.status === 401 && path !== 'session') onUnauthorized();
  const error = (body as ErrorBody | undefined)?.error;
  throw new ApiError(
    response.status,
    error?.message ?? `${response.status} ${response.statusText}`,
    error?.code ?? undefined,
    error?.param ?? undefined,
    error?.problems ?? [],
  );
}

/** GET `path` (under /api/v1/) with `params`; empty values are left out. */
export async function get<T>(path: string, params: Record<string, string | undefined> = {}): Promise<T> {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value) query.set(name, value);
  const suffix = query.size > 0 ? `?${query}` : '';
  return answer<T>(
    await fetch(`/api/v1/${path}${suffix}`, {
      credentials: 'same-origin',
      headers: { accept: 'application/json' },
    }),
    path,
  );
}

/** A write: POST, PUT, PATCH or DELETE with a JSON body and the CSRF token. */
export async function send<T>(
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<T> {
  return answer<T>(
    await fetch(`/api/v1/${path}`, {
      method,
      credentials: 'same-origin',
      headers: { accept: 'application/json', 'content-type': 'application/json', 'x-csrf-token': csrfToken },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
    path,
  );
}

/** A path segment, percent-encoded (logical names and key names may hold `/` or spaces). */
export const segment = (name: string) => encodeURIComponent(name);
