/**
 * The MCP gateway's spans, end to end: the official MCP SDK client → the gateway over loopback → two
 * SDK servers, with the real OTel exporter sending OTLP/protobuf to a loopback receiver, whose bytes
 * are decoded and asserted on (as otel.test.ts does for the chat path).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../../config/compile.ts';
import { parseManifests } from '../../config/file-source.ts';
import { SnapshotStore } from '../../config/store.ts';
import { McpGateway, type McpServerHandle, startMcpServer } from '../../ext-proc/mcp/gateway.ts';
import { SessionIdCodec } from '../../ext-proc/mcp/session-id.ts';
import { sessionHasher } from '../../ext-proc/session-hash.ts';
import { createMcpMetrics } from '../../observability/mcp-metrics.ts';
import { createOtelExporter, type OtelExporter } from '../../observability/otel.ts';
import { type DemoMcpServer, startDemoMcpServer } from '../../sim/mcp-server.ts';
import { capturingLogger } from '../helpers/log-capture.ts';
import { type DecodedSpan, decodeTraceRequest } from './otlp-proto.ts';
import { type OtlpReceiver, startHttpReceiver } from './otlp-receiver.ts';

const KEY = 'sk-mcp-spans-key-0001';
const SECRET_ARGUMENT = 'Atlantis-7f3a9c';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';

let weather: DemoMcpServer;
let notes: DemoMcpServer;
let receiver: OtlpReceiver;
let exporter: OtelExporter;
let gateway: McpServerHandle;
let endpoint: URL;
const hashSession = sessionHasher('spans-test');

beforeAll(async () => {
  weather = await startDemoMcpServer('weather');
  notes = await startDemoMcpServer('notes');
  receiver = await startHttpReceiver();
  const created = await createOtelExporter({
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_SERVICE_NAME: 'mcp-spans-test',
  });
  if (!created) throw new Error('expected an exporter');
  exporter = created;
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
      codec: new SessionIdCodec({ version: 1, secret: 'spans-test-secret-spans-test-secret' }),
      logger: capturingLogger().logger,
      metrics: createMcpMetrics(new Registry()),
      hashSession,
      observers: [{ onMcpRequest: (record) => exporter.onMcpRecord(record) }],
    }),
  );
  endpoint = new URL(`${gateway.url}/mcp`);
});

afterAll(async () => {
  await gateway?.close();
  await exporter?.shutdown();
  await receiver?.close();
  await weather?.close();
  await notes?.close();
});

function spans(): DecodedSpan[] {
  return receiver.on('/v1/traces').flatMap((r) => decodeTraceRequest(r.body));
}

describe('MCP gateway spans', () => {
  it('makes a SERVER span per request and a CLIENT span per server call, in the caller’s trace', async () => {
    const client = new Client({ name: 'spans', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(endpoint, {
      requestInit: {
        headers: { authorization: `Bearer ${KEY}`, traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` },
      },
    });
    await client.connect(transport);
    const sessionId = transport.sessionId!;
    await client.listTools();
    const result = await client.callTool({ name: 'weather__forecast', arguments: { city: SECRET_ARGUMENT } });
    expect(JSON.stringify(result.content)).toContain(SECRET_ARGUMENT);
    // The SDK server answers a tool it does not have with an isError result; a server prefix the
    // session does not have is the gateway's own JSON-RPC error.
    await client.callTool({ name: 'weather__no_such_tool', arguments: {} });
    await client.callTool({ name: 'nowhere__tool', arguments: {} }).catch(() => undefined);
    const upstreamSessions = [...weather.sessions.keys(), ...notes.sessions.keys()];
    expect(upstreamSessions.length).toBeGreaterThanOrEqual(2);
    await transport.terminateSession();
    await client.close();
    await exporter.forceFlush();

    const all = spans();
    const servers = all.filter((s) => s.kind === 'SPAN_KIND_SERVER');
    const call = servers.find((s) => s.name === 'tools/call forecast');
    expect(call, all.map((s) => s.name).join(', ')).toBeDefined();
    expect(call!.traceId).toBe(TRACE_ID);
    expect(call!.parentSpanId).toBe(PARENT_ID);
    expect(call!.status).toBe('STATUS_CODE_UNSET');
    expect(call!.attributes).toEqual({
      'mcp.method.name': 'tools/call',
      'gen_ai.tool.name': 'forecast',
      'gen_ai.operation.name': 'execute_tool',
      'mcp.protocol.version': '2025-11-25',
      'network.transport': 'tcp',
      'http.response.status_code': 200,
      'agent_router.mcp.server': 'weather',
      'agent_router.route_config': 'default/tools',
      'agent_router.key_id': 'default/a',
      'agent_router.session_hash': hashSession(sessionId),
    });
    const children = all.filter((s) => s.parentSpanId === call!.spanId);
    expect(children).toHaveLength(1);
    const upstream = children[0]!;
    expect(upstream.name).toBe('tools/call forecast');
    expect(upstream.kind).toBe('SPAN_KIND_CLIENT');
    expect(upstream.traceId).toBe(TRACE_ID);
    expect(upstream.attributes).toMatchObject({
      'mcp.method.name': 'tools/call',
      'agent_router.mcp.server': 'weather',
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(weather.url).port),
      'http.response.status_code': 200,
    });
    expect(upstream.startNanos >= call!.startNanos && upstream.endNanos <= call!.endNanos).toBe(true);

    // initialize and tools/list fan out: one child per server.
    for (const method of ['initialize', 'tools/list']) {
      const span = servers.find((s) => s.name === method)!;
      expect(span.attributes['agent_router.mcp.servers']).toEqual(['weather', 'notes']);
      const calls = all.filter((s) => s.parentSpanId === span.spanId);
      expect(calls.map((c) => c.attributes['agent_router.mcp.server']).sort()).toEqual(['notes', 'weather']);
    }
    const ended = servers.find((s) => s.name === 'DELETE')!;
    expect(all.filter((s) => s.parentSpanId === ended.spanId).map((s) => s.name)).toEqual([
      'DELETE',
      'DELETE',
    ]);

    // A tool error (isError): error.type tool_error on both spans, status ERROR.
    const toolError = servers.find((s) => s.name === 'tools/call no_such_tool')!;
    expect(toolError.status).toBe('STATUS_CODE_ERROR');
    expect(toolError.attributes['error.type']).toBe('tool_error');
    const toolErrorCalls = all.filter((s) => s.parentSpanId === toolError.spanId);
    expect(toolErrorCalls.map((s) => [s.attributes['error.type'], s.status])).toEqual([
      ['tool_error', 'STATUS_CODE_ERROR'],
    ]);

    // An unknown server: a JSON-RPC error from the gateway itself, no server call, status ERROR.
    const unknown = servers.find((s) => s.name === 'tools/call tool')!;
    expect(unknown.status).toBe('STATUS_CODE_ERROR');
    expect(unknown.attributes['rpc.response.status_code']).toBe('-32602');
    expect(unknown.attributes['error.type']).toBe('-32602');
    expect(all.filter((s) => s.parentSpanId === unknown.spanId)).toEqual([]);

    // Never the arguments, the results, the key or any session id: not in any byte exported.
    const bytes = Buffer.concat(receiver.on('/v1/traces').map((r) => r.body)).toString('latin1');
    expect(bytes).not.toContain(SECRET_ARGUMENT);
    expect(bytes).not.toContain(KEY);
    expect(bytes).not.toContain(sessionId);
    for (const upstreamSession of upstreamSessions) expect(bytes).not.toContain(upstreamSession);
  });
});
