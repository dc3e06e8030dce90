/**
 * The few API calls agent-router makes, on `@kubernetes/client-node`'s typed clients (lists, status
 * patches, Leases) and its `Watch` (a streaming GET), so authentication — in-cluster service account,
 * kubeconfig, exec plugins, client certificates — is the library's, configured once in a KubeConfig.
 */
import {
  type ApiException,
  CoordinationV1Api,
  CoreV1Api,
  type CoreV1Event,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Lease,
  Watch,
} from '@kubernetes/client-node';
import { collectionPath, type ResourceType } from './resources.ts';

/** Page size for lists, as client-go's reflector uses, so a large namespace is not one giant response. */
const LIST_PAGE = 500;

export interface ListScope {
  /** Undefined: all namespaces. */
  namespace?: string;
  labelSelector?: string;
}

export interface ListResult {
  items: unknown[];
  resourceVersion: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** The HTTP status of a failed call, from either the typed clients or `Watch`. */
export function statusCodeOf(error: unknown): number | undefined {
  const e = error as { code?: unknown; statusCode?: unknown } | undefined;
  if (typeof e?.code === 'number') return e.code;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  return undefined;
}

/** A short description of a failure for logs (the typed clients put the whole response in the message). */
export function describeError(error: unknown): string {
  const code = statusCodeOf(error);
  const body = (error as ApiException<unknown> | undefined)?.body;
  const message =
    typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string'
      ? (body as { message: string }).message
      : error instanceof Error
        ? error.message.split('\n')[0]
        : String(error);
  return code === undefined ? (message ?? 'unknown error') : `HTTP ${code}: ${message}`;
}

export class KubeApi {
  readonly #core: CoreV1Api;
  readonly #custom: CustomObjectsApi;
  readonly #coordination: CoordinationV1Api;
  readonly #watch: Watch;

  constructor(kubeConfig: KubeConfig) {
    this.#core = kubeConfig.makeApiClient(CoreV1Api);
    this.#custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.#coordination = kubeConfig.makeApiClient(CoordinationV1Api);
    this.#watch = new Watch(kubeConfig);
  }

  /**
   * Lists every page. The resourceVersion is the first page's: later pages come from the same snapshot
   * (the API server answers 410 when it cannot serve them any more; the caller starts over).
   */
  async list(r: ResourceType, scope: ListScope): Promise<ListResult> {
    const items: unknown[] = [];
    let resourceVersion = '';
    let token: string | undefined;
    do {
      const page = (await this.#listPage(r, scope, token)) as {
        items?: unknown[];
        metadata?: { resourceVersion?: string; _continue?: string; continue?: string };
      };
      if (token === undefined) resourceVersion = page.metadata?.resourceVersion ?? '';
      items.push(...(page.items ?? []));
      // Typed lists name it `_continue`; custom-object lists are raw JSON (`continue`).
      token = page.metadata?._continue || page.metadata?.continue || undefined;
    } while (token);
    return { items, resourceVersion };
  }

  #listPage(r: ResourceType, scope: ListScope, token: string | undefined): Promise<unknown> {
    const common = {
      limit: LIST_PAGE,
      ...(scope.labelSelector ? { labelSelector: scope.labelSelector } : {}),
      ...(token ? { _continue: token } : {}),
    };
    const ns = scope.namespace;
    if (r.kind === 'Secret')
      return ns === undefined
        ? this.#core.listSecretForAllNamespaces(common)
        : this.#core.listNamespacedSecret({ ...common, namespace: ns });
    if (r.kind === 'Pod')
      return ns === undefined
        ? this.#core.listPodForAllNamespaces(common)
        : this.#core.listNamespacedPod({ ...common, namespace: ns });
    const gvp = { group: r.group, version: r.version, plural: r.plural, ...common };
    return ns === undefined
      ? this.#custom.listClusterCustomObject(gvp)
      : this.#custom.listNamespacedCustomObject({ ...gvp, namespace: ns });
  }

  /**
   * Opens a watch from `resourceVersion` with bookmarks; `onEvent` gets each event, `onDone` is called
   * once when the stream ends (error or not). Returns a function that ends it.
   */
  async watch(
    r: ResourceType,
    scope: ListScope & { resourceVersion: string; timeoutSeconds: number },
    onEvent: (type: WatchEventType, object: unknown) => void,
    onDone: (error: unknown) => void,
  ): Promise<() => void> {
    const query: Record<string, string | number | boolean> = {
      resourceVersion: scope.resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: scope.timeoutSeconds,
    };
    if (scope.labelSelector) query.labelSelector = scope.labelSelector;
    const controller = await this.#watch.watch(
      collectionPath(r, scope.namespace),
      query,
      (type: string, object: unknown) => onEvent(type as WatchEventType, object),
      onDone,
    );
    return () => controller.abort();
  }

  /** Merge-patches the `/status` subresource of one of our objects. */
  async patchStatus(r: ResourceType, namespace: string, name: string, status: unknown): Promise<unknown> {
    return this.#custom.patchNamespacedCustomObjectStatus(
      { group: r.group, version: r.version, plural: r.plural, namespace, name, body: { status } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  /** Records a core/v1 Event (what `kubectl describe` and `kubectl get events` show). */
  createEvent(namespace: string, body: CoreV1Event): Promise<CoreV1Event> {
    return this.#core.createNamespacedEvent({ namespace, body });
  }

  readLease(namespace: string, name: string): Promise<V1Lease> {
    return this.#coordination.readNamespacedLease({ namespace, name });
  }

  createLease(namespace: string, body: V1Lease): Promise<V1Lease> {
    return this.#coordination.createNamespacedLease({ namespace, body });
  }

  /** Replaces the Lease; the body's resourceVersion makes a concurrent change fail with 409. */
  replaceLease(namespace: string, name: string, body: V1Lease): Promise<V1Lease> {
    return this.#coordination.replaceNamespacedLease({ namespace, name, body });
  }
}
