/**
 * Drops pods whose metrics are stale or missing, unless that would drop every pod: then all are kept
 * (fail open within the pool), because a pod we cannot see is likelier to serve than no pod at all, and
 * the gateway's own failure mode decides what happens when the picker itself is down.
 */
import type { PluginDefinition } from '../plugin.ts';
import type { Filter, PodState, SchedulingRequest } from '../types.ts';
import { keepWhere } from './keep-where.ts';

const fresh = (pod: PodState): boolean => !pod.stale && pod.metrics !== undefined;

const params = {};

export function healthyFilter(): Filter {
  return {
    name: 'healthy',
    filter(_request: SchedulingRequest, pods: readonly PodState[]): readonly PodState[] {
      const kept = keepWhere(pods, fresh);
      return kept.length === 0 ? pods : kept;
    },
  };
}

export const healthyPlugin: PluginDefinition<'filter', typeof params> = {
  kind: 'filter',
  type: 'healthy',
  params,
  create: () => healthyFilter(),
};
