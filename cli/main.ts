/**
 * agent-router <ext-proc|dev|sim|start|console|…> [--config FILE] …
 * Each command runs until SIGTERM/SIGINT, then drains and exits.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { POSTGRES_WRITER_OPTIONS } from '../analytics/store/postgres.ts';
import { loadSnapshot, readManifests, watchConfig } from '../config/file-source.ts';
import { fileConfigWriter } from '../config/file-writer.ts';
import { ConfigError } from '../config/problems.ts';
import { secretLookup } from '../config/secrets.ts';
import { SnapshotStore } from '../config/store.ts';
import { runRollouts } from '../console/rollout/run.ts';
import { DEFAULT_CONSOLE_PORT, startConsole } from '../console/server.ts';
import { buildRouteTable } from '../dev-gateway/route-table.ts';
import { startDevGateway } from '../dev-gateway/server.ts';
import { parseSchedulerConfigYaml } from '../endpoint-picker/scheduling/config.ts';
import { PRESETS } from '../endpoint-picker/scheduling/presets.ts';
import { startEndpointPicker } from '../endpoint-picker/server.ts';
import { writeEnvoyConfig } from '../envoy-config/command.ts';
import type { RequestObserver } from '../ext-proc/request-log.ts';
import { type ExtProcServer, startExtProc } from '../ext-proc/server.ts';
import { supportedProviders } from '../ext-proc/translate/registry.ts';
import { kubeConfigWriter } from '../kube/config-writer.ts';
import { isKubernetesConfig, kubeSourceOptionsFromEnvironment } from '../kube/environment.ts';
import { DEFAULT_SECRET_SELECTOR, startKubeSource } from '../kube/source.ts';
import { startAdminServer } from '../observability/admin-server.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import type { McpObserver } from '../observability/mcp-record.ts';
import { createExtProcMetrics } from '../observability/metrics.ts';
import { createOtelExporter, type OtelExporter } from '../observability/otel.ts';
import { simulatedBackends, simulatedPods, startFleet, startSimulatedPods } from '../sim/fleet.ts';
import { adminTokenFrom, checkOpenConsole } from './console-auth.ts';
import { startLocalStack } from './local-stack.ts';
import { reloadHandlers } from './reload-handlers.ts';
import {
  closeWriter,
  DEFAULT_DATA_DIR,
  describeStore,
  openStore,
  parseStoreSpec,
  recordInto,
  retentionMs,
} from './request-store.ts';

const USAGE = `usage: agent-router <command> [options]

commands:
  start          local stack: simulated backends + ext-proc + dev gateway + console (default config examples/local.yaml)
  ext-proc       Envoy ext_proc server (gRPC :50051, or only the Unix socket with --socket; admin :9190)
  dev            dev gateway on :8080 in front of a running ext-proc (--ext-proc host:port)
  endpoint-picker  Gateway API Inference Extension endpoint picker (ext_proc :9002, health :9003, metrics :9090)
  sim            simulated model servers for the backends and pods annotated agentrouter.dev/simulated
  envoy-config   an Envoy bootstrap for the config (Envoy without Kubernetes), to stdout or --out
  console        the console on :8081: web app, analytics and experiments API, and edits of keys and RouteConfigs
                 written through the configuration source (the --config file, or server-side apply with --kubernetes)

options:
  --config FILE      manifests: a multi-document YAML file or a folder of them; kubernetes:// = --kubernetes
  --kubernetes       ext-proc, endpoint-picker: watch the CRs, Secrets, InferencePools and Pods in the cluster
                     (in-cluster or $KUBECONFIG credentials; scope from AGENT_ROUTER_WATCH_NAMESPACES, see kube/environment.ts)
  --namespaces LIST  with --kubernetes: comma-separated namespaces to watch (default: all)
  --host ADDR        listen address (default 127.0.0.1; ext-proc default 0.0.0.0)
  --port N           dev gateway port (default 8080)
  --grpc-port N      ext-proc gRPC port over TCP (default 50051; with --socket: no TCP listener unless given)
  --grpc-host ADDR   ext-proc: TCP gRPC bind address (default --host's); e.g. 127.0.0.1 keeps it in the pod
  --picker-port N    start: endpoint-picker gRPC port (default 9002; health N+1, metrics 9090; 0 = free ports)
  --socket PATH      ext-proc serves ExternalProcessor and gRPC health on this Unix socket, and only there
                     unless --grpc-port or --grpc-host asks for TCP too (a stale socket file is replaced)
  --admin-port N     ext-proc metrics/health HTTP port (default 9190), the kubelet probe target: /healthz is
                     liveness (200 while the process runs), /readyz is 200 once the configuration is loaded
                     and every gRPC listener (socket included) accepts streams, 503 before that and while
                     draining on SIGTERM; /metrics is Prometheus. None of them can open a Process stream.
                     envoy-config: Envoy admin port (default 9901)
  --mcp-port N       ext-proc: serve the MCP gateway (Streamable HTTP) on this port (the chart: 9191); off
                     without it. start: its port behind the dev gateway's /mcp (default 0, a free one).
                     Session ids are sealed with AGENT_ROUTER_MCP_SESSION_KEY (+ _VERSION, _PREVIOUS)
  --mcp-socket PATH  ext-proc: serve the MCP gateway on this Unix socket instead (the chart's sidecar)
  --ext-proc TARGET  dev, envoy-config: ext-proc gRPC target host:port (default 127.0.0.1:50051)
  --ext-proc-socket PATH  envoy-config: reach ext-proc on this Unix socket instead
  --listen-port N    envoy-config: Envoy listener port (default 8080)
  --endpoint-picker NS/NAME=HOST:PORT  envoy-config: a pool's endpoint picker (default 127.0.0.1:<endpointPickerRef port>); repeatable
  --ca-file PATH     envoy-config: CA bundle for providers' TLS (default /etc/ssl/certs/ca-certificates.crt)
  --out FILE         envoy-config: write here instead of stdout (.json: JSON, else YAML)
  --max-body BYTES   largest request body ext-proc accepts, and Envoy or the dev gateway buffers (default 16 MiB);
                     dev answers a larger one 413 before forwarding: give ext-proc and dev the same value
  --pool NS/NAME     endpoint-picker: the InferencePool to serve (default: the only one)
  --health-port N    endpoint-picker gRPC health port (default 9003)
  --metrics-port N   endpoint-picker metrics port (default 9090)
  --scheduler NAME   endpoint-picker: preset (ours, gie-default, least-queue, round-robin, random) or a YAML file
  --store SPEC       request store: sqlite (under --data-dir), sqlite:DIR, postgres (DATABASE_URL or PG* variables,
                     never on the command line) or none; also AGENT_ROUTER_STORE. Default: start and console
                     sqlite, ext-proc none
  --data-dir DIR     where --store sqlite keeps requests.sqlite (default .agent-router in the working directory;
                     also AGENT_ROUTER_DATA_DIR)
  --retention-days N start, ext-proc: records older than N days are pruned (default 30; 0 keeps everything)
  --console-port N   start: console port (default 8081; 0 = a free port)
  --admin-token-file PATH  console, start: the admin token the API requires (Authorization: Bearer); or
                     AGENT_ROUTER_CONSOLE_TOKEN. Without one the console is open, on loopback only
  --admin-token-secret [NS/]NAME  console with --kubernetes: the admin token from this Secret (labelled
                     agentrouter.dev/secret=true), key --admin-token-key (default token)
  --read-only        console, start: the console refuses every write (403 read_only), for configuration kept in Git
  --log-level LEVEL  pino level (default info)
`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    config: { type: 'string' },
    kubernetes: { type: 'boolean' },
    namespaces: { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string' },
    'grpc-port': { type: 'string' },
    'grpc-host': { type: 'string' },
    socket: { type: 'string' },
    'admin-port': { type: 'string' },
    'mcp-port': { type: 'string' },
    'mcp-socket': { type: 'string' },
    'ext-proc': { type: 'string' },
    'ext-proc-socket': { type: 'string' },
    'listen-port': { type: 'string' },
    'endpoint-picker': { type: 'string', multiple: true },
    'ca-file': { type: 'string' },
    out: { type: 'string' },
    'max-body': { type: 'string' },
    'log-level': { type: 'string' },
    pool: { type: 'string' },
    'picker-port': { type: 'string' },
    'health-port': { type: 'string' },
    'metrics-port': { type: 'string' },
    scheduler: { type: 'string' },
    store: { type: 'string' },
    'data-dir': { type: 'string' },
    'retention-days': { type: 'string' },
    'console-port': { type: 'string' },
    'admin-token-file': { type: 'string' },
    'admin-token-secret': { type: 'string' },
    'admin-token-key': { type: 'string' },
    'read-only': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});

const command = positionals[0];
const logger = createLogger({
  ...(values['log-level'] ? { level: values['log-level'] } : {}),
  name: `agent-router ${command ?? ''}`.trim(),
});
const num = (text: string | undefined, fallback: number) => (text === undefined ? fallback : Number(text));
const configPath = values.config ?? 'examples/local.yaml';
const kubernetes = values.kubernetes === true || isKubernetesConfig(values.config);
/** The first pool's picker on the GIE ports (gRPC, health = gRPC + 1, metrics 9090); 0 picks free ones. */
const pickerPorts = (grpc: number) =>
  grpc === 0 ? { grpc: 0, health: 0 } : { grpc, health: grpc + 1, metrics: 9090 };
const dataDir = values['data-dir'] ?? process.env.AGENT_ROUTER_DATA_DIR ?? DEFAULT_DATA_DIR;
const storeSpec = (fallback: 'sqlite' | 'none') => parseStoreSpec(values.store, { dataDir, fallback });
const adminTokenFlags = {
  file: values['admin-token-file'],
  secret: values['admin-token-secret'],
  key: values['admin-token-key'],
};
/** "host:port" as gRPC parses it: an IPv6 literal goes in brackets. */
const hostPort = (host: string, port: number) =>
  host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;

/**
 * ext-proc's TCP gRPC address. The sidecar (`--socket`) is reached by Envoy over the socket only, so any
 * pod that can reach the proxy pod's IP cannot open Process streams; TCP comes back only when asked for.
 */
function extProcGrpcAddress(): string | undefined {
  const tcpAsked = values['grpc-port'] !== undefined || values['grpc-host'] !== undefined;
  if (values.socket && !tcpAsked) return undefined;
  return hostPort(values['grpc-host'] ?? values.host ?? '0.0.0.0', num(values['grpc-port'], 50051));
}

function onShutdown(logger: Logger, close: () => Promise<void>): void {
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ event: 'shutdown', signal }, 'draining');
    close().then(
      () => process.exit(0),
      (error: Error) => {
        logger.error({ err: error.message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** --max-body: a byte count (1 … 1 GiB; ext-proc's gRPC limit adds its headroom to it). */
function maxBodyOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const bytes = Number(text);
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 2 ** 30)
    throw new Error(`--max-body ${text}: not a byte count (1 … ${2 ** 30})`);
  return bytes;
}

/**
 * OTLP export of the request records when OTEL_EXPORTER_OTLP_* asks for it (observability/otel.ts), as
 * one more reader of every record; undefined otherwise.
 */
async function otelRecorder(): Promise<
  { exporter: OtelExporter; recorder: RequestObserver & McpObserver } | undefined
> {
  const exporter = await createOtelExporter(process.env);
  if (exporter === undefined) return undefined;
  logger.info({ event: 'otel_export_on' }, 'exporting request spans and GenAI metrics over OTLP');
  return {
    exporter,
    recorder: {
      onRequest: (record) => exporter.onRecord(record),
      onMcpRequest: (record) => exporter.onMcpRecord(record),
    },
  };
}

/** Shuts the exporter down (its last export) for at most `graceMs`: an unreachable collector must not hold up an exit. */
async function shutdownOtel(otel: { exporter: OtelExporter } | undefined, graceMs: number): Promise<void> {
  if (otel === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    otel.exporter.shutdown().catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    }),
  ]);
  clearTimeout(timer);
}

/** The writer's batches and writes in flight for the store (PostgreSQL's; SQLite keeps the defaults). */
function writerTuning(kind: 'sqlite' | 'postgres' | 'none'): { batchSize?: number; concurrency?: number } {
  return kind === 'postgres' ? POSTGRES_WRITER_OPTIONS : {};
}

async function main(): Promise<void> {
  // envoy-config checks the flag against Envoy's own range.
  const maxBody = command === 'envoy-config' ? undefined : maxBodyOption(values['max-body']);
  switch (command) {
    case 'start': {
      const host = values.host ?? '127.0.0.1';
      const spec = storeSpec('sqlite');
      const retention = retentionMs(values['retention-days']);
      const opened = openStore(spec, logger);
      const adminToken = adminTokenFrom(adminTokenFlags, undefined);
      if (opened) checkOpenConsole(host, adminToken);
      const otel = await otelRecorder();
      const stack = await startLocalStack({
        configPath,
        logger,
        host: values.host ?? '127.0.0.1',
        gatewayPort: num(values.port, 8080),
        grpcPort: num(values['grpc-port'], 50051),
        adminPort: num(values['admin-port'], 9190),
        mcpPort: num(values['mcp-port'], 0),
        pickerPorts: pickerPorts(num(values['picker-port'], 9002)),
        ...(maxBody !== undefined ? { maxRequestBodyBytes: maxBody } : {}),
        ...(otel ? { recorders: [otel.recorder] } : {}),
        ...(opened
          ? {
              store: opened.store,
              writer: { retentionMs: retention, ...writerTuning(spec.kind) },
              console: {
                port: num(values['console-port'], DEFAULT_CONSOLE_PORT),
                ...(adminToken ? { adminToken } : {}),
                readOnly: values['read-only'] === true,
                rollouts: { stateFile: path.join(dataDir, 'rollouts.json') },
              },
            }
          : {}),
      });
      process.stderr.write(
        `\nagent-router local stack is up (config ${configPath})\n` +
          `  OpenAI-compatible API  ${stack.gatewayUrl}/v1\n` +
          `  MCP (Streamable HTTP)  ${stack.gatewayUrl}/mcp\n` +
          `  ext-proc gRPC          127.0.0.1:${stack.extProc.grpcPort}\n` +
          `  metrics                ${stack.extProc.adminUrl ?? '(off)'}/metrics\n` +
          `  endpoint pickers       ${stack.pickers.map((p) => `127.0.0.1:${p.grpcPort}`).join(' ') || '(none)'}\n` +
          `  request store          ${describeStore(spec)}\n` +
          `  console API            ${stack.console ? `${stack.console.url}/api/v1/ (${adminToken ? 'admin token required' : 'open on loopback'})` : '(off: no store)'}\n` +
          `  simulated backends     ${stack.sims.map((s) => `${s.name}=${s.url}`).join(' ')}\n\n`,
      );
      onShutdown(logger, async () => {
        await stack.close();
        await shutdownOtel(otel, 5_000);
      });
      return;
    }
    case 'ext-proc': {
      // The admin server comes first, so kubelet's liveness probe is answered while the configuration
      // loads (a first sync from the API server can take a while) and /readyz says 503 until serving.
      const metrics = createExtProcMetrics();
      let server: ExtProcServer | undefined;
      const admin = await startAdminServer({
        host: values.host ?? '0.0.0.0',
        port: num(values['admin-port'], 9190),
        registry: metrics.registry,
        ready: () => server?.ready() === true,
      });
      logger.info({ event: 'admin_listening', admin: admin.url }, 'admin server listening');
      const kube = kubernetes
        ? await startKubeSource(
            kubeSourceOptionsFromEnvironment({
              service: 'ext-proc',
              logger,
              compile: { supportedProviders },
              ...(values.namespaces !== undefined ? { namespaces: values.namespaces } : {}),
            }),
          )
        : undefined;
      const grpcAddress = extProcGrpcAddress();
      const spec = storeSpec('none');
      const retention = retentionMs(values['retention-days']);
      const opened = openStore(spec, logger);
      const recording = opened
        ? recordInto(opened.store, {
            logger,
            dropped: metrics.recordsDropped,
            retentionMs: retention,
            ...writerTuning(spec.kind),
          })
        : undefined;
      const otel = await otelRecorder();
      const recorders = [...(recording ? [recording.recorder] : []), ...(otel ? [otel.recorder] : [])];
      const extProc = await startExtProc({
        snapshot: kube?.snapshot ?? loadSnapshot(configPath, { supportedProviders }),
        logger,
        metrics,
        recorders,
        ...(grpcAddress !== undefined ? { grpcAddress } : {}),
        ...(values.socket ? { socketPath: values.socket } : {}),
        ...(values['mcp-socket'] !== undefined
          ? { mcp: { socketPath: values['mcp-socket'] } }
          : values['mcp-port'] !== undefined
            ? { mcp: { host: values.host ?? '0.0.0.0', port: num(values['mcp-port'], 9191) } }
            : {}),
        ...(maxBody !== undefined ? { maxRequestBodyBytes: maxBody } : {}),
      });
      server = extProc;
      const handlers = reloadHandlers(
        logger,
        (snapshot) => extProc.store.replace(snapshot),
        metrics.configReloads,
      );
      const watcher = kube
        ? kube.subscribe(handlers)
        : watchConfig(configPath, { supportedProviders }, handlers);
      onShutdown(logger, async () => {
        watcher.close();
        await kube?.close();
        // /readyz turns 503 as the drain starts; the admin server goes last.
        await extProc.shutdown();
        if (recording) await closeWriter(recording.writer, 5_000);
        await opened?.store.close();
        await shutdownOtel(otel, 5_000);
        await admin.close();
      });
      return;
    }
    case 'dev': {
      let routes = buildRouteTable(loadSnapshot(configPath, { supportedProviders }));
      const gateway = await startDevGateway({
        host: values.host ?? '127.0.0.1',
        port: num(values.port, 8080),
        extProcTarget: values['ext-proc'] ?? '127.0.0.1:50051',
        routes: () => routes,
        logger,
        ...(maxBody !== undefined ? { maxRequestBodyBytes: maxBody } : {}),
      });
      const watcher = watchConfig(
        configPath,
        { supportedProviders },
        {
          onSnapshot: (s) => {
            routes = buildRouteTable(s);
          },
          onRejected: (e) => logger.error({ event: 'config_rejected' }, e.message),
        },
      );
      onShutdown(logger, async () => {
        watcher.close();
        await gateway.close();
      });
      return;
    }
    case 'sim': {
      const { manifests, problems } = readManifests(configPath);
      if (problems.length > 0) throw new ConfigError(problems);
      const sims = await startFleet(simulatedBackends(manifests, secretLookup(manifests)));
      sims.push(...(await startSimulatedPods(simulatedPods(manifests))));
      for (const s of sims)
        logger.info({ event: 'sim_listening', name: s.name, url: s.url }, 'simulated backend listening');
      onShutdown(logger, async () => {
        await Promise.all(sims.map((s) => s.close()));
      });
      return;
    }
    case 'endpoint-picker': {
      const schedulerArg = values.scheduler ?? 'ours';
      const scheduler =
        schedulerArg in PRESETS ? schedulerArg : parseSchedulerConfigYaml(readFileSync(schedulerArg, 'utf8'));
      const kube = kubernetes
        ? await startKubeSource(
            kubeSourceOptionsFromEnvironment({
              service: 'endpoint-picker',
              logger,
              ...(values.pool ? { poolId: values.pool } : {}),
              ...(values.namespaces !== undefined ? { namespaces: values.namespaces } : {}),
            }),
          )
        : undefined;
      const picker = await startEndpointPicker({
        snapshot: kube?.snapshot ?? loadSnapshot(configPath, { supportedProviders }),
        logger,
        ...(values.pool ? { poolId: values.pool } : {}),
        grpcAddress: `${values.host ?? '0.0.0.0'}:${num(values['grpc-port'], 9002)}`,
        healthAddress: `${values.host ?? '0.0.0.0'}:${num(values['health-port'], 9003)}`,
        metricsHost: values.host ?? '0.0.0.0',
        metricsPort: num(values['metrics-port'], 9090),
        scheduler,
      });
      const handlers = reloadHandlers(logger, (snapshot) => picker.store.replace(snapshot));
      const watcher = kube
        ? kube.subscribe(handlers)
        : watchConfig(configPath, { supportedProviders }, handlers);
      onShutdown(logger, async () => {
        watcher.close();
        await kube?.close();
        await picker.shutdown();
      });
      return;
    }
    case 'console': {
      const host = values.host ?? '127.0.0.1';
      const kubeOptions = kubernetes
        ? kubeSourceOptionsFromEnvironment({
            service: 'console',
            logger,
            compile: { supportedProviders },
            ...(values.namespaces !== undefined ? { namespaces: values.namespaces } : {}),
          })
        : undefined;
      const kube = kubeOptions ? await startKubeSource(kubeOptions) : undefined;
      const adminToken = adminTokenFrom(adminTokenFlags, kube);
      checkOpenConsole(host, adminToken);
      const spec = storeSpec('sqlite');
      const opened = openStore(spec, logger);
      if (opened === undefined) throw new Error('console: --store none leaves nothing to serve');
      const config = kube ?? new SnapshotStore(loadSnapshot(configPath, { supportedProviders }));
      const watcher =
        config instanceof SnapshotStore
          ? watchConfig(
              configPath,
              { supportedProviders },
              reloadHandlers(logger, (snapshot) => config.replace(snapshot)),
            )
          : undefined;
      const writer = kubeOptions
        ? kubeConfigWriter({
            kubeConfig: kubeOptions.kubeConfig,
            namespaces: kubeOptions.namespaces,
            secretNamespaces: kubeOptions.secretNamespaces ?? kubeOptions.namespaces,
            secretLabelSelector: kubeOptions.secretLabelSelector ?? DEFAULT_SECRET_SELECTOR,
            compile: { supportedProviders },
          })
        : fileConfigWriter(configPath, { supportedProviders });
      const readOnly = values['read-only'] === true;
      let storeReady = false;
      void opened.ready.then(() => {
        storeReady = true;
      });
      // Automated canaries (spec.rollouts), through the same writer; a read-only console runs none.
      const rollouts = readOnly
        ? undefined
        : runRollouts({
            writer,
            store: opened.store,
            logger,
            ...(kubeOptions
              ? {
                  kubernetes: {
                    kubeConfig: kubeOptions.kubeConfig,
                    leaseNamespace: process.env.POD_NAMESPACE || 'default',
                    identity: process.env.POD_NAME || hostname(),
                    ...(process.env.AGENT_ROUTER_ROLLOUT_LEASE
                      ? { leaseName: process.env.AGENT_ROUTER_ROLLOUT_LEASE }
                      : {}),
                  },
                }
              : { stateFile: path.join(dataDir, 'rollouts.json') }),
          });
      const server = await startConsole({
        host,
        port: num(values.port, DEFAULT_CONSOLE_PORT),
        store: opened.store,
        config,
        adminToken,
        logger,
        writer,
        readOnly,
        ...(rollouts ? { rollouts } : {}),
        ready: () => storeReady,
      });
      process.stderr.write(
        `\nagent-router console: ${server.url}/api/v1/ (store ${describeStore(spec)}, ${adminToken ? `admin token from ${adminToken.source}` : 'open on loopback'})\n\n`,
      );
      onShutdown(logger, async () => {
        watcher?.close();
        await rollouts?.stop();
        await kube?.close();
        await server.close();
        await opened.store.close();
      });
      return;
    }
    case 'envoy-config':
      writeEnvoyConfig({
        configPath,
        out: values.out,
        extProc: values['ext-proc'],
        extProcSocket: values['ext-proc-socket'],
        listenPort: values['listen-port'],
        adminPort: values['admin-port'],
        caFile: values['ca-file'],
        maxBody: values['max-body'],
        endpointPickers: values['endpoint-picker'],
      });
      return;
    default:
      process.stderr.write(USAGE);
      process.exit(values.help ? 0 : 2);
  }
}

main().catch((error: Error) => {
  process.stderr.write(`agent-router: ${error.message}\n`);
  process.exit(1);
});
