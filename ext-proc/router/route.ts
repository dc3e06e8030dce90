/**
 * The routing decision as a plain value: which route entry serves this request and why. The fallback
 * chain comes with the entry (precomputed at compile time).
 */
import type { CompiledEntry, CompiledRouteConfig } from '../../config/snapshot.ts';
import { errors } from '../errors.ts';
import { type MatchInput, matches } from './match.ts';
import { pickSticky, pickWeighted } from './split.ts';

export type DecisionReason = 'policy' | 'sticky-split' | 'weighted-split';

export interface RouteDecision {
  routeConfigId: string;
  logicalModel: string;
  entry: CompiledEntry;
  reason: DecisionReason;
}

export interface RouteInput extends MatchInput {
  model: string;
  /** Session key (session header, else the OpenAI `user` field), if any. */
  sessionKey: string | undefined;
  /** Uniform random number in [0, 1) for unsticky splits; injected so tests are deterministic. */
  random: number;
}

export function decide(routeConfig: CompiledRouteConfig, input: RouteInput): RouteDecision {
  const model = routeConfig.models.get(input.model);
  if (!model) throw errors.modelNotFound(input.model);
  const base = { routeConfigId: routeConfig.id, logicalModel: model.name };
  for (const entry of model.policy) {
    if (entry.weight > 0 && matches(entry.match!, input)) return { ...base, entry, reason: 'policy' };
  }
  const split = model.split;
  if (!split) throw errors.noEligibleRoute(model.name);
  if (input.sessionKey !== undefined)
    return { ...base, entry: pickSticky(split, input.sessionKey), reason: 'sticky-split' };
  return { ...base, entry: pickWeighted(split, input.random), reason: 'weighted-split' };
}
