/**
 * Which Prometheus series carry a model server's load, per server type. Names follow the Gateway API
 * Inference Extension model-server protocol (docs/proposals/003-model-server-protocol in
 * kubernetes-sigs/gateway-api-inference-extension): queued requests, running requests, KV-cache
 * utilisation and LoRA adapters. vLLM renamed `gpu_cache_usage_perc` to `kv_cache_usage_perc` (V1);
 * both are read, the newer first. Configurable per pool for servers that differ.
 */
import type { Sample } from './prometheus-text.ts';

/** A series by name, optionally narrowed by one label value. */
export interface SeriesSpec {
  name: string;
  label?: { name: string; value: string };
}

export interface MetricNames {
  queued: readonly SeriesSpec[];
  running: readonly SeriesSpec[];
  kvCacheUsage: readonly SeriesSpec[];
  /** vLLM's info metric whose labels list running/waiting adapters and the adapter capacity. */
  loraInfo?: string;
}

export const MODEL_SERVER_METRICS: Readonly<Record<'vllm' | 'sglang' | 'trtllm', MetricNames>> = {
  vllm: {
    queued: [{ name: 'vllm:num_requests_waiting' }],
    running: [{ name: 'vllm:num_requests_running' }],
    kvCacheUsage: [{ name: 'vllm:kv_cache_usage_perc' }, { name: 'vllm:gpu_cache_usage_perc' }],
    loraInfo: 'vllm:lora_requests_info',
  },
  sglang: {
    queued: [{ name: 'sglang:num_queue_reqs' }],
    running: [{ name: 'sglang:num_running_reqs' }],
    kvCacheUsage: [{ name: 'sglang:token_usage' }],
  },
  trtllm: {
    queued: [{ name: 'nv_trt_llm_request_metrics', label: { name: 'request_type', value: 'waiting' } }],
    running: [{ name: 'nv_trt_llm_request_metrics', label: { name: 'request_type', value: 'scheduled' } }],
    kvCacheUsage: [
      {
        name: 'nv_trt_llm_kv_cache_block_metrics',
        label: { name: 'kv_cache_block_type', value: 'fraction' },
      },
    ],
  },
};

export interface ModelServerLoad {
  waitingQueueSize: number;
  runningRequests: number;
  /** 0..1 */
  kvCacheUsage: number;
  activeLoras: string[];
  waitingLoras: string[];
  maxLoras: number;
}

/** Every series name a load is read from: what a scrape needs to parse. */
export function seriesNames(names: MetricNames): ReadonlySet<string> {
  const all = [...names.queued, ...names.running, ...names.kvCacheUsage].map((s) => s.name);
  if (names.loraInfo) all.push(names.loraInfo);
  return new Set(all);
}

function first(samples: readonly Sample[], specs: readonly SeriesSpec[]): number | undefined {
  for (const spec of specs) {
    let total: number | undefined;
    for (const s of samples) {
      if (s.name !== spec.name) continue;
      if (spec.label && s.labels[spec.label.name] !== spec.label.value) continue;
      // Several series (e.g. one per model_name) add up to the server's load.
      total = (total ?? 0) + s.value;
    }
    if (total !== undefined) return total;
  }
  return undefined;
}

/** The load a scrape shows, or a reason it cannot be read (missing series). */
export function readLoad(samples: readonly Sample[], names: MetricNames): ModelServerLoad | string {
  const queued = first(samples, names.queued);
  const running = first(samples, names.running);
  const kv = first(samples, names.kvCacheUsage);
  if (queued === undefined) return `no ${names.queued.map((s) => s.name).join(' or ')} series`;
  if (kv === undefined) return `no ${names.kvCacheUsage.map((s) => s.name).join(' or ')} series`;
  const load: ModelServerLoad = {
    waitingQueueSize: queued,
    runningRequests: running ?? 0,
    // vLLM reports a fraction; guard against servers reporting percent.
    kvCacheUsage: kv > 1 ? kv / 100 : kv,
    activeLoras: [],
    waitingLoras: [],
    maxLoras: 0,
  };
  if (names.loraInfo) {
    // The newest info sample wins: its value is a timestamp (vLLM docs, lora_requests_info).
    let newest: Sample | undefined;
    for (const s of samples) if (s.name === names.loraInfo && (!newest || s.value > newest.value)) newest = s;
    if (newest) {
      const list = (v: string | undefined) =>
        v
          ? v
              .split(',')
              .map((x) => x.trim())
              .filter(Boolean)
          : [];
      load.activeLoras = list(newest.labels.running_lora_adapters);
      load.waitingLoras = list(newest.labels.waiting_lora_adapters);
      load.maxLoras = Number(newest.labels.max_lora ?? 0) || 0;
    }
  }
  return load;
}
