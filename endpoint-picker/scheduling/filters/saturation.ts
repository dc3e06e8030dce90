/**
 * Sheddable requests (priority < 0) may only go to pods with good capacity; when no pod has any, the
 * request is shed with 429. Requests with priority >= 0 pass unchanged.
 *
 * "Good capacity" is GIE's saturation detector's (pkg/epp/saturationdetector/saturationdetector.go): fresh
 * metrics, waiting queue <= queueDepthThreshold and KV-cache usage <= kvCacheUtilThreshold, defaults 5 and
 * 0.8 (saturationdetector/config.go); the pool is saturated when no pod has it, and "in the event of
 * saturation, all requests with a negative priority will be rejected" (site-src/concepts/
 * priority-and-capacity.md). The 429 is the endpoint picker protocol's status for a dropped request
 * (docs/proposals/004-endpoint-picker-protocol); GIE's server maps its ResourceExhausted error to it.
 */
import { numberField, type Resolved, resolveOrThrow } from '../params.ts';
import type { PluginDefinition } from '../plugin.ts';
import type { Filter, PodState, SchedulingRequest } from '../types.ts';
import { keepWhere } from './keep-where.ts';

const params = {
  queueDepthThreshold: numberField(5, { min: 0, integer: true }),
  kvCacheUtilThreshold: numberField(0.8, { min: 0, max: 1 }),
};

export type SaturationParams = Resolved<typeof params>;

function build(p: SaturationParams): Filter {
  const { queueDepthThreshold, kvCacheUtilThreshold } = p;
  const hasCapacity = (pod: PodState): boolean => {
    const m = pod.metrics;
    return (
      !pod.stale &&
      m !== undefined &&
      m.waitingQueueSize <= queueDepthThreshold &&
      m.kvCacheUsage <= kvCacheUtilThreshold
    );
  };
  return {
    name: 'saturation',
    shedWhenEmpty: true,
    filter(request: SchedulingRequest, pods: readonly PodState[]): readonly PodState[] {
      if (!(request.priority < 0)) return pods;
      return keepWhere(pods, hasCapacity);
    },
  };
}

export function saturationFilter(p: Partial<SaturationParams> = {}): Filter {
  return build(resolveOrThrow(params, p));
}

export const saturationPlugin: PluginDefinition<'filter', typeof params> = {
  kind: 'filter',
  type: 'saturation',
  params,
  create: build,
};
