/**
 * Fewer waiting requests score higher, normalised min–max across the candidates exactly as GIE's queue
 * scorer (pkg/epp/scheduling/framework/plugins/scorer/queue.go):
 *   score = (maxQueue − queue) / (maxQueue − minQueue), and 1 for every pod when all queues are equal.
 * Pods without metrics (only present when the healthy filter failed open or is not configured) score 0 and
 * do not widen the range.
 */
import type { PluginDefinition } from '../plugin.ts';
import type { PodState, SchedulingRequest, Scorer } from '../types.ts';

const params = {};

export function queueScorer(): Scorer {
  return {
    name: 'queue',
    score(_request: SchedulingRequest, pods: readonly PodState[], out: Float64Array): void {
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      for (const pod of pods) {
        const m = pod.metrics;
        if (m === undefined) continue;
        if (m.waitingQueueSize < min) min = m.waitingQueueSize;
        if (m.waitingQueueSize > max) max = m.waitingQueueSize;
      }
      const range = max - min;
      for (let i = 0; i < pods.length; i++) {
        const m = pods[i]!.metrics;
        out[i] = m === undefined ? 0 : range > 0 ? (max - m.waitingQueueSize) / range : 1;
      }
    },
  };
}

export const queuePlugin: PluginDefinition<'scorer', typeof params> = {
  kind: 'scorer',
  type: 'queue',
  params,
  create: () => queueScorer(),
};
