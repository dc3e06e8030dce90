/**
 * The local stack behind `npm start`: simulated backends, ext-proc and the dev gateway, each on its own
 * loopback port and talking over real HTTP and gRPC, all fed from one manifest file that is watched.
 * With a request store, ext-proc writes every request record into it (through a RecordWriter) and the
 * console serves the analytics and experiments API over it, in this process, next to the gateway.
 */
import type { RequestStore } from '../analytics/store/store.ts';
import type { RecordWriter, RecordWriterOptions } from '../analytics/store/writer.ts';
import { compile } from '../config/compile.ts';
import { readManifests, watchConfig } from '../config/file-source.ts';
import { fileConfigWriter } from '../config/file-writer.ts';
import { ConfigError } from '../config/problems.ts';
import { secretLookup } from '../config/secrets.ts';
import type { AdminToken } from '../console/auth.ts';
import { type RolloutRun, runRollouts } from '../console/rollout/run.ts';
import { type ConsoleServer, startConsole } from '../console/server.ts';
import type { FilterConfig } from '../dev-gateway/filter-run.ts';
import { buildRouteTable } from '../dev-gateway/route-table.ts';
import { type DevGateway, startDevGateway } from '../dev-gateway/server.ts';
import { type EndpointPicker, startEndpointPicker } from '../endpoint-picker/server.ts';
import type { RequestObserver } from '../ext-proc/request-log.ts';
import { DEFAULT_MAX_REQUEST_BODY_BYTES, type ExtProcServer, startExtProc } from '../ext-proc/server.ts';
import { supportedProviders } from '../ext-proc/translate/registry.ts';
import type { Logger } from '../observability/logger.ts';
import { createExtProcMetrics } from '../observability/metrics.ts';
import { simulatedBackends, simulatedPods, startFleet, startSimulatedPods } from '../sim/fleet.ts';
import { type DemoMcpServer, simulatedMcpServers, startMcpFleet } from '../sim/mcp-server.ts';
import type { ModelServer } from '../sim/model-server.ts';
import { reloadHandlers } from './reload-handlers.ts';
import { closeWriter, recordInto } from './request-store.ts';

export interface LocalStackOptions {
  configPath: string;
  logger: Logger;
  host?: string;
  gatewayPort?: number;
  grpcPort?: number;
  /** undefined: no admin server. */
  adminPort?: number;
  /** ext-proc's MCP port (default 0, a free one: the dev gateway is told where it is). */
  mcpPort?: number;
  /** The request body limit (default 16 MiB), enforced by the dev gateway and by ext-proc alike. */
  maxRequestBodyBytes?: number;
  simTiming?: { ttftMs?: number; msPerToken?: number };
  /** Endpoint-picker ports for the first InferencePool (GIE conventions 9002/9003/9090); others get free ports. */
  pickerPorts?: { grpc: number; health: number; metrics?: number };
  /** Endpoint-picker scheduler preset or configuration. */
  pickerScheduler?: unknown;
  /** ext_proc filter settings of the dev gateway (defaults: ours, see DEFAULT_FILTER). */
  filters?: { router?: Partial<FilterConfig>; upstream?: Partial<FilterConfig> };
  /** Where every request record goes (the stack closes it); undefined: nowhere but the log line. */
  store?: RequestStore;
  /** The writer in front of the store: queue, batches, retention (default 30 days). */
  writer?: Omit<RecordWriterOptions, 'logger' | 'onDrop'>;
  /**
   * The console (analytics API over `store`, and edits written through `configPath`) on `host`;
   * undefined: none. Needs `store`. `readOnly` refuses every write.
   */
  console?: {
    port: number;
    adminToken?: AdminToken;
    readOnly?: boolean;
    /** The rollout controller's tick and where its state is kept (default every 15 s, in memory). */
    rollouts?: { intervalMs?: number; stateFile?: string };
  };
  /** Further readers of every request record (the OTel exporter). */
  recorders?: readonly RequestObserver[];
}

export interface LocalStack {
  gatewayUrl: string;
  extProc: ExtProcServer;
  pickers: EndpointPicker[];
  gateway: DevGateway;
  sims: ModelServer[];
  /** The demo MCP servers of MCPServers annotated agentrouter.dev/simulated. */
  mcpServers: DemoMcpServer[];
  /** Present with a store. */
  writer?: RecordWriter;
  console?: ConsoleServer;
  close(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const host = options.host ?? '127.0.0.1';
  const { logger } = options;
  const { manifests, problems } = readManifests(options.configPath);
  if (problems.length > 0) throw new ConfigError(problems);
  const compiled = compile(manifests, { supportedProviders });
  if (compiled.problems.length > 0) throw new ConfigError(compiled.problems);

  const sims = await startFleet(simulatedBackends(manifests, secretLookup(manifests)), options.simTiming);
  sims.push(...(await startSimulatedPods(simulatedPods(manifests))));
  const mcpServers = await startMcpFleet(simulatedMcpServers(manifests));
  // One endpoint picker per InferencePool, as the Helm chart deploys them.
  const pickers: EndpointPicker[] = [];
  const pickerTargets = new Map<string, string>();
  for (const [i, pool] of compiled.snapshot.inferencePools.entries()) {
    const poolId = `${pool.metadata.namespace}/${pool.metadata.name}`;
    const ports = i === 0 ? options.pickerPorts : undefined;
    const picker = await startEndpointPicker({
      snapshot: compiled.snapshot,
      poolId,
      logger,
      grpcAddress: `${host}:${ports?.grpc ?? 0}`,
      healthAddress: `${host}:${ports?.health ?? 0}`,
      metricsHost: host,
      ...(ports?.metrics !== undefined ? { metricsPort: ports.metrics } : {}),
      ...(options.pickerScheduler !== undefined ? { scheduler: options.pickerScheduler } : {}),
    });
    pickers.push(picker);
    pickerTargets.set(poolId, `${host}:${picker.grpcPort}`);
  }
  // One limit for both, as Envoy's buffer limit and ext-proc's --max-body are set together: the gateway
  // answers 413 before forwarding, so ext-proc never gets a body over what it accepts.
  const maxRequestBodyBytes = options.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES;
  const metrics = createExtProcMetrics();
  const recording =
    options.store === undefined
      ? undefined
      : recordInto(options.store, { ...options.writer, logger, dropped: metrics.recordsDropped });
  const recorders = [...(recording ? [recording.recorder] : []), ...(options.recorders ?? [])];
  const extProc = await startExtProc({
    snapshot: compiled.snapshot,
    logger,
    metrics,
    grpcAddress: `${host}:${options.grpcPort ?? 50051}`,
    adminHost: host,
    ...(options.adminPort !== undefined ? { adminPort: options.adminPort } : {}),
    maxRequestBodyBytes,
    recorders,
    mcp: { host, port: options.mcpPort ?? 0 },
  });
  if (options.console !== undefined && options.store === undefined)
    throw new Error('the console needs a request store');
  const configWriter = fileConfigWriter(options.configPath, { supportedProviders });
  // The rollout controller edits the same file the console does (never in a read-only console). It
  // starts once the file is watched, below: a write before that would never reach the running config.
  let rollouts: RolloutRun | undefined;
  const consoleServer =
    options.console === undefined || options.store === undefined
      ? undefined
      : await startConsole({
          host,
          port: options.console.port,
          store: options.store,
          config: extProc.store,
          adminToken: options.console.adminToken,
          logger,
          writer: configWriter,
          readOnly: options.console.readOnly === true,
          ...(options.console.readOnly === true
            ? {}
            : { rollouts: { status: () => rollouts?.status() ?? [] } }),
        });
  let routes = buildRouteTable(compiled.snapshot);
  const gateway = await startDevGateway({
    host,
    port: options.gatewayPort ?? 8080,
    extProcTarget: `${host}:${extProc.grpcPort}`,
    routes: () => routes,
    endpointPickers: (poolId) => pickerTargets.get(poolId),
    logger,
    maxRequestBodyBytes,
    mcpTarget: () => extProc.mcpUrl,
    ...options.filters,
  });
  const watcher = watchConfig(
    options.configPath,
    { supportedProviders },
    reloadHandlers(
      logger,
      (snapshot) => {
        extProc.store.replace(snapshot);
        for (const picker of pickers) picker.store.replace(snapshot);
        routes = buildRouteTable(snapshot);
      },
      extProc.metrics.configReloads,
    ),
  );
  if (options.console !== undefined && options.store !== undefined && options.console.readOnly !== true)
    rollouts = runRollouts({
      writer: configWriter,
      store: options.store,
      logger,
      ...(options.console.rollouts?.stateFile !== undefined
        ? { stateFile: options.console.rollouts.stateFile }
        : {}),
      ...(options.console.rollouts?.intervalMs !== undefined
        ? { intervalMs: options.console.rollouts.intervalMs }
        : {}),
    });
  return {
    gatewayUrl: gateway.url,
    extProc,
    pickers,
    gateway,
    sims,
    mcpServers,
    ...(recording ? { writer: recording.writer } : {}),
    ...(consoleServer ? { console: consoleServer } : {}),
    async close() {
      watcher.close();
      await gateway.close();
      await extProc.shutdown(2_000);
      await rollouts?.stop();
      await consoleServer?.close();
      if (recording) await closeWriter(recording.writer, 2_000);
      await options.store?.close();
      await Promise.all(pickers.map((p) => p.shutdown(1_000)));
      await Promise.all(sims.map((s) => s.close()));
      await Promise.all(mcpServers.map((s) => s.close()));
    },
  };
}
