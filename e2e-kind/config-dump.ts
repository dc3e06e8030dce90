/**
 * What the kind suite must know about one Envoy proxy before it sends a request, read from Envoy's admin
 * output: did the Gateway's listener reach Envoy, did Envoy reject it, and does it carry agent-router's
 * filters and the clusters they call. Pure: the /config_dump JSON (envoy.admin.v3.ConfigDump in proto
 * JSON, snake_case) and the /stats text in, findings out.
 *
 * Shapes from envoy/admin/v3/config_dump_shared.proto: ListenersConfigDump.dynamic_listeners[] has
 * active_state / warming_state / draining_state (DynamicListenerState, the listener as an Any) and
 * error_state (UpdateFailureState: "set if the last update failed, cleared after the next successful
 * update", with `details`); ClustersConfigDump has static_clusters[], dynamic_active_clusters[] and
 * dynamic_warming_clusters[].
 */

const LISTENERS_DUMP = 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump';
const CLUSTERS_DUMP = 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump';
const HTTP_CONNECTION_MANAGER =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

type Json = Record<string, unknown>;

export interface UpstreamFilter {
  name: string;
  /** The cluster an ext_proc filter's envoy_grpc service names, when it has one. */
  grpcCluster?: string;
}

export interface ListenerSummary {
  name: string;
  port?: number;
  /** `active` once Envoy serves it; `warming` while it waits for its routes or clusters. */
  state: 'active' | 'warming' | 'draining' | 'none';
  /** Envoy's reason when it refused the last update of this listener. */
  rejected?: string;
  /** HTTP filters of every HTTP connection manager on the listener, in order. */
  httpFilters: string[];
  /** The router filters' upstream_http_filters (run once per upstream attempt). */
  upstreamFilters: UpstreamFilter[];
}

export interface Expectations {
  /** Name of the per-attempt ext_proc filter the EnvoyPatchPolicy adds to the router. */
  upstreamFilter: string;
  /** Prefix of the router-level ext_proc filter Envoy Gateway generates for the EnvoyExtensionPolicy. */
  routerFilterPrefix: string;
}

/** What agent-router's chart puts on the Gateway's listener. */
export const AGENT_ROUTER_FILTERS: Expectations = {
  // The name charts/agent-router/templates/envoy-patch-policy.yaml gives the per-attempt ext_proc filter.
  upstreamFilter: 'agent-router.upstream',
  // Envoy Gateway names an EnvoyExtensionPolicy's ext_proc filters
  // envoy.filters.http.ext_proc/envoyextensionpolicy/<namespace>/<name>/extproc/<index> (EG v1.9's xDS
  // translator goldens, internal/xds/translator/testdata/out/xds-ir/*.listeners.yaml).
  routerFilterPrefix: 'envoy.filters.http.ext_proc/envoyextensionpolicy/',
};

export interface Findings {
  listeners: ListenerSummary[];
  /** Each one makes the check fail. */
  problems: string[];
  /** Worth printing, not failing for. */
  warnings: string[];
}

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const objects = (value: unknown): Json[] => (Array.isArray(value) ? value.filter(isObject) : []);

function dumpOf(configDump: unknown, type: string): Json | undefined {
  if (!isObject(configDump)) return undefined;
  return objects(configDump.configs).find((c) => c['@type'] === type);
}

function summarize(entry: Json): ListenerSummary {
  const state = ['active', 'warming', 'draining'].find((s) => isObject(entry[`${s}_state`])) as
    | ListenerSummary['state']
    | undefined;
  const listener = state ? (entry[`${state}_state`] as Json).listener : undefined;
  const summary: ListenerSummary = {
    name: typeof entry.name === 'string' ? entry.name : isObject(listener) ? String(listener.name) : '',
    state: state ?? 'none',
    httpFilters: [],
    upstreamFilters: [],
  };
  const errorState = entry.error_state;
  if (isObject(errorState)) summary.rejected = String(errorState.details ?? 'no details given');
  if (!isObject(listener)) return summary;
  const address = isObject(listener.address) ? listener.address.socket_address : undefined;
  if (isObject(address) && address.port_value !== undefined) summary.port = Number(address.port_value);
  const chains = [...objects(listener.filter_chains), ...objects([listener.default_filter_chain])];
  for (const chain of chains) {
    for (const filter of objects(chain.filters)) {
      const manager = filter.typed_config;
      if (!isObject(manager) || manager['@type'] !== HTTP_CONNECTION_MANAGER) continue;
      for (const httpFilter of objects(manager.http_filters)) {
        summary.httpFilters.push(String(httpFilter.name));
        const router = httpFilter.typed_config;
        if (!isObject(router) || router['@type'] !== ROUTER) continue;
        for (const upstream of objects(router.upstream_http_filters)) {
          const config = upstream.typed_config;
          const grpc = isObject(config) && isObject(config.grpc_service) ? config.grpc_service : undefined;
          const cluster = grpc && isObject(grpc.envoy_grpc) ? grpc.envoy_grpc.cluster_name : undefined;
          summary.upstreamFilters.push({
            name: String(upstream.name),
            ...(cluster === undefined ? {} : { grpcCluster: String(cluster) }),
          });
        }
      }
    }
  }
  return summary;
}

/** Every listener Envoy got over LDS (Envoy Gateway sends all of them dynamically). */
export function dynamicListeners(configDump: unknown): ListenerSummary[] {
  return objects(dumpOf(configDump, LISTENERS_DUMP)?.dynamic_listeners).map(summarize);
}

/** Names of the clusters Envoy can route to now: static and active dynamic ones. */
export function activeClusters(configDump: unknown): Set<string> {
  const dump = dumpOf(configDump, CLUSTERS_DUMP);
  const names = new Set<string>();
  for (const entry of [...objects(dump?.static_clusters), ...objects(dump?.dynamic_active_clusters)]) {
    if (isObject(entry.cluster) && typeof entry.cluster.name === 'string') names.add(entry.cluster.name);
  }
  return names;
}

/** Counters from the admin /stats text format (`name: value` per line). */
export function counters(statsText: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of statsText.split('\n')) {
    const [, name, value] = /^([^:\s]+):\s+(\d+)\s*$/.exec(line) ?? [];
    if (name && value) values.set(name, Number(value));
  }
  return values;
}

const outline = (l: ListenerSummary) =>
  `${l.name}${l.port === undefined ? '' : ` (port ${l.port})`}: http filters [${l.httpFilters.join(', ')}], ` +
  `upstream filters [${l.upstreamFilters.map((f) => f.name).join(', ')}]`;

/** Whether this proxy is ready for the scenarios, and if not, what a person should look at. */
export function checkProxy(configDump: unknown, statsText: string, expect: Expectations): Findings {
  const listeners = dynamicListeners(configDump);
  const clusters = activeClusters(configDump);
  const stats = counters(statsText);
  const problems: string[] = [];
  const warnings: string[] = [];
  if (listeners.length === 0) {
    problems.push(
      'Envoy has no listener from Envoy Gateway (no dynamic listener in /config_dump): the Gateway ' +
        'configuration never reached this proxy',
    );
  }
  for (const l of listeners) {
    if (l.rejected !== undefined) problems.push(`Envoy rejected listener ${l.name}: ${l.rejected}`);
    if (l.state !== 'active') problems.push(`listener ${l.name} is not active (state: ${l.state})`);
  }
  const ours = listeners.filter(
    (l) => l.state === 'active' && l.upstreamFilters.some((f) => f.name === expect.upstreamFilter),
  );
  if (listeners.length > 0 && ours.length === 0) {
    problems.push(
      `no active listener has the upstream ext_proc filter ${expect.upstreamFilter} in its router's ` +
        `upstream_http_filters (the EnvoyPatchPolicy adds it); listeners: ${listeners.map(outline).join('; ')}`,
    );
  }
  for (const l of ours) {
    for (const f of l.upstreamFilters) {
      if (f.grpcCluster !== undefined && !clusters.has(f.grpcCluster)) {
        problems.push(
          `the upstream filter ${f.name} on listener ${l.name} calls cluster ${f.grpcCluster}, which Envoy ` +
            'does not have (the EnvoyPatchPolicy adds it)',
        );
      }
    }
    if (!l.httpFilters.some((name) => name.startsWith(expect.routerFilterPrefix))) {
      problems.push(
        `listener ${l.name} has no router-level ext_proc filter (${expect.routerFilterPrefix}…, from the ` +
          `EnvoyExtensionPolicy); its http filters: [${l.httpFilters.join(', ')}]`,
      );
    }
  }
  const createFailures = stats.get('listener_manager.listener_create_failure') ?? 0;
  if (createFailures > 0) {
    problems.push(
      `Envoy failed to create ${createFailures} listener(s) on its workers ` +
        '(listener_manager.listener_create_failure)',
    );
  }
  // error_state is cleared by the next successful update, so a past rejection alone is not a failure.
  for (const counter of ['listener_manager.lds.update_rejected', 'cluster_manager.cds.update_rejected']) {
    const rejected = stats.get(counter) ?? 0;
    if (rejected > 0) warnings.push(`${counter} is ${rejected}: Envoy refused an earlier xDS update`);
  }
  return { listeners, problems, warnings };
}
