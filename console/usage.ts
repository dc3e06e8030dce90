/**
 * GET /api/v1/usage: Usage Analytics from the store's per-minute and per-hour rollups (never raw rows),
 * per group (resolved model, route entry, key or backend): requests, errors, latency and TTFT
 * p50/p90/p99 (estimated from histogram buckets), tokens, cost, and a series at the interval.
 *
 * Defaults: the last 24 hours, grouped by resolved model, at the shortest of 1m, 5m, 15m, 1h, 6h and 1d
 * that gives at most 300 points.
 */
import {
  type RequestStore,
  USAGE_GROUP_BYS,
  type UsageGroup,
  type UsageGroupBy,
} from '../analytics/store/store.ts';
import { MAX_USAGE_POINTS } from '../analytics/store/usage.ts';
import { consoleErrors } from './errors.ts';
import { Query } from './query.ts';

const PARAMS = ['logicalModel', 'groupBy', 'since', 'until', 'interval'] as const;
const MINUTE_MS = 60_000;
const DEFAULT_WINDOW_MS = 24 * 60 * MINUTE_MS;
const AUTO_INTERVALS_MS = [1, 5, 15, 60, 360, 1440].map((m) => m * MINUTE_MS);
const AUTO_POINTS = 300;

export interface UsageAnswer {
  logicalModel: string | null;
  groupBy: UsageGroupBy;
  /** The first point's start (since rounded down to the interval), epoch ms. */
  since: number;
  until: number;
  intervalMs: number;
  /** Most requests first. */
  data: UsageGroup[];
}

export async function usageEndpoint(
  store: RequestStore,
  params: URLSearchParams,
  now: number,
): Promise<UsageAnswer> {
  const q = new Query(params, PARAMS);
  const logicalModel = q.string('logicalModel');
  const groupBy = q.oneOf('groupBy', USAGE_GROUP_BYS) ?? 'resolvedModel';
  const until = q.time('until', now) ?? now;
  const since = q.time('since', now) ?? until - DEFAULT_WINDOW_MS;
  if (since >= until) throw consoleErrors.invalidParameter('since', 'since must be before until.');
  const span = until - since;
  const intervalMs =
    q.interval('interval') ??
    AUTO_INTERVALS_MS.find((i) => span / i <= AUTO_POINTS) ??
    AUTO_INTERVALS_MS[AUTO_INTERVALS_MS.length - 1]!;
  // The store's own bound (usage.ts planUsage), checked here to name the parameter.
  if (Math.ceil((until - Math.floor(since / intervalMs) * intervalMs) / intervalMs) > MAX_USAGE_POINTS)
    throw consoleErrors.invalidParameter(
      'interval',
      `since..until at this interval is more than ${MAX_USAGE_POINTS} points; use a longer interval or a shorter window.`,
    );
  const result = await store.usage({
    since,
    until,
    groupBy,
    intervalMs,
    ...(logicalModel !== undefined ? { logicalModel } : {}),
  });
  return {
    logicalModel: logicalModel ?? null,
    groupBy: result.groupBy,
    since: result.since,
    until: result.until,
    intervalMs: result.intervalMs,
    data: result.groups,
  };
}
