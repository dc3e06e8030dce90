/** Counters a model server keeps for `stats()` and `/metrics`. Mutated only by the request handlers. */
export interface ServerCounters {
  /** Requests to the OpenAI API (`/v1/...`), including rejected ones. */
  requestsServed: number;
  promptTokens: number;
  generationTokens: number;
  /** Finished requests by vLLM's finish reason; `abort` counts clients that went away and broken streams. */
  finished: { stop: number; length: number; abort: number };
}

export function createServerCounters(): ServerCounters {
  return {
    requestsServed: 0,
    promptTokens: 0,
    generationTokens: 0,
    finished: { stop: 0, length: 0, abort: 0 },
  };
}

export interface MetricsSnapshot {
  readonly modelName: string;
  readonly running: number;
  readonly waiting: number;
  readonly kvCacheUsage: number;
  readonly counters: ServerCounters;
}

/**
 * Prometheus text exposition (format 0.0.4) with vLLM V1's metric names and help texts
 * (vllm/v1/metrics/loggers.py; https://docs.vllm.ai/en/stable/usage/metrics/). vLLM's counters are declared
 * without `_total` and the Python client appends it, so HELP/TYPE lines name `..._total` too.
 * vLLM also labels `engine`; the simulator has a single engine and labels only `model_name`.
 */
export function renderVllmMetrics(snapshot: MetricsSnapshot): string {
  const model = `model_name="${escapeLabelValue(snapshot.modelName)}"`;
  const { counters } = snapshot;
  let text = '';
  text += family('vllm:num_requests_running', 'gauge', 'Number of requests in model execution batches.');
  text += `vllm:num_requests_running{${model}} ${snapshot.running}\n`;
  text += family('vllm:num_requests_waiting', 'gauge', 'Number of requests waiting to be processed.');
  text += `vllm:num_requests_waiting{${model}} ${snapshot.waiting}\n`;
  text += family('vllm:kv_cache_usage_perc', 'gauge', 'KV-cache usage. 1 means 100 percent usage.');
  text += `vllm:kv_cache_usage_perc{${model}} ${snapshot.kvCacheUsage}\n`;
  text += family('vllm:prompt_tokens_total', 'counter', 'Number of prefill tokens processed.');
  text += `vllm:prompt_tokens_total{${model}} ${counters.promptTokens}\n`;
  text += family('vllm:generation_tokens_total', 'counter', 'Number of generation tokens processed.');
  text += `vllm:generation_tokens_total{${model}} ${counters.generationTokens}\n`;
  text += family('vllm:request_success_total', 'counter', 'Count of successfully processed requests.');
  for (const reason of ['stop', 'length', 'abort'] as const) {
    text += `vllm:request_success_total{${model},finished_reason="${reason}"} ${counters.finished[reason]}\n`;
  }
  return text;
}

function family(name: string, type: 'gauge' | 'counter', help: string): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
}

/** Label values escape backslash, double quote and newline (Prometheus text format). */
function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : '\\' + c));
}
