/**
 * Prefix-cache affinity, GIE's prefix-cache scorer (pkg/epp/scheduling/framework/plugins/prefixcachescorer/
 * plugin.go): the prompt is cut into blocks of `blockSize` bytes (default 64: vLLM's 16-token blocks at
 * ~4 characters per token), at most `maxPrefixBlocksToMatch` (256) of them; a pod's score is the longest
 * prefix of those blocks it holds divided by the prompt's block count. Prompts shorter than one block score
 * 0 everywhere. After each decision the primary pod is recorded as holding the whole prompt (upstream's
 * PreRequest), in a per-pod LRU of `lruCapacityPerServer` blocks (default 31250: the HBM left for KV cache
 * by an 8B model on an 80 GB GPU, in 16-token blocks). Parameter names and defaults are upstream's.
 *
 * The index lives in this instance: each picker replica learns on its own and starts empty after a
 * restart (session affinity carries continuity across those).
 */
import { numberField, type Resolved, resolveOrThrow } from '../params.ts';
import type { PluginDefinition } from '../plugin.ts';
import type { PickObserver, PodForgetter, PodState, SchedulingRequest, Scorer } from '../types.ts';
import { type BlockLru, matchLength, PrefixIndex, PromptHasher } from './prefix-index.ts';

const params = {
  blockSize: numberField(64, { min: 1, integer: true }),
  maxPrefixBlocksToMatch: numberField(256, { min: 1, integer: true }),
  lruCapacityPerServer: numberField(31250, { min: 1, integer: true }),
};

export type PrefixCacheParams = Resolved<typeof params>;

export class PrefixCacheScorer implements Scorer, PickObserver, PodForgetter {
  readonly name = 'prefix-cache';
  readonly index: PrefixIndex;
  private readonly hasher: PromptHasher;
  // score() and onPicked() of one decision see the same request: hash its prompt once.
  private lastRequest: SchedulingRequest | undefined;
  private lastCount = 0;
  // Callers often pass the same candidate array decision after decision (filters return their input
  // when they remove nothing): remember its pods' LRUs instead of looking each name up again. Pod arrays
  // are never mutated in place (they are `readonly`), so identity is a sound key.
  private lruPods: readonly PodState[] | undefined;
  private lruVersion = -1;
  private lrus: (BlockLru | undefined)[] = [];

  constructor(p: PrefixCacheParams) {
    this.hasher = new PromptHasher(p.blockSize, p.maxPrefixBlocksToMatch);
    this.index = new PrefixIndex(p.lruCapacityPerServer);
  }

  score(request: SchedulingRequest, pods: readonly PodState[], out: Float64Array): void {
    const count = this.hashRequest(request);
    if (count === 0) {
      out.fill(0);
      return;
    }
    const lrus = this.lrusOf(pods);
    const { lo, hi } = this.hasher;
    for (let i = 0; i < pods.length; i++) out[i] = matchLength(lrus[i], lo, hi, count) / count;
  }

  onPicked(request: SchedulingRequest, pod: PodState): void {
    const count = this.hashRequest(request);
    if (count > 0) this.index.add(pod.name, this.hasher.lo, this.hasher.hi, count);
  }

  forgetPod(podName: string): void {
    this.index.forgetPod(podName);
  }

  /** Longest cached prefix of `request` on `podName`, in blocks, and the prompt's block count. */
  match(request: SchedulingRequest, podName: string): { blocks: number; of: number } {
    const count = this.hashRequest(request);
    return { blocks: this.index.matchLength(podName, this.hasher.lo, this.hasher.hi, count), of: count };
  }

  private lrusOf(pods: readonly PodState[]): readonly (BlockLru | undefined)[] {
    if (pods !== this.lruPods || this.index.version !== this.lruVersion || this.lrus.length !== pods.length) {
      const lrus: (BlockLru | undefined)[] = new Array(pods.length);
      for (let i = 0; i < pods.length; i++) lrus[i] = this.index.lruOf(pods[i]!.name);
      this.lrus = lrus;
      this.lruPods = pods;
      this.lruVersion = this.index.version;
    }
    return this.lrus;
  }

  private hashRequest(request: SchedulingRequest): number {
    if (request !== this.lastRequest) {
      this.lastCount = this.hasher.hash(request.model, request.prompt);
      this.lastRequest = request;
    }
    return this.lastCount;
  }
}

export function prefixCacheScorer(p: Partial<PrefixCacheParams> = {}): PrefixCacheScorer {
  return new PrefixCacheScorer(resolveOrThrow(params, p));
}

export const prefixCachePlugin: PluginDefinition<'scorer', typeof params> = {
  kind: 'scorer',
  type: 'prefix-cache',
  params,
  create: (p) => new PrefixCacheScorer(p),
};
