/**
 * Canary stages of a logical name's two variants: the canary's share of traffic moves 5 → 20 → 50 → 100
 * (the stable one's 95 → 80 → 50 → 0), as POST /api/v1/routeconfigs/{name}/canary sets it; after 100
 * the old route can be removed. Which variant is stable (old) is decided as the console API decides it
 * (console/routeconfigs.ts): the entry marked `baseline`, else the heavier, the first on a tie. The first
 * stage marks the old one `baseline`, so it keeps that role through every stage, 0/100 included.
 */
import type { CanaryStage, RouteEntrySpec } from '../api/types.ts';

export const CANARY_STAGES: readonly CanaryStage[] = [5, 20, 50, 100];

export interface CanaryPair {
  stable: RouteEntrySpec;
  canary: RouteEntrySpec;
  /** The canary's current share, percent of the two weights. */
  canaryPercent: number;
  /** The stage the current weights are at, if they are at one. */
  stage: CanaryStage | undefined;
}

/** The label of a stage button: stable/canary. */
export function stageLabel(stage: CanaryStage): string {
  return `${100 - stage}/${stage}`;
}

/**
 * The two entries of `model` without a match at the best priority (weight 0 included: a cut-over old
 * variant is still one of the two), or undefined when there are not exactly two.
 */
export function canaryPair(routes: readonly RouteEntrySpec[], model: string): CanaryPair | undefined {
  const open = routes.filter((r) => r.model === model && r.match === undefined);
  if (open.length === 0) return undefined;
  const best = Math.min(...open.map((r) => r.priority ?? 0));
  const split = open.filter((r) => (r.priority ?? 0) === best);
  if (split.length !== 2) return undefined;
  const [first, second] = split as [RouteEntrySpec, RouteEntrySpec];
  const stable =
    first.baseline === true
      ? first
      : second.baseline === true
        ? second
        : (second.weight ?? 1) > (first.weight ?? 1)
          ? second
          : first;
  const canary = stable === first ? second : first;
  const total = (stable.weight ?? 1) + (canary.weight ?? 1);
  const canaryPercent = total === 0 ? 0 : Math.round((100 * (canary.weight ?? 1)) / total);
  const stage = CANARY_STAGES.find((s) => s === canaryPercent);
  return { stable, canary, canaryPercent, stage };
}

/** The next stage after the current share, or undefined at 100. */
export function nextStage(canaryPercent: number): CanaryStage | undefined {
  return CANARY_STAGES.find((s) => s > canaryPercent);
}
