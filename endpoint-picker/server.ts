/**
 * The endpoint picker service: an ext_proc server speaking the Gateway API Inference Extension
 * protocol (gRPC :9002), gRPC health on its own port (:9003, services liveness / readiness /
 * ExternalProcessor), Prometheus metrics on :9090 — the upstream EPP's conventions — plus the pool
 * datastore, the metrics scraper and the scheduler.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { poolView } from '../config/inference-pool.ts';
import type { Snapshot } from '../config/snapshot.ts';
import { SnapshotStore } from '../config/store.ts';
import { ProcessingStream } from '../ext-proc/stream.ts';
import { HealthService } from '../grpc/health.ts';
import { GrpcServer } from '../grpc/server.ts';
import { startAdminServer } from '../observability/admin-server.ts';
import type { Logger } from '../observability/logger.ts';
import { EXT_PROC_SERVICE } from '../protos/envoy.ts';
import { extProcCodec } from '../protos/ext-proc-codec.ts';
import type { ProcessingRequest, ProcessingResponse } from '../protos/ext-proc-messages.ts';
import { MODEL_SERVER_METRICS } from './metrics/model-server-metrics.ts';
import { MetricsScraper } from './metrics/scraper.ts';
import { PickerPhases } from './picker-phase.ts';
import { HEALTH_SERVICES } from './protocol.ts';
import { explain } from './scheduling/explain.ts';
import { PRESETS, type PresetName } from './scheduling/presets.ts';
import { Scheduler } from './scheduling/scheduler.ts';
import type { PodState, ScoreTable } from './scheduling/types.ts';

/** Decisions whose pod scores wait for the next /metrics read; older ones are superseded anyway. */
const MAX_SCORES_BACKLOG = 64;

export interface EndpointPickerOptions {
  snapshot: Snapshot;
  logger: Logger;
  /** "<namespace>/<name>" of the InferencePool; optional when the configuration holds exactly one. */
  poolId?: string;
  grpcAddress?: string;
  healthAddress?: string;
  metricsHost?: string;
  /** undefined: no metrics HTTP server. */
  metricsPort?: number;
  /** A preset name or a scheduler configuration object (see scheduling/config.ts). */
  scheduler?: PresetName | unknown;
  modelServer?: keyof typeof MODEL_SERVER_METRICS;
  scrapeIntervalMs?: number;
  staleAfterMs?: number;
  seed?: number;
}

export interface EndpointPicker {
  grpcPort: number;
  healthPort: number;
  metricsUrl: string | undefined;
  store: SnapshotStore;
  scraper: MetricsScraper;
  shutdown(graceMs?: number): Promise<void>;
}

export async function startEndpointPicker(options: EndpointPickerOptions): Promise<EndpointPicker> {
  const { logger } = options;
  const store = new SnapshotStore(options.snapshot);
  const registry = new Registry();
  const decisions = new Counter({
    name: 'agent_router_epp_decisions_total',
    help: 'Scheduling decisions, by result (picked, no-capacity, shed).',
    labelNames: ['result'],
    registers: [registry],
  });
  const decisionLatency = new Histogram({
    name: 'agent_router_epp_decision_duration_seconds',
    help: 'Time to schedule one request.',
    buckets: [0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.01],
    registers: [registry],
  });
  // Decisions keep their scores here; the gauge is written when /metrics is read (prom-client's
  // collect), not on every decision, where setting one labelled child per pod is the costliest step.
  let scoresSinceCollect: ScoreTable[] = [];
  new Gauge({
    name: 'agent_router_epp_pod_score',
    help: 'Total score of each pod in the latest decision that scored it.',
    labelNames: ['pod'],
    registers: [registry],
    collect() {
      for (const { pods: scored, totals } of scoresSinceCollect)
        for (let i = 0; i < scored.length; i++) this.set({ pod: scored[i]!.name }, totals[i]!);
      scoresSinceCollect = [];
    },
  });
  const scrapeErrors = new Counter({
    name: 'agent_router_epp_scrape_errors_total',
    help: 'Failed metrics scrapes, by pod address.',
    labelNames: ['address'],
    registers: [registry],
  });

  const scheduler = new Scheduler(
    typeof options.scheduler === 'string'
      ? PRESETS[options.scheduler as PresetName]
      : (options.scheduler ?? PRESETS.ours),
    options.seed === undefined ? {} : { seed: options.seed },
  );
  const scraper = new MetricsScraper({
    names: MODEL_SERVER_METRICS[options.modelServer ?? 'vllm'],
    ...(options.scrapeIntervalMs !== undefined ? { intervalMs: options.scrapeIntervalMs } : {}),
    ...(options.staleAfterMs !== undefined ? { staleAfterMs: options.staleAfterMs } : {}),
    onError: (address, reason) => {
      scrapeErrors.inc({ address });
      logger.debug({ event: 'epp_scrape_failed', address, reason }, 'metrics scrape failed');
    },
  });

  let view = poolView(store.current, options.poolId);
  const retarget = () => scraper.setTargets(view?.endpoints.map((e) => e.address) ?? []);
  retarget();
  store.onChange((snapshot) => {
    view = poolView(snapshot, options.poolId);
    retarget();
    cachedAt = -1;
  });
  scraper.start();

  // The candidate list is rebuilt when new metrics arrive (or staleness may have changed), not per request.
  let cached: PodState[] = [];
  let cachedVersion = -1;
  let cachedAt = -1;
  const pods = (): readonly PodState[] => {
    const now = Date.now();
    if (scraper.version === cachedVersion && now - cachedAt < 50) return cached;
    cachedVersion = scraper.version;
    cachedAt = now;
    cached = (view?.endpoints ?? []).map((e) => {
      const { load, stale } = scraper.load(e.address);
      return { name: e.name, address: e.address, labels: e.labels, metrics: load, stale };
    });
    return cached;
  };

  const context = {
    pods,
    schedule: (request: Parameters<Scheduler['schedule']>[0], candidates: readonly PodState[]) =>
      scheduler.schedule(request, candidates),
    onDecision(
      result: ReturnType<Scheduler['schedule']>,
      request: { requestId: string; model: string },
      micros: number,
    ) {
      decisionLatency.observe(micros / 1e6);
      decisions.inc({ result: result.kind });
      if (result.kind === 'picked') {
        // A later decision over the same pods supersedes an earlier one; keep a bounded backlog.
        if (scoresSinceCollect.length >= MAX_SCORES_BACKLOG) scoresSinceCollect.shift();
        scoresSinceCollect.push(result.scores);
        if (logger.isLevelEnabled('debug')) {
          logger.debug(
            { event: 'epp_decision', requestId: request.requestId, model: request.model, ...explain(result) },
            'picked',
          );
        }
      } else {
        logger.info(
          { event: 'epp_rejected', requestId: request.requestId, status: result.status, stage: result.stage },
          result.message,
        );
      }
    },
  };

  const limits = {
    maxRequestBodyBytes: 64 * 1024 * 1024,
    warn: (m: string) => logger.warn({ event: 'epp_mode' }, m),
  };
  const codec = extProcCodec();
  const server = new GrpcServer({ maxReceiveMessageLength: limits.maxRequestBodyBytes });
  server.addMethod<ProcessingRequest, ProcessingResponse>(`/${EXT_PROC_SERVICE}/Process`, {
    decode: codec.decodeRequest,
    frame: codec.frameResponse,
    handler(call) {
      new ProcessingStream(call, new PickerPhases(context), limits);
    },
  });
  const grpcPort = (await server.listen(options.grpcAddress ?? '0.0.0.0:9002'))!;
  // Health on its own port, as the upstream EPP serves it (Envoy Gateway probes it there).
  const healthServer = new GrpcServer();
  const health = new HealthService(Object.fromEntries(['', ...HEALTH_SERVICES].map((s) => [s, 'SERVING'])));
  health.addToServer(healthServer);
  const healthPort = (await healthServer.listen(options.healthAddress ?? '0.0.0.0:9003'))!;
  let draining = false;
  const admin =
    options.metricsPort === undefined
      ? undefined
      : await startAdminServer({
          host: options.metricsHost ?? '0.0.0.0',
          port: options.metricsPort,
          registry,
          ready: () => !draining,
        });
  logger.info(
    { event: 'epp_listening', grpcPort, healthPort, pool: view?.id, endpoints: view?.endpoints.length ?? 0 },
    'endpoint picker listening',
  );

  return {
    grpcPort,
    healthPort,
    metricsUrl: admin?.url,
    store,
    scraper,
    async shutdown(graceMs = 5_000) {
      draining = true;
      for (const s of ['readiness', 'envoy.service.ext_proc.v3.ExternalProcessor'])
        health.setStatus(s, 'NOT_SERVING');
      scraper.stop();
      await server.close(graceMs);
      healthServer.forceClose();
      await admin?.close();
    },
  };
}
