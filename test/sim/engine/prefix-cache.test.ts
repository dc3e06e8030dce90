import { describe, expect, it } from 'vitest';
import { blockHashes, PrefixCache } from '../../../sim/engine/prefix-cache.ts';
import { tokenize } from '../../../sim/tokens.ts';
import { tokens } from './drive.ts';

describe('blockHashes', () => {
  it('hashes full blocks only, each chaining the ones before it', () => {
    const hashes = blockHashes(tokens(11), 4, 0);
    expect(hashes).toHaveLength(2);
    // The same second block after a different first block is a different prefix, so a different hash.
    const otherStart = blockHashes([99, ...tokens(7, 2)], 4, 0);
    expect(otherStart[1]).not.toBe(hashes[1]);
    expect(new Set([...hashes, ...otherStart]).size).toBe(4);
  });

  it('gives equal text prefixes equal leading block hashes', () => {
    const system = 'You are a careful assistant who answers questions about the router. '.repeat(4);
    const a = blockHashes(tokenize(system + 'What is a gateway?'), 16, 0);
    const b = blockHashes(tokenize(system + 'Which pod serves me?'), 16, 0);
    const shared = Math.floor(system.length / 4 / 16);
    expect(shared).toBeGreaterThan(0);
    expect(a.slice(0, shared)).toEqual(b.slice(0, shared));
  });

  it('depends on the seed, as vLLM’s hash root does', () => {
    expect(blockHashes(tokens(8), 4, 1)).not.toEqual(blockHashes(tokens(8), 4, 2));
    expect(blockHashes(tokens(8), 4, 1)).toEqual(blockHashes(tokens(8), 4, 1));
  });

  it('returns safe integers, usable as exact Map keys', () => {
    for (const hash of blockHashes(tokens(4096), 16, 3)) expect(Number.isSafeInteger(hash)).toBe(true);
  });
});

describe('PrefixCache', () => {
  it('finds the longest cached chain of leading blocks, stopping at the first miss or the cap', () => {
    const cache = new PrefixCache(10);
    cache.insert([1, 2, 3], 3);
    expect(cache.longestPrefix([1, 2, 3, 4], 10)).toBe(3);
    expect(cache.longestPrefix([1, 9, 3], 10)).toBe(1);
    expect(cache.longestPrefix([9, 2, 3], 10)).toBe(0);
    expect(cache.longestPrefix([1, 2, 3], 2)).toBe(2);
  });

  it('evicts the least recently used block, keeping a request’s leading blocks longest', () => {
    const cache = new PrefixCache(3);
    cache.insert([1, 2], 2); // recency, oldest first: 2, 1
    cache.insert([7, 8], 2); // 2, 1, 8, 7 -> evicts 2
    expect([1, 2, 7, 8].map((h) => cache.has(h))).toEqual([true, false, true, true]);
    cache.insert([1], 1); // refreshes 1: 8, 7, 1
    cache.insert([5], 1); // evicts 8
    expect([1, 5, 7, 8].map((h) => cache.has(h))).toEqual([true, true, true, false]);
    expect(cache.size).toBe(3);
  });

  it('keeps the head of a prompt longer than the whole cache', () => {
    const cache = new PrefixCache(2);
    cache.insert([1, 2, 3, 4], 4);
    expect(cache.longestPrefix([1, 2, 3, 4], 4)).toBe(2);
  });

  it('caches nothing with capacity 0', () => {
    const cache = new PrefixCache(0);
    cache.insert([1, 2], 2);
    expect(cache.size).toBe(0);
  });
});
