/**
 * The request record's first readers: one structured log line per request and the Prometheus metrics,
 * both from the same value (analytics/record.ts), which the store and the OTel exporter also receive.
 * The record names the key by its APIKey id and the session by a keyed hash; keys never reach here.
 */
import type { RequestRecord } from '../analytics/record.ts';
import type { HistogramCell } from '../observability/histogram-cells.ts';
import { infoLineWriter, infoMembersWriter, type Logger } from '../observability/logger.ts';
import type { CounterCell } from '../observability/metric-cells.ts';
import type { ExtProcMetrics } from '../observability/metrics.ts';

export interface RequestObserver {
  onRequest(record: RequestRecord): void;
}

/** Every observer sees every record; one that throws does not keep the others from it. */
export function allObservers(observers: readonly RequestObserver[], logger: Logger): RequestObserver {
  if (observers.length === 1) return observers[0]!;
  return {
    onRequest(record) {
      for (const observer of observers) {
        try {
          observer.onRequest(record);
        } catch (error) {
          logger.warn({ event: 'request_observer_failed', err: error }, 'a request observer failed');
        }
      }
    },
  };
}

/**
 * Writes the log line and updates the metrics. Metric children are cached per label set: label
 * combinations repeat (a handful of entries × statuses), and resolving labels is the costly part.
 */
export function requestLogObserver(logger: Logger, metrics: ExtProcMetrics): RequestObserver {
  type Children = {
    requests: CounterCell;
    latency: HistogramCell;
    ttft: HistogramCell;
    tpot: HistogramCell;
    prompt: CounterCell;
    completion: CounterCell;
    cached: CounterCell;
    reasoning: CounterCell;
  };
  const children = new Map<string, Children>();
  const MAX_CHILDREN = 10_000;
  const childrenFor = (r: RequestRecord): Children => {
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
      const labels = {
        route_config: routeConfig,
        route_entry: entry,
        logical_model: logical,
        resolved_model: resolved,
        backend,
        provider,
        status,
      };
      const token = (type: string) =>
        metrics.tokenCells.cell({
          route_config: routeConfig,
          logical_model: logical,
          resolved_model: resolved,
          backend,
          provider,
          type,
        });
      found = {
        requests: metrics.requestCells.cell(labels),
        latency: metrics.latency.cell(labels),
        ttft: metrics.timeToFirstToken.cell(labels),
        tpot: metrics.timePerOutputToken.cell(labels),
        prompt: token('prompt'),
        completion: token('completion'),
        cached: token('cached'),
        reasoning: token('reasoning'),
      };
      children.set(key, found);
    }
    return found;
  };
  const writeLine = requestLineWriter(logger);
  return {
    onRequest(record) {
      writeLine(record);
      const c = childrenFor(record);
      c.requests.inc();
      c.latency.observe(record.latencyMs / 1000);
      if (record.ttftMs !== undefined) c.ttft.observe(record.ttftMs / 1000);
      if (record.tpotMs !== undefined) c.tpot.observe(record.tpotMs / 1000);
      const tokens = record.tokens;
      if (tokens) {
        c.prompt.inc(tokens.prompt);
        c.completion.inc(tokens.completion);
        if (tokens.cached) c.cached.inc(tokens.cached);
        if (tokens.reasoning) c.reasoning.inc(tokens.reasoning);
      }
    },
  };
}

/**
 * The request log line: the record as it is, its id under the name log pipelines already know it by
 * (requestId), and its start time as startedAt: pino writes the line's own `time`, and one JSON object
 * must not name a key twice. Made from the record's own JSON, renaming its two leading members, not
 * from a renamed copy of the record: two object copies of some twenty members were a third of the
 * line's cost. RequestRecord has no field a redaction path names (test/ext-proc/request-log.test.ts
 * holds it so), so the line needs no redaction pass.
 */
export function requestLineWriter(logger: Logger): (record: RequestRecord) => void {
  const writeMembers = infoMembersWriter(logger);
  if (!writeMembers) {
    const writeLine = infoLineWriter(logger);
    return (record) => {
      const { id, time, ...fields } = record;
      writeLine({ event: 'request', requestId: id, startedAt: time, ...fields }, 'request');
    };
  }
  return (record) => writeMembers(requestMembers(record), 'request');
}

/** The line's members (see requestLineWriter), without braces. */
export function requestMembers(record: RequestRecord): string {
  const json = JSON.stringify(record);
  const id = JSON.stringify(record.id);
  const time = JSON.stringify(record.time);
  // A record made by the router-level phase starts with id and time; any other is copied.
  const lead = `{"id":${id},"time":${time}`;
  if (json.startsWith(lead) && (json[lead.length] === ',' || json[lead.length] === '}'))
    return `"event":"request","requestId":${id},"startedAt":${time}${json.slice(lead.length, -1)}`;
  const { id: _id, time: _time, ...fields } = record;
  const copy = JSON.stringify({ event: 'request', requestId: record.id, startedAt: record.time, ...fields });
  return copy.slice(1, -1);
}
