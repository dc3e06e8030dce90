import { describe, expect, it } from 'vitest';
import { MAX_NATURAL_TOKENS, MIN_NATURAL_TOKENS, planCompletion } from '../../sim/completion.ts';
import { countPromptTokens } from '../../sim/tokens.ts';

describe('planCompletion', () => {
  it('returns the same tokens for the same seed and prompt', () => {
    expect(planCompletion(42, 'user\u0000hi\u0000', undefined)).toEqual(
      planCompletion(42, 'user\u0000hi\u0000', undefined),
    );
  });

  it('returns different tokens for a different seed or prompt', () => {
    const base = planCompletion(42, 'user\u0000hi\u0000', undefined).tokens.join('');
    expect(planCompletion(43, 'user\u0000hi\u0000', undefined).tokens.join('')).not.toBe(base);
    expect(planCompletion(42, 'user\u0000hello\u0000', undefined).tokens.join('')).not.toBe(base);
  });

  it('answers with a natural length in its bounds and finishes with stop when uncapped', () => {
    for (let prompt = 0; prompt < 200; prompt++) {
      const plan = planCompletion(1, String(prompt), undefined);
      expect(plan.finishReason).toBe('stop');
      expect(plan.tokens.length).toBeGreaterThanOrEqual(MIN_NATURAL_TOKENS);
      expect(plan.tokens.length).toBeLessThanOrEqual(MAX_NATURAL_TOKENS);
    }
  });

  it('cuts to max tokens with finish reason length, keeping the uncapped prefix', () => {
    const natural = planCompletion(5, 'p', undefined);
    const capped = planCompletion(5, 'p', 3);
    expect(capped.finishReason).toBe('length');
    expect(capped.tokens).toEqual(natural.tokens.slice(0, 3));
  });

  it('finishes with stop when max tokens is not below the natural length', () => {
    const natural = planCompletion(5, 'p', undefined);
    expect(planCompletion(5, 'p', natural.tokens.length)).toEqual(natural);
    expect(planCompletion(5, 'p', 10_000)).toEqual(natural);
  });

  it('makes each token one space-separated word so content and token count agree', () => {
    const { tokens } = planCompletion(9, 'words', undefined);
    const content = tokens.join('');
    expect(content.split(' ')).toHaveLength(tokens.length);
    expect(tokens.slice(1).every((token) => token.startsWith(' ') && !token.slice(1).includes(' '))).toBe(
      true,
    );
  });
});

describe('countPromptTokens', () => {
  it('counts about one token per four characters, rounding up', () => {
    expect(countPromptTokens(4)).toBe(1);
    expect(countPromptTokens(5)).toBe(2);
    expect(countPromptTokens(400)).toBe(100);
  });

  it('never counts an empty prompt as zero tokens', () => {
    expect(countPromptTokens(0)).toBe(1);
  });
});
