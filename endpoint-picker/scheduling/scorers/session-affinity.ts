/**
 * Keeps a session on the pod that served it: 1 for the pod named by the request's session token, 0 for
 * every other pod. The token is the pod's `namespace/name` in standard base64, as llm-d's
 * session-affinity scorer encodes it (llm-d-inference-scheduler pkg/plugins/scorer/session_affinity.go), so
 * it carries all the state: any picker replica, or one restarted a second ago, reads the same pod from it.
 * A token naming a pod that is gone or filtered out (stale, subset) simply matches nothing, and the session
 * moves; the response then carries the new pod's token.
 *
 * Where the token travels: llm-d first used the `x-session-token` header on both the response and the
 * following requests, and later moved to a cookie `llm-d-session` (Set-Cookie on the response). We accept
 * both on requests; the EPP server sets `SESSION_TOKEN_HEADER` on responses (an API client echoes a header
 * more easily than a cookie).
 */
import type { PluginDefinition } from '../plugin.ts';
import type { PodState, SchedulingRequest, Scorer } from '../types.ts';

/** Response and request header carrying the token (llm-d's original convention). */
export const SESSION_TOKEN_HEADER = 'x-session-token';
/** Cookie carrying the token in llm-d's current convention. */
export const SESSION_COOKIE_NAME = 'llm-d-session';

/** The token a response should carry for a request served by `pod`. */
export function sessionTokenFor(pod: PodState | string): string {
  return Buffer.from(typeof pod === 'string' ? pod : pod.name, 'utf8').toString('base64');
}

/** The pod name a token designates, or undefined when it is not a token we issued. */
export function podNameFromSessionToken(token: string): string | undefined {
  if (token.length === 0 || token.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(token)) return undefined;
  const name = Buffer.from(token, 'base64').toString('utf8');
  return name.length > 0 ? name : undefined;
}

/** The token from request headers (lower-case names): the header first, then the cookie. */
export function sessionTokenFromHeaders(headers: Readonly<Record<string, string>>): string | undefined {
  const header = headers[SESSION_TOKEN_HEADER];
  if (header) return header.trim();
  const cookie = headers.cookie;
  if (!cookie) return undefined;
  for (const part of cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE_NAME) return part.slice(eq + 1).trim();
  }
  return undefined;
}

const params = {};

export function sessionAffinityScorer(): Scorer {
  return {
    name: 'session-affinity',
    score(request: SchedulingRequest, pods: readonly PodState[], out: Float64Array): void {
      const token = request.sessionToken ?? sessionTokenFromHeaders(request.headers);
      const target = token === undefined ? undefined : podNameFromSessionToken(token);
      for (let i = 0; i < pods.length; i++) out[i] = pods[i]!.name === target ? 1 : 0;
    },
  };
}

export const sessionAffinityPlugin: PluginDefinition<'scorer', typeof params> = {
  kind: 'scorer',
  type: 'session-affinity',
  params,
  create: () => sessionAffinityScorer(),
};
