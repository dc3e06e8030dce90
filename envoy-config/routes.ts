/**
 * The route configuration: one route per compiled route entry, matched on the target header our
 * router-level ext_proc phase sets (it clears the route cache, so Envoy matches again after it), and a
 * catch-all that answers like the dev gateway when no entry matches. Retry semantics follow
 * api/envoy/config/route/v3/route_components.proto (RetryPolicy) and Envoy's router: a per-try timeout
 * is retried under `reset`/`5xx`, and stops applying once response headers went downstream, as the dev
 * gateway's per-attempt timeout does.
 */
import type { FallbackPolicy } from '../config/snapshot.ts';
import type { GatewayRoute } from '../dev-gateway/route-table.ts';
import { AgentRouterError } from '../ext-proc/errors.ts';
import { ROUTE_HEADER } from '../ext-proc/headers.ts';
import { chainClusterName } from './clusters.ts';
import { endpointPickerFilterName, endpointPickerPerRoute } from './filters.ts';
import { duration, type JsonObject, TYPES, typed } from './proto-json.ts';

/** Envoy retry_on conditions for our RetryOn values (x-envoy-retry-on in Envoy's router docs). */
function retryConditions(retryOn: FallbackPolicy['retryOn']): string[] {
  const conditions = new Set<string>();
  if (retryOn.has('connect-failure')) conditions.add('connect-failure');
  // The dev gateway counts a reset as a 5xx.
  if (retryOn.has('5xx')) conditions.add('5xx').add('reset');
  if (retryOn.has('429')) conditions.add('retriable-status-codes');
  // Envoy has no condition for per-try timeouts alone; it retries them under `reset` (or `5xx`).
  if (retryOn.has('timeout')) conditions.add('reset');
  return [...conditions];
}

/**
 * Attempts never exceed the chain: ext-proc translates attempt n for chain[n - 1] (clamped to the last),
 * while Envoy's previous_priorities plugin would wrap around to priority 0 once every level was tried.
 */
export function retryPolicy(fallback: FallbackPolicy, chainLength: number): JsonObject {
  const attempts = Math.max(1, Math.min(fallback.attempts, chainLength));
  const policy: JsonObject = {
    retry_on: retryConditions(fallback.retryOn).join(','),
    num_retries: attempts - 1,
    per_try_timeout: duration(fallback.perAttemptTimeoutMs),
  };
  if (fallback.retryOn.has('429')) policy.retriable_status_codes = [429];
  if (attempts > 1) {
    policy.retry_priority = {
      name: 'envoy.retry_priorities.previous_priorities',
      // update_frequency 1: every retry excludes the level just tried, so attempt n lands on priority n - 1.
      typed_config: typed(TYPES.previousPriorities, { update_frequency: 1 }),
    };
  }
  return policy;
}

function entryRoute(id: string, route: GatewayRoute, pickerPools: ReadonlySet<string>): JsonObject {
  const entry: JsonObject = {
    name: id,
    match: { prefix: '/', headers: [{ name: ROUTE_HEADER, string_match: { exact: id } }] },
    route: {
      cluster: chainClusterName(route.clusters),
      auto_host_rewrite: true,
      // Envoy's default 15 s route timeout would cut long generations; attempts have per_try_timeout.
      timeout: '0s',
      retry_policy: retryPolicy(route.retry, route.clusters.length),
    },
  };
  // The dev gateway consults the picker when the chain's first choice is a pool; so does this route.
  const primaryPool = route.clusters[0]?.pool?.id;
  if (primaryPool !== undefined && pickerPools.has(primaryPool)) {
    entry.typed_per_filter_config = {
      [endpointPickerFilterName(primaryPool)]: endpointPickerPerRoute(true),
    };
  }
  return entry;
}

function notFoundRoute(): JsonObject {
  const error = new AgentRouterError(
    404,
    'invalid_request_error',
    'route_not_found',
    'No route matches this request.',
  );
  return {
    name: 'no-route',
    match: { prefix: '/' },
    direct_response: { status: error.status, body: { inline_string: JSON.stringify(error.toBody()) } },
    response_headers_to_add: [
      {
        header: { key: 'content-type', value: 'application/json' },
        append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
      },
    ],
  };
}

export interface RouteConfigurationOptions {
  /** Route entry id → its chain and retry policy (dev-gateway/route-table.ts). */
  table: ReadonlyMap<string, GatewayRoute>;
  /** Pools that have an endpoint-picker filter in the chain. */
  pickerPools: ReadonlySet<string>;
  bufferLimitBytes: number;
}

export function routeConfiguration(options: RouteConfigurationOptions): JsonObject {
  const routes = [...options.table].map(([id, route]) => entryRoute(id, route, options.pickerPools));
  routes.push(notFoundRoute());
  const virtualHost: JsonObject = {
    name: 'agent-router',
    domains: ['*'],
    // x-envoy-attempt-count on each attempt's request: the per-attempt phase picks its candidate by it.
    include_request_attempt_count: true,
    // Retries replay the buffered request body; Envoy stops retrying once a body exceeds this.
    per_request_buffer_limit_bytes: options.bufferLimitBytes,
    routes,
  };
  if (options.pickerPools.size > 0) {
    virtualHost.typed_per_filter_config = Object.fromEntries(
      [...options.pickerPools].map((pool) => [endpointPickerFilterName(pool), endpointPickerPerRoute(false)]),
    );
  }
  return { name: 'agent-router', virtual_hosts: [virtualHost] };
}
