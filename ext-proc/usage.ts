/**
 * Token usage read from OpenAI-format responses: the `usage` object of a buffered body, or of the
 * final chunk of a stream (sent when the request asked for `stream_options.include_usage`).
 */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  cachedTokens?: number;
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

const MAX_CARRY = 1 << 20;

/**
 * Incremental scan of an SSE stream for usage. Chunks arrive split anywhere; only the unfinished last
 * line is carried over, and complete lines are decoded only when the bytes `"usage"` occur in them.
 */
export class SseUsageScanner {
  usage: TokenUsage | undefined;
  #carry: Buffer | undefined;

  push(chunk: Buffer): void {
    const data = this.#carry ? Buffer.concat([this.#carry, chunk]) : chunk;
    const lastNewline = data.lastIndexOf(10);
    if (lastNewline < 0) {
      this.#carry = data.length > MAX_CARRY ? undefined : Buffer.from(data);
      return;
    }
    this.#carry = lastNewline + 1 < data.length ? Buffer.from(data.subarray(lastNewline + 1)) : undefined;
    const complete = data.subarray(0, lastNewline);
    if (complete.indexOf(USAGE_MARKER) < 0) return;
    for (const line of complete.toString('utf8').split('\n')) {
      if (!line.startsWith('data:') || !line.includes('"usage"')) continue;
      try {
        const usage = fromUsageObject((JSON.parse(line.slice(5)) as { usage?: unknown }).usage);
        if (usage) this.usage = usage;
      } catch {
        // A data line that is not JSON (e.g. "[DONE]") carries no usage.
      }
    }
  }
}
