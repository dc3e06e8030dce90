/**
 * MCP configuration: the MCPServer kind (one upstream MCP server: its Streamable HTTP endpoint, the
 * credential the gateway presents to it, the client headers it may see, which of its tools are
 * exposed) and a RouteConfig's `spec.mcp` (the servers a key of that RouteConfig reaches, at which
 * path, each optionally behind a match on the caller's headers or key attributes). Manifest shapes,
 * structural checks, and compilation into the snapshot's plain values live here together so the MCP
 * gateway's configuration reads in one file; validate.ts and compile.ts call in with one line each.
 *
 * MCPServer is its own kind rather than a ProviderBackend provider: it has no model, no translator,
 * no pricing, and a ProviderBackend's fields (region, apiVersion, defaults) mean nothing to it.
 */
import type { LocalRef, Manifest, ManifestOrigin, RouteMatch, SecretKeyRef } from './manifests.ts';
import type { ConfigProblem } from './problems.ts';
import { SecretValue } from './secret-value.ts';
import type { CompiledMatch } from './snapshot.ts';

export interface MCPServerSpec {
  /** The server's Streamable HTTP endpoint, e.g. https://tools.internal/mcp. */
  url: string;
  credentials?: {
    secretRef: SecretKeyRef;
    /** Header that carries the secret; default Authorization, sent as "Bearer <secret>". */
    header?: string;
  };
  /** Client request headers passed on to this server (lower-cased on compile). */
  forwardHeaders?: string[];
  tools?: {
    /** Tool names (`*` matches any run of characters) exposed; all when unset. */
    include?: string[];
    /** Tool names hidden even when included. */
    exclude?: string[];
  };
}

export interface RouteMcpServerSpec {
  /** The prefix of this server's tools, prompts and resource URIs for the client; default serverRef.name. */
  name?: string;
  serverRef: LocalRef;
  /** Only callers whose headers/attributes hold this condition get the server in their session. */
  match?: RouteMatch;
}

export interface RouteMcpSpec {
  /** Where the RouteConfig's MCP endpoint is served: "/mcp" (default) or a path below it. */
  path?: string;
  servers: RouteMcpServerSpec[];
}

export type MCPServerManifest = Manifest<'MCPServer', MCPServerSpec>;

export interface CompiledMcpServer {
  /** "<namespace>/<name>" of the MCPServer. */
  id: string;
  url: string;
  /** The URL in node:http request options, parsed once here rather than per upstream call. */
  endpoint: McpEndpoint;
  /** Header name lower-cased, and the value to send (already "Bearer …" for Authorization). */
  credential?: { header: string; value: SecretValue };
  forwardHeaders: readonly string[];
  /** True when the filters expose the tool. */
  exposesTool(name: string): boolean;
}

export interface McpEndpoint {
  protocol: 'http:' | 'https:';
  /** Without the brackets of an IPv6 literal, as node:http wants it. */
  hostname: string;
  port: number;
  /** Path and query. */
  path: string;
  /** The Host header's value (the URL's host, port included when not the default). */
  host: string;
}

function endpointOf(url: string): McpEndpoint {
  const parsed = new URL(url);
  const protocol = parsed.protocol === 'https:' ? 'https:' : 'http:';
  return {
    protocol,
    hostname: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(parsed.port) || (protocol === 'https:' ? 443 : 80),
    path: `${parsed.pathname}${parsed.search}`,
    host: parsed.host,
  };
}

export interface CompiledMcpRouteServer {
  /** The client-facing prefix (`{name}__tool`, `{name}+uri`). */
  name: string;
  server: CompiledMcpServer;
  match?: CompiledMatch;
}

export interface CompiledMcpRoute {
  path: string;
  servers: readonly CompiledMcpRouteServer[];
  byName: ReadonlyMap<string, CompiledMcpRouteServer>;
}

export const DEFAULT_MCP_PATH = '/mcp';

/** The part of validate.ts's checker this module uses. */
export interface FieldChecker {
  fail(path: string, message: string): void;
  object_(value: unknown, path: string, required?: boolean): Record<string, unknown> | undefined;
  array(value: unknown, path: string, required?: boolean): unknown[] | undefined;
  string(value: unknown, path: string, required?: boolean): string | undefined;
  name(value: unknown, path: string): void;
  secretRef(value: unknown, path: string): void;
  stringMatch(value: unknown, path: string): void;
}

/** RFC 9110 §5.1 field-name token. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Headers the gateway itself owns on the upstream request; forwarding the client's would defeat it. */
const NOT_FORWARDABLE = new Set([
  'authorization',
  'x-api-key',
  'mcp-session-id',
  'mcp-protocol-version',
  'last-event-id',
  'host',
  'content-length',
  'content-type',
  'accept',
  'connection',
  'transfer-encoding',
]);

export function checkMCPServer(c: FieldChecker, value: unknown): void {
  const spec = c.object_(value, 'spec');
  if (!spec) return;
  const url = c.string(spec.url, 'spec.url');
  if (url !== undefined) {
    try {
      const parsed = new URL(url);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
        c.fail('spec.url', 'must be an http(s) URL');
      if (parsed.hash) c.fail('spec.url', 'must not carry a fragment');
      if (parsed.username || parsed.password)
        c.fail('spec.url', 'must not carry credentials; use spec.credentials.secretRef');
    } catch {
      c.fail('spec.url', `"${url}" is not a URL`);
    }
  }
  const credentials = c.object_(spec.credentials, 'spec.credentials', false);
  if (credentials) {
    c.secretRef(credentials.secretRef, 'spec.credentials.secretRef');
    const header = c.string(credentials.header, 'spec.credentials.header', false);
    if (header !== undefined && !HEADER_NAME.test(header))
      c.fail('spec.credentials.header', `"${header}" is not an HTTP header name`);
  }
  const forward = c.array(spec.forwardHeaders, 'spec.forwardHeaders', false);
  forward?.forEach((h, i) => {
    const name = c.string(h, `spec.forwardHeaders[${i}]`);
    if (name === undefined) return;
    if (!HEADER_NAME.test(name)) c.fail(`spec.forwardHeaders[${i}]`, `"${name}" is not an HTTP header name`);
    else if (NOT_FORWARDABLE.has(name.toLowerCase()))
      c.fail(`spec.forwardHeaders[${i}]`, `"${name}" is set by the gateway and cannot be forwarded`);
  });
  const tools = c.object_(spec.tools, 'spec.tools', false);
  if (tools) {
    for (const list of ['include', 'exclude'] as const) {
      c.array(tools[list], `spec.tools.${list}`, false)?.forEach((t, i) => {
        c.string(t, `spec.tools.${list}[${i}]`);
      });
    }
  }
}

export function checkRouteMcp(c: FieldChecker, value: unknown): void {
  const mcp = c.object_(value, 'spec.mcp', false);
  if (!mcp) return;
  const path = c.string(mcp.path, 'spec.mcp.path', false);
  if (path !== undefined && !/^\/mcp(\/[A-Za-z0-9._~-]+)*$/.test(path))
    c.fail('spec.mcp.path', `"${path}" must be /mcp or a path below it, like /mcp/team-a`);
  const servers = c.array(mcp.servers, 'spec.mcp.servers');
  const names = new Set<string>();
  servers?.forEach((s, i) => {
    const at = `spec.mcp.servers[${i}]`;
    const server = c.object_(s, at);
    if (!server) return;
    const ref = c.object_(server.serverRef, `${at}.serverRef`);
    if (ref) c.name(ref.name, `${at}.serverRef.name`);
    if (server.name !== undefined) c.name(server.name, `${at}.name`);
    const name =
      typeof server.name === 'string' ? server.name : typeof ref?.name === 'string' ? ref.name : '';
    // Names are prefixes of tool names (`{name}__tool`) and URIs (`{name}+uri`): the name pattern
    // (no "_", no "+") keeps the split unambiguous; duplicates would make it ambiguous.
    if (name !== '') {
      if (names.has(name)) c.fail(`${at}.name`, `duplicate MCP server name "${name}" in this RouteConfig`);
      names.add(name);
    }
    const match = c.object_(server.match, `${at}.match`, false);
    if (match) {
      const headers = c.array(match.headers, `${at}.match.headers`, false);
      headers?.forEach((h, j) => {
        c.stringMatch(h, `${at}.match.headers[${j}]`);
      });
      const attributes = c.array(match.attributes, `${at}.match.attributes`, false);
      attributes?.forEach((a, j) => {
        c.stringMatch(a, `${at}.match.attributes[${j}]`);
      });
      if (!headers?.length && !attributes?.length)
        c.fail(`${at}.match`, 'must have at least one header or attribute condition');
    }
  });
}

/** `*` matches any run of characters; everything else is literal. */
function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

function toolFilter(spec: MCPServerSpec['tools']): (name: string) => boolean {
  const include = spec?.include?.map(globToRegExp);
  const exclude = spec?.exclude?.map(globToRegExp) ?? [];
  return (name) =>
    (include === undefined || include.some((r) => r.test(name))) && !exclude.some((r) => r.test(name));
}

export interface McpCompileContext {
  where(m: MCPServerManifest): { origin: ManifestOrigin; object: string };
  readSecret(m: MCPServerManifest, path: string, ref: SecretKeyRef): SecretValue | undefined;
  problems: ConfigProblem[];
}

export function compileMcpServers(
  manifests: readonly MCPServerManifest[],
  context: McpCompileContext,
): Map<string, CompiledMcpServer> {
  const out = new Map<string, CompiledMcpServer>();
  for (const m of manifests) {
    const id = `${m.metadata.namespace}/${m.metadata.name}`;
    const spec = m.spec;
    const server: CompiledMcpServer = {
      id,
      url: spec.url,
      endpoint: endpointOf(spec.url),
      forwardHeaders: (spec.forwardHeaders ?? []).map((h) => h.toLowerCase()),
      exposesTool: toolFilter(spec.tools),
    };
    if (spec.credentials) {
      const secret = context.readSecret(m, 'spec.credentials.secretRef', spec.credentials.secretRef);
      if (!secret) continue;
      const header = (spec.credentials.header ?? 'Authorization').toLowerCase();
      server.credential = {
        header,
        value: header === 'authorization' ? new SecretValue(`Bearer ${secret.reveal()}`) : secret,
      };
    }
    out.set(id, server);
  }
  return out;
}

export function compileRouteMcp(
  spec: RouteMcpSpec,
  namespace: string,
  servers: ReadonlyMap<string, CompiledMcpServer>,
  compileMatch: (match: RouteMatch) => CompiledMatch,
  fail: (path: string, message: string) => void,
): CompiledMcpRoute {
  const list: CompiledMcpRouteServer[] = [];
  spec.servers.forEach((s, i) => {
    const server = servers.get(`${namespace}/${s.serverRef.name}`);
    if (!server) {
      fail(
        `spec.mcp.servers[${i}].serverRef.name`,
        `MCPServer "${s.serverRef.name}" not found in namespace "${namespace}"`,
      );
      return;
    }
    const entry: CompiledMcpRouteServer = { name: s.name ?? s.serverRef.name, server };
    if (s.match) entry.match = compileMatch(s.match);
    list.push(entry);
  });
  return {
    path: spec.path ?? DEFAULT_MCP_PATH,
    servers: list,
    byName: new Map(list.map((s) => [s.name, s])),
  };
}
