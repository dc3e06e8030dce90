import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  LoggingMessageNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
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
import { capturingLogger, eventually } from '../../helpers/log-capture.ts';

const KEY = 'sk-mcp-alice-0001';
const OTHER_KEY = 'sk-mcp-bob-00002';
const GOLD_KEY = 'sk-mcp-gold-0003';

function config(weather: string, notes: string): string {
  return `
apiVersion: v1
kind: Secret
metadata: {name: keys}
stringData: {alice: ${KEY}, bob: ${OTHER_KEY}, gold: ${GOLD_KEY}, notes-token: notes-upstream-token}
---
apiVersion: agentrouter.dev/v1alpha1
kind: MCPServer
metadata: {name: weather}
spec: {url: "${weather}"}
---
apiVersion: agentrouter.dev/v1alpha1
kind: MCPServer
metadata: {name: notes}
spec:
  url: "${notes}"
  credentials: {secretRef: {name: keys, key: notes-token}}
  tools: {exclude: ["delete_*"]}
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: {name: tools}
spec:
  routes: []
  mcp:
    servers:
      - serverRef: {name: weather}
      - serverRef: {name: notes}
      - name: gold-weather
        serverRef: {name: weather}
        match: {attributes: [{name: tier, value: gold}]}
---
apiVersion: agentrouter.dev/v1alpha1
kind: APIKey
metadata: {name: alice}
spec: {secretRef: {name: keys, key: alice}, routeConfigRef: {name: tools}}
---
apiVersion: agentrouter.dev/v1alpha1
kind: APIKey
metadata: {name: bob}
spec: {secretRef: {name: keys, key: bob}, routeConfigRef: {name: tools}}
---
apiVersion: agentrouter.dev/v1alpha1
kind: APIKey
metadata: {name: gold}
spec: {secretRef: {name: keys, key: gold}, routeConfigRef: {name: tools}, attributes: {tier: gold}}
`;
}

let weather: DemoMcpServer;
let notes: DemoMcpServer;
let gateway: McpServerHandle;
/** A second gateway process stand-in: its own codec built from the same secret, a rotated one. */
let replica: McpServerHandle;
let endpoint: URL;
const log = capturingLogger();
const registry = new Registry();

beforeAll(async () => {
  weather = await startDemoMcpServer('weather');
  notes = await startDemoMcpServer('notes');
  const parsed = parseManifests('test.yaml', [{ file: 'test.yaml', text: config(weather.url, notes.url) }]);
  expect(parsed.problems).toEqual([]);
  const compiled = compile(parsed.manifests);
  expect(compiled.problems).toEqual([]);
  const mcp = new McpGateway({
    store: new SnapshotStore(compiled.snapshot),
    codec: new SessionIdCodec({ version: 1, secret: 'gateway-test-secret-gateway-test-secret' }),
    logger: log.logger,
    metrics: createMcpMetrics(registry),
    hashSession: sessionHasher('test'),
  });
  gateway = await startMcpServer({ host: '127.0.0.1', port: 0 }, mcp);
  endpoint = new URL(`${gateway.url}/mcp`);
  replica = await startMcpServer(
    { host: '127.0.0.1', port: 0 },
    new McpGateway({
      store: new SnapshotStore(compiled.snapshot),
      // Rotated: version 2 is current, the first gateway's key still decrypts as the previous one.
      codec: new SessionIdCodec(
        { version: 2, secret: 'rotated-test-secret-rotated-test-secret' },
        { version: 1, secret: 'gateway-test-secret-gateway-test-secret' },
      ),
      logger: log.logger,
      metrics: createMcpMetrics(new Registry()),
      hashSession: sessionHasher('test'),
    }),
  );
});

afterAll(async () => {
  await replica?.close();
  await gateway?.close();
  await weather?.close();
  await notes?.close();
});

async function connect(key = KEY, client = new Client({ name: 'test', version: '1.0.0' })) {
  const transport = new StreamableHTTPClientTransport(endpoint, {
    requestInit: { headers: { authorization: `Bearer ${key}` } },
  });
  await client.connect(transport);
  return { client, transport };
}

async function rawPost(body: unknown, headers: Record<string, string>) {
  return fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

describe('MCP gateway', () => {
  it('lists the tools of both servers under their prefixes, filters applied, and calls each', async () => {
    const { client, transport } = await connect();
    expect(client.getServerVersion()?.name).toBe('agent-router');
    expect(client.getServerCapabilities()?.tools).toBeDefined();
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name).sort();
    expect(names).toEqual([
      'notes__add_note',
      'notes__announce',
      'notes__confirm_note',
      'notes__list_notes',
      'weather__announce',
      'weather__ask_model',
      'weather__count_down',
      'weather__forecast',
    ]);
    const forecast = await client.callTool({ name: 'weather__forecast', arguments: { city: 'Oslo' } });
    expect(forecast.content).toEqual([{ type: 'text', text: expect.stringMatching(/^Oslo: \d+°C/) }]);
    const added = await client.callTool({ name: 'notes__add_note', arguments: { text: 'buy milk' } });
    // Resource links come back addressable through the gateway.
    expect(added.content).toContainEqual(
      expect.objectContaining({ type: 'resource_link', uri: 'notes+notes://1' }),
    );
    const hidden = await client
      .callTool({ name: 'notes__delete_notes', arguments: {} })
      .catch((e: Error) => e);
    expect(String(hidden)).toMatch(/Unknown tool: notes__delete_notes/);
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toEqual(['weather+weather://stations']);
    const read = await client.readResource({ uri: 'weather+weather://stations' });
    expect(read.contents[0]).toMatchObject({
      uri: 'weather+weather://stations',
      text: 'north, south, harbour',
    });
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name)).toEqual(['notes__summarise']);
    const prompt = await client.getPrompt({ name: 'notes__summarise', arguments: { style: 'terse' } });
    expect(JSON.stringify(prompt.messages)).toContain('buy milk');
    await transport.close();
  });

  it('puts a server behind a match only in the sessions of keys whose attributes hold it', async () => {
    const { client, transport } = await connect(GOLD_KEY);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('gold-weather__forecast');
    await transport.close();
  });

  it('relays a sampling request from a server to the client and its answer back', async () => {
    const client = new Client({ name: 'test', version: '1.0.0' }, { capabilities: { sampling: {} } });
    const seenIds: unknown[] = [];
    client.setRequestHandler(CreateMessageRequestSchema, async (request, extra) => {
      seenIds.push(extra.requestId);
      const question = request.params.messages[0]?.content;
      return {
        role: 'assistant',
        model: 'test-model',
        content: { type: 'text', text: `42 (asked: ${question && 'text' in question ? question.text : ''})` },
      };
    });
    const { transport } = await connect(KEY, client);
    const result = await client.callTool({ name: 'weather__ask_model', arguments: { question: 'meaning?' } });
    expect(result.content).toEqual([{ type: 'text', text: 'the model said: 42 (asked: meaning?)' }]);
    // The id the client saw is a sealed token, not the server's id with a readable suffix.
    expect(seenIds).toHaveLength(1);
    expect(typeof seenIds[0]).toBe('string');
    expect(String(seenIds[0])).not.toMatch(/weather/);
    expect(Buffer.from(String(seenIds[0]), 'base64url').toString('latin1')).not.toMatch(/weather/);
    await transport.close();
  });

  it('merges the GET streams of both servers and resumes each from Last-Event-ID', async () => {
    const client = new Client({ name: 'test', version: '1.0.0' });
    const { transport } = await connect(KEY, client);
    const sessionId = transport.sessionId!;
    const headers = {
      authorization: `Bearer ${KEY}`,
      'mcp-session-id': sessionId,
      'mcp-protocol-version': '2025-11-25',
      accept: 'text/event-stream',
    };
    // The SDK client holds the session's GET stream open; take it over with a raw one after closing it.
    const seen: string[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      seen.push(String(n.params.data));
    });
    await client.callTool({ name: 'weather__announce', arguments: { message: 'w1' } });
    await client.callTool({ name: 'notes__announce', arguments: { message: 'n1' } });
    await eventually(() => seen.includes('w1') && seen.includes('n1'));

    // A second stream of our own, resuming from nothing: the SDK's open one makes the servers refuse (409)
    // a second GET, so close the client's stream first by closing its transport (the session stays).
    await transport.close();
    const read = async (response: Response, want: number) => {
      const parser = new SseParser();
      const events: { id: string | undefined; data: string }[] = [];
      const reader = response.body!.getReader();
      while (events.filter((e) => e.data).length < want) {
        const { value, done } = await reader.read();
        if (done) break;
        events.push(...parser.push(value));
      }
      await reader.cancel();
      return events.filter((e) => e.data);
    };
    const trigger = (key: string, name: string, message: string) =>
      rawPost(
        { jsonrpc: '2.0', id: message, method: 'tools/call', params: { name, arguments: { message } } },
        { authorization: `Bearer ${key}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' },
      ).then((r) => r.text());

    const first = await fetch(endpoint, { headers });
    expect(first.status).toBe(200);
    const firstEvents = read(first, 2);
    await new Promise((r) => setTimeout(r, 100));
    await trigger(KEY, 'weather__announce', 'w2');
    await trigger(KEY, 'notes__announce', 'n2');
    const got = await firstEvents;
    expect(got.map((e) => JSON.parse(e.data).params.data).sort()).toEqual(['n2', 'w2']);
    const lastId = got[got.length - 1]!.id!;
    expect(lastId).not.toMatch(/weather|notes|_GET_stream/);

    // Disconnected: both servers keep announcing; the resumed stream brings exactly what was missed.
    await new Promise((r) => setTimeout(r, 100));
    await trigger(KEY, 'weather__announce', 'w3');
    await trigger(KEY, 'notes__announce', 'n3');
    const resumed = await fetch(endpoint, { headers: { ...headers, 'last-event-id': lastId } });
    expect(resumed.status).toBe(200);
    const replay = await read(resumed, 2);
    expect(replay.map((e) => JSON.parse(e.data).params.data).sort()).toEqual(['n3', 'w3']);

    // An event id of this session is no good under another key's session.
    const other = await connect(OTHER_KEY);
    const foreign = await fetch(endpoint, {
      headers: {
        ...headers,
        authorization: `Bearer ${OTHER_KEY}`,
        'mcp-session-id': other.transport.sessionId!,
        'last-event-id': lastId,
      },
    });
    expect(foreign.status).toBe(400);
    await foreign.body?.cancel();
    await other.transport.close();
  });

  it('answers a session id presented with another key, with none, or tampered, as an unknown session (404)', async () => {
    const { client, transport } = await connect();
    await client.listTools();
    const sessionId = transport.sessionId!;
    const list = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
    const base = { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' };
    expect((await rawPost(list, { ...base, authorization: `Bearer ${KEY}` })).status).toBe(200);
    expect((await rawPost(list, { ...base, authorization: `Bearer ${OTHER_KEY}` })).status).toBe(404);
    // No key at all: this configuration has no keyless RouteConfig, so 401 before the session is looked at.
    expect((await rawPost(list, base)).status).toBe(401);
    const tampered = sessionId.slice(0, 20) + (sessionId[20] === 'A' ? 'B' : 'A') + sessionId.slice(21);
    const refused = await rawPost(list, {
      ...base,
      'mcp-session-id': tampered,
      authorization: `Bearer ${KEY}`,
    });
    expect(refused.status).toBe(404);
    expect(await refused.json()).toMatchObject({ error: { message: 'Session not found' } });
    expect((await rawPost(list, { authorization: `Bearer ${KEY}` })).status).toBe(400);
    await transport.close();
  });

  it('serves a session opened on one instance from another with the same (or a rotated) key secret', async () => {
    const { client, transport } = await connect();
    await client.listTools();
    const headers = {
      authorization: `Bearer ${KEY}`,
      'mcp-session-id': transport.sessionId!,
      'mcp-protocol-version': '2025-11-25',
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
    const call = {
      jsonrpc: '2.0',
      id: 5,
      method: 'tools/call',
      params: { name: 'weather__forecast', arguments: { city: 'Rome' } },
    };
    const answer = await fetch(`${replica.url}/mcp`, { method: 'POST', headers, body: JSON.stringify(call) });
    expect(answer.status).toBe(200);
    expect(JSON.stringify(await answer.json())).toContain('Rome: ');
    // Still bound to the key there: another key's request with the id is an unknown session.
    const stolen = await fetch(`${replica.url}/mcp`, {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${OTHER_KEY}` },
      body: JSON.stringify(call),
    });
    expect(stolen.status).toBe(404);
    await transport.close();
  });

  it('ends the session on every server on DELETE', async () => {
    const { client, transport } = await connect();
    await client.listTools();
    const before = { weather: weather.sessions.size, notes: notes.sessions.size };
    await transport.terminateSession();
    await eventually(
      () => weather.sessions.size === before.weather - 1 && notes.sessions.size === before.notes - 1,
    );
    await transport.close();
  });

  it('refuses an ended session at once on the instance that ended it; another relies on the servers’ 404', async () => {
    const { client, transport } = await connect();
    await client.listTools();
    const headers = {
      authorization: `Bearer ${KEY}`,
      'mcp-session-id': transport.sessionId!,
      'mcp-protocol-version': '2025-11-25',
    };
    await transport.terminateSession();
    await transport.close();
    // A fan-out: without the ended set it would answer 200 with both servers left out.
    const list = await rawPost({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, headers);
    expect(list.status).toBe(404);
    expect(((await list.json()) as { error: { code: number } }).error.code).toBe(-32001);
    const stream = await fetch(endpoint, { headers: { ...headers, accept: 'text/event-stream' } });
    expect(stream.status).toBe(404);
    // The replica has not seen the DELETE: the id still decodes there, and it learns of the end from
    // the servers' own 404s, for a fan-out (every server forgot the session) as for a call.
    const replicaList = await fetch(`${replica.url}/mcp`, {
      method: 'POST',
      headers: {
        ...headers,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }),
    });
    expect(replicaList.status).toBe(404);
    const replicaStream = await fetch(`${replica.url}/mcp`, {
      headers: { ...headers, accept: 'text/event-stream' },
    });
    expect(replicaStream.status).toBe(404);
    const call = await fetch(`${replica.url}/mcp`, {
      method: 'POST',
      headers: {
        ...headers,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'weather__forecast', arguments: { city: 'Oslo' } },
      }),
    });
    expect(call.status).toBe(404);
  });

  it('counts requests by method and server, an unknown method as "other"', async () => {
    const { client, transport } = await connect();
    await client.callTool({ name: 'notes__list_notes', arguments: {} });
    await rawPost(
      { jsonrpc: '2.0', id: 9, method: 'made/up-method-1234' },
      {
        authorization: `Bearer ${KEY}`,
        'mcp-session-id': transport.sessionId!,
        'mcp-protocol-version': '2025-11-25',
      },
    );
    const text = await registry.metrics();
    expect(text).toMatch(
      /agent_router_mcp_requests_total\{[^}]*method="tools\/call",server="notes",outcome="ok"\} [1-9]/,
    );
    expect(text).toMatch(/method="other",server="",outcome="rpc_error"/);
    expect(text).not.toContain('made/up-method-1234');
    await transport.close();
  });

  it('logs one line per request without arguments, results, session ids or keys', async () => {
    const { client, transport } = await connect();
    await client.callTool({ name: 'weather__forecast', arguments: { city: 'Secretville' } });
    const sessionId = transport.sessionId!;
    await transport.close();
    const line = await eventually(() =>
      log
        .records()
        .find((r) => r.event === 'mcp_request' && r.method === 'tools/call' && r.tool === 'forecast'),
    );
    expect(line).toMatchObject({
      server: 'weather',
      status: 200,
      routeConfig: 'default/tools',
      keyId: 'default/alice',
    });
    expect(line.session).toMatch(/^[0-9a-f]{32}$/);
    const all = log.lines.join('\n');
    for (const secret of ['Secretville', sessionId, KEY, 'notes-upstream-token', 'light wind'])
      expect(all).not.toContain(secret);
  });

  it('keeps the other server working when one fails, with an error naming the failed one', async () => {
    const { client, transport } = await connect();
    await weather.close();
    const failed = await client
      .callTool({ name: 'weather__forecast', arguments: { city: 'Oslo' } })
      .catch((e: Error) => e);
    expect(String(failed)).toMatch(/MCP server "weather" is unreachable/);
    const ok = await client.callTool({ name: 'notes__list_notes', arguments: {} });
    expect(ok.isError).toBeFalsy();
    const { tools, _meta } = await client.listTools();
    expect(tools.every((t) => t.name.startsWith('notes__'))).toBe(true);
    expect(_meta).toEqual({ 'agentrouter.dev/unavailable-servers': ['weather'] });
    await transport.close();
  });
});
