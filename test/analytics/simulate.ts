/**
 * Simulated request samples for the experiments statistics: sessions stuck to one arm of a split, each
 * with its own random effect, requests with lognormal TTFT and decode time. Seeded, so every test run
 * sees the same samples.
 */
import type { ExperimentSample } from '../../analytics/experiments.ts';
import { Random } from '../../analytics/random.ts';

export interface ArmSpec {
  routeEntry: string;
  /** Relative share of sessions (sticky) or requests (sessionless). */
  weight: number;
  /** Multiplies every TTFT of the arm; 1.3 is "30% slower". */
  ttftFactor?: number;
  /** Probability a request fails with a 5xx; default 0.02. */
  errorRate?: number;
}

export interface Simulation {
  seed: number;
  arms: readonly ArmSpec[];
  requests: number;
  /** Sessions over all arms; 0: every request is sessionless. */
  sessions: number;
  /** Standard deviation of a session's effect on log TTFT and log decode time; default 0.3. */
  sessionSigma?: number;
  /** Standard deviation of a request's log TTFT around its session; default 0.5. */
  requestSigma?: number;
  /** Share of requests without TTFT (e.g. not streamed); default 0. */
  noTtftShare?: number;
  /** Share of requests the client cancels (499); default 0. */
  cancelShare?: number;
}

const TTFT_MEDIAN_MS = 400;
const TPOT_MEDIAN_MS = 20;

class Draws {
  readonly random: Random;
  #spare: number | undefined;

  constructor(seed: number) {
    this.random = new Random(seed);
  }

  /** Standard normal (Box–Muller, both values used). */
  normal(): number {
    if (this.#spare !== undefined) {
      const s = this.#spare;
      this.#spare = undefined;
      return s;
    }
    const u = 1 - this.random.next();
    const v = this.random.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  pick(arms: readonly ArmSpec[]): number {
    const total = arms.reduce((sum, a) => sum + a.weight, 0);
    let x = this.random.next() * total;
    for (let i = 0; i < arms.length; i++) {
      x -= arms[i]!.weight;
      if (x < 0) return i;
    }
    return arms.length - 1;
  }
}

export function simulate(sim: Simulation): ExperimentSample[] {
  const draws = new Draws(sim.seed);
  const sessionSigma = sim.sessionSigma ?? 0.3;
  const requestSigma = sim.requestSigma ?? 0.5;
  const sessions = Array.from({ length: sim.sessions }, (_, i) => ({
    hash: `s${sim.seed}-${i}`,
    arm: draws.pick(sim.arms),
    effect: sessionSigma * draws.normal(),
  }));
  const samples: ExperimentSample[] = [];
  for (let r = 0; r < sim.requests; r++) {
    const session = sessions.length > 0 ? sessions[draws.random.below(sessions.length)]! : undefined;
    const armIndex = session?.arm ?? draws.pick(sim.arms);
    const arm = sim.arms[armIndex]!;
    const effect = session?.effect ?? sessionSigma * draws.normal();
    const completion = 50 + draws.random.below(300);
    const prompt = 200 + draws.random.below(800);
    const ttftMs = (arm.ttftFactor ?? 1) * TTFT_MEDIAN_MS * Math.exp(effect + requestSigma * draws.normal());
    const tpotMs = TPOT_MEDIAN_MS * Math.exp(effect + 0.2 * draws.normal());
    const failed = draws.random.next() < (arm.errorRate ?? 0.02);
    const cancelled = !failed && draws.random.next() < (sim.cancelShare ?? 0);
    const hasTtft = draws.random.next() >= (sim.noTtftShare ?? 0);
    const sample: ExperimentSample = {
      routeEntry: arm.routeEntry,
      resolvedModel: `${arm.routeEntry}-model`,
      status: failed ? 503 : cancelled ? 499 : 200,
      latencyMs: failed ? 5 : ttftMs + completion * tpotMs,
    };
    if (session) sample.sessionHash = session.hash;
    if (!failed && hasTtft) sample.ttftMs = ttftMs;
    if (!failed) {
      sample.tokens = prompt + completion;
      sample.costUsd = (prompt * 0.15 + completion * 0.6) / 1e6;
    }
    samples.push(sample);
  }
  return samples;
}
