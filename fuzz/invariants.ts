/**
 * What must hold for every fuzz case at either front door, as plain checks that name what broke. A
 * target collects the broken ones as strings; an empty list is a passing case.
 */

/** Errors a client can get: the OpenAI error object (platform.openai.com/docs/guides/error-codes). */
export function openAIErrorProblem(status: number, body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return `${status} answer is not JSON: ${clip(body)}`;
  }
  const error = (parsed as { error?: unknown } | null)?.error as Record<string, unknown> | undefined;
  if (!error || typeof error !== 'object') return `${status} answer has no "error" object: ${clip(body)}`;
  if (typeof error.message !== 'string' || error.message.length === 0)
    return `${status} error has no message: ${clip(body)}`;
  if (typeof error.type !== 'string') return `${status} error has no type: ${clip(body)}`;
  for (const field of ['param', 'code'] as const) {
    const value = error[field];
    if (value !== undefined && value !== null && typeof value !== 'string')
      return `${status} error.${field} is neither a string nor null: ${clip(body)}`;
  }
  if (JS_FAILURE.test(error.message)) return `${status} error leaks a JavaScript failure: ${clip(body)}`;
  return undefined;
}

/**
 * Errors an Anthropic Messages client can get: `{"type":"error","error":{"type","message"}}`
 * (platform.claude.com/docs/en/api/errors), which the Anthropic SDKs read.
 */
export function anthropicErrorProblem(status: number, body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return `${status} answer is not JSON: ${clip(body)}`;
  }
  const top = parsed as { type?: unknown; error?: unknown } | null;
  if (top?.type !== 'error') return `${status} Anthropic error without "type": "error": ${clip(body)}`;
  const error = top.error as Record<string, unknown> | undefined;
  if (!error || typeof error !== 'object') return `${status} answer has no "error" object: ${clip(body)}`;
  if (typeof error.type !== 'string' || error.type.length === 0)
    return `${status} error has no type: ${clip(body)}`;
  if (typeof error.message !== 'string' || error.message.length === 0)
    return `${status} error has no message: ${clip(body)}`;
  if (JS_FAILURE.test(error.message)) return `${status} error leaks a JavaScript failure: ${clip(body)}`;
  return undefined;
}

/**
 * Text of a JavaScript exception that escaped into an answer: a bug, whatever the status says. A
 * message the gateway means to give never reads like this.
 */
const JS_FAILURE =
  /TypeError|ReferenceError|RangeError|SyntaxError: (?!Unexpected|Expected|Bad|Unterminated)|Cannot read propert|is not a function|is not iterable|undefined is not|at [\w.<>]+ \(.*:\d+:\d+\)/;

export function jsFailureIn(text: string): boolean {
  return JS_FAILURE.test(text);
}

/**
 * Every spelling of a secret a leak could take: as is, in base64 and base64url (a header or Struct
 * bytes field carries it so), and JSON-escaped forms are the same bytes for the ASCII secrets we use.
 */
export function secretSpellings(secrets: readonly string[]): string[] {
  const out = new Set<string>();
  for (const secret of secrets) {
    out.add(secret);
    out.add(Buffer.from(secret).toString('base64').replace(/=+$/, ''));
    out.add(Buffer.from(secret).toString('base64url'));
  }
  return [...out];
}

/** The first secret spelling found in the text, if any (named by its position, never printed). */
export function leakedSecret(text: string, spellings: readonly string[]): number | undefined {
  for (let i = 0; i < spellings.length; i++) if (text.includes(spellings[i]!)) return i;
  return undefined;
}

export function clip(text: string, max = 300): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`;
}
