/**
 * MCP servers (GET /api/v1/mcpservers), read-only: each MCPServer's endpoint, the header its
 * credential goes in (never the credential), the headers it may see, its tool filters, and the
 * RouteConfigs that expose it under which prefix. MCPServers are edited in the configuration source.
 */
import { get, segment } from '../api/client.ts';
import type { McpServer } from '../api/types.ts';
import { ErrorBox } from '../components/error-box.tsx';
import { Link } from '../components/link.tsx';
import { useApi } from '../components/use-api.ts';

export function McpServersPage() {
  const servers = useApi(() => get<{ data: McpServer[] }>('mcpservers'), []);
  const list = servers.data?.data ?? [];
  return (
    <main id="main" aria-labelledby="page-title">
      <h1 id="page-title">MCP servers</h1>
      <ErrorBox error={servers.error} />
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">MCP servers behind the gateway's MCP endpoint</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">URL</th>
              <th scope="col">Credential</th>
              <th scope="col">Forwarded headers</th>
              <th scope="col">Tools</th>
              <th scope="col">Exposed by</th>
            </tr>
          </thead>
          <tbody>
            {list.map((s) => (
              <tr key={`${s.namespace}/${s.name}`}>
                <th scope="row">{s.name}</th>
                <td>
                  <code>{s.url}</code>
                </td>
                <td>{s.credentialHeader ? `in ${s.credentialHeader}` : '—'}</td>
                <td>{s.forwardHeaders.join(', ') || '—'}</td>
                <td>{toolFilter(s.tools)}</td>
                <td>
                  {s.exposedBy.length === 0
                    ? 'no RouteConfig'
                    : s.exposedBy.map((e, i) => (
                        <span key={e.routeConfig}>
                          {i > 0 ? ', ' : ''}
                          <Link href={`/routing/${segment(e.routeConfig)}`}>{e.routeConfig}</Link>
                          {` as ${e.name}__*`}
                          {e.conditional ? ' (for matching callers)' : ''}
                        </span>
                      ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="note">MCP servers are read-only here: they are managed in the configuration source.</p>
    </main>
  );
}

function toolFilter(tools: McpServer['tools']): string {
  const parts: string[] = [];
  parts.push(tools.include.length > 0 ? `only ${tools.include.join(', ')}` : 'all');
  if (tools.exclude.length > 0) parts.push(`except ${tools.exclude.join(', ')}`);
  return parts.join(' ');
}
