/**
 * One process of the MCP benchmark (bench/mcp-tools-call.ts), driven over IPC: `server` runs the demo
 * weather MCP server (sim/mcp-server.ts), `gateway URL` the MCP gateway in front of that server, as
 * ext-proc runs it. Each answers `cpu` with its cumulative CPU time, after a full GC.
 */
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

async function start(kind: string, upstream: string | undefined): Promise<string> {
  if (kind === 'server') return (await startDemoMcpServer('weather')).url;
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
