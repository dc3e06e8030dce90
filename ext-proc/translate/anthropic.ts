/**
 * Anthropic Messages API (POST /v1/messages, platform.claude.com/docs/en/api/messages): OpenAI Chat
 * Completions requests become Messages requests; Messages responses, streams and errors become their
 * OpenAI counterparts. The pure functions are exported for Anthropic-on-Vertex, which sends the same
 * body to another URL. Field names below follow the Messages API reference and its TypeScript SDK
 * types (anthropics/anthropic-sdk-typescript, src/resources/messages/messages.ts).
 */
import { errors, errorTypeForStatus, type OpenAIErrorBody, type OpenAIErrorType } from '../errors.ts';
import { type CacheControl, cacheControlOf, toolCacheControlOf } from './cache-control.ts';
import { openAIErrorFrom } from './openai-error.ts';
import { ChunkWriter, DONE_EVENT, errorEvent, type FinishReason, type OpenAIUsage } from './openai-stream.ts';
import { type SseEvent, SseParser } from './sse.ts';
import {
  apiKeyOf,
  type ResponseContext,
  type StreamTranslator,
  type Translator,
  type UpstreamRequest,
  type UpstreamRequestInput,
} from './translator.ts';

/** The API version every Messages API example sends (platform.claude.com/docs/en/api/versioning). */
export const DEFAULT_ANTHROPIC_VERSION = '2023-06-01';

/**
 * Anthropic requires `max_tokens`; this is used when neither the client nor the backend sets one. 4096 is
 * the smallest maximum output of any Claude model (Claude 3 Haiku, platform.claude.com/docs/en/about-claude/models/overview),
 * so every model accepts it.
 */
export const DEFAULT_MAX_TOKENS = 4096;

// ---------------------------------------------------------------------------------------------------------
// Messages API shapes (only the parts the gateway writes or reads)

/**
 * Blocks, tools and system text blocks may carry a prompt-caching breakpoint, `cache_control`
 * (platform.claude.com/docs/en/build-with-claude/prompt-caching): the client's marker, sent as it is.
 */
export interface AnthropicTextBlock {
  type: 'text';
  text: string;
  cache_control?: CacheControl;
}

export type AnthropicImageSource =
  | { type: 'base64'; media_type: string; data: string }
  | { type: 'url'; url: string };

export type AnthropicContentBlock =
  | AnthropicTextBlock
  | { type: 'image'; source: AnthropicImageSource; cache_control?: CacheControl }
  | {
      type: 'tool_use';
      id: string;
      name: string;
      input: Record<string, unknown>;
      cache_control?: CacheControl;
    }
  | {
      type: 'tool_result';
      tool_use_id: string;
      content?: string | AnthropicTextBlock[];
      cache_control?: CacheControl;
    };

export interface AnthropicMessage {
  role: 'user' | 'assistant';
  /** A string is shorthand for one text block. */
  content: string | AnthropicContentBlock[];
}

export interface AnthropicTool {
  name: string;
  description?: string;
  input_schema: Record<string, unknown>;
  cache_control?: CacheControl;
}

export type AnthropicToolChoice =
  | { type: 'auto' | 'any'; disable_parallel_tool_use?: boolean }
  | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean }
  | { type: 'none' };

export interface AnthropicRequest {
  model: string;
  max_tokens: number;
  /** A string, or text blocks when a system part carries a cache breakpoint. */
  system?: string | AnthropicTextBlock[];
  messages: AnthropicMessage[];
  tools?: AnthropicTool[];
  tool_choice?: AnthropicToolChoice;
  stop_sequences?: string[];
  temperature?: number;
  top_p?: number;
  metadata?: { user_id: string };
  stream?: boolean;
  thinking?: { type: 'enabled'; budget_tokens: number } | { type: 'adaptive' };
  output_config?: {
    format?: { type: 'json_schema'; schema: Record<string, unknown> };
    effort?: 'low' | 'medium' | 'high';
  };
}

interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

// ---------------------------------------------------------------------------------------------------------
// Request

export interface AnthropicRequestOptions {
  /** The provider model id (modelNameOverride applied). */
  model: string;
  /** The backend's `defaults.maxTokens`, used when the client sets no limit. */
  maxTokens?: number | undefined;
}

/**
 * The Messages API body for an OpenAI Chat Completions body. Fields without an Anthropic equivalent
 * (n, logprobs, seed, a `json_object` response format, …) are dropped; content the Messages API cannot
 * carry (audio, files, non-function tools) is refused with a 400 the client can act on.
 */
export function toAnthropicRequest(
  body: Record<string, unknown>,
  options: AnthropicRequestOptions,
): AnthropicRequest {
  const { system, messages } = convertMessages(body.messages);
  const clientLimit = numberOrUndefined(body.max_completion_tokens) ?? numberOrUndefined(body.max_tokens);
  const request: AnthropicRequest = {
    model: options.model,
    max_tokens: clientLimit ?? options.maxTokens ?? DEFAULT_MAX_TOKENS,
    messages,
  };
  if (system !== undefined) request.system = system;
  const tools = convertTools(body.tools);
  if (tools) {
    request.tools = tools;
    const choice = convertToolChoice(body.tool_choice, body.parallel_tool_calls === false);
    if (choice) request.tool_choice = choice;
  } else {
    const declared = toolsUsedIn(messages);
    if (declared.length > 0) {
      // Anthropic refuses a history with tool_use/tool_result blocks unless `tools` is defined ("Requests
      // which include tool_use or tool_result blocks must define tools", anthropic-sdk-python#494); an
      // OpenAI request may omit tools on a later turn. Declare the used names and forbid calling them,
      // which is what the OpenAI request (no tools) means.
      request.tools = declared.map((name) => ({ name, input_schema: { type: 'object' } }));
      request.tool_choice = { type: 'none' };
    }
  }
  const stop = convertStop(body.stop);
  if (stop) request.stop_sequences = stop;
  const temperature = numberOrUndefined(body.temperature);
  // OpenAI accepts 0–2; Anthropic documents 0.0–1.0 ("Ranges from 0.0 to 1.0", Messages API reference).
  if (temperature !== undefined) request.temperature = Math.min(temperature, 1);
  const topP = numberOrUndefined(body.top_p);
  if (topP !== undefined) request.top_p = topP;
  // Both name an opaque end-user id (OpenAI `safety_identifier`/`user`, Anthropic `metadata.user_id`).
  const user = body.safety_identifier ?? body.user;
  if (typeof user === 'string' && user) request.metadata = { user_id: user };
  if (body.stream === true) request.stream = true;
  const format = outputFormat(body.response_format);
  if (format) request.output_config = { format };
  enableThinking(request, body.reasoning_effort, clientLimit !== undefined);
  return request;
}

/**
 * OpenAI `response_format` as Anthropic structured outputs: a JSON schema becomes `output_config.format`
 * (platform.claude.com/docs/en/build-with-claude/structured-outputs, "JSON outputs"). The Messages API
 * has no schema-less JSON mode, so `json_object` is dropped: OpenAI already requires such a request to
 * ask for JSON in its messages, which Claude follows.
 */
function outputFormat(format: unknown): NonNullable<AnthropicRequest['output_config']>['format'] {
  if (format === undefined || format === null) return undefined;
  if (typeof format !== 'object' || Array.isArray(format))
    throw errors.invalidBody(
      'response_format must be an object, e.g. {"type": "json_object"}.',
      'response_format',
    );
  const type = (format as { type?: unknown }).type;
  if (type === 'text' || type === 'json_object') return undefined;
  if (type !== 'json_schema')
    throw errors.invalidBody(
      type === undefined
        ? 'response_format has no type (use text, json_object or json_schema).'
        : `response_format.type ${JSON.stringify(type)} is not supported (use text, json_object or json_schema).`,
      'response_format',
    );
  const schema = (format as { json_schema?: { schema?: unknown } }).json_schema?.schema;
  if (!schema || typeof schema !== 'object' || Array.isArray(schema))
    throw errors.invalidBody(
      'response_format.json_schema.schema must be a JSON Schema object.',
      'response_format.json_schema.schema',
    );
  return { type: 'json_schema', schema: schema as Record<string, unknown> };
}

/**
 * Thinking budgets for OpenAI's `reasoning_effort`, on models that take one. Anthropic's smallest budget
 * is 1,024 tokens and the budget must stay below `max_tokens`
 * (platform.claude.com/docs/en/build-with-claude/extended-thinking); `none` and `minimal` ask for less
 * than that, so they leave thinking off.
 */
const THINKING_BUDGETS: Readonly<Record<string, number>> = {
  low: 1024,
  medium: 4096,
  high: 16_384,
  xhigh: 32_768,
};
const MIN_THINKING_BUDGET = 1024;
/**
 * Effort levels for adaptive thinking (platform.claude.com/docs/en/build-with-claude/effort); `max`
 * exists on some models only, so `xhigh` asks for `high`.
 */
const ADAPTIVE_EFFORTS: Readonly<Record<string, 'low' | 'medium' | 'high'>> = {
  low: 'low',
  medium: 'medium',
  high: 'high',
  xhigh: 'high',
};

/**
 * The generation of a Claude model id, as major and minor version, in any platform's spelling:
 * "claude-opus-4-7", "claude-sonnet-4-5@20250929", "us.anthropic.claude-sonnet-4-6-v1:0",
 * "claude-3-7-sonnet-20250219", "claude-sonnet-4-20250514" (4.0).
 */
export function claudeVersion(model: string): [number, number] | undefined {
  const match =
    /claude-(?:opus|sonnet|haiku)-(\d+)(?:-(\d{1,2}))?(?!\d)/.exec(model) ??
    /claude-(\d+)(?:-(\d{1,2}))?-(?:opus|sonnet|haiku)/.exec(model);
  return match ? [Number(match[1]), Number(match[2] ?? 0)] : undefined;
}

/** What thinking needs to know about a Claude request, in any platform's request format. */
export interface ThinkingRequest {
  /** The provider model id. */
  model: string;
  /** OpenAI `reasoning_effort`. */
  effort: unknown;
  /** The output limit the request would have without thinking. */
  maxTokens: number;
  /** Whether that limit is the client's own (OpenAI counts reasoning inside it). */
  clientLimit: boolean;
  /** The tool choice forces a tool call. */
  forcesTool: boolean;
  /** The last turn answers tool calls. */
  continuesToolCall: boolean;
}

export interface ClaudeThinking {
  thinking: NonNullable<AnthropicRequest['thinking']>;
  /** Adaptive thinking's effort level (the Messages API's `output_config.effort`). */
  effort?: 'low' | 'medium' | 'high';
  /** The output limit with room for thinking. */
  maxTokens: number;
}

/**
 * `reasoning_effort` as Claude thinking, where the API allows it; shared by the Messages API and Bedrock.
 * Claude 4.6 and later take adaptive thinking with an effort level — manual budgets are deprecated
 * there and refused from Opus 4.7 on (platform.claude.com/docs/en/build-with-claude/adaptive-thinking);
 * earlier models take a budget. OpenAI counts reasoning inside the client's token limit, so a client
 * limit caps a budget; without one, the answer keeps its usual room and the thinking gets its own on
 * top. No thinking where Anthropic would refuse it: a model before Claude 3.7, a model id that names
 * no Claude version (which form it takes is unknown), a budget under 1,024, a forced tool choice ("Thinking may not be enabled
 * when tool_choice forces tool use"), or a turn that continues a tool call — that needs the
 * assistant's signed thinking block, which an OpenAI history does not carry. With thinking on, the
 * caller must leave temperature at its default and keep top_p within 0.95–1 (extended-thinking,
 * "Feature compatibility").
 */
export function claudeThinking(request: ThinkingRequest): ClaudeThinking | undefined {
  const wanted = typeof request.effort === 'string' ? THINKING_BUDGETS[request.effort] : undefined;
  const version = claudeVersion(request.model);
  if (wanted === undefined || version === undefined || request.forcesTool || request.continuesToolCall)
    return undefined;
  // Extended thinking starts with Claude 3.7 Sonnet; earlier models refuse the field.
  if (version[0] < 3 || (version[0] === 3 && version[1] < 7)) return undefined;
  if (version[0] > 4 || (version[0] === 4 && version[1] >= 6)) {
    return {
      thinking: { type: 'adaptive' },
      effort: ADAPTIVE_EFFORTS[request.effort as string]!,
      maxTokens: request.clientLimit ? request.maxTokens : request.maxTokens + wanted,
    };
  }
  const budget = request.clientLimit ? Math.min(wanted, request.maxTokens - 1) : wanted;
  if (budget < MIN_THINKING_BUDGET) return undefined;
  return {
    thinking: { type: 'enabled', budget_tokens: budget },
    maxTokens: request.clientLimit ? request.maxTokens : request.maxTokens + budget,
  };
}

function enableThinking(request: AnthropicRequest, effort: unknown, clientLimit: boolean): void {
  const choice = request.tool_choice?.type;
  const last = request.messages[request.messages.length - 1];
  const plan = claudeThinking({
    model: request.model,
    effort,
    maxTokens: request.max_tokens,
    clientLimit,
    forcesTool: choice === 'any' || choice === 'tool',
    continuesToolCall:
      last !== undefined &&
      typeof last.content !== 'string' &&
      last.content.some((block) => block.type === 'tool_result'),
  });
  if (!plan) return;
  request.max_tokens = plan.maxTokens;
  request.thinking = plan.thinking;
  if (plan.effort) request.output_config = { ...request.output_config, effort: plan.effort };
  delete request.temperature;
  if (request.top_p !== undefined) request.top_p = Math.max(request.top_p, 0.95);
}

interface Turn {
  role: 'user' | 'assistant';
  content: AnthropicContentBlock[];
}

function convertMessages(list: unknown): {
  system: string | AnthropicTextBlock[] | undefined;
  messages: AnthropicMessage[];
} {
  if (!Array.isArray(list)) throw errors.invalidBody('"messages" must be an array of messages.', 'messages');
  // One block per system message, or per text part of a message with a marked part.
  const system: AnthropicTextBlock[] = [];
  let systemMarked = false;
  const turns: Turn[] = [];
  const ids = new ToolUseIds();
  for (let i = 0; i < list.length; i++) {
    const message = list[i] as Record<string, unknown> | null;
    if (!message || typeof message !== 'object')
      throw errors.invalidBody(`messages[${i}] must be an object.`, `messages[${i}]`);
    switch (message.role) {
      case 'system':
      case 'developer': {
        // The Messages API has no system role: instructions go in the top-level `system` field, a
        // string unless a part marks a cache breakpoint, which only a text block can carry.
        const param = `messages[${i}].content`;
        const marked = markedSystemBlocks(message.content, param);
        if (marked) {
          system.push(...marked);
          systemMarked = true;
        } else {
          const text = joinedText(message.content, param);
          if (text) system.push({ type: 'text', text });
        }
        break;
      }
      case 'user':
        append(turns, 'user', userBlocks(message.content, i));
        break;
      case 'assistant':
        append(turns, 'assistant', assistantBlocks(message, i, ids));
        break;
      case 'tool':
        append(turns, 'user', [toolResult(message, i, ids)]);
        break;
      default:
        throw errors.invalidBody(
          message.role === undefined
            ? `messages[${i}] has no role; Anthropic backends take system, developer, user, assistant or tool.`
            : `messages[${i}].role ${JSON.stringify(message.role)} is not supported by Anthropic backends (use system, developer, user, assistant or tool).`,
          `messages[${i}].role`,
        );
    }
  }
  const out =
    system.length === 0 ? undefined : systemMarked ? system : system.map((block) => block.text).join('\n\n');
  return { system: out, messages: turns.map(finishTurn) };
}

/** A system message's text parts as blocks, when one of them carries cache_control; else undefined. */
function markedSystemBlocks(content: unknown, param: string): AnthropicTextBlock[] | undefined {
  if (!Array.isArray(content)) return undefined;
  if (!content.some((part, j) => cacheControlOf(part, `${param}[${j}]`))) return undefined;
  const blocks: AnthropicTextBlock[] = [];
  content.forEach((part, j) => {
    const p = part as { type?: unknown; text?: unknown } | null;
    if (p?.type === 'text' && typeof p.text === 'string' && p.text)
      blocks.push(withCacheControl({ type: 'text', text: p.text }, part, `${param}[${j}]`));
  });
  return blocks;
}

/** The block with the part's cache_control, if the part has one. */
function withCacheControl<B extends AnthropicContentBlock>(block: B, part: unknown, param: string): B {
  const marker = cacheControlOf(part, param);
  if (marker) block.cache_control = marker;
  return block;
}

/** Anthropic wants user and assistant turns to alternate: consecutive same-role messages become one turn. */
function append(turns: Turn[], role: Turn['role'], blocks: AnthropicContentBlock[]): void {
  if (blocks.length === 0) return;
  const last = turns[turns.length - 1];
  if (last?.role === role) last.content.push(...blocks);
  else turns.push({ role, content: blocks });
}

function finishTurn(turn: Turn): AnthropicMessage {
  let content = turn.content;
  // A turn answering tool calls must begin with its tool_result blocks ("Messages following tool_use blocks
  // must begin with a matching number of tool_result blocks", anthropic-sdk-typescript#653).
  if (turn.role === 'user' && content.some((b) => b.type === 'tool_result') && content.some(isNotToolResult))
    content = [...content.filter((b) => b.type === 'tool_result'), ...content.filter(isNotToolResult)];
  const only = content.length === 1 ? content[0]! : undefined;
  // The string shorthand cannot carry a cache breakpoint.
  return {
    role: turn.role,
    content: only?.type === 'text' && !only.cache_control ? only.text : content,
  };
}

function isNotToolResult(block: AnthropicContentBlock): boolean {
  return block.type !== 'tool_result';
}

function userBlocks(content: unknown, i: number): AnthropicContentBlock[] {
  if (typeof content === 'string') return content ? [{ type: 'text', text: content }] : [];
  if (!Array.isArray(content))
    throw errors.invalidBody(
      `messages[${i}].content must be a string or an array of content parts.`,
      `messages[${i}].content`,
    );
  const blocks: AnthropicContentBlock[] = [];
  for (let j = 0; j < content.length; j++) {
    const part = content[j] as Record<string, unknown> | null;
    const param = `messages[${i}].content[${j}]`;
    if (part?.type === 'text') {
      // Anthropic rejects empty text blocks; an empty part carries nothing.
      if (typeof part.text === 'string' && part.text)
        blocks.push(withCacheControl({ type: 'text', text: part.text }, part, param));
    } else if (part?.type === 'image_url') {
      const url = (part.image_url as { url?: unknown } | undefined)?.url;
      if (typeof url !== 'string')
        throw errors.invalidBody(`${param}.image_url.url must be a string.`, param);
      blocks.push(withCacheControl({ type: 'image', source: imageSource(url, param) }, part, param));
    } else {
      throw errors.invalidBody(
        !part || typeof part !== 'object' || Array.isArray(part)
          ? `${param} must be a content part object, e.g. {"type": "text", "text": "…"}.`
          : part.type === undefined
            ? `${param} has no type; Anthropic backends take text and image_url parts.`
            : `${param}: content parts of type ${JSON.stringify(part.type)} are not supported by Anthropic backends (text and image_url are).`,
        param,
      );
    }
  }
  return blocks;
}

const BASE64_DATA_URL = /^data:([^;,]+);base64,/;

/** Image sources per the Messages API: base64 (`source.type: "base64"`) or a URL (`source.type: "url"`). */
function imageSource(url: string, param: string): AnthropicImageSource {
  if (url.startsWith('data:')) {
    const match = BASE64_DATA_URL.exec(url);
    if (!match) throw errors.invalidBody(`${param}: image data URLs must be base64-encoded.`, param);
    return { type: 'base64', media_type: match[1]!, data: url.slice(match[0].length) };
  }
  if (/^https?:\/\//i.test(url)) return { type: 'url', url };
  throw errors.invalidBody(`${param}: image URLs must be http(s) or base64 data URLs.`, param);
}

/**
 * OpenAI tool call ids as Anthropic tool_use ids, which must match ^[a-zA-Z0-9_-]+$ and be unique within a
 * request (the API answers "tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'" and "`tool_use`
 * ids must be unique", opencode#1279). A history from another provider, or a client reusing ids across
 * turns, may break either rule: such ids are rewritten, and each tool result follows the rewrite of the
 * latest call with its id. The ids never leave this request.
 */
class ToolUseIds {
  readonly #used = new Set<string>();
  readonly #latest = new Map<string, string>();

  forCall(id: string): string {
    const base = validId(id);
    let out = base;
    for (let n = 2; this.#used.has(out); n++) out = `${base}_${n}`;
    this.#used.add(out);
    this.#latest.set(id, out);
    return out;
  }

  forResult(id: string): string {
    return this.#latest.get(id) ?? validId(id);
  }
}

function validId(id: string): string {
  return id.replace(/[^a-zA-Z0-9_-]/g, '_') || 'call';
}

function assistantBlocks(
  message: Record<string, unknown>,
  i: number,
  ids: ToolUseIds,
): AnthropicContentBlock[] {
  const blocks: AnthropicContentBlock[] = [];
  const content = message.content;
  if (typeof content === 'string') {
    if (content) blocks.push({ type: 'text', text: content });
  } else if (Array.isArray(content)) {
    (content as ({ type?: unknown; text?: unknown } | null)[]).forEach((part, j) => {
      if (part?.type === 'text' && typeof part.text === 'string' && part.text)
        blocks.push(
          withCacheControl({ type: 'text', text: part.text }, part, `messages[${i}].content[${j}]`),
        );
    });
  }
  const calls = message.tool_calls;
  if (Array.isArray(calls)) {
    for (let j = 0; j < calls.length; j++) {
      const call = calls[j] as { id?: unknown; function?: { name?: unknown; arguments?: unknown } } | null;
      const param = `messages[${i}].tool_calls[${j}]`;
      if (typeof call?.id !== 'string' || typeof call.function?.name !== 'string')
        throw errors.invalidBody(`${param} needs an id and a function name.`, param);
      blocks.push({
        type: 'tool_use',
        id: ids.forCall(call.id),
        name: call.function.name,
        input: toolInput(call.function.arguments, `${param}.function.arguments`),
      });
    }
  }
  return blocks;
}

/** OpenAI carries tool arguments as a JSON string; Anthropic's `tool_use.input` is the object itself. */
function toolInput(args: unknown, param: string): Record<string, unknown> {
  if (args === undefined || args === null || (typeof args === 'string' && args.trim() === '')) return {};
  let parsed: unknown;
  try {
    parsed = typeof args === 'string' ? JSON.parse(args) : args;
  } catch {
    parsed = undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw errors.invalidBody(`${param} must be a JSON object for Anthropic backends.`, param);
  return parsed as Record<string, unknown>;
}

function toolResult(message: Record<string, unknown>, i: number, ids: ToolUseIds): AnthropicContentBlock {
  if (typeof message.tool_call_id !== 'string')
    throw errors.invalidBody(`messages[${i}].tool_call_id must be a string.`, `messages[${i}].tool_call_id`);
  const block: AnthropicContentBlock = {
    type: 'tool_result',
    tool_use_id: ids.forResult(message.tool_call_id),
  };
  const content = message.content;
  if (typeof content === 'string') {
    if (content) block.content = content;
  } else if (Array.isArray(content)) {
    const texts: AnthropicTextBlock[] = [];
    content.forEach((part, j) => {
      const p = part as { type?: unknown; text?: unknown } | null;
      if (p?.type === 'text' && typeof p.text === 'string' && p.text)
        texts.push({ type: 'text', text: p.text });
      // A marked part of a tool message marks the tool_result block itself (ToolResultBlockParam's
      // cache_control): the breakpoint then covers the whole result.
      const marker = cacheControlOf(part, `messages[${i}].content[${j}]`);
      if (marker) block.cache_control = marker;
    });
    if (texts.length > 0) block.content = texts;
  }
  return block;
}

function joinedText(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content))
    throw errors.invalidBody(`${param} must be a string or an array of text parts.`, param);
  const texts: string[] = [];
  for (const part of content as { type?: unknown; text?: unknown }[])
    if (part?.type === 'text' && typeof part.text === 'string') texts.push(part.text);
  return texts.join('\n');
}

function convertTools(tools: unknown): AnthropicTool[] | undefined {
  if (!Array.isArray(tools) || tools.length === 0) return undefined;
  return tools.map((tool, i) => {
    const fn = (tool as { type?: unknown; function?: Record<string, unknown> } | null)?.function;
    if ((tool as { type?: unknown } | null)?.type !== 'function' || typeof fn?.name !== 'string')
      throw errors.invalidBody(
        `tools[${i}]: only function tools are supported by Anthropic backends.`,
        `tools[${i}]`,
      );
    // `input_schema` is a JSON Schema object, as OpenAI's `parameters` is.
    const schema =
      fn.parameters && typeof fn.parameters === 'object'
        ? (fn.parameters as Record<string, unknown>)
        : { type: 'object', properties: {} };
    const out: AnthropicTool =
      typeof fn.description === 'string'
        ? { name: fn.name, description: fn.description, input_schema: schema }
        : { name: fn.name, input_schema: schema };
    const marker = toolCacheControlOf(tool, `tools[${i}]`);
    if (marker) out.cache_control = marker;
    return out;
  });
}

/** auto/none/required/named → `{type: "auto" | "none" | "any" | "tool"}` (Messages API `tool_choice`). */
function convertToolChoice(choice: unknown, sequential: boolean): AnthropicToolChoice | undefined {
  let out: AnthropicToolChoice | undefined;
  if (choice === undefined || choice === null) out = undefined;
  else if (choice === 'auto') out = { type: 'auto' };
  else if (choice === 'none') return { type: 'none' };
  else if (choice === 'required') out = { type: 'any' };
  else {
    const name = (choice as { function?: { name?: unknown } }).function?.name;
    if (typeof name !== 'string')
      throw errors.invalidBody(
        'tool_choice must be "auto", "none", "required" or a named function.',
        'tool_choice',
      );
    out = { type: 'tool', name };
  }
  // parallel_tool_calls: false ↔ disable_parallel_tool_use: true.
  if (sequential) return { ...(out ?? { type: 'auto' }), disable_parallel_tool_use: true };
  return out;
}

function toolsUsedIn(messages: AnthropicMessage[]): string[] {
  const names = new Set<string>();
  for (const m of messages)
    if (typeof m.content !== 'string')
      for (const b of m.content) if (b.type === 'tool_use') names.add(b.name);
  return [...names];
}

function convertStop(stop: unknown): string[] | undefined {
  if (typeof stop === 'string') return stop ? [stop] : undefined;
  if (!Array.isArray(stop)) return undefined;
  const sequences = stop.filter((s): s is string => typeof s === 'string' && s !== '');
  return sequences.length > 0 ? sequences : undefined;
}

function numberOrUndefined(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Responses

/**
 * Anthropic `stop_reason` → OpenAI `finish_reason` (values from the Messages API `StopReason`: end_turn,
 * max_tokens, stop_sequence, tool_use, pause_turn, refusal, model_context_window_exceeded).
 */
export function finishReasonOf(stopReason: unknown): Exclude<FinishReason, null> {
  switch (stopReason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'stop';
  }
}

/**
 * Anthropic usage → OpenAI usage. "Total input tokens in a request is the summation of input_tokens,
 * cache_creation_input_tokens, and cache_read_input_tokens" (Messages API `Usage`), so all three are prompt
 * tokens; reads from the cache are OpenAI's cached tokens.
 */
export function openAIUsageOf(usage: AnthropicUsage | undefined): OpenAIUsage {
  const read = usage?.cache_read_input_tokens;
  const prompt = (usage?.input_tokens ?? 0) + (usage?.cache_creation_input_tokens ?? 0) + (read ?? 0);
  const completion = usage?.output_tokens ?? 0;
  const out: OpenAIUsage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
  };
  if (typeof read === 'number') out.prompt_tokens_details = { cached_tokens: read };
  return out;
}

interface AnthropicResponseBlock {
  type?: unknown;
  text?: unknown;
  thinking?: unknown;
  id?: unknown;
  name?: unknown;
  input?: unknown;
}

/** A Messages API `Message` (type "message") as an OpenAI `chat.completion`. */
export function fromAnthropicResponse(
  message: Record<string, unknown>,
  context: Pick<ResponseContext, 'model'>,
  created = Math.floor(Date.now() / 1000),
): Record<string, unknown> {
  let text = '';
  let hasText = false;
  let reasoning = '';
  const toolCalls: { id: string; type: 'function'; function: { name: string; arguments: string } }[] = [];
  const blocks = Array.isArray(message.content) ? (message.content as AnthropicResponseBlock[]) : [];
  for (const block of blocks) {
    if (block.type === 'text' && typeof block.text === 'string') {
      text += block.text;
      hasText = true;
    } else if (block.type === 'tool_use') {
      toolCalls.push({
        id: String(block.id),
        type: 'function',
        function: { name: String(block.name), arguments: JSON.stringify(block.input ?? {}) },
      });
    } else if (block.type === 'thinking' && typeof block.thinking === 'string') {
      reasoning += block.thinking;
    }
    // redacted_thinking (encrypted) and server-tool blocks have no Chat Completions equivalent.
  }
  const reply: Record<string, unknown> = { role: 'assistant', content: hasText ? text : null, refusal: null };
  // Chat Completions has no reasoning field; `reasoning_content` is the one DeepSeek's API and vLLM use.
  if (reasoning) reply.reasoning_content = reasoning;
  if (toolCalls.length > 0) reply.tool_calls = toolCalls;
  return {
    id: message.id,
    object: 'chat.completion',
    created,
    model: context.model,
    choices: [
      { index: 0, message: reply, logprobs: null, finish_reason: finishReasonOf(message.stop_reason) },
    ],
    usage: openAIUsageOf(message.usage as AnthropicUsage | undefined),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Errors

/**
 * Anthropic's error types (platform.claude.com/docs/en/api/errors) as OpenAI types, for errors inside a
 * stream where there is no HTTP status to map from.
 */
const ERROR_TYPES: Readonly<Record<string, OpenAIErrorType>> = {
  invalid_request_error: 'invalid_request_error',
  authentication_error: 'authentication_error',
  permission_error: 'permission_error',
  not_found_error: 'not_found_error',
  request_too_large: 'invalid_request_error',
  rate_limit_error: 'rate_limit_error',
  api_error: 'api_error',
  overloaded_error: 'api_error',
};

/** The `error` object of Anthropic's `{"type":"error","error":{"type","message"}}`, if the body has one. */
function anthropicErrorObject(payload: unknown): { type?: unknown; message: string } | undefined {
  const error = (payload as { error?: unknown } | null | undefined)?.error;
  if (!error || typeof error !== 'object') return undefined;
  const message = (error as { message?: unknown }).message;
  return typeof message === 'string' ? { type: (error as { type?: unknown }).type, message } : undefined;
}

/**
 * An Anthropic error response as the OpenAI error object: the type follows the HTTP status (529
 * overloaded_error → api_error; the gateway keeps the status), Anthropic's own type is kept as `code`.
 * Bodies of other shapes (a proxy's HTML page, plain text) are wrapped.
 */
export function anthropicError(status: number, body: Buffer): OpenAIErrorBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return openAIErrorFrom(status, body, 'Anthropic');
  }
  const error = anthropicErrorObject(parsed);
  if (!error) return openAIErrorFrom(status, body, 'Anthropic');
  return {
    error: {
      message: error.message,
      type: errorTypeForStatus(status),
      param: null,
      code: typeof error.type === 'string' ? error.type : null,
    },
  };
}

function streamError(payload: unknown): OpenAIErrorBody {
  const error = anthropicErrorObject(payload);
  const code = typeof error?.type === 'string' ? error.type : null;
  return {
    error: {
      message: error?.message ?? 'Anthropic reported an error in the stream.',
      type: (code && ERROR_TYPES[code]) || 'api_error',
      param: null,
      code,
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Streaming

export interface StreamIdentity {
  /** Chunk id; by default the Anthropic message id from `message_start`. */
  id?: string;
  /** Chunk `created`; by default the time the stream starts. */
  created?: number;
}

/**
 * Anthropic's stream (platform.claude.com/docs/en/build-with-claude/streaming) as the OpenAI chunk stream:
 * message_start → the role chunk; text_delta → content deltas; a tool_use content_block_start → the tool
 * call's first delta (index, id, name) and its input_json_delta events → argument deltas; message_delta
 * carries the stop reason and cumulative usage; message_stop → the finish chunk, the usage chunk when asked
 * for, and [DONE]; `event: error` → an OpenAI error event and [DONE]; ping and unknown events are ignored
 * ("your code should handle unknown event types gracefully"). Each event is converted as it completes;
 * only a partial line is held between chunks.
 */
export class AnthropicStreamTranslator implements StreamTranslator {
  readonly #parser = new SseParser();
  readonly #context: ResponseContext;
  readonly #identity: StreamIdentity;
  #writer: ChunkWriter | undefined;
  /** Anthropic content block index → OpenAI tool call index, for tool_use blocks. */
  readonly #toolCalls = new Map<number, number>();
  #stopReason: unknown = null;
  readonly #usage: AnthropicUsage = {};
  #done = false;

  constructor(context: ResponseContext, identity: StreamIdentity = {}) {
    this.#context = context;
    this.#identity = identity;
  }

  chunk(data: Buffer, endOfStream: boolean): Buffer {
    let out = '';
    if (!this.#done) {
      for (const event of this.#parser.push(data)) out += this.#event(event);
      if (endOfStream) {
        for (const event of this.#parser.end()) out += this.#event(event);
        if (!this.#done) out += this.#fail('The Anthropic stream ended before message_stop.');
      }
    }
    return Buffer.from(out);
  }

  #event(event: SseEvent): string {
    if (this.#done) return '';
    let payload: Record<string, unknown> | null;
    try {
      payload = JSON.parse(event.data) as Record<string, unknown> | null;
    } catch {
      payload = null;
    }
    if (!payload || typeof payload !== 'object')
      return this.#fail(`Anthropic sent a "${event.event}" event whose data is not a JSON object.`);
    // "Each event will use an SSE event name … and include the matching event type in its data."
    switch (payload.type ?? event.event) {
      case 'message_start': {
        const message = payload.message as { id?: unknown; usage?: AnthropicUsage } | undefined;
        this.#addUsage(message?.usage);
        if (!this.#writer && typeof message?.id === 'string')
          this.#writer = new ChunkWriter(
            this.#context.model,
            this.#identity.id ?? message.id,
            this.#identity.created,
          );
        return this.#chunks().delta({ role: 'assistant', content: '' });
      }
      case 'content_block_start':
        return this.#blockStart(payload.index, payload.content_block as AnthropicResponseBlock | undefined);
      case 'content_block_delta':
        return this.#blockDelta(payload.index, payload.delta as Record<string, unknown> | undefined);
      case 'message_delta': {
        const stopReason = (payload.delta as { stop_reason?: unknown } | undefined)?.stop_reason;
        if (stopReason) this.#stopReason = stopReason;
        this.#addUsage(payload.usage as AnthropicUsage | undefined);
        return '';
      }
      case 'message_stop': {
        this.#done = true;
        const writer = this.#chunks();
        let out = writer.delta({}, finishReasonOf(this.#stopReason));
        if (this.#context.includeUsage) out += writer.usage(openAIUsageOf(this.#usage));
        return out + DONE_EVENT;
      }
      case 'error':
        this.#done = true;
        return errorEvent(streamError(payload)) + DONE_EVENT;
      default:
        // ping, content_block_stop and event types added later.
        return '';
    }
  }

  #blockStart(index: unknown, block: AnthropicResponseBlock | undefined): string {
    if (block?.type === 'text') {
      return typeof block.text === 'string' && block.text
        ? this.#chunks().delta({ content: block.text })
        : '';
    }
    if (block?.type === 'thinking') {
      return typeof block.thinking === 'string' && block.thinking
        ? this.#chunks().delta({ reasoning_content: block.thinking })
        : '';
    }
    if (block?.type !== 'tool_use' || typeof index !== 'number') return '';
    const call = this.#toolCalls.size;
    this.#toolCalls.set(index, call);
    // The input arrives as input_json_delta events; a start block that already holds it passes it on.
    const input = block.input;
    const initial =
      input && typeof input === 'object' && Object.keys(input).length > 0 ? JSON.stringify(input) : '';
    return this.#chunks().delta({
      tool_calls: [
        {
          index: call,
          id: String(block.id),
          type: 'function',
          function: { name: String(block.name), arguments: initial },
        },
      ],
    });
  }

  #blockDelta(index: unknown, delta: Record<string, unknown> | undefined): string {
    if (delta?.type === 'text_delta') {
      return typeof delta.text === 'string' && delta.text
        ? this.#chunks().delta({ content: delta.text })
        : '';
    }
    if (delta?.type === 'thinking_delta') {
      return typeof delta.thinking === 'string' && delta.thinking
        ? this.#chunks().delta({ reasoning_content: delta.thinking })
        : '';
    }
    if (delta?.type === 'input_json_delta' && typeof index === 'number') {
      const call = this.#toolCalls.get(index);
      const json = delta.partial_json;
      if (call === undefined || typeof json !== 'string' || json === '') return '';
      return this.#chunks().delta({ tool_calls: [{ index: call, function: { arguments: json } }] });
    }
    // signature_delta and citations_delta have no Chat Completions equivalent.
    return '';
  }

  /** message_start and message_delta usage; message_delta's counts are cumulative, so later values win. */
  #addUsage(usage: AnthropicUsage | undefined): void {
    if (!usage) return;
    for (const key of [
      'input_tokens',
      'output_tokens',
      'cache_creation_input_tokens',
      'cache_read_input_tokens',
    ] as const) {
      const value = usage[key];
      if (typeof value === 'number') this.#usage[key] = value;
    }
  }

  #chunks(): ChunkWriter {
    this.#writer ??= new ChunkWriter(this.#context.model, this.#identity.id, this.#identity.created);
    return this.#writer;
  }

  #fail(message: string): string {
    this.#done = true;
    return (
      errorEvent({ error: { message, type: 'api_error', param: null, code: 'upstream_stream_error' } }) +
      DONE_EVENT
    );
  }
}

// ---------------------------------------------------------------------------------------------------------
// The translator

/** Headers other providers and the gateway authenticate with; Anthropic gets only its own x-api-key. */
const FOREIGN_AUTH_HEADERS = ['authorization', 'api-key', 'x-goog-api-key'];

/** A buffered Messages API answer (from Anthropic or a platform hosting Claude) as an OpenAI completion. */
export function anthropicResponseBody(body: Buffer, context: ResponseContext, platform: string): Buffer {
  let message: unknown;
  try {
    message = JSON.parse(body.toString('utf8'));
  } catch {
    throw errors.badGateway(`${platform} answered with a body that is not JSON.`);
  }
  if (!message || typeof message !== 'object' || (message as { type?: unknown }).type !== 'message')
    throw errors.badGateway(`${platform} answered with JSON that is not a Messages API message.`);
  return Buffer.from(JSON.stringify(fromAnthropicResponse(message as Record<string, unknown>, context)));
}

export const anthropicTranslator: Translator = {
  convertsResponses: true,
  // "Every API response includes a unique request-id header" (platform.claude.com/docs/en/api/errors).
  requestIdHeader: 'request-id',

  request(input: UpstreamRequestInput): UpstreamRequest {
    if (input.operation !== 'chat.completions')
      throw errors.invalidBody(
        `Anthropic backends serve /v1/chat/completions only; ${input.operation} is not available for this model.`,
      );
    const body = toAnthropicRequest(input.json(), {
      model: input.model,
      maxTokens: input.backend.defaults.maxTokens,
    });
    // Authentication and version headers per the Messages API: x-api-key, anthropic-version.
    const headers: [string, string][] = [
      ['content-type', 'application/json'],
      ['anthropic-version', input.backend.apiVersion ?? DEFAULT_ANTHROPIC_VERSION],
    ];
    const removeHeaders = [...FOREIGN_AUTH_HEADERS];
    const key = apiKeyOf(input.credential);
    if (key) headers.push(['x-api-key', key]);
    else removeHeaders.push('x-api-key');
    return {
      path: `${input.backend.basePath}/v1/messages`,
      headers,
      removeHeaders,
      body: input.encode(body),
    };
  },

  responseHeaders: (_head, context) =>
    context.stream ? { setHeaders: [['content-type', 'text/event-stream']] } : {},

  responseBody: (body: Buffer, context: ResponseContext) => anthropicResponseBody(body, context, 'Anthropic'),

  createStream: (context) => new AnthropicStreamTranslator(context),

  error: anthropicError,
};
