/**
 * A list/watch HTTP server with the Kubernetes API server's semantics, for the resources agent-router
 * reads and writes: one monotonically increasing resourceVersion across all objects (etcd's revision),
 * LIST with `metadata.resourceVersion` and `limit`/`continue` pages from a consistent snapshot, WATCH from
 * a resourceVersion with replay of the history after it, BOOKMARK events when asked for
 * (`allowWatchBookmarks=true`), `410 Gone` once history is compacted (as an `ERROR` event with
 * `code: 410`, which is what the real API server sends, or optionally as an HTTP 410 response),
 * label/field selectors whose watch turns "starts/stops matching" into ADDED/DELETED, the `/status`
 * subresource (merge patch; spec and status cannot be written through each other's endpoint;
 * `metadata.generation` moves only on spec changes), optimistic concurrency on PUT (409 Conflict), and
 * server-side apply (PATCH `application/apply-patch+yaml` with `fieldManager`, optional `force`): it
 * creates or merges, records which manager applied which fields (maps field by field, lists as one field,
 * as for lists without `x-kubernetes-list-type`), removes the fields a manager stops applying, and answers
 * 409 Conflict naming the other manager and the field when an apply would change a field another manager
 * applied, unless forced; a `metadata.resourceVersion` in the applied object must be the current one.
 * Simplification: only applies take ownership here (the API server also records Update managers).
 *
 * Semantics follow https://kubernetes.io/docs/reference/using-api/api-concepts/ ("Efficient detection of
 * changes", "Watch bookmarks", "Resource versions", "Retrieving large results sets in chunks").
 * Tests drive it like kubectl through the in-process methods and break it on purpose (drop watches,
 * compact history, go unavailable).
 */
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';

type Json = Record<string, unknown>;
interface KubeObject extends Json {
  apiVersion: string;
  kind: string;
  metadata: Json & {
    name: string;
    namespace: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
  };
}

export interface FakeResource {
  group: string;
  version: string;
  plural: string;
  kind: string;
  /** CRDs: the generation moves on spec changes and the list items carry apiVersion/kind. */
  custom: boolean;
  statusSubresource: boolean;
}

export const FAKE_RESOURCES: readonly FakeResource[] = [
  {
    group: 'agentrouter.dev',
    version: 'v1alpha1',
    plural: 'routeconfigs',
    kind: 'RouteConfig',
    custom: true,
    statusSubresource: true,
  },
  {
    group: 'agentrouter.dev',
    version: 'v1alpha1',
    plural: 'providerbackends',
    kind: 'ProviderBackend',
    custom: true,
    statusSubresource: true,
  },
  {
    group: 'agentrouter.dev',
    version: 'v1alpha1',
    plural: 'apikeys',
    kind: 'APIKey',
    custom: true,
    statusSubresource: true,
  },
  {
    group: 'inference.networking.k8s.io',
    version: 'v1',
    plural: 'inferencepools',
    kind: 'InferencePool',
    custom: true,
    statusSubresource: true,
  },
  { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', custom: false, statusSubresource: false },
  { group: '', version: 'v1', plural: 'events', kind: 'Event', custom: false, statusSubresource: false },
  { group: '', version: 'v1', plural: 'pods', kind: 'Pod', custom: false, statusSubresource: true },
  {
    group: 'coordination.k8s.io',
    version: 'v1',
    plural: 'leases',
    kind: 'Lease',
    custom: false,
    statusSubresource: false,
  },
];

const apiVersionOf = (r: FakeResource) => (r.group ? `${r.group}/${r.version}` : r.version);
const byKind = new Map(FAKE_RESOURCES.map((r) => [r.kind, r]));

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** The bearer token: tests give each client its own, to tell writers apart. */
  user: string;
  contentType: string;
  status: number;
}

interface HistoryEvent {
  rv: number;
  resource: FakeResource;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  previous?: KubeObject;
}

interface Watcher {
  resource: FakeResource;
  namespace?: string;
  selects: (o: KubeObject) => boolean;
  bookmarks: boolean;
  user: string;
  res: ServerResponse;
  timer?: NodeJS.Timeout;
}

export interface FakeApiServerOptions {
  /** How a watch from a compacted resourceVersion is refused: an ERROR event (the API server's way) or HTTP 410. */
  goneAs?: 'event' | 'status';
  /** Periodic BOOKMARK events to watches that allow them; 0 = only when `bookmark()` is called. */
  bookmarkIntervalMs?: number;
  /** Resources (plural names) not served, as when their CRD is not installed: every request is 404. */
  unserved?: string[];
}

function statusBody(code: number, reason: string, message: string): Json {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

const isMap = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The fields an applied object sets, as paths to their values: maps field by field, a list (atomic) or a
 * scalar as one field. Identity and server-set metadata are nobody's fields.
 */
function appliedFields(object: Json): Map<string, { path: string[]; value: unknown }> {
  const fields = new Map<string, { path: string[]; value: unknown }>();
  const walk = (value: unknown, path: string[]) => {
    if (isMap(value) && Object.keys(value).length > 0)
      for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
    else fields.set(JSON.stringify(path), { path, value });
  };
  for (const [k, v] of Object.entries(object)) {
    if (k === 'apiVersion' || k === 'kind' || k === 'status') continue;
    if (k === 'metadata') {
      const meta = isMap(v) ? v : {};
      for (const owned of ['labels', 'annotations'])
        if (meta[owned] !== undefined) walk(meta[owned], ['metadata', owned]);
      continue;
    }
    walk(v, [k]);
  }
  return fields;
}

function getPath(object: unknown, path: readonly string[]): unknown {
  let at = object;
  for (const k of path) at = isMap(at) ? at[k] : undefined;
  return at;
}

function setPath(object: Json, path: readonly string[], value: unknown): void {
  let at = object;
  for (const k of path.slice(0, -1)) {
    if (!isMap(at[k])) at[k] = {};
    at = at[k] as Json;
  }
  at[path[path.length - 1]!] = clone(value);
}

function deletePath(object: Json, path: readonly string[]): void {
  const parent = getPath(object, path.slice(0, -1));
  if (isMap(parent)) delete parent[path[path.length - 1]!];
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Json =
    target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Json) } : {};
  for (const [k, v] of Object.entries(patch as Json)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Equality-based label selectors (`a=b`, `a==b`, `a!=b`, `a`, `!a`), comma-separated. */
function labelSelector(text: string | undefined): (labels: Record<string, string>) => boolean {
  const terms = (text ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  return (labels) =>
    terms.every((term) => {
      const ne = /^([^!=]+)!=(.*)$/.exec(term);
      if (ne) return labels[ne[1]!.trim()] !== ne[2]!.trim();
      const eq = /^([^!=]+)==?(.*)$/.exec(term);
      if (eq) return labels[eq[1]!.trim()] === eq[2]!.trim();
      if (term.startsWith('!')) return !(term.slice(1) in labels);
      return term in labels;
    });
}

/** Field selectors on metadata.name / metadata.namespace (what every resource supports). */
function fieldSelector(text: string | undefined): (o: KubeObject) => boolean {
  const terms = (text ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)
    .map((term) => {
      const m = /^(metadata\.name|metadata\.namespace)(!=|==|=)(.*)$/.exec(term);
      if (!m) throw new HttpError(400, 'BadRequest', `field label not supported: ${term}`);
      return { field: m[1] === 'metadata.name' ? 'name' : 'namespace', negate: m[2] === '!=', value: m[3] };
    });
  return (o) => terms.every((t) => (o.metadata[t.field] === t.value) !== t.negate);
}

interface Route {
  resource: FakeResource;
  namespace?: string;
  name?: string;
  subresource?: string;
}

function parsePath(pathname: string): Route | undefined {
  const parts = pathname.split('/').filter(Boolean);
  let group = '';
  let version: string | undefined;
  let rest: string[];
  if (parts[0] === 'api') {
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis') {
    group = parts[1] ?? '';
    version = parts[2];
    rest = parts.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const resource = FAKE_RESOURCES.find(
    (r) => r.group === group && r.version === version && r.plural === rest[0],
  );
  if (!resource) return undefined;
  const route: Route = { resource };
  if (namespace !== undefined) route.namespace = namespace;
  if (rest[1] !== undefined) route.name = rest[1];
  if (rest[2] !== undefined) route.subresource = rest[2];
  return route;
}

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  #rv = 1;
  /** Events at or below this revision are gone; a watch from before it gets 410. */
  #compactedRv = 0;
  readonly #objects = new Map<FakeResource, Map<string, KubeObject>>();
  #history: HistoryEvent[] = [];
  readonly #watchers = new Set<Watcher>();
  readonly #pages = new Map<string, { rv: number; items: KubeObject[] }>();
  #available = true;
  readonly #unreachable = new Set<string>();
  readonly #unserved: Set<string>;
  /** "Kind/namespace/name" → field manager → the fields (appliedFields keys) it applied. */
  readonly #owners = new Map<string, Map<string, Set<string>>>();
  #bookmarkTimer?: NodeJS.Timeout;
  readonly #server: http.Server;
  goneAs: 'event' | 'status';
  url = '';

  private constructor(options: FakeApiServerOptions) {
    this.goneAs = options.goneAs ?? 'event';
    this.#unserved = new Set(options.unserved ?? []);
    for (const r of FAKE_RESOURCES) this.#objects.set(r, new Map());
    this.#server = http.createServer((req, res) => {
      this.#handle(req, res).catch((error: Error) => {
        if (!res.headersSent) this.#send(req, res, 500, statusBody(500, 'InternalError', error.message));
      });
    });
    if (options.bookmarkIntervalMs)
      this.#bookmarkTimer = setInterval(() => this.bookmark(), options.bookmarkIntervalMs);
  }

  static async start(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
    const server = new FakeApiServer(options);
    await new Promise<void>((resolve) => server.#server.listen(0, '127.0.0.1', resolve));
    server.url = `http://127.0.0.1:${(server.#server.address() as AddressInfo).port}`;
    return server;
  }

  /** A KubeConfig for this server, as a client in a test builds it; `user` is its bearer token. */
  kubeConfig(user = 'agent-router'): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: user, token: user }],
      contexts: [{ name: 'fake', cluster: 'fake', user }],
      currentContext: 'fake',
    });
    return kc;
  }

  get resourceVersion(): string {
    return String(this.#rv);
  }

  get openWatches(): number {
    return this.#watchers.size;
  }

  async close(): Promise<void> {
    if (this.#bookmarkTimer) clearInterval(this.#bookmarkTimer);
    for (const w of this.#watchers) this.#closeWatch(w, true);
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  // ---- breaking it on purpose ----

  /** Cuts every open watch connection mid-stream, as a network failure or an API server restart would. */
  dropWatches(): void {
    for (const w of this.#watchers) this.#closeWatch(w, true);
  }

  /** Ends every open watch cleanly, as the API server does at a watch's timeout (pending events are delivered). */
  endWatches(): void {
    for (const w of this.#watchers) this.#closeWatch(w, false);
  }

  /** Forgets all history (etcd compaction): a watch from any resourceVersion before now gets 410 Gone. */
  compact(): void {
    this.#compactedRv = this.#rv;
    this.#history = [];
    this.#pages.clear();
  }

  /** While unavailable, every list, watch and write is answered 503 (an API server outage). */
  setAvailable(available: boolean): void {
    this.#available = available;
  }

  /** Starts serving a resource that was `unserved` (its CRD gets installed). */
  serve(plural: string): void {
    this.#unserved.delete(plural);
  }

  /** Answers one client (by bearer token) 503 and cuts its watches: a pod partitioned from the API server. */
  setUnreachable(user: string, unreachable: boolean): void {
    if (unreachable) this.#unreachable.add(user);
    else this.#unreachable.delete(user);
    if (unreachable) for (const w of this.#watchers) if (w.user === user) this.#closeWatch(w, true);
  }

  /** Sends a BOOKMARK carrying the current resourceVersion to every watch that allows bookmarks. */
  bookmark(): void {
    for (const w of this.#watchers) {
      if (!w.bookmarks) continue;
      this.#write(w, {
        type: 'BOOKMARK',
        object: {
          kind: w.resource.kind,
          apiVersion: apiVersionOf(w.resource),
          metadata: { resourceVersion: String(this.#rv) },
        },
      });
    }
  }

  // ---- the in-process API, as kubectl would use it ----

  /** Every stored object of a kind (all namespaces), in creation order. */
  all(kind: string): KubeObject[] {
    return [...this.#store(this.#resource(kind)).values()];
  }

  get(kind: string, namespace: string, name: string): KubeObject | undefined {
    const found = this.#store(this.#resource(kind)).get(`${namespace}/${name}`);
    return found ? clone(found) : undefined;
  }

  /** Creates or replaces an object (status is kept on replace, as through the main endpoint). */
  apply(object: Json): KubeObject {
    const o = object as KubeObject;
    const resource = this.#resource(o.kind);
    const key = `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;
    const existing = this.#store(resource).get(key);
    return existing ? this.#update(resource, o, existing, 'main') : this.#create(resource, o);
  }

  /** Server-side apply as `manager` (e.g. "kubectl" or "argocd" claiming fields before the console does). */
  serverSideApply(object: Json, manager: string, force = false): KubeObject {
    const o = object as KubeObject;
    return this.#serverSideApply(
      this.#resource(o.kind),
      o.metadata.namespace ?? 'default',
      o.metadata.name,
      o,
      manager,
      force,
    );
  }

  /** The field managers of an object and the fields each applied, as `.a.b` paths. */
  managedFields(kind: string, namespace: string, name: string): Record<string, string[]> {
    const owners = this.#owners.get(`${kind}/${namespace}/${name}`) ?? new Map<string, Set<string>>();
    return Object.fromEntries(
      [...owners].map(([m, fields]) => [
        m,
        [...fields].map((f) => `.${(JSON.parse(f) as string[]).join('.')}`).sort(),
      ]),
    );
  }

  /** Changes an object with a merge patch through the main endpoint (status changes are ignored). */
  patch(kind: string, namespace: string, name: string, patch: Json): KubeObject {
    const resource = this.#resource(kind);
    const existing = this.#store(resource).get(`${namespace}/${name}`);
    if (!existing) throw new Error(`${kind} ${namespace}/${name} not found`);
    return this.#update(resource, mergePatch(existing, patch) as KubeObject, existing, 'main');
  }

  /** Changes an object's status with a merge patch through `/status` (as the kubelet or a controller would). */
  patchStatus(kind: string, namespace: string, name: string, patch: Json): KubeObject {
    const resource = this.#resource(kind);
    const existing = this.#store(resource).get(`${namespace}/${name}`);
    if (!existing) throw new Error(`${kind} ${namespace}/${name} not found`);
    return this.#update(resource, mergePatch(existing, patch) as KubeObject, existing, 'status');
  }

  delete(kind: string, namespace: string, name: string): void {
    const resource = this.#resource(kind);
    const existing = this.#store(resource).get(`${namespace}/${name}`);
    if (!existing) throw new Error(`${kind} ${namespace}/${name} not found`);
    this.#remove(resource, existing);
  }

  /** Status-subresource writes so far (PATCH or PUT on `/status`), optionally by one client. */
  statusWrites(user?: string): RecordedRequest[] {
    return this.requests.filter(
      (r) =>
        (r.method === 'PATCH' || r.method === 'PUT') &&
        r.path.endsWith('/status') &&
        r.status < 300 &&
        (user === undefined || r.user === user),
    );
  }

  // ---- storage ----

  #resource(kind: string): FakeResource {
    const r = byKind.get(kind);
    if (!r) throw new Error(`unknown kind ${kind}`);
    return r;
  }

  #store(resource: FakeResource): Map<string, KubeObject> {
    return this.#objects.get(resource)!;
  }

  #create(resource: FakeResource, input: KubeObject): KubeObject {
    const namespace = (input.metadata.namespace as string | undefined) ?? 'default';
    const key = `${namespace}/${input.metadata.name}`;
    if (this.#store(resource).has(key))
      throw new HttpError(409, 'AlreadyExists', `${resource.plural} "${input.metadata.name}" already exists`);
    const o = clone(input);
    this.#rv += 1;
    o.apiVersion = apiVersionOf(resource);
    o.kind = resource.kind;
    o.metadata = {
      ...o.metadata,
      namespace,
      uid: randomUUID(),
      resourceVersion: String(this.#rv),
      creationTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
    if (resource.custom) o.metadata.generation = 1;
    if (resource.statusSubresource && resource.custom) delete o.status;
    this.#store(resource).set(key, o);
    this.#emit({ rv: this.#rv, resource, type: 'ADDED', object: clone(o) });
    return clone(o);
  }

  /** `via`: which endpoint writes; each only changes its own part, as with a status subresource. */
  #update(
    resource: FakeResource,
    input: KubeObject,
    existing: KubeObject,
    via: 'main' | 'status',
  ): KubeObject {
    const requested = input.metadata.resourceVersion;
    if (requested !== undefined && requested !== '' && requested !== existing.metadata.resourceVersion) {
      throw new HttpError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${resource.plural} "${existing.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    let next: KubeObject;
    if (resource.statusSubresource && via === 'status') {
      next = { ...clone(existing), status: clone(input.status) };
    } else {
      next = clone(input);
      next.apiVersion = existing.apiVersion;
      next.kind = existing.kind;
      const keep = ['uid', 'creationTimestamp', 'namespace', 'name', 'generation'];
      next.metadata = { ...next.metadata };
      for (const k of keep) next.metadata[k] = existing.metadata[k];
      if (resource.statusSubresource) {
        if (existing.status === undefined) delete next.status;
        else next.status = clone(existing.status);
      }
    }
    const body = (o: KubeObject) => {
      const { metadata: _m, status: _s, ...rest } = o;
      return JSON.stringify(rest);
    };
    if (resource.custom && body(next) !== body(existing))
      next.metadata.generation = ((existing.metadata.generation as number | undefined) ?? 1) + 1;
    if (
      JSON.stringify({ ...next, metadata: { ...next.metadata, resourceVersion: '' } }) ===
      JSON.stringify({ ...existing, metadata: { ...existing.metadata, resourceVersion: '' } })
    ) {
      return clone(existing); // a no-op write does not move the resourceVersion, as in the API server
    }
    this.#rv += 1;
    next.metadata.resourceVersion = String(this.#rv);
    this.#store(resource).set(`${existing.metadata.namespace}/${existing.metadata.name}`, next);
    this.#emit({ rv: this.#rv, resource, type: 'MODIFIED', object: clone(next), previous: clone(existing) });
    return clone(next);
  }

  #serverSideApply(
    resource: FakeResource,
    namespace: string,
    name: string,
    applied: KubeObject,
    manager: string,
    force: boolean,
  ): KubeObject {
    if (applied.metadata?.name !== name)
      throw new HttpError(400, 'BadRequest', `the applied object's metadata.name must be "${name}"`);
    const key = `${resource.kind}/${namespace}/${name}`;
    const existing = this.#store(resource).get(`${namespace}/${name}`);
    const requested = applied.metadata.resourceVersion;
    if (requested !== undefined && requested !== '' && requested !== existing?.metadata.resourceVersion)
      throw new HttpError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${resource.plural} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    const fields = appliedFields(applied);
    const owners = this.#owners.get(key) ?? new Map<string, Set<string>>();
    const conflicts: { manager: string; field: string; id: string }[] = [];
    if (existing)
      for (const [id, { path, value }] of fields) {
        if (JSON.stringify(getPath(existing, path)) === JSON.stringify(value)) continue;
        for (const [other, owned] of owners)
          if (other !== manager && owned.has(id))
            conflicts.push({ manager: other, field: `.${path.join('.')}`, id });
      }
    if (conflicts.length > 0 && !force)
      throw new HttpError(
        409,
        'Conflict',
        `Apply failed with ${conflicts.length} conflict${conflicts.length === 1 ? '' : 's'}: ${conflicts
          .map((c) => `conflict with "${c.manager}": ${c.field}`)
          .join(', ')}`,
      );
    for (const c of conflicts) owners.get(c.manager)?.delete(c.id);
    const next = existing
      ? clone(existing)
      : ({
          apiVersion: applied.apiVersion,
          kind: resource.kind,
          metadata: { name, namespace },
        } as KubeObject);
    // What this manager applied before and applies no more goes, unless another manager applied it too.
    for (const id of owners.get(manager) ?? [])
      if (!fields.has(id) && ![...owners].some(([m, owned]) => m !== manager && owned.has(id)))
        deletePath(next, JSON.parse(id) as string[]);
    for (const { path, value } of fields.values()) setPath(next, path, value);
    owners.set(manager, new Set(fields.keys()));
    this.#owners.set(key, owners);
    return existing ? this.#update(resource, next, existing, 'main') : this.#create(resource, next);
  }

  #remove(resource: FakeResource, existing: KubeObject): void {
    this.#rv += 1;
    const gone = clone(existing);
    gone.metadata.resourceVersion = String(this.#rv);
    this.#store(resource).delete(`${existing.metadata.namespace}/${existing.metadata.name}`);
    this.#emit({ rv: this.#rv, resource, type: 'DELETED', object: gone });
  }

  #emit(event: HistoryEvent): void {
    this.#history.push(event);
    for (const w of this.#watchers) this.#deliver(w, event);
  }

  /** One history event as this watch sees it: a selector turns "starts/stops matching" into ADDED/DELETED. */
  #deliver(w: Watcher, e: HistoryEvent): void {
    if (e.resource !== w.resource) return;
    if (w.namespace !== undefined && e.object.metadata.namespace !== w.namespace) return;
    const now = w.selects(e.object);
    const before = e.previous ? w.selects(e.previous) : false;
    let type: string | undefined = e.type;
    if (e.type === 'MODIFIED')
      type = now && before ? 'MODIFIED' : now ? 'ADDED' : before ? 'DELETED' : undefined;
    else if (!now) type = undefined;
    if (type) this.#write(w, { type, object: e.object });
  }

  #write(w: Watcher, event: Json): void {
    if (!w.res.writableEnded && !w.res.destroyed) w.res.write(`${JSON.stringify(event)}\n`);
  }

  #closeWatch(w: Watcher, abrupt: boolean): void {
    if (w.timer) clearTimeout(w.timer);
    this.#watchers.delete(w);
    if (abrupt) w.res.destroy();
    else w.res.end();
  }

  // ---- HTTP ----

  #send(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    this.requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      user: (req.headers.authorization ?? '').replace(/^Bearer /, ''),
      contentType: req.headers['content-type'] ?? '',
      status,
    });
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    const route = parsePath(url.pathname);
    try {
      const user = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      if (!this.#available || this.#unreachable.has(user))
        throw new HttpError(503, 'ServiceUnavailable', 'the server is currently unavailable');
      if (!route || this.#unserved.has(route.resource.plural))
        throw new HttpError(404, 'NotFound', `the server could not find the requested resource`);
      const q = url.searchParams;
      const method = req.method ?? 'GET';
      if (route.name === undefined) {
        if (method === 'GET') {
          if (q.get('watch') === 'true' || q.get('watch') === '1') return this.#watch(req, res, route, q);
          return this.#send(req, res, 200, this.#list(route, q));
        }
        if (method === 'POST') {
          const input = JSON.parse(text) as KubeObject;
          input.metadata = { ...input.metadata, namespace: route.namespace ?? input.metadata.namespace };
          return this.#send(req, res, 201, this.#create(route.resource, input));
        }
        throw new HttpError(405, 'MethodNotAllowed', `${method} is not allowed on a collection`);
      }
      if (
        route.subresource !== undefined &&
        (route.subresource !== 'status' || !route.resource.statusSubresource)
      )
        throw new HttpError(404, 'NotFound', `no subresource ${route.subresource}`);
      const patchType = (req.headers['content-type'] ?? '').split(';')[0];
      if (
        method === 'PATCH' &&
        route.subresource === undefined &&
        patchType === 'application/apply-patch+yaml'
      ) {
        const manager = q.get('fieldManager');
        if (!manager) throw new HttpError(400, 'BadRequest', 'fieldManager is required for apply requests');
        const applied = parseYaml(text) as KubeObject;
        const status = this.#store(route.resource).has(`${route.namespace ?? 'default'}/${route.name}`)
          ? 200
          : 201;
        return this.#send(
          req,
          res,
          status,
          this.#serverSideApply(
            route.resource,
            route.namespace ?? 'default',
            route.name,
            applied,
            manager,
            q.get('force') === 'true',
          ),
        );
      }
      const key = `${route.namespace ?? 'default'}/${route.name}`;
      const existing = this.#store(route.resource).get(key);
      if (!existing)
        throw new HttpError(404, 'NotFound', `${route.resource.plural} "${route.name}" not found`);
      const via = route.subresource === 'status' ? 'status' : 'main';
      switch (method) {
        case 'GET':
          return this.#send(req, res, 200, clone(existing));
        case 'PUT':
          return this.#send(
            req,
            res,
            200,
            this.#update(route.resource, JSON.parse(text) as KubeObject, existing, via),
          );
        case 'PATCH': {
          const type = (req.headers['content-type'] ?? '').split(';')[0];
          if (type !== 'application/merge-patch+json')
            throw new HttpError(
              415,
              'UnsupportedMediaType',
              `this fake accepts only merge patches, got ${type}`,
            );
          const patched = mergePatch(existing, JSON.parse(text)) as KubeObject;
          return this.#send(req, res, 200, this.#update(route.resource, patched, existing, via));
        }
        case 'DELETE':
          this.#remove(route.resource, existing);
          return this.#send(req, res, 200, statusBody(200, '', 'deleted'));
        default:
          throw new HttpError(405, 'MethodNotAllowed', `${method} is not allowed`);
      }
    } catch (error) {
      if (error instanceof HttpError)
        return this.#send(req, res, error.code, statusBody(error.code, error.reason, error.message));
      throw error;
    }
  }

  #selector(route: Route, q: URLSearchParams): (o: KubeObject) => boolean {
    const labels = labelSelector(q.get('labelSelector') ?? undefined);
    const fields = fieldSelector(q.get('fieldSelector') ?? undefined);
    return (o) =>
      (route.namespace === undefined || o.metadata.namespace === route.namespace) &&
      labels(o.metadata.labels ?? {}) &&
      fields(o);
  }

  #list(route: Route, q: URLSearchParams): Json {
    const r = route.resource;
    const token = q.get('continue');
    let page: { rv: number; items: KubeObject[] };
    let offset = 0;
    if (token) {
      const [id, at] = token.split(':');
      const stored = this.#pages.get(id ?? '');
      if (!stored)
        throw new HttpError(
          410,
          'Expired',
          'The provided continue parameter is too old to display a consistent list result.',
        );
      page = stored;
      offset = Number(at);
    } else {
      const selects = this.#selector(route, q);
      const items = [...this.#store(r).values()]
        .filter(selects)
        .sort((a, b) =>
          `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(
            `${b.metadata.namespace}/${b.metadata.name}`,
          ),
        )
        .map(clone);
      page = { rv: this.#rv, items };
    }
    const limit = Number(q.get('limit') ?? '0');
    const end = limit > 0 ? Math.min(offset + limit, page.items.length) : page.items.length;
    const metadata: Json = { resourceVersion: String(page.rv) };
    if (end < page.items.length) {
      const id = randomUUID();
      this.#pages.set(id, page);
      metadata.continue = `${id}:${end}`;
    }
    const items = page.items.slice(offset, end).map((o) => {
      if (r.custom) return o;
      // Built-in lists omit each item's apiVersion and kind; clients must not rely on them.
      const { apiVersion: _a, kind: _k, ...rest } = o;
      return rest;
    });
    return { kind: `${r.kind}List`, apiVersion: apiVersionOf(r), metadata, items };
  }

  #watch(req: IncomingMessage, res: ServerResponse, route: Route, q: URLSearchParams): void {
    const from = q.get('resourceVersion') ?? '';
    const url = new URL(req.url ?? '/', 'http://fake');
    this.requests.push({
      method: 'WATCH',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      user: (req.headers.authorization ?? '').replace(/^Bearer /, ''),
      contentType: '',
      status: 200,
    });
    const tooOld = from !== '' && from !== '0' && Number(from) < this.#compactedRv;
    if (tooOld && this.goneAs === 'status') {
      this.requests.pop();
      this.#send(
        req,
        res,
        410,
        statusBody(410, 'Gone', `too old resource version: ${from} (${this.#compactedRv})`),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const selects = this.#selector(route, q);
    const w: Watcher = {
      resource: route.resource,
      selects,
      bookmarks: q.get('allowWatchBookmarks') === 'true',
      user: (req.headers.authorization ?? '').replace(/^Bearer /, ''),
      res,
    };
    if (route.namespace !== undefined) w.namespace = route.namespace;
    if (tooOld) {
      this.#write(w, {
        type: 'ERROR',
        object: statusBody(410, 'Expired', `too old resource version: ${from} (${this.#compactedRv})`),
      });
      res.end();
      return;
    }
    if (from === '' || from === '0') {
      // "Start at most recent": the current state as ADDED events, then changes.
      for (const o of this.#store(route.resource).values())
        if (selects(o)) this.#write(w, { type: 'ADDED', object: clone(o) });
    } else {
      for (const e of this.#history) if (e.rv > Number(from)) this.#deliver(w, e);
    }
    this.#watchers.add(w);
    const timeout = Number(q.get('timeoutSeconds') ?? '0');
    if (timeout > 0) {
      w.timer = setTimeout(() => {
        // The API server ends a watch at its timeout; with bookmarks allowed, one goes out first.
        if (w.bookmarks)
          this.#write(w, {
            type: 'BOOKMARK',
            object: {
              kind: w.resource.kind,
              apiVersion: apiVersionOf(w.resource),
              metadata: { resourceVersion: String(this.#rv) },
            },
          });
        this.#closeWatch(w, false);
      }, timeout * 1000);
    }
    res.on('close', () => {
      if (w.timer) clearTimeout(w.timer);
      this.#watchers.delete(w);
    });
  }
}
