/**
 * Absolute (not min–max) queue pressure, after llm-d's load-aware scorer (llm-d-inference-scheduler
 * pkg/plugins/scorer/load_aware.go): an empty queue scores 0.5, a queue of `threshold` or more scores 0,
 * linearly in between (0.5 · (1 − min(queue, threshold) / threshold)). Unlike the queue scorer, one waiting
 * request on every pod does not make the least-loaded pod look perfect. Pods without metrics score 0.
 */
import { numberField, type Resolved, resolveOrThrow } from '../params.ts';
import type { PluginDefinition } from '../plugin.ts';
import type { PodState, SchedulingRequest, Scorer } from '../types.ts';

const params = {
  /** Waiting requests at which a pod scores 0; llm-d's default is 128. */
  threshold: numberField(128, { min: 1 }),
};

export type LoadAwareParams = Resolved<typeof params>;

function build(p: LoadAwareParams): Scorer {
  const threshold = p.threshold;
  return {
    name: 'load-aware',
    score(_request: SchedulingRequest, pods: readonly PodState[], out: Float64Array): void {
      for (let i = 0; i < pods.length; i++) {
        const m = pods[i]!.metrics;
        out[i] = m === undefined ? 0 : 0.5 * (1 - Math.min(m.waitingQueueSize, threshold) / threshold);
      }
    },
  };
}

export function loadAwareScorer(p: Partial<LoadAwareParams> = {}): Scorer {
  return build(resolveOrThrow(params, p));
}

export const loadAwarePlugin: PluginDefinition<'scorer', typeof params> = {
  kind: 'scorer',
  type: 'load-aware',
  params,
  create: build,
};
