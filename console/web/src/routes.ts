/**
 * The console's pages by path: `/logs`, `/usage`, `/experiments/<logical model>`,
 * `/keys`, `/keys/<name>`, `/routing`, `/routing/<RouteConfig>`, `/mcp-servers`. `/` is Request Logs.
 */
export interface RouteMatch {
  page:
    | 'logs'
    | 'usage'
    | 'experiments'
    | 'keys'
    | 'key'
    | 'routing'
    | 'routeconfig'
    | 'mcp-servers'
    | 'not-found';
  /** The path's parameter (a key, a logical model, a RouteConfig), decoded. */
  param?: string;
}

const PATTERNS: readonly [RegExp, RouteMatch['page']][] = [
  [/^\/(?:logs)?\/?$/, 'logs'],
  [/^\/usage\/?$/, 'usage'],
  [/^\/experiments(?:\/([^/]+))?\/?$/, 'experiments'],
  [/^\/keys\/?$/, 'keys'],
  [/^\/keys\/([^/]+)$/, 'key'],
  [/^\/routing\/?$/, 'routing'],
  [/^\/routing\/([^/]+)$/, 'routeconfig'],
  [/^\/mcp-servers\/?$/, 'mcp-servers'],
];

export function matchRoute(pathname: string): RouteMatch {
  for (const [pattern, page] of PATTERNS) {
    const m = pattern.exec(pathname);
    if (m === null) continue;
    if (m[1] === undefined) return { page };
    try {
      return { page, param: decodeURIComponent(m[1]) };
    } catch {
      return { page: 'not-found' };
    }
  }
  return { page: 'not-found' };
}
