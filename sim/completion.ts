import { createRandom, hashSeed } from './seeded-random.ts';

export type FinishReason = 'stop' | 'length';

/** What the simulated model will say: one vocabulary word per output token. */
export interface CompletionPlan {
  /** Token texts in order; all but the first start with a space, so `tokens.join('')` is the content. */
  readonly tokens: readonly string[];
  readonly finishReason: FinishReason;
}

/** Bounds of the length the model "wants" to answer with when max tokens does not cut it short. */
export const MIN_NATURAL_TOKENS = 16;
export const MAX_NATURAL_TOKENS = 64;

// Space-separated so the formatter keeps the list compact; no word contains a space, so each is one token.
const VOCABULARY: readonly string[] = (
  'the model router gateway request token stream latency cache batch queue prompt answer simulated endpoint ' +
  'replica weight budget policy route of and to in is for with on a by fast steady quiet bright careful ' +
  'simple local remote shared warm serves picks waits returns measures balances retries decodes scores sends ' +
  'river mountain signal lantern harbor garden engine window bridge market today again slowly together'
).split(' ');

/**
 * Deterministic output for a server seed and a prompt key: the same pair always yields the same words,
 * a different seed or prompt almost surely different ones. `maxTokens` caps the length (finish `length`).
 */
export function planCompletion(
  seed: number,
  promptKey: string,
  maxTokens: number | undefined,
): CompletionPlan {
  const random = createRandom(hashSeed(seed, promptKey));
  const natural = MIN_NATURAL_TOKENS + Math.floor(random() * (MAX_NATURAL_TOKENS - MIN_NATURAL_TOKENS + 1));
  const capped = maxTokens !== undefined && maxTokens < natural;
  const count = capped ? maxTokens : natural;
  const tokens: string[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const word = VOCABULARY[Math.floor(random() * VOCABULARY.length)]!;
    tokens[i] = i === 0 ? word.charAt(0).toUpperCase() + word.slice(1) : ' ' + word;
  }
  // A natural stop ends a sentence; a cut one stops mid-sentence, as a real model's would.
  if (!capped) tokens[count - 1] += '.';
  return { tokens, finishReason: capped ? 'length' : 'stop' };
}
