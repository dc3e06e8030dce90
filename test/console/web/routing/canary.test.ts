import { describe, expect, it } from 'vitest';
import type { RouteEntrySpec } from '../../../../console/web/src/api/types.ts';
import { canaryPair, nextStage, stageLabel } from '../../../../console/web/src/routing/canary.ts';

const entry = (name: string, weight?: number, extra: Partial<RouteEntrySpec> = {}): RouteEntrySpec => ({
  name,
  model: 'summarize-model',
  backendRef: { name: 'sim' },
  ...(weight === undefined ? {} : { weight }),
  ...extra,
});

describe('canary stages', () => {
  it('labels each stage stable/canary', () => {
    expect([5, 20, 50, 100].map((s) => stageLabel(s as 5))).toEqual(['95/5', '80/20', '50/50', '0/100']);
  });

  it('finds the two variants and the stage their weights are at', () => {
    const pair = canaryPair([entry('stable', 95), entry('canary', 5)], 'summarize-model');
    expect(pair).toMatchObject({
      stable: { name: 'stable' },
      canary: { name: 'canary' },
      canaryPercent: 5,
      stage: 5,
    });
  });

  it('takes the heavier unmarked variant as the old one, as the console API does, even when listed second', () => {
    const pair = canaryPair([entry('candidate', 5), entry('old', 95)], 'summarize-model');
    expect(pair?.stable.name).toBe('old');
    expect(pair?.canaryPercent).toBe(5);
  });

  it('keeps the baseline as the old one at 0/100, where the candidate outweighs it', () => {
    const pair = canaryPair(
      [entry('old', 0, { baseline: true }), entry('candidate', 100)],
      'summarize-model',
    );
    expect(pair).toMatchObject({ stable: { name: 'old' }, canaryPercent: 100, stage: 100 });
  });

  it('reports weights between stages as no stage', () => {
    expect(canaryPair([entry('a', 90), entry('b', 10)], 'summarize-model')?.stage).toBeUndefined();
  });

  it('offers no canary for one variant, three, or a policy entry beside one', () => {
    expect(canaryPair([entry('a', 1)], 'summarize-model')).toBeUndefined();
    expect(canaryPair([entry('a', 1), entry('b', 1), entry('c', 1)], 'summarize-model')).toBeUndefined();
    expect(
      canaryPair([entry('a', 1), entry('p', 1, { match: { headers: [] } })], 'summarize-model'),
    ).toBeUndefined();
  });

  it('leaves fallback entries (a worse priority) out of the pair', () => {
    const pair = canaryPair(
      [entry('a', 80), entry('b', 20), entry('fb', 1, { priority: 1 })],
      'summarize-model',
    );
    expect([pair?.stable.name, pair?.canary.name]).toEqual(['a', 'b']);
  });

  it('names the next stage, none after 100', () => {
    expect([0, 5, 20, 35, 50, 100].map(nextStage)).toEqual([5, 20, 50, 50, 100, undefined]);
  });
});
