/**
 * The figures of one run, over its measured requests (warm-up left out): latency percentiles, throughput
 * and the pool's prefix-cache hit rate.
 */
import type { SimulationResult } from './simulate.ts';

export interface RunSummary {
  /** Measured requests. */
  readonly requests: number;
  readonly ttftP50Ms: number;
  readonly ttftP90Ms: number;
  readonly e2eP90Ms: number;
  /**
   * Measured requests, and their output tokens, completed by `drainSeconds` after the last arrival (a load
   * test's graceful stop), per second of the measured arrival window. Every policy that keeps up with the
   * offered load completes all of them in time and scores exactly that load; one that falls behind leaves
   * work unfinished and scores less. (A rate of completions within the arrival window, or vLLM's count
   * over the time to the last completion, would instead rank policies that all keep up by when the few
   * requests at the window's edges happen to finish.)
   */
  readonly requestsPerSec: number;
  readonly outputTokensPerSec: number;
  /** Measured requests not finished by the end of the drain. */
  readonly unfinished: number;
  /** Prompt tokens found in the engines' prefix caches over those looked up, from the measured window on. */
  readonly prefixHitRate: number;
  readonly preemptions: number;
}

/** Linear interpolation between closest ranks (numpy's default); `sorted` ascending and non-empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no values');
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.min(low + 1, sorted.length - 1);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export function summarize(result: SimulationResult, drainSeconds: number): RunSummary {
  const ttft: number[] = [];
  const e2e: number[] = [];
  let startMs = Number.POSITIVE_INFINITY;
  let lastArrivalMs = Number.NEGATIVE_INFINITY;
  for (const { request } of result.outcomes) {
    if (request.measured && request.arrivalMs < startMs) startMs = request.arrivalMs;
    if (request.arrivalMs > lastArrivalMs) lastArrivalMs = request.arrivalMs;
  }
  const endMs = lastArrivalMs + drainSeconds * 1000;
  let completed = 0;
  let outputTokens = 0;
  for (const outcome of result.outcomes) {
    if (!outcome.request.measured) continue;
    const arrivalMs = outcome.request.arrivalMs;
    ttft.push(outcome.firstTokenMs - arrivalMs);
    e2e.push(outcome.finishedMs - arrivalMs);
    if (outcome.finishedMs <= endMs) {
      completed++;
      outputTokens += outcome.outputTokens;
    }
  }
  if (ttft.length === 0) throw new RangeError('the run has no measured requests');
  ttft.sort((a, b) => a - b);
  e2e.sort((a, b) => a - b);
  // A single measured request, arriving last, leaves no window: no rate (0) rather than an infinite one.
  const perSecond = lastArrivalMs > startMs ? 1000 / (lastArrivalMs - startMs) : 0;

  let hits = 0;
  let queries = 0;
  let preemptions = 0;
  result.atEnd.forEach((end, i) => {
    const start = result.atWindowStart[i]!;
    hits += end.prefixCacheHits - start.prefixCacheHits;
    queries += end.prefixCacheQueries - start.prefixCacheQueries;
    preemptions += end.preemptions - start.preemptions;
  });

  return {
    requests: ttft.length,
    ttftP50Ms: percentile(ttft, 50),
    ttftP90Ms: percentile(ttft, 90),
    e2eP90Ms: percentile(e2e, 90),
    requestsPerSec: completed * perSecond,
    outputTokensPerSec: outputTokens * perSecond,
    unfinished: ttft.length - completed,
    prefixHitRate: queries > 0 ? hits / queries : 0,
    preemptions,
  };
}
