/**
 * One MCP request record (observability/mcp-record.ts) → a SERVER span for the request and a CLIENT
 * span per call the gateway made to an MCP server, as record-spans.ts does for the chat path.
 *
 * Shape, from the MCP semantic conventions (core semconv v1.41 docs/gen-ai/mcp.md, now in
 * semantic-conventions-genai, unchanged):
 * - name `{mcp.method.name} {target}`, the target being the tool (or prompt) name where there is one,
 *   else the method alone; the gateway's HTTP verbs (GET, DELETE) stand in for the method of the
 *   requests that carry no JSON-RPC message;
 * - `mcp.method.name`, `gen_ai.tool.name` / `gen_ai.prompt.name`, `gen_ai.operation.name =
 *   execute_tool` on tools/call, `mcp.protocol.version`, `rpc.response.status_code` (the JSON-RPC
 *   error code as a string) and `error.type` (that code, or `tool_error` for an `isError` result),
 *   `network.transport`, and `server.address` / `server.port` on the calls;
 * - span status ERROR on a JSON-RPC error or tool error (mcp.md: "SHOULD be set to Error" then), on a
 *   5xx or no answer; a 4xx to the client (an unknown session, a refused key) is the client's error
 *   and leaves a SERVER span's status unset, as HTTP semconv does.
 * Never the tool's arguments or results (mcp.md makes them opt-in; we never opt in), never a session
 * id: the gateway session is named by its keyed hash, a server's session not at all.
 */
import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { millisToHrTime, W3CTraceContextPropagator } from '@opentelemetry/core';
import type { McpRequestRecord, McpUpstreamCall } from '../mcp-record.ts';
import { ATTR, ERROR_TYPE_OTHER, ERROR_TYPE_TOOL, MCP_ATTR, OPERATION_EXECUTE_TOOL } from './semconv.ts';

export function recordMcpSpans(tracer: Tracer, record: McpRequestRecord): void {
  const start = record.time;
  const end = record.time + record.latencyMs;
  const target = record.tool ?? record.prompt;
  const parent = tracer.startSpan(
    target === undefined ? record.method : `${record.method} ${target}`,
    { kind: SpanKind.SERVER, startTime: millisToHrTime(start), attributes: requestAttributes(record) },
    callerContext(record),
  );
  if (!parent.isRecording()) return;
  if (failed(record.status, record.rpcError, record.toolError, true))
    parent.setStatus({ code: SpanStatusCode.ERROR });
  const context = trace.setSpan(ROOT_CONTEXT, parent);
  for (const call of record.calls) {
    // The call's target is the request's, when it is the same method (a tools/call forwarded).
    const name =
      call.method === record.method && target !== undefined ? `${call.method} ${target}` : call.method;
    const child = tracer.startSpan(
      name,
      {
        kind: SpanKind.CLIENT,
        startTime: millisToHrTime(call.startMs),
        attributes: callAttributes(record, call),
      },
      context,
    );
    if (failed(call.status, call.rpcError, call.toolError, false))
      child.setStatus({ code: SpanStatusCode.ERROR });
    // A call whose answer was still being drained when the request ended ends with the request.
    child.end(millisToHrTime(Math.max(call.startMs, Math.min(call.endMs ?? end, end))));
  }
  parent.end(millisToHrTime(end));
}

function failed(
  status: number,
  rpcError: number | undefined,
  toolError: boolean | undefined,
  server: boolean,
) {
  if (rpcError !== undefined || toolError === true) return true;
  if (server) return status !== 499 && (status === 0 || status >= 500);
  return status === 0 || status >= 400;
}

function errorType(
  status: number,
  rpcError: number | undefined,
  toolError: boolean | undefined,
  server: boolean,
) {
  if (rpcError !== undefined) return String(rpcError);
  if (toolError === true) return ERROR_TYPE_TOOL;
  if (status === 0) return ERROR_TYPE_OTHER;
  if (status >= 500 || (!server && status >= 400)) return String(status);
  return undefined;
}

function requestAttributes(record: McpRequestRecord): Attributes {
  const a: Attributes = { [MCP_ATTR.method]: record.method, [MCP_ATTR.networkTransport]: 'tcp' };
  if (record.tool !== undefined) {
    a[MCP_ATTR.toolName] = record.tool;
    if (record.method === 'tools/call') a[MCP_ATTR.operation] = OPERATION_EXECUTE_TOOL;
  }
  if (record.prompt !== undefined) a[MCP_ATTR.promptName] = record.prompt;
  if (record.protocolVersion !== undefined) a[MCP_ATTR.protocolVersion] = record.protocolVersion;
  if (record.status > 0) a[ATTR.httpStatus] = record.status;
  if (record.rpcError !== undefined) a[MCP_ATTR.rpcStatus] = String(record.rpcError);
  const type = errorType(record.status, record.rpcError, record.toolError, true);
  if (type !== undefined) a[ATTR.errorType] = type;
  if (record.server !== undefined && record.server !== '') a[MCP_ATTR.server] = record.server;
  if (record.servers !== undefined) a[MCP_ATTR.servers] = record.servers;
  if (record.routeConfig !== undefined) a[ATTR.routeConfig] = record.routeConfig;
  if (record.keyId !== undefined) a[ATTR.keyId] = record.keyId;
  if (record.sessionHash !== undefined) a[ATTR.sessionHash] = record.sessionHash;
  if (record.status === 499) a[ATTR.cancelled] = true;
  return a;
}

function callAttributes(record: McpRequestRecord, call: McpUpstreamCall): Attributes {
  const a: Attributes = {
    [MCP_ATTR.method]: call.method,
    [MCP_ATTR.server]: call.server,
    [MCP_ATTR.networkTransport]: 'tcp',
    [ATTR.serverAddress]: call.address,
    [ATTR.serverPort]: call.port,
  };
  if (call.method === record.method) {
    if (record.tool !== undefined) {
      a[MCP_ATTR.toolName] = record.tool;
      if (call.method === 'tools/call') a[MCP_ATTR.operation] = OPERATION_EXECUTE_TOOL;
    }
    if (record.prompt !== undefined) a[MCP_ATTR.promptName] = record.prompt;
  }
  if (call.status > 0) a[ATTR.httpStatus] = call.status;
  if (call.rpcError !== undefined) a[MCP_ATTR.rpcStatus] = String(call.rpcError);
  const type = errorType(call.status, call.rpcError, call.toolError, false);
  if (type !== undefined) a[ATTR.errorType] = type;
  if (record.sessionHash !== undefined) a[ATTR.sessionHash] = record.sessionHash;
  return a;
}

const W3C = new W3CTraceContextPropagator();
const HEADERS: TextMapGetter<Readonly<Record<string, string>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/** The trace the request arrived in (its traceparent, validated by the gateway), else a new one. */
function callerContext(record: McpRequestRecord): Context {
  if (record.traceParent === undefined) return ROOT_CONTEXT;
  const carrier: Record<string, string> = { traceparent: record.traceParent };
  if (record.traceState !== undefined) carrier.tracestate = record.traceState;
  return W3C.extract(ROOT_CONTEXT, carrier, HEADERS);
}
