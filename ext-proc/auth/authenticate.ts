/**
 * Gateway-key authentication. Keys are known only by their SHA-256; the presented key is hashed, looked
 * up by hash, and the digests compared in constant time, so neither the key nor its prefix leaks through
 * timing. A disabled key and an unknown key get the same answer.
 */
import { sha256Hex } from '../../config/compile.ts';
import type { CompiledRouteConfig, Snapshot } from '../../config/snapshot.ts';
import { errors } from '../errors.ts';

export interface Caller {
  /** APIKey "<namespace>/<name>", or "anonymous" for a keyless request. */
  keyId: string;
  routeConfig: CompiledRouteConfig;
  attributes: Readonly<Record<string, string>>;
}

const ANONYMOUS_ATTRIBUTES: Readonly<Record<string, string>> = Object.freeze({});
const BEARER = /^bearer\s+(.+)$/i;
/** "Bearer" with no token, as SDKs send when configured with an empty key: no key at all. */
const EMPTY_BEARER = /^bearer\s*$/i;

/** The gateway key from `Authorization: Bearer …` or `x-api-key`, as the OpenAI and Anthropic SDKs send it. */
export function presentedKey(
  authorization: string | undefined,
  xApiKey: string | undefined,
): string | undefined {
  const key = xApiKey?.trim();
  if (authorization !== undefined && authorization.trim() !== '') {
    const match = BEARER.exec(authorization.trim());
    if (match) return match[1]!.trim();
    // Another scheme (Basic, …) is a credential we cannot accept: never downgrade it to keyless.
    if (!key && !EMPTY_BEARER.test(authorization.trim())) throw errors.unsupportedAuthorization();
  }
  return key ? key : undefined;
}

export function authenticate(snapshot: Snapshot, key: string | undefined): Caller {
  if (key === undefined) {
    const routeConfig = snapshot.keylessRouteConfig;
    if (!routeConfig) throw errors.missingKey();
    return { keyId: 'anonymous', routeConfig, attributes: ANONYMOUS_ATTRIBUTES };
  }
  const digest = sha256Hex(key);
  const found = snapshot.keysByHash.get(digest);
  if (!found || !sameDigest(found.hashHex, digest) || found.disabled) throw errors.invalidKey();
  if (!found.routeConfig.active) throw errors.routeConfigInactive(found.routeConfig.id);
  return { keyId: found.id, routeConfig: found.routeConfig, attributes: found.attributes };
}

/**
 * Whether two hex digests of equal length are equal, in time independent of where they differ (what
 * timingSafeEqual does for Buffers, without making two per request).
 */
export function sameDigest(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}
