/**
 * LoRA affinity, after GIE's lora-affinity filter (pkg/epp/scheduling/framework/plugins/filter/
 * lora_affinity_filter.go): pods where the adapter is active or already waiting to load come first; else
 * pods with a free adapter slot (active + waiting < max); else every pod (the server will swap adapters).
 * Upstream picks the no-affinity group with probability 1 − threshold to spread adapters; here the choice is
 * deterministic and spreading is left to the scorers.
 *
 * Requests for the pool's base model skip the filter (list it in `baseModels`): vLLM does not report the
 * base model as an adapter, so without this a base-model request would be narrowed to pods with free slots.
 */
import { type Resolved, resolveOrThrow, stringListField } from '../params.ts';
import type { PluginDefinition } from '../plugin.ts';
import type { Filter, PodState, SchedulingRequest } from '../types.ts';

const params = {
  /** Model names served by the base weights, never as adapters. */
  baseModels: stringListField([]),
};

export type LoraAffinityParams = Resolved<typeof params>;

function build(p: LoraAffinityParams): Filter {
  const baseModels = new Set(p.baseModels);
  return {
    name: 'lora-affinity',
    filter(request: SchedulingRequest, pods: readonly PodState[]): readonly PodState[] {
      const model = request.model;
      if (baseModels.has(model)) return pods;
      let affinity: PodState[] | undefined;
      let room: PodState[] | undefined;
      for (const pod of pods) {
        const m = pod.metrics;
        if (m === undefined) continue;
        if (m.activeLoras.includes(model) || m.waitingLoras.includes(model)) {
          affinity ??= [];
          affinity.push(pod);
        } else if (affinity === undefined && m.activeLoras.length + m.waitingLoras.length < m.maxLoras) {
          room ??= [];
          room.push(pod);
        }
      }
      return affinity ?? room ?? pods;
    },
  };
}

export function loraAffinityFilter(p: Partial<LoraAffinityParams> = {}): Filter {
  return build(resolveOrThrow(params, p));
}

export const loraAffinityPlugin: PluginDefinition<'filter', typeof params> = {
  kind: 'filter',
  type: 'lora-affinity',
  params,
  create: build,
};
