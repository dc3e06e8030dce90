/**
 * Rollups: a batch of records folded, in memory, into one row per (period start, routeConfig, routeEntry,
 * logicalModel, resolvedModel, backend, provider, keyId) with counts, sums, extremes and one count per
 * latency and TTFT bucket. Two periods, each its own table with the same columns: the minute, and the
 * hour for queries over days (a week at a few dozen label combinations is 300,000 minute rows but 6,000
 * hour rows). Each store adds both to its rollup tables in the transaction that inserts the raw rows
 * (additive upsert), so rollups and rows never disagree. Every field is additive except the extremes (min
 * of mins, max of maxes), which is why percentiles can be read from any union of rows.
 */
import type { RequestRecord } from '../record.ts';
import {
  bucketIndex,
  LATENCY_BOUNDS_MS,
  LATENCY_BUCKETS,
  TTFT_BOUNDS_MS,
  TTFT_BUCKETS,
} from './histogram.ts';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

/** The rollup periods, finest first. */
export const ROLLUP_PERIODS = [MINUTE_MS, HOUR_MS] as const;
export type RollupPeriod = (typeof ROLLUP_PERIODS)[number];

/** The label columns of a rollup row, in key order. Absent labels are '' so the key is a plain unique key. */
export const ROLLUP_LABELS = [
  'route_config',
  'route_entry',
  'logical_model',
  'resolved_model',
  'backend',
  'provider',
  'key_id',
] as const;

/** Bucket count columns: l0…l14 for latency, t0…t16 for TTFT. */
export const LATENCY_COLUMNS: readonly string[] = Array.from({ length: LATENCY_BUCKETS }, (_, i) => `l${i}`);
export const TTFT_COLUMNS: readonly string[] = Array.from({ length: TTFT_BUCKETS }, (_, i) => `t${i}`);

/** The additive columns, in the order `rollupValues` lists them after the key. */
export const ROLLUP_SUMS = [
  'requests',
  'errors',
  'tokens_prompt',
  'tokens_completion',
  'tokens_cached',
  'tokens_reasoning',
  'cost_usd',
  ...LATENCY_COLUMNS,
  ...TTFT_COLUMNS,
] as const;

/** Extremes, merged with min/max rather than added; TTFT ones are null while no record had a TTFT. */
export const ROLLUP_MINS = ['latency_min', 'ttft_min'] as const;
export const ROLLUP_MAXES = ['latency_max', 'ttft_max'] as const;

/** Every rollup column, in the order of `rollupValues`; `start` is the period's start, epoch milliseconds. */
export const ROLLUP_COLUMNS: readonly string[] = [
  'start',
  ...ROLLUP_LABELS,
  ...ROLLUP_SUMS,
  ...ROLLUP_MINS,
  ...ROLLUP_MAXES,
];

/** An error, for analytics: the client got a status of 400 or more (a client that went away, 499, included). */
export function isError(status: number): boolean {
  return status >= 400;
}

export interface RollupRow {
  /** Start of the period, epoch milliseconds. */
  start: number;
  labels: string[];
  requests: number;
  errors: number;
  tokensPrompt: number;
  tokensCompletion: number;
  tokensCached: number;
  tokensReasoning: number;
  costUsd: number;
  latency: number[];
  ttft: number[];
  latencyMin: number;
  latencyMax: number;
  ttftMin: number | null;
  ttftMax: number | null;
}

function labelsOf(r: RequestRecord): string[] {
  return [
    r.routeConfig ?? '',
    r.routeEntry ?? '',
    r.logicalModel ?? '',
    r.resolvedModel ?? '',
    r.backend ?? '',
    r.provider ?? '',
    r.keyId ?? '',
  ];
}

/**
 * The batch's rollup rows for one period, in one fixed order (of their keys): stores that lock rows while
 * upserting take the locks in that order, so two writers upserting the same periods cannot deadlock.
 */
export function rollUp(records: readonly RequestRecord[], periodMs: RollupPeriod): RollupRow[] {
  const rows = new Map<string, RollupRow>();
  for (const r of records) {
    const start = Math.floor(r.time / periodMs) * periodMs;
    const labels = labelsOf(r);
    const key = `${start}\u0000${labels.join('\u0000')}`;
    let row = rows.get(key);
    if (row === undefined) {
      row = {
        start,
        labels,
        requests: 0,
        errors: 0,
        tokensPrompt: 0,
        tokensCompletion: 0,
        tokensCached: 0,
        tokensReasoning: 0,
        costUsd: 0,
        latency: new Array<number>(LATENCY_BUCKETS).fill(0),
        ttft: new Array<number>(TTFT_BUCKETS).fill(0),
        latencyMin: r.latencyMs,
        latencyMax: r.latencyMs,
        ttftMin: null,
        ttftMax: null,
      };
      rows.set(key, row);
    }
    row.requests++;
    if (isError(r.status)) row.errors++;
    if (r.tokens) {
      row.tokensPrompt += r.tokens.prompt;
      row.tokensCompletion += r.tokens.completion;
      row.tokensCached += r.tokens.cached ?? 0;
      row.tokensReasoning += r.tokens.reasoning ?? 0;
    }
    row.costUsd += r.costUsd ?? 0;
    row.latency[bucketIndex(LATENCY_BOUNDS_MS, r.latencyMs)]!++;
    if (r.latencyMs < row.latencyMin) row.latencyMin = r.latencyMs;
    if (r.latencyMs > row.latencyMax) row.latencyMax = r.latencyMs;
    if (r.ttftMs !== undefined) {
      row.ttft[bucketIndex(TTFT_BOUNDS_MS, r.ttftMs)]!++;
      if (row.ttftMin === null || r.ttftMs < row.ttftMin) row.ttftMin = r.ttftMs;
      if (row.ttftMax === null || r.ttftMs > row.ttftMax) row.ttftMax = r.ttftMs;
    }
  }
  return [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
}

/** A row's values in ROLLUP_COLUMNS order. */
export function rollupValues(row: RollupRow): (number | string | null)[] {
  return [
    row.start,
    ...row.labels,
    row.requests,
    row.errors,
    row.tokensPrompt,
    row.tokensCompletion,
    row.tokensCached,
    row.tokensReasoning,
    row.costUsd,
    ...row.latency,
    ...row.ttft,
    row.latencyMin,
    row.ttftMin,
    row.latencyMax,
    row.ttftMax,
  ];
}
