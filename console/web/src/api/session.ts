/**
 * The console session: GET /api/v1/session says whether a log-in is needed, whether writes are allowed
 * and the CSRF token every write carries; POST logs in with the admin token (the server sets an HttpOnly
 * cookie: the token never stays in the page), DELETE logs out.
 */
import { ApiError, get, send, setCsrfToken } from './client.ts';
import type { Session } from './types.ts';

/**
 * A console that predates the session endpoint (404) serves only the read-only analytics API and needs
 * no log-in on loopback: it is treated as open and read-only.
 */
const WITHOUT_SESSIONS: Session = {
  authenticated: true,
  authRequired: false,
  readOnly: true,
  mode: 'file',
  csrfToken: '',
};

function adopt(session: Session): Session {
  setCsrfToken(session.csrfToken);
  return session;
}

export async function loadSession(): Promise<Session> {
  try {
    return adopt(await get<Session>('session'));
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return WITHOUT_SESSIONS;
    throw e;
  }
}

/** Rejects with an ApiError (401) for a wrong token. */
export async function logIn(token: string): Promise<Session> {
  return adopt(await send<Session>('POST', 'session', { token }));
}

export async function logOut(): Promise<void> {
  await send('DELETE', 'session');
  setCsrfToken('');
}
