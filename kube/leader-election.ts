/**
 * Leader election on a `coordination.k8s.io/v1` Lease, as client-go's leaderelection package does it:
 * every retry period, read the Lease; take it when it is free (no holder, or the holder's renewTime has
 * not moved for its leaseDurationSeconds as measured on *our* clock, so clock skew between pods does not
 * matter), renew it while we hold it, with the read resourceVersion as a precondition so two candidates
 * cannot both win (409 Conflict for the slower one). A leader that cannot renew within the renew deadline
 * stops leading before anyone else may take over; on shutdown it releases the Lease (empty holder), so a
 * successor takes over at once instead of after expiry.
 */
import { type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import type { Logger } from '../observability/logger.ts';
import { describeError, type KubeApi, statusCodeOf } from './api.ts';
import { sleep } from './backoff.ts';

export interface LeaderElectionOptions {
  api: KubeApi;
  namespace: string;
  name: string;
  /** Who we are: the pod name. */
  identity: string;
  /** How long a holder's claim lasts without renewal (client-go default 15s). */
  leaseDurationMs?: number;
  /** A leader that has not renewed for this long steps down (client-go default 10s); < leaseDuration. */
  renewDeadlineMs?: number;
  /** How often to try to acquire or renew (client-go default 2s). */
  retryPeriodMs?: number;
  logger: Logger;
  onStartedLeading?(): void;
  onStoppedLeading?(): void;
}

type Attempt = 'held' | 'taken' | 'failed';

export class LeaderElector {
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  #leading = false;
  #lastRenewed = 0;
  /** The Lease as last read, and when (our clock) it last changed. */
  #observed = '';
  #observedAt = 0;
  readonly #stop = new AbortController();
  #running: Promise<void> | undefined;
  readonly #log: Logger;

  constructor(private readonly options: LeaderElectionOptions) {
    this.#leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.#retryPeriodMs = options.retryPeriodMs ?? 2_000;
    this.#log = options.logger.child({
      lease: `${options.namespace}/${options.name}`,
      identity: options.identity,
    });
  }

  /** Leading, and renewed recently enough that nobody else can have taken over. */
  get isLeader(): boolean {
    return this.#leading && Date.now() - this.#lastRenewed < this.#renewDeadlineMs;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  /** Stops trying; a leader releases the Lease first. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
    if (this.#leading) {
      // Stop writing before letting go, so two writers never overlap.
      this.#setLeading(false);
      await this.#release();
    }
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      const attempt = await this.#tryAcquireOrRenew();
      if (signal.aborted) break;
      if (attempt === 'held') {
        this.#lastRenewed = Date.now();
        this.#setLeading(true);
      } else if (
        this.#leading &&
        (attempt === 'taken' || Date.now() - this.#lastRenewed >= this.#renewDeadlineMs)
      ) {
        this.#setLeading(false);
      }
      // Candidates jitter their retries so they do not collide on every attempt.
      const wait = this.#leading ? this.#retryPeriodMs : this.#retryPeriodMs * (1 + Math.random() * 0.2);
      await sleep(wait, signal);
    }
  }

  #setLeading(leading: boolean): void {
    if (leading === this.#leading) return;
    this.#leading = leading;
    if (leading) {
      this.#log.info({ event: 'kube_leader_elected' }, 'became the status writer');
      this.options.onStartedLeading?.();
    } else {
      this.#log.info({ event: 'kube_leader_lost' }, 'no longer the status writer');
      this.options.onStoppedLeading?.();
    }
  }

  #durationSeconds(): number {
    return Math.max(1, Math.ceil(this.#leaseDurationMs / 1000));
  }

  async #tryAcquireOrRenew(): Promise<Attempt> {
    const { api, namespace, name, identity } = this.options;
    const now = new V1MicroTime();
    let lease: V1Lease;
    try {
      lease = await api.readLease(namespace, name);
    } catch (error) {
      if (statusCodeOf(error) !== 404) {
        this.#log.warn({ event: 'kube_lease_failed', err: describeError(error) }, 'cannot read the lease');
        return 'failed';
      }
      try {
        await api.createLease(namespace, {
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: this.#durationSeconds(),
            acquireTime: now,
            renewTime: now,
            leaseTransitions: 0,
          },
        });
        return 'held';
      } catch (createError) {
        // 409: another candidate created it first.
        if (statusCodeOf(createError) !== 409)
          this.#log.warn(
            { event: 'kube_lease_failed', err: describeError(createError) },
            'cannot create the lease',
          );
        return 'failed';
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const record = JSON.stringify([holder, spec.renewTime, lease.metadata?.resourceVersion]);
    if (record !== this.#observed) {
      this.#observed = record;
      this.#observedAt = Date.now();
    }
    const durationMs = (spec.leaseDurationSeconds ?? this.#durationSeconds()) * 1000;
    if (holder !== '' && holder !== identity && this.#observedAt + durationMs > Date.now()) return 'taken';
    const transitions = spec.leaseTransitions ?? 0;
    const body: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { ...lease.metadata, name, namespace },
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds: this.#durationSeconds(),
        acquireTime: holder === identity && spec.acquireTime ? spec.acquireTime : now,
        renewTime: now,
        leaseTransitions: holder === identity ? transitions : transitions + 1,
      },
    };
    try {
      await api.replaceLease(namespace, name, body);
      return 'held';
    } catch (error) {
      // 409: someone else changed it since we read it; look again next period.
      if (statusCodeOf(error) !== 409)
        this.#log.warn({ event: 'kube_lease_failed', err: describeError(error) }, 'cannot update the lease');
      return 'failed';
    }
  }

  async #release(): Promise<void> {
    const { api, namespace, name, identity } = this.options;
    try {
      const lease = await api.readLease(namespace, name);
      if (lease.spec?.holderIdentity !== identity) return;
      const now = new V1MicroTime();
      await api.replaceLease(namespace, name, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { ...lease.metadata, name, namespace },
        spec: {
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: now,
          renewTime: now,
          leaseTransitions: lease.spec?.leaseTransitions ?? 0,
        },
      });
      this.#log.info({ event: 'kube_lease_released' }, 'released the lease');
    } catch (error) {
      this.#log.warn({ event: 'kube_lease_failed', err: describeError(error) }, 'cannot release the lease');
    }
  }
}
