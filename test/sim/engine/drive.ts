/** Drives engines on a virtual clock, the way a routing benchmark does. */
import type { Engine, EngineEvent, EngineRequest } from '../../../sim/engine/engine.ts';

export interface Arrival {
  readonly atMs: number;
  readonly request: EngineRequest;
}

/**
 * Submits `arrivals` (in time order) and advances from event to event until the engine is idle, returning
 * every event. An arrival at the same time as a step boundary is submitted first, so that step sees it.
 */
export function drive(engine: Engine, arrivals: readonly Arrival[]): EngineEvent[] {
  const events: EngineEvent[] = [];
  let next = 0;
  for (;;) {
    const arrivalAt = arrivals[next]?.atMs ?? Number.POSITIVE_INFINITY;
    const eventAt = engine.nextEventAt() ?? Number.POSITIVE_INFINITY;
    if (arrivalAt === Number.POSITIVE_INFINITY && eventAt === Number.POSITIVE_INFINITY) return events;
    if (arrivalAt <= eventAt) engine.submit(arrivals[next++]!.request, arrivalAt);
    else events.push(...engine.advance(eventAt));
  }
}

/** `count` distinct token ids from `start`: prompts that share nothing unless they share a range. */
export function tokens(count: number, start = 1): number[] {
  return Array.from({ length: count }, (_, i) => start + i);
}

/** Events of one request as `type@atMs` strings, easy to compare whole. */
export function timeline(events: readonly EngineEvent[], requestId: string): string[] {
  return events.filter((e) => e.requestId === requestId).map((e) => `${e.type}@${e.atMs}`);
}
