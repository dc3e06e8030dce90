/**
 * A decision as a compact, JSON-ready record for the debug log line: outcome, endpoints, and per pod its
 * total and each scorer's score (rounded to 3 decimals), best first. Built only when asked for, so the
 * scheduling path itself keeps scores as arrays.
 */
import type { Picked, PickResult } from './types.ts';

export interface ExplainRecord {
  profile: string;
  outcome: 'picked' | 'no-capacity' | 'shed';
  endpoints?: string[];
  primary?: string;
  status?: number;
  stage?: string;
  message?: string;
  /** Scorer weights by name. */
  weights?: Record<string, number>;
  /** Pod name → total and per-scorer scores. */
  scores?: Record<string, Record<string, number>>;
}

const round = (v: number): number => Math.round(v * 1000) / 1000;

/** `top` limits the pods listed to the best N (all by default). */
export function explain(result: PickResult, options: { top?: number } = {}): ExplainRecord {
  if (result.kind !== 'picked') {
    const { kind, profile, status, stage, message } = result;
    return { profile, outcome: kind, status, stage, message };
  }
  const { scorers, weights, pods, matrix, totals } = result.scores;
  const n = pods.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => totals[b]! - totals[a]!);
  const shown = order.slice(0, Math.max(0, options.top ?? n));
  const scores: Record<string, Record<string, number>> = {};
  for (const i of shown) {
    const entry: Record<string, number> = { total: round(totals[i]!) };
    for (let s = 0; s < scorers.length; s++) entry[scorers[s]!] = round(matrix[s * n + i]!);
    scores[pods[i]!.name] = entry;
  }
  return {
    profile: result.profile,
    outcome: 'picked',
    endpoints: [...result.endpoints],
    primary: result.primary,
    weights: Object.fromEntries(scorers.map((name, s) => [name, weights[s]!])),
    scores,
  };
}

export interface PickerScoresMetadata {
  /** Scorer → weight in the profile. */
  weights: Record<string, number>;
  /** `ip:port` → `total` and each scorer's score. */
  endpoints: Record<string, Record<string, number>>;
}

/** One object per profile (its scorer names array is the profile's own): built once, not per decision. */
const weightsByProfile = new WeakMap<readonly string[], Record<string, number>>();

/**
 * The scores of the endpoints a decision hands the gateway, with the profile's weights, for the request
 * record. Only the chosen few, not every candidate, so it stays small on the hot path.
 */
export function pickerScoresMetadata(result: Picked): PickerScoresMetadata {
  const { scorers, pods, matrix, totals } = result.scores;
  let weights = weightsByProfile.get(scorers);
  if (!weights) {
    weights = Object.fromEntries(scorers.map((name, s) => [name, result.scores.weights[s]!]));
    weightsByProfile.set(scorers, weights);
  }
  const n = pods.length;
  const out: Record<string, Record<string, number>> = {};
  for (const endpoint of result.endpoints) {
    let i = 0;
    while (i < n && pods[i]!.address !== endpoint) i++;
    if (i === n) continue;
    const entry: Record<string, number> = { total: round(totals[i]!) };
    for (let s = 0; s < scorers.length; s++) entry[scorers[s]!] = round(matrix[s * n + i]!);
    out[endpoint] = entry;
  }
  return { weights, endpoints: out };
}
