/**
 * Free KV cache scores higher: 1 − usage, as GIE's kv-cache-utilization scorer
 * (pkg/epp/scheduling/framework/plugins/scorer/kvcache_utilization.go). Not normalised across pods, so
 * 10% vs 20% usage matters less than 10% vs 90%. Pods without metrics score 0.
 */
import type { PluginDefinition } from '../plugin.ts';
import type { PodState, SchedulingRequest, Scorer } from '../types.ts';

const params = {};

export function kvCacheUtilizationScorer(): Scorer {
  return {
    name: 'kv-cache-utilization',
    score(_request: SchedulingRequest, pods: readonly PodState[], out: Float64Array): void {
      for (let i = 0; i < pods.length; i++) {
        const m = pods[i]!.metrics;
        out[i] = m === undefined ? 0 : 1 - m.kvCacheUsage;
      }
    },
  };
}

export const kvCacheUtilizationPlugin: PluginDefinition<'scorer', typeof params> = {
  kind: 'scorer',
  type: 'kv-cache-utilization',
  params,
  create: () => kvCacheUtilizationScorer(),
};
