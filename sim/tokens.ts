/**
 * The simulated tokenizer: about one token per four characters, the rule of thumb OpenAI gives for English
 * text (https://help.openai.com/en/articles/4936856). Deterministic and cheap, which is all the simulator needs.
 */
export const CHARS_PER_TOKEN = 4;

/** Tokens for a prompt of `charCount` characters; never 0, as a real chat template always adds some. */
export function countPromptTokens(charCount: number): number {
  return Math.max(1, Math.ceil(charCount / CHARS_PER_TOKEN));
}
