/**
 * The request's `:path` as ext-proc uses it. Only the path part is ever routed on, logged, put in
 * metadata or quoted in an error: a query string may carry a secret (Gemini's `?key=`, OAuth's
 * `?access_token=`), and none of the OpenAI endpoints we serve takes a query parameter.
 */

/** `:path` without its query string (and fragment, which a client should not send at all). */
export function pathOnly(rawPath: string): string {
  let end = rawPath.length;
  const query = rawPath.indexOf('?');
  if (query >= 0) end = query;
  const fragment = rawPath.indexOf('#');
  if (fragment >= 0 && fragment < end) end = fragment;
  return end === rawPath.length ? rawPath : rawPath.slice(0, end);
}

/**
 * Query parameter names clients put credentials in: Google's API keys (`key`, as the Gemini API
 * documents it), OAuth 2.0 bearer tokens in the URI query (`access_token`, RFC 6750 §2.3), and the
 * usual spellings of an API key parameter. Compared case-insensitively.
 */
const CREDENTIAL_PARAMETERS: ReadonlySet<string> = new Set([
  'key',
  'api_key',
  'api-key',
  'apikey',
  'x-api-key',
  'access_token',
  'auth_token',
  'authorization',
]);

/** The first query parameter of `rawPath` that carries a credential, by name; undefined if none. */
export function credentialParameter(rawPath: string): string | undefined {
  const query = rawPath.indexOf('?');
  if (query < 0) return undefined;
  const fragment = rawPath.indexOf('#', query);
  const text = rawPath.slice(query + 1, fragment < 0 ? rawPath.length : fragment);
  for (const pair of text.split('&')) {
    const equals = pair.indexOf('=');
    const raw = equals < 0 ? pair : pair.slice(0, equals);
    let name: string;
    try {
      name = decodeURIComponent(raw.replaceAll('+', ' '));
    } catch {
      name = raw;
    }
    name = name.trim().toLowerCase();
    if (CREDENTIAL_PARAMETERS.has(name)) return name;
  }
  return undefined;
}
