import { describe, expect, it } from 'vitest';
import { analyzeExperiment, type ExperimentReport } from '../../../analytics/experiments.ts';
import type { RolloutSpec } from '../../../config/manifests.ts';
import { decide, type StepState } from '../../../console/rollout/decide.ts';
import { type ArmSpec, simulate } from '../../analytics/simulate.ts';

const SPEC: RolloutSpec = {
  model: 'chat-model',
  steps: [5, 20, 50, 100],
  stepDuration: '10m',
  minRequests: 100,
  gates: { errorRate: 2, ttftP90: 20 },
};
const NOW = Date.UTC(2026, 11, 2, 12);
const STEP_START = NOW - 11 * 60_000;

/** A real experiment report over simulated requests: the baseline `old`, the candidate `new`. */
function report(candidate: Partial<ArmSpec>, requests = 2000, sessions = 400): ExperimentReport {
  const arms: ArmSpec[] = [
    { routeEntry: 'old', weight: 50 },
    { routeEntry: 'new', weight: 50, ...candidate },
  ];
  return analyzeExperiment(
    [
      { routeEntry: 'old', resolvedModel: 'm-old', weight: 80, baseline: true },
      { routeEntry: 'new', resolvedModel: 'm-new', weight: 20 },
    ],
    simulate({ seed: 3, arms, requests, sessions }),
  );
}

const progressing = (stage: number, since = STEP_START): StepState => ({
  stage,
  since,
  phase: 'progressing',
});
const run = (stage: number, r: ExperimentReport | undefined, state = progressing(stage), spec = SPEC) =>
  decide({ spec, stage, state, now: NOW, report: r, candidate: 'new' });

describe('rollout decisions', () => {
  it('advances a healthy candidate to the next step once the step has lasted and has its sample', () => {
    const action = run(20, report({}));
    expect(action).toMatchObject({ kind: 'advance', to: 50 });
    expect(action.reason).toContain('ttftP90');
  });

  it('rolls back at once, even before the step has lasted, when a gate is breached with confidence', () => {
    const slow = report({ ttftFactor: 1.6 });
    const action = run(20, slow, progressing(20, NOW - 60_000));
    expect(action.kind).toBe('rollback');
    expect(action.reason).toMatch(/ttftP90 of new is \+\d+\.\d% .* beyond the gate of 20%/);
    expect(run(20, report({ errorRate: 0.3 })).kind).toBe('rollback');
  });

  it('waits, rather than rolling back, when the candidate looks worse but the sample cannot say so yet', () => {
    // 50% slower, but over 120 requests in 12 sessions: no confident breach, and no verdict to advance on.
    const action = run(20, report({ ttftFactor: 1.5 }, 240, 24));
    expect(action.kind).toBe('wait');
  });

  it('holds each step for stepDuration, and waits for minRequests per variant', () => {
    expect(run(20, report({}), progressing(20, NOW - 60_000))).toMatchObject({
      kind: 'wait',
      reason: 'holding 20% for 540 s more',
    });
    const thin = run(20, report({}, 150, 150));
    expect(thin.kind).toBe('wait');
    expect(thin.reason).toContain('needs 100 requests per variant');
  });

  it('starts at the first step, completes at 100, stays at 0 after a rollback, and holds when paused', () => {
    expect(run(0, undefined)).toMatchObject({ kind: 'advance', to: 5 });
    expect(run(100, undefined).kind).toBe('complete');
    const rolledBack: StepState = {
      stage: 0,
      since: STEP_START,
      phase: 'rolled-back',
      reason: 'ttftP90 too slow',
    };
    expect(run(0, undefined, rolledBack)).toMatchObject({
      kind: 'wait',
      reason: 'rolled back: ttftP90 too slow',
    });
    expect(run(20, report({ ttftFactor: 2 }), progressing(20), { ...SPEC, paused: true })).toMatchObject({
      kind: 'wait',
      reason: 'paused at 20%',
    });
  });

  it('goes from a weight set by hand to the next step above it', () => {
    expect(run(30, report({}))).toMatchObject({ kind: 'advance', to: 50 });
    expect(run(50, report({}))).toMatchObject({ kind: 'advance', to: 100 });
  });
});
