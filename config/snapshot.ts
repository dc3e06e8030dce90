/**
 * The compiled configuration: immutable plain maps and arrays, built once per change by compile.ts and
 * only read while serving. Swapping snapshots is one assignment (see store.ts).
 */

import type { Credential } from './credentials.ts';
import type { InferencePoolManifest, PodManifest, Provider, RetryOn } from './manifests.ts';
import type { CompiledMcpRoute, CompiledMcpServer } from './mcp.ts';

export interface CompiledStringMatch {
  name: string;
  exact?: string;
  regex?: RegExp;
}

export interface CompiledMatch {
  /** Header names lower-cased, as HTTP/2 and Envoy present them. */
  headers: readonly CompiledStringMatch[];
  attributes: readonly CompiledStringMatch[];
  /** Canonical text of the condition; entries with the same condition back each other up. */
  signature: string;
}

export interface CompiledBackend {
  id: string;
  /** Absent for a ProviderBackend. */
  kind?: 'ProviderBackend' | 'InferencePool';
  provider: Provider;
  /** e.g. "https://api.openai.com" — the cluster the gateway connects to; "" for an InferencePool (per-request pod). */
  origin: string;
  /** Path prefix from the base URL, without a trailing slash, e.g. "/v1". */
  basePath: string;
  region?: string;
  apiVersion?: string;
  project?: string;
  credential?: Credential;
  defaults: { maxTokens?: number };
  /** False: streams are sent without asking for usage (ProviderBackend spec.streamUsage). */
  streamUsage?: false;
  /** US dollars per token by provider model id (ProviderBackend spec.pricing, divided once). */
  prices?: ReadonlyMap<string, TokenPrice>;
}

export interface TokenPrice {
  input: number;
  output: number;
  cachedInput: number;
}

export interface CompiledEntry {
  /** "<namespace>/<routeconfig>/<entry>": the value of the target header. */
  id: string;
  name: string;
  routeConfigId: string;
  model: string;
  backend: CompiledBackend;
  /** The provider model id sent upstream; the logical model when no override is set. */
  resolvedModel: string;
  weight: number;
  priority: number;
  match?: CompiledMatch;
  /** Marked as the variant the others of its split are compared with (experiments); no effect on routing. */
  baseline?: true;
  /** Seed for sticky-session hashing, derived from the id once. */
  stickySeed: number;
  /** Attempt order when this entry is chosen: itself first, then its fallbacks. */
  fallbackChain: readonly CompiledEntry[];
}

export interface CompiledSplit {
  entries: readonly CompiledEntry[];
  /** Cumulative weights, for weighted random choice without a session key. */
  cumulative: readonly number[];
  total: number;
}

export interface CompiledModel {
  name: string;
  policy: readonly CompiledEntry[];
  split?: CompiledSplit;
}

export interface FallbackPolicy {
  attempts: number;
  retryOn: ReadonlySet<RetryOn>;
  perAttemptTimeoutMs: number;
}

export interface CompiledRouteConfig {
  id: string;
  active: boolean;
  defaultForKeyless: boolean;
  sessionHeader: string;
  models: ReadonlyMap<string, CompiledModel>;
  /** Sorted logical model names, for GET /v1/models. */
  modelNames: readonly string[];
  entries: ReadonlyMap<string, CompiledEntry>;
  fallback: FallbackPolicy;
  /** The MCP servers this RouteConfig exposes (spec.mcp), if any. */
  mcp?: CompiledMcpRoute;
}

export interface CompiledKey {
  /** "<namespace>/<name>" of the APIKey: safe to log, unlike the key. */
  id: string;
  /** SHA-256 of the key material; the key itself is never kept. */
  hash: Buffer;
  /** The same digest as hex: what keysByHash is keyed by and requests are compared with. */
  hashHex: string;
  routeConfig: CompiledRouteConfig;
  attributes: Readonly<Record<string, string>>;
  disabled: boolean;
  /** Bring-your-own-key: backend id → the caller's own credential for it. */
  providerCredentials: ReadonlyMap<string, Credential>;
}

export interface Snapshot {
  version: number;
  /** SHA-256 hex of the key → key. */
  keysByHash: ReadonlyMap<string, CompiledKey>;
  /** APIKey id → key, for the per-attempt phase's bring-your-own-key lookup. */
  keysById: ReadonlyMap<string, CompiledKey>;
  keylessRouteConfig?: CompiledRouteConfig;
  routeConfigs: ReadonlyMap<string, CompiledRouteConfig>;
  /** Every route entry by id, for the per-attempt (upstream) phase. */
  entries: ReadonlyMap<string, CompiledEntry>;
  backends: ReadonlyMap<string, CompiledBackend>;
  /** MCPServer id → server. */
  mcpServers?: ReadonlyMap<string, CompiledMcpServer>;
  inferencePools: readonly InferencePoolManifest[];
  pods: readonly PodManifest[];
}
