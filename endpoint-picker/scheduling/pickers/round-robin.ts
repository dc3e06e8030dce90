/**
 * Candidates in turn, ignoring scores: the baseline every load balancer starts from. One counter per
 * instance, advanced once per decision, taken modulo the current candidate count, so it is exact round
 * robin only while the candidate list is stable. Fallbacks are the next pods in the list.
 */
import { numberField, type Resolved, resolveOrThrow } from '../params.ts';
import type { PluginDefinition } from '../plugin.ts';
import type { Picker, PodState, SchedulingRequest } from '../types.ts';

const params = {
  maxNumOfEndpoints: numberField(1, { min: 1, integer: true }),
};

export type RoundRobinParams = Resolved<typeof params>;

function build(p: RoundRobinParams): Picker {
  const k = p.maxNumOfEndpoints;
  let counter = 0;
  return {
    name: 'round-robin',
    pick(_request: SchedulingRequest, pods: readonly PodState[]): readonly PodState[] {
      const n = pods.length;
      if (n === 0) return [];
      const start = counter % n;
      counter = (counter + 1) % 0x7fffffff;
      const size = Math.min(k, n);
      const picked: PodState[] = new Array(size);
      for (let j = 0; j < size; j++) picked[j] = pods[(start + j) % n]!;
      return picked;
    },
  };
}

export function roundRobinPicker(p: Partial<RoundRobinParams> = {}): Picker {
  return build(resolveOrThrow(params, p));
}

export const roundRobinPlugin: PluginDefinition<'picker', typeof params> = {
  kind: 'picker',
  type: 'round-robin',
  params,
  create: build,
};
