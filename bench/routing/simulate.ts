/**
 * One routing run in virtual time: a discrete-event loop over the workload's arrivals, the picker's metric
 * scrapes and every engine's next step boundary. No sockets, no timers: the loop jumps from event to event,
 * so a run is a pure function of its inputs.
 *
 * At each instant, in this order:
 *   1. an arrival is routed — the scheduler sees the candidate array of the latest scrape, the prompt text
 *      and the conversation's session token (the pod of its previous turn, which the response would have
 *      carried) — and submitted to the primary endpoint's engine; it goes first so that a step starting at
 *      the same instant includes it (the engine's own rule for simultaneous submissions);
 *   2. a due scrape rebuilds the candidate array from every engine's snapshot;
 *   3. engines whose next step boundary is now advance, and their events are recorded.
 */

import { type Scheduler, sessionTokenFor } from '../../endpoint-picker/scheduling/index.ts';
import type { PodState, SchedulingRequest } from '../../endpoint-picker/scheduling/types.ts';
import { Engine, type EngineEvent, type EngineSnapshot } from '../../sim/engine/engine.ts';
import { type PodSpec, SCRAPE_INTERVAL_MS, scrapedState, unscrapedState } from './pool.ts';
import type { ChatTurn } from './workload.ts';

export interface SimulationOptions {
  readonly pods: readonly PodSpec[];
  readonly scheduler: Scheduler;
  /** In arrival order. */
  readonly requests: readonly ChatTurn[];
  /** Served model name, part of the picker's prefix hash. */
  readonly model: string;
  readonly scrapeIntervalMs?: number;
}

export interface RequestOutcome {
  readonly request: ChatTurn;
  /** Index into the pool of the primary endpoint picked. */
  readonly pod: number;
  /** When the engine was given the request (its arrival: the picker and the network take no time here). */
  readonly submittedMs: number;
  firstTokenMs: number;
  finishedMs: number;
  outputTokens: number;
}

export interface SimulationResult {
  /** One per request, in arrival order. */
  readonly outcomes: readonly RequestOutcome[];
  /** Each engine's snapshot when the first measured request arrived (at the end when none did). */
  readonly atWindowStart: readonly EngineSnapshot[];
  /** Each engine's snapshot once every request has finished. */
  readonly atEnd: readonly EngineSnapshot[];
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

export function simulate(options: SimulationOptions): SimulationResult {
  const { pods, scheduler, requests, model } = options;
  const scrapeIntervalMs = options.scrapeIntervalMs ?? SCRAPE_INTERVAL_MS;
  const engines = pods.map((pod) => new Engine(pod.engine));
  const podIndex = new Map(pods.map((pod, i) => [pod.name, i]));
  let candidates: readonly PodState[] = pods.map(unscrapedState);

  const outcomes: RequestOutcome[] = new Array(requests.length);
  const inFlight = new Map<string, RequestOutcome>();
  const sessionTokens = new Map<number, string>();
  let atWindowStart: EngineSnapshot[] | undefined;
  let nextArrival = 0;
  let nextScrapeMs = 0;
  let unfinished = requests.length;

  const record = (events: readonly EngineEvent[]): void => {
    for (const event of events) {
      if (event.type === 'token') continue;
      const outcome = inFlight.get(event.requestId)!;
      if (event.type === 'first_token') outcome.firstTokenMs = event.atMs;
      if (event.type === 'finished') {
        outcome.finishedMs = event.atMs;
        outcome.outputTokens = event.outputTokens;
        inFlight.delete(event.requestId);
        unfinished--;
      }
    }
  };

  while (unfinished > 0) {
    const arrivalMs = requests[nextArrival]?.arrivalMs ?? Number.POSITIVE_INFINITY;
    let engineMs = Number.POSITIVE_INFINITY;
    for (const engine of engines) {
      const at = engine.nextEventAt();
      if (at !== undefined && at < engineMs) engineMs = at;
    }
    if (engineMs === Number.POSITIVE_INFINITY && arrivalMs === Number.POSITIVE_INFINITY) {
      throw new Error(`${unfinished} requests never finished: every engine is idle`);
    }

    if (arrivalMs <= nextScrapeMs && arrivalMs <= engineMs) {
      const turn = requests[nextArrival]!;
      if (turn.measured && atWindowStart === undefined) atWindowStart = engines.map((e) => e.snapshot());
      const schedulingRequest: SchedulingRequest = {
        requestId: turn.id,
        model,
        prompt: turn.prompt,
        sessionToken: sessionTokens.get(turn.conversation),
        priority: 0,
        headers: NO_HEADERS,
      };
      const result = scheduler.schedule(schedulingRequest, candidates);
      if (result.kind !== 'picked') {
        throw new Error(`request ${turn.id} was not routed: ${result.status} ${result.message}`);
      }
      const pod = podIndex.get(result.primary)!;
      sessionTokens.set(turn.conversation, sessionTokenFor(result.primary));
      const outcome: RequestOutcome = {
        request: turn,
        pod,
        submittedMs: arrivalMs,
        firstTokenMs: Number.NaN,
        finishedMs: Number.NaN,
        outputTokens: 0,
      };
      outcomes[nextArrival] = outcome;
      inFlight.set(turn.id, outcome);
      engines[pod]!.submit(
        { id: turn.id, promptTokens: turn.promptTokens, maxTokens: turn.maxTokens },
        arrivalMs,
      );
      nextArrival++;
    } else if (nextScrapeMs <= engineMs) {
      const nowMs = nextScrapeMs;
      candidates = pods.map((pod, i) => scrapedState(pod, engines[i]!.snapshot(), nowMs));
      nextScrapeMs += scrapeIntervalMs;
    } else {
      for (const engine of engines) {
        if (engine.nextEventAt() === engineMs) record(engine.advance(engineMs));
      }
    }
  }

  const atEnd = engines.map((e) => e.snapshot());
  return { outcomes, atWindowStart: atWindowStart ?? atEnd, atEnd };
}
