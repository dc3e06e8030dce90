import { describe, expect, it } from 'vitest';
import { maxScorePicker } from '../../../../endpoint-picker/scheduling/pickers/max-score.ts';
import { randomPicker } from '../../../../endpoint-picker/scheduling/pickers/random.ts';
import { roundRobinPicker } from '../../../../endpoint-picker/scheduling/pickers/round-robin.ts';
import type { PodState } from '../../../../endpoint-picker/scheduling/types.ts';
import { pod, request } from '../fixtures.ts';

const pods = ['a1', 'b2', 'c3', 'd4', 'e5'].map((n) => pod(n));
const names = (picked: readonly PodState[]) => picked.map((p) => p.name.replace('default/', ''));
const totals = (...values: number[]) => Float64Array.from(values);

describe('max-score picker', () => {
  it('picks the highest total', () => {
    expect(names(maxScorePicker().pick(request(), pods, totals(1, 3, 2, 0, 2.5)))).toEqual(['b2']);
  });

  it('returns the top k best first, as fallbacks', () => {
    const picker = maxScorePicker({ maxNumOfEndpoints: 3 });
    expect(names(picker.pick(request(), pods, totals(1, 3, 2, 0, 2.5)))).toEqual(['b2', 'e5', 'c3']);
  });

  it('returns every candidate when k exceeds them', () => {
    const picker = maxScorePicker({ maxNumOfEndpoints: 9 });
    expect(names(picker.pick(request(), pods.slice(0, 2), totals(0, 1)))).toEqual(['b2', 'a1']);
  });

  it('breaks ties at random, evenly, and the same way for the same seed', () => {
    const tied = totals(1, 5, 5, 5, 0);
    const draw = (seed: number) => {
      const picker = maxScorePicker({ seed });
      return Array.from({ length: 3000 }, () => names(picker.pick(request(), pods, tied))[0]!);
    };
    const first = draw(42);
    expect(draw(42)).toEqual(first);
    expect(draw(43)).not.toEqual(first);
    const counts = new Map<string, number>();
    for (const name of first) counts.set(name, (counts.get(name) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual(['b2', 'c3', 'd4']);
    for (const count of counts.values()) expect(count).toBeGreaterThan(850);
  });

  it('ranks tied fallbacks after strictly better pods', () => {
    const picker = maxScorePicker({ maxNumOfEndpoints: 3, seed: 9 });
    for (let i = 0; i < 50; i++) {
      const picked = names(picker.pick(request(), pods, totals(2, 9, 2, 2, 1)));
      expect(picked[0]).toBe('b2');
      expect(['a1', 'c3', 'd4']).toContain(picked[1]);
      expect(['a1', 'c3', 'd4']).toContain(picked[2]);
      expect(picked[1]).not.toBe(picked[2]);
    }
  });
});

describe('random picker', () => {
  it('picks distinct pods, replayably for a seed, reaching every pod', () => {
    const a = randomPicker({ seed: 5, maxNumOfEndpoints: 3 });
    const b = randomPicker({ seed: 5, maxNumOfEndpoints: 3 });
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const picked = names(a.pick(request(), pods, totals(0, 0, 0, 0, 0)));
      expect(picked).toEqual(names(b.pick(request(), pods, totals(0, 0, 0, 0, 0))));
      expect(new Set(picked).size).toBe(3);
      for (const name of picked) seen.add(name);
    }
    expect(seen.size).toBe(5);
  });
});

describe('round-robin picker', () => {
  it('takes the candidates in turn, with the next ones as fallbacks', () => {
    const picker = roundRobinPicker({ maxNumOfEndpoints: 2 });
    const picks = Array.from({ length: 6 }, () => names(picker.pick(request(), pods, totals(0, 0, 0, 0, 0))));
    expect(picks).toEqual([
      ['a1', 'b2'],
      ['b2', 'c3'],
      ['c3', 'd4'],
      ['d4', 'e5'],
      ['e5', 'a1'],
      ['a1', 'b2'],
    ]);
  });

  it('ignores scores', () => {
    const picker = roundRobinPicker();
    expect(names(picker.pick(request(), pods, totals(0, 9, 9, 9, 9)))).toEqual(['a1']);
  });
});
