/**
 * The rollout controller: every `intervalMs`, for each rollout declared in an active RouteConfig
 * (spec.rollouts), reads the two variants' weights from the configuration source, judges the current
 * step with the experiment statistics of the request store (decide.ts), and writes the next weights
 * through the same ConfigWriter the console's edits use — never around it: in file mode the YAML file
 * is edited in place and the hot reload applies it, as for a hand edit.
 *
 * State. The stage is read from the weights every tick, so an edit by hand (a person stepping or
 * resetting the canary) starts a new step at once. What the weights cannot say is kept in a small
 * JSON file beside the store (`stateFile`): when the current step began, and that a rollout was
 * rolled back (its candidate at 0 must then stay there until someone sets a weight again).
 *
 * One controller per configuration: the console process runs it (the local stack's too). With several
 * console replicas in Kubernetes, the holder of a Lease runs it (run.ts).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCooperatively } from '../../analytics/cooperative.ts';
import {
  type ExperimentReport,
  type ExperimentVariant,
  experimentSteps,
} from '../../analytics/experiments.ts';
import type { RequestStore } from '../../analytics/store/store.ts';
import type { RolloutSpec, RouteEntrySpec } from '../../config/manifests.ts';
import type { ConfigWriter, Json, StoredObject } from '../../config/writer.ts';
import type { Logger } from '../../observability/logger.ts';
import { toExperimentSample } from '../experiments.ts';
import { oldAndCandidate, weightedVariants } from '../routeconfigs.ts';
import {
  DEFAULT_MIN_REQUESTS,
  type DecideInput,
  decide,
  type RolloutAction,
  type RolloutPhase,
  type StepState,
} from './decide.ts';

export const DEFAULT_ROLLOUT_INTERVAL_MS = 15_000;
/** Requests the split decided (ext-proc/router/route.ts); policy-routed ones were not randomised. */
const SPLIT_DECISIONS = ['sticky-split', 'weighted-split'] as const;
const SAMPLE_LIMIT = 50_000;
/** Transitions kept per rollout for the console; Kubernetes Events and log lines keep them all. */
const TRANSITIONS_KEPT = 20;

/** A change of weights the controller made: a step, the completion or a rollback. */
export interface RolloutTransition {
  from: number;
  to: number;
  decision: 'advance' | 'rollback';
  reason: string;
  at: number;
}

/** A rollout as the console shows it. */
export interface RolloutStatus {
  routeConfig: string;
  model: string;
  baseline: string;
  candidate: string;
  /** The candidate's weight, percent of the two variants' total. */
  stage: number;
  steps: number[];
  phase: RolloutPhase;
  /** When the current step began. */
  stepStartedAt: number;
  /** The last tick's decision and why. */
  decision: RolloutAction['kind'];
  reason: string;
  decidedAt: number;
  /**
   * The weight changes this controller made, oldest first (the last TRANSITIONS_KEPT, since it started
   * or took the lead): a console polling every few seconds still sees each step of a fast rollout.
   */
  transitions: RolloutTransition[];
}

/** Where the controller's view goes besides its log lines (Kubernetes: status.rollouts and Events). */
export interface RolloutReporter {
  /** After every tick: every rollout's status, grouped by the caller as it likes. */
  statuses(statuses: readonly RolloutStatus[]): Promise<void>;
  /** After weights were written: a step, a completion or a rollback. */
  transition(status: RolloutStatus, from: number): Promise<void>;
  /**
   * What an earlier controller left (Kubernetes: status.rollouts), read before the first tick, so a new
   * leader neither restarts a rolled-back canary nor restarts a step's clock. Keys: routeConfig id, model.
   */
  restore?(): Promise<ReadonlyMap<string, Map<string, StepState>>>;
}

export interface RolloutControllerOptions {
  writer: ConfigWriter;
  store: RequestStore;
  logger: Logger;
  reporter?: RolloutReporter;
  intervalMs?: number;
  /** Where step starts and rollbacks survive a restart; none: memory only. */
  stateFile?: string;
  now?: () => number;
}

interface Located {
  object: StoredObject;
  id: string;
  spec: RolloutSpec;
  baseline: RouteEntrySpec;
  candidate: RouteEntrySpec;
  stage: number;
}

const keyOf = (routeConfig: string, model: string) => `${routeConfig}\u0000${model}`;

/** The two variants of a rollout's model, the baseline first (the console's canary buttons' rule). */
function variantsOf(routes: RouteEntrySpec[], model: string): [RouteEntrySpec, RouteEntrySpec] | undefined {
  const variants = weightedVariants(routes, model);
  if (variants.length !== 2) return undefined;
  const { old, candidate } = oldAndCandidate(variants[0]!, variants[1]!);
  return [old, candidate];
}

export class RolloutController {
  readonly #options: RolloutControllerOptions;
  readonly #now: () => number;
  readonly #states = new Map<string, StepState>();
  readonly #transitions = new Map<string, RolloutTransition[]>();
  #status: RolloutStatus[] = [];
  #restored = false;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<RolloutStatus[]> | undefined;

  constructor(options: RolloutControllerOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#load();
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(
      () => void this.tick(),
      this.#options.intervalMs ?? DEFAULT_ROLLOUT_INTERVAL_MS,
    );
    this.#timer.unref();
    void this.tick();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#ticking;
  }

  /** The rollouts as of the last tick. */
  get status(): readonly RolloutStatus[] {
    return this.#status;
  }

  /** One pass over every rollout; a tick already running is waited for rather than doubled. */
  tick(): Promise<RolloutStatus[]> {
    this.#ticking ??= this.#tick().finally(() => {
      this.#ticking = undefined;
    });
    return this.#ticking;
  }

  async #tick(): Promise<RolloutStatus[]> {
    if (!this.#restored) {
      try {
        await this.#restore();
      } catch (error) {
        this.#options.logger.warn(
          { event: 'rollout_restore_failed', err: error instanceof Error ? error.message : String(error) },
          'rollout controller: waiting for its last state before deciding anything',
        );
        return this.#status;
      }
    }
    const statuses: RolloutStatus[] = [];
    let located: Located[];
    try {
      located = this.#locate(await this.#options.writer.read());
    } catch (error) {
      this.#options.logger.warn(
        { event: 'rollout_read_failed', err: error instanceof Error ? error.message : String(error) },
        'rollout controller: could not read the configuration',
      );
      return this.#status;
    }
    const seen = new Set<string>();
    for (const rollout of located) {
      const key = keyOf(rollout.id, rollout.spec.model);
      seen.add(key);
      try {
        statuses.push(await this.#step(rollout, key));
      } catch (error) {
        this.#options.logger.warn(
          {
            event: 'rollout_failed',
            routeConfig: rollout.id,
            model: rollout.spec.model,
            err: error instanceof Error ? error.message : String(error),
          },
          'rollout controller: a rollout could not be judged',
        );
      }
    }
    for (const key of [...this.#states.keys()]) if (!seen.has(key)) this.#states.delete(key);
    for (const key of [...this.#transitions.keys()]) if (!seen.has(key)) this.#transitions.delete(key);
    this.#save();
    this.#status = statuses;
    await this.#report(() => this.#options.reporter?.statuses(statuses));
    return statuses;
  }

  #locate(config: { objects: readonly StoredObject[] }): Located[] {
    const out: Located[] = [];
    for (const object of config.objects) {
      if (object.kind !== 'RouteConfig') continue;
      const spec = (object.object.spec ?? {}) as Json;
      if (spec.active === false || !Array.isArray(spec.rollouts)) continue;
      const routes = (Array.isArray(spec.routes) ? spec.routes : []) as RouteEntrySpec[];
      for (const rollout of spec.rollouts as RolloutSpec[]) {
        const variants = variantsOf(routes, rollout.model);
        if (variants === undefined) continue; // validation refuses such a config; the last good one stays
        const [baseline, candidate] = variants;
        const total = (baseline.weight ?? 1) + (candidate.weight ?? 1);
        const stage = total === 0 ? 0 : Math.round((100 * (candidate.weight ?? 1)) / total);
        out.push({
          object,
          id: `${object.namespace}/${object.name}`,
          spec: rollout,
          baseline,
          candidate,
          stage,
        });
      }
    }
    return out;
  }

  async #step(r: Located, key: string): Promise<RolloutStatus> {
    const now = this.#now();
    let state = this.#states.get(key);
    // The weights moved since the last tick (this controller, or a person): a new step starts now.
    if (state === undefined || state.stage !== r.stage)
      state = { stage: r.stage, since: now, phase: r.stage >= 100 ? 'completed' : 'progressing' };
    if (state.phase === 'rolled-back' && r.stage !== 0)
      state = { stage: r.stage, since: now, phase: 'progressing' };
    this.#states.set(key, state);

    const report = r.stage > 0 && r.stage < 100 ? await this.#experiment(r, state.since, now) : undefined;
    const input: DecideInput = {
      spec: r.spec,
      stage: r.stage,
      state,
      now,
      report,
      candidate: r.candidate.name,
    };
    let action = decide(input);
    if (action.kind === 'advance' || action.kind === 'rollback') {
      const to = action.kind === 'advance' ? action.to : 0;
      const written = await this.#setStage(r, to, action);
      if (written === undefined) {
        state = {
          stage: to,
          since: now,
          phase: to >= 100 ? 'completed' : action.kind === 'rollback' ? 'rolled-back' : 'progressing',
        };
        if (action.kind === 'rollback') state.reason = action.reason;
        this.#states.set(key, state);
        const kept = this.#transitions.get(key) ?? [];
        kept.push({ from: r.stage, to, decision: action.kind, reason: action.reason, at: now });
        this.#transitions.set(key, kept.slice(-TRANSITIONS_KEPT));
      } else action = { kind: 'wait', reason: `could not write the weights: ${written}` };
    } else if (action.kind === 'complete') {
      state.phase = 'completed';
    } else if (r.spec.paused === true && state.phase === 'progressing') {
      state.phase = 'paused';
    }
    const status: RolloutStatus = {
      routeConfig: r.id,
      model: r.spec.model,
      baseline: r.baseline.name,
      candidate: r.candidate.name,
      stage: state.stage,
      steps: r.spec.steps,
      phase: state.phase,
      stepStartedAt: state.since,
      decision: action.kind,
      reason: action.reason,
      decidedAt: now,
      transitions: [...(this.#transitions.get(key) ?? [])],
    };
    if ((action.kind === 'advance' || action.kind === 'rollback') && state.stage !== r.stage)
      await this.#report(() => this.#options.reporter?.transition(status, r.stage));
    return status;
  }

  /** A reporter that fails (the API server away) costs a warning, never a decision. */
  async #report(call: () => Promise<void> | undefined): Promise<void> {
    try {
      await call();
    } catch (error) {
      this.#options.logger.warn(
        { event: 'rollout_report_failed', err: error instanceof Error ? error.message : String(error) },
        'rollout controller: could not report its state',
      );
    }
  }

  async #experiment(r: Located, since: number, until: number): Promise<ExperimentReport> {
    const samples = await this.#options.store.experimentSamples(
      { logicalModel: r.spec.model, routeConfig: r.id, decisions: SPLIT_DECISIONS, since, until: until + 1 },
      SAMPLE_LIMIT,
    );
    const variant = (e: RouteEntrySpec, baseline: boolean): ExperimentVariant => ({
      routeEntry: e.name,
      resolvedModel: e.modelNameOverride ?? e.model,
      weight: e.weight ?? 1,
      ...(baseline ? { baseline: true } : {}),
    });
    const rows = samples.map(toExperimentSample);
    // The rollout's minRequests is also the statistics' minimum sample per figure (default 100, the
    // experiments' own), so a step can be judged on the sample its author asked for.
    return runCooperatively(
      experimentSteps([variant(r.baseline, true), variant(r.candidate, false)], rows, {
        minRequests: r.spec.minRequests ?? DEFAULT_MIN_REQUESTS,
      }),
    );
  }

  /**
   * Writes the candidate's weight `to` (the baseline the rest of 100, marked baseline so it stays the one
   * compared with once the candidate outweighs it). Answers undefined when written, else why not.
   */
  async #setStage(r: Located, to: number, action: RolloutAction): Promise<string | undefined> {
    const { logger } = this.#options;
    try {
      const outcome = await this.#options.writer.edit((current) => {
        const stored = current.objects.find(
          (o) => o.kind === 'RouteConfig' && o.namespace === r.object.namespace && o.name === r.object.name,
        );
        if (stored === undefined) throw new Error(`RouteConfig ${r.id} is gone`);
        const object = structuredClone(stored.object);
        const routes = ((object.spec as Json | undefined)?.routes ?? []) as RouteEntrySpec[];
        const baseline = routes.find((e) => e.name === r.baseline.name);
        const candidate = routes.find((e) => e.name === r.candidate.name);
        if (baseline === undefined || candidate === undefined)
          throw new Error(
            `the variants ${r.baseline.name} and ${r.candidate.name} of ${r.spec.model} changed`,
          );
        baseline.weight = 100 - to;
        baseline.baseline = true;
        candidate.weight = to;
        return { changes: [{ op: 'replace', target: stored, object }], result: undefined };
      });
      if (!outcome.written) {
        const problems = outcome.problems.map((p) => p.message).join('; ');
        logger.warn(
          { event: 'rollout_write_refused', routeConfig: r.id, model: r.spec.model, problems },
          'rollout controller: the configuration refused the new weights',
        );
        return problems || 'refused';
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      logger.warn(
        { event: 'rollout_write_failed', routeConfig: r.id, model: r.spec.model, err: message },
        'rollout controller: could not write the new weights',
      );
      return message;
    }
    logger.info(
      {
        event:
          action.kind === 'rollback'
            ? 'rollout_rolled_back'
            : to >= 100
              ? 'rollout_completed'
              : 'rollout_advanced',
        routeConfig: r.id,
        model: r.spec.model,
        candidate: r.candidate.name,
        from: r.stage,
        to,
        reason: action.reason,
      },
      `rollout ${r.spec.model}: ${r.candidate.name} ${r.stage}% → ${to}% (${action.reason})`,
    );
    return undefined;
  }

  async #restore(): Promise<void> {
    const restore = this.#options.reporter?.restore;
    if (restore === undefined) {
      this.#restored = true;
      return;
    }
    try {
      const byRouteConfig = await restore.call(this.#options.reporter);
      for (const [routeConfig, models] of byRouteConfig)
        for (const [model, state] of models) {
          const key = keyOf(routeConfig, model);
          if (!this.#states.has(key)) this.#states.set(key, state);
        }
      this.#restored = true;
    } catch (error) {
      // Not restored: no decision this tick, rather than one that forgets a rollback.
      throw new Error(
        `could not read the rollouts' last state: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  #load(): void {
    const file = this.#options.stateFile;
    if (file === undefined || !existsSync(file)) return;
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, StepState>;
      for (const [key, state] of Object.entries(saved)) this.#states.set(key, state);
    } catch (error) {
      this.#options.logger.warn(
        {
          event: 'rollout_state_unreadable',
          file,
          err: error instanceof Error ? error.message : String(error),
        },
        'rollout controller: its state file is unreadable; steps start afresh',
      );
    }
  }

  /** Writes the state file (temp file + rename); a failure is a warning: the weights are the truth. */
  #save(): void {
    const file = this.#options.stateFile;
    if (file === undefined) return;
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      const temp = `${file}.tmp`;
      writeFileSync(temp, JSON.stringify(Object.fromEntries(this.#states)));
      renameSync(temp, file);
    } catch (error) {
      this.#options.logger.warn(
        {
          event: 'rollout_state_unwritable',
          file,
          err: error instanceof Error ? error.message : String(error),
        },
        'rollout controller: could not keep its state; a restart would forget step starts and rollbacks',
      );
    }
  }
}
