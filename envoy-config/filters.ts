/**
 * The HTTP filters of the generated bootstrap, configured exactly as the dev gateway drives them
 * (dev-gateway/server.ts DEFAULT_FILTER and ENDPOINT_PICKER_FILTER are the one source of those
 * settings): our ext_proc filter at router level and, per attempt, as an upstream filter; the endpoint
 * picker's ext_proc filter per InferencePool. Field meanings: api/envoy/extensions/filters/http/ext_proc/
 * v3/{ext_proc,processing_mode}.proto in envoyproxy/envoy.
 */

import type { FilterConfig, MetadataOptions } from '../dev-gateway/filter-run.ts';
import { DEFAULT_FILTER, ENDPOINT_PICKER_FILTER, METADATA_OPTIONS } from '../dev-gateway/server.ts';
import { DESTINATION_ENDPOINT_HEADER } from '../endpoint-picker/protocol.ts';
import { FILTER_METADATA_KEY, type FilterLevel } from '../ext-proc/headers.ts';
import { duration, type JsonObject, TYPES, typed } from './proto-json.ts';

export const EXT_PROC_CLUSTER = 'agent-router/ext-proc';
// Names follow Envoy Gateway's "<filter>/<owner>" style; Envoy finds the factory by the @type.
export const ROUTER_FILTER = 'envoy.filters.http.ext_proc/agent-router';
export const UPSTREAM_FILTER = 'envoy.filters.http.ext_proc/agent-router-upstream';

export function endpointPickerFilterName(poolId: string): string {
  return `envoy.filters.http.ext_proc/endpoint-picker/${poolId}`;
}

export function endpointPickerClusterName(poolId: string): string {
  return `endpoint-picker/${poolId}`;
}

function statPrefix(text: string): string {
  return text.replace(/[^A-Za-z0-9_]/g, '_');
}

function processingMode(config: Pick<FilterConfig, 'requestBodyMode' | 'responseBodyMode'>): JsonObject {
  return {
    request_header_mode: 'SEND',
    response_header_mode: 'SEND',
    request_body_mode: config.requestBodyMode,
    response_body_mode: config.responseBodyMode,
    // processing_mode.proto: with FULL_DUPLEX_STREAMED "the corresponding trailer mode has to be set to SEND".
    request_trailer_mode: config.requestBodyMode === 'FULL_DUPLEX_STREAMED' ? 'SEND' : 'SKIP',
    response_trailer_mode: config.responseBodyMode === 'FULL_DUPLEX_STREAMED' ? 'SEND' : 'SKIP',
  };
}

/**
 * ExternalProcessor.metadata_options from the dev gateway's table. Envoy writes only listed receiving
 * namespaces and none when the list is empty (ext_proc.cc Filter::setDynamicMetadata), so each filter
 * that emits metadata must name what it emits.
 */
function metadataOptions(options: MetadataOptions): JsonObject {
  const out: JsonObject = {};
  if (options.forwardingNamespaces.length > 0)
    out.forwarding_namespaces = { untyped: [...options.forwardingNamespaces] };
  if (options.receivingNamespaces.length > 0)
    out.receiving_namespaces = { untyped: [...options.receivingNamespaces] };
  return out;
}

/** Our ext_proc filter; ext-proc tells the two levels apart by the gRPC initial metadata. */
export function agentRouterFilter(level: FilterLevel): JsonObject {
  return {
    name: level === 'router' ? ROUTER_FILTER : UPSTREAM_FILTER,
    typed_config: typed(TYPES.extProc, {
      grpc_service: {
        envoy_grpc: { cluster_name: EXT_PROC_CLUSTER },
        initial_metadata: [{ key: FILTER_METADATA_KEY, value: level }],
      },
      // A request ext-proc has not authenticated and routed must not reach a provider.
      failure_mode_allow: false,
      processing_mode: processingMode(DEFAULT_FILTER),
      // ext-proc asks for BUFFERED bodies per request through mode_override (ext-proc/stream.ts).
      allow_mode_override: DEFAULT_FILTER.allowModeOverride,
      message_timeout: duration(DEFAULT_FILTER.messageTimeoutMs),
      // The router filter writes its decision as dynamic metadata and the per-attempt filter reads it
      // (with the picker's scores): upstream filters share one header map across attempts, so headers
      // cannot carry it reliably.
      metadata_options: metadataOptions(METADATA_OPTIONS[level]),
      stat_prefix: level === 'router' ? 'agent_router' : 'agent_router_upstream',
    }),
  };
}

export interface EndpointPickerTarget {
  poolId: string;
  failureMode: 'FailOpen' | 'FailClose';
}

/**
 * The endpoint picker's filter for one pool. It sits in every request's filter chain (the route is only
 * known after our router-level filter has set the target header), is disabled for the virtual host and
 * re-enabled on the routes whose first choice is this pool (see routes.ts).
 */
export function endpointPickerFilter(target: EndpointPickerTarget): JsonObject {
  return {
    name: endpointPickerFilterName(target.poolId),
    typed_config: typed(TYPES.extProc, {
      grpc_service: { envoy_grpc: { cluster_name: endpointPickerClusterName(target.poolId) } },
      // InferencePool endpointPickerRef.failureMode; failing open leaves the pick to the pool
      // cluster's fallback load balancer.
      failure_mode_allow: target.failureMode === 'FailOpen',
      processing_mode: processingMode(ENDPOINT_PICKER_FILTER),
      allow_mode_override: ENDPOINT_PICKER_FILTER.allowModeOverride,
      message_timeout: duration(ENDPOINT_PICKER_FILTER.messageTimeoutMs),
      // The picker writes its destination (envoy.lb) and scores, and learns which endpoint served from
      // envoy.lb metadata on the response (GIE endpoint-picker protocol); override_host writes that.
      metadata_options: metadataOptions(METADATA_OPTIONS.picker),
      stat_prefix: statPrefix(`endpoint_picker_${target.poolId}`),
    }),
  };
}

/** ExtProcPerRoute turning a picker filter off (virtual host) or back on (its pool's routes). */
export function endpointPickerPerRoute(enabled: boolean): JsonObject {
  return enabled
    ? typed(TYPES.extProcPerRoute, { overrides: { processing_mode: processingMode(ENDPOINT_PICKER_FILTER) } })
    : typed(TYPES.extProcPerRoute, { disabled: true });
}

/**
 * Drops a client-sent destination header before any filter runs: the pool clusters' override_host
 * policy trusts that header, and only the endpoint picker may set it.
 */
export function destinationHeaderScrubber(): JsonObject {
  return {
    name: 'envoy.filters.http.header_mutation',
    typed_config: typed(TYPES.headerMutation, {
      mutations: { request_mutations: [{ remove: DESTINATION_ENDPOINT_HEADER }] },
    }),
  };
}

export function routerFilter(): JsonObject {
  return { name: 'envoy.filters.http.router', typed_config: typed(TYPES.router) };
}

/** Upstream filters of a route cluster: our per-attempt filter, then the mandatory codec filter last. */
export function upstreamFilters(): JsonObject[] {
  return [
    agentRouterFilter('upstream'),
    { name: 'envoy.filters.http.upstream_codec', typed_config: typed(TYPES.upstreamCodec) },
  ];
}
