/**
 * The kinds the Kubernetes source reads, where each lives in the API, and the projection of an API object
 * onto the manifest shape `config/validate.ts` reads (the same shape a file-mode document has).
 * Projecting keeps only what configuration uses, so a Pod's heartbeat or an object's own status change
 * does not recompile anything, and the cache holds no more of a Secret than its data.
 */
import { AGENT_ROUTER_API, INFERENCE_API } from '../config/manifests.ts';

export type WatchedKind =
  | 'RouteConfig'
  | 'ProviderBackend'
  | 'APIKey'
  | 'MCPServer'
  | 'InferencePool'
  | 'Secret'
  | 'Pod';

/** The kinds whose status agent-router writes. */
export type StatusKind = 'RouteConfig' | 'ProviderBackend' | 'APIKey' | 'MCPServer';
export const STATUS_KINDS: readonly StatusKind[] = ['RouteConfig', 'ProviderBackend', 'APIKey', 'MCPServer'];

export interface ResourceType {
  kind: WatchedKind;
  /** '' for the core group. */
  group: string;
  version: string;
  plural: string;
  apiVersion: string;
}

export const RESOURCES: Readonly<Record<WatchedKind, ResourceType>> = {
  RouteConfig: {
    kind: 'RouteConfig',
    group: 'agentrouter.dev',
    version: 'v1alpha1',
    plural: 'routeconfigs',
    apiVersion: AGENT_ROUTER_API,
  },
  ProviderBackend: {
    kind: 'ProviderBackend',
    group: 'agentrouter.dev',
    version: 'v1alpha1',
    plural: 'providerbackends',
    apiVersion: AGENT_ROUTER_API,
  },
  APIKey: {
    kind: 'APIKey',
    group: 'agentrouter.dev',
    version: 'v1alpha1',
    plural: 'apikeys',
    apiVersion: AGENT_ROUTER_API,
  },
  MCPServer: {
    kind: 'MCPServer',
    group: 'agentrouter.dev',
    version: 'v1alpha1',
    plural: 'mcpservers',
    apiVersion: AGENT_ROUTER_API,
  },
  InferencePool: {
    kind: 'InferencePool',
    group: 'inference.networking.k8s.io',
    version: 'v1',
    plural: 'inferencepools',
    apiVersion: INFERENCE_API,
  },
  Secret: { kind: 'Secret', group: '', version: 'v1', plural: 'secrets', apiVersion: 'v1' },
  Pod: { kind: 'Pod', group: '', version: 'v1', plural: 'pods', apiVersion: 'v1' },
};

export const ALL_KINDS = Object.keys(RESOURCES) as WatchedKind[];

/** The collection URL path, namespaced or across all namespaces. */
export function collectionPath(r: ResourceType, namespace?: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  return namespace === undefined ? `${base}/${r.plural}` : `${base}/namespaces/${namespace}/${r.plural}`;
}

/** How objects are named in problems, logs and status messages: "Kind namespace/name". */
export function objectId(kind: string, namespace: string, name: string): string {
  return `${kind} ${namespace}/${name}`;
}

type Json = Record<string, unknown>;

/** One object as the source keeps it. */
export interface CachedObject {
  /** "Kind namespace/name". */
  id: string;
  kind: WatchedKind;
  namespace: string;
  name: string;
  /** Tells a recreated object from the one deleted before it under the same name. */
  uid: string;
  resourceVersion: string;
  /** ms since the epoch; orders conflicting objects, oldest first (the Gateway API convention). */
  created: number;
  generation?: number;
  /** The manifest-shaped document handed to validateManifest. */
  doc: Json;
  /** JSON text of `doc`, to tell a relevant change from noise. */
  docText: string;
  /** The object's status as last seen (our kinds only), to write status only when it differs. */
  status?: Json;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function time(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  const t = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  return Number.isNaN(t) ? 0 : t;
}

/**
 * An API object (raw JSON from a watch, or a typed client's deserialised instance from a list) as a
 * cached object; undefined when it has no name.
 */
export function project(kind: WatchedKind, raw: unknown): CachedObject | undefined {
  if (!isObject(raw) || !isObject(raw.metadata)) return undefined;
  const meta = raw.metadata;
  const name = meta.name;
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : 'default';
  if (typeof name !== 'string') return undefined;
  const labels = isObject(meta.labels) ? { ...(meta.labels as Record<string, string>) } : undefined;
  const metadata: Json = { name, namespace };
  const generation = typeof meta.generation === 'number' ? meta.generation : undefined;
  let doc: Json;
  switch (kind) {
    case 'Secret':
      // The API server returns `data` only (base64); stringData is write-only.
      doc = { apiVersion: 'v1', kind, metadata, data: isObject(raw.data) ? { ...raw.data } : {} };
      break;
    case 'Pod': {
      if (labels) metadata.labels = labels;
      const status = isObject(raw.status) ? raw.status : {};
      const projected: Json = {};
      if (typeof status.podIP === 'string') projected.podIP = status.podIP;
      if (typeof status.phase === 'string') projected.phase = status.phase;
      const ready = Array.isArray(status.conditions)
        ? (status.conditions as Json[]).find((c) => isObject(c) && c.type === 'Ready')
        : undefined;
      // A terminating pod takes no new requests (as the GIE endpoint picker treats it).
      const terminating = meta.deletionTimestamp !== undefined && meta.deletionTimestamp !== null;
      if (terminating) projected.conditions = [{ type: 'Ready', status: 'False' }];
      else if (ready) projected.conditions = [{ type: 'Ready', status: String(ready.status) }];
      doc = { apiVersion: 'v1', kind, metadata, status: projected };
      break;
    }
    default:
      if (labels) metadata.labels = labels;
      if (generation !== undefined) metadata.generation = generation;
      doc = {
        apiVersion: typeof raw.apiVersion === 'string' ? raw.apiVersion : RESOURCES[kind].apiVersion,
        kind,
        metadata,
        spec: raw.spec,
      };
  }
  const cached: CachedObject = {
    id: objectId(kind, namespace, name),
    kind,
    namespace,
    name,
    uid: typeof meta.uid === 'string' ? meta.uid : '',
    resourceVersion: typeof meta.resourceVersion === 'string' ? meta.resourceVersion : '',
    created: time(meta.creationTimestamp),
    doc,
    docText: JSON.stringify(doc),
  };
  if (generation !== undefined) cached.generation = generation;
  if (kind !== 'Secret' && kind !== 'Pod' && isObject(raw.status)) cached.status = raw.status;
  return cached;
}
