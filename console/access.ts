/**
 * Who is calling the console API, and whether a write may go ahead.
 *
 * Reads: the admin token as `Authorization: Bearer`, or a session cookie (session.ts); with no admin
 * token configured (only allowed on loopback) the API is open, but only to requests addressed to a
 * loopback name — a page on another site that rebinds its DNS name to 127.0.0.1 sends its own Host.
 *
 * Writes add what a cross-site page cannot forge: a JSON content type (a form or a "simple" request
 * cannot send one without a CORS preflight, and the console answers no preflight), an Origin, when the
 * browser sends one, that is the console's own, and for cookie sessions and the open console the CSRF
 * token from GET /api/v1/session (readable only by the console's own page: no CORS headers are sent).
 * A Bearer client carries no ambient credential, so it needs no CSRF token.
 */

import type http from 'node:http';
import { isIP } from 'node:net';
import { type AdminToken, checkBearer } from './auth.ts';
import { consoleErrors } from './errors.ts';
import { readCookie, type Session, type SessionStore, sameSecret } from './session.ts';

export const CSRF_HEADER = 'x-csrf-token';

export interface Principal {
  /** For the audit log: never a token or cookie value. */
  actor: string;
  via: 'token' | 'session' | 'open';
  session?: Session;
}

export interface AccessOptions {
  adminToken: AdminToken | undefined;
  sessions: SessionStore;
  /** The open console's CSRF token (no sessions there): random per process. */
  openCsrfToken: string;
}

/** The caller of an /api/ request; throws the 401 (or 403 for a foreign Host on an open console). */
export function authenticate(req: http.IncomingMessage, options: AccessOptions): Principal {
  if (options.adminToken === undefined) {
    if (!isLoopbackHostHeader(req.headers.host))
      throw consoleErrors.forbiddenWrite(
        'host_not_allowed',
        'The console runs without an admin token, so it answers only requests addressed to 127.0.0.1, [::1] or localhost.',
      );
    return { actor: 'open-loopback', via: 'open' };
  }
  const authorization = req.headers.authorization;
  if (authorization !== undefined && authorization !== '') {
    const denied = checkBearer(authorization, options.adminToken);
    if (denied) throw denied;
    return { actor: 'admin-token', via: 'token' };
  }
  const session = options.sessions.find(readCookie(req.headers.cookie), options.adminToken.read());
  if (session) return { actor: session.actor, via: 'session', session };
  throw checkBearer(undefined, options.adminToken)!;
}

/** Throws the 403 when a write lacks its proof of origin (see the module comment). */
export function checkWrite(
  req: http.IncomingMessage,
  principal: Principal | undefined,
  options: AccessOptions,
  hasBody: boolean,
): void {
  if (hasBody && !isJson(req.headers['content-type']))
    throw consoleErrors.forbiddenWrite(
      'json_required',
      'Writes must send a JSON body with "content-type: application/json".',
    );
  checkOrigin(req);
  if (principal === undefined || principal.via === 'token') return;
  const expected = principal.via === 'session' ? principal.session!.csrfToken : options.openCsrfToken;
  const sent = req.headers[CSRF_HEADER];
  if (typeof sent !== 'string' || sent === '' || !sameSecret(sent, expected))
    throw consoleErrors.forbiddenWrite(
      'csrf_token_invalid',
      `Writes need the "${CSRF_HEADER}" header with the csrfToken from GET /api/v1/session.`,
    );
}

/** An Origin, when the browser sends one, must name this console (the host the request was sent to). */
export function checkOrigin(req: http.IncomingMessage): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let host: string | undefined;
  try {
    host = origin === 'null' ? undefined : new URL(origin).host;
  } catch {
    host = undefined;
  }
  if (host === undefined || host !== req.headers.host)
    throw consoleErrors.forbiddenWrite(
      'origin_not_allowed',
      'Writes are accepted only from the console’s own page (the request’s Origin is another site).',
    );
}

function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/json\s*(;|$)/i.test(contentType);
}

/** A Host header naming 127.0.0.0/8, ::1 or localhost (any port). */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  if (host === undefined) return false;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  if (name === 'localhost' || name === '::1') return true;
  return isIP(name) === 4 && name.startsWith('127.');
}
