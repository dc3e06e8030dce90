/**
 * `status` of RouteConfigs, ProviderBackends and APIKeys: `observedGeneration` and two metav1.Conditions,
 * `Accepted` (is this generation served?) and `ResolvedRefs` (do its Secrets, backends and RouteConfig
 * resolve?), with a reason and a message naming the field, e.g.
 *   Accepted=False Invalid "spec.routes[1].weight: must be an integer between 0 and 1000000"
 *   ResolvedRefs=False SecretNotFound "spec.secretRef: Secret "team-a" not found in namespace "apps""
 * Condition shape and semantics: k8s.io/apimachinery/pkg/apis/meta/v1 Condition (lastTransitionTime moves
 * only when `status` flips); types and reasons modelled on the Gateway API's.
 *
 * Written through the `/status` subresource with a JSON merge patch, only when what would be written
 * differs from what the object already says, and only while `canWrite()` (the elected leader).
 */
import type { Logger } from '../observability/logger.ts';
import { describeError, type KubeApi, statusCodeOf } from './api.ts';
import type { ConditionType, KubeProblem, ObjectOutcome } from './reconcile.ts';
import { RESOURCES, type StatusKind } from './resources.ts';

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

type Json = Record<string, unknown>;

/** metav1.Condition.message is at most 32768 characters; a person reads the first few problems anyway. */
const MAX_LISTED = 8;
/** Leaves room for the "(still serving generation N …)" note. */
const MAX_MESSAGE = 32_000;

function describe(problems: readonly KubeProblem[]): string {
  const text = problems
    .slice(0, MAX_LISTED)
    .map((p) => (p.path ? `${p.path}: ${p.message}` : p.message))
    .join('; ');
  const all = problems.length > MAX_LISTED ? `${text}; and ${problems.length - MAX_LISTED} more` : text;
  // Over the schema's limit the API server would refuse the whole status.
  return all.length > MAX_MESSAGE ? `${all.slice(0, MAX_MESSAGE - 1)}…` : all;
}

/** The two conditions for an outcome, without times. */
export function conditionsFor(outcome: ObjectOutcome): Omit<Condition, 'lastTransitionTime'>[] {
  const generation = outcome.generation;
  const withGeneration = (c: Omit<Condition, 'lastTransitionTime'>) =>
    generation === undefined ? c : { ...c, observedGeneration: generation };
  const refs = outcome.problems.filter((p) => p.condition === 'ResolvedRefs');
  const own = outcome.problems.filter((p) => p.condition === 'Accepted');
  const kept =
    outcome.serving?.version === 'previous'
      ? ` (still serving generation ${outcome.serving.generation ?? '?'}, the last accepted one)`
      : '';
  const accepted =
    outcome.problems.length === 0 && outcome.serving
      ? { type: 'Accepted', status: 'True' as const, reason: 'Accepted', message: 'accepted and in use' }
      : {
          type: 'Accepted',
          status: 'False' as const,
          reason: own[0]?.reason ?? (refs.length > 0 ? 'UnresolvedRefs' : 'Invalid'),
          message: `${describe(own.length > 0 ? own : refs) || 'not accepted'}${kept}`,
        };
  const resolved =
    refs.length > 0
      ? { type: 'ResolvedRefs', status: 'False' as const, reason: refs[0]!.reason, message: describe(refs) }
      : outcome.invalid
        ? {
            type: 'ResolvedRefs',
            status: 'Unknown' as const,
            reason: 'Invalid',
            message: 'references are checked once the spec is valid',
          }
        : {
            type: 'ResolvedRefs',
            status: 'True' as const,
            reason: 'ResolvedRefs',
            message: 'all references resolved',
          };
  return [withGeneration(accepted), withGeneration(resolved)];
}

const OWN_TYPES: readonly ConditionType[] = ['Accepted', 'ResolvedRefs'];

/** metav1.Time: RFC 3339, seconds. */
export function metaTime(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The status to write: our conditions (keeping each lastTransitionTime while its status holds), the
 * conditions other writers own, observedGeneration, and a served RouteConfig's route count.
 */
export function desiredStatus(outcome: ObjectOutcome, observed: Json | undefined, now: Date): Json {
  const before = Array.isArray(observed?.conditions) ? (observed.conditions as Json[]) : [];
  const ours = conditionsFor(outcome).map((c): Condition => {
    const previous = before.find((p) => p.type === c.type);
    const since =
      previous && previous.status === c.status && typeof previous.lastTransitionTime === 'string'
        ? previous.lastTransitionTime
        : metaTime(now);
    return { ...c, lastTransitionTime: since };
  });
  const others = before.filter((p) => !OWN_TYPES.includes(p.type as ConditionType));
  const status: Json = { conditions: [...ours, ...others] };
  if (outcome.generation !== undefined) status.observedGeneration = outcome.generation;
  // RouteConfig's "Routes" printer column reads this.
  if (outcome.routes !== undefined) status.routes = outcome.routes;
  return status;
}

/** What a status says, field by field in a fixed order, without times: equal text, nothing to write. */
export function statusKey(status: Json | undefined): string {
  const conditions = Array.isArray(status?.conditions) ? (status.conditions as Json[]) : [];
  return JSON.stringify([
    status?.observedGeneration ?? null,
    status?.routes ?? null,
    conditions.map((c) => [c.type, c.status, c.reason, c.message, c.observedGeneration ?? null]),
  ]);
}

export interface StatusTarget {
  kind: StatusKind;
  outcome: ObjectOutcome;
  /** The object's status as the cache last saw it. */
  observed: Json | undefined;
  /** metadata.uid: what was written for a deleted object says nothing about its namesake. */
  uid?: string;
}

export interface StatusWriterOptions {
  api: KubeApi;
  logger: Logger;
  /** Checked before every write: only the leader writes. */
  canWrite: () => boolean;
  /** Writes in flight at once. */
  concurrency?: number;
}

export class StatusWriter {
  readonly stats = { writes: 0, failures: 0 };
  /**
   * What we last wrote per object (without times), until the watch shows it: a pass that runs before our
   * own write comes back does not write it again.
   */
  readonly #written = new Map<string, string>();

  constructor(private readonly options: StatusWriterOptions) {}

  /** Forget what was written, so the next pass corrects anything that differs (resync, new leader). */
  forget(): void {
    this.#written.clear();
  }

  /** Writes every status that differs from what its object says; returns how many writes failed. */
  async sync(targets: readonly StatusTarget[], now = new Date()): Promise<number> {
    const live = new Set<string>();
    const queue: { id: string; target: StatusTarget; status: Json; key: string }[] = [];
    for (const target of targets) {
      const id = `${target.outcome.id}@${target.uid ?? ''}`;
      live.add(id);
      const status = desiredStatus(target.outcome, target.observed, now);
      const key = statusKey(status);
      if (key === statusKey(target.observed)) {
        this.#written.delete(id);
        continue;
      }
      if (this.#written.get(id) === key) continue;
      queue.push({ id, target, status, key });
    }
    for (const id of this.#written.keys()) if (!live.has(id)) this.#written.delete(id);
    let failures = 0;
    const worker = async () => {
      for (let item = queue.shift(); item; item = queue.shift()) {
        if (!this.options.canWrite()) return;
        if (!(await this.#write(item.target, item.status))) failures += 1;
        else this.#written.set(item.id, item.key);
      }
    };
    await Promise.all(Array.from({ length: this.options.concurrency ?? 4 }, worker));
    return failures;
  }

  async #write(target: StatusTarget, status: Json): Promise<boolean> {
    const { outcome } = target;
    try {
      await this.options.api.patchStatus(RESOURCES[target.kind], outcome.namespace, outcome.name, status);
      this.stats.writes += 1;
      this.options.logger.debug(
        { event: 'kube_status_written', object: outcome.id, generation: outcome.generation },
        'status written',
      );
      return true;
    } catch (error) {
      // Deleted meanwhile: nothing left to describe.
      if (statusCodeOf(error) === 404) return true;
      this.stats.failures += 1;
      this.options.logger.warn(
        { event: 'kube_status_failed', object: outcome.id, err: describeError(error) },
        'status write failed; will retry',
      );
      return false;
    }
  }
}
