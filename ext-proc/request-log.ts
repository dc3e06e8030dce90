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
  provider: string | undefined;
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

/**
 * Writes the log line and updates the metrics. Metric children are cached per label set: label
 * combinations repeat (a handful of entries × statuses), and resolving labels is the costly part.
 */
export function requestLogObserver(logger: Logger, metrics: ExtProcMetrics): RequestObserver {
  type Children = {
    requests: ReturnType<ExtProcMetrics['requests']['labels']>;
    latency: ReturnType<ExtProcMetrics['latency']['labels']>;
    prompt: ReturnType<ExtProcMetrics['tokens']['labels']>;
    completion: ReturnType<ExtProcMetrics['tokens']['labels']>;
    cached: ReturnType<ExtProcMetrics['tokens']['labels']>;
  };
  const children = new Map<string, Children>();
  const MAX_CHILDREN = 10_000;
  const childrenFor = (r: RequestLogRecord): Children => {
    const routeConfig = r.routeConfig ?? '';
    const entry = r.routeEntry ?? '';
    const logical = r.logicalModel ?? '';
    const resolved = r.resolvedModel ?? '';
    const backend = r.backend ?? '';
    const provider = r.provider ?? '';
    const status = String(r.status);
    const key = `${routeConfig}\u0000${entry}\u0000${logical}\u0000${resolved}\u0000${backend}\u0000${provider}\u0000${status}`;
    let found = children.get(key);
    if (!found) {
      if (children.size >= MAX_CHILDREN) children.clear();
      const labels = [routeConfig, entry, logical, resolved, backend, provider, status] as const;
      const token = (type: string) =>
        metrics.tokens.labels(routeConfig, logical, resolved, backend, provider, type);
      found = {
        requests: metrics.requests.labels(...labels),
        latency: metrics.latency.labels(...labels),
        prompt: token('prompt'),
        completion: token('completion'),
        cached: token('cached'),
      };
      children.set(key, found);
    }
    return found;
  };
  return {
    onRequest(record) {
      logger.info({ event: 'request', ...record }, 'request');
      const c = childrenFor(record);
      c.requests.inc();
      c.latency.observe(record.latencyMs / 1000);
      const usage = record.usage;
      if (usage) {
        c.prompt.inc(usage.promptTokens);
        c.completion.inc(usage.completionTokens);
        if (usage.cachedTokens) c.cached.inc(usage.cachedTokens);
      }
    },
  };
}
