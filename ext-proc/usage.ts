/**
 * Token usage read from the answers clients get: the `usage` object of a buffered body, or of the
 * final chunk of a stream (every stream is asked for one; see SseUsageScanner). OpenAI's Chat
 * Completions name the counts prompt_tokens/completion_tokens; the Responses API and Anthropic's
 * Messages API input_tokens/output_tokens (EventUsageScanner reads their streams).
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

const count = (value: unknown): number => (typeof value === 'number' ? value : 0);

function fromUsageObject(usage: unknown): TokenUsage | undefined {
  if (!usage || typeof usage !== 'object') return undefined;
  const u = usage as Record<string, unknown>;
  if (u.prompt_tokens === undefined && u.input_tokens !== undefined) return fromInputOutput(u);
  const prompt = count(u.prompt_tokens);
  const completion = count(u.completion_tokens);
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
 * input_tokens/output_tokens usage. The Responses API counts cached tokens inside input_tokens
 * (input_tokens_details.cached_tokens); Anthropic counts cache reads and writes beside it
 * (cache_read_input_tokens, cache_creation_input_tokens, platform.claude.com/docs/en/build-with-claude/prompt-caching),
 * so they are added for the prompt total the request record keeps for every API.
 */
function fromInputOutput(u: Record<string, unknown>): TokenUsage {
  const cacheRead = u.cache_read_input_tokens;
  const prompt = count(u.input_tokens) + count(cacheRead) + count(u.cache_creation_input_tokens);
  const completion = count(u.output_tokens);
  const result: TokenUsage = {
    promptTokens: prompt,
    completionTokens: completion,
    totalTokens: typeof u.total_tokens === 'number' ? u.total_tokens : prompt + completion,
  };
  const cached =
    typeof cacheRead === 'number'
      ? cacheRead
      : (u.input_tokens_details as Record<string, unknown> | null | undefined)?.cached_tokens;
  if (typeof cached === 'number') result.cachedTokens = cached;
  const reasoning = (u.output_tokens_details as Record<string, unknown> | null | undefined)?.reasoning_tokens;
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
/** What the router-level phase reads a successful stream with. */
export interface UsageScanner {
  readonly usage: TokenUsage | undefined;
  readonly model: string | undefined;
  /** Reads the chunk; answers the bytes to forward instead of it (undefined: the chunk unchanged). */
  push(chunk: Buffer, endOfStream?: boolean): Buffer | undefined;
}

export class SseUsageScanner implements UsageScanner {
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

/**
 * Usage of an Anthropic Messages or OpenAI Responses stream, read without changing it. The counts
 * travel in the `usage` object of an event or of the object it carries: Anthropic's `message_start`
 * (`message.usage`) and `message_delta` (`usage`, cumulative, so later values win), the Responses
 * API's `response.completed` (`response.usage`; earlier events carry `"usage":null`). Fields are merged
 * as they come, and only lines with a `"usage"` key before an object are decoded.
 */
export class EventUsageScanner implements UsageScanner {
  model: string | undefined;
  #fields: Record<string, unknown> | undefined;
  #usage: TokenUsage | undefined;
  #carry: Buffer | undefined;

  get usage(): TokenUsage | undefined {
    if (this.#usage === undefined && this.#fields !== undefined) this.#usage = fromUsageObject(this.#fields);
    return this.#usage;
  }

  push(chunk: Buffer, endOfStream = false): undefined {
    const data = this.#carry ? Buffer.concat([this.#carry, chunk]) : chunk;
    const end = endOfStream ? data.length : data.lastIndexOf(NEWLINE) + 1;
    this.#carry = undefined;
    if (end < data.length && data.length - end <= MAX_CARRY) this.#carry = Buffer.from(data.subarray(end));
    let from = 0;
    for (;;) {
      const marker = data.indexOf(USAGE_MARKER, from);
      if (marker < 0 || marker >= end) return undefined;
      const lineStart = data.lastIndexOf(NEWLINE, marker) + 1;
      let lineEnd = data.indexOf(NEWLINE, marker);
      if (lineEnd < 0 || lineEnd > end) lineEnd = end;
      from = lineEnd + 1;
      if (!isObjectAfter(data, marker + USAGE_MARKER.length)) continue;
      const line = data.toString('utf8', lineStart, lineEnd).trimEnd();
      if (line.startsWith('data:')) this.#read(line.slice(5));
    }
  }

  #read(text: string): void {
    let event: {
      usage?: unknown;
      message?: { usage?: unknown; model?: unknown };
      response?: typeof event.message;
    };
    try {
      event = JSON.parse(text) as typeof event;
    } catch {
      return;
    }
    const holder = event.message ?? event.response;
    const usage = event.usage ?? holder?.usage;
    if (!usage || typeof usage !== 'object') return;
    // message_delta may say `"input_tokens": null` (MessageDeltaUsage): a null never replaces a count.
    this.#fields ??= {};
    const fields = this.#fields;
    for (const [key, value] of Object.entries(usage)) if (value !== null) fields[key] = value;
    this.#usage = undefined;
    const model = holder?.model;
    if (typeof model === 'string' && model.length <= MAX_MODEL_LENGTH) this.model = model;
  }
}
