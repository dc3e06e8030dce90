/**
 * The request log: one structured line per request, and the metrics derived from the same record.
 * The record names the key by its APIKey id only; keys never reach this module.
 */
import type { Logger } from '../observability/logger.ts';
import type { ExtProcMetrics } from '../observability/metrics.ts';
import type { DecisionReason } from './router/route.ts';
import type { TokenUsage } from './usage.ts';

export interface RequestLogRecord {
  requestId: string;
  keyId: string | undefined;
  method: string | undefined;
  path: string | undefined;
  routeConfig: string | undefined;
  routeEntry: string | undefined;
  decision: DecisionReason | undefined;
  logicalModel: string | undefined;
  resolvedModel: string | undefined;
  backend: string | undefined;
  attempts: number | undefined;
  stream: boolean;
  status: number;
  errorCode: string | undefined;
  cancelled: boolean;
  latencyMs: number;
  usage: TokenUsage | undefined;
}

export interface RequestObserver {
  onRequest(record: RequestLogRecord): void;
}

export function requestLogObserver(logger: Logger, metrics: ExtProcMetrics): RequestObserver {
  return {
    onRequest(record) {
      logger.info({ event: 'request', ...record }, 'request');
      const labels = {
        route_config: record.routeConfig ?? '',
        route_entry: record.routeEntry ?? '',
        logical_model: record.logicalModel ?? '',
        resolved_model: record.resolvedModel ?? '',
        backend: record.backend ?? '',
        status: String(record.status),
      };
      metrics.requests.inc(labels);
      metrics.latency.observe(labels, record.latencyMs / 1000);
      const usage = record.usage;
      if (usage) {
        const tokenLabels = {
          route_config: labels.route_config,
          logical_model: labels.logical_model,
          resolved_model: labels.resolved_model,
          backend: labels.backend,
        };
        metrics.tokens.inc({ ...tokenLabels, type: 'prompt' }, usage.promptTokens);
        metrics.tokens.inc({ ...tokenLabels, type: 'completion' }, usage.completionTokens);
        if (usage.cachedTokens) metrics.tokens.inc({ ...tokenLabels, type: 'cached' }, usage.cachedTokens);
      }
    },
  };
}
