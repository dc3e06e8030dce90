import { describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../../../console/web/src/api/types.ts';
import {
  attemptRows,
  decisionSentence,
  isFailure,
  pickerExplanations,
} from '../../../../console/web/src/logs/decision.ts';

const base: RequestRecord = {
  id: 'r',
  time: 0,
  attempts: [],
  status: 200,
  stream: false,
  cancelled: false,
  latencyMs: 1,
  routeConfig: 'default/default',
  routeEntry: 'chat-v2',
};

describe("a request's decision, explained", () => {
  it('says how each decision kind chose the entry', () => {
    expect(decisionSentence({ ...base, decision: 'sticky-split' })).toBe(
      'Route entry chat-v2 of RouteConfig default/default: the weighted split, kept on this variant by the session (sticky).',
    );
    expect(decisionSentence({ ...base, decision: 'weighted-split' })).toContain('drew it at random');
    expect(decisionSentence({ ...base, decision: 'policy' })).toContain("the entry's match condition held");
    expect(decisionSentence({ ...base, routeEntry: undefined })).toBe(
      'No route entry was chosen (the request was refused before routing).',
    );
  });

  it('shows a fallback: the failed attempts that fell back, then the one that answered', () => {
    const rows = attemptRows([
      { backend: 'default/a', status: 0, errorCode: 'connect_failure', startMs: 0, endMs: 3 },
      { backend: 'default/b', status: 503 },
      { backend: 'default/pool', status: 200, endpoint: '127.0.0.21:8000', startMs: 10, endMs: 250 },
    ]);
    expect(rows.map((r) => [r.n, r.status, r.error, r.endpoint, r.duration, r.outcome])).toEqual([
      [1, 'no answer', 'connect_failure', '—', '3.0 ms', 'failed, fell back'],
      [2, '503', '—', '—', '—', 'failed, fell back'],
      [3, '200', '—', '127.0.0.21:8000', '240 ms', 'answered'],
    ]);
  });

  it("names the pod the picker chose for each attempt, with its total and each scorer's score and weight", () => {
    const explained = pickerExplanations([
      { backend: 'default/api', status: 503 },
      {
        backend: 'default/pool',
        status: 200,
        endpoint: '127.0.0.21:8000',
        picker: {
          total: 3.4,
          scores: { queue: 0.9, 'prefix-cache': 0.5, 'kv-cache-utilization': 0.4, custom: 1 },
          weights: { queue: 1, 'prefix-cache': 3, 'kv-cache-utilization': 2 },
        },
      },
    ]);
    expect(explained).toEqual([
      {
        n: 2,
        endpoint: '127.0.0.21:8000',
        total: 3.4,
        // Largest contribution first; a scorer whose weight the record lacks shows its bare score.
        rows: [
          { scorer: 'prefix-cache', score: 0.5, weight: 3, weighted: 1.5 },
          { scorer: 'custom', score: 1 },
          { scorer: 'queue', score: 0.9, weight: 1, weighted: 0.9 },
          { scorer: 'kv-cache-utilization', score: 0.4, weight: 2, weighted: 0.8 },
        ],
      },
    ]);
    // A pod the picker did not score (a fail-open pick) has nothing to explain.
    expect(
      pickerExplanations([{ backend: 'default/pool', status: 200, endpoint: '127.0.0.21:8000' }]),
    ).toEqual([]);
  });

  it('marks the last attempt failed when nothing answered', () => {
    expect(attemptRows([{ backend: 'a', status: 429 }])[0]!.outcome).toBe('failed');
  });

  it('counts no answer, 4xx, 5xx and 499 as failures', () => {
    expect([0, 200, 302, 400, 499, 503].map((status) => isFailure({ ...base, status }))).toEqual([
      true,
      false,
      false,
      true,
      true,
      true,
    ]);
  });
});
