import { describe, expect, it } from 'vitest';
import type { RouteEntrySpec } from '../../../../console/web/src/api/types.ts';
import { describePlan, logicalModels, planOf } from '../../../../console/web/src/routing/strategy.ts';

const e = (name: string, fields: Partial<RouteEntrySpec> = {}): RouteEntrySpec => ({
  name,
  model: 'chat-model',
  backendRef: { name: `${name}-backend` },
  ...fields,
});

describe('what a logical name does', () => {
  it('reads a policy route, a 50/50 split and a fallback chain, as examples/local.yaml has them', () => {
    const plan = planOf(
      [
        e('regulated', { match: { headers: [{ name: 'x-data-class', value: 'regulated' }] } }),
        e('v1', { weight: 50, modelNameOverride: 'llama-3.1' }),
        e('v2', { weight: 50, modelNameOverride: 'llama-3.3' }),
        e('fallback', { priority: 1 }),
        e('other', { model: 'other-model' }),
      ],
      'chat-model',
    );
    expect(plan.strategy).toBe('split');
    expect(describePlan(plan)).toEqual([
      'Policy: regulated (chat-model on regulated-backend) when its match condition holds.',
      'Split by weight, sticky per session: v1 (llama-3.1 on v1-backend) 50%, v2 (llama-3.3 on v2-backend) 50%.',
      'Fallback chain on failure: fallback (chat-model on fallback-backend).',
    ]);
  });

  it('orders the fallback chain by priority and leaves weight-0 entries out of it', () => {
    const plan = planOf(
      [
        e('main'),
        e('third', { priority: 3 }),
        e('second', { priority: 2 }),
        e('off', { priority: 1, weight: 0 }),
      ],
      'chat-model',
    );
    expect(plan.strategy).toBe('fallback');
    expect(plan.fallback.map((f) => f.name)).toEqual(['second', 'third']);
  });

  it('keeps a cut-over variant (weight 0) at the best priority out of the split, not into the fallback chain', () => {
    const plan = planOf([e('old', { weight: 0 }), e('new', { weight: 100 })], 'chat-model');
    expect(plan.strategy).toBe('single');
    expect(plan.fallback).toEqual([]);
    expect(describePlan(plan)).toEqual(['All other traffic: new (chat-model on new-backend).']);
  });

  it('gives each split entry its share of the weights, which need not add up to 100', () => {
    const plan = planOf([e('a', { weight: 3 }), e('b', { weight: 1 })], 'chat-model');
    expect(plan.split.map((s) => s.percent)).toEqual([75, 25]);
  });

  it('lists logical names in the order they first appear', () => {
    expect(logicalModels([e('a', { model: 'x' }), e('b', { model: 'y' }), e('c', { model: 'x' })])).toEqual([
      'x',
      'y',
    ]);
  });
});
