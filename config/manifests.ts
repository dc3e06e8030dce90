/**
 * The manifests agent-router reads, as plain data: the same objects in file mode and from Kubernetes.
 * Field names follow the CRDs (`agentrouter.dev/v1alpha1`) and Kubernetes core (Secret, Pod) and the
 * Gateway API Inference Extension (InferencePool, `inference.networking.k8s.io/v1`).
 */
import type { MCPServerManifest, RouteMcpSpec } from './mcp.ts';

export const AGENT_ROUTER_API = 'agentrouter.dev/v1alpha1';
export const INFERENCE_API = 'inference.networking.k8s.io/v1';

export interface ObjectMeta {
  name: string;
  namespace: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/**
 * Annotation on a ProviderBackend whose baseURL is on loopback: the local stack (`agent-router sim`,
 * `npm start`) serves it with a simulated model server. Its value is the simulator's seed.
 */
export const SIMULATED_ANNOTATION = 'agentrouter.dev/simulated';

export interface Manifest<Kind extends string, Spec> {
  apiVersion: string;
  kind: Kind;
  metadata: ObjectMeta;
  spec: Spec;
}

export interface LocalRef {
  name: string;
}

export interface SecretKeyRef {
  name: string;
  /** Key inside the Secret's data; defaults per use (`api-key`). */
  key?: string;
}

export type StringMatchType = 'Exact' | 'RegularExpression';

export interface HeaderMatch {
  name: string;
  type?: StringMatchType;
  value: string;
}

export interface AttributeMatch {
  name: string;
  type?: StringMatchType;
  value: string;
}

export interface RouteMatch {
  headers?: HeaderMatch[];
  attributes?: AttributeMatch[];
}

export interface RouteEntrySpec {
  name: string;
  model: string;
  backendRef: { name: string; kind?: 'ProviderBackend' | 'InferencePool' };
  modelNameOverride?: string;
  weight?: number;
  priority?: number;
  match?: RouteMatch;
  /** The variant the others of the model's split are compared with in experiments; at most one per model. */
  baseline?: boolean;
}

export type RetryOn = 'connect-failure' | '5xx' | '429' | 'timeout';

export interface FallbackSpec {
  attempts?: number;
  retryOn?: RetryOn[];
  perAttemptTimeout?: string;
}

/**
 * How far the candidate of a rollout may be worse than the baseline before the rollout rolls back: in
 * percentage points for the error rate, in percent of the baseline's value for the others.
 */
export interface RolloutGates {
  errorRate?: number;
  ttftP90?: number;
  latencyP90?: number;
  costPerRequest?: number;
}

/**
 * An automated canary of one logical model whose split has two variants (rollout/): the candidate's
 * weight goes through `steps` (percent), each held at least `stepDuration` and until both variants have
 * `minRequests` requests in the step, while the gates hold; a breached gate sets it back to 0 at once.
 */
export interface RolloutSpec {
  model: string;
  steps: number[];
  /** A duration like 30s, 10m or 1h; default 10m. */
  stepDuration?: string;
  /** Requests per variant within a step before it may advance; default 100. */
  minRequests?: number;
  gates: RolloutGates;
  /** Holds the rollout where it is (no step, no rollback) until set false again. */
  paused?: boolean;
}

export interface RouteConfigSpec {
  active?: boolean;
  /** Serves requests that carry no gateway key. At most one active RouteConfig may say so. */
  defaultForKeyless?: boolean;
  sessionHeader?: string;
  routes: RouteEntrySpec[];
  fallback?: FallbackSpec;
  rollouts?: RolloutSpec[];
  /** MCP servers exposed to this RouteConfig's keys (config/mcp.ts). */
  mcp?: RouteMcpSpec;
}

export const PROVIDERS = [
  'OpenAI',
  'OpenAICompatible',
  'AzureOpenAI',
  'Anthropic',
  'Gemini',
  'VertexAI',
  'VertexAnthropic',
  'Bedrock',
  'Mistral',
] as const;
export type Provider = (typeof PROVIDERS)[number];

export interface ProviderBackendSpec {
  provider: Provider;
  baseURL?: string;
  region?: string;
  apiVersion?: string;
  /** Google Cloud project (Vertex AI); defaults to the service account's project. */
  project?: string;
  credentials?: { type?: 'APIKey' | 'AWSAccessKey' | 'GCPServiceAccount'; secretRef: SecretKeyRef };
  defaults?: { maxTokens?: number };
  /**
   * Ask the provider for token usage on every stream (OpenAI `stream_options.include_usage`), so the
   * request log and token metrics have it; default true. Off for a server that refuses the field.
   */
  streamUsage?: boolean;
  /** Prices per model, in US dollars per million tokens: the request records' cost. */
  pricing?: ModelPrice[];
}

export interface ModelPrice {
  /** The provider model id, as sent upstream (a route entry's modelNameOverride, or its model). */
  model: string;
  inputPerMillionTokens: number;
  outputPerMillionTokens: number;
  /** Prompt tokens served from the provider's cache; billed as input when unset. */
  cachedInputPerMillionTokens?: number;
}

export interface APIKeySpec {
  secretRef: SecretKeyRef;
  routeConfigRef: LocalRef;
  attributes?: Record<string, string>;
  providerCredentials?: { backendRef: LocalRef; secretRef: SecretKeyRef }[];
  disabled?: boolean;
}

export interface SecretManifest {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: ObjectMeta;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

export interface InferencePoolSpec {
  selector: { matchLabels: Record<string, string> };
  targetPorts: { number: number }[];
  endpointPickerRef?: { name: string; port?: { number: number }; failureMode?: 'FailOpen' | 'FailClose' };
}

export interface PodManifest {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: ObjectMeta;
  spec?: unknown;
  status?: { podIP?: string; phase?: string; conditions?: { type: string; status: string }[] };
}

export type RouteConfigManifest = Manifest<'RouteConfig', RouteConfigSpec>;
export type ProviderBackendManifest = Manifest<'ProviderBackend', ProviderBackendSpec>;
export type APIKeyManifest = Manifest<'APIKey', APIKeySpec>;
export type InferencePoolManifest = Manifest<'InferencePool', InferencePoolSpec>;

export type AnyManifest =
  | RouteConfigManifest
  | ProviderBackendManifest
  | APIKeyManifest
  | InferencePoolManifest
  | MCPServerManifest
  | SecretManifest
  | PodManifest;

/** Where a manifest came from, so every problem can name file, document and field path. */
export interface ManifestOrigin {
  source: string;
  document: number;
}

export interface LocatedManifest {
  manifest: AnyManifest;
  origin: ManifestOrigin;
}

export function objectKey(meta: ObjectMeta): string {
  return `${meta.namespace}/${meta.name}`;
}
