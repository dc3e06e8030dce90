import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../../../config/compile.ts';
import { parseManifests } from '../../../config/file-source.ts';
import { SnapshotStore } from '../../../config/store.ts';
import { McpGateway, type McpServerHandle, startMcpServer } from '../../../ext-proc/mcp/gateway.ts';
import { SessionIdCodec } from '../../../ext-proc/mcp/session-id.ts';
import { sessionHasher } from '../../../ext-proc/session-hash.ts';
import { createMcpMetrics } from '../../../observability/mcp-metrics.ts';
import { type DemoMcpServer, startDemoMcpServer } from '../../../sim/mcp-server.ts';
import { capturingLogger, eventually } from '../../helpers/log-capture.ts';

const KEY = 'sk-mcp-pages-0001';

/**
 * A stateless MCP server that pages its tool list (MCP 2025-11-25 Server Features › Pagination: an
 * opaque nextCursor), answering plain JSON: what the SDK's McpServer does not do by itself.
 */
function pagingServer(): Server {
  return createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    if (req.method !== 'POST') {
      res.writeHead(405).end();
      return;
    }
    const message = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (message.id === undefined) {
      res.writeHead(202).end();
      return;
    }
    const tool = (name: string) => ({ name, inputSchema: { type: 'object' } });
    const result =
      message.method === 'initialize'
        ? {
            protocolVersion: '2025-11-25',
            capabilities: { tools: {} },
            serverInfo: { name: 'pager', version: '1' },
          }
        : message.method === 'tools/list'
          ? message.params?.cursor === 'page-2'
            ? { tools: [tool('c')] }
            : { tools: [tool('a'), tool('b')], nextCursor: 'page-2' }
          : undefined;
    const body = result
      ? { jsonrpc: '2.0', id: message.id, result }
      : { jsonrpc: '2.0', id: message.id, error: { code: -32601, message: 'no' } };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
}

let pager: Server;
let weather: DemoMcpServer;
let gateway: McpServerHandle;
let endpoint: URL;

beforeAll(async () => {
  pager = pagingServer();
  await new Promise<void>((r) => pager.listen(0, '127.0.0.1', () => r()));
  weather = await startDemoMcpServer('weather');
  const yaml = `
apiVersion: v1
kind: Secret
metadata: { name: keys }
stringData: { a: ${KEY} }
---
apiVersion: agentrouter.dev/v1alpha1
kind: MCPServer
metadata: { name: pager }
spec: { url: "http://127.0.0.1:${(pager.address() as AddressInfo).port}/mcp" }
---
apiVersion: agentrouter.dev/v1alpha1
kind: MCPServer
metadata: { name: weather }
spec: { url: "${weather.url}", tools: { include: [forecast] } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: tools }
spec:
  routes: []
  mcp: { path: /mcp/paged, servers: [{ serverRef: { name: pager } }, { serverRef: { name: weather } }] }
---
apiVersion: agentrouter.dev/v1alpha1
kind: APIKey
metadata: { name: a }
spec: { secretRef: { name: keys, key: a }, routeConfigRef: { name: tools } }
`;
  const parsed = parseManifests('p.yaml', [{ file: 'p.yaml', text: yaml }]);
  const compiled = compile(parsed.manifests);
  expect([...parsed.problems, ...compiled.problems]).toEqual([]);
  const mcp = new McpGateway({
    store: new SnapshotStore(compiled.snapshot),
    codec: new SessionIdCodec({ version: 3, secret: 'pagination-test-secret-pagination-test' }),
    logger: capturingLogger().logger,
    metrics: createMcpMetrics(new Registry()),
    hashSession: sessionHasher('t'),
  });
  gateway = await startMcpServer({ host: '127.0.0.1', port: 0 }, mcp);
  endpoint = new URL(`${gateway.url}/mcp/paged`);
});

afterAll(async () => {
  await gateway?.close();
  await weather?.close();
  await new Promise<void>((r) => pager?.close(() => r()));
});

async function connect() {
  const client = new Client({ name: 't', version: '1' });
  const transport = new StreamableHTTPClientTransport(endpoint, {
    requestInit: { headers: { authorization: `Bearer ${KEY}` } },
  });
  await client.connect(transport);
  return { client, transport };
}

describe('MCP gateway lists', () => {
  it('pages through a server that pages, under a cursor of its own, with the other servers on the first page', async () => {
    const { client, transport } = await connect();
    const first = await client.listTools();
    expect(first.tools.map((t) => t.name).sort()).toEqual(['pager__a', 'pager__b', 'weather__forecast']);
    expect(first.nextCursor).toBeDefined();
    expect(first.nextCursor).not.toContain('page-2');
    expect(Buffer.from(first.nextCursor!, 'base64url').toString('latin1')).not.toContain('page-2');
    const second = await client.listTools({ cursor: first.nextCursor! });
    expect(second.tools.map((t) => t.name)).toEqual(['pager__c']);
    expect(second.nextCursor).toBeUndefined();
    const bad = await client.listTools({ cursor: 'made-up' }).catch((e: Error) => e);
    expect(String(bad)).toMatch(/Invalid cursor/);
    // A cursor of another list method is refused too.
    const wrongList = await client.listPrompts({ cursor: first.nextCursor! }).catch((e: Error) => e);
    expect(String(wrongList)).toMatch(/Invalid cursor/);
    await transport.close();
  });

  it('relays a server’s tools/list_changed notification on the merged stream', async () => {
    const { client, transport } = await connect();
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changed++;
    });
    await client.listTools();
    await eventually(() => weather.sessions.size > 0 && true);
    // Give the client's GET stream time to be open through the gateway, then change the list.
    await new Promise((r) => setTimeout(r, 200));
    for (const { server } of weather.sessions.values()) server.sendToolListChanged();
    await eventually(() => changed > 0);
    await transport.close();
  });

  it('answers a path the key’s RouteConfig does not serve with 404', async () => {
    const response = await fetch(new URL(`${gateway.url}/mcp`), {
      method: 'POST',
      headers: {
        authorization: `Bearer ${KEY}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    expect(response.status).toBe(404);
  });
});
