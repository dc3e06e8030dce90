/**
 * One process of the MCP benchmark (bench/mcp-tools-call.ts), driven over IPC: `server` runs the demo
 * weather MCP server (sim/mcp-server.ts), `gateway URL` the MCP gateway in front of that server, as
 * ext-proc runs it, and `proxy URL` the floor: a transparent node:http proxy (keep-alive agent, bodies
 * buffered, no authentication, session or parsing), i.e. what any node:http hop costs. Each answers
 * `cpu` with its cumulative CPU time, after a full GC.
 */
import http from 'node:http';
import { Registry } from 'prom-client';
import { compile } from '../../config/compile.ts';
import { parseManifests } from '../../config/file-source.ts';
import { SnapshotStore } from '../../config/store.ts';
import { McpGateway, startMcpServer } from '../../ext-proc/mcp/gateway.ts';
import { SessionIdCodec } from '../../ext-proc/mcp/session-id.ts';
import { sessionHasher } from '../../ext-proc/session-hash.ts';
import { createLogger, logDestination } from '../../observability/logger.ts';
import { createMcpMetrics } from '../../observability/mcp-metrics.ts';
import { startDemoMcpServer } from '../../sim/mcp-server.ts';
import { BENCH_KEY } from './mcp-bench-key.ts';

/** The floor: relays each request and answer whole, headers passed through but hop-by-hop ones. */
async function startProxy(upstream: string): Promise<string> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true, scheduling: 'lifo' });
  const read = (stream: http.IncomingMessage, done: (body: Buffer) => void) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', () => done(Buffer.concat(chunks)));
  };
  const server = http.createServer((req, res) => {
    read(req, (body) => {
      const headers: http.OutgoingHttpHeaders = { ...req.headers, host: target.host };
      delete headers.authorization;
      delete headers.connection;
      if (body.length > 0) headers['content-length'] = body.length;
      const out = http.request(
        {
          hostname: target.hostname,
          port: target.port,
          path: target.pathname,
          method: req.method,
          headers,
          agent,
        },
        (answer) =>
          read(answer, (reply) => {
            const back: http.OutgoingHttpHeaders = { 'content-length': reply.length };
            for (const name of ['content-type', 'mcp-session-id'])
              if (answer.headers[name] !== undefined) back[name] = answer.headers[name];
            res.writeHead(answer.statusCode ?? 502, back);
            res.end(reply);
          }),
      );
      out.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}${target.pathname}`;
}

async function start(kind: string, upstream: string | undefined): Promise<string> {
  if (kind === 'server') return (await startDemoMcpServer('weather')).url;
  if (kind === 'proxy') return startProxy(upstream!);
  const yaml = `
apiVersion: v1
kind: Secret
metadata: { name: keys }
stringData: { bench: ${BENCH_KEY} }
---
apiVersion: agentrouter.dev/v1alpha1
kind: MCPServer
metadata: { name: weather }
spec: { url: "${upstream}" }
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: tools }
spec: { routes: [], mcp: { servers: [{ serverRef: { name: weather } }] } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: APIKey
metadata: { name: bench }
spec: { secretRef: { name: keys, key: bench }, routeConfigRef: { name: tools } }
`;
  const { manifests } = parseManifests('bench.yaml', [{ file: 'bench.yaml', text: yaml }]);
  const { snapshot, problems } = compile(manifests);
  if (problems.length > 0) throw new Error(JSON.stringify(problems));
  // Log lines are written as in production (asynchronously), to /dev/null.
  const logger = createLogger({ level: 'info', destination: logDestination('/dev/null') });
  const gateway = new McpGateway({
    store: new SnapshotStore(snapshot),
    codec: new SessionIdCodec({ version: 1, secret: 'bench-secret-bench-secret-bench-secret' }),
    logger,
    metrics: createMcpMetrics(new Registry()),
    hashSession: sessionHasher('bench'),
  });
  const handle = await startMcpServer({ host: '127.0.0.1', port: 0 }, gateway);
  return `${handle.url}/mcp`;
}

const [kind, upstream] = process.argv.slice(2);
start(kind ?? 'server', upstream).then(
  (url) => process.send?.({ type: 'ready', url }),
  (error: Error) => {
    process.send?.({ type: 'failed', message: error.stack ?? error.message });
    process.exit(1);
  },
);
process.on('message', (message: { type: string }) => {
  if (message.type === 'cpu') {
    globalThis.gc?.();
    const usage = process.cpuUsage();
    process.send?.({ type: 'cpu', micros: usage.user + usage.system });
  } else if (message.type === 'stop') setTimeout(() => process.exit(0), 10);
});
