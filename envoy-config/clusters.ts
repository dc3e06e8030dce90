/**
 * Clusters of the generated bootstrap. A route entry's fallback chain is ONE cluster whose priority
 * levels are the chain's backends in order (priority 0 = first choice); the route's retry policy moves
 * each retry to the next level (routes.ts), which is the order the per-attempt ext_proc phase assumes
 * when it picks chain[attempt - 1] from `x-envoy-attempt-count`. A cluster that holds an InferencePool
 * balances with `envoy.load_balancing_policies.override_host`, reading the endpoint picker's
 * destination header, and falls back to round robin (which honours the priority levels) when the
 * header is absent or used up by earlier attempts.
 */
import { isIP } from 'node:net';
import type { Cluster as ChainMember } from '../dev-gateway/route-table.ts';
import {
  DESTINATION_ENDPOINT_HEADER,
  DESTINATION_METADATA_NAMESPACE,
  SERVED_ENDPOINT_KEY,
} from '../endpoint-picker/protocol.ts';
import { EXT_PROC_CLUSTER, upstreamFilters } from './filters.ts';
import { type JsonObject, TYPES, typed } from './proto-json.ts';

/** Where a gRPC service (ext-proc, an endpoint picker) listens. */
export type ServiceAddress = { host: string; port: number } | { socketPath: string };

export interface ClusterOptions {
  /** CA bundle for verifying providers' certificates. */
  caFile: string;
  /** Largest body an upstream filter buffers (a whole request or JSON response). */
  bufferLimitBytes: number;
}

/** "host:port", "[v6]:port" or "unix:/path" → ServiceAddress. */
export function parseServiceAddress(text: string): ServiceAddress {
  if (text.startsWith('unix:')) return { socketPath: text.slice('unix:'.length) };
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`"${text}" is not host:port or unix:/path`);
  return { host: (match[1] ?? match[2])!, port };
}

function socketAddress(host: string, port: number): JsonObject {
  return { socket_address: { address: host, port_value: port } };
}

/** "ip:port" as pool endpoints carry them (IPv6 unbracketed or bracketed). */
function splitEndpoint(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(address.slice(at + 1)) };
}

interface Origin {
  host: string;
  port: number;
  /** Host header value (`host[:port]`), used by the route's auto_host_rewrite. */
  authority: string;
  tls: boolean;
}

function parseOrigin(origin: string): Origin {
  const url = new URL(origin);
  const tls = url.protocol === 'https:';
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : tls ? 443 : 80,
    authority: url.host,
    tls,
  };
}

export function memberClusterName(member: ChainMember): string {
  return member.pool ? `pool/${member.id}` : `backend/${member.id}`;
}

export function chainClusterName(members: readonly ChainMember[]): string {
  return members.map(memberClusterName).join('|');
}

/**
 * Envoy's defaults (1024 requests, 3 concurrent retries per cluster) are sized for short RPCs; model
 * calls stay open for minutes and a provider outage turns every request into a retry.
 */
function circuitBreakers(limit: number): JsonObject {
  return {
    thresholds: [
      {
        priority: 'DEFAULT',
        max_connections: limit,
        max_pending_requests: limit,
        max_requests: limit,
        max_retries: limit,
      },
    ],
  };
}

const TRANSPORT_SOCKET_MATCH = 'envoy.transport_socket_match';

function tlsSocket(origin: Origin, caFile: string): JsonObject {
  const ip = isIP(origin.host) !== 0;
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: typed(TYPES.upstreamTlsContext, {
      // RFC 6066: SNI carries host names, never IP literals.
      ...(ip ? {} : { sni: origin.host }),
      common_tls_context: {
        alpn_protocols: ['http/1.1'],
        validation_context: {
          trusted_ca: { filename: caFile },
          match_typed_subject_alt_names: [
            { san_type: ip ? 'IP_ADDRESS' : 'DNS', matcher: { exact: origin.host } },
          ],
        },
      },
    }),
  };
}

function overrideHostPolicy(): JsonObject {
  return {
    policies: [
      {
        typed_extension_config: {
          name: 'envoy.load_balancing_policies.override_host',
          typed_config: typed(TYPES.overrideHost, {
            override_host_sources: [{ header: DESTINATION_ENDPOINT_HEADER }],
            // Tells the endpoint picker which endpoint served (GIE: envoy.lb / …-served).
            selected_host_key: { key: DESTINATION_METADATA_NAMESPACE, path: [{ key: SERVED_ENDPOINT_KEY }] },
            fallback_policy: {
              policies: [
                {
                  typed_extension_config: {
                    name: 'envoy.load_balancing_policies.round_robin',
                    typed_config: typed(TYPES.roundRobin),
                  },
                },
              ],
            },
          }),
        },
      },
    ],
  };
}

/** One cluster for a chain of backends (a single backend or pool is a chain of one). */
export function routeCluster(members: readonly ChainMember[], options: ClusterOptions): JsonObject {
  const name = chainClusterName(members);
  const origins = members.map((m) => (m.pool ? undefined : parseOrigin(m.origin)));
  const tlsOrigins = new Map<string, Origin>();
  members.forEach((m, i) => {
    if (origins[i]?.tls) tlsOrigins.set(m.id, origins[i]);
  });
  // One backend: the cluster's transport socket. Several: a socket per TLS backend, chosen by endpoint metadata.
  const perEndpointTls = tlsOrigins.size > 0 && members.length > 1;
  const endpoints = members.map((member, priority) => {
    const origin = origins[priority];
    const lbEndpoints = origin
      ? [
          {
            endpoint: { address: socketAddress(origin.host, origin.port), hostname: origin.authority },
            ...(perEndpointTls && origin.tls
              ? { metadata: { filter_metadata: { [TRANSPORT_SOCKET_MATCH]: { backend: member.id } } } }
              : {}),
          },
        ]
      : (member.pool?.endpoints ?? []).map((address) => {
          const { host, port } = splitEndpoint(address);
          return { endpoint: { address: socketAddress(host, port) } };
        });
    return { priority, lb_endpoints: lbEndpoints };
  });
  const dns = origins.some((o) => o !== undefined && isIP(o.host) === 0);
  const cluster: JsonObject = {
    name,
    type: dns ? 'STRICT_DNS' : 'STATIC',
    ...(dns ? { dns_lookup_family: 'V4_PREFERRED' } : {}),
    connect_timeout: '5s',
    per_connection_buffer_limit_bytes: options.bufferLimitBytes,
    circuit_breakers: circuitBreakers(65_536),
    ...(members.some((m) => m.pool) ? { load_balancing_policy: overrideHostPolicy() } : {}),
    load_assignment: { cluster_name: name, endpoints },
    typed_extension_protocol_options: {
      [TYPES.httpProtocolOptions]: typed(TYPES.httpProtocolOptions, {
        explicit_http_config: { http_protocol_options: {} },
        http_filters: upstreamFilters(),
      }),
    },
  };
  if (perEndpointTls) {
    cluster.transport_socket_matches = [...tlsOrigins].map(([id, origin]) => ({
      name: id,
      match: { backend: id },
      transport_socket: tlsSocket(origin, options.caFile),
    }));
  } else if (tlsOrigins.size === 1) {
    cluster.transport_socket = tlsSocket([...tlsOrigins.values()][0]!, options.caFile);
  }
  return cluster;
}

/** An HTTP/2 cluster for a gRPC service on TCP or a Unix socket (Envoy: a pipe address, STATIC only). */
export function grpcCluster(name: string, address: ServiceAddress): JsonObject {
  const endpointAddress =
    'socketPath' in address
      ? { pipe: { path: address.socketPath } }
      : socketAddress(address.host, address.port);
  const dns = !('socketPath' in address) && isIP(address.host) === 0;
  return {
    name,
    type: dns ? 'STRICT_DNS' : 'STATIC',
    ...(dns ? { dns_lookup_family: 'V4_PREFERRED' } : {}),
    connect_timeout: '1s',
    // Every request holds a stream to ext-proc per filter level and attempt for its whole duration.
    circuit_breakers: circuitBreakers(65_536),
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: endpointAddress } }] }],
    },
    typed_extension_protocol_options: {
      [TYPES.httpProtocolOptions]: typed(TYPES.httpProtocolOptions, {
        explicit_http_config: { http2_protocol_options: {} },
      }),
    },
  };
}

export function extProcCluster(address: ServiceAddress): JsonObject {
  return grpcCluster(EXT_PROC_CLUSTER, address);
}
