/**
 * Console log-in sessions, held in this process: a random id in an HttpOnly, SameSite=Strict cookie,
 * and per session a CSRF token the page sends back on writes (`x-csrf-token`). A session lives for a
 * bounded time and only while the admin token it was opened with is still the one in force, so rotating
 * the token's Secret ends every session. Ids are kept as SHA-256 digests, and what logs name a session
 * by is an HMAC of its id under a per-process key: it tells sessions apart and reveals nothing to use.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'agent_router_session';
export const DEFAULT_SESSION_TTL_MS = 8 * 60 * 60 * 1000;
/** More sessions than anyone logs in with; beyond it the oldest goes first. */
const MAX_SESSIONS = 1000;

export interface Session {
  csrfToken: string;
  expiresAt: number;
  /** `session:<first 8 hex of the HMAC of the id>`, for the audit log. */
  actor: string;
  /** Digest of the admin token the session was opened with. */
  tokenDigest: Buffer;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();
export const randomToken = () => randomBytes(32).toString('base64url');

/** Compares two secrets in constant time whatever their lengths (over their digests). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

export class SessionStore {
  readonly #sessions = new Map<string, Session>();
  readonly #actorKey = randomBytes(32);
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(options: { ttlMs?: number; now?: () => number } = {}) {
    this.#ttlMs = options.ttlMs ?? DEFAULT_SESSION_TTL_MS;
    this.#now = options.now ?? Date.now;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** Opens a session for a caller who proved `adminToken`; returns the cookie value and the session. */
  open(adminToken: string): { id: string; session: Session } {
    if (this.#sessions.size >= MAX_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value!);
    const id = randomToken();
    const session: Session = {
      csrfToken: randomToken(),
      expiresAt: this.#now() + this.#ttlMs,
      actor: `session:${createHmac('sha256', this.#actorKey).update(id).digest('hex').slice(0, 8)}`,
      tokenDigest: sha256(adminToken),
    };
    this.#sessions.set(this.#key(id), session);
    return { id, session };
  }

  /** The live session of this cookie value, opened with `adminToken`; undefined otherwise. */
  find(id: string | undefined, adminToken: string | undefined): Session | undefined {
    if (id === undefined || id === '') return undefined;
    const key = this.#key(id);
    const session = this.#sessions.get(key);
    if (session === undefined) return undefined;
    if (
      session.expiresAt <= this.#now() ||
      adminToken === undefined ||
      !timingSafeEqual(session.tokenDigest, sha256(adminToken))
    ) {
      this.#sessions.delete(key);
      return undefined;
    }
    return session;
  }

  close(id: string | undefined): void {
    if (id !== undefined) this.#sessions.delete(this.#key(id));
  }

  #key(id: string): string {
    return sha256(id).toString('hex');
  }
}

/** Set-Cookie for a new session. No `Secure`: the console is often plain HTTP on loopback. */
export function sessionCookie(id: string, ttlMs: number): string {
  return `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor(ttlMs / 1000)}`;
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
}

/** The value of cookie `name` in a Cookie header. */
export function readCookie(header: string | undefined, name: string = SESSION_COOKIE): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
