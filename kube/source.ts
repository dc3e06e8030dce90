/**
 * Kubernetes mode: the configuration comes from the API server instead of a file. Reflectors keep a cache
 * of RouteConfigs, ProviderBackends, APIKeys, InferencePools, the Secrets meant for agent-router (by
 * label) and the Pods the InferencePools select (one label-selected watch per pool selector); every
 * relevant change, debounced, runs the same validation and compile as file mode (see reconcile.ts for how
 * an invalid object is set aside without blocking the rest) and publishes the snapshot when what was
 * compiled changed. The elected leader then brings each object's status in line (status.ts).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { CompileOptions } from '../config/compile.ts';
import type { FileWatchHandlers } from '../config/file-source.ts';
import type { SecretManifest } from '../config/manifests.ts';
import { ConfigError, formatProblem } from '../config/problems.ts';
import { secretString } from '../config/secrets.ts';
import type { Snapshot } from '../config/snapshot.ts';
import type { Logger } from '../observability/logger.ts';
import { KubeApi } from './api.ts';
import { Backoff, type BackoffOptions, DEFAULT_BACKOFF } from './backoff.ts';
import { LeaderElector } from './leader-election.ts';
import {
  type Candidate,
  type KubeProblem,
  type ObjectOutcome,
  type ReconcileOptions,
  reconcile,
} from './reconcile.ts';
import { type ChangeKind, Reflector } from './reflector.ts';
import {
  ALL_KINDS,
  type CachedObject,
  RESOURCES,
  STATUS_KINDS,
  type StatusKind,
  type WatchedKind,
} from './resources.ts';
import { type StatusTarget, StatusWriter } from './status.ts';

/**
 * Only Secrets with this label are read: agent-router never lists or caches other Secrets (RBAC cannot
 * narrow `list`/`watch` by label, but the cache and the traffic stay limited to what is meant for it).
 */
export const DEFAULT_SECRET_SELECTOR = 'agentrouter.dev/secret=true';

export interface StatusOptions {
  /**
   * Compete for a Lease and write only while holding it (default). false: write unconditionally, for a
   * single replica (two unelected writers would not storm, each writes only what differs, but would race).
   */
  elect?: boolean;
  /** The Lease holder identity: the pod name. */
  identity: string;
  leaseNamespace: string;
  leaseName?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface KubeSourceOptions {
  kubeConfig: KubeConfig;
  namespaces: readonly string[] | 'all';
  logger: Logger;
  /** What to watch (default: everything). The endpoint picker needs only InferencePools and Pods. */
  kinds?: readonly WatchedKind[];
  compile?: CompileOptions;
  /**
   * Where Secrets are read (default: `namespaces`). Secret access is best granted per namespace (the
   * chart never grants it cluster-wide); a reference to a Secret elsewhere reads as SecretNotFound.
   */
  secretNamespaces?: readonly string[] | 'all';
  secretLabelSelector?: string;
  /** Changes closer together than this are compiled once (default 100ms). */
  debounceMs?: number;
  /** Recompile and re-check every status this often, whatever happened (default 5 min). */
  resyncMs?: number;
  /** Server-side watch timeout, randomised up to twice as long (default 300s, as client-go). */
  watchTimeoutSeconds?: number;
  backoff?: BackoffOptions;
  /** How long a new pool's Pod watch may hold back the snapshot that first serves the pool (default 5s). */
  podSyncWaitMs?: number;
  /** Write status (as the elected leader); false or absent: never write. */
  status?: StatusOptions | false;
}

export interface KubeSource {
  readonly snapshot: Snapshot;
  readonly problems: readonly KubeProblem[];
  /** Per object ("Kind namespace/name"): what was decided about it. */
  readonly outcomes: ReadonlyMap<string, ObjectOutcome>;
  readonly isLeader: boolean;
  readonly stats: { passes: number; published: number; statusWrites: number; lists: number };
  /** Snapshots and problems from now on, with the file watcher's handler shape. */
  subscribe(handlers: FileWatchHandlers): { close(): void };
  /** Recompiles and re-checks every status now (as the periodic resync does). */
  resync(): void;
  /**
   * A value of a Secret the source watches (in the Secret namespaces, with the label), as cached now;
   * undefined when there is no such Secret or key. For values a service reads itself, not through the
   * compiled configuration (the console's admin token).
   */
  secretValue(namespace: string, name: string, key: string): string | undefined;
  close(): Promise<void>;
}

/** Starts watching; resolves once everything is listed and the first snapshot is compiled. */
export async function startKubeSource(options: KubeSourceOptions): Promise<KubeSource> {
  const source = new KubernetesSource(options);
  await source.start();
  return source;
}

class KubernetesSource implements KubeSource {
  readonly #options: KubeSourceOptions;
  readonly #api: KubeApi;
  readonly #log: Logger;
  readonly #kinds: ReadonlySet<WatchedKind>;
  readonly #secretSelector: string;
  readonly #base: Reflector[] = [];
  /** Pod watches by "namespace\0selector". */
  readonly #pods = new Map<string, Reflector>();
  readonly #subscribers = new Set<FileWatchHandlers>();
  readonly #writer: StatusWriter | undefined;
  readonly #elector: LeaderElector | undefined;
  readonly #statusRetry = new Backoff(DEFAULT_BACKOFF);
  #snapshot: Snapshot | undefined;
  #problems: KubeProblem[] = [];
  #problemsKey = '';
  #outcomes = new Map<string, ObjectOutcome>();
  #lastGood = new Map<string, Candidate>();
  #fingerprint = '';
  #version: number;
  #dirty: ChangeKind | undefined;
  #ready = false;
  #closed = false;
  #running = false;
  #inFlight: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  readonly stats = { passes: 0, published: 0, statusWrites: 0, lists: 0 };

  constructor(options: KubeSourceOptions) {
    this.#options = options;
    this.#api = new KubeApi(options.kubeConfig);
    this.#log = options.logger.child({ component: 'kube-source' });
    this.#kinds = new Set(options.kinds ?? ALL_KINDS);
    this.#secretSelector = options.secretLabelSelector ?? DEFAULT_SECRET_SELECTOR;
    this.#version = options.compile?.version ?? 1;
    const scopes = (namespaces: readonly string[] | 'all') =>
      namespaces === 'all' ? [undefined] : [...new Set(namespaces)];
    for (const kind of this.#kinds) {
      if (kind === 'Pod') continue; // watched per InferencePool selector
      const where = kind === 'Secret' ? (options.secretNamespaces ?? options.namespaces) : options.namespaces;
      for (const namespace of scopes(where)) this.#base.push(this.#reflector(kind, namespace));
    }
    const status = options.status;
    if (status && STATUS_KINDS.some((k) => this.#kinds.has(k))) {
      this.#writer = new StatusWriter({
        api: this.#api,
        logger: this.#log,
        canWrite: () => this.isLeader && !this.#closed,
      });
    }
    if (this.#writer && status && status.elect !== false) {
      this.#elector = new LeaderElector({
        api: this.#api,
        namespace: status.leaseNamespace,
        name: status.leaseName ?? 'agent-router-status',
        identity: status.identity,
        logger: this.#log,
        ...(status.leaseDurationMs !== undefined ? { leaseDurationMs: status.leaseDurationMs } : {}),
        ...(status.renewDeadlineMs !== undefined ? { renewDeadlineMs: status.renewDeadlineMs } : {}),
        ...(status.retryPeriodMs !== undefined ? { retryPeriodMs: status.retryPeriodMs } : {}),
        onStartedLeading: () => {
          // A new leader trusts nothing it did not see: re-check every status.
          this.#writer?.forget();
          this.#schedule('status');
        },
      });
    }
  }

  get snapshot(): Snapshot {
    if (!this.#snapshot) throw new Error('the Kubernetes source has not synced yet');
    return this.#snapshot;
  }

  get problems(): readonly KubeProblem[] {
    return this.#problems;
  }

  get outcomes(): ReadonlyMap<string, ObjectOutcome> {
    return this.#outcomes;
  }

  /** Whether this process writes status now: the Lease holder, or any writer when election is off. */
  get isLeader(): boolean {
    if (!this.#writer) return false;
    return this.#elector ? this.#elector.isLeader : true;
  }

  async start(): Promise<void> {
    this.#log.info(
      {
        event: 'kube_source_starting',
        namespaces: this.#options.namespaces,
        secretNamespaces: this.#options.secretNamespaces ?? this.#options.namespaces,
        kinds: [...this.#kinds],
        secretSelector: this.#secretSelector,
      },
      'listing and watching configuration',
    );
    for (const r of this.#base) r.start();
    await Promise.all(this.#base.map((r) => r.waitForSync()));
    if (this.#closed) return;
    this.#ready = true;
    this.#dirty = 'spec';
    this.#inFlight = this.#pass();
    await this.#inFlight;
    this.#elector?.start();
    const resyncMs = this.#options.resyncMs ?? 5 * 60_000;
    this.#resyncTimer = setInterval(() => this.resync(), resyncMs);
    this.#resyncTimer.unref();
  }

  subscribe(handlers: FileWatchHandlers): { close(): void } {
    this.#subscribers.add(handlers);
    return { close: () => this.#subscribers.delete(handlers) };
  }

  resync(): void {
    this.#writer?.forget();
    this.#schedule('spec');
  }

  secretValue(namespace: string, name: string, key: string): string | undefined {
    for (const r of this.#base) {
      const found = r.objects.get(`${namespace}/${name}`);
      if (found?.kind === 'Secret') return secretString(found.doc as unknown as SecretManifest, key);
    }
    return undefined;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#retryTimer);
    clearInterval(this.#resyncTimer);
    // Let a pass in flight finish its writes before the Lease goes, so two writers never overlap.
    await this.#inFlight;
    await this.#elector?.stop();
    await Promise.all([...this.#base, ...this.#pods.values()].map((r) => r.stop()));
    this.#subscribers.clear();
  }

  #reflector(kind: WatchedKind, namespace: string | undefined, labelSelector?: string): Reflector {
    const selector = kind === 'Secret' ? this.#secretSelector : labelSelector;
    return new Reflector({
      api: this.#api,
      resource: RESOURCES[kind],
      ...(namespace !== undefined ? { namespace } : {}),
      ...(selector !== undefined ? { labelSelector: selector } : {}),
      backoff: this.#options.backoff ?? DEFAULT_BACKOFF,
      watchTimeoutSeconds: this.#options.watchTimeoutSeconds ?? 300,
      logger: this.#log,
      onChange: (change) => this.#schedule(change),
    });
  }

  #schedule(change: ChangeKind): void {
    this.#dirty = this.#dirty === 'spec' || change === 'spec' ? 'spec' : 'status';
    if (!this.#ready || this.#closed || this.#timer || this.#running) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#inFlight = this.#pass();
    }, this.#options.debounceMs ?? 100);
  }

  /** One recompile and/or status pass; changes that arrive meanwhile get the next one. */
  async #pass(): Promise<void> {
    if (this.#running || this.#closed) return;
    this.#running = true;
    const change = this.#dirty;
    this.#dirty = undefined;
    try {
      if (change === 'spec') await this.#recompile();
      if (change !== undefined) await this.#syncStatus();
    } catch (error) {
      this.#log.error({ event: 'kube_reconcile_failed', err: (error as Error).message }, 'reconcile failed');
    } finally {
      this.stats.passes += 1;
      this.#running = false;
    }
    if (this.#dirty !== undefined) this.#schedule(this.#dirty);
  }

  #allObjects(): CachedObject[] {
    const byId = new Map<string, CachedObject>();
    for (const r of [...this.#base, ...this.#pods.values()])
      for (const o of r.objects.values()) byId.set(o.id, o);
    return [...byId.values()];
  }

  async #recompile(): Promise<void> {
    const reconcileOptions: ReconcileOptions = {
      ...this.#options.compile,
      version: this.#version + 1,
    };
    const secretHint = this.#secretHint();
    if (secretHint) reconcileOptions.secretHint = secretHint;
    let result = reconcile(this.#allObjects(), this.#lastGood, reconcileOptions);
    // The Pods to read follow the pools served; when that set moves, compile again with the new Pods
    // (bounded: a pool's selector comes from the cache, which this loop does not change).
    for (let round = 0; round < 3 && (await this.#syncPodWatches(result.snapshot)); round += 1)
      result = reconcile(this.#allObjects(), this.#lastGood, reconcileOptions);
    this.#lastGood = result.lastGood;
    this.#outcomes = result.outcomes;
    this.#problems = result.problems;
    this.stats.lists = [...this.#base, ...this.#pods.values()].reduce((n, r) => n + r.stats.lists, 0);
    const published = result.fingerprint !== this.#fingerprint;
    if (published) {
      this.#fingerprint = result.fingerprint;
      this.#version += 1;
      this.#snapshot = result.snapshot;
      this.stats.published += 1;
    }
    const problemsKey = JSON.stringify(result.problems.map((p) => [p.object, p.path, p.message]));
    const problemsChanged = problemsKey !== this.#problemsKey;
    this.#problemsKey = problemsKey;
    if (problemsChanged)
      for (const p of result.problems)
        this.#log.warn(
          { event: 'kube_object_rejected', object: p.object, reason: p.reason },
          formatProblem(p),
        );
    if (published) {
      this.#log.info(
        {
          event: 'config_applied',
          version: result.snapshot.version,
          rejectedObjects: [...result.outcomes.values()].filter((o) => o.problems.length > 0).length,
        },
        'configuration from Kubernetes applied',
      );
      for (const s of this.#subscribers) s.onSnapshot(result.snapshot);
    }
    if (problemsChanged && result.problems.length > 0)
      for (const s of this.#subscribers) s.onRejected(new ConfigError(result.problems));
  }

  /** Which Secrets are visible, for "Secret not found" messages. */
  #secretHint(): string | undefined {
    const where = this.#options.secretNamespaces ?? this.#options.namespaces;
    const labelled = this.#secretSelector ? ` labelled ${this.#secretSelector}` : '';
    const scope = where === 'all' ? '' : ` in namespace${where.length > 1 ? 's' : ''} ${where.join(', ')}`;
    return labelled || scope ? `agent-router reads only Secrets${labelled}${scope}` : undefined;
  }

  /**
   * One Pod watch per distinct (namespace, selector) among the InferencePools the snapshot serves (the
   * current version, or the last good one). Returns whether the set of watches changed.
   */
  async #syncPodWatches(snapshot: Snapshot): Promise<boolean> {
    if (!this.#kinds.has('Pod')) return false;
    const wanted = new Map<string, { namespace: string; selector: string }>();
    for (const pool of snapshot.inferencePools) {
      const selector = Object.entries(pool.spec.selector.matchLabels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .sort()
        .join(',');
      wanted.set(`${pool.metadata.namespace}\0${selector}`, { namespace: pool.metadata.namespace, selector });
    }
    const started: Reflector[] = [];
    for (const [key, scope] of wanted) {
      if (this.#pods.has(key)) continue;
      const r = this.#reflector('Pod', scope.namespace, scope.selector);
      this.#pods.set(key, r);
      r.start();
      started.push(r);
    }
    const stopping: Promise<void>[] = [];
    for (const [key, r] of this.#pods) {
      if (wanted.has(key)) continue;
      this.#pods.delete(key);
      stopping.push(r.stop());
    }
    await Promise.all(stopping);
    if (started.length > 0) {
      // A new pool is served with its Pods, not empty first; a slow Pod list does not hold up the rest long.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(started.map((r) => r.waitForSync())),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, this.#options.podSyncWaitMs ?? 5_000);
        }),
      ]);
      clearTimeout(timer);
    }
    return started.length > 0 || stopping.length > 0;
  }

  async #syncStatus(): Promise<void> {
    if (!this.#writer || !this.isLeader) return;
    const observed = new Map<string, CachedObject>();
    for (const r of this.#base)
      for (const o of r.objects.values())
        if (STATUS_KINDS.includes(o.kind as StatusKind)) observed.set(o.id, o);
    const targets: StatusTarget[] = [];
    for (const outcome of this.#outcomes.values()) {
      const o = observed.get(outcome.id);
      if (!o) continue;
      targets.push({ kind: outcome.kind as StatusKind, outcome, observed: o.status, uid: o.uid });
    }
    const failures = await this.#writer.sync(targets);
    this.stats.statusWrites = this.#writer.stats.writes;
    clearTimeout(this.#retryTimer);
    if (failures === 0) {
      this.#statusRetry.reset();
      return;
    }
    this.#retryTimer = setTimeout(() => this.#schedule('status'), this.#statusRetry.next());
  }
}
