/**
 * Why a request went where it went, in words, from its record alone: the route entry and how it was
 * chosen (ext-proc/router/route.ts DecisionReason: a policy match, the weighted split, or the split kept
 * sticky by the session), then each attempt in order — the fallback chain — with its backend, pod,
 * status and error — and, for an InferencePool, the pod the picker chose with its per-scorer scores.
 */

import type { AttemptRecord, RequestRecord } from '../api/types.ts';
import { formatMs } from '../format.ts';

const REASONS: Readonly<Record<string, string>> = {
  policy: "the entry's match condition held (policy route)",
  'weighted-split': 'the weighted split drew it at random (no session key)',
  'sticky-split': 'the weighted split, kept on this variant by the session (sticky)',
};

/** One sentence on how the route entry was chosen. */
export function decisionSentence(record: RequestRecord): string {
  if (record.routeEntry === undefined)
    return 'No route entry was chosen (the request was refused before routing).';
  const how =
    record.decision === undefined ? 'the only candidate' : (REASONS[record.decision] ?? record.decision);
  const where = record.routeConfig === undefined ? '' : ` of RouteConfig ${record.routeConfig}`;
  return `Route entry ${record.routeEntry}${where}: ${how}.`;
}

export interface AttemptRow {
  n: number;
  backend: string;
  endpoint: string;
  status: string;
  error: string;
  duration: string;
  outcome: 'answered' | 'failed, fell back' | 'failed';
}

/** The attempts as table rows; the last one is the answer, every earlier one a failure that fell back. */
export function attemptRows(attempts: readonly AttemptRecord[]): AttemptRow[] {
  return attempts.map((a, i) => {
    const ok = a.status > 0 && a.status < 400 && a.errorCode === undefined;
    const last = i === attempts.length - 1;
    return {
      n: i + 1,
      backend: a.backend,
      endpoint: a.endpoint ?? '—',
      status: a.status === 0 ? 'no answer' : String(a.status),
      error: a.errorCode ?? '—',
      duration: a.startMs !== undefined && a.endMs !== undefined ? formatMs(a.endMs - a.startMs) : '—',
      outcome: ok ? 'answered' : last ? 'failed' : 'failed, fell back',
    };
  });
}

/** A status the client saw as a failure: none (0), 4xx, 5xx, or 499 (the client went away). */
export function isFailure(record: RequestRecord): boolean {
  return record.status === 0 || record.status >= 400;
}

export interface PickerRow {
  scorer: string;
  /** The scorer's score of the pod (0–1, unweighted). */
  score: number;
  /** Its weight in the pool's scheduling profile, when the record has it. */
  weight?: number;
  /** score × weight: what it added to the total. */
  weighted?: number;
}

export interface PickerExplanation {
  /** The attempt it was made for. */
  n: number;
  endpoint: string;
  /** The weighted sum the picker ranked pods by. */
  total: number;
  /** Largest contribution first. */
  rows: PickerRow[];
}

/** The attempts whose pod the endpoint picker chose, with the scores it chose by. */
export function pickerExplanations(attempts: readonly AttemptRecord[]): PickerExplanation[] {
  const out: PickerExplanation[] = [];
  attempts.forEach((a, i) => {
    if (a.endpoint === undefined || a.picker === undefined) return;
    const { total, scores, weights } = a.picker;
    const rows = Object.entries(scores).map(([scorer, score]): PickerRow => {
      const weight = weights[scorer];
      return weight === undefined ? { scorer, score } : { scorer, score, weight, weighted: score * weight };
    });
    rows.sort(
      (x, y) => (y.weighted ?? y.score) - (x.weighted ?? x.score) || x.scorer.localeCompare(y.scorer),
    );
    out.push({ n: i + 1, endpoint: a.endpoint, total, rows });
  });
  return out;
}
