import { describe, expect, it } from 'vitest';
import { runCooperatively } from '../../analytics/cooperative.ts';
import { analyzeExperiment, experimentSteps } from '../../analytics/experiments.ts';
import { type ArmSpec, simulate } from './simulate.ts';

const arms: ArmSpec[] = [
  { routeEntry: 'a', weight: 50 },
  { routeEntry: 'b', weight: 50, ttftFactor: 1.3 },
];
const variants = arms.map((a) => ({
  routeEntry: a.routeEntry,
  resolvedModel: `${a.routeEntry}-m`,
  weight: a.weight,
}));

describe('runCooperatively', () => {
  it('gives the experiment report analyzeExperiment gives, however finely it is sliced', async () => {
    const samples = simulate({ seed: 5, arms, requests: 2000, sessions: 200 });
    const whole = analyzeExperiment(variants, samples, { seed: 7 });
    expect(await runCooperatively(experimentSteps(variants, samples, { seed: 7 }))).toEqual(whole);
    expect(await runCooperatively(experimentSteps(variants, samples, { seed: 7 }), 0)).toEqual(whole);
  });

  it('lets the event loop run between slices while an analysis is under way', async () => {
    const samples = simulate({ seed: 6, arms, requests: 4000, sessions: 4000 });
    let turns = 0;
    let running = true;
    const tick = () => {
      if (!running) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    // A zero-length slice: a turn at every step, so the count does not depend on the machine's speed.
    await runCooperatively(experimentSteps(variants, samples, { resamples: 200 }), 0);
    running = false;
    // 200 resamples in steps of 16 per variant: 13 steps each, a turn after every one.
    expect(turns).toBeGreaterThanOrEqual(20);
  });

  it('hands back an exception thrown inside the steps', async () => {
    await expect(runCooperatively(experimentSteps([], []))).rejects.toThrow(RangeError);
  });
});
