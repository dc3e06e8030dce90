/**
 * The rollout controller's state where Kubernetes users look for it:
 * - `status.rollouts` of each RouteConfig, as a merge patch of that one field through the `/status`
 *   subresource, so it sits beside the conditions ext-proc writes there (kube/status.ts merge-patches its
 *   own fields) without either overwriting the other; written only when it changed.
 * - a core/v1 Event on the RouteConfig for every step, completion and rollback (`kubectl describe
 *   routeconfig` and `kubectl get events` show them): Normal RolloutAdvanced / RolloutCompleted, Warning
 *   RolloutRolledBack.
 */
import { randomUUID } from 'node:crypto';
import type { KubeApi } from '../../kube/api.ts';
import { RESOURCES } from '../../kube/resources.ts';
import type { RolloutReporter, RolloutStatus } from './controller.ts';
import type { RolloutPhase, StepState } from './decide.ts';

export const ROLLOUT_COMPONENT = 'agent-router-console';

const PHASES: Readonly<Record<RolloutPhase, string>> = {
  progressing: 'Progressing',
  completed: 'Completed',
  'rolled-back': 'RolledBack',
  paused: 'Paused',
};

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const PHASE_OF: Readonly<Record<string, RolloutPhase>> = Object.fromEntries(
  Object.entries(PHASES).map(([phase, name]) => [name, phase as RolloutPhase]),
);

/** A status.rollouts entry back as the controller's step state; undefined when it is not one. */
export function stepStateOf(entry: unknown): { model: string; state: StepState } | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const e = entry as Record<string, unknown>;
  const phase = typeof e.phase === 'string' ? PHASE_OF[e.phase] : undefined;
  const since = typeof e.stepStartedAt === 'string' ? Date.parse(e.stepStartedAt) : Number.NaN;
  if (
    typeof e.model !== 'string' ||
    typeof e.stage !== 'number' ||
    phase === undefined ||
    Number.isNaN(since)
  )
    return undefined;
  const state: StepState = { stage: e.stage, since, phase };
  if (phase === 'rolled-back' && typeof e.reason === 'string') state.reason = e.reason;
  return { model: e.model, state };
}

/** One rollout as status.rollouts holds it (the CRD's schema). */
export function statusEntry(s: RolloutStatus): Record<string, unknown> {
  return {
    model: s.model,
    baseline: s.baseline,
    candidate: s.candidate,
    stage: s.stage,
    phase: PHASES[s.phase],
    stepStartedAt: iso(s.stepStartedAt),
    decision: s.decision,
    reason: s.reason.slice(0, 1024),
    decidedAt: iso(s.decidedAt),
  };
}

function split(id: string): { namespace: string; name: string } {
  const slash = id.indexOf('/');
  return { namespace: id.slice(0, slash), name: id.slice(slash + 1) };
}

export function kubeRolloutReporter(api: KubeApi, now: () => number = Date.now): RolloutReporter {
  /** What was last written per RouteConfig, without the decision times (they change every tick). */
  const written = new Map<string, string>();
  return {
    async restore() {
      const { items } = await api.list(RESOURCES.RouteConfig, {});
      const out = new Map<string, Map<string, StepState>>();
      for (const item of items as {
        metadata?: { namespace?: string; name?: string };
        status?: { rollouts?: unknown };
      }[]) {
        const rollouts = item.status?.rollouts;
        if (!Array.isArray(rollouts) || item.metadata?.name === undefined) continue;
        const models = new Map<string, StepState>();
        for (const entry of rollouts) {
          const restored = stepStateOf(entry);
          if (restored) models.set(restored.model, restored.state);
        }
        out.set(`${item.metadata.namespace ?? 'default'}/${item.metadata.name}`, models);
      }
      return out;
    },
    async statuses(statuses) {
      const byRouteConfig = new Map<string, RolloutStatus[]>();
      for (const s of statuses)
        byRouteConfig.set(s.routeConfig, [...(byRouteConfig.get(s.routeConfig) ?? []), s]);
      for (const [id, list] of byRouteConfig) {
        const rollouts = list.map(statusEntry);
        const key = JSON.stringify(rollouts.map(({ decidedAt: _, ...rest }) => rest));
        if (written.get(id) === key) continue;
        const { namespace, name } = split(id);
        await api.patchStatus(RESOURCES.RouteConfig, namespace, name, { rollouts });
        written.set(id, key);
      }
    },
    async transition(status, from) {
      const { namespace, name } = split(status.routeConfig);
      const rolledBack = status.phase === 'rolled-back';
      const reason = rolledBack
        ? 'RolloutRolledBack'
        : status.stage >= 100
          ? 'RolloutCompleted'
          : 'RolloutAdvanced';
      const time = iso(now());
      await api.createEvent(namespace, {
        metadata: { name: `${name}.rollout.${randomUUID().slice(0, 8)}`, namespace },
        involvedObject: {
          apiVersion: RESOURCES.RouteConfig.apiVersion,
          kind: 'RouteConfig',
          namespace,
          name,
        },
        reason,
        message: `${status.model}: ${status.candidate} ${from}% → ${status.stage}%: ${status.reason}`.slice(
          0,
          1024,
        ),
        type: rolledBack ? 'Warning' : 'Normal',
        source: { component: ROLLOUT_COMPONENT },
        reportingComponent: ROLLOUT_COMPONENT,
        reportingInstance: process.env.HOSTNAME ?? ROLLOUT_COMPONENT,
        action: rolledBack ? 'RollBack' : 'Advance',
        firstTimestamp: new Date(time),
        lastTimestamp: new Date(time),
        count: 1,
      });
    },
  };
}
