import type {
  PodMetrics,
  PodState,
  SchedulingRequest,
  Scorer,
} from '../../../endpoint-picker/scheduling/types.ts';

export const NOW = 1_700_000_000_000;

/** A fresh pod `default/<name>` at 10.0.0.<n>:8000 with idle metrics, overridden by `metrics` (null: none). */
export function pod(
  name: string,
  metrics: Partial<PodMetrics> | null = {},
  extra: { stale?: boolean; address?: string } = {},
): PodState {
  const n = Number(/\d+/.exec(name)?.[0] ?? 1);
  return {
    name: `default/${name}`,
    address: extra.address ?? `10.0.0.${n}:8000`,
    labels: { app: 'vllm' },
    metrics:
      metrics === null
        ? undefined
        : {
            waitingQueueSize: 0,
            runningRequests: 0,
            kvCacheUsage: 0,
            activeLoras: [],
            waitingLoras: [],
            maxLoras: 0,
            updatedAtMs: NOW,
            ...metrics,
          },
    stale: extra.stale ?? false,
  };
}

export function request(overrides: Partial<SchedulingRequest> = {}): SchedulingRequest {
  return {
    requestId: 'req-1',
    model: 'llama-3-8b',
    prompt: 'Hello',
    priority: 0,
    headers: {},
    ...overrides,
  };
}

/** Runs a scorer and returns plain numbers. */
export function scores(scorer: Scorer, req: SchedulingRequest, pods: readonly PodState[]): number[] {
  const out = new Float64Array(pods.length);
  scorer.score(req, pods, out);
  return [...out];
}

/** A prompt of `blocks` whole 64-character blocks, each distinct per (topic, index). */
export function promptOf(topic: string, blocks: number, blockSize = 64): string {
  let text = '';
  for (let i = 0; i < blocks; i++) text += `${topic}:${i}:`.padEnd(blockSize, '.');
  return text;
}
