// biome-ignore-all lint/suspicious/noExplicitAny: xDS resources are open-ended JSON here.
/**
 * EnvoyPatchPolicy operations applied the way Envoy Gateway applies them
 * (internal/xds/translator/jsonpatch.go): the resource is named by type URL and name; a `jsonPath` is
 * evaluated against the resource in the proto-name JSON mapping and exploded into JSON pointers, each
 * joined with the operation's `path`; no match is an error, as is the bare root `$`; RFC 6902 `add`
 * creates missing parent objects (EnsurePathExistsOnAdd); an `add` of a Cluster with no path and no
 * jsonPath is a new resource. A resource that does not exist fails the policy with ResourceNotFound.
 */
import { JSONPath } from 'jsonpath-plus';

export const TYPE_URLS = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  routeConfiguration: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
} as const;

export interface JsonPatch {
  type: string;
  name: string;
  operation: { op: string; path?: string; jsonPath?: string; value?: unknown };
}

export interface XdsResources {
  listeners: any[];
  routeConfigurations: any[];
  clusters: any[];
}

/** Why Envoy Gateway would refuse an operation (it reports Programmed=False with this reason). */
export class PatchError extends Error {
  constructor(
    readonly reason: 'ResourceNotFound' | 'Invalid',
    message: string,
  ) {
    super(`${reason}: ${message}`);
  }
}

const unescapeToken = (t: string) => t.replace(/~1/g, '/').replace(/~0/g, '~');

function joinPointer(pointer: string, path: string | undefined): string {
  if (!path) return pointer;
  return `${pointer.replace(/\/$/, '')}/${path.replace(/^\//, '')}`;
}

function applyAtPointer(doc: any, op: string, pointer: string, value: unknown): void {
  if (pointer === '') throw new PatchError('Invalid', `op ${op} on the whole resource`);
  const tokens = pointer.split('/').slice(1).map(unescapeToken);
  let parent = doc;
  for (const token of tokens.slice(0, -1)) {
    if (parent[token] === undefined) {
      if (op !== 'add') throw new PatchError('Invalid', `${pointer}: no ${token}`);
      parent[token] = {};
    }
    parent = parent[token];
  }
  const last = tokens.at(-1)!;
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (!Number.isInteger(index) || index < 0 || index > parent.length)
      throw new PatchError('Invalid', `${pointer}: index ${last} out of range`);
    if (op === 'add') parent.splice(index, 0, value);
    else if (op === 'replace') parent[index] = value;
    else if (op === 'remove') parent.splice(index, 1);
    else throw new PatchError('Invalid', `op ${op} is not supported here`);
    return;
  }
  if (op === 'add') parent[last] = value;
  else if (op === 'replace') {
    if (!(last in parent)) throw new PatchError('Invalid', `replace: ${pointer} does not exist`);
    parent[last] = value;
  } else if (op === 'remove') {
    if (!(last in parent)) throw new PatchError('Invalid', `remove: ${pointer} does not exist`);
    delete parent[last];
  } else throw new PatchError('Invalid', `op ${op} is not supported here`);
}

/** The JSON pointers one operation touches in one resource. */
export function pointersOf(resource: unknown, operation: JsonPatch['operation']): string[] {
  if (operation.jsonPath === undefined) return [operation.path ?? ''];
  if (/^\$\s*$/.test(operation.jsonPath))
    throw new PatchError('Invalid', "jsonPath '$' alone is not allowed");
  const found: string[] = JSONPath({
    path: operation.jsonPath,
    json: resource as object,
    resultType: 'pointer',
    wrap: true,
  });
  if (found.length === 0)
    throw new PatchError('Invalid', `no JSON pointer matches the jsonPath ${operation.jsonPath}`);
  return found.map((p) => joinPointer(p, operation.path));
}

const listFor = (xds: XdsResources, type: string): any[] | undefined =>
  type === TYPE_URLS.listener
    ? xds.listeners
    : type === TYPE_URLS.routeConfiguration
      ? xds.routeConfigurations
      : type === TYPE_URLS.cluster
        ? xds.clusters
        : undefined;

/**
 * Applies every patch, in order, to a copy of the resources; returns the patched resources and, per
 * patch, the pointers it touched. Throws PatchError where Envoy Gateway would refuse the policy.
 */
export function applyEnvoyPatchPolicy(
  xds: XdsResources,
  patches: readonly JsonPatch[],
): { xds: XdsResources; touched: string[][] } {
  const out: XdsResources = structuredClone(xds);
  const touched: string[][] = [];
  for (const patch of patches) {
    const list = listFor(out, patch.type);
    if (!list) throw new PatchError('Invalid', `unsupported type ${patch.type}`);
    const { operation } = patch;
    if (
      patch.type === TYPE_URLS.cluster &&
      operation.op === 'add' &&
      !operation.path &&
      operation.jsonPath === undefined
    ) {
      if (list.some((c) => c.name === patch.name))
        throw new PatchError('Invalid', `cluster ${patch.name} already exists`);
      list.push(structuredClone(operation.value));
      touched.push(['']);
      continue;
    }
    const resource = list.find((r) => r.name === patch.name);
    if (!resource) throw new PatchError('ResourceNotFound', `no ${patch.type} named ${patch.name}`);
    const pointers = pointersOf(resource, operation);
    for (const pointer of pointers)
      applyAtPointer(resource, operation.op, pointer, structuredClone(operation.value));
    touched.push(pointers);
  }
  return { xds: out, touched };
}
