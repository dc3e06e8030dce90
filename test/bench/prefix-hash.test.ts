import { describe, expect, it } from 'vitest';
import { longPrompt, PROMPT_CHARS, SinglePassHasher } from '../../bench/prefix-hash.ts';
import { PromptHasher } from '../../endpoint-picker/scheduling/scorers/prefix-index.ts';

describe('prefix hashing baseline', () => {
  it('is the picker hash itself: one pass over one block equals the chained hash of that block', () => {
    const prompt = longPrompt(64);
    const chained = new PromptHasher(64, 1);
    expect(chained.hash('m', prompt)).toBe(1);
    const single = new SinglePassHasher(64);
    single.hash('m', prompt, 64);
    expect([single.lo, single.hi]).toEqual([chained.lo[0], chained.hi[0]]);
  });

  it('hashes a 100,000-character ASCII prompt as 1,562 whole blocks of 64 bytes', () => {
    const prompt = longPrompt(PROMPT_CHARS);
    expect(Buffer.byteLength(prompt)).toBe(PROMPT_CHARS);
    expect(new PromptHasher(64, Math.floor(PROMPT_CHARS / 64)).hash('m', prompt)).toBe(1562);
  });
});
