/**
 * The pods with the highest weighted score, best first: the first is the primary endpoint, the others the
 * fallbacks the gateway tries in order (GIE max-score picker, pkg/epp/scheduling/framework/plugins/picker/
 * max_score_picker.go; `maxNumOfEndpoints` defaults to 1 as upstream's DefaultMaxNumOfEndpoints). Upstream
 * shuffles then stable-sorts so equal scores are chosen at random; here tied candidates draw random
 * tie-break keys from a seeded generator, with the same effect and replayable, and the top k are kept by
 * insertion into a k-long list instead of sorting all candidates.
 */
import { numberField, optionalNumberField, type Resolved, resolveOrThrow } from '../params.ts';
import type { PluginDefinition } from '../plugin.ts';
import { seededRandom } from '../random.ts';
import type { Picker, PodState, SchedulingRequest } from '../types.ts';

const params = {
  maxNumOfEndpoints: numberField(1, { min: 1, integer: true }),
  /** Seed of the tie-breaking generator; random when absent. */
  seed: optionalNumberField({ integer: true }),
};

export type MaxScoreParams = Resolved<typeof params>;

function build(p: MaxScoreParams): Picker {
  const k = p.maxNumOfEndpoints;
  const random = seededRandom(p.seed);
  // Reused across decisions: indexes, scores and tie-break keys of the best k so far, best first.
  const topIndex = new Int32Array(k);
  const topScore = new Float64Array(k);
  const topKey = new Float64Array(k);
  return {
    name: 'max-score',
    pick(_request: SchedulingRequest, pods: readonly PodState[], totals: Float64Array): readonly PodState[] {
      let size = 0;
      for (let i = 0; i < pods.length; i++) {
        const score = totals[i]!;
        // Tie-break keys are drawn only when a tie is met (-1: not drawn yet): iid uniform whenever drawn,
        // so tied pods still come out in uniformly random order, and distinct totals cost no draws.
        let key = -1;
        let at = size;
        while (at > 0) {
          const above = topScore[at - 1]!;
          if (score < above) break;
          if (score === above) {
            if (key < 0) key = random();
            let aboveKey = topKey[at - 1]!;
            if (aboveKey < 0) {
              aboveKey = random();
              topKey[at - 1] = aboveKey;
            }
            if (key <= aboveKey) break;
          }
          at--;
        }
        if (at >= k) continue;
        const last = size < k ? size : k - 1;
        for (let j = last; j > at; j--) {
          topIndex[j] = topIndex[j - 1]!;
          topScore[j] = topScore[j - 1]!;
          topKey[j] = topKey[j - 1]!;
        }
        topIndex[at] = i;
        topScore[at] = score;
        topKey[at] = key;
        if (size < k) size++;
      }
      const picked: PodState[] = new Array(size);
      for (let j = 0; j < size; j++) picked[j] = pods[topIndex[j]!]!;
      return picked;
    },
  };
}

export function maxScorePicker(p: Partial<MaxScoreParams> = {}): Picker {
  return build(resolveOrThrow(params, p));
}

export const maxScorePlugin: PluginDefinition<'picker', typeof params> = {
  kind: 'picker',
  type: 'max-score',
  params,
  create: build,
};
