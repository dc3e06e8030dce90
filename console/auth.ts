/**
 * Read access to the console API: `Authorization: Bearer <admin token>`. The token is read through
 * `AdminToken` on every request, so a rotated Secret applies without a restart; an unavailable token
 * (a Secret not found yet) refuses every request rather than opening the API. The comparison is over
 * SHA-256 digests with `timingSafeEqual`: constant time whatever the lengths, so the time an answer
 * takes tells nothing about how much of a guess was right.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { type ConsoleError, consoleErrors } from './errors.ts';

export interface AdminToken {
  /** The token in force now; undefined when its source has none (yet). */
  read(): string | undefined;
  /** Where the token comes from, for messages; never the token. */
  readonly source: string;
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** Undefined when `authorization` carries the token; the 401 to answer otherwise. */
export function checkBearer(authorization: string | undefined, token: AdminToken): ConsoleError | undefined {
  if (authorization === undefined || authorization === '') return consoleErrors.missingToken();
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  if (match === null) return consoleErrors.missingToken();
  const expected = token.read();
  if (expected === undefined || expected === '') return consoleErrors.tokenUnavailable(token.source);
  return timingSafeEqual(digest(match[1]!), digest(expected)) ? undefined : consoleErrors.invalidToken();
}

/** A fixed token (from a file or the environment, read once at start). */
export function fixedToken(value: string, source: string): AdminToken {
  const token = value.trim();
  if (token === '') throw new Error(`the console admin token from ${source} is empty`);
  return { read: () => token, source };
}
