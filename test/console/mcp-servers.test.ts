/**
 * The console's read-only MCP servers list over real HTTP (file mode, a copy of examples/local.yaml),
 * and the view itself on an MCPServer with a credential: the header it goes in, never the Secret.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listMcpServers } from '../../console/mcp-servers.ts';
import { bearer, call, startWriteHarness, type WriteHarness } from './write-harness.ts';

describe('console MCP servers', () => {
  let h: WriteHarness;
  beforeAll(async () => {
    h = await startWriteHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('lists the MCPServers with the RouteConfigs that expose them', async () => {
    const answer = await call(`${h.url}/api/v1/mcpservers`, 'GET', { headers: bearer() });
    expect(answer.status).toBe(200);
    expect(answer.body.data).toEqual([
      {
        name: 'notes',
        namespace: 'default',
        url: 'http://127.0.0.19:8000/mcp',
        forwardHeaders: [],
        tools: { include: [], exclude: ['delete_*'] },
        exposedBy: [{ routeConfig: 'default', name: 'notes', conditional: true }],
      },
      {
        name: 'weather',
        namespace: 'default',
        url: 'http://127.0.0.18:8000/mcp',
        forwardHeaders: [],
        tools: { include: [], exclude: [] },
        exposedBy: [{ routeConfig: 'default', name: 'weather', conditional: false }],
      },
    ]);
    expect((await call(`${h.url}/api/v1/mcpservers`, 'POST', { headers: bearer(), json: {} })).status).toBe(
      405,
    );
    expect((await call(`${h.url}/api/v1/mcpservers`, 'GET')).status).toBe(401);
  });

  it('names a credential by its header only', () => {
    const [view] = listMcpServers({
      objects: [
        {
          kind: 'MCPServer',
          name: 'github',
          namespace: 'tools',
          object: {
            kind: 'MCPServer',
            metadata: { name: 'github', namespace: 'tools' },
            spec: {
              url: 'https://mcp.github.internal/mcp',
              credentials: { secretRef: { name: 'mcp-tokens', key: 'github' } },
              forwardHeaders: ['x-tenant'],
              tools: { include: ['get_*'] },
            },
          },
        },
        {
          kind: 'RouteConfig',
          name: 'other-namespace',
          namespace: 'elsewhere',
          object: { spec: { mcp: { servers: [{ serverRef: { name: 'github' } }] } } },
        },
      ],
    });
    expect(view).toEqual({
      name: 'github',
      namespace: 'tools',
      url: 'https://mcp.github.internal/mcp',
      credentialHeader: 'Authorization',
      forwardHeaders: ['x-tenant'],
      tools: { include: ['get_*'], exclude: [] },
      exposedBy: [],
    });
    expect(JSON.stringify(view)).not.toContain('mcp-tokens');
  });
});
