/**
 * JSON-RPC batches (MCP 2025-03-26 Streamable HTTP allows them; 2025-06-18 removed them): the gateway
 * over loopback in front of two SDK servers, driven with raw HTTP, since the SDK's client sends no
 * batches.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../../../config/compile.ts';
import { parseManifests } from '../../../config/file-source.ts';
import { SnapshotStore } from '../../../config/store.ts';
import { McpGateway, type McpServerHandle, startMcpServer } from '../../../ext-proc/mcp/gateway.ts';
import { SessionIdCodec } from '../../../ext-proc/mcp/session-id.ts';
import { SseParser } from '../../../ext-proc/mcp/sse.ts';
import { sessionHasher } from '../../../ext-proc/session-hash.ts';
import { createMcpMetrics } from '../../../observability/mcp-metrics.ts';
import { type DemoMcpServer, startDemoMcpServer } from '../../../sim/mcp-server.ts';
import { capturingLogger } from '../../helpers/log-capture.ts';

const KEY = 'sk-mcp-batch-key-0001';

let weather: DemoMcpServer;
let notes: DemoMcpServer;
let gateway: McpServerHandle;
let endpoint: URL;

beforeAll(async () => {
  weather = await startDemoMcpServer('weather');
  notes = await startDemoMcpServer('notes');
  const yaml = `
apiVersion: v1
kind: Secret
metadata: {name: keys}
stringData: {a: ${KEY}}
---
apiVersion: agentrouter.dev/v1alpha1
kind: MCPServer
metadata: {name: weather}
spec: {url: "${weather.url}"}
---
apiVersion: agentrouter.dev/v1alpha1
kind: MCPServer
metadata: {name: notes}
spec: {url: "${notes.url}"}
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: {name: tools}
spec:
  routes: []
  mcp: {servers: [{serverRef: {name: weather}}, {serverRef: {name: notes}}]}
---
apiVersion: agentrouter.dev/v1alpha1
kind: APIKey
metadata: {name: a}
spec: {secretRef: {name: keys, key: a}, routeConfigRef: {name: tools}}
`;
  const parsed = parseManifests('t.yaml', [{ file: 't.yaml', text: yaml }]);
  expect(parsed.problems).toEqual([]);
  const compiled = compile(parsed.manifests);
  expect(compiled.problems).toEqual([]);
  gateway = await startMcpServer(
    { host: '127.0.0.1', port: 0 },
    new McpGateway({
      store: new SnapshotStore(compiled.snapshot),
      codec: new SessionIdCodec({ version: 1, secret: 'batch-test-secret-batch-test-secret' }),
      logger: capturingLogger().logger,
      metrics: createMcpMetrics(new Registry()),
      hashSession: sessionHasher('batch-test'),
    }),
  );
  endpoint = new URL(`${gateway.url}/mcp`);
});

afterAll(async () => {
  await gateway?.close();
  await weather?.close();
  await notes?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: JSON-RPC bodies read in assertions
type Json = any;

function post(body: unknown, headers: Record<string, string> = {}) {
  return fetch(endpoint, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${KEY}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

/** A session opened at 2025-03-26, the last version with batches; its headers for later requests. */
async function oldSession(): Promise<Record<string, string>> {
  const init = await post({
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: {
      protocolVersion: '2025-03-26',
      capabilities: { sampling: {} },
      clientInfo: { name: 'batch', version: '1' },
    },
  });
  expect(init.status).toBe(200);
  expect(((await init.json()) as Json).result.protocolVersion).toBe('2025-03-26');
  const headers = {
    'mcp-session-id': init.headers.get('mcp-session-id')!,
    'mcp-protocol-version': '2025-03-26',
  };
  expect((await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, headers)).status).toBe(202);
  return headers;
}

function messagesOf(text: string): Record<string, unknown>[] {
  return new SseParser()
    .push(new TextEncoder().encode(text))
    .filter((e) => e.data !== '')
    .map((e) => JSON.parse(e.data));
}

describe('JSON-RPC batches', () => {
  it('answers every request of a 2025-03-26 batch on one stream, invalid members with id null', async () => {
    const headers = await oldSession();
    const response = await post(
      [
        {
          jsonrpc: '2.0',
          id: 'a',
          method: 'tools/call',
          params: { name: 'weather__forecast', arguments: { city: 'Quito' } },
        },
        { jsonrpc: '2.0', id: 'b', method: 'tools/list' },
        { jsonrpc: '2.0', method: 'notifications/roots/list_changed' },
        { jsonrpc: '2.0', id: 'c', method: 'tools/call', params: { name: 'nowhere__x', arguments: {} } },
        { not: 'json-rpc' },
      ],
      headers,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const messages = messagesOf(await response.text());
    const byId = new Map(messages.map((m) => [m.id, m]));
    expect(messages).toHaveLength(4);
    expect(byId.get('a')).toMatchObject({
      result: { content: [{ type: 'text', text: expect.stringMatching(/^Quito: /) }] },
    });
    const tools = (byId.get('b') as { result: { tools: { name: string }[] } }).result.tools.map(
      (t) => t.name,
    );
    expect(tools).toContain('weather__forecast');
    expect(tools).toContain('notes__add_note');
    expect(byId.get('c')).toMatchObject({ error: { code: -32602 } });
    expect(byId.get(null)).toMatchObject({ error: { code: -32600, message: 'Invalid Request' } });
  });

  it('takes a batch of notifications only with 202 and no body', async () => {
    const headers = await oldSession();
    const response = await post(
      [
        { jsonrpc: '2.0', method: 'notifications/roots/list_changed' },
        { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'none', reason: 'test' } },
      ],
      headers,
    );
    expect(response.status).toBe(202);
    expect(await response.text()).toBe('');
  });

  it('relays a member’s sampling request live, so the client can answer before the batch ends', async () => {
    const headers = await oldSession();
    const response = await post(
      [
        {
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'weather__ask_model', arguments: { question: 'sky?' } },
        },
        { jsonrpc: '2.0', id: 2, method: 'ping' },
      ],
      headers,
    );
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const parser = new SseParser();
    const seen: Record<string, unknown>[] = [];
    let answered = false;
    while (!seen.some((m) => m.id === 1 && 'result' in m)) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const event of parser.push(value)) {
        if (event.data === '') continue;
        const message = JSON.parse(event.data) as Record<string, unknown>;
        seen.push(message);
        if (message.method === 'sampling/createMessage' && !answered) {
          answered = true;
          const reply = await post(
            {
              jsonrpc: '2.0',
              id: message.id,
              result: { role: 'assistant', model: 'm', content: { type: 'text', text: 'blue' } },
            },
            headers,
          );
          expect(reply.status).toBe(202);
        }
      }
    }
    expect(answered).toBe(true);
    expect(seen.find((m) => m.id === 2)).toMatchObject({ result: {} });
    expect(seen.find((m) => m.id === 1)).toMatchObject({
      result: { content: [{ type: 'text', text: 'the model said: blue' }] },
    });
  });

  it('refuses a batch in a session that negotiated 2025-06-18 or later, with a JSON-RPC error', async () => {
    const client = new Client({ name: 'batch', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(endpoint, {
      requestInit: { headers: { authorization: `Bearer ${KEY}` } },
    });
    await client.connect(transport);
    const response = await post([{ jsonrpc: '2.0', id: 1, method: 'ping' }], {
      'mcp-session-id': transport.sessionId!,
      'mcp-protocol-version': '2025-11-25',
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as Json;
    expect(body.error.code).toBe(-32600);
    expect(body.error.message).toContain('removed in MCP 2025-06-18');
    await transport.terminateSession();
    await client.close();
  });

  it('refuses an empty batch and a batch holding initialize', async () => {
    const headers = await oldSession();
    const empty = await post([], headers);
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as Json).error.code).toBe(-32600);
    const withInit = await post(
      [{ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-03-26' } }],
      headers,
    );
    expect(withInit.status).toBe(400);
    expect(((await withInit.json()) as Json).error.message).toContain('initialize must be sent alone');
  });
});
