/**
 * The MCP and JSON-RPC facts the gateway relies on, in one place.
 * - JSON-RPC 2.0 (https://www.jsonrpc.org/specification §5.1): error codes -32700 … -32603.
 * - MCP 2025-11-25, Basic › Transports › Streamable HTTP: the `Mcp-Session-Id` header (§ Session
 *   Management), `MCP-Protocol-Version` on every request after initialization (§ Protocol Version
 *   Header: an invalid or unsupported one gets 400 Bad Request), `Last-Event-ID` to resume a stream
 *   (§ Resumability and Redelivery), 404 for an unknown or terminated session, 400 for a request
 *   without the session id, DELETE to end a session, 405 for a GET the server does not stream on.
 * Header names are lower-case, as node:http presents them.
 */

export const LATEST_PROTOCOL_VERSION = '2025-11-25';
/** What the gateway speaks to clients: the versions @modelcontextprotocol/sdk 1.32 still negotiates. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly string[] = ['2025-11-25', '2025-06-18', '2025-03-26'];
/** Streamable HTTP: a request without the header is assumed to speak 2025-03-26. */
export const DEFAULT_PROTOCOL_VERSION = '2025-03-26';

export const SESSION_HEADER = 'mcp-session-id';
export const PROTOCOL_VERSION_HEADER = 'mcp-protocol-version';
export const LAST_EVENT_ID_HEADER = 'last-event-id';

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;
/** Implementation-defined server error range (-32000 … -32099): an MCP server behind us failed. */
export const UPSTREAM_UNAVAILABLE = -32010;

export type RequestId = string | number;

export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id: RequestId;
  method: string;
  params?: Record<string, unknown>;
}

export interface JsonRpcNotification {
  jsonrpc: '2.0';
  method: string;
  params?: Record<string, unknown>;
}

export interface JsonRpcError {
  code: number;
  message: string;
  data?: unknown;
}

export interface JsonRpcResponse {
  jsonrpc: '2.0';
  id: RequestId | null;
  result?: Record<string, unknown>;
  error?: JsonRpcError;
}

export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

export function isRequest(m: JsonRpcMessage): m is JsonRpcRequest {
  return 'method' in m && 'id' in m && m.id !== undefined && m.id !== null;
}

export function isNotification(m: JsonRpcMessage): m is JsonRpcNotification {
  return 'method' in m && !('id' in m && m.id !== undefined && m.id !== null);
}

export function isResponse(m: JsonRpcMessage): m is JsonRpcResponse {
  return !('method' in m) && ('result' in m || 'error' in m);
}

/** A structurally valid single JSON-RPC 2.0 message, or undefined. */
export function asMessage(value: unknown): JsonRpcMessage | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const m = value as Record<string, unknown>;
  if (m.jsonrpc !== '2.0') return undefined;
  if (
    m.params !== undefined &&
    (typeof m.params !== 'object' || m.params === null || Array.isArray(m.params))
  )
    return undefined;
  const id = m.id;
  const validId = typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
  if (typeof m.method === 'string') {
    if (id !== undefined && !validId) return undefined;
    return m as unknown as JsonRpcMessage;
  }
  if (('result' in m || 'error' in m) && (validId || id === null)) return m as unknown as JsonRpcMessage;
  return undefined;
}

export function errorResponse(
  id: RequestId | null,
  code: number,
  message: string,
  data?: unknown,
): JsonRpcResponse {
  const error: JsonRpcError = data === undefined ? { code, message } : { code, message, data };
  return { jsonrpc: '2.0', id, error };
}

export function resultResponse(id: RequestId, result: Record<string, unknown>): JsonRpcResponse {
  return { jsonrpc: '2.0', id, result };
}
