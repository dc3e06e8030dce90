/**
 * The MCP gateway end to end: the official MCP SDK client → dev gateway (:8080's role, /mcp) →
 * ext-proc's MCP port → two MCP servers built with the SDK, all over loopback HTTP.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../cli/local-stack.ts';
import { SseParser } from '../../ext-proc/mcp/sse.ts';
import type { McpRequestRecord } from '../../observability/mcp-record.ts';
import { type DemoMcpServer, startDemoMcpServer } from '../../sim/mcp-server.ts';
import { capturingLogger, eventually } from '../helpers/log-capture.ts';

const KEY = 'sk-mcp-integration-a';

let stack: LocalStack;
let weather: DemoMcpServer;
let notes: DemoMcpServer;
let endpoint: URL;
const logs = capturingLogger();
/** What a recorder that reads MCP records (the OTel exporter is one) receives from ext-proc. */
const mcpRecords: McpRequestRecord[] = [];

beforeAll(async () => {
  weather = await startDemoMcpServer('weather');
  notes = await startDemoMcpServer('notes');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-router-mcp-'));
  const configPath = path.join(dir, 'config.yaml');
  writeFileSync(
    configPath,
    `
apiVersion: v1
kind: Secret
metadata: { name: keys }
stringData: { team-a: ${KEY} }
---
apiVersion: agentrouter.dev/v1alpha1
kind: MCPServer
metadata: { name: weather }
spec: { url: "${weather.url}" }
---
apiVersion: agentrouter.dev/v1alpha1
kind: MCPServer
metadata: { name: notes }
spec: { url: "${notes.url}", tools: { exclude: ["delete_*"] } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  routes: []
  mcp:
    servers: [{ serverRef: { name: weather } }, { serverRef: { name: notes } }]
---
apiVersion: agentrouter.dev/v1alpha1
kind: APIKey
metadata: { name: team-a }
spec: { secretRef: { name: keys, key: team-a }, routeConfigRef: { name: main } }
`,
  );
  const mcpRecorder = {
    onRequest: () => undefined,
    onMcpRequest: (record: McpRequestRecord) => void mcpRecords.push(record),
  };
  stack = await startLocalStack({
    configPath,
    logger: logs.logger,
    gatewayPort: 0,
    grpcPort: 0,
    recorders: [mcpRecorder],
  });
  endpoint = new URL(`${stack.gatewayUrl}/mcp`);
});

afterAll(async () => {
  await stack?.close();
  await weather?.close();
  await notes?.close();
});

function sdkClient() {
  const client = new Client(
    { name: 'integration', version: '1.0.0' },
    { capabilities: { sampling: {}, elicitation: { form: {} } } },
  );
  const transport = new StreamableHTTPClientTransport(endpoint, {
    requestInit: { headers: { authorization: `Bearer ${KEY}` } },
  });
  return { client, transport };
}

describe('MCP through the dev gateway', () => {
  it('lists the namespaced tools of both servers, calls each, and gets a notification from each', async () => {
    const { client, transport } = sdkClient();
    const messages: string[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      messages.push(String(n.params.data));
    });
    await client.connect(transport);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      'notes__add_note',
      'notes__announce',
      'notes__confirm_note',
      'notes__list_notes',
      'weather__announce',
      'weather__ask_model',
      'weather__count_down',
      'weather__forecast',
    ]);
    const forecast = await client.callTool({ name: 'weather__forecast', arguments: { city: 'Lima' } });
    expect(forecast.content).toEqual([{ type: 'text', text: expect.stringMatching(/^Lima: /) }]);
    const note = await client.callTool({ name: 'notes__add_note', arguments: { text: 'hello' } });
    expect(note.content).toContainEqual({ type: 'text', text: 'note 1 added' });
    // Announcements travel on each server's GET stream, merged into the client's one stream.
    await client.callTool({ name: 'weather__announce', arguments: { message: 'from weather' } });
    await client.callTool({ name: 'notes__announce', arguments: { message: 'from notes' } });
    await eventually(() => messages.includes('from weather') && messages.includes('from notes'));
    await transport.terminateSession();
    await client.close();
    // ext-proc hands every MCP request's record, with its server calls, to the recorders that read them.
    const forecastRecord = mcpRecords.find((r) => r.tool === 'forecast');
    expect(forecastRecord).toMatchObject({ method: 'tools/call', server: 'weather', status: 200 });
    expect(forecastRecord!.calls).toMatchObject([{ server: 'weather', method: 'tools/call', status: 200 }]);
  });

  it('round-trips a sampling request from a server through the client', async () => {
    const { client, transport } = sdkClient();
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => ({
      role: 'assistant',
      model: 'client-model',
      content: {
        type: 'text',
        text: `echo ${JSON.stringify(request.params.messages[0]?.content)}`.slice(0, 60),
      },
    }));
    await client.connect(transport);
    const result = await client.callTool({ name: 'weather__ask_model', arguments: { question: 'why?' } });
    expect(result.content).toEqual([{ type: 'text', text: expect.stringContaining('the model said: echo') }]);
    expect(JSON.stringify(result.content)).toContain('why?');
    await transport.terminateSession();
    await client.close();
  });

  it("relays a tool's progress notifications to the client's onprogress", async () => {
    const { client, transport } = sdkClient();
    await client.connect(transport);
    const progress: Progress[] = [];
    // The SDK sends _meta.progressToken (the request id) when onprogress is given (Utilities › Progress).
    const result = await client.callTool({ name: 'weather__count_down', arguments: { from: 3 } }, undefined, {
      onprogress: (p) => progress.push(p),
    });
    expect(result.content).toEqual([{ type: 'text', text: 'counted down from 3' }]);
    expect(progress).toEqual([
      { progress: 1, total: 3, message: '2 to go' },
      { progress: 2, total: 3, message: '1 to go' },
      { progress: 3, total: 3, message: '0 to go' },
    ]);
    await transport.terminateSession();
    await client.close();
  });

  it('round-trips an elicitation request from a server through the client, accepted and declined', async () => {
    const { client, transport } = sdkClient();
    const asked: { message: string; mode: unknown; id: unknown }[] = [];
    let action: 'accept' | 'decline' = 'accept';
    client.setRequestHandler(ElicitRequestSchema, async (request, extra) => {
      asked.push({ message: request.params.message, mode: request.params.mode, id: extra.requestId });
      return action === 'accept' ? { action, content: { tag: 'groceries' } } : { action };
    });
    await client.connect(transport);
    const accepted = await client.callTool({ name: 'notes__confirm_note', arguments: { text: 'eggs' } });
    expect(accepted.content).toEqual([{ type: 'text', text: 'note 1 added, tagged groceries' }]);
    action = 'decline';
    const declined = await client.callTool({ name: 'notes__confirm_note', arguments: { text: 'ham' } });
    expect(declined.content).toEqual([{ type: 'text', text: 'not added (decline)' }]);
    expect(asked.map((a) => a.message)).toEqual(['Add the note "eggs"?', 'Add the note "ham"?']);
    expect(asked[0]!.mode).toBe('form');
    // The server's request id reaches the client sealed (rewrite.ts), not as the server's own number.
    for (const a of asked) expect(typeof a.id === 'string' && a.id.length > 20).toBe(true);
    await transport.terminateSession();
    await client.close();
  });

  it('resumes the merged stream from Last-Event-ID after a reconnect', async () => {
    const { client, transport } = sdkClient();
    await client.connect(transport);
    const sessionId = transport.sessionId!;
    // The raw stream below stands for a client whose connection broke; the SDK's own stream must go
    // first (a server allows one GET stream per session).
    await client.close();
    const headers = {
      authorization: `Bearer ${KEY}`,
      'mcp-session-id': sessionId,
      'mcp-protocol-version': '2025-11-25',
    };
    const announce = (name: string, message: string) =>
      fetch(endpoint, {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name, arguments: { message } },
        }),
      }).then((r) => r.text());
    const collect = async (response: Response, count: number) => {
      const parser = new SseParser();
      const events: { id: string | undefined; data: string }[] = [];
      const reader = response.body!.getReader();
      while (events.length < count) {
        const { value, done } = await reader.read();
        if (done) break;
        events.push(...parser.push(value).filter((e) => e.data !== ''));
      }
      await reader.cancel();
      return events;
    };
    const stream = await fetch(endpoint, { headers: { ...headers, accept: 'text/event-stream' } });
    expect(stream.status).toBe(200);
    const live = collect(stream, 2);
    await new Promise((r) => setTimeout(r, 100));
    await announce('weather__announce', 'before-w');
    await announce('notes__announce', 'before-n');
    const before = await live;
    expect(before.map((e) => JSON.parse(e.data).params.data).sort()).toEqual(['before-n', 'before-w']);
    const lastEventId = before[1]!.id!;

    // While nobody listens, both servers go on; the resumed stream replays exactly those, from each.
    await new Promise((r) => setTimeout(r, 100));
    await announce('notes__announce', 'during-n');
    await announce('weather__announce', 'during-w');
    const resumed = await fetch(endpoint, {
      headers: { ...headers, accept: 'text/event-stream', 'last-event-id': lastEventId },
    });
    expect(resumed.status).toBe(200);
    const replayed = await collect(resumed, 2);
    expect(replayed.map((e) => JSON.parse(e.data).params.data).sort()).toEqual(['during-n', 'during-w']);
    await fetch(endpoint, { method: 'DELETE', headers });
  });
});
