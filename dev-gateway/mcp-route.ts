/**
 * The dev gateway's MCP route, as the chart configures Envoy: requests under `/mcp` go straight to
 * ext-proc's MCP port, with no ext_proc filter on the route (the MCP gateway authenticates and routes
 * itself; ext_proc could not stream its answers). Both directions are piped, never buffered, so SSE
 * streams (POST answers and the long-lived GET) flow event by event, and a client that leaves resets
 * the upstream request as Envoy would.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';

export const MCP_PATH_PREFIX = '/mcp';

/** `/mcp`, `/mcp/...`, `/mcp?...`: Envoy's path_separated_prefix match on /mcp. */
export function isMcpPath(url: string | undefined): boolean {
  if (url === undefined || !url.startsWith(MCP_PATH_PREFIX)) return false;
  const next = url.charAt(MCP_PATH_PREFIX.length);
  return next === '' || next === '/' || next === '?';
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) stay on their hop. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers))
    if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
  return out;
}

/** Proxies one request to the MCP gateway at `target` (its base URL, e.g. http://127.0.0.1:9191). */
export function proxyMcp(req: IncomingMessage, res: ServerResponse, target: string): void {
  const base = new URL(target);
  const upstream = http.request({
    host: base.hostname,
    port: base.port,
    method: req.method,
    path: req.url,
    headers: { ...endToEnd(req.headers), host: base.host, 'x-forwarded-proto': 'http' },
  });
  upstream.on('response', (answer) => {
    res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
    res.flushHeaders();
    answer.pipe(res);
    answer.on('error', () => res.destroy());
  });
  upstream.on('error', () => {
    if (!res.headersSent) {
      const body = JSON.stringify({
        jsonrpc: '2.0',
        id: null,
        error: { code: -32603, message: 'the MCP gateway is unreachable' },
      });
      res.writeHead(503, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    } else res.destroy();
  });
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}
