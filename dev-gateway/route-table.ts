/**
 * What Envoy would receive from the control plane, derived from the same compiled configuration: for
 * each route entry (the target header's value) the ordered clusters of its fallback chain and the
 * retry policy of its RouteConfig. Envoy would express the chain as priority levels of one cluster with
 * a previous-priorities retry plugin; the dev gateway walks the same order.
 */
import type { FallbackPolicy, Snapshot } from '../config/snapshot.ts';

export interface Cluster {
  id: string;
  /** "http(s)://host:port" of the backend. */
  origin: string;
}

export interface GatewayRoute {
  clusters: readonly Cluster[];
  retry: FallbackPolicy;
}

export function buildRouteTable(snapshot: Snapshot): ReadonlyMap<string, GatewayRoute> {
  const table = new Map<string, GatewayRoute>();
  for (const [id, entry] of snapshot.entries) {
    const routeConfig = snapshot.routeConfigs.get(entry.routeConfigId);
    if (!routeConfig) continue;
    table.set(id, {
      clusters: entry.fallbackChain.map((e) => ({ id: e.backend.id, origin: e.backend.origin })),
      retry: routeConfig.fallback,
    });
  }
  return table;
}
