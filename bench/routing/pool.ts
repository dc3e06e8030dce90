/**
 * The simulated inference pool: which pods it has, and what the endpoint picker sees of them. The picker's
 * view is built as the real one is (endpoint-picker/server.ts with metrics/scraper.ts): metrics from each
 * pod's latest scrape, stamped with the scrape time, in one candidate array rebuilt per scrape rather than
 * per request — so between scrapes every decision sees the same, ageing numbers.
 */

import type { PodState } from '../../endpoint-picker/scheduling/types.ts';
import { DEFAULT_ENGINE_CONFIG, type EngineConfig } from '../../sim/engine/config.ts';
import type { EngineSnapshot } from '../../sim/engine/engine.ts';

export interface PodSpec {
  /** `namespace/name`, as the picker names pods (and session tokens encode). */
  readonly name: string;
  readonly address: string;
  readonly engine: EngineConfig;
  /** How it differs from the fleet default, for the report. */
  readonly note: string;
}

/**
 * The upstream EPP's `--refresh-metrics-interval` default. Every scrape succeeds here, so no pod outlives
 * the 2 s staleness threshold; what the picker does see is metrics up to one interval old.
 */
export const SCRAPE_INTERVAL_MS = 50;

/**
 * `size` pods with the fleet's default engine (sim/engine/config.ts). With `heterogeneous`, the last two
 * differ as real pools often do after a partial upgrade: one has half the KV cache (a smaller GPU, or one
 * shared with a second model), one is a previous GPU generation, 1.5× slower at prefill and decode.
 */
export function inferencePool(size: number, heterogeneous: boolean): PodSpec[] {
  const pods: PodSpec[] = [];
  for (let i = 0; i < size; i++) {
    let engine: EngineConfig = { ...DEFAULT_ENGINE_CONFIG, seed: i };
    let note = 'default';
    if (heterogeneous && size >= 3 && i === size - 2) {
      engine = { ...engine, kvCacheBlocks: 4096, prefixCacheBlocks: 4096 };
      note = 'half KV cache';
    } else if (heterogeneous && size >= 3 && i === size - 1) {
      engine = {
        ...engine,
        prefillMsPerToken: engine.prefillMsPerToken * 1.5,
        decodeMsPerStepBase: engine.decodeMsPerStepBase * 1.5,
        decodeMsPerStepPerSeq: engine.decodeMsPerStepPerSeq * 1.5,
      };
      note = '1.5x slower';
    }
    pods.push({ name: `default/vllm-${i}`, address: `10.0.0.${i + 1}:8000`, engine, note });
  }
  return pods;
}

const NO_LORAS: readonly string[] = Object.freeze([]);
const LABELS: Readonly<Record<string, string>> = Object.freeze({ app: 'vllm' });

/** What one scrape of `pod` at `nowMs` gives the picker (vLLM's gauges, sim/metrics.ts names them). */
export function scrapedState(pod: PodSpec, snapshot: EngineSnapshot, nowMs: number): PodState {
  return {
    name: pod.name,
    address: pod.address,
    labels: LABELS,
    metrics: {
      waitingQueueSize: snapshot.waiting,
      runningRequests: snapshot.running,
      kvCacheUsage: snapshot.kvCacheUsage,
      activeLoras: NO_LORAS,
      waitingLoras: NO_LORAS,
      maxLoras: 0,
      updatedAtMs: nowMs,
    },
    stale: false,
  };
}

/** A pod before its first scrape: no metrics, stale. */
export function unscrapedState(pod: PodSpec): PodState {
  return { name: pod.name, address: pod.address, labels: LABELS, metrics: undefined, stale: true };
}
