/**
 * Anthropic Messages API clients (POST /v1/messages, platform.claude.com/docs/en/api/messages) on
 * backends that speak OpenAI Chat Completions: a Messages request becomes a Chat Completions request,
 * and the completion, buffered or streamed, becomes a Messages answer. Backends of other schemas
 * (Gemini, Mistral) are reached by chaining with their Chat Completions translator (via-chat.ts).
 *
 * Field names follow the Messages API reference and its TypeScript SDK types
 * (anthropics/anthropic-sdk-typescript, src/resources/messages/messages.ts); the stream is Anthropic's
 * event sequence (platform.claude.com/docs/en/build-with-claude/streaming): message_start, then per
 * content block content_block_start, content_block_delta (text_delta, thinking_delta,
 * input_json_delta), content_block_stop, then message_delta (stop_reason, usage) and message_stop.
 *
 * Choices where the two APIs differ. What the target's chat translator takes beyond Chat Completions
 * is decided per provider (registry.ts CHAT_TARGETS, via-chat.ts ChatTarget):
 * - `cache_control` markers stay on system blocks, content parts, tool results and tools where the
 *   target takes them (Bedrock Converse turns them into cachePoint blocks); elsewhere they are dropped:
 *   Chat Completions servers cache prefixes on their own (platform.openai.com/docs/guides/prompt-caching)
 *   and refuse unknown members.
 * - `top_k` is sent as `top_k` where the target takes it (OpenAI-compatible servers, Gemini's topK),
 *   else dropped: Chat Completions has no such field.
 * - The text of thinking blocks of an earlier assistant turn becomes that turn's `reasoning_content`
 *   where the target takes it, else is dropped; redacted_thinking (encrypted, Claude's alone) always
 *   is. A thinking request becomes `reasoning_effort` by budget.
 * - Anthropic's server tools (web search, code execution, …), MCP servers and containers cannot run
 *   on a chat server and are refused with a 400 that says what to do instead.
 * - The answer's reasoning (`reasoning_content`, DeepSeek's and vLLM's field) becomes a thinking block
 *   signed with the gateway's own signature, streamed as a signature_delta before the block stops, as
 *   Anthropic's are; such blocks never reach Claude's API when a client sends them back
 *   (thinking-signature.ts).
 */
import { errors } from '../errors.ts';
import { cacheControlOf } from './cache-control.ts';
import { chatCompletionOf, chatFunctionTool, isObject } from './chat-bridge.ts';
import { type SseEvent, SseParser } from './sse.ts';
import { GATEWAY_THINKING_SIGNATURE } from './thinking-signature.ts';
import type { ResponseContext, StreamTranslator } from './translator.ts';
import type { ChatAdapter, ChatTarget } from './via-chat.ts';

type Json = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------------
// Request: Messages → Chat Completions

/**
 * `thinking.budget_tokens` as a reasoning effort: below 4096 is low, below 16384 medium, else high
 * (the budgets our OpenAI → Anthropic translator sends for low/medium/high are 1024, 8192 and 24576,
 * anthropic.ts THINKING_BUDGETS, so a round trip keeps the effort).
 */
function effortForBudget(budget: unknown): 'low' | 'medium' | 'high' {
  const tokens = typeof budget === 'number' ? budget : 0;
  if (tokens < 4096) return 'low';
  if (tokens < 16384) return 'medium';
  return 'high';
}

/** The Messages request fields a chat server cannot act on, refused rather than silently ignored. */
const UNSERVABLE_FIELDS = ['mcp_servers', 'container'] as const;

/** The chat part with the block's `cache_control`, where the target takes markers. */
function marked(part: Json, block: Json, at: string, target: ChatTarget): Json {
  if (!target.cacheControl) return part;
  const marker = cacheControlOf(block, at);
  if (marker) part.cache_control = marker;
  return part;
}

export function toChatRequest(body: Json, target: ChatTarget): Json {
  for (const field of UNSERVABLE_FIELDS)
    if (body[field] !== undefined && body[field] !== null)
      throw errors.invalidBody(
        `"${field}" needs Anthropic's own API; this model is served by ${target.name}, which cannot run it. Route this model to an Anthropic backend, or leave "${field}" out.`,
        field,
      );
  if (!Array.isArray(body.messages)) throw errors.invalidBody('"messages" must be an array.', 'messages');
  const chat: Json = { model: body.model };
  const messages: Json[] = [];
  const system = systemContent(body.system, target);
  if (system !== undefined) messages.push({ role: 'system', content: system });
  body.messages.forEach((message, i) => {
    convertMessage(message, i, messages, target);
  });
  chat.messages = messages;
  if (body.max_tokens !== undefined) chat.max_completion_tokens = body.max_tokens;
  if (body.temperature !== undefined) chat.temperature = body.temperature;
  if (body.top_p !== undefined) chat.top_p = body.top_p;
  if (target.topK && body.top_k !== undefined && body.top_k !== null) chat.top_k = body.top_k;
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0) chat.stop = body.stop_sequences;
  const user = isObject(body.metadata) ? body.metadata.user_id : undefined;
  if (typeof user === 'string') chat.user = user;
  if (body.stream === true) {
    chat.stream = true;
    chat.stream_options = { include_usage: true };
  }
  const tools = convertTools(body.tools, target);
  if (tools) {
    chat.tools = tools;
    const choice = body.tool_choice;
    if (isObject(choice)) {
      if (choice.type === 'auto') chat.tool_choice = 'auto';
      else if (choice.type === 'any') chat.tool_choice = 'required';
      else if (choice.type === 'none') chat.tool_choice = 'none';
      else if (choice.type === 'tool' && typeof choice.name === 'string')
        chat.tool_choice = { type: 'function', function: { name: choice.name } };
      else throw errors.invalidBody('"tool_choice.type" must be auto, any, tool or none.', 'tool_choice');
      if (choice.disable_parallel_tool_use === true) chat.parallel_tool_calls = false;
    }
  }
  const effort = reasoningEffort(body);
  if (effort) chat.reasoning_effort = effort;
  const format = responseFormat(body);
  if (format) chat.response_format = format;
  return chat;
}

function reasoningEffort(body: Json): string | undefined {
  const config = isObject(body.output_config) ? body.output_config : undefined;
  const thinking = isObject(body.thinking) ? body.thinking : undefined;
  if (thinking?.type === 'disabled') return undefined;
  if (typeof config?.effort === 'string') return config.effort === 'max' ? 'high' : (config.effort as string);
  if (thinking?.type === 'enabled') return effortForBudget(thinking.budget_tokens);
  if (thinking?.type === 'adaptive') return 'medium';
  return undefined;
}

/** Structured outputs: `output_config.format` (or the older `output_format`) of type json_schema. */
function responseFormat(body: Json): Json | undefined {
  const config = isObject(body.output_config) ? body.output_config : undefined;
  const format = config?.format ?? body.output_format;
  if (!isObject(format)) return undefined;
  if (format.type !== 'json_schema' || !isObject(format.schema))
    throw errors.invalidBody(
      '"output_config.format" must be {"type":"json_schema","schema":{…}}.',
      'output_config',
    );
  return { type: 'json_schema', json_schema: { name: 'output', schema: format.schema, strict: true } };
}

function systemContent(system: unknown, target: ChatTarget): string | Json[] | undefined {
  if (system === undefined || system === null) return undefined;
  if (typeof system === 'string') return system;
  if (!Array.isArray(system)) throw errors.invalidBody('"system" must be a string or text blocks.', 'system');
  return system.map((block, j) => {
    if (!isObject(block) || block.type !== 'text' || typeof block.text !== 'string')
      throw errors.invalidBody(`"system[${j}]" must be a text block.`, `system[${j}]`);
    return marked({ type: 'text', text: block.text }, block, `system[${j}]`, target);
  });
}

function convertMessage(message: unknown, i: number, out: Json[], target: ChatTarget): void {
  const param = `messages[${i}]`;
  if (!isObject(message)) throw errors.invalidBody(`"${param}" must be an object.`, param);
  const { role, content } = message;
  if (role !== 'user' && role !== 'assistant')
    throw errors.invalidBody(`"${param}.role" must be "user" or "assistant".`, `${param}.role`);
  if (typeof content === 'string') {
    out.push({ role, content });
    return;
  }
  if (!Array.isArray(content))
    throw errors.invalidBody(
      `"${param}.content" must be a string or an array of blocks.`,
      `${param}.content`,
    );
  if (role === 'assistant') out.push(assistantMessage(content, param, target));
  else userMessages(content, param, out, target);
}

function assistantMessage(blocks: unknown[], param: string, target: ChatTarget): Json {
  let text = '';
  /** The text blocks as parts, kept only when one carries a marker the target takes. */
  const parts: Json[] = [];
  let anyMarker = false;
  let reasoning = '';
  const calls: Json[] = [];
  blocks.forEach((block, j) => {
    const at = `${param}.content[${j}]`;
    if (!isObject(block)) throw errors.invalidBody(`"${at}" must be an object.`, at);
    switch (block.type) {
      case 'text': {
        if (typeof block.text !== 'string') throw errors.invalidBody(`"${at}.text" must be a string.`, at);
        text += block.text;
        const part = marked({ type: 'text', text: block.text }, block, at, target);
        if (part.cache_control) anyMarker = true;
        parts.push(part);
        return;
      }
      case 'tool_use':
        if (typeof block.id !== 'string' || typeof block.name !== 'string')
          throw errors.invalidBody(`"${at}" needs a string id and name.`, at);
        calls.push({
          id: block.id,
          type: 'function',
          function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
        });
        return;
      case 'thinking':
        if (target.reasoningContent && typeof block.thinking === 'string') reasoning += block.thinking;
        return;
      case 'redacted_thinking':
        return;
      default:
        throw unsupportedBlock(block.type, at);
    }
  });
  const content = anyMarker ? parts : text === '' && calls.length > 0 ? null : text;
  const message: Json = { role: 'assistant', content };
  if (reasoning !== '') message.reasoning_content = reasoning;
  if (calls.length > 0) message.tool_calls = calls;
  return message;
}

/**
 * A user turn: its tool results become `tool` messages (Chat Completions answers each call in its own
 * message, right after the assistant's), then the rest of its blocks one user message. Images inside
 * a tool result go in that user message too: a tool message holds text only.
 */
function userMessages(blocks: unknown[], param: string, out: Json[], target: ChatTarget): void {
  const parts: Json[] = [];
  blocks.forEach((block, j) => {
    const at = `${param}.content[${j}]`;
    if (!isObject(block)) throw errors.invalidBody(`"${at}" must be an object.`, at);
    switch (block.type) {
      case 'text':
        if (typeof block.text !== 'string') throw errors.invalidBody(`"${at}.text" must be a string.`, at);
        parts.push(marked({ type: 'text', text: block.text }, block, at, target));
        return;
      case 'image':
        parts.push(marked(imagePart(block.source, at), block, at, target));
        return;
      case 'document':
        parts.push(marked(documentPart(block, at), block, at, target));
        return;
      case 'tool_result': {
        if (typeof block.tool_use_id !== 'string')
          throw errors.invalidBody(`"${at}.tool_use_id" must be a string.`, at);
        const text = toolResultText(block, at, parts);
        // A marked result is a text part with the marker: the breakpoint then covers the whole result.
        const part = marked({ type: 'text', text }, block, at, target);
        out.push({
          role: 'tool',
          tool_call_id: block.tool_use_id,
          content: part.cache_control ? [part] : text,
        });
        return;
      }
      default:
        throw unsupportedBlock(block.type, at);
    }
  });
  if (parts.length === 0) return;
  const onlyText = parts.length === 1 && parts[0]!.type === 'text' && !parts[0]!.cache_control;
  out.push({ role: 'user', content: onlyText ? parts[0]!.text : parts });
}

function toolResultText(block: Json, at: string, images: Json[]): string {
  const content = block.content;
  let text = '';
  if (typeof content === 'string') text = content;
  else if (Array.isArray(content)) {
    content.forEach((part, k) => {
      if (!isObject(part)) throw errors.invalidBody(`"${at}.content[${k}]" must be an object.`, at);
      if (part.type === 'text' && typeof part.text === 'string') text += part.text;
      else if (part.type === 'image') images.push(imagePart(part.source, `${at}.content[${k}]`));
      else throw unsupportedBlock(part.type, `${at}.content[${k}]`);
    });
  } else if (content !== undefined && content !== null)
    throw errors.invalidBody(`"${at}.content" must be a string or blocks.`, at);
  // Chat Completions has no error flag on a tool message; the model is told in the text instead.
  return block.is_error === true ? `Error: ${text}` : text;
}

function imagePart(source: unknown, at: string): Json {
  if (isObject(source)) {
    if (source.type === 'base64' && typeof source.media_type === 'string' && typeof source.data === 'string')
      return { type: 'image_url', image_url: { url: `data:${source.media_type};base64,${source.data}` } };
    if (source.type === 'url' && typeof source.url === 'string')
      return { type: 'image_url', image_url: { url: source.url } };
  }
  throw errors.invalidBody(
    `"${at}.source" must be a base64 or url image source (file ids need Anthropic's Files API).`,
    at,
  );
}

/** A PDF (base64) becomes a Chat Completions file part; a plain-text document becomes text. */
function documentPart(block: Json, at: string): Json {
  const source = block.source;
  if (isObject(source)) {
    if (source.type === 'base64' && typeof source.media_type === 'string' && typeof source.data === 'string')
      return {
        type: 'file',
        file: {
          filename: typeof block.title === 'string' ? block.title : 'document.pdf',
          file_data: `data:${source.media_type};base64,${source.data}`,
        },
      };
    if (source.type === 'text' && typeof source.data === 'string') return { type: 'text', text: source.data };
  }
  throw errors.invalidBody(`"${at}.source" must be a base64 or text document source.`, at);
}

function unsupportedBlock(type: unknown, at: string) {
  return errors.invalidBody(
    `"${at}" is a ${JSON.stringify(type)} block, which has no Chat Completions equivalent on this model's backend.`,
    at,
  );
}

function convertTools(tools: unknown, target: ChatTarget): Json[] | undefined {
  if (tools === undefined || tools === null) return undefined;
  if (!Array.isArray(tools)) throw errors.invalidBody('"tools" must be an array.', 'tools');
  if (tools.length === 0) return undefined;
  return tools.map((tool, i) => {
    const at = `tools[${i}]`;
    if (!isObject(tool)) throw errors.invalidBody(`"${at}" must be an object.`, at);
    // Client tools have no type or "custom"; typed ones (web_search_20250305, bash_20250124, …) are
    // Anthropic's server tools and versioned client tools, which only Anthropic's API defines.
    if (tool.type !== undefined && tool.type !== 'custom')
      throw errors.invalidBody(
        `"${at}" is Anthropic's ${JSON.stringify(tool.type)} tool, which runs only on Anthropic's API; this model is served by ${target.name}, which has no such tool. Route this model to an Anthropic backend, or define the tool as a custom tool (a name, a description and an input_schema) and run it in your application.`,
        at,
      );
    if (typeof tool.name !== 'string') throw errors.invalidBody(`"${at}.name" must be a string.`, at);
    const schema = isObject(tool.input_schema) ? tool.input_schema : { type: 'object' };
    return marked(chatFunctionTool(tool.name, tool.description, schema), tool, at, target);
  });
}

// ---------------------------------------------------------------------------------------------------
// Response: Chat Completions → Messages

type StopReason = 'end_turn' | 'max_tokens' | 'tool_use' | 'refusal';

/** finish_reason → stop_reason (StopReason of the Messages API). */
function stopReasonOf(finish: unknown): StopReason {
  switch (finish) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

interface AnthropicUsageOut {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

/**
 * Chat usage as Anthropic's: prompt_tokens counts cached tokens, Anthropic's input_tokens does not
 * (cache reads are cache_read_input_tokens). Chat servers report no cache writes.
 */
function usageOf(usage: unknown): AnthropicUsageOut {
  const u = isObject(usage) ? usage : {};
  const prompt = typeof u.prompt_tokens === 'number' ? u.prompt_tokens : 0;
  const details = isObject(u.prompt_tokens_details) ? u.prompt_tokens_details : {};
  const cached = typeof details.cached_tokens === 'number' ? Math.min(details.cached_tokens, prompt) : 0;
  return {
    input_tokens: prompt - cached,
    output_tokens: typeof u.completion_tokens === 'number' ? u.completion_tokens : 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
}

function messageId(id: unknown): string {
  return typeof id === 'string' && id !== '' ? `msg_${id}` : `msg_${Math.random().toString(36).slice(2)}`;
}

function toolInput(args: unknown, name: unknown): Json {
  if (typeof args !== 'string' || args.trim() === '') return {};
  try {
    const input = JSON.parse(args) as unknown;
    if (isObject(input)) return input;
  } catch {
    // below
  }
  throw errors.badGateway(`the arguments of its call to tool "${String(name)}" are not a JSON object.`);
}

export function toAnthropicMessage(completion: Json, context: ResponseContext): Json {
  const choice = Array.isArray(completion.choices) ? (completion.choices[0] as Json | undefined) : undefined;
  const message = isObject(choice?.message) ? choice.message : {};
  const content: Json[] = [];
  const reasoning = message.reasoning_content ?? message.reasoning;
  if (typeof reasoning === 'string' && reasoning !== '')
    content.push({ type: 'thinking', thinking: reasoning, signature: GATEWAY_THINKING_SIGNATURE });
  if (typeof message.content === 'string' && message.content !== '')
    content.push({ type: 'text', text: message.content });
  else if (typeof message.refusal === 'string' && message.refusal !== '')
    content.push({ type: 'text', text: message.refusal });
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls as Json[]) {
      const fn = isObject(call.function) ? call.function : {};
      content.push({
        type: 'tool_use',
        id: String(call.id),
        name: String(fn.name),
        input: toolInput(fn.arguments, fn.name),
      });
    }
  }
  return {
    id: messageId(completion.id),
    type: 'message',
    role: 'assistant',
    model: typeof completion.model === 'string' ? completion.model : context.model,
    content,
    stop_reason: stopReasonOf(choice?.finish_reason),
    stop_sequence: null,
    usage: usageOf(completion.usage),
  };
}

export function messagesResponseBody(body: Buffer, context: ResponseContext): Buffer {
  return Buffer.from(JSON.stringify(toAnthropicMessage(chatCompletionOf(body), context)));
}

// ---------------------------------------------------------------------------------------------------
// Stream: chat.completion.chunk events → Messages events

/** One SSE event of the Messages stream: the event name, and the same name as the data's `type`. */
function sse(type: string, rest: string): string {
  return `event: ${type}\ndata: {"type":"${type}"${rest}}\n\n`;
}

/**
 * Anthropic's `event: error` (platform.claude.com/docs/en/build-with-claude/streaming, "Error events").
 * The data's members are written error first: the per-attempt phase finds error events by their
 * `data: {"error":` prefix to redact the credential from them (openai-stream.ts ERROR_EVENT_PREFIX), and
 * member order means nothing to a JSON reader.
 */
export function anthropicErrorEvent(type: string, message: string): string {
  return `event: error\ndata: ${JSON.stringify({ error: { type, message }, type: 'error' })}\n\n`;
}

/** OpenAI error types (errors.ts) as Anthropic's (platform.claude.com/docs/en/api/errors). */
const ANTHROPIC_TYPE_OF: Readonly<Record<string, string>> = {
  invalid_request_error: 'invalid_request_error',
  authentication_error: 'authentication_error',
  permission_error: 'permission_error',
  not_found_error: 'not_found_error',
  rate_limit_error: 'rate_limit_error',
  overloaded_error: 'overloaded_error',
};

type Block = 'text' | 'thinking' | 'tool_use';

/**
 * A thinking block's signature_delta (platform.claude.com/docs/en/build-with-claude/streaming), in the
 * two pieces around the block's index.
 */
const [SIGNATURE_HEAD, SIGNATURE_TAIL] = sse(
  'content_block_delta',
  `,"index":#,"delta":{"type":"signature_delta","signature":${JSON.stringify(GATEWAY_THINKING_SIGNATURE)}}`,
).split('#') as [string, string];

/**
 * The chunk stream of one completion as the Messages stream. Content arrives as deltas of three kinds
 * (reasoning_content, content, tool_calls); each change of kind, or a new tool call, closes the open
 * content block and starts the next, as Anthropic's blocks come one at a time. The finish reason and
 * usage (the gateway asks every stream for its usage chunk) are held until `[DONE]`, then
 * message_delta and message_stop end the stream. A stream that fails (an error event) or ends without
 * a finish reason gets an `error` event and no message_stop, so no client takes it for complete.
 */
export class MessagesFromChatStream implements StreamTranslator {
  readonly #parser = new SseParser();
  readonly #context: ResponseContext;
  #started = false;
  #done = false;
  /** Index of the open content block, -1 before the first. */
  #index = -1;
  #open: Block | undefined;
  /** The Chat Completions tool call index of the open tool_use block. */
  #toolCall = -1;
  #finish: unknown;
  #usage: unknown;

  constructor(context: ResponseContext) {
    this.#context = context;
  }

  chunk(data: Buffer, endOfStream: boolean): Buffer {
    let out = '';
    if (!this.#done) for (const event of this.#parser.push(data)) out += this.#event(event);
    if (endOfStream && !this.#done) {
      for (const event of this.#parser.end()) out += this.#event(event);
      // Some servers end the body without `[DONE]`; a finish reason says the model did finish.
      if (!this.#done)
        out +=
          this.#finish !== undefined
            ? this.#end()
            : this.#fail('api_error', 'The backend stream ended before the answer was complete.');
    }
    return Buffer.from(out);
  }

  #event(event: SseEvent): string {
    if (this.#done) return '';
    if (event.data === '[DONE]')
      return this.#finish !== undefined
        ? this.#end()
        : this.#fail('api_error', 'The backend stream ended before the answer was complete.');
    let chunk: unknown;
    try {
      chunk = JSON.parse(event.data);
    } catch {
      return this.#fail('api_error', 'The backend sent a stream event that is not JSON.');
    }
    if (!isObject(chunk)) return '';
    if (isObject(chunk.error)) {
      const error = chunk.error;
      const type =
        ANTHROPIC_TYPE_OF[String(error.code)] ?? ANTHROPIC_TYPE_OF[String(error.type)] ?? 'api_error';
      return this.#fail(type, typeof error.message === 'string' ? error.message : 'The backend failed.');
    }
    let out = this.#started ? '' : this.#start(chunk);
    if (isObject(chunk.usage)) this.#usage = chunk.usage;
    const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
    if (!isObject(choice)) return out;
    const delta = isObject(choice.delta) ? choice.delta : undefined;
    if (delta) {
      const reasoning = delta.reasoning_content ?? delta.reasoning;
      if (typeof reasoning === 'string' && reasoning !== '')
        out += this.#delta('thinking', `{"type":"thinking_delta","thinking":${JSON.stringify(reasoning)}}`);
      if (typeof delta.content === 'string' && delta.content !== '')
        out += this.#delta('text', `{"type":"text_delta","text":${JSON.stringify(delta.content)}}`);
      if (Array.isArray(delta.tool_calls)) for (const call of delta.tool_calls) out += this.#toolDelta(call);
    }
    if (choice.finish_reason !== null && choice.finish_reason !== undefined)
      this.#finish = choice.finish_reason;
    return out;
  }

  #start(chunk: Json): string {
    this.#started = true;
    const model = typeof chunk.model === 'string' ? chunk.model : this.#context.model;
    const message = {
      id: messageId(chunk.id),
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      // Chat servers count tokens only at the end; the counts follow in message_delta.
      usage: { input_tokens: 0, output_tokens: 0 },
    };
    return sse('message_start', `,"message":${JSON.stringify(message)}`);
  }

  /** A delta of `kind` for the open block, opening one of that kind first when another is open. */
  #delta(kind: 'text' | 'thinking', delta: string): string {
    let out = '';
    if (this.#open !== kind) {
      out += this.#close();
      out += this.#openBlock(
        kind,
        kind === 'text' ? '{"type":"text","text":""}' : '{"type":"thinking","thinking":"","signature":""}',
      );
    }
    return `${out}${sse('content_block_delta', `,"index":${this.#index},"delta":${delta}`)}`;
  }

  #toolDelta(call: unknown): string {
    if (!isObject(call)) return '';
    const index = typeof call.index === 'number' ? call.index : 0;
    const fn = isObject(call.function) ? call.function : {};
    let out = '';
    if (this.#open !== 'tool_use' || index !== this.#toolCall) {
      out += this.#close();
      this.#toolCall = index;
      const block = {
        type: 'tool_use',
        id: String(call.id ?? `toolu_${index}`),
        name: String(fn.name ?? ''),
        input: {},
      };
      out += this.#openBlock('tool_use', JSON.stringify(block));
    }
    const args = fn.arguments;
    if (typeof args === 'string' && args !== '')
      out += sse(
        'content_block_delta',
        `,"index":${this.#index},"delta":{"type":"input_json_delta","partial_json":${JSON.stringify(args)}}`,
      );
    return out;
  }

  #openBlock(kind: Block, block: string): string {
    this.#open = kind;
    this.#index++;
    return sse('content_block_start', `,"index":${this.#index},"content_block":${block}`);
  }

  /** Closes the open block; a thinking block gets its signature first, as Anthropic's streams give it. */
  #close(): string {
    if (this.#open === undefined) return '';
    const signature = this.#open === 'thinking' ? `${SIGNATURE_HEAD}${this.#index}${SIGNATURE_TAIL}` : '';
    this.#open = undefined;
    return `${signature}${sse('content_block_stop', `,"index":${this.#index}`)}`;
  }

  #end(): string {
    this.#done = true;
    const usage = usageOf(this.#usage);
    const delta = { stop_reason: stopReasonOf(this.#finish), stop_sequence: null };
    return (
      (this.#started ? '' : this.#start({})) +
      this.#close() +
      sse('message_delta', `,"delta":${JSON.stringify(delta)},"usage":${JSON.stringify(usage)}`) +
      sse('message_stop', '')
    );
  }

  #fail(type: string, message: string): string {
    this.#done = true;
    return anthropicErrorEvent(type, message);
  }
}

/** The Messages API's adapter for via-chat.ts. */
export const messagesChatAdapter: ChatAdapter = {
  toChat(body, input, target) {
    // Counting tokens needs the model's own tokenizer, which only Claude's platforms expose.
    if (input.operation === 'messages.count_tokens')
      throw errors.invalidBody(
        `/v1/messages/count_tokens is served for Claude models on Anthropic, Vertex AI and Bedrock backends; this model is served by ${target.name}, which has no token-counting endpoint for it. Read usage.input_tokens from a /v1/messages answer instead.`,
      );
    return toChatRequest(body, target);
  },
  fromChat: messagesResponseBody,
  createStream: (context) => new MessagesFromChatStream(context),
};
