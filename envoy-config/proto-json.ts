/**
 * The shapes the generator writes: Envoy configuration in the protobuf JSON mapping (what `envoy -c`
 * reads as YAML or JSON), with snake_case field names, enums by name, Durations as "5s" and
 * `google.protobuf.Any` as an object carrying its `@type`.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export const TYPE_URL_PREFIX = 'type.googleapis.com/';

/** Fully qualified names of every message the generator packs into an Any. */
export const TYPES = {
  httpConnectionManager: 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  extProc: 'envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
  extProcPerRoute: 'envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute',
  headerMutation: 'envoy.extensions.filters.http.header_mutation.v3.HeaderMutation',
  router: 'envoy.extensions.filters.http.router.v3.Router',
  upstreamCodec: 'envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec',
  httpProtocolOptions: 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  upstreamTlsContext: 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  previousPriorities: 'envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig',
  overrideHost: 'envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost',
  roundRobin: 'envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin',
  stdoutAccessLog: 'envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
} as const;

/** An Any in the JSON mapping: the type URL plus the message's own fields. */
export function typed(typeName: string, fields: JsonObject = {}): JsonObject {
  return { '@type': `${TYPE_URL_PREFIX}${typeName}`, ...fields };
}

/** google.protobuf.Duration in the JSON mapping, e.g. 30000 → "30s", 250 → "0.25s". */
export function duration(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}
