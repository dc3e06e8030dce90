import type { EngineSnapshot } from './engine/engine.ts';

/** Counters a model server keeps besides the engine's. Mutated only by the request handlers. */
export interface ServerCounters {
  /** Requests to the OpenAI API (`/v1/...`), including rejected ones. */
  requestsServed: number;
  /** Finished requests by vLLM's finish reason; `abort` counts clients that went away and broken streams. */
  finished: { stop: number; length: number; abort: number };
}

export function createServerCounters(): ServerCounters {
  return { requestsServed: 0, finished: { stop: 0, length: 0, abort: 0 } };
}

/** A Prometheus histogram: cumulative bucket counts are computed when rendered. */
export class Histogram {
  readonly bounds: readonly number[];
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Array<number>(bounds.length).fill(0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    const { bounds } = this;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }

  render(name: string, labels: string): string {
    let text = '';
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += this.counts[i]!;
      text += `${name}_bucket{${labels},le="${formatBound(this.bounds[i]!)}"} ${cumulative}\n`;
    }
    text += `${name}_bucket{${labels},le="+Inf"} ${this.count}\n`;
    text += `${name}_sum{${labels}} ${this.sum}\n`;
    text += `${name}_count{${labels}} ${this.count}\n`;
    return text;
  }
}

/** `le` values as Python's client writes them (`1.0`, `0.25`), so series match vLLM's label for label. */
function formatBound(bound: number): string {
  return Number.isInteger(bound) ? bound.toFixed(1) : String(bound);
}

/** Request latencies in seconds, with vLLM's buckets (vllm/v1/metrics/loggers.py). */
export interface LatencyHistograms {
  readonly timeToFirstToken: Histogram;
  readonly e2eRequestLatency: Histogram;
}

export function createLatencyHistograms(): LatencyHistograms {
  return {
    timeToFirstToken: new Histogram([
      0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0,
      80.0, 160.0, 640.0, 2560.0,
    ]),
    e2eRequestLatency: new Histogram([
      0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0,
      960.0, 1920.0, 7680.0,
    ]),
  };
}

export interface MetricsSnapshot {
  readonly modelName: string;
  readonly engine: EngineSnapshot;
  readonly counters: ServerCounters;
  readonly latency: LatencyHistograms;
  /** vLLM `--max-loras`, reported in `vllm:lora_requests_info`. */
  readonly maxLoras: number;
  /** Wall-clock seconds: the value of `vllm:lora_requests_info`, which the endpoint picker compares. */
  readonly nowSeconds: number;
}

/**
 * Prometheus text exposition (format 0.0.4) with vLLM V1's metric names and help texts
 * (vllm/v1/metrics/loggers.py; https://docs.vllm.ai/en/stable/usage/metrics/). vLLM's counters are declared
 * without `_total` and the Python client appends it, so HELP/TYPE lines name `..._total` too.
 * vLLM also labels `engine`; the simulator has a single engine and labels only `model_name`.
 *
 * vLLM 0.9 renamed `gpu_cache_usage_perc` to `kv_cache_usage_perc` and `gpu_prefix_cache_{queries,hits}` to
 * `prefix_cache_{queries,hits}`, keeping the old names as deprecated; both are exposed so scrapers written
 * for either version (the Gateway API Inference Extension's model-server protocol still names
 * `vllm:gpu_cache_usage_perc`) read this server. Prefix-cache counters count tokens, not blocks
 * (vllm/v1/core/kv_cache_manager.py: queries += request.num_tokens, hits += cached tokens).
 */
export function renderVllmMetrics(snapshot: MetricsSnapshot): string {
  const model = `model_name="${escapeLabelValue(snapshot.modelName)}"`;
  const { counters, engine, latency } = snapshot;
  let text = '';
  text += family('vllm:num_requests_running', 'gauge', 'Number of requests in model execution batches.');
  text += `vllm:num_requests_running{${model}} ${engine.running}\n`;
  text += family('vllm:num_requests_waiting', 'gauge', 'Number of requests waiting to be processed.');
  text += `vllm:num_requests_waiting{${model}} ${engine.waiting}\n`;
  text += family(
    'vllm:gpu_cache_usage_perc',
    'gauge',
    'GPU KV-cache usage. 1 means 100 percent usage.DEPRECATED: Use vllm:kv_cache_usage_perc instead.',
  );
  text += `vllm:gpu_cache_usage_perc{${model}} ${engine.kvCacheUsage}\n`;
  text += family('vllm:kv_cache_usage_perc', 'gauge', 'KV-cache usage. 1 means 100 percent usage.');
  text += `vllm:kv_cache_usage_perc{${model}} ${engine.kvCacheUsage}\n`;
  text += family(
    'vllm:gpu_prefix_cache_queries_total',
    'counter',
    'GPU prefix cache queries, in terms of number of queried tokens. DEPRECATED: Use vllm:prefix_cache_queries instead.',
  );
  text += `vllm:gpu_prefix_cache_queries_total{${model}} ${engine.prefixCacheQueries}\n`;
  text += family(
    'vllm:gpu_prefix_cache_hits_total',
    'counter',
    'GPU prefix cache hits, in terms of number of cached tokens. DEPRECATED: Use vllm:prefix_cache_hits instead.',
  );
  text += `vllm:gpu_prefix_cache_hits_total{${model}} ${engine.prefixCacheHits}\n`;
  text += family(
    'vllm:prefix_cache_queries_total',
    'counter',
    'Prefix cache queries, in terms of number of queried tokens.',
  );
  text += `vllm:prefix_cache_queries_total{${model}} ${engine.prefixCacheQueries}\n`;
  text += family(
    'vllm:prefix_cache_hits_total',
    'counter',
    'Prefix cache hits, in terms of number of cached tokens.',
  );
  text += `vllm:prefix_cache_hits_total{${model}} ${engine.prefixCacheHits}\n`;
  text += family('vllm:num_preemptions_total', 'counter', 'Cumulative number of preemption from the engine.');
  text += `vllm:num_preemptions_total{${model}} ${engine.preemptions}\n`;
  text += family('vllm:prompt_tokens_total', 'counter', 'Number of prefill tokens processed.');
  text += `vllm:prompt_tokens_total{${model}} ${engine.promptTokens}\n`;
  text += family('vllm:generation_tokens_total', 'counter', 'Number of generation tokens processed.');
  text += `vllm:generation_tokens_total{${model}} ${engine.generationTokens}\n`;
  text += family('vllm:request_success_total', 'counter', 'Count of successfully processed requests.');
  for (const reason of ['stop', 'length', 'abort'] as const) {
    text += `vllm:request_success_total{${model},finished_reason="${reason}"} ${counters.finished[reason]}\n`;
  }
  text += family(
    'vllm:time_to_first_token_seconds',
    'histogram',
    'Histogram of time to first token in seconds.',
  );
  text += latency.timeToFirstToken.render('vllm:time_to_first_token_seconds', model);
  text += family(
    'vllm:e2e_request_latency_seconds',
    'histogram',
    'Histogram of e2e request latency in seconds.',
  );
  text += latency.e2eRequestLatency.render('vllm:e2e_request_latency_seconds', model);
  // vLLM labels this gauge with the adapters only (no model_name) and sets it to the current time, so the
  // newest sample wins (gateway-api-inference-extension docs/proposals/003-model-server-protocol).
  // The simulator serves no adapters, so both lists are empty.
  text += family('vllm:lora_requests_info', 'gauge', 'Running stats on lora requests.');
  const adapters = 'waiting_lora_adapters="",running_lora_adapters=""';
  text += `vllm:lora_requests_info{max_lora="${snapshot.maxLoras}",${adapters}} ${snapshot.nowSeconds}\n`;
  return text;
}

function family(name: string, type: 'gauge' | 'counter' | 'histogram', help: string): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
}

/** Label values escape backslash, double quote and newline (Prometheus text format). */
function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : '\\' + c));
}
