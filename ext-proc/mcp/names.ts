/**
 * Client-facing names of what the servers behind one session offer: tools and prompts become
 * `{server}__{name}`, resource URIs (and URI templates) `{server}+{uri}`, as Envoy AI Gateway's
 * MCPRoute spells them. Server names are Kubernetes-style names (config/mcp.ts), which hold neither
 * "_" nor "+", so the first separator always ends the server name and any name or URI after it is
 * kept whole.
 */

export const NAME_SEPARATOR = '__';
export const URI_SEPARATOR = '+';

export function prefixedName(server: string, name: string): string {
  return `${server}${NAME_SEPARATOR}${name}`;
}

export function prefixedUri(server: string, uri: string): string {
  return `${server}${URI_SEPARATOR}${uri}`;
}

/** `{server}__{name}` → its parts, or undefined when there is no server prefix. */
export function splitName(value: unknown): { server: string; name: string } | undefined {
  if (typeof value !== 'string') return undefined;
  const at = value.indexOf(NAME_SEPARATOR);
  if (at <= 0 || at + NAME_SEPARATOR.length === value.length) return undefined;
  return { server: value.slice(0, at), name: value.slice(at + NAME_SEPARATOR.length) };
}

/** `{server}+{uri}` → its parts, or undefined when there is no server prefix. */
export function splitUri(value: unknown): { server: string; uri: string } | undefined {
  if (typeof value !== 'string') return undefined;
  const at = value.indexOf(URI_SEPARATOR);
  if (at <= 0 || at + 1 === value.length) return undefined;
  return { server: value.slice(0, at), uri: value.slice(at + 1) };
}
