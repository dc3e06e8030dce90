/**
 * The ext-proc service: Envoy's ExternalProcessor over gRPC (TCP, a Unix socket for the sidecar, or
 * both), grpc.health.v1 on the same listeners, the admin HTTP server, and the configuration in force.
 */
import type { CompiledBackend, Snapshot } from '../config/snapshot.ts';
import { SnapshotStore } from '../config/store.ts';
import { HealthService } from '../grpc/health.ts';
import { GrpcServer, type ServerCall } from '../grpc/server.ts';
import { startAdminServer } from '../observability/admin-server.ts';
import type { Logger } from '../observability/logger.ts';
import { createMcpMetrics } from '../observability/mcp-metrics.ts';
import type { McpObserver } from '../observability/mcp-record.ts';
import type { CounterCell, GaugeCell } from '../observability/metric-cells.ts';
import { createExtProcMetrics, type ExtProcMetrics } from '../observability/metrics.ts';
import { EXT_PROC_SERVICE } from '../protos/envoy.ts';
import { extProcCodec } from '../protos/ext-proc-codec.ts';
import type { ProcessingRequest, ProcessingResponse } from '../protos/ext-proc-messages.ts';
import { AttemptLedger } from './attempt-ledger.ts';
import { FILTER_METADATA_KEY } from './headers.ts';
import { McpGateway, type McpServerHandle, startMcpServer } from './mcp/gateway.ts';
import { codecFromEnv } from './mcp/session-id.ts';
import type { Phases } from './phases.ts';
import { allObservers, type RequestObserver, requestLogObserver } from './request-log.ts';
import { RouterPhases } from './router-phase.ts';
import { sessionHasher } from './session-hash.ts';
import { ProcessingStream } from './stream.ts';
import { UpstreamPhases } from './upstream-phase.ts';

export const DEFAULT_MAX_REQUEST_BODY_BYTES = 16 * 1024 * 1024;

/**
 * The largest gRPC message ext-proc takes: a whole request body (BUFFERED sends it in one message) plus
 * everything around it in the ProcessingRequest (field tags and lengths, protocol_config, metadata),
 * which is bytes, never a mebibyte. So a body the gateway's buffer limit lets through is refused, if at
 * all, by our own check with a 413, not by the transport as RESOURCE_EXHAUSTED (which Envoy answers 500).
 */
export function grpcReceiveLimit(maxRequestBodyBytes: number): number {
  const limit = maxRequestBodyBytes + 1024 * 1024;
  // grpc-js (the dev gateway's client) takes an int32; -1 is "unlimited".
  return limit > 2 ** 31 - 1 ? -1 : limit;
}

export interface ExtProcOptions {
  snapshot: Snapshot;
  logger: Logger;
  /** "host:port" for gRPC over TCP; port 0 picks a free one; undefined: no TCP listener. */
  grpcAddress?: string;
  /**
   * Unix socket path (the sidecar deployment talks to ext-proc over it). Without `grpcAddress` it is the
   * only listener, so only processes that can reach the socket file can open Process streams.
   */
  socketPath?: string;
  adminHost?: string;
  /** Admin HTTP port; undefined disables the admin server (e.g. when the caller serves metrics). */
  adminPort?: number;
  maxRequestBodyBytes?: number;
  metrics?: ExtProcMetrics;
  /** Further readers of every request record (the request store's writer, the OTel exporter). */
  recorders?: readonly RequestObserver[];
  /**
   * The MCP gateway's HTTP listener (ext-proc/mcp/gateway.ts): a TCP port (0 picks one) or a Unix
   * socket (the sidecar, reached by Envoy); undefined: none.
   */
  mcp?: { host: string; port: number } | { socketPath: string };
}

export interface ExtProcServer {
  /** The bound TCP port; undefined when ext-proc listens on its Unix socket only. */
  grpcPort: number | undefined;
  adminUrl: string | undefined;
  /** The MCP gateway's base URL, when it listens. */
  mcpUrl: string | undefined;
  store: SnapshotStore;
  metrics: ExtProcMetrics;
  /** True while every listener accepts streams, false once draining (what /readyz reports). */
  ready(): boolean;
  /** Stops accepting streams, lets open ones finish (up to `graceMs`), then closes. */
  shutdown(graceMs?: number): Promise<void>;
}

export async function startExtProc(options: ExtProcOptions): Promise<ExtProcServer> {
  const { logger } = options;
  if (options.grpcAddress === undefined && !options.socketPath)
    throw new Error('ext-proc needs a gRPC address, a Unix socket path, or both');
  const store = new SnapshotStore(options.snapshot);
  const metrics = options.metrics ?? createExtProcMetrics();
  const observer = allObservers([requestLogObserver(logger, metrics), ...(options.recorders ?? [])], logger);
  const ledger = new AttemptLedger();
  const routerShared = { attempts: ledger };
  // By the configured backend object: no label key string made per attempt. A reload makes new
  // backends, and the old ones' entries go with them.
  const attemptCells = new WeakMap<object, CounterCell>();
  const attempts = {
    onAttempt: (backend: Pick<CompiledBackend, 'id' | 'provider'>) => {
      let cell = attemptCells.get(backend);
      if (!cell) {
        cell = metrics.attemptCells.cell({ backend: backend.id, provider: backend.provider });
        attemptCells.set(backend, cell);
      }
      cell.inc();
    },
  };
  const limits = {
    maxRequestBodyBytes: options.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES,
    warn: (message: string) => logger.warn({ event: 'ext_proc_mode' }, message),
    protocolError: (detail: string) => logger.warn({ event: 'ext_proc_protocol_error' }, detail),
    bug: (error: unknown) => logger.error({ event: 'ext_proc_bug', err: error }, 'a phase failed'),
  };
  const routerStreams = metrics.streamCells.cell({ filter: 'router' });
  const upstreamStreams = metrics.streamCells.cell({ filter: 'upstream' });
  const codec = extProcCodec();
  const server = new GrpcServer({ maxReceiveMessageLength: grpcReceiveLimit(limits.maxRequestBodyBytes) });
  server.addMethod<ProcessingRequest, ProcessingResponse>(`/${EXT_PROC_SERVICE}/Process`, {
    decode: codec.decodeRequest,
    frame: codec.frameResponse,
    handler(call) {
      const level = call.header(FILTER_METADATA_KEY);
      const phases: Phases =
        level === 'upstream'
          ? new UpstreamPhases(store, attempts, ledger)
          : new RouterPhases(store, observer, routerShared, streamTraceOf(call));
      new ProcessingStream(call, phases, limits);
      countOpen(call, level === 'upstream' ? upstreamStreams : routerStreams);
    },
  });
  // grpc.health.v1 on the same listeners, as before (Envoy Gateway and kubelet probe it there).
  const health = new HealthService({ '': 'SERVING', [EXT_PROC_SERVICE]: 'SERVING' });
  health.addToServer(server);

  const grpcPort = options.grpcAddress === undefined ? undefined : await server.listen(options.grpcAddress);
  if (options.socketPath) await server.listen(`unix:${options.socketPath}`);
  // Each listener serves as soon as it listens, so from here on every listener accepts.
  let draining = false;
  const ready = () => !draining;
  const admin =
    options.adminPort === undefined
      ? undefined
      : await startAdminServer({
          host: options.adminHost ?? '0.0.0.0',
          port: options.adminPort,
          registry: metrics.registry,
          ready,
        });
  const mcp = options.mcp && (await startMcp(options.mcp, store, metrics, logger, options.recorders ?? []));
  logger.info(
    {
      event: 'ext_proc_listening',
      grpcAddress: options.grpcAddress,
      grpcPort,
      socketPath: options.socketPath,
      admin: admin?.url,
      mcp: mcp?.url,
    },
    'ext-proc listening',
  );

  return {
    grpcPort,
    adminUrl: admin?.url,
    mcpUrl: mcp?.url,
    store,
    metrics,
    ready,
    async shutdown(graceMs = 10_000) {
      draining = true;
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(EXT_PROC_SERVICE, 'NOT_SERVING');
      await mcp?.close();
      await server.close(graceMs);
      await admin?.close();
    },
  };
}

/** The MCP gateway on its own port, reading the same snapshot; session keys from the environment. */
async function startMcp(
  address: { host: string; port: number } | { socketPath: string },
  store: SnapshotStore,
  metrics: ExtProcMetrics,
  logger: Logger,
  recorders: readonly RequestObserver[],
): Promise<McpServerHandle> {
  const { codec, ephemeral } = codecFromEnv();
  if (ephemeral)
    logger.warn(
      { event: 'mcp_session_key_ephemeral' },
      'AGENT_ROUTER_MCP_SESSION_KEY is not set: MCP session ids are valid in this process only',
    );
  const gateway = new McpGateway({
    store,
    codec,
    logger,
    metrics: createMcpMetrics(metrics.registry),
    hashSession: sessionHasher(),
    // A recorder that also reads MCP records (the OTel exporter's) gets them.
    observers: recorders.filter(isMcpObserver),
  });
  return startMcpServer(address, gateway);
}

function isMcpObserver<T extends object>(recorder: T): recorder is T & McpObserver {
  return typeof (recorder as Partial<McpObserver>).onMcpRequest === 'function';
}

/** Counts a stream as open until the transport is done with it ('close' comes once, whatever ended it). */
const OPEN_GAUGE = Symbol('open streams gauge');
type CountedCall = ServerCall & { [OPEN_GAUGE]?: GaugeCell };

/** Counts the call open until it closes ('close' comes once); a shared listener, not a closure per call. */
function countOpen(call: ServerCall, gauge: GaugeCell): void {
  gauge.inc();
  (call as CountedCall)[OPEN_GAUGE] = gauge;
  call.on('close', closeCounted);
}

function closeCounted(this: CountedCall): void {
  this[OPEN_GAUGE]?.dec();
}

/** The W3C trace context Envoy put in the Process stream's initial metadata, if any (trace-context.ts). */
function streamTraceOf(call: ServerCall): { traceParent?: string; traceState?: string } {
  const traceParent = call.header('traceparent');
  if (traceParent === undefined) return {};
  const traceState = call.header('tracestate');
  return traceState === undefined ? { traceParent } : { traceParent, traceState };
}
