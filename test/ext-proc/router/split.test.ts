import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CompiledSplit } from '../../../config/snapshot.ts';
import { hashString, pickSticky, pickWeighted } from '../../../ext-proc/router/split.ts';
import { compiledSplit } from '../../fixtures/config/manifests.ts';
import { seededRandom } from './prng.ts';

const sessions = (n: number, prefix = 'session') => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

/** Share of each entry name among `picks`. */
function shares(picks: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of picks) counts[name] = (counts[name] ?? 0) + 1;
  for (const name of Object.keys(counts)) counts[name] = counts[name]! / picks.length;
  return counts;
}

function weightedDraws(split: CompiledSplit, n: number, seed: number): string[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => pickWeighted(split, random()).name);
}

describe('hashString', () => {
  it('is 32-bit FNV-1a, so session placement survives restarts and other processes', () => {
    // Reference vectors of FNV-1a 32 (http://www.isthe.com/chongo/tech/comp/fnv/).
    expect(hashString('')).toBe(0x811c9dc5);
    expect(hashString('a')).toBe(0xe40c292c);
    expect(hashString('foobar')).toBe(0xbf9cf968);
  });

  it('returns an unsigned 32-bit integer', () => {
    for (const text of ['x', 'session-1', 'ünïcödé', '🙂'.repeat(10)]) {
      const h = hashString(text);
      expect(Number.isInteger(h)).toBe(true);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(h).toBeLessThan(2 ** 32);
    }
  });
});

describe('pickWeighted', () => {
  it('maps the unit interval onto cumulative weights', () => {
    const split = compiledSplit({ a: 1, b: 3 });
    expect(pickWeighted(split, 0).name).toBe('a');
    expect(pickWeighted(split, 0.2499).name).toBe('a');
    expect(pickWeighted(split, 0.25).name).toBe('b');
    expect(pickWeighted(split, 0.999_999).name).toBe('b');
  });

  it('splits 50/50 within tolerance over 20,000 draws', () => {
    const share = shares(weightedDraws(compiledSplit({ blue: 50, green: 50 }), 20_000, 1));
    expect(share.blue).toBeGreaterThan(0.48);
    expect(share.blue).toBeLessThan(0.52);
    expect(share.green).toBeGreaterThan(0.48);
    expect(share.green).toBeLessThan(0.52);
  });

  it('sends about 5% to a 95/5 canary over 20,000 draws', () => {
    const share = shares(weightedDraws(compiledSplit({ stable: 95, canary: 5 }), 20_000, 2));
    expect(share.canary).toBeGreaterThan(0.04);
    expect(share.canary).toBeLessThan(0.06);
  });

  it('never draws a weight-0 entry', () => {
    const split = compiledSplit({ a: 1, off: 0, b: 1 });
    expect(split.entries.map((e) => e.name)).toEqual(['a', 'b']);
    expect(new Set(weightedDraws(split, 2_000, 3))).toEqual(new Set(['a', 'b']));
  });
});

describe('pickSticky', () => {
  it('keeps a session on the same entry every time, across recompiles', () => {
    const split = compiledSplit({ blue: 50, green: 50 });
    const again = compiledSplit({ blue: 50, green: 50 });
    for (const session of sessions(500)) {
      const first = pickSticky(split, session).name;
      expect(pickSticky(split, session).name).toBe(first);
      expect(pickSticky(again, session).name).toBe(first);
    }
  });

  it('spreads 10,000 sessions about 50/50', () => {
    const split = compiledSplit({ blue: 50, green: 50 });
    const share = shares(sessions(10_000).map((s) => pickSticky(split, s).name));
    expect(share.blue).toBeGreaterThan(0.47);
    expect(share.blue).toBeLessThan(0.53);
  });

  it('spreads 10,000 sessions about 95/5', () => {
    const split = compiledSplit({ stable: 95, canary: 5 });
    const share = shares(sessions(10_000).map((s) => pickSticky(split, s).name));
    expect(share.canary).toBeGreaterThan(0.04);
    expect(share.canary).toBeLessThan(0.06);
  });

  it('spreads random-looking session ids in proportion to three weights', () => {
    const split = compiledSplit({ a: 60, b: 30, c: 10 });
    const random = seededRandom(4);
    const ids = Array.from({ length: 10_000 }, () => `user_${Math.floor(random() * 2 ** 52).toString(36)}`);
    const share = shares(ids.map((s) => pickSticky(split, s).name));
    expect(share.a).toBeGreaterThan(0.57);
    expect(share.a).toBeLessThan(0.63);
    expect(share.b).toBeGreaterThan(0.27);
    expect(share.b).toBeLessThan(0.33);
    expect(share.c).toBeGreaterThan(0.08);
    expect(share.c).toBeLessThan(0.12);
  });

  it('keeps a session on one variant when the canary weight grows, moving only sessions to the canary', () => {
    // 5% → 20% canary, the two stable variants keeping their 3:2 ratio (57:38 → 48:32).
    const before = compiledSplit({ 'stable-a': 57, 'stable-b': 38, canary: 5 });
    const after = compiledSplit({ 'stable-a': 48, 'stable-b': 32, canary: 20 });
    const ids = sessions(10_000);
    let moved = 0;
    for (const session of ids) {
      const from = pickSticky(before, session).name;
      const to = pickSticky(after, session).name;
      if (from === to) continue;
      moved += 1;
      expect({ session, from, to }).toEqual({ session, from, to: 'canary' });
    }
    expect(moved / ids.length).toBeGreaterThan(0.13);
    expect(moved / ids.length).toBeLessThan(0.17);
  });

  it('moves sessions only to the canary when its weight alone grows from 5 to 20', () => {
    const before = compiledSplit({ 'stable-a': 50, 'stable-b': 45, canary: 5 });
    const after = compiledSplit({ 'stable-a': 50, 'stable-b': 45, canary: 20 });
    const ids = sessions(10_000, 'conversation');
    const movedTo = new Set<string>();
    let moved = 0;
    for (const session of ids) {
      const from = pickSticky(before, session).name;
      const to = pickSticky(after, session).name;
      if (from !== to) {
        moved += 1;
        movedTo.add(to);
      }
    }
    expect([...movedTo]).toEqual(['canary']);
    // Canary share goes from 5/100 to 20/115: about 12.4% of sessions move.
    expect(moved / ids.length).toBeGreaterThan(0.105);
    expect(moved / ids.length).toBeLessThan(0.145);
  });

  it('is deterministic and never picks a weight-0 entry, for any weights and session', () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 8 })
          .filter((weights) => weights.some((w) => w > 0)),
        fc.array(fc.string({ unit: 'binary', maxLength: 40 }), { minLength: 1, maxLength: 20 }),
        (weights, sessionKeys) => {
          const table = Object.fromEntries(weights.map((w, i) => [`e${i}`, w]));
          const split = compiledSplit(table);
          const recompiled = compiledSplit(table);
          for (const session of sessionKeys) {
            const picked = pickSticky(split, session);
            expect(picked.weight).toBeGreaterThan(0);
            expect(table[picked.name]).toBeGreaterThan(0);
            expect(pickSticky(split, session)).toBe(picked);
            expect(pickSticky(recompiled, session).name).toBe(picked.name);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
