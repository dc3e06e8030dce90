/**
 * The MCP request record: one plain value per MCP request the gateway (ext-proc/mcp/gateway.ts) served,
 * with one entry per HTTP call it made to an MCP server on the way. The OTel exporter turns it into a
 * span and child spans (otel/record-mcp-spans.ts), as it turns the chat path's RequestRecord into its
 * spans. Like that record it names the caller by APIKey id and the session by a keyed hash only: no
 * key, no session id (the client's or a server's), and never a tool's arguments or results.
 */

/** One HTTP call to one MCP server. */
export interface McpUpstreamCall {
  /** The MCP server's name in the RouteConfig. */
  server: string;
  /** The JSON-RPC method sent (a response to a server's request is "response"), or GET / DELETE. */
  method: string;
  /** The server's host and port, from its configured URL. */
  address: string;
  port: number;
  /** Epoch milliseconds: the call started, and its answer (or stream) ended. */
  startMs: number;
  /** Undefined while the answer was still being read when the request was recorded. */
  endMs?: number;
  /** The HTTP status the server answered; 0 when it never did (connect failure, timeout). */
  status: number;
  /** The JSON-RPC error code of the server's answer, when it was an error. */
  rpcError?: number;
  /** A tools/call result with `isError: true` (MCP 2025-11-25 Server › Tools › Error Handling). */
  toolError?: boolean;
}

export interface McpRequestRecord {
  /** When the request arrived, epoch milliseconds. */
  time: number;
  latencyMs: number;
  /** The JSON-RPC method of the POSTed message ("response" for a client's answer), or GET / DELETE. */
  method: string;
  /** The one server the request went to, or the servers a fan-out asked. */
  server?: string;
  servers?: string[];
  /** The tool (tools/call) or prompt (prompts/get) name, without the server prefix. */
  tool?: string;
  prompt?: string;
  /** The HTTP status the client got; 499 when it went away first. */
  status: number;
  /** The JSON-RPC error code the client got, when it got one. */
  rpcError?: number;
  toolError?: boolean;
  /** The protocol version of the session (or the one initialize negotiated). */
  protocolVersion?: string;
  routeConfig?: string;
  keyId?: string;
  /** Keyed hash of the gateway session id (ext-proc/session-hash.ts). */
  sessionHash?: string;
  /** The W3C trace context the request arrived with (validated), if any. */
  traceParent?: string;
  traceState?: string;
  calls: McpUpstreamCall[];
}

export interface McpObserver {
  onMcpRequest(record: McpRequestRecord): void;
}
