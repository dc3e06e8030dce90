/**
 * The request store: where request records go after the request is answered, and where Request Logs,
 * Usage Analytics and Experiments read them back. One interface, two implementations (sqlite.ts, the
 * embedded default; postgres.ts, shared by every sidecar). Plain data in and out: records as
 * analytics/record.ts defines them, queries and answers as the types below.
 *
 * Raw rows serve `requests` and `experimentSamples`; `usage` reads only the per-minute (and per-hour)
 * rollups written in the same transaction as the rows, so its cost grows with minutes (or hours) × label
 * combinations, not with requests.
 */
import type { RequestRecord } from '../record.ts';

export interface RequestStore {
  /** Stores a batch: rows and rollups together, atomically per transaction. A record whose (time, id) is already stored is skipped. */
  write(records: readonly RequestRecord[]): Promise<void>;
  /** Records newest first (time, then id, descending), `limit` per page; `cursor` is a previous page's `nextCursor`. */
  requests(filter: RequestFilter, limit: number, cursor?: string): Promise<RequestPage>;
  /** Per-group totals, percentiles and a time series, from the per-minute rollups. */
  usage(query: UsageQuery): Promise<UsageResult>;
  /** The newest `limit` records the filter selects, reduced to what the statistics use. */
  experimentSamples(filter: SampleFilter, limit: number): Promise<ExperimentSample[]>;
  /** Deletes records (and rollup periods) older than `olderThanMs` before the store's clock. */
  prune(olderThanMs: number): Promise<void>;
  close(): Promise<void>;
}

/** Retention by age when none is configured. */
export const DEFAULT_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

/** Exact matches; `since` inclusive and `until` exclusive, epoch milliseconds of the record's `time`. */
export interface RequestFilter {
  logicalModel?: string;
  resolvedModel?: string;
  keyId?: string;
  routeConfig?: string;
  routeEntry?: string;
  backend?: string;
  provider?: string;
  decision?: string;
  errorCode?: string;
  sessionHash?: string;
  /** The HTTP status the client got. */
  status?: number;
  stream?: boolean;
  cancelled?: boolean;
  since?: number;
  until?: number;
}

/**
 * The records one experiment reads: one logical model's requests that one RouteConfig's split decided
 * (`decisions`, e.g. sticky-split and weighted-split), with `since` ≤ time < `until`.
 */
export interface SampleFilter {
  logicalModel: string;
  routeConfig: string;
  decisions: readonly string[];
  since: number;
  until: number;
}

export interface RequestPage {
  data: RequestRecord[];
  /** Present when more records match; opaque. */
  nextCursor?: string;
}

export type UsageGroupBy = 'resolvedModel' | 'routeEntry' | 'keyId' | 'backend';

export const USAGE_GROUP_BYS: readonly UsageGroupBy[] = ['resolvedModel', 'routeEntry', 'keyId', 'backend'];

/**
 * Rollups have one-minute resolution: a minute counts when its start lies in
 * [`since` rounded down to the minute, `until`). `intervalMs` is a positive multiple of one minute. Points
 * are aligned to multiples of the interval since the epoch (hourly points on the hour, daily ones at
 * 00:00 UTC), so the first point starts at or before `since` and counts from `since` on.
 */
export interface UsageQuery {
  logicalModel?: string;
  since: number;
  until: number;
  groupBy: UsageGroupBy;
  intervalMs: number;
}

/** Estimated from histogram buckets (analytics/store/histogram.ts); null when nothing was measured. */
export interface Percentiles {
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

export interface TokenTotals {
  prompt: number;
  completion: number;
  cached: number;
  reasoning: number;
}

export interface UsagePoint {
  /** Start of the interval, epoch milliseconds. */
  time: number;
  requests: number;
  errors: number;
  latencyP50Ms: number | null;
  ttftP50Ms: number | null;
  tokens: TokenTotals;
  costUsd: number;
}

export interface UsageGroup {
  /** The groupBy field's value; null for records that have none. */
  key: string | null;
  requests: number;
  /** Records whose client status was 400 or above (499, the client going away, included). */
  errors: number;
  latencyMs: Percentiles;
  /** Over the records that have a TTFT. */
  ttftMs: Percentiles;
  tokens: TokenTotals;
  costUsd: number;
  /** One point per interval from `since` to `until`, empty intervals included. */
  series: UsagePoint[];
}

export interface UsageResult {
  groupBy: UsageGroupBy;
  /** The first point's time: the query's `since` rounded down to a multiple of the interval. */
  since: number;
  until: number;
  intervalMs: number;
  /** Most requests first. */
  groups: UsageGroup[];
}

/** One request as the experiments statistics see it; absent fields are omitted, as in the record. */
export interface ExperimentSample {
  /** Which RouteConfig and how the entry was chosen: a logical model may be split in several RouteConfigs, and only split decisions were randomised. */
  routeConfig?: string;
  routeEntry?: string;
  decision?: string;
  resolvedModel?: string;
  sessionHash?: string;
  status: number;
  errorCode?: string;
  latencyMs: number;
  ttftMs?: number;
  /** Prompt + completion tokens; absent when the provider reported no usage. */
  tokens?: number;
  costUsd?: number;
}
