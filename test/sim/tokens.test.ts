import { describe, expect, it } from 'vitest';
import { countPromptTokens, tokenize } from '../../sim/tokens.ts';

describe('tokenize', () => {
  it('makes one token per four characters, as countPromptTokens counts', () => {
    for (const text of ['', 'a', 'abcd', 'abcde', 'x'.repeat(1001)]) {
      expect(tokenize(text)).toHaveLength(countPromptTokens(text.length));
    }
  });

  it('gives texts with a common prefix the same leading token ids', () => {
    const a = tokenize('The shared system prompt. Then a question');
    const b = tokenize('The shared system prompt. Then another one');
    expect(a.slice(0, 8)).toEqual(b.slice(0, 8));
    expect(a).not.toEqual(b);
  });

  it('is deterministic and tells different four-character groups apart', () => {
    expect(tokenize('abcdefgh')).toEqual(tokenize('abcdefgh'));
    const [first, second] = tokenize('abcdabce');
    expect(first).not.toBe(second);
  });
});
