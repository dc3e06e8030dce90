/**
 * The simulated tokenizer: about one token per four characters, the rule of thumb OpenAI gives for English
 * text (https://help.openai.com/en/articles/4936856). Deterministic and cheap, which is all the simulator needs.
 */
export const CHARS_PER_TOKEN = 4;

/** Tokens for a prompt of `charCount` characters; never 0, as a real chat template always adds some. */
export function countPromptTokens(charCount: number): number {
  return Math.max(1, Math.ceil(charCount / CHARS_PER_TOKEN));
}

/**
 * Token ids for `text`: one per four UTF-16 code units, each a hash of those units, so texts with a common
 * prefix share the token ids of that prefix (whole four-character groups) and prefix caching sees it.
 * Always `countPromptTokens(text.length)` ids long; an empty text is one token, id 0.
 */
export function tokenize(text: string): number[] {
  const ids = new Array<number>(countPromptTokens(text.length));
  ids[0] = 0;
  for (let start = 0, token = 0; start < text.length; start += CHARS_PER_TOKEN, token++) {
    let hash = 0x811c9dc5;
    const end = Math.min(start + CHARS_PER_TOKEN, text.length);
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
    ids[token] = hash >>> 0;
  }
  return ids;
}
