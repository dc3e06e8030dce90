/**
 * What Envoy would receive from the control plane, derived from the same compiled configuration: for
 * each route entry (the target header's value) the ordered clusters of its fallback chain and the
 * retry policy of its RouteConfig. Envoy would express the chain as priority levels of one cluster with
 * a previous-priorities retry plugin; the dev gateway walks the same order. An InferencePool cluster
 * carries its endpoints (Envoy: the pool's EndpointSlice) and failure mode; which endpoint serves a
 * request is the endpoint picker's answer.
 */
import { poolView } from '../config/inference-pool.ts';
import type { FallbackPolicy, Snapshot } from '../config/snapshot.ts';

export interface PoolCluster {
  id: string;
  failureMode: 'FailOpen' | 'FailClose';
  /** "ip:port" of every ready endpoint. */
  endpoints: readonly string[];
}

export interface Cluster {
  id: string;
  /** "http(s)://host:port" of the backend; "" for an InferencePool (the picked endpoint decides). */
  origin: string;
  pool?: PoolCluster;
}

export interface GatewayRoute {
  clusters: readonly Cluster[];
  retry: FallbackPolicy;
}

export function buildRouteTable(snapshot: Snapshot): ReadonlyMap<string, GatewayRoute> {
  const pools = new Map<string, PoolCluster>();
  for (const pool of snapshot.inferencePools) {
    const id = `${pool.metadata.namespace}/${pool.metadata.name}`;
    const view = poolView(snapshot, id);
    if (view)
      pools.set(id, { id, failureMode: view.failureMode, endpoints: view.endpoints.map((e) => e.address) });
  }
  const table = new Map<string, GatewayRoute>();
  for (const [id, entry] of snapshot.entries) {
    const routeConfig = snapshot.routeConfigs.get(entry.routeConfigId);
    if (!routeConfig) continue;
    table.set(id, {
      clusters: entry.fallbackChain.map((e) => {
        const pool = e.backend.kind === 'InferencePool' ? pools.get(e.backend.id) : undefined;
        return pool ? { id: e.backend.id, origin: '', pool } : { id: e.backend.id, origin: e.backend.origin };
      }),
      retry: routeConfig.fallback,
    });
  }
  return table;
}
