import { describe, expect, it } from 'vitest';
import { compile } from '../../config/compile.ts';
import { parseManifests } from '../../config/file-source.ts';

function load(yaml: string) {
  const parsed = parseManifests('mcp.yaml', [{ file: 'mcp.yaml', text: yaml }]);
  if (parsed.problems.length > 0)
    return { problems: parsed.problems.map((p) => `${p.object} ${p.path}: ${p.message}`) };
  const compiled = compile(parsed.manifests);
  return {
    snapshot: compiled.snapshot,
    problems: compiled.problems.map((p) => `${p.object} ${p.path}: ${p.message}`),
  };
}

const ROUTE = (servers: string, extra = '') => `
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: tools }
spec:
  routes: []
  mcp:
${extra}    servers: ${servers}
`;
const SERVER = (name: string, spec: string) => `
---
apiVersion: agentrouter.dev/v1alpha1
kind: MCPServer
metadata: { name: ${name} }
spec: ${spec}
`;

describe('MCP configuration', () => {
  it('compiles servers with credentials, forwarded headers and tool filters', () => {
    const { snapshot, problems } = load(
      ROUTE('[{ serverRef: { name: gh } }, { name: gh-ro, serverRef: { name: gh } }]') +
        SERVER(
          'gh',
          `{ url: "https://mcp.example.com/mcp", forwardHeaders: [X-Tenant], credentials: { secretRef: { name: t, key: token } }, tools: { include: ["get_*", "list_issues"], exclude: ["get_secret*"] } }`,
        ) +
        `---\napiVersion: v1\nkind: Secret\nmetadata: { name: t }\nstringData: { token: ghp-upstream }\n`,
    );
    expect(problems).toEqual([]);
    const server = snapshot!.mcpServers!.get('default/gh')!;
    expect(server.url).toBe('https://mcp.example.com/mcp');
    expect(server.forwardHeaders).toEqual(['x-tenant']);
    expect(server.credential?.header).toBe('authorization');
    expect(server.credential?.value.reveal()).toBe('Bearer ghp-upstream');
    expect(JSON.stringify(server.credential)).not.toContain('ghp-upstream');
    expect(['get_issue', 'list_issues', 'get_secret_key', 'delete_repo'].filter(server.exposesTool)).toEqual([
      'get_issue',
      'list_issues',
    ]);
    const route = snapshot!.routeConfigs.get('default/tools')!.mcp!;
    expect(route.path).toBe('/mcp');
    expect(route.servers.map((s) => s.name)).toEqual(['gh', 'gh-ro']);
  });

  it('names the field of every structural mistake', () => {
    const { problems } = load(
      ROUTE(
        '[{ serverRef: { name: a } }, { name: a, serverRef: { name: b } }, { serverRef: { name: c }, match: {} }]',
        '    path: /tools\n',
      ) +
        SERVER('a', '{ url: "ftp://a/mcp" }') +
        SERVER(
          'b',
          '{ url: "http://b/mcp", forwardHeaders: [Authorization, "bad header"], credentials: { secretRef: { name: s }, header: "x y" } }',
        ),
    );
    expect(problems).toEqual([
      'RouteConfig tools spec.mcp.path: "/tools" must be /mcp or a path below it, like /mcp/team-a',
      'RouteConfig tools spec.mcp.servers[1].name: duplicate MCP server name "a" in this RouteConfig',
      'RouteConfig tools spec.mcp.servers[2].match: must have at least one header or attribute condition',
      'MCPServer a spec.url: must be an http(s) URL',
      'MCPServer b spec.credentials.header: "x y" is not an HTTP header name',
      'MCPServer b spec.forwardHeaders[0]: "Authorization" is set by the gateway and cannot be forwarded',
      'MCPServer b spec.forwardHeaders[1]: "bad header" is not an HTTP header name',
    ]);
  });

  it('refuses a RouteConfig that names an MCPServer that does not exist, and a missing credential Secret', () => {
    const { problems } = load(
      ROUTE('[{ serverRef: { name: ghost } }, { serverRef: { name: b } }]') +
        SERVER('b', '{ url: "http://b/mcp", credentials: { secretRef: { name: missing } } }'),
    );
    expect(problems).toEqual([
      'MCPServer b spec.credentials.secretRef: Secret "missing" not found in namespace "default"',
      'RouteConfig tools spec.mcp.servers[0].serverRef.name: MCPServer "ghost" not found in namespace "default"',
      'RouteConfig tools spec.mcp.servers[1].serverRef.name: MCPServer "b" not found in namespace "default"',
    ]);
  });
});
