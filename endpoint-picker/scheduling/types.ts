/**
 * The scheduling framework's vocabulary, after the Gateway API Inference Extension's (GIE) scheduler:
 * a *filter* narrows the candidate pods, a *scorer* rates each candidate in [0, 1], a *picker* chooses
 * from the weighted sum. Plugins are pure functions of (request, pods) except where they say otherwise
 * (the prefix index learns from every decision through `onPicked`). Nothing here does I/O.
 *
 * Deviations from the GIE Go interfaces, on purpose:
 * - `Scorer.score` writes into a caller-owned `Float64Array` (one row of the decision's score matrix)
 *   instead of returning a map, so a decision over 100 pods allocates no per-scorer objects.
 * - A filter that empties the candidate set decides the client's status through `shedWhenEmpty`
 *   (429, the request was shed) rather than the default 503 (no eligible pod).
 */

/** Latest metrics scraped from one model server (vLLM / SGLang / TensorRT-LLM names mapped by the scraper). */
export interface PodMetrics {
  /** Requests queued in the model server, not yet in a batch (vLLM `vllm:num_requests_waiting`). */
  readonly waitingQueueSize: number;
  /** Requests in the running batch (vLLM `vllm:num_requests_running`). */
  readonly runningRequests: number;
  /** KV-cache usage, 0..1 (vLLM `vllm:kv_cache_usage_perc`, where 1 means 100 percent). */
  readonly kvCacheUsage: number;
  /** LoRA adapters loaded and serving (vLLM `vllm:lora_requests_info` running_lora_adapters). */
  readonly activeLoras: readonly string[];
  /** LoRA adapters with requests waiting for them to be loaded (waiting_lora_adapters). */
  readonly waitingLoras: readonly string[];
  /** Adapter slots (vLLM `max_lora`); 0 when the server has no LoRA support. */
  readonly maxLoras: number;
  /** When these metrics were scraped (ms since the epoch). */
  readonly updatedAtMs: number;
}

export interface PodState {
  /** `namespace/name`, the pod's identity across restarts of the picker (session tokens encode it). */
  readonly name: string;
  /** `ip:port`, what the gateway routes to (`x-gateway-destination-endpoint`). */
  readonly address: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Undefined until the first successful scrape. */
  readonly metrics: PodMetrics | undefined;
  /** Metrics too old to trust, or the last scrapes failed. */
  readonly stale: boolean;
}

export interface SchedulingRequest {
  readonly requestId: string;
  /** Target model or LoRA adapter name (after the gateway's model rewrite). */
  readonly model: string;
  /** Text used for prefix matching: the prompt, or a chat request's messages concatenated. */
  readonly prompt: string;
  /** Affinity token the client sent back (see scorers/session-affinity.ts); read from headers when absent. */
  readonly sessionToken?: string | undefined;
  /**
   * GIE InferenceObjective priority: higher is more important, default 0, negative means sheddable
   * ("Negative values … designate requests as sheddable (safe to drop under heavy load)",
   * GIE site-src/concepts/priority-and-capacity.md).
   */
  readonly priority: number;
  /**
   * Addresses (`ip:port`) the gateway allows, from the `envoy.lb.subset_hint` metadata key
   * `x-gateway-destination-endpoint-subset` (GIE docs/proposals/004-endpoint-picker-protocol).
   * Undefined when the gateway sent no hint; an empty list means nothing is allowed (503).
   */
  readonly subset?: ReadonlySet<string> | readonly string[] | undefined;
  /** Request headers, lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
}

export interface Filter {
  readonly name: string;
  /** The pods kept, in their input order; may return `pods` itself when nothing is removed. */
  filter(request: SchedulingRequest, pods: readonly PodState[]): readonly PodState[];
  /** An empty result sheds the request (429) instead of reporting no eligible pod (503). */
  readonly shedWhenEmpty?: boolean;
}

export interface Scorer {
  readonly name: string;
  /** Writes one score in [0, 1] per pod into `out[i]` (`out.length === pods.length`); higher is better. */
  score(request: SchedulingRequest, pods: readonly PodState[], out: Float64Array): void;
}

export interface Picker {
  readonly name: string;
  /** The chosen pods, primary first, then fallbacks; `totals[i]` is the weighted score of `pods[i]`. */
  pick(request: SchedulingRequest, pods: readonly PodState[], totals: Float64Array): readonly PodState[];
}

/** Implemented by stateful plugins that learn from decisions (GIE's PreRequest extension point). */
export interface PickObserver {
  onPicked(request: SchedulingRequest, pod: PodState): void;
}

/** Implemented by plugins that keep per-pod state, so the datastore can drop pods that left the pool. */
export interface PodForgetter {
  forgetPod(podName: string): void;
}

/** Scores behind a decision, kept as arrays and turned into a log record only by `explain`. */
export interface ScoreTable {
  /** Scorer names, in profile order. */
  readonly scorers: readonly string[];
  readonly weights: readonly number[];
  /** The candidates that survived the filters, in the order they were scored. */
  readonly pods: readonly PodState[];
  /** Scorer-major: the score of `pods[i]` by `scorers[s]` is `matrix[s * pods.length + i]`. */
  readonly matrix: Float64Array;
  /** Weighted sum per pod. */
  readonly totals: Float64Array;
}

export interface Picked {
  readonly kind: 'picked';
  readonly profile: string;
  /** `ip:port`, primary first, then fallbacks: the value of `x-gateway-destination-endpoint`, comma-joined. */
  readonly endpoints: readonly string[];
  /** Name (`namespace/name`) of the primary pod. */
  readonly primary: string;
  readonly scores: ScoreTable;
}

/**
 * The EPP must answer with an immediate response instead of an endpoint (GIE endpoint picker protocol,
 * docs/proposals/004-endpoint-picker-protocol): 503 when there is no eligible endpoint (including an
 * empty or fully ineligible subset hint), 429 when the request should be dropped (a sheddable request
 * while the servers are under heavy load).
 */
export interface Rejected {
  readonly kind: 'no-capacity' | 'shed';
  readonly status: 503 | 429;
  readonly profile: string;
  /** The filter that emptied the candidate set, or `pool` when there were no pods at all. */
  readonly stage: string;
  /** For the client and the log. */
  readonly message: string;
}

export type PickResult = Picked | Rejected;
