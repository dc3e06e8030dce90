/**
 * OAuth 2.0 access tokens for a Google service account, minted with the JWT-bearer flow
 * (developers.google.com/identity/protocols/oauth2/service-account#httprest, RFC 7523): an RS256-signed
 * JWT assertion {iss, scope, aud, iat, exp} POSTed as `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`
 * to the key file's `token_uri`, answered with {access_token, expires_in, token_type}.
 *
 * Tokens are cached per service account until shortly before they expire, and callers that need a token
 * while one is being fetched share that fetch, so a burst of requests costs one round trip an hour.
 * Failures become AgentRouterErrors whose messages name the account and endpoint, never key material.
 */
import { createPrivateKey, sign } from 'node:crypto';
import type { Credential } from '../../config/credentials.ts';
import { AgentRouterError } from '../errors.ts';
import { SecretMatcher } from './secret-matcher.ts';

export type ServiceAccount = Extract<Credential, { type: 'GCPServiceAccount' }>;

/** Vertex AI and the Gemini API both accept the broad Cloud Platform scope. */
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Google caps an assertion's lifetime at one hour. */
const ASSERTION_LIFETIME_S = 3600;

export interface GcpAccessTokensOptions {
  /** Epoch milliseconds; injectable so tests can move time. */
  clock?: () => number;
  fetch?: typeof fetch;
  /** Refresh this long before expiry (google-auth-library refreshes 5 minutes early, too). */
  refreshMarginMs?: number;
  /** Give up on the token endpoint after this long. */
  timeoutMs?: number;
  scope?: string;
}

interface CachedToken {
  token: string;
  /** Epoch ms after which the token is refreshed. */
  refreshAt: number;
}

export class GcpAccessTokens {
  readonly #clock: () => number;
  readonly #fetch: typeof fetch;
  readonly #refreshMarginMs: number;
  readonly #timeoutMs: number;
  readonly #scope: string;
  readonly #cache = new Map<string, CachedToken>();
  readonly #inFlight = new Map<string, Promise<string>>();

  constructor(options: GcpAccessTokensOptions = {}) {
    this.#clock = options.clock ?? Date.now;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#refreshMarginMs = options.refreshMarginMs ?? 5 * 60_000;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#scope = options.scope ?? CLOUD_PLATFORM_SCOPE;
  }

  /** A valid access token for the account: cached, joined to a fetch under way, or freshly minted. */
  token(account: ServiceAccount): Promise<string> {
    // Keyed by endpoint too: the same account name on two token servers is two accounts.
    const key = `${account.tokenUri} ${account.clientEmail}`;
    const cached = this.#cache.get(key);
    if (cached && this.#clock() < cached.refreshAt) return Promise.resolve(cached.token);
    const pending = this.#inFlight.get(key);
    if (pending) return pending;
    const fetching = this.#mint(account).then(
      (minted) => {
        this.#cache.set(key, minted);
        this.#inFlight.delete(key);
        return minted.token;
      },
      (error: unknown) => {
        this.#inFlight.delete(key);
        throw error;
      },
    );
    this.#inFlight.set(key, fetching);
    return fetching;
  }

  /** Forgets every cached token (e.g. after the provider rejected one). */
  clear(): void {
    this.#cache.clear();
  }

  async #mint(account: ServiceAccount): Promise<CachedToken> {
    const issuedAt = Math.floor(this.#clock() / 1000);
    const assertion = signedAssertion(account, this.#scope, issuedAt);
    const who = `service account ${account.clientEmail} at ${account.tokenUri}`;
    let response: Response;
    try {
      response = await this.#fetch(account.tokenUri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion }).toString(),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      throw tokenUnavailable(`could not reach the token endpoint for ${who}: ${describe(error)}`);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw tokenUnavailable(`the token endpoint for ${who} broke off its answer: ${describe(error)}`);
    }
    const body = parseObject(text);
    if (!response.ok) {
      // Google's OAuth errors are {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}.
      // A token endpoint that quotes the assertion (a credential for an hour) must not pass it on.
      const reason = new SecretMatcher([assertion]).redactText(
        [body?.error, body?.error_description].filter((s) => typeof s === 'string').join(': '),
      );
      const detail = `the token endpoint refused ${who} with HTTP ${response.status}${reason ? ` (${reason})` : ''}`;
      throw response.status >= 500 || response.status === 429
        ? tokenUnavailable(detail)
        : tokenRejected(detail);
    }
    const token = body?.access_token;
    if (typeof token !== 'string' || token === '')
      throw tokenRejected(`the token endpoint answered ${who} without an access_token`);
    const expiresIn = typeof body?.expires_in === 'number' ? body.expires_in : Number(body?.expires_in);
    const lifetimeMs =
      (Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : ASSERTION_LIFETIME_S) * 1000;
    // A token that lives less than twice the margin is refreshed half-way instead, never used stale.
    const margin = Math.min(this.#refreshMarginMs, lifetimeMs / 2);
    return { token, refreshAt: this.#clock() + lifetimeMs - margin };
  }
}

/** The signed JWT assertion (header.claims.signature, base64url) for the token request. */
export function signedAssertion(account: ServiceAccount, scope: string, issuedAtSeconds: number): string {
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const claims = base64url(
    JSON.stringify({
      iss: account.clientEmail,
      scope,
      aud: account.tokenUri,
      iat: issuedAtSeconds,
      exp: issuedAtSeconds + ASSERTION_LIFETIME_S,
    }),
  );
  const signingInput = `${header}.${claims}`;
  let signature: Buffer;
  try {
    signature = sign('sha256', Buffer.from(signingInput), createPrivateKey(account.privateKey.reveal()));
  } catch {
    // The crypto error says nothing useful to an operator and must not echo the key: name the account.
    throw new AgentRouterError(
      502,
      'api_error',
      'gcp_credentials_invalid',
      `The private key of service account ${account.clientEmail} cannot sign a token request; check that the Secret holds the JSON key file as downloaded (PEM "private_key").`,
    );
  }
  return `${signingInput}.${signature.toString('base64url')}`;
}

/** The process-wide cache used by the Google translators. */
export const gcpAccessTokens = new GcpAccessTokens();

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return 'timed out';
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(error);
}

function tokenUnavailable(detail: string): AgentRouterError {
  return new AgentRouterError(
    503,
    'api_error',
    'gcp_token_unavailable',
    `Could not obtain a Google access token: ${detail}.`,
  );
}

function tokenRejected(detail: string): AgentRouterError {
  return new AgentRouterError(
    502,
    'api_error',
    'gcp_token_rejected',
    `Could not obtain a Google access token: ${detail}.`,
  );
}
