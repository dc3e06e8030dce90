/**
 * The usage answer, built from rollup sums. `planUsage` says which rollup rows to read; each store runs
 * one aggregate query per segment of the plan (grouped by the groupBy label and the series point, see
 * `usageSelectList`) and hands the cells to `buildUsage`; group totals and percentiles are then sums over
 * a few cells, never over raw rows.
 */
import { type BucketCounts, LATENCY_BOUNDS_MS, quantile, TTFT_BOUNDS_MS } from './histogram.ts';
import {
  HOUR_MS,
  LATENCY_COLUMNS,
  MINUTE_MS,
  ROLLUP_SUMS,
  type RollupPeriod,
  TTFT_COLUMNS,
} from './rollup.ts';
import type {
  Percentiles,
  TokenTotals,
  UsageGroup,
  UsageGroupBy,
  UsagePoint,
  UsageQuery,
  UsageResult,
} from './store.ts';
import { USAGE_GROUP_BYS } from './store.ts';

/** The rollup label column each groupBy reads. */
export const GROUP_COLUMNS: Readonly<Record<UsageGroupBy, string>> = {
  resolvedModel: 'resolved_model',
  routeEntry: 'route_entry',
  keyId: 'key_id',
  backend: 'backend',
};

/** A series longer than this is a mistake in the query (a one-minute interval over a year), not a chart. */
export const MAX_USAGE_POINTS = 10_000;

/** One range of rollup rows to read: period starts in [from, to) of the `periodMs` table. */
export interface UsageSegment {
  periodMs: RollupPeriod;
  from: number;
  to: number;
}

export interface UsagePlan {
  /** The first point's start: `since` rounded down to a multiple of the interval since the epoch. */
  origin: number;
  points: number;
  segments: UsageSegment[];
}

/**
 * Which rollup rows answer `query`. Minutes count when their start lies in [since rounded down to the
 * minute, until). Points are epoch-aligned (hourly ones on the hour, daily ones at 00:00 UTC), so when
 * the interval is a whole number of hours every hour falls inside one point, and whole hours are read
 * from the hour table, only the partial hours at either end from the minute table: a week costs 168 hour
 * rows per label combination, not 10,080 minute rows. RangeError for a query no store can answer.
 */
export function planUsage(query: UsageQuery): UsagePlan {
  const { since, until, intervalMs, groupBy } = query;
  if (!USAGE_GROUP_BYS.includes(groupBy)) throw new RangeError(`usage: unknown groupBy ${String(groupBy)}`);
  if (!Number.isFinite(since) || !Number.isFinite(until) || since >= until)
    throw new RangeError(`usage: since (${since}) must be before until (${until})`);
  if (!Number.isInteger(intervalMs) || intervalMs <= 0 || intervalMs % MINUTE_MS !== 0)
    throw new RangeError(`usage: intervalMs (${intervalMs}) must be a positive multiple of ${MINUTE_MS}`);
  const first = Math.floor(since / MINUTE_MS) * MINUTE_MS;
  const end = Math.ceil(until / MINUTE_MS) * MINUTE_MS;
  const origin = Math.floor(first / intervalMs) * intervalMs;
  const points = Math.ceil((until - origin) / intervalMs);
  if (points > MAX_USAGE_POINTS)
    throw new RangeError(`usage: more than ${MAX_USAGE_POINTS} points; use a longer interval`);
  const hourFrom = Math.ceil(first / HOUR_MS) * HOUR_MS;
  const hourTo = Math.floor(end / HOUR_MS) * HOUR_MS;
  if (intervalMs % HOUR_MS !== 0 || hourFrom >= hourTo)
    return { origin, points, segments: [{ periodMs: MINUTE_MS, from: first, to: end }] };
  const segments: UsageSegment[] = [{ periodMs: HOUR_MS, from: hourFrom, to: hourTo }];
  if (first < hourFrom) segments.push({ periodMs: MINUTE_MS, from: first, to: hourFrom });
  if (hourTo < end) segments.push({ periodMs: MINUTE_MS, from: hourTo, to: end });
  return { origin, points, segments };
}

/**
 * The aggregate columns of the usage query: every additive column summed, extremes merged, each as
 * `cast(expression) AS name`, so a store only adds its FROM, WHERE and GROUP BY. `cast` lets PostgreSQL
 * return float8 instead of numeric strings.
 */
export function usageSelectList(cast: (expression: string) => string): string {
  return [
    ...ROLLUP_SUMS.map((c) => `${cast(`SUM(${c})`)} AS ${c}`),
    `${cast('MIN(latency_min)')} AS latency_min`,
    `${cast('MAX(latency_max)')} AS latency_max`,
    `${cast('MIN(ttft_min)')} AS ttft_min`,
    `${cast('MAX(ttft_max)')} AS ttft_max`,
  ].join(', ');
}

/** One result row of the usage query: a group's sums over one series interval. */
export type UsageCell = Record<string, unknown> & { key: unknown; point: unknown };

interface Accumulator {
  requests: number;
  errors: number;
  tokens: TokenTotals;
  costUsd: number;
  latency: number[];
  ttft: number[];
  latencyMin: number | null;
  latencyMax: number | null;
  ttftMin: number | null;
  ttftMax: number | null;
}

function emptyAccumulator(): Accumulator {
  return {
    requests: 0,
    errors: 0,
    tokens: { prompt: 0, completion: 0, cached: 0, reasoning: 0 },
    costUsd: 0,
    latency: new Array<number>(LATENCY_COLUMNS.length).fill(0),
    ttft: new Array<number>(TTFT_COLUMNS.length).fill(0),
    latencyMin: null,
    latencyMax: null,
    ttftMin: null,
    ttftMax: null,
  };
}

const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
const orNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const lesser = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
const greater = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

function add(into: Accumulator, from: Accumulator): void {
  into.requests += from.requests;
  into.errors += from.errors;
  into.tokens.prompt += from.tokens.prompt;
  into.tokens.completion += from.tokens.completion;
  into.tokens.cached += from.tokens.cached;
  into.tokens.reasoning += from.tokens.reasoning;
  into.costUsd += from.costUsd;
  for (let i = 0; i < into.latency.length; i++) into.latency[i]! += from.latency[i]!;
  for (let i = 0; i < into.ttft.length; i++) into.ttft[i]! += from.ttft[i]!;
  into.latencyMin = lesser(into.latencyMin, from.latencyMin);
  into.latencyMax = greater(into.latencyMax, from.latencyMax);
  into.ttftMin = lesser(into.ttftMin, from.ttftMin);
  into.ttftMax = greater(into.ttftMax, from.ttftMax);
}

function fromCell(cell: UsageCell): Accumulator {
  return {
    requests: num(cell.requests),
    errors: num(cell.errors),
    tokens: {
      prompt: num(cell.tokens_prompt),
      completion: num(cell.tokens_completion),
      cached: num(cell.tokens_cached),
      reasoning: num(cell.tokens_reasoning),
    },
    costUsd: num(cell.cost_usd),
    latency: LATENCY_COLUMNS.map((c) => num(cell[c])),
    ttft: TTFT_COLUMNS.map((c) => num(cell[c])),
    latencyMin: orNull(cell.latency_min),
    latencyMax: orNull(cell.latency_max),
    ttftMin: orNull(cell.ttft_min),
    ttftMax: orNull(cell.ttft_max),
  };
}

const latencyHistogram = (a: Accumulator): BucketCounts => ({
  counts: a.latency,
  min: a.latencyMin,
  max: a.latencyMax,
});
const ttftHistogram = (a: Accumulator): BucketCounts => ({ counts: a.ttft, min: a.ttftMin, max: a.ttftMax });

function percentiles(bounds: readonly number[], histogram: BucketCounts): Percentiles {
  return {
    p50: quantile(bounds, histogram, 0.5),
    p90: quantile(bounds, histogram, 0.9),
    p99: quantile(bounds, histogram, 0.99),
  };
}

/**
 * The answer to `query` from the cells its plan's segments returned, each cell a group's sums over one
 * point (`point` = ⌊(start − origin) / interval⌋) of one segment.
 */
export function buildUsage(query: UsageQuery, plan: UsagePlan, cells: readonly UsageCell[]): UsageResult {
  const { until, intervalMs, groupBy } = query;
  const { origin, points } = plan;
  const byKey = new Map<string, Accumulator[]>();
  for (const cell of cells) {
    const key = String(cell.key);
    const point = Number(cell.point);
    if (point < 0 || point >= points) continue;
    let series = byKey.get(key);
    if (series === undefined) {
      series = Array.from({ length: points }, emptyAccumulator);
      byKey.set(key, series);
    }
    add(series[point]!, fromCell(cell));
  }
  const groups: UsageGroup[] = [];
  for (const [key, series] of byKey) {
    const total = emptyAccumulator();
    for (const point of series) add(total, point);
    groups.push({
      key: key === '' ? null : key,
      requests: total.requests,
      errors: total.errors,
      latencyMs: percentiles(LATENCY_BOUNDS_MS, latencyHistogram(total)),
      ttftMs: percentiles(TTFT_BOUNDS_MS, ttftHistogram(total)),
      tokens: total.tokens,
      costUsd: total.costUsd,
      series: series.map(
        (a, i): UsagePoint => ({
          time: origin + i * intervalMs,
          requests: a.requests,
          errors: a.errors,
          latencyP50Ms: quantile(LATENCY_BOUNDS_MS, latencyHistogram(a), 0.5),
          ttftP50Ms: quantile(TTFT_BOUNDS_MS, ttftHistogram(a), 0.5),
          tokens: a.tokens,
          costUsd: a.costUsd,
        }),
      ),
    });
  }
  groups.sort((a, b) => b.requests - a.requests || String(a.key ?? '').localeCompare(String(b.key ?? '')));
  return { groupBy, since: origin, until, intervalMs, groups };
}
