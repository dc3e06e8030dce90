import { Counter, Gauge, Registry } from 'prom-client';
import { TIME_PER_OUTPUT_TOKEN_BUCKETS_S, TIME_TO_FIRST_TOKEN_BUCKETS_S } from './genai-buckets.ts';
import { CellHistogram } from './histogram-cells.ts';
import { CounterCells, GaugeCells } from './metric-cells.ts';

/** ext-proc's Prometheus metrics. Labels name logical and resolved model; never a key. */
export function createExtProcMetrics(registry = new Registry()) {
  const labelNames = [
    'route_config',
    'route_entry',
    'logical_model',
    'resolved_model',
    'backend',
    'provider',
    'status',
  ] as const;
  type Labels = (typeof labelNames)[number];
  type TokenLabels = 'route_config' | 'logical_model' | 'resolved_model' | 'backend' | 'provider' | 'type';
  // The per-request counters, histograms and the open-streams gauge are bumped through cells
  // (metric-cells.ts, histogram-cells.ts).
  const requestCells = new CounterCells<Labels>();
  const tokenCells = new CounterCells<TokenLabels>();
  const attemptCells = new CounterCells<'backend' | 'provider'>();
  const streamCells = new GaugeCells<'filter'>();
  return {
    registry,
    requestCells,
    tokenCells,
    attemptCells,
    streamCells,
    requests: new Counter({
      name: 'agent_router_requests_total',
      help: 'Requests handled, by route decision and final HTTP status.',
      labelNames,
      registers: [registry],
      collect() {
        requestCells.flush(this);
      },
    }),
    latency: new CellHistogram({
      name: 'agent_router_request_duration_seconds',
      help: 'Time from request headers to the last response byte, as seen by ext-proc.',
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    timeToFirstToken: new CellHistogram({
      name: 'agent_router_time_to_first_token_seconds',
      help: 'Time from request headers to the first response body byte, as seen by ext-proc (OTel gen_ai.server.time_to_first_token buckets).',
      labelNames,
      buckets: [...TIME_TO_FIRST_TOKEN_BUCKETS_S],
      registers: [registry],
    }),
    timePerOutputToken: new CellHistogram({
      name: 'agent_router_time_per_output_token_seconds',
      help: 'Streams: time after the first token per further output token (OTel gen_ai.server.time_per_output_token buckets).',
      labelNames,
      buckets: [...TIME_PER_OUTPUT_TOKEN_BUCKETS_S],
      registers: [registry],
    }),
    tokens: new Counter({
      name: 'agent_router_tokens_total',
      help: 'Tokens reported by the provider, by type (prompt, completion, cached, reasoning).',
      labelNames: ['route_config', 'logical_model', 'resolved_model', 'backend', 'provider', 'type'] as const,
      registers: [registry],
      collect() {
        tokenCells.flush(this);
      },
    }),
    attempts: new Counter({
      name: 'agent_router_upstream_attempts_total',
      help: 'Upstream attempts translated by the per-attempt phase, by backend.',
      labelNames: ['backend', 'provider'] as const,
      registers: [registry],
      collect() {
        attemptCells.flush(this);
      },
    }),
    streams: new Gauge({
      name: 'agent_router_ext_proc_streams',
      help: 'ext_proc Process streams open now, by filter level (router, upstream).',
      labelNames: ['filter'] as const,
      registers: [registry],
      collect() {
        streamCells.flush(this);
      },
    }),
    recordsDropped: new Counter({
      name: 'agent_router_request_records_dropped_total',
      help: 'Request records the request store did not get, by reason (queue_full, store_error, closed); requests are never held back for the store.',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    configReloads: new Counter({
      name: 'agent_router_config_reloads_total',
      help: 'Configuration reloads, by result (applied, rejected).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
  };
}

export type ExtProcMetrics = ReturnType<typeof createExtProcMetrics>;
