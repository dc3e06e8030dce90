/**
 * The pool the picker serves and its ready endpoints, derived from the configuration snapshot (file mode:
 * InferencePool and Pod manifests; Kubernetes watches feed the same snapshot). One endpoint per ready
 * pod and target port, as the InferencePool `targetPorts` define (inference.networking.k8s.io/v1).
 */
import type { InferencePoolManifest, PodManifest } from './manifests.ts';
import type { Snapshot } from './snapshot.ts';

export interface PoolEndpoint {
  /** "<namespace>/<pod>" (plus ":<port>" when the pool has several target ports). */
  name: string;
  /** "ip:port", the value the gateway routes to. */
  address: string;
  labels: Readonly<Record<string, string>>;
}

export interface PoolView {
  id: string;
  failureMode: 'FailOpen' | 'FailClose';
  endpoints: readonly PoolEndpoint[];
}

function isReady(pod: PodManifest): boolean {
  const status = pod.status;
  if (!status?.podIP) return false;
  if (status.phase !== undefined && status.phase !== 'Running') return false;
  const ready = status.conditions?.find((c) => c.type === 'Ready');
  // File-mode pods often omit conditions; a pod that says nothing about readiness is taken as ready.
  return ready === undefined || ready.status === 'True';
}

function selects(pool: InferencePoolManifest, pod: PodManifest): boolean {
  if (pod.metadata.namespace !== pool.metadata.namespace) return false;
  const labels = pod.metadata.labels ?? {};
  for (const [k, v] of Object.entries(pool.spec.selector.matchLabels ?? {}))
    if (labels[k] !== v) return false;
  return true;
}

export function poolView(snapshot: Snapshot, poolId?: string): PoolView | undefined {
  const pools = snapshot.inferencePools;
  const pool = poolId
    ? pools.find((p) => `${p.metadata.namespace}/${p.metadata.name}` === poolId)
    : pools.length === 1
      ? pools[0]
      : undefined;
  if (!pool) return undefined;
  const ports = pool.spec.targetPorts.map((p) => p.number);
  const endpoints: PoolEndpoint[] = [];
  for (const pod of snapshot.pods) {
    if (!selects(pool, pod) || !isReady(pod)) continue;
    for (const port of ports) {
      const base = `${pod.metadata.namespace}/${pod.metadata.name}`;
      endpoints.push({
        name: ports.length > 1 ? `${base}:${port}` : base,
        address: `${pod.status!.podIP}:${port}`,
        labels: pod.metadata.labels ?? {},
      });
    }
  }
  return {
    id: `${pool.metadata.namespace}/${pool.metadata.name}`,
    failureMode: pool.spec.endpointPickerRef?.failureMode ?? 'FailClose',
    endpoints,
  };
}
