/**
 * Mistral (api.mistral.ai/v1, `Authorization: Bearer`): OpenAI-compatible, but its request models forbid
 * unknown fields (a 422 `extra_forbidden` for e.g. `stream_options`, `user` or a user message's `name`),
 * so a request keeps only the fields Mistral defines and renames the few it spells differently. Field
 * names are those of Mistral's generated client (github.com/mistralai/client-python,
 * src/mistralai/client/models/{chatcompletionrequest,embeddingrequest,*message}.py).
 *
 * Behaviour a caller can notice:
 * - `max_completion_tokens` → `max_tokens`, `seed` → `random_seed`, embeddings' `dimensions` →
 *   `output_dimension`; OpenAI-only fields (`user`, `stream_options`, `logprobs`, `logit_bias`, `store`, …)
 *   are dropped rather than failing the request.
 * - `tool_choice: "required"` → `"any"`, the value every Mistral API version accepts for "must call a tool".
 * - `developer` messages become `system`; tool call ids that are not 9 letters or digits (Mistral's rule:
 *   "Tool call id was … but must be a-z, A-Z, 0-9, with a length of 9") are replaced by a stable hash, so
 *   a conversation started on another provider can continue here.
 * - `n` and `response_format` pass unchanged: Mistral has both, with OpenAI's shapes.
 * - Anthropic prompt-caching markers (`cache_control` on content parts and tools, cache-control.ts) are
 *   dropped: Mistral's content chunk and tool models do not define them, and a request marked for an
 *   Anthropic backend must still succeed when it falls back to Mistral.
 * - Streams: `stream_options` cannot be sent, and need not be: Mistral sends `usage` unasked on its final
 *   chunk, or a usage-only chunk without choices (client-ts CompletionChunk.usage; mistral-vibe's
 *   vibe/core/llm/backend/mistral.py reads it there). Chunks pass through untouched, so usage is never
 *   invented when Mistral does not send it.
 * When nothing but `model` changes, the body is the client's bytes with `model` spliced in.
 */
import { createHash } from 'node:crypto';
import { errors, errorTypeForStatus, type OpenAIErrorBody } from '../errors.ts';
import { spliceValues, topLevelMembers, type ValueSpan } from '../json/top-level.ts';
import { openAIErrorFrom } from './openai-error.ts';
import {
  bearerOf,
  type Operation,
  type Translator,
  type UpstreamRequest,
  type UpstreamRequestInput,
} from './translator.ts';

interface RequestSchema {
  path: string;
  /** Top-level fields Mistral accepts. */
  fields: ReadonlySet<string>;
  /** OpenAI name → Mistral name. */
  renames: ReadonlyMap<string, string>;
}

const CHAT: RequestSchema = {
  path: '/chat/completions',
  fields: new Set([
    'model',
    'messages',
    'temperature',
    'top_p',
    'max_tokens',
    'stream',
    'stop',
    'random_seed',
    'metadata',
    'response_format',
    'tools',
    'tool_choice',
    'presence_penalty',
    'frequency_penalty',
    'n',
    'prediction',
    'parallel_tool_calls',
    'reasoning_effort',
    'prompt_mode',
    'guardrails',
    'prompt_cache_key',
    'safe_prompt',
  ]),
  renames: new Map([
    ['max_completion_tokens', 'max_tokens'],
    ['seed', 'random_seed'],
  ]),
};

const EMBEDDINGS: RequestSchema = {
  path: '/embeddings',
  fields: new Set(['model', 'input', 'metadata', 'output_dimension', 'output_dtype', 'encoding_format']),
  renames: new Map([['dimensions', 'output_dimension']]),
};

/** Mistral's `reasoning_effort` is "none" | "high" (models/reasoningeffort.py); mistral-vibe maps low → none, medium → high. */
const REASONING_EFFORT: Readonly<Record<string, string>> = {
  none: 'none',
  minimal: 'none',
  low: 'none',
  medium: 'high',
  high: 'high',
  xhigh: 'high',
};

/** OpenAI message fields absent from Mistral's message models; `name` is kept on tool messages only. */
const OPENAI_ONLY_MESSAGE_FIELDS: ReadonlySet<string> = new Set([
  'name',
  'refusal',
  'audio',
  'function_call',
  'annotations',
]);

/**
 * Byte patterns in `messages` that may need a rewrite; their absence proves none is needed, their
 * presence only sends the request down the parsing path (which changes nothing if nothing applies).
 * The markers are spelled in lower-case letters and `_` (U+005F–U+007A), which a client may also write
 * escaped (`"dev\u0065loper"`, as Mistral's parser decodes it), so any `\u005…`–`\u007…` escape counts
 * as a marker too. Serialisers escape only control and non-ASCII characters, so ordinary bodies keep
 * the splice.
 */
const ESCAPE_MARKERS = ['\\u005', '\\u006', '\\u007'];
const MESSAGE_REWRITE_MARKERS = [
  '"developer"',
  '"tool_call',
  '"cache_control"',
  ...[...OPENAI_ONLY_MESSAGE_FIELDS].map((f) => `"${f}"`),
  ...ESCAPE_MARKERS,
].map((m) => Buffer.from(m));
const TOOLS_REWRITE_MARKERS = ['"cache_control"', ...ESCAPE_MARKERS].map((m) => Buffer.from(m));

const MISTRAL_TOOL_CALL_ID = /^[A-Za-z0-9]{9}$/;
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Headers other providers authenticate with; a gateway key or another provider's key must not leak here. */
const FOREIGN_AUTH_HEADERS = ['x-api-key', 'api-key', 'x-goog-api-key'];

function schemaFor(operation: Operation): RequestSchema {
  if (operation === 'chat.completions') return CHAT;
  if (operation === 'embeddings') return EMBEDDINGS;
  // Mistral serves fill-in-the-middle at /fim/completions, a different API; there is no OpenAI /completions.
  throw errors.invalidBody(
    'Mistral has no legacy completions API; use /v1/chat/completions for models routed to Mistral.',
  );
}

/** Whether the value at `span` is `value`, escapes decoded (`"requ\u0069red"` is "required"). */
function valueIs(raw: Buffer, span: ValueSpan, value: string | null): boolean {
  const token = raw.subarray(span.start, span.end);
  if (token.indexOf(0x5c) < 0) return token.toString('utf8') === JSON.stringify(value);
  try {
    return JSON.parse(token.toString('utf8')) === value;
  } catch (error) {
    throw errors.malformedJson((error as Error).message);
  }
}

/**
 * True when the body has something besides `model` that Mistral would reject or name differently. Keys
 * and values are compared decoded, as Mistral reads them; top-level keys are unique (json/top-level.ts).
 */
function needsRewrite(raw: Buffer, spans: readonly ValueSpan[], schema: RequestSchema): boolean {
  for (const span of spans) {
    if (!schema.fields.has(span.key)) return true;
    if (span.key === 'tool_choice' && valueIs(raw, span, 'required')) return true;
    if (
      span.key === 'reasoning_effort' &&
      !(valueIs(raw, span, 'none') || valueIs(raw, span, 'high') || valueIs(raw, span, null))
    )
      return true;
    if (span.key === 'messages') {
      const messages = raw.subarray(span.start, span.end);
      for (const marker of MESSAGE_REWRITE_MARKERS) if (messages.includes(marker)) return true;
    }
    if (span.key === 'tools') {
      const tools = raw.subarray(span.start, span.end);
      for (const marker of TOOLS_REWRITE_MARKERS) if (tools.includes(marker)) return true;
    }
  }
  return false;
}

/** A Mistral-valid tool call id: kept when valid, else a stable function of the original. */
export function mistralToolCallId(id: string): string {
  if (MISTRAL_TOOL_CALL_ID.test(id)) return id;
  const digest = createHash('sha256').update(id).digest();
  let out = '';
  for (let i = 0; i < 9; i++) out += ID_ALPHABET[digest[i]! % ID_ALPHABET.length];
  return out;
}

function mistralMessage(message: unknown): unknown {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return message;
  const source = message as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const isTool = source.role === 'tool';
  for (const [key, value] of Object.entries(source)) {
    if (OPENAI_ONLY_MESSAGE_FIELDS.has(key) && !(isTool && key === 'name')) continue;
    out[key] = value;
  }
  if (out.role === 'developer') out.role = 'system';
  if (Array.isArray(out.content)) out.content = out.content.map(withoutCacheControl);
  if (isTool && typeof out.tool_call_id === 'string') out.tool_call_id = mistralToolCallId(out.tool_call_id);
  if (Array.isArray(out.tool_calls)) {
    out.tool_calls = out.tool_calls.map((call: unknown) => {
      const c = call as Record<string, unknown> | null;
      return c && typeof c === 'object' && typeof c.id === 'string'
        ? { ...c, id: mistralToolCallId(c.id) }
        : call;
    });
  }
  return out;
}

/** The object without its `cache_control` member (anything else as it is). */
function withoutCacheControl(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !('cache_control' in value))
    return value;
  const { cache_control: _, ...rest } = value as Record<string, unknown>;
  return rest;
}

function mistralTool(tool: unknown): unknown {
  const out = withoutCacheControl(tool);
  if (out === null || typeof out !== 'object' || Array.isArray(out) || !('function' in out)) return out;
  return { ...out, function: withoutCacheControl(out.function) };
}

function rewrite(input: UpstreamRequestInput, schema: RequestSchema): Buffer {
  const source = input.json();
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(source)) if (schema.fields.has(key)) out[key] = value;
  // The OpenAI name wins over a Mistral name sent alongside it: it is the one OpenAI clients set.
  for (const [openAIName, mistralName] of schema.renames) {
    if (source[openAIName] !== undefined) out[mistralName] = source[openAIName];
  }
  out.model = input.model;
  if (schema === CHAT) {
    if (out.tool_choice === 'required') out.tool_choice = 'any';
    const effort =
      typeof out.reasoning_effort === 'string' ? REASONING_EFFORT[out.reasoning_effort] : undefined;
    if (effort !== undefined) out.reasoning_effort = effort;
    if (Array.isArray(out.messages)) out.messages = out.messages.map(mistralMessage);
    if (Array.isArray(out.tools)) out.tools = out.tools.map(mistralTool);
  }
  return input.encode(out);
}

function mistralBody(input: UpstreamRequestInput, schema: RequestSchema): Buffer {
  const spans = topLevelMembers(input.raw);
  const model = spans.filter((s) => s.key === 'model');
  if (model.length === 0 || needsRewrite(input.raw, spans, schema)) return rewrite(input, schema);
  return spliceValues(input.raw, model, () => JSON.stringify(input.model));
}

interface ValidationDetail {
  loc?: unknown;
  msg?: unknown;
}

/**
 * Mistral's 422 carries FastAPI/pydantic validation details where OpenAI has a message string:
 * {"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","user"],"msg":…}]},…}
 * (also seen with the list as `message` or `detail` itself). Returns them as one readable message.
 */
function validationError(status: number, body: Buffer): OpenAIErrorBody | undefined {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object') return undefined;
  const message = parsed.message as { detail?: unknown } | unknown[] | string | undefined;
  const detail = Array.isArray(message)
    ? message
    : message !== null && typeof message === 'object' && Array.isArray(message.detail)
      ? message.detail
      : Array.isArray(parsed.detail)
        ? parsed.detail
        : undefined;
  if (!detail || detail.length === 0) return undefined;
  let param: string | null = null;
  const parts = (detail as ValidationDetail[]).map((d) => {
    const loc = Array.isArray(d.loc) ? d.loc.filter((p, i) => !(i === 0 && p === 'body')).join('.') : '';
    param ??= loc || null;
    const msg = typeof d.msg === 'string' ? d.msg : 'invalid';
    return loc ? `${loc}: ${msg}` : msg;
  });
  return {
    error: {
      message: `Mistral rejected the request: ${parts.join('; ')}`,
      type: errorTypeForStatus(status),
      param,
      code: `upstream_${status}`,
    },
  };
}

export function mistralTranslator(): Translator {
  return {
    convertsResponses: false,
    // Mistral's own CLI reads this response header as the request's id (mistral-vibe, vibe/core/llm/backend/mistral.py).
    requestIdHeader: 'mistral-correlation-id',
    request(input: UpstreamRequestInput): UpstreamRequest {
      const schema = schemaFor(input.operation);
      const headers: [string, string][] = [['content-type', 'application/json']];
      const removeHeaders = [...FOREIGN_AUTH_HEADERS];
      const bearer = bearerOf(input.credential);
      if (bearer) headers.push(['authorization', bearer]);
      else removeHeaders.push('authorization');
      return {
        path: input.backend.basePath + schema.path,
        headers,
        removeHeaders,
        body: mistralBody(input, schema),
      };
    },
    responseBody: (body) => body,
    createStream: () => ({ chunk: () => undefined }),
    error: (status, body) => validationError(status, body) ?? openAIErrorFrom(status, body, 'Mistral'),
  };
}
