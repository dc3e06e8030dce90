/**
 * Keeps the pods whose address is in the gateway's subset hint. "If the key
 * x-gateway-destination-endpoint-subset is set, the EPP MUST only select endpoints from the specified
 * list" (GIE docs/proposals/004-endpoint-picker-protocol), so the scheduler runs this filter first in every
 * profile whether or not the config lists it; an empty result is the protocol's 503.
 */
import type { PluginDefinition } from '../plugin.ts';
import type { Filter, PodState, SchedulingRequest } from '../types.ts';
import { keepWhere } from './keep-where.ts';

const params = {};

export function subsetFilter(): Filter {
  return {
    name: 'subset',
    filter(request: SchedulingRequest, pods: readonly PodState[]): readonly PodState[] {
      const hint = request.subset;
      if (hint === undefined) return pods;
      const allowed: ReadonlySet<string> = hint instanceof Set ? hint : new Set(hint as readonly string[]);
      return keepWhere(pods, (pod) => allowed.has(pod.address));
    },
  };
}

export const subsetPlugin: PluginDefinition<'filter', typeof params> = {
  kind: 'filter',
  type: 'subset',
  params,
  create: () => subsetFilter(),
};
