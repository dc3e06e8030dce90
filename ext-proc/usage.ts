/**
 * Token usage read from OpenAI-format responses: the `usage` object of a buffered body, or of the
 * final chunk of a stream (every stream is asked for one; see SseUsageScanner).
 */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  cachedTokens?: number;
  /** completion_tokens_details.reasoning_tokens: part of the completion spent on reasoning. */
  reasoningTokens?: number;
}

const USAGE_MARKER = Buffer.from('"usage"');

function fromUsageObject(usage: unknown): TokenUsage | undefined {
  if (!usage || typeof usage !== 'object') return undefined;
  const u = usage as Record<string, unknown>;
  const prompt = typeof u.prompt_tokens === 'number' ? u.prompt_tokens : 0;
  const completion = typeof u.completion_tokens === 'number' ? u.completion_tokens : 0;
  const result: TokenUsage = {
    promptTokens: prompt,
    completionTokens: completion,
    totalTokens: typeof u.total_tokens === 'number' ? u.total_tokens : prompt + completion,
  };
  const cached = (u.prompt_tokens_details as Record<string, unknown> | undefined)?.cached_tokens;
  if (typeof cached === 'number') result.cachedTokens = cached;
  const reasoning = (u.completion_tokens_details as Record<string, unknown> | undefined)?.reasoning_tokens;
  if (typeof reasoning === 'number') result.reasoningTokens = reasoning;
  return result;
}

/**
 * Usage of a buffered OpenAI-format body. Only the `usage` object is decoded: providers put it after
 * the content, so the body is searched from the end for the last `"usage"` key and the object that
 * follows it is cut out by brace matching (it holds numbers and nested objects, never strings with
 * braces). Falls back to parsing the whole body if that shortcut does not yield an object.
 */
export function usageFromJson(body: Buffer): TokenUsage | undefined {
  const marker = body.lastIndexOf(USAGE_MARKER);
  if (marker < 0) return undefined;
  const open = body.indexOf(123 /* { */, marker + USAGE_MARKER.length);
  if (open >= 0 && isOnlyColonBetween(body, marker + USAGE_MARKER.length, open)) {
    let depth = 0;
    for (let i = open; i < body.length; i++) {
      const c = body[i];
      if (c === 123) depth++;
      else if (c === 125 && --depth === 0) {
        try {
          return fromUsageObject(JSON.parse(body.toString('utf8', open, i + 1)));
        } catch {
          break;
        }
      }
    }
  }
  try {
    return fromUsageObject((JSON.parse(body.toString('utf8')) as { usage?: unknown }).usage);
  } catch {
    return undefined;
  }
}

function isOnlyColonBetween(body: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = body[i];
    if (c !== 58 /* : */ && c !== 32 && c !== 10 && c !== 13 && c !== 9) return false;
  }
  return true;
}

/** How far into a buffered body the top-level `model` is looked for; OpenAI's format has it in the first line. */
const MODEL_SCAN_BYTES = 4096;
const MAX_MODEL_LENGTH = 256;
const QUOTE = 34;
const BACKSLASH = 92;

/**
 * The top-level `model` of a buffered OpenAI-format body (the model that answered), read without
 * parsing the body: a scan of its first bytes that tracks strings and nesting, so a "model" key in a
 * nested object or inside a string value is not mistaken for it. Undefined when it is not a string
 * within the first MODEL_SCAN_BYTES, or is escaped (no model id needs escapes).
 */
export function responseModelOf(body: Buffer): string | undefined {
  const end = Math.min(body.length, MODEL_SCAN_BYTES);
  let depth = 0;
  let expectValue = false;
  for (let i = 0; i < end; i++) {
    const c = body[i]!;
    if (c === QUOTE) {
      let j = i + 1;
      let escaped = false;
      while (j < end && body[j] !== QUOTE) {
        if (body[j] === BACKSLASH) {
          escaped = true;
          j++;
        }
        j++;
      }
      if (j >= end) return undefined;
      if (expectValue)
        return escaped || j - i - 1 > MAX_MODEL_LENGTH ? undefined : body.toString('utf8', i + 1, j);
      if (depth === 1 && !escaped && j - i - 1 === 5 && body.toString('latin1', i + 1, j) === 'model') {
        let k = j + 1;
        while (k < end && (body[k] === 32 || body[k] === 10 || body[k] === 13 || body[k] === 9)) k++;
        if (body[k] === 58 /* : */) {
          expectValue = true;
          i = k;
          continue;
        }
      }
      i = j;
    } else if (expectValue && c !== 32 && c !== 10 && c !== 13 && c !== 9) {
      return undefined; // `"model": null` or a number: not a model id
    } else if (c === 123 || c === 91) depth++;
    else if (c === 125 || c === 93) depth--;
  }
  return undefined;
}

const MAX_CARRY = 1 << 20;
const NEWLINE = 10;

/**
 * Incremental scan of an OpenAI-format SSE stream for usage. Chunks arrive split anywhere; only the
 * unfinished last line is carried over, and a line is decoded only when a `"usage"` key with an object
 * value occurs in it (with include_usage, OpenAI sends `"usage":null` on every other chunk).
 *
 * The gateway asks every provider for usage, so that every request's log line and token metrics have
 * it; a client that did not ask (no `stream_options.include_usage`) must not get the extra chunk, whose
 * `choices` is empty and would break clients reading `choices[0]`. In strip mode the scanner removes
 * that event and answers the bytes to forward instead of the chunk.
 */
export class SseUsageScanner {
  usage: TokenUsage | undefined;
  /** The `model` of the event that carried the usage: the model the provider says answered. */
  model: string | undefined;
  #carry: Buffer | undefined;
  /** A stripped event's blank line has not arrived yet: it goes when it does. */
  #blankLinePending = false;

  /** `strip`: remove the usage-only event (`choices: []`) from the stream. */
  constructor(private readonly strip = false) {}

  /** Reads the chunk; in strip mode, answers the bytes to forward (undefined: the chunk unchanged). */
  push(chunk: Buffer, endOfStream = false): Buffer | undefined {
    const carried = this.#carry;
    const data = carried ? Buffer.concat([carried, chunk]) : chunk;
    const end = endOfStream ? data.length : data.lastIndexOf(NEWLINE) + 1;
    this.#carry = undefined;
    if (end < data.length) {
      const tail = data.subarray(end);
      if (tail.length <= MAX_CARRY) this.#carry = Buffer.from(tail);
      // A "line" longer than that is not an SSE event we read: forwarded, never held.
      else if (this.strip) return data;
    }
    const complete = data.subarray(0, end);
    const removed = this.#scan(complete);
    if (!this.strip) return undefined;
    if (!carried && !this.#carry && removed.length === 0) return undefined;
    if (removed.length === 0) return complete;
    const kept: Buffer[] = [];
    let at = 0;
    for (const [from, to] of removed) {
      kept.push(complete.subarray(at, from));
      at = to;
    }
    kept.push(complete.subarray(at));
    return Buffer.concat(kept);
  }

  /** Reads usage from the complete lines; answers the byte ranges of the usage-only events to strip. */
  #scan(complete: Buffer): [number, number][] {
    const removed: [number, number][] = [];
    let from = 0;
    if (this.#blankLinePending && complete.length > 0) {
      this.#blankLinePending = false;
      const blank = complete[0] === NEWLINE ? 1 : complete[0] === 13 && complete[1] === NEWLINE ? 2 : 0;
      if (blank > 0) removed.push([0, blank]);
      from = blank;
    }
    for (;;) {
      const marker = complete.indexOf(USAGE_MARKER, from);
      if (marker < 0) return removed;
      const lineStart = complete.lastIndexOf(NEWLINE, marker) + 1;
      let lineEnd = complete.indexOf(NEWLINE, marker);
      if (lineEnd < 0) lineEnd = complete.length;
      from = lineEnd + 1;
      if (!isObjectAfter(complete, marker + USAGE_MARKER.length)) continue;
      const line = complete.toString('utf8', lineStart, lineEnd).trimEnd();
      if (!line.startsWith('data:')) continue;
      let event: { usage?: unknown; choices?: unknown; model?: unknown };
      try {
        event = JSON.parse(line.slice(5)) as typeof event;
      } catch {
        continue;
      }
      const usage = fromUsageObject(event.usage);
      if (!usage) continue;
      this.usage = usage;
      if (typeof event.model === 'string' && event.model.length <= MAX_MODEL_LENGTH) this.model = event.model;
      if (!this.strip || !Array.isArray(event.choices) || event.choices.length > 0) continue;
      // The event's blank line goes with it ("\n" or "\r\n").
      let to = lineEnd + 1;
      if (to >= complete.length) this.#blankLinePending = true;
      else if (complete[to] === NEWLINE) to += 1;
      else if (complete[to] === 13 && complete[to + 1] === NEWLINE) to += 2;
      removed.push([lineStart, Math.min(to, complete.length)]);
      from = to;
    }
  }
}

/** Whether the JSON value after a key (at `at`, before its colon) is an object. */
function isObjectAfter(bytes: Buffer, at: number): boolean {
  let i = at;
  while (bytes[i] === 32 || bytes[i] === 9) i++;
  if (bytes[i] !== 58) return false;
  i++;
  while (bytes[i] === 32 || bytes[i] === 9) i++;
  return bytes[i] === 123;
}
