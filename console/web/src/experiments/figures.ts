/**
 * How the Experiments page reads analytics/experiments.ts's report: each compared figure with its unit,
 * a comparison as "−12.3% (−20.1% … −4.0%)", and which verdicts allow promoting a variant.
 */
import type { ExperimentMetric, MetricComparison, Verdict } from '../api/types.ts';
import { formatMs, formatPercent, formatUsd } from '../format.ts';

export const METRICS: readonly {
  metric: ExperimentMetric;
  label: string;
  format: (v: number | null) => string;
}[] = [
  { metric: 'errorRate', label: 'Error rate', format: (v) => formatPercent(v, 2) },
  { metric: 'ttftP50', label: 'TTFT p50', format: formatMs },
  { metric: 'ttftP90', label: 'TTFT p90', format: formatMs },
  { metric: 'latencyP50', label: 'Latency p50', format: formatMs },
  { metric: 'latencyP90', label: 'Latency p90', format: formatMs },
  {
    metric: 'tokensPerRequest',
    label: 'Tokens per request',
    format: (v) => (v === null ? '—' : v.toFixed(1)),
  },
  { metric: 'costPerRequest', label: 'Cost per request', format: formatUsd },
];

export const VERDICT_TEXT: Readonly<Record<Verdict, string>> = {
  better: 'better',
  worse: 'worse',
  inconclusive: 'inconclusive',
  insufficient_data: 'insufficient data',
};

const signed = (v: number, digits = 1) => `${v > 0 ? '+' : v < 0 ? '−' : ''}${Math.abs(v).toFixed(digits)}%`;

/** The relative difference and its interval, or the absolute one when the baseline is 0. */
export function relativeText(c: MetricComparison): string {
  if (c.relativePercent === null) return '—';
  const ci = c.relativeCi === null ? '' : ` (${signed(c.relativeCi.low)} … ${signed(c.relativeCi.high)})`;
  return `${signed(c.relativePercent)}${ci}`;
}

/**
 * A variant may be promoted when no compared figure is `worse` and at least one is `better`: the
 * statistics found it ahead somewhere and behind nowhere. The button stays for the rest, behind a
 * confirmation that says the evidence is missing.
 */
export function promotionAdvice(verdicts: readonly Verdict[]): 'recommended' | 'not-recommended' {
  return verdicts.includes('better') && !verdicts.includes('worse') ? 'recommended' : 'not-recommended';
}
