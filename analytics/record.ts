/**
 * The request record: one plain value per request, written when the router-level filter finishes (all
 * attempts known). The stdout line, the metrics, the store row and the OpenTelemetry span all come from
 * this one value. It names the caller by APIKey id and the session by a keyed hash only: no key, no
 * credential and no raw session id ever enters a record.
 */

/** One try at one backend, in the order the gateway made them. */
export interface AttemptRecord {
  backend: string;
  /** HTTP status the backend answered; 0 when it never answered (connect failure, timeout). */
  status: number;
  errorCode?: string;
  /** The pod the endpoint picker chose for this attempt (`ip:port`), for InferencePool targets. */
  endpoint?: string;
  /** Why the endpoint picker chose that pod (endpoint-picker/scheduling/explain.ts). */
  picker?: PickerChoice;
  /** When the attempt started and ended, epoch milliseconds (ended: its response headers arrived). */
  startMs?: number;
  endMs?: number;
}

export interface PickerChoice {
  /** The weighted sum the picker ranked the candidates by. */
  total: number;
  /** Each scorer's score of the pod, unweighted (0–1). */
  scores: Record<string, number>;
  /** The profile's weight of each scorer. */
  weights: Record<string, number>;
}

export interface TokenCounts {
  prompt: number;
  completion: number;
  /** Prompt tokens served from the provider's prompt cache (a subset of `prompt`). */
  cached?: number;
  /** Completion tokens spent on reasoning (a subset of `completion`). */
  reasoning?: number;
}

export interface RequestRecord {
  /** The request id (x-request-id): unique per request. */
  id: string;
  /** When the request's headers reached the router, epoch milliseconds. */
  time: number;
  keyId?: string;
  method?: string;
  /** `:path` without its query (a query may carry what must not be logged). */
  path?: string;
  /** What the path asks for: chat.completions, completions, embeddings. */
  operation?: string;
  routeConfig?: string;
  routeEntry?: string;
  /** How the entry was chosen (ext-proc/router/route.ts DecisionReason): policy, sticky-split, weighted-split. */
  decision?: string;
  logicalModel?: string;
  resolvedModel?: string;
  /**
   * The model the provider says answered (the response's `model`), when it names one: often a dated
   * snapshot of the resolved model ("gpt-4o" answered by "gpt-4o-2024-08-06"). Log line and OTel only.
   */
  responseModel?: string;
  backend?: string;
  provider?: string;
  /** The pod the endpoint picker chose (`ip:port`), for InferencePool targets. */
  endpoint?: string;
  attempts: AttemptRecord[];
  /** The status the client got; 499 when the client went away before the answer completed. */
  status: number;
  errorCode?: string;
  stream: boolean;
  cancelled: boolean;
  latencyMs: number;
  /** Time to the first response body byte. */
  ttftMs?: number;
  /** Streams only: (latency − TTFT) / (completion tokens − 1), when there is more than one token. */
  tpotMs?: number;
  tokens?: TokenCounts;
  /** In US dollars, from the prices declared on the ProviderBackend for the resolved model. */
  costUsd?: number;
  /** A keyed hash of the session key (hex); undefined when the request named no session. */
  sessionHash?: string;
  /**
   * The W3C trace context the request arrived in (`traceparent`, and `tracestate` if any), so the
   * request's span joins the caller's trace; see ext-proc/trace-context.ts for where it is read.
   * Log line and OTel only.
   */
  traceParent?: string;
  traceState?: string;
}
