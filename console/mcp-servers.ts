/**
 * MCP servers in the console, read-only: the MCPServer objects as their source holds them and the
 * RouteConfigs that expose each (`spec.mcp.servers[].serverRef`), under which client-facing name and
 * whether behind a match. Never the credential: a server's Secret is named by nothing but the header
 * its value goes in.
 */
import type { StoredConfig, StoredObject } from '../config/writer.ts';
import { conditionsOf } from './objects.ts';

export interface McpServerExposure {
  routeConfig: string;
  /** The prefix of the server's tools there (`{name}__tool`). */
  name: string;
  /** Only callers whose headers or key attributes hold a condition get it. */
  conditional: boolean;
}

export interface McpServerView {
  name: string;
  namespace: string;
  url: string;
  /** The header the gateway sends the server's credential in; absent without a credential. */
  credentialHeader?: string;
  forwardHeaders: string[];
  tools: { include: string[]; exclude: string[] };
  exposedBy: McpServerExposure[];
  conditions?: unknown[];
  generation?: number;
}

interface Spec {
  url?: string;
  credentials?: { header?: string };
  forwardHeaders?: string[];
  tools?: { include?: string[]; exclude?: string[] };
}

interface RouteSpec {
  mcp?: { servers?: { name?: string; serverRef?: { name?: string }; match?: unknown }[] };
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

export function mcpServerView(stored: StoredObject, config: StoredConfig): McpServerView {
  const spec = (stored.object.spec ?? {}) as Spec;
  const exposedBy: McpServerExposure[] = [];
  for (const o of config.objects) {
    if (o.kind !== 'RouteConfig' || o.namespace !== stored.namespace) continue;
    for (const entry of ((o.object.spec ?? {}) as RouteSpec).mcp?.servers ?? [])
      if (entry.serverRef?.name === stored.name)
        exposedBy.push({
          routeConfig: o.name,
          name: entry.name ?? stored.name,
          conditional: entry.match !== undefined,
        });
  }
  const view: McpServerView = {
    name: stored.name,
    namespace: stored.namespace,
    url: typeof spec.url === 'string' ? spec.url : '',
    forwardHeaders: strings(spec.forwardHeaders),
    tools: { include: strings(spec.tools?.include), exclude: strings(spec.tools?.exclude) },
    exposedBy: exposedBy.sort((a, b) => a.routeConfig.localeCompare(b.routeConfig)),
    ...conditionsOf(stored),
  };
  if (spec.credentials) view.credentialHeader = spec.credentials.header ?? 'Authorization';
  return view;
}

export function listMcpServers(config: StoredConfig): McpServerView[] {
  return config.objects
    .filter((o) => o.kind === 'MCPServer')
    .map((o) => mcpServerView(o, config))
    .sort((a, b) => a.name.localeCompare(b.name) || a.namespace.localeCompare(b.namespace));
}
