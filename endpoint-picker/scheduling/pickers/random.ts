/**
 * Uniformly random distinct pods, ignoring scores: a baseline (GIE has a random picker too,
 * pkg/epp/scheduling/framework/plugins/picker/random_picker.go). Seeded for replayable runs.
 */
import { numberField, optionalNumberField, type Resolved, resolveOrThrow } from '../params.ts';
import type { PluginDefinition } from '../plugin.ts';
import { seededRandom } from '../random.ts';
import type { Picker, PodState, SchedulingRequest } from '../types.ts';

const params = {
  maxNumOfEndpoints: numberField(1, { min: 1, integer: true }),
  seed: optionalNumberField({ integer: true }),
};

export type RandomPickerParams = Resolved<typeof params>;

function build(p: RandomPickerParams): Picker {
  const random = seededRandom(p.seed);
  const k = p.maxNumOfEndpoints;
  return {
    name: 'random',
    pick(_request: SchedulingRequest, pods: readonly PodState[]): readonly PodState[] {
      const n = pods.length;
      if (k === 1) return n === 0 ? [] : [pods[Math.floor(random() * n)]!];
      // Partial Fisher–Yates over a copy: the first `size` slots end up a uniform sample in random order.
      const pool = pods.slice();
      const size = Math.min(k, n);
      for (let j = 0; j < size; j++) {
        const r = j + Math.floor(random() * (n - j));
        const chosen = pool[r]!;
        pool[r] = pool[j]!;
        pool[j] = chosen;
      }
      pool.length = size;
      return pool;
    },
  };
}

export function randomPicker(p: Partial<RandomPickerParams> = {}): Picker {
  return build(resolveOrThrow(params, p));
}

export const randomPickerPlugin: PluginDefinition<'picker', typeof params> = {
  kind: 'picker',
  type: 'random',
  params,
  create: build,
};
