import { Counter, Histogram, type Registry } from 'prom-client';

/**
 * The MCP gateway's Prometheus metrics, registered beside ext-proc's. `method` is the JSON-RPC method
 * (or "GET"/"DELETE" for the stream and session end), `server` the MCP server's name in the
 * RouteConfig ("" when the gateway answered alone); a fan-out counts once per server. Never a tool
 * argument, a key or a session id.
 */
export function createMcpMetrics(registry: Registry) {
  return {
    requests: new Counter({
      name: 'agent_router_mcp_requests_total',
      help: 'MCP requests by JSON-RPC method, MCP server and outcome (ok, rpc_error, upstream_error, http_<status>).',
      labelNames: ['route_config', 'method', 'server', 'outcome'] as const,
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'agent_router_mcp_request_duration_seconds',
      help: 'Time from the MCP request to its answer (for streams: to the end of the stream), by method and server.',
      labelNames: ['route_config', 'method', 'server'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    streamEvents: new Counter({
      name: 'agent_router_mcp_stream_events_total',
      help: 'Messages relayed from MCP servers to clients on GET streams, by server.',
      labelNames: ['route_config', 'server'] as const,
      registers: [registry],
    }),
  };
}

export type McpMetrics = ReturnType<typeof createMcpMetrics>;
