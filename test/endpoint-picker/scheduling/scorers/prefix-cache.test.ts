import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../../../endpoint-picker/scheduling/scheduler.ts';
import { prefixCacheScorer } from '../../../../endpoint-picker/scheduling/scorers/prefix-cache.ts';
import {
  BlockLru,
  PrefixIndex,
  PromptHasher,
} from '../../../../endpoint-picker/scheduling/scorers/prefix-index.ts';
import { pod, promptOf, request, scores } from '../fixtures.ts';

/** A prompt's block hashes as `lo:hi` strings, and the raw halves. */
function chain(prompt: string, model = 'm', blockSize = 64, max = 256) {
  const hasher = new PromptHasher(blockSize, max);
  const count = hasher.hash(model, prompt);
  const lo = hasher.lo.slice(0, count);
  const hi = hasher.hi.slice(0, count);
  return { count, lo, hi, keys: Array.from(lo, (l, i) => `${l}:${hi[i]}`) };
}
const hashes = (prompt: string, model?: string, blockSize?: number, max?: number) =>
  chain(prompt, model, blockSize, max).keys;
const add = (index: PrefixIndex, pod: string, c: ReturnType<typeof chain>) =>
  index.add(pod, c.lo, c.hi, c.count);
const match = (index: PrefixIndex, pod: string, c: ReturnType<typeof chain>) =>
  index.matchLength(pod, c.lo, c.hi, c.count);

describe('prompt block hashes', () => {
  it('cuts the prompt into whole blocks of UTF-8 bytes and ignores a final partial block', () => {
    expect(hashes('x'.repeat(63))).toHaveLength(0);
    expect(hashes('x'.repeat(64))).toHaveLength(1);
    expect(hashes('x'.repeat(64 * 3 + 10))).toHaveLength(3);
    expect(hashes('é'.repeat(32))).toHaveLength(1); // two bytes each
  });

  it('chains: a block hash depends on everything before it, so equal blocks after different prefixes differ', () => {
    const a = hashes(promptOf('same', 1) + promptOf('tail', 1));
    const b = hashes(promptOf('diff', 1) + promptOf('tail', 1));
    expect(a[0]).not.toBe(b[0]);
    expect(a[1]).not.toBe(b[1]);
  });

  it('is equal for equal prefixes and seeded by the model', () => {
    const long = hashes(promptOf('t', 4));
    const short = hashes(promptOf('t', 2));
    expect(short).toEqual(long.slice(0, 2));
    expect(hashes(promptOf('t', 2), 'other-model')[0]).not.toBe(short[0]);
  });

  it('hashes odd block sizes and odd-length prompts deterministically', () => {
    const a = hashes('abcdefghijk', 'm', 3);
    expect(a).toHaveLength(3);
    expect(a).toEqual(hashes('abcdefghijk', 'm', 3));
    expect(new Set(a).size).toBe(3);
  });

  it('stops at maxPrefixBlocksToMatch blocks', () => {
    expect(hashes(promptOf('t', 20), 'm', 64, 8)).toHaveLength(8);
  });
});

describe('prefix index', () => {
  it('stays within its per-pod capacity', () => {
    const index = new PrefixIndex(5);
    for (let i = 0; i < 20; i++) {
      add(index, 'p', chain(promptOf(`topic-${i}`, 3)));
      expect(index.size('p')).toBeLessThanOrEqual(5);
    }
    expect(index.size('p')).toBe(5);
  });

  it('evicts the least recently used chain, keeping one that was used again', () => {
    const index = new PrefixIndex(4);
    const a = chain(promptOf('a', 2));
    const b = chain(promptOf('b', 2));
    const c = chain(promptOf('c', 2));
    add(index, 'p', a);
    add(index, 'p', b);
    add(index, 'p', a); // a is now more recent than b
    add(index, 'p', c); // evicts b's two blocks
    expect(match(index, 'p', a)).toBe(2);
    expect(match(index, 'p', b)).toBe(0);
    expect(match(index, 'p', c)).toBe(2);
  });

  it('evicts a chain from its tail, so what remains is still a matchable prefix', () => {
    const index = new PrefixIndex(3);
    const long = chain(promptOf('long', 5));
    add(index, 'p', long);
    expect(index.size('p')).toBe(3);
    expect(match(index, 'p', long)).toBe(3);
    expect(index.holds('p', long.lo[0]!, long.hi[0]!)).toBe(true);
    expect(index.holds('p', long.lo[4]!, long.hi[4]!)).toBe(false);
  });

  it('keeps pods apart and forgets a pod on request', () => {
    const index = new PrefixIndex(10);
    const x = chain(promptOf('x', 2));
    add(index, 'p1', x);
    expect(match(index, 'p2', x)).toBe(0);
    index.forgetPod('p1');
    expect(match(index, 'p1', x)).toBe(0);
    expect([...index.podNames()]).toEqual([]);
  });

  it('finds by binary search exactly the leading blocks a block-by-block walk finds', () => {
    // Random prompts over a small alphabet of blocks share prefixes often; a tiny capacity forces eviction.
    const block = fc.constantFrom('A', 'B', 'C').map((ch) => ch.repeat(4));
    const prompt = fc.array(block, { minLength: 1, maxLength: 12 }).map((blocks) => blocks.join(''));
    fc.assert(
      fc.property(
        fc.array(prompt, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 16 }),
        (prompts, cap) => {
          const index = new PrefixIndex(cap);
          for (const [i, text] of prompts.entries()) {
            const c = chain(text, 'm', 4, 64);
            if (i % 2 === 0) add(index, 'p', c);
            let walked = 0;
            while (walked < c.count && index.holds('p', c.lo[walked]!, c.hi[walked]!)) walked++;
            expect(match(index, 'p', c)).toBe(walked);
          }
        },
      ),
      { seed: 7, numRuns: 300 },
    );
  });
});

describe('block LRU', () => {
  it('behaves as a bounded LRU set under random use, growing its tables as it fills', () => {
    const op = fc.record({ key: fc.integer({ min: 0, max: 300 }), hi: fc.integer({ min: 0, max: 2 }) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 600 }), fc.integer({ min: 1, max: 200 }), (ops, capacity) => {
        const lru = new BlockLru(capacity);
        const model: string[] = []; // oldest first
        for (const { key, hi } of ops) {
          // Low halves that share their low bits collide in the table: exercises probing and deletion.
          const lo = key * 1024;
          const id = `${lo}:${hi}`;
          lru.touch(lo, hi);
          const at = model.indexOf(id);
          if (at >= 0) model.splice(at, 1);
          model.push(id);
          if (model.length > capacity) model.shift();
          expect(lru.size).toBe(model.length);
        }
        for (let key = 0; key <= 300; key++) {
          for (let hi = 0; hi <= 2; hi++)
            expect(lru.has(key * 1024, hi)).toBe(model.includes(`${key * 1024}:${hi}`));
        }
      }),
      { seed: 11, numRuns: 150 },
    );
  });
});

describe('prefix-cache scorer', () => {
  const pods = [pod('a'), pod('b')];

  it('scores the longest cached prefix over the prompt length, growing with the shared prefix', () => {
    const scorer = prefixCacheScorer();
    scorer.onPicked(request({ prompt: promptOf('doc', 8) }), pods[0]!);
    const shared = [0, 2, 4, 6, 8].map((k) => {
      const prompt = promptOf('doc', k) + promptOf('question', 8 - k);
      return scores(scorer, request({ prompt }), pods)[0]!;
    });
    expect(shared).toEqual([0, 2 / 8, 4 / 8, 6 / 8, 1]);
    expect(scores(scorer, request({ prompt: promptOf('doc', 8) }), pods)[1]).toBe(0);
  });

  it('scores 0 everywhere for a prompt shorter than one block', () => {
    const scorer = prefixCacheScorer();
    scorer.onPicked(request({ prompt: 'short' }), pods[0]!);
    expect(scores(scorer, request({ prompt: 'short' }), pods)).toEqual([0, 0]);
  });

  it('does not match a prompt recorded for another model', () => {
    const scorer = prefixCacheScorer();
    scorer.onPicked(request({ prompt: promptOf('doc', 4), model: 'adapter-a' }), pods[0]!);
    expect(scores(scorer, request({ prompt: promptOf('doc', 4), model: 'adapter-b' }), pods)).toEqual([0, 0]);
  });

  it('honours blockSize and lruCapacityPerServer', () => {
    const scorer = prefixCacheScorer({ blockSize: 16, lruCapacityPerServer: 2 });
    scorer.onPicked(request({ prompt: promptOf('doc', 4, 16) }), pods[0]!);
    expect(scorer.index.size('default/a')).toBe(2);
    expect(scores(scorer, request({ prompt: promptOf('doc', 4, 16) }), pods)).toEqual([0.5, 0]);
  });

  it('learns from each decision, so a repeated prompt returns to the pod that served it', () => {
    const scheduler = new Scheduler(
      { profiles: [{ name: 'p', scorers: [{ type: 'prefix-cache' }], picker: { type: 'max-score' } }] },
      { seed: 1 },
    );
    const many = ['a', 'b', 'c', 'd', 'e', 'f'].map((n, i) => pod(`${n}${i + 1}`));
    const first = scheduler.schedule(request({ prompt: promptOf('system', 10) }), many);
    if (first.kind !== 'picked') throw new Error('expected a pick');
    for (let turn = 1; turn <= 5; turn++) {
      const prompt = promptOf('system', 10) + promptOf(`turn-${turn}`, 2);
      const next = scheduler.schedule(request({ requestId: `r${turn}`, prompt }), many);
      expect(next.kind === 'picked' && next.primary).toBe(first.primary);
    }
  });
});
