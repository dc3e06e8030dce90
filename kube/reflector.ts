/**
 * One list+watch loop keeping a cache of one resource in one scope (a namespace or all, optionally a
 * label selector), in the manner of client-go's reflector:
 *
 * - LIST (paged), remember the list's resourceVersion, then WATCH from it with bookmarks allowed;
 * - every event, BOOKMARK included, advances the resourceVersion, so a reconnect resumes exactly where
 *   the stream stopped and the API server replays whatever happened meanwhile (no lost update);
 * - `410 Gone` (an ERROR event with code 410, or an HTTP 410) means that history is compacted: relist,
 *   and derive deletions from what the new list no longer holds;
 * - a watch that ends normally (server-side `timeoutSeconds`) is reopened at once; a failed list or
 *   watch is retried with exponential backoff and jitter; a watch silent for longer than its timeout
 *   allows is treated as a dead connection and reopened.
 *
 * Why not `makeInformer`/`ListWatch` from @kubernetes/client-node 1.4: it stops for good on any
 * non-410 error (the caller must restart it, with no backoff), does not ask for bookmarks, sets no
 * watch timeout (a half-open connection hangs forever), and reconnects a closed watch in a tight loop.
 * Its `Watch` (streaming GET with the KubeConfig's authentication) is used as is.
 */
import type { Logger } from '../observability/logger.ts';
import { describeError, type KubeApi, statusCodeOf, type WatchEventType } from './api.ts';
import { Backoff, type BackoffOptions, sleep } from './backoff.ts';
import { type CachedObject, project, type ResourceType, type WatchedKind } from './resources.ts';

export type ChangeKind = 'spec' | 'status';

export interface ReflectorOptions {
  api: KubeApi;
  resource: ResourceType;
  /** Undefined: all namespaces. */
  namespace?: string;
  labelSelector?: string;
  backoff: BackoffOptions;
  /** Server-side watch timeout; each watch asks for a random value in [t, 2t], spreading reconnects. */
  watchTimeoutSeconds: number;
  logger: Logger;
  /** A relevant change ('spec': what compiles changed; 'status': only an object's status did). */
  onChange(change: ChangeKind): void;
}

type WatchEnd =
  | { reason: 'closed'; events: number; lastedMs: number }
  | { reason: 'gone' }
  | { reason: 'error'; error: unknown }
  | { reason: 'stopped' };

/** A watch this long is healthy even if it carried no events; the next failure starts backoff afresh. */
const HEALTHY_WATCH_MS = 30_000;

export class Reflector {
  /** "namespace/name" → object. */
  readonly objects = new Map<string, CachedObject>();
  /** Counters, for logs and tests. */
  readonly stats = { lists: 0, watches: 0, relistsAfterGone: 0 };
  #resourceVersion = '';
  #synced = false;
  readonly #syncedWaiters: (() => void)[] = [];
  readonly #stop = new AbortController();
  #endWatch: (() => void) | undefined;
  #running: Promise<void> | undefined;
  readonly #log: Logger;

  constructor(private readonly options: ReflectorOptions) {
    this.#log = options.logger.child({
      resource: options.resource.plural,
      namespace: options.namespace ?? '*',
      ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
    });
  }

  get kind(): WatchedKind {
    return this.options.resource.kind;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  /** True once the first list has been applied. */
  get hasSynced(): boolean {
    return this.#synced;
  }

  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  /** Resolves after the first list (or on stop). */
  waitForSync(): Promise<void> {
    if (this.#synced || this.#stop.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => this.#syncedWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    this.#endWatch?.();
    for (const resolve of this.#syncedWaiters.splice(0)) resolve();
    await this.#running;
  }

  async #run(): Promise<void> {
    const backoff = new Backoff(this.options.backoff);
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      if (this.#resourceVersion === '') {
        try {
          await this.#list();
        } catch (error) {
          if (signal.aborted) break;
          if (statusCodeOf(error) === 404 && !this.#synced) {
            // The kind is not served (its CRD is not installed, e.g. no Gateway API Inference Extension):
            // carry on without it rather than never start, and pick it up once it appears.
            this.#log.warn(
              { event: 'kube_kind_missing', err: describeError(error) },
              `${this.options.resource.plural}.${this.options.resource.group || 'core'} is not served by the API server (CRD not installed?); continuing without it`,
            );
            this.#markSynced();
          } else {
            this.#log.warn({ event: 'kube_list_failed', err: describeError(error) }, 'list failed; retrying');
          }
          await sleep(backoff.next(), signal);
          continue;
        }
      }
      const end = await this.#watchOnce();
      switch (end.reason) {
        case 'stopped':
          return;
        case 'gone':
          // History was compacted past our resourceVersion: only a fresh list can catch up.
          this.stats.relistsAfterGone += 1;
          this.#log.info({ event: 'kube_watch_gone' }, 'resourceVersion too old (410 Gone); relisting');
          this.#resourceVersion = '';
          break;
        case 'closed':
          if (end.events > 0 || end.lastedMs >= HEALTHY_WATCH_MS) {
            backoff.reset();
            break;
          }
          // Closed at once with nothing in it: do not spin.
          await sleep(backoff.next(), signal);
          break;
        case 'error':
          this.#log.warn(
            { event: 'kube_watch_failed', err: describeError(end.error) },
            'watch failed; reconnecting from the last resourceVersion',
          );
          await sleep(backoff.next(), signal);
          break;
      }
    }
  }

  async #list(): Promise<void> {
    const scope = {
      ...(this.options.namespace !== undefined ? { namespace: this.options.namespace } : {}),
      ...(this.options.labelSelector ? { labelSelector: this.options.labelSelector } : {}),
    };
    this.stats.lists += 1;
    const list = await this.options.api.list(this.options.resource, scope);
    const next = new Map<string, CachedObject>();
    for (const raw of list.items) {
      const o = project(this.options.resource.kind, raw);
      if (o) next.set(`${o.namespace}/${o.name}`, o);
    }
    let change: ChangeKind | undefined;
    for (const [key, o] of next) change = strongest(change, compare(this.objects.get(key), o));
    for (const key of this.objects.keys()) if (!next.has(key)) change = 'spec';
    this.objects.clear();
    for (const [key, o] of next) this.objects.set(key, o);
    this.#resourceVersion = list.resourceVersion;
    this.#log.debug(
      { event: 'kube_listed', items: next.size, resourceVersion: list.resourceVersion },
      'listed',
    );
    if (!this.#synced) {
      this.#markSynced();
      this.options.onChange('spec');
    } else if (change) this.options.onChange(change);
  }

  #markSynced(): void {
    this.#synced = true;
    for (const resolve of this.#syncedWaiters.splice(0)) resolve();
  }

  #watchOnce(): Promise<WatchEnd> {
    const signal = this.#stop.signal;
    if (signal.aborted) return Promise.resolve({ reason: 'stopped' });
    const timeoutSeconds = Math.round(this.options.watchTimeoutSeconds * (1 + Math.random()));
    // The server ends the watch at its timeout; silence well beyond that means a dead connection.
    const idleMs = (timeoutSeconds + Math.max(5, timeoutSeconds / 2)) * 1000;
    const started = Date.now();
    this.stats.watches += 1;
    return new Promise<WatchEnd>((resolve) => {
      let events = 0;
      let settled = false;
      let abort: (() => void) | undefined;
      let idle: NodeJS.Timeout | undefined;
      const finish = (end: WatchEnd) => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        this.#endWatch = undefined;
        abort?.();
        resolve(end);
      };
      const armIdle = () => {
        clearTimeout(idle);
        idle = setTimeout(
          () => finish({ reason: 'error', error: new Error(`no data for ${idleMs / 1000}s`) }),
          idleMs,
        );
      };
      this.#endWatch = () => finish({ reason: 'stopped' });
      armIdle();
      const scope = {
        resourceVersion: this.#resourceVersion,
        timeoutSeconds,
        ...(this.options.namespace !== undefined ? { namespace: this.options.namespace } : {}),
        ...(this.options.labelSelector ? { labelSelector: this.options.labelSelector } : {}),
      };
      this.options.api
        .watch(
          this.options.resource,
          scope,
          (type, object) => {
            if (settled) return;
            events += 1;
            armIdle();
            if (type === 'ERROR') {
              const status = object as { code?: number; message?: string } | undefined;
              finish(
                status?.code === 410
                  ? { reason: 'gone' }
                  : {
                      reason: 'error',
                      error: new Error(`watch error event: ${status?.message ?? 'unknown'}`),
                    },
              );
              return;
            }
            this.#apply(type, object);
          },
          (error) => {
            if (signal.aborted) finish({ reason: 'stopped' });
            else if (error && statusCodeOf(error) === 410) finish({ reason: 'gone' });
            else if (error && !isPrematureClose(error) && !isAbort(error)) finish({ reason: 'error', error });
            else finish({ reason: 'closed', events, lastedMs: Date.now() - started });
          },
        )
        .then(
          (end) => {
            abort = end;
            if (settled) end();
          },
          (error: unknown) => finish({ reason: 'error', error }),
        );
    });
  }

  #apply(type: WatchEventType, raw: unknown): void {
    const rv = (raw as { metadata?: { resourceVersion?: unknown } } | undefined)?.metadata?.resourceVersion;
    if (type !== 'BOOKMARK') {
      const o = project(this.options.resource.kind, raw);
      if (o) {
        const key = `${o.namespace}/${o.name}`;
        let change: ChangeKind | undefined;
        if (type === 'DELETED') {
          if (this.objects.delete(key)) change = 'spec';
        } else {
          change = compare(this.objects.get(key), o);
          this.objects.set(key, o);
        }
        if (change) this.options.onChange(change);
      }
    }
    // A bookmark carries only a resourceVersion: resuming from it skips nothing we have not seen.
    if (typeof rv === 'string' && rv !== '') this.#resourceVersion = rv;
  }
}

function compare(before: CachedObject | undefined, after: CachedObject): ChangeKind | undefined {
  if (!before || before.docText !== after.docText) return 'spec';
  if (JSON.stringify(before.status) !== JSON.stringify(after.status)) return 'status';
  return undefined;
}

function strongest(a: ChangeKind | undefined, b: ChangeKind | undefined): ChangeKind | undefined {
  return a === 'spec' || b === 'spec' ? 'spec' : (a ?? b);
}

/** The stream ended because the server closed the connection (a drop, a restart): reconnect, no alarm. */
function isPrematureClose(error: unknown): boolean {
  return (error as { code?: unknown }).code === 'ERR_STREAM_PREMATURE_CLOSE';
}

function isAbort(error: unknown): boolean {
  return (error as { name?: unknown }).name === 'AbortError';
}
