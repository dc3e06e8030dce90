// biome-ignore-all lint/suspicious/noExplicitAny: rendered manifests and xDS resources are open-ended JSON.
/**
 * The xDS Envoy Gateway generates for the chart's rendered Gateway, HTTPRoutes, BackendTrafficPolicies
 * and EnvoyExtensionPolicy, as its translator names and shapes it (envoyproxy/gateway v1.9,
 * internal/xds/translator: listener.go, route.go buildRetryPolicy, extproc.go; the golden outputs under
 * testdata/out/xds-ir), in the proto-name JSON mapping EnvoyPatchPolicy operates on:
 *
 * - names, scheme v1 (the default through v1.9): listener, its HTTP filter chain and the
 *   RouteConfiguration are all `<gateway ns>/<gateway>/<listener>`;
 * - names, scheme v2 (runtime flag XDSNameSchemeV2, the default from v1.10): listener `tcp-<port>`, an
 *   HTTP listener's filter chain and RouteConfiguration `http-<port>` (the Gateway listener's port); an
 *   HTTPS listener's filter chain and RouteConfiguration keep `<ns>/<gateway>/<listener>`;
 * - an HTTP listener's connection manager is in `default_filter_chain`, an HTTPS listener's in
 *   `filter_chains[]` (one per listener, matched on SNI); a connection-limit ClientTrafficPolicy puts
 *   `envoy.filters.network.connection_limit` in front of it;
 * - HTTP filters: one ext_proc filter per EnvoyExtensionPolicy, named
 *   `envoy.filters.http.ext_proc/envoyextensionpolicy/<ns>/<name>/extproc/<i>`, then the router, last;
 * - routes: one per HTTPRoute rule match, header matches sorted ahead of bare prefixes, a retry policy
 *   from the BackendTrafficPolicy (retry_on from the triggers, previous_hosts, previous_priorities when
 *   numAttemptsPerPriority is set).
 *
 * Not modelled (they do not change what the chart's patches address): per-route enablement of the
 * policy filter through typed_per_filter_config (EG writes an empty Any there), access logs, secrets.
 */
import type { K8sObject } from './render.ts';

export type XdsNameScheme = 'v1' | 'v2';

const HCM = 'envoy.filters.network.http_connection_manager';
const TYPE = 'type.googleapis.com/';

export interface EgXds {
  listeners: any[];
  routeConfigurations: any[];
  clusters: any[];
  /** The names the chart has to patch. */
  listenerName: string;
  routeConfigName: string;
}

/** Envoy Gateway maps privileged Gateway ports to 10000+port inside the proxy. */
const containerPort = (port: number) => (port < 1024 ? port + 10000 : port);

function extProcFilters(policies: K8sObject[]): any[] {
  return policies.flatMap((policy) =>
    (policy.spec.extProc ?? []).map((ep: any, i: number) => {
      const id = `envoyextensionpolicy/${policy.metadata.namespace}/${policy.metadata.name}`;
      const mode = ep.processingMode ?? {};
      const config: any = {
        '@type': `${TYPE}envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor`,
        grpc_service: {
          envoy_grpc: {
            cluster_name: `${id}/${i}/${ep.backendRefs[0].name}`,
            authority: `${ep.backendRefs[0].name}.${policy.metadata.namespace}`,
          },
          timeout: '10s',
        },
        processing_mode: {
          request_header_mode: mode.request ? 'SEND' : 'SKIP',
          response_header_mode: mode.response ? 'SEND' : 'SKIP',
          request_trailer_mode: 'SKIP',
          response_trailer_mode: 'SKIP',
        },
      };
      if (ep.failOpen) config.failure_mode_allow = true;
      if (ep.messageTimeout) config.message_timeout = ep.messageTimeout;
      if (mode.allowModeOverride) config.allow_mode_override = true;
      if (ep.metadata?.writableNamespaces)
        config.metadata_options = { receiving_namespaces: { untyped: ep.metadata.writableNamespaces } };
      return { name: `envoy.filters.http.ext_proc/${id}/extproc/${i}`, typed_config: config };
    }),
  );
}

function retryPolicy(retry: any): any {
  const policy: any = {
    retry_on: (retry.retryOn?.triggers ?? []).join(','),
    retriable_status_codes: retry.retryOn?.httpStatusCodes ?? [],
    num_retries: retry.numRetries ?? 2,
    retry_host_predicate: [
      {
        name: 'envoy.retry_host_predicates.previous_hosts',
        typed_config: {
          '@type': `${TYPE}envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate`,
        },
      },
    ],
    host_selection_retry_max_attempts: '5',
  };
  if (retry.perRetry?.timeout) policy.per_try_timeout = retry.perRetry.timeout;
  if (retry.numAttemptsPerPriority > 0)
    policy.retry_priority = {
      name: 'envoy.retry_priorities.previous_priorities',
      typed_config: {
        '@type': `${TYPE}envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig`,
        update_frequency: retry.numAttemptsPerPriority,
      },
    };
  return policy;
}

function routesOf(objects: K8sObject[], gateway: K8sObject, listener: any, host: string): any[] {
  const btps = objects.filter((o) => o.kind === 'BackendTrafficPolicy');
  const filters = new Map(
    objects.filter((o) => o.kind === 'HTTPRouteFilter').map((f) => [f.metadata.name, f.spec]),
  );
  const hostLabel = host === '*' ? '*' : host.replaceAll('.', '_');
  const routes: any[] = [];
  for (const route of objects.filter((o) => o.kind === 'HTTPRoute')) {
    const attached = route.spec.parentRefs.some(
      (p: any) => p.name === gateway.metadata.name && (!p.sectionName || p.sectionName === listener.name),
    );
    if (!attached) continue;
    route.spec.rules.forEach((rule: any, r: number) => {
      (rule.matches ?? [{ path: { type: 'PathPrefix', value: '/' } }]).forEach((m: any, i: number) => {
        const match: any = { prefix: m.path?.value ?? '/' };
        if (m.headers?.length)
          match.headers = m.headers.map((h: any) => ({ name: h.name, string_match: { exact: h.value } }));
        const id = `httproute/${route.metadata.namespace}/${route.metadata.name}/rule/${r}`;
        const out: any = { name: `${id}/match/${i}/${hostLabel}`, match };
        const specs = (rule.filters ?? [])
          .filter((f: any) => f.type === 'ExtensionRef')
          .map((f: any) => filters.get(f.extensionRef.name));
        const direct = specs.find((s: any) => s?.directResponse)?.directResponse;
        if (direct) {
          out.direct_response = { status: direct.statusCode, body: { inline_string: direct.body.inline } };
        } else {
          out.route = { cluster: id, upgrade_configs: [{ upgrade_type: 'websocket' }] };
          if (specs.some((s: any) => s?.urlRewrite?.hostname?.type === 'Backend'))
            out.route.auto_host_rewrite = true;
          const btp = btps.find((b) =>
            b.spec.targetRefs.some((t: any) => t.kind === 'HTTPRoute' && t.name === route.metadata.name),
          );
          if (btp?.spec.retry) out.route.retry_policy = retryPolicy(btp.spec.retry);
        }
        routes.push(out);
      });
    });
  }
  return routes.sort((a, b) => (b.match.headers?.length ?? 0) - (a.match.headers?.length ?? 0));
}

function connectionManager(routeConfigName: string, port: number, httpFilters: any[]): any {
  return {
    name: HCM,
    typed_config: {
      '@type': `${TYPE}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
      stat_prefix: `http-${port}`,
      common_http_protocol_options: { headers_with_underscores_action: 'REJECT_REQUEST' },
      rds: {
        config_source: { ads: {}, resource_api_version: 'V3', initial_fetch_timeout: '0s' },
        route_config_name: routeConfigName,
      },
      http_filters: httpFilters,
      use_remote_address: true,
      normalize_path: true,
      merge_slashes: true,
      path_with_escaped_slashes_action: 'UNESCAPE_AND_REDIRECT',
    },
  };
}

/**
 * The Envoy Gateway xDS for the rendered Gateway's first listener (HTTP or HTTPS as rendered), in the
 * given scheme, optionally with a connection-limit ClientTrafficPolicy in force.
 */
export function egXds(objects: K8sObject[], scheme: XdsNameScheme, connectionLimit = false): EgXds {
  const gateway = objects.find((o) => o.kind === 'Gateway');
  if (!gateway) throw new Error('no Gateway rendered');
  const listener = gateway.spec.listeners[0];
  const legacy = `${gateway.metadata.namespace}/${gateway.metadata.name}/${listener.name}`;
  const tls = listener.protocol === 'HTTPS';
  const listenerName = scheme === 'v2' ? `tcp-${listener.port}` : legacy;
  const routeConfigName = scheme === 'v2' && !tls ? `http-${listener.port}` : legacy;
  const policies = objects.filter(
    (o) =>
      o.kind === 'EnvoyExtensionPolicy' &&
      o.spec.targetRefs.some((t: any) => t.kind === 'Gateway' && t.name === gateway.metadata.name),
  );
  const httpFilters = [
    ...extProcFilters(policies),
    {
      name: 'envoy.filters.http.router',
      typed_config: {
        '@type': `${TYPE}envoy.extensions.filters.http.router.v3.Router`,
        suppress_envoy_headers: true,
      },
    },
  ];
  const filters: any[] = [connectionManager(routeConfigName, listener.port, httpFilters)];
  if (connectionLimit)
    filters.unshift({
      name: 'envoy.filters.network.connection_limit',
      typed_config: {
        '@type': `${TYPE}envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit`,
        stat_prefix: `http-${listener.port}`,
        max_connections: '1000',
      },
    });
  const host = listener.hostname ?? '*';
  const chain: any = { name: routeConfigName, filters };
  const xdsListener: any = {
    name: listenerName,
    address: { socket_address: { address: '0.0.0.0', port_value: containerPort(listener.port) } },
    per_connection_buffer_limit_bytes: 32768,
    max_connections_to_accept_per_socket_event: 1,
  };
  if (tls) {
    if (host !== '*') chain.filter_chain_match = { server_names: [host] };
    xdsListener.filter_chains = [chain];
  } else xdsListener.default_filter_chain = chain;
  const routeConfiguration = {
    name: routeConfigName,
    ignore_port_in_host_matching: true,
    virtual_hosts: [
      {
        name: `${routeConfigName}/${host === '*' ? '*' : host.replaceAll('.', '_')}`,
        domains: [host],
        routes: routesOf(objects, gateway, listener, host),
      },
    ],
  };
  const clusters = routeConfiguration.virtual_hosts[0]!.routes.filter((r: any) => r.route).map((r: any) => ({
    name: r.route.cluster,
    type: 'EDS',
    connect_timeout: '10s',
    eds_cluster_config: {
      eds_config: { ads: {}, resource_api_version: 'V3' },
      service_name: r.route.cluster,
    },
  }));
  return {
    listeners: [xdsListener],
    routeConfigurations: [routeConfiguration],
    clusters,
    listenerName,
    routeConfigName,
  };
}

/** Every HTTP connection manager config in a listener, wherever its filter chain keeps it. */
export function connectionManagers(listener: any): any[] {
  const chains = [listener.default_filter_chain, ...(listener.filter_chains ?? [])].filter(Boolean);
  return chains.flatMap((c: any) =>
    c.filters.filter((f: any) => f.name === HCM).map((f: any) => f.typed_config),
  );
}
