/**
 * GET /api/v1/experiments/{logicalModel}: is a variant of the logical model's weighted split better or
 * worse than its baseline? The variants are the split's route entries in the configuration in force
 * (the baseline: the entry marked `baseline: true`, else the heaviest weight); the figures and
 * comparisons are analytics/experiments.ts's, over the newest `limit` requests in [since, until) that
 * the split decided (decision sticky-split or weighted-split) in the same RouteConfig, selected by the
 * store: policy-routed requests were not randomised, and another RouteConfig's split of the same
 * logical name is another experiment.
 *
 * GET /api/v1/experiments/{logicalModel}/gate: the same analysis as a yes/no for a rollout tool whose
 * only signal is the HTTP status (a Flagger webhook): 200 when no compared metric of the variant(s) is
 * `worse`, 412 when one is, the verdicts in the body either way.
 */

import type { Interval } from '../analytics/bootstrap.ts';
import { runCooperatively } from '../analytics/cooperative.ts';
import {
  EXPERIMENT_METRICS,
  type ExperimentMetric,
  type ExperimentReport,
  type ExperimentSample,
  type ExperimentVariant,
  experimentSteps,
  type Verdict,
} from '../analytics/experiments.ts';
import type { RequestStore, ExperimentSample as StoredSample } from '../analytics/store/store.ts';
import type { Snapshot } from '../config/snapshot.ts';
import { ConsoleError, consoleErrors } from './errors.ts';
import { Query } from './query.ts';

const DEFAULT_WINDOW_MS = 24 * 60 * 60 * 1000;
/** analytics.experiments.20k-requests.ms is about 0.1 s of CPU; 50,000 sessionless requests about 1 s. */
export const DEFAULT_SAMPLE_LIMIT = 50_000;
export const MAX_SAMPLE_LIMIT = 200_000;
/** Requests the split decided: policy-routed ones were not randomised (ext-proc/router/route.ts). */
const SPLIT_DECISIONS: readonly string[] = ['sticky-split', 'weighted-split'];

/** One RouteConfig's weighted split of a logical model. */
export interface SplitInForce {
  routeConfig: string;
  variants: ExperimentVariant[];
}

/** The weighted splits of `logicalModel` in the active RouteConfigs, by RouteConfig id; undefined: no such model. */
export function splitsOf(
  snapshot: Snapshot,
  logicalModel: string,
): Map<string, SplitInForce | null> | undefined {
  const found = new Map<string, SplitInForce | null>();
  for (const routeConfig of snapshot.routeConfigs.values()) {
    if (!routeConfig.active) continue;
    const model = routeConfig.models.get(logicalModel);
    if (model === undefined) continue;
    found.set(
      routeConfig.id,
      model.split === undefined
        ? null
        : {
            routeConfig: routeConfig.id,
            variants: model.split.entries.map((e) => ({
              routeEntry: e.name,
              resolvedModel: e.resolvedModel,
              weight: e.weight,
              ...(e.baseline ? { baseline: true } : {}),
            })),
          },
    );
  }
  return found.size === 0 ? undefined : found;
}

export interface ExperimentAnswer extends ExperimentReport {
  logicalModel: string;
  routeConfig: string;
  since: number;
  until: number;
  /**
   * What the analysis read: `truncated` when the split decided more than `limit` requests in
   * [since, until) (the newest were kept).
   */
  samples: { read: number; limit: number; truncated: boolean; analysed: number };
}

interface ExperimentQuery {
  logicalModel: string;
  split: SplitInForce;
  since: number;
  until: number;
  limit: number;
}

const PARAMS = ['since', 'until', 'routeConfig', 'limit'] as const;
const GATE_PARAMS = [...PARAMS, 'variant', 'metrics'] as const;

function resolveSplit(
  snapshot: Snapshot,
  logicalModel: string,
  routeConfig: string | undefined,
): SplitInForce {
  const splits = splitsOf(snapshot, logicalModel);
  if (splits === undefined) throw consoleErrors.unknownLogicalModel(logicalModel);
  let id = routeConfig;
  if (id === undefined) {
    if (splits.size > 1)
      throw consoleErrors.invalidParameter(
        'routeConfig',
        `The logical model ${JSON.stringify(logicalModel)} is routed by several active RouteConfigs (${[...splits.keys()].join(', ')}); name one with routeConfig.`,
      );
    id = [...splits.keys()][0]!;
  } else if (!splits.has(id)) {
    // A bare name is enough when it is unambiguous.
    const byName = [...splits.keys()].filter((k) => k.split('/').pop() === id);
    if (byName.length !== 1)
      throw consoleErrors.invalidParameter(
        'routeConfig',
        `routeConfig ${JSON.stringify(id)} is none of the active RouteConfigs that route ${JSON.stringify(logicalModel)}: ${[...splits.keys()].join(', ')}.`,
      );
    id = byName[0]!;
  }
  const split = splits.get(id);
  if (!split) throw consoleErrors.noSplit(logicalModel, id);
  return split;
}

function parse(snapshot: Snapshot, logicalModel: string, q: Query, now: number): ExperimentQuery {
  const until = q.time('until', now) ?? now;
  const since = q.time('since', now) ?? until - DEFAULT_WINDOW_MS;
  if (since > now) throw consoleErrors.invalidParameter('since', 'since must not be in the future.');
  if (until <= since) throw consoleErrors.invalidParameter('until', 'until must be after since.');
  const limit = q.integer('limit', 1, MAX_SAMPLE_LIMIT) ?? DEFAULT_SAMPLE_LIMIT;
  const split = resolveSplit(snapshot, logicalModel, q.string('routeConfig'));
  return { logicalModel, split, since, until, limit };
}

async function analyse(store: RequestStore, e: ExperimentQuery): Promise<ExperimentAnswer> {
  const rows = await store.experimentSamples(
    {
      logicalModel: e.logicalModel,
      routeConfig: e.split.routeConfig,
      decisions: SPLIT_DECISIONS,
      since: e.since,
      until: e.until,
    },
    e.limit,
  );
  const samples = rows.map(toExperimentSample);
  // In slices with event loop turns between them: the console's other requests (and, in the local
  // stack, the gateway sharing the process) do not wait behind a whole bootstrap.
  const report = await runCooperatively(experimentSteps(e.split.variants, samples));
  return {
    logicalModel: e.logicalModel,
    routeConfig: e.split.routeConfig,
    since: e.since,
    until: e.until,
    samples: {
      read: rows.length,
      limit: e.limit,
      truncated: rows.length >= e.limit,
      analysed: samples.length,
    },
    ...report,
  };
}

/** A stored sample as the statistics take it (the store's may lack the route entry of a refused request). */
export function toExperimentSample(row: StoredSample): ExperimentSample {
  const sample: ExperimentSample = {
    routeEntry: row.routeEntry ?? '',
    resolvedModel: row.resolvedModel ?? '',
    status: row.status,
    latencyMs: row.latencyMs,
  };
  if (row.sessionHash !== undefined) sample.sessionHash = row.sessionHash;
  if (row.errorCode !== undefined) sample.errorCode = row.errorCode;
  if (row.ttftMs !== undefined) sample.ttftMs = row.ttftMs;
  if (row.tokens !== undefined) sample.tokens = row.tokens;
  if (row.costUsd !== undefined) sample.costUsd = row.costUsd;
  return sample;
}

export function decodeModel(segment: string): string {
  try {
    const model = decodeURIComponent(segment);
    if (model !== '') return model;
  } catch {
    // falls through to the 400
  }
  throw consoleErrors.invalidParameter(
    'logicalModel',
    'The logical model in the path is empty or not valid percent-encoding.',
  );
}

export async function experimentEndpoint(
  store: RequestStore,
  snapshot: Snapshot,
  logicalModel: string,
  params: URLSearchParams,
  now: number,
): Promise<ExperimentAnswer> {
  const q = new Query(params, PARAMS);
  return analyse(store, parse(snapshot, logicalModel, q, now));
}

export interface GateAnswer {
  /** False when some compared metric of a checked variant is `worse` than the baseline. */
  pass: boolean;
  logicalModel: string;
  routeConfig: string;
  baseline: string;
  since: number;
  until: number;
  metrics: ExperimentMetric[];
  /** Per checked variant (route entry), each compared metric's verdict. */
  verdicts: Record<string, Partial<Record<ExperimentMetric, Verdict>>>;
  /** The `worse` ones, with the relative difference and its interval. */
  failed: {
    variant: string;
    metric: ExperimentMetric;
    relativePercent: number | null;
    relativeCi: Interval | null;
  }[];
}

/** The gate's answer and the status it goes with: 200 when it passes, 412 when it does not. */
export async function gateEndpoint(
  store: RequestStore,
  snapshot: Snapshot,
  logicalModel: string,
  params: URLSearchParams,
  now: number,
): Promise<{ status: number; body: GateAnswer }> {
  const q = new Query(params, GATE_PARAMS);
  const e = parse(snapshot, logicalModel, q, now);
  const metrics = q.listOf('metrics', EXPERIMENT_METRICS) ?? [...EXPERIMENT_METRICS];
  const variant = q.string('variant');
  const report = await analyse(store, e);
  if (variant !== undefined && !report.comparisons.some((c) => c.routeEntry === variant)) {
    const candidates = report.comparisons.map((c) => c.routeEntry);
    throw new ConsoleError(
      400,
      'invalid_request_error',
      'invalid_parameter',
      variant === report.baseline
        ? `variant ${JSON.stringify(variant)} is the baseline; name one of the variants compared with it: ${candidates.join(', ') || '(none)'}.`
        : `variant ${JSON.stringify(variant)} is not in the split of ${JSON.stringify(logicalModel)}; its variants compared with the baseline are ${candidates.join(', ') || '(none)'}.`,
      'variant',
    );
  }
  const verdicts: GateAnswer['verdicts'] = {};
  const failed: GateAnswer['failed'] = [];
  for (const c of report.comparisons) {
    if (variant !== undefined && c.routeEntry !== variant) continue;
    const own: Partial<Record<ExperimentMetric, Verdict>> = {};
    for (const metric of metrics) {
      const m = c.metrics[metric];
      own[metric] = m.verdict;
      if (m.verdict === 'worse')
        failed.push({
          variant: c.routeEntry,
          metric,
          relativePercent: m.relativePercent,
          relativeCi: m.relativeCi,
        });
    }
    verdicts[c.routeEntry] = own;
  }
  const body: GateAnswer = {
    pass: failed.length === 0,
    logicalModel,
    routeConfig: report.routeConfig,
    baseline: report.baseline,
    since: report.since,
    until: report.until,
    metrics,
    verdicts,
    failed,
  };
  return { status: body.pass ? 200 : 412, body };
}
