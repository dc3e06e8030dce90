/**
 * What a logical name does, read from its route entries the way the router applies them (DESIGN.md §4):
 * entries whose `match` holds win, first in order (policy); otherwise the weighted split among the
 * entries of the best (lowest) priority; entries of higher priorities are the fallback chain, in
 * priority order; weight 0 takes an entry out of both. The same reading as the console API's
 * (console/routeconfigs.ts logicalModels), computed here from the spec being edited so the description
 * follows the draft before it is saved.
 */
import type { RouteEntrySpec, Strategy } from '../api/types.ts';

export interface LogicalModelPlan {
  model: string;
  strategy: Strategy;
  policy: RouteEntrySpec[];
  /** The best priority's entries with weight > 0, and each one's share in percent. */
  split: { entry: RouteEntrySpec; percent: number }[];
  /** Higher priorities, best first. */
  fallback: RouteEntrySpec[];
}

const weightOf = (e: RouteEntrySpec) => e.weight ?? 1;
const priorityOf = (e: RouteEntrySpec) => e.priority ?? 0;

export function planOf(routes: readonly RouteEntrySpec[], model: string): LogicalModelPlan {
  const entries = routes.filter((r) => r.model === model);
  const policy = entries.filter((r) => r.match !== undefined);
  const open = entries.filter((r) => r.match === undefined);
  const best = open.length === 0 ? 0 : Math.min(...open.map(priorityOf));
  const unconditional = open.filter((r) => weightOf(r) > 0);
  const splitEntries = unconditional.filter((r) => priorityOf(r) === best);
  const total = splitEntries.reduce((n, r) => n + weightOf(r), 0);
  const split = splitEntries.map((entry) => ({
    entry,
    percent: total === 0 ? 0 : Math.round((1000 * weightOf(entry)) / total) / 10,
  }));
  const fallback = unconditional
    .filter((r) => priorityOf(r) > best)
    .sort((a, b) => priorityOf(a) - priorityOf(b));
  const strategy: Strategy =
    split.length > 1 ? 'split' : policy.length > 0 ? 'policy' : fallback.length > 0 ? 'fallback' : 'single';
  return { model, strategy, policy, split, fallback };
}

/** The logical names of `routes`, in the order they first appear. */
export function logicalModels(routes: readonly RouteEntrySpec[]): string[] {
  return [...new Set(routes.map((r) => r.model))];
}

/** One sentence per part of the plan, for the page. */
export function describePlan(plan: LogicalModelPlan): string[] {
  const lines: string[] = [];
  const target = (e: RouteEntrySpec) =>
    `${e.name} (${e.modelNameOverride ?? e.model} on ${e.backendRef.name})`;
  if (plan.policy.length > 0)
    lines.push(
      `Policy: ${plan.policy.map((e) => target(e)).join(', then ')} when its match condition holds.`,
    );
  if (plan.split.length > 1)
    lines.push(
      `Split by weight, sticky per session: ${plan.split.map((s) => `${target(s.entry)} ${s.percent}%`).join(', ')}.`,
    );
  else if (plan.split.length === 1) lines.push(`All other traffic: ${target(plan.split[0]!.entry)}.`);
  if (plan.fallback.length > 0)
    lines.push(`Fallback chain on failure: ${plan.fallback.map(target).join(' → ')}.`);
  if (lines.length === 0) lines.push('No entry takes traffic (every weight is 0).');
  return lines;
}
