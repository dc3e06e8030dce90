/**
 * Compiled configuration → an Envoy bootstrap (static listeners and clusters) for running real Envoy
 * without Kubernetes, in front of `agent-router ext-proc` and one `agent-router endpoint-picker` per
 * InferencePool. It describes the same data plane the dev gateway plays (dev-gateway/server.ts): the
 * router-level and per-attempt ext_proc filters, routing on the target header, fallback chains as
 * priority levels with a previous-priorities retry, and the endpoint picker for pools.
 *
 * Verification: no Envoy binary runs where this was written, so the output has never been loaded by
 * Envoy. It is checked against Envoy's API protos (envoy-config/proto-check.ts: fields, types, enums,
 * oneofs, every Any's @type and a subset of the protoc-gen-validate rules). Not verifiable from protos,
 * and taken from Envoy's documentation and source instead:
 * - that the endpoint-picker filter, disabled for the virtual host, is re-enabled by the pool route's
 *   ExtProcPerRoute overrides after the route cache is cleared (ext_proc merges per-route config in
 *   decodeHeaders, which runs after our router-level filter);
 * - that every extension named is compiled into the Envoy build used (override_host is recent and its
 *   proto is an overlay here, see protos.ts);
 * - retry_on semantics (`reset` as the carrier of per-try timeouts) and auto_host_rewrite on retries;
 * - upstream HTTP filters (alpha in Envoy) run on the router's one request header map
 *   (UpstreamRequest::acceptHeadersFromRouter), so what the per-attempt phase sets or removes on
 *   attempt 1 is still so on attempt 2. The dev gateway gives each attempt a fresh copy; a fallback to
 *   another backend under real Envoy depends on ext-proc coping with that.
 */
import { poolView } from '../config/inference-pool.ts';
import type { Snapshot } from '../config/snapshot.ts';
import {
  buildRouteTable,
  type Cluster as ChainMember,
  type PoolCluster,
} from '../dev-gateway/route-table.ts';
import { BACKEND_HEADER, REQUEST_ID_HEADER, RESOLVED_MODEL_HEADER } from '../ext-proc/headers.ts';
import { DEFAULT_MAX_REQUEST_BODY_BYTES } from '../ext-proc/server.ts';
import {
  chainClusterName,
  extProcCluster,
  grpcCluster,
  routeCluster,
  type ServiceAddress,
} from './clusters.ts';
import {
  agentRouterFilter,
  destinationHeaderScrubber,
  endpointPickerClusterName,
  endpointPickerFilter,
  routerFilter,
} from './filters.ts';
import { type JsonObject, TYPES, typed } from './proto-json.ts';
import { routeConfiguration } from './routes.ts';

/** The endpoint picker's gRPC port by GIE convention (and `agent-router endpoint-picker`'s default). */
const DEFAULT_PICKER_PORT = 9002;

export interface EnvoyConfigOptions {
  listenAddress: string;
  listenPort: number;
  /** Envoy's admin interface; loopback only, it can stop the server. */
  adminPort: number;
  extProc: ServiceAddress;
  /** Pool id ("ns/name") → its endpoint picker; default 127.0.0.1 on the pool's endpointPickerRef port. */
  endpointPickers: ReadonlyMap<string, ServiceAddress>;
  /** CA bundle for verifying providers (Debian/Ubuntu path, as in the envoyproxy/envoy images). */
  caFile: string;
  /** Largest request body Envoy buffers for ext-proc and for retries; match ext-proc's --max-body. */
  maxRequestBodyBytes: number;
}

export const DEFAULT_ENVOY_CONFIG_OPTIONS: EnvoyConfigOptions = {
  listenAddress: '0.0.0.0',
  listenPort: 8080,
  adminPort: 9901,
  extProc: { host: '127.0.0.1', port: 50051 },
  endpointPickers: new Map(),
  caFile: '/etc/ssl/certs/ca-certificates.crt',
  maxRequestBodyBytes: DEFAULT_MAX_REQUEST_BODY_BYTES,
};

function accessLog(): JsonObject {
  return {
    name: 'envoy.access_loggers.stdout',
    typed_config: typed(TYPES.stdoutAccessLog, {
      log_format: {
        json_format: {
          start_time: '%START_TIME%',
          request_id: `%REQ(${REQUEST_ID_HEADER})%`,
          method: '%REQ(:METHOD)%',
          // Without the query, which may carry a credential (?key=…); ext-proc refuses such requests,
          // but Envoy logs every request (%PATH(X:Y)%, NQ: no query; Envoy docs, access log usage).
          path: '%PATH(NQ:PATH)%',
          status: '%RESPONSE_CODE%',
          response_flags: '%RESPONSE_FLAGS%',
          // The route name is the route entry id (the target header's value).
          route: '%ROUTE_NAME%',
          cluster: '%UPSTREAM_CLUSTER%',
          upstream_host: '%UPSTREAM_HOST%',
          attempts: '%UPSTREAM_REQUEST_ATTEMPT_COUNT%',
          backend: `%RESP(${BACKEND_HEADER})%`,
          resolved_model: `%RESP(${RESOLVED_MODEL_HEADER})%`,
          duration_ms: '%DURATION%',
          bytes_received: '%BYTES_RECEIVED%',
          bytes_sent: '%BYTES_SENT%',
        },
      },
    }),
  };
}

/** Where a pool's endpoint picker listens: as given, else loopback on its endpointPickerRef port. */
export function endpointPickerAddress(
  snapshot: Snapshot,
  options: Pick<EnvoyConfigOptions, 'endpointPickers'>,
  poolId: string,
): ServiceAddress {
  const ref = snapshot.inferencePools.find((p) => `${p.metadata.namespace}/${p.metadata.name}` === poolId)
    ?.spec.endpointPickerRef;
  return (
    options.endpointPickers.get(poolId) ?? {
      host: '127.0.0.1',
      port: ref?.port?.number ?? DEFAULT_PICKER_PORT,
    }
  );
}

function pools(snapshot: Snapshot): PoolCluster[] {
  const out: PoolCluster[] = [];
  for (const pool of snapshot.inferencePools) {
    const view = poolView(snapshot, `${pool.metadata.namespace}/${pool.metadata.name}`);
    if (view)
      out.push({
        id: view.id,
        failureMode: view.failureMode,
        endpoints: view.endpoints.map((e) => e.address),
      });
  }
  return out;
}

export function generateBootstrap(
  snapshot: Snapshot,
  overrides: Partial<EnvoyConfigOptions> = {},
): JsonObject {
  const options = { ...DEFAULT_ENVOY_CONFIG_OPTIONS, ...overrides };
  const table = buildRouteTable(snapshot);
  const poolClusters = pools(snapshot);
  const clusterOptions = { caFile: options.caFile, bufferLimitBytes: options.maxRequestBodyBytes };

  // Every pool has an endpoint picker, as in the local stack and the Helm chart.
  const pickerClusters = poolClusters.map((pool) =>
    grpcCluster(endpointPickerClusterName(pool.id), endpointPickerAddress(snapshot, options, pool.id)),
  );

  // Each backend and pool on its own (for single-entry chains and hand-written routes), then each chain.
  const members: (readonly ChainMember[])[] = [
    ...[...snapshot.backends.values()].map((b) => [{ id: b.id, origin: b.origin }]),
    ...poolClusters.map((pool) => [{ id: pool.id, origin: '', pool }]),
    ...[...table.values()].map((route) => route.clusters),
  ];
  const routeClusters = new Map<string, JsonObject>();
  for (const chain of members) {
    const name = chainClusterName(chain);
    if (!routeClusters.has(name)) routeClusters.set(name, routeCluster(chain, clusterOptions));
  }

  const httpFilters: JsonObject[] = [];
  if (poolClusters.length > 0) httpFilters.push(destinationHeaderScrubber());
  httpFilters.push(agentRouterFilter('router'));
  for (const pool of poolClusters)
    httpFilters.push(endpointPickerFilter({ poolId: pool.id, failureMode: pool.failureMode }));
  httpFilters.push(routerFilter());

  const connectionManager = typed(TYPES.httpConnectionManager, {
    stat_prefix: 'agent_router',
    codec_type: 'AUTO',
    // Envoy is the edge: it appends the client address and treats the client as external.
    use_remote_address: true,
    // ext-proc and the providers' logs correlate on the client's x-request-id when it sends one.
    preserve_external_request_id: true,
    always_set_request_id_in_response: true,
    access_log: [accessLog()],
    route_config: routeConfiguration({
      table,
      pickerPools: new Set(poolClusters.map((p) => p.id)),
      bufferLimitBytes: options.maxRequestBodyBytes,
    }),
    http_filters: httpFilters,
  });

  return {
    node: { id: 'agent-router', cluster: 'agent-router' },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: options.adminPort } } },
    static_resources: {
      listeners: [
        {
          name: 'agent-router',
          address: { socket_address: { address: options.listenAddress, port_value: options.listenPort } },
          // ext-proc reads whole request bodies (BUFFERED): Envoy must be able to hold them.
          per_connection_buffer_limit_bytes: options.maxRequestBodyBytes,
          filter_chains: [
            {
              filters: [
                { name: 'envoy.filters.network.http_connection_manager', typed_config: connectionManager },
              ],
            },
          ],
        },
      ],
      clusters: [extProcCluster(options.extProc), ...pickerClusters, ...routeClusters.values()],
    },
  };
}
