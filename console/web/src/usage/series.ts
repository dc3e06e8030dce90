/**
 * The usage answer's per-group series as chart lines: one line per group (resolved model, route entry,
 * key or backend) for each figure over time. The API's points carry p50 latency and TTFT per interval;
 * p90 and p99 are per group over the whole window (the table beside the charts).
 */
import type { UsageGroup, UsagePoint } from '../api/types.ts';

export interface UsageFigure {
  id: string;
  title: string;
  unit: 'count' | 'ratio' | 'ms' | 'usd';
  value: (p: UsagePoint) => number | null;
}

export const USAGE_FIGURES: readonly UsageFigure[] = [
  { id: 'requests', title: 'Requests', unit: 'count', value: (p) => p.requests },
  // An interval without requests has no error rate (not 0%): the line breaks there.
  {
    id: 'error-rate',
    title: 'Error rate',
    unit: 'ratio',
    value: (p) => (p.requests === 0 ? null : p.errors / p.requests),
  },
  { id: 'latency-p50', title: 'Latency p50', unit: 'ms', value: (p) => p.latencyP50Ms },
  { id: 'ttft-p50', title: 'TTFT p50', unit: 'ms', value: (p) => p.ttftP50Ms },
  {
    id: 'tokens',
    title: 'Tokens (prompt + completion)',
    unit: 'count',
    value: (p) => p.tokens.prompt + p.tokens.completion,
  },
  { id: 'cost', title: 'Cost', unit: 'usd', value: (p) => p.costUsd },
];

/** The label of a group; records without the grouped field are counted under "(none)". */
export function groupLabel(group: UsageGroup): string {
  return group.key ?? '(none)';
}

/** The x values (interval starts) shared by every group: the API gives each group the same points. */
export function seriesTimes(groups: readonly UsageGroup[]): number[] {
  return groups[0]?.series.map((p) => p.time) ?? [];
}

export function figureSeries(groups: readonly UsageGroup[], figure: UsageFigure) {
  return groups.map((g) => ({ label: groupLabel(g), values: g.series.map(figure.value) }));
}
