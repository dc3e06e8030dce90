/**
 * OpenAI Responses API clients (POST /v1/responses, platform.openai.com/docs/api-reference/responses)
 * on backends without it: the stateless part of a Responses request becomes a Chat Completions
 * request (reached through each provider's chat translator, via-chat.ts), and the completion,
 * buffered or streamed, becomes a Response object or the Responses stream events
 * (platform.openai.com/docs/api-reference/responses-streaming: response.created,
 * response.output_item.added/done, response.content_part.added/done, response.output_text.delta/done,
 * response.function_call_arguments.delta/done, response.completed; `error` on failure).
 *
 * Translated: `instructions`, `input` (a string, or message items with input_text/input_image/
 * output_text parts, function_call and function_call_output items, and reasoning items: their text —
 * `content` reasoning_text, else the `summary` — becomes the next assistant turn's `reasoning_content`
 * where the target takes it, via-chat.ts ChatTarget, and is dropped elsewhere, as `encrypted_content`
 * always is: only OpenAI can read it), function tools and tool_choice, `text.format` (json_schema,
 * json_object), `reasoning.effort`, max_output_tokens, temperature, top_p. State is not:
 * `previous_response_id`, `conversation` and `store: true` need a backend that keeps responses, and
 * are refused with a 400 saying what to do. Built-in tools (web search, file search, …) are refused the
 * same way.
 */
import { errors } from '../errors.ts';
import { chatCompletionOf, chatFunctionTool, isObject } from './chat-bridge.ts';
import { type SseEvent, SseParser } from './sse.ts';
import type { ResponseContext, StreamTranslator } from './translator.ts';
import type { ChatAdapter, ChatTarget } from './via-chat.ts';

type Json = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------------
// Request

function stateless(body: Json, providerName: string): void {
  const remedy = `Send the whole conversation in "input" (and "store": false), or route this model to an OpenAI or Azure OpenAI backend, which keeps responses.`;
  if (typeof body.previous_response_id === 'string')
    throw errors.invalidBody(
      `"previous_response_id" needs a backend that stores responses; this model is served by ${providerName}, which keeps none. ${remedy}`,
      'previous_response_id',
    );
  if (body.conversation !== undefined && body.conversation !== null)
    throw errors.invalidBody(
      `"conversation" needs a backend that stores conversations; this model is served by ${providerName}, which keeps none. ${remedy}`,
      'conversation',
    );
  if (body.store === true)
    throw errors.invalidBody(
      `"store": true asks the backend to keep this response, and this model is served by ${providerName}, which keeps none. ${remedy}`,
      'store',
    );
}

export function responsesToChat(body: Json, target: ChatTarget): Json {
  stateless(body, target.name);
  const messages: Json[] = [];
  if (typeof body.instructions === 'string' && body.instructions !== '')
    messages.push({ role: 'system', content: body.instructions });
  const input = body.input;
  if (typeof input === 'string') messages.push({ role: 'user', content: input });
  else if (Array.isArray(input)) {
    let reasoning = '';
    for (let i = 0; i < input.length; i++) {
      const item = input[i];
      if (isObject(item) && item.type === 'reasoning') {
        if (target.reasoningContent) reasoning += reasoningText(item);
        continue;
      }
      inputItem(item, `input[${i}]`, messages);
      // Reasoning belongs to the assistant turn it preceded; before anything else it has no place.
      const last = messages.at(-1);
      if (reasoning !== '' && last?.role === 'assistant')
        last.reasoning_content = `${typeof last.reasoning_content === 'string' ? last.reasoning_content : ''}${reasoning}`;
      reasoning = '';
    }
  } else throw errors.invalidBody('"input" must be a string or an array of items.', 'input');
  const chat: Json = { model: body.model, messages };
  if (body.max_output_tokens !== undefined && body.max_output_tokens !== null)
    chat.max_completion_tokens = body.max_output_tokens;
  if (body.temperature !== undefined && body.temperature !== null) chat.temperature = body.temperature;
  if (body.top_p !== undefined && body.top_p !== null) chat.top_p = body.top_p;
  const user = body.user ?? body.safety_identifier;
  if (typeof user === 'string') chat.user = user;
  if (typeof body.parallel_tool_calls === 'boolean') chat.parallel_tool_calls = body.parallel_tool_calls;
  if (body.stream === true) {
    chat.stream = true;
    chat.stream_options = { include_usage: true };
  }
  const tools = functionTools(body.tools, target.name);
  if (tools) {
    chat.tools = tools;
    const choice = body.tool_choice;
    if (typeof choice === 'string') chat.tool_choice = choice;
    else if (isObject(choice) && choice.type === 'function' && typeof choice.name === 'string')
      chat.tool_choice = { type: 'function', function: { name: choice.name } };
  }
  const effort = isObject(body.reasoning) ? body.reasoning.effort : undefined;
  if (typeof effort === 'string') chat.reasoning_effort = effort;
  const format = isObject(body.text) ? body.text.format : undefined;
  if (isObject(format)) {
    if (format.type === 'json_schema')
      chat.response_format = {
        type: 'json_schema',
        json_schema: {
          name: typeof format.name === 'string' ? format.name : 'output',
          schema: format.schema,
          ...(typeof format.strict === 'boolean' ? { strict: format.strict } : {}),
        },
      };
    else if (format.type === 'json_object') chat.response_format = { type: 'json_object' };
  }
  return chat;
}

/** A reasoning item's text: its reasoning_text content, else its summary. */
function reasoningText(item: Json): string {
  const texts = (parts: unknown, type: string) =>
    Array.isArray(parts)
      ? parts
          .filter((p): p is Json => isObject(p) && p.type === type && typeof p.text === 'string')
          .map((p) => p.text as string)
          .join('\n')
      : '';
  return texts(item.content, 'reasoning_text') || texts(item.summary, 'summary_text');
}

function inputItem(item: unknown, at: string, out: Json[]): void {
  if (!isObject(item)) throw errors.invalidBody(`"${at}" must be an object.`, at);
  const type = item.type ?? 'message';
  switch (type) {
    case 'message': {
      const role = item.role === 'developer' ? 'system' : item.role;
      if (role !== 'user' && role !== 'assistant' && role !== 'system')
        throw errors.invalidBody(`"${at}.role" must be user, assistant, system or developer.`, at);
      out.push({ role, content: messageContent(item.content, `${at}.content`, role) });
      return;
    }
    case 'function_call': {
      const call = {
        id: String(item.call_id),
        type: 'function',
        function: {
          name: String(item.name),
          arguments: typeof item.arguments === 'string' ? item.arguments : '{}',
        },
      };
      const last = out.at(-1);
      // Consecutive calls are one assistant turn in Chat Completions.
      if (last?.role === 'assistant' && Array.isArray(last.tool_calls))
        (last.tool_calls as Json[]).push(call);
      else out.push({ role: 'assistant', content: null, tool_calls: [call] });
      return;
    }
    case 'function_call_output': {
      const output = item.output;
      const text = typeof output === 'string' ? output : joinedText(output, `${at}.output`);
      out.push({ role: 'tool', tool_call_id: String(item.call_id), content: text });
      return;
    }
    default:
      throw errors.invalidBody(
        `"${at}" is a ${JSON.stringify(type)} item, which has no Chat Completions equivalent on this model's backend.`,
        at,
      );
  }
}

function joinedText(parts: unknown, at: string): string {
  if (!Array.isArray(parts)) throw errors.invalidBody(`"${at}" must be a string or content parts.`, at);
  return parts.map((part) => (isObject(part) && typeof part.text === 'string' ? part.text : '')).join('');
}

function messageContent(content: unknown, at: string, role: string): string | Json[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw errors.invalidBody(`"${at}" must be a string or content parts.`, at);
  if (role !== 'user') return joinedText(content, at);
  return content.map((part, j) => {
    const where = `${at}[${j}]`;
    if (!isObject(part)) throw errors.invalidBody(`"${where}" must be an object.`, where);
    if ((part.type === 'input_text' || part.type === 'output_text') && typeof part.text === 'string')
      return { type: 'text', text: part.text };
    if (part.type === 'input_image' && typeof part.image_url === 'string')
      return {
        type: 'image_url',
        image_url: {
          url: part.image_url,
          ...(typeof part.detail === 'string' ? { detail: part.detail } : {}),
        },
      };
    throw errors.invalidBody(
      `"${where}" is a ${JSON.stringify(part.type)} part this model's backend cannot take (file ids need OpenAI's Files API).`,
      where,
    );
  });
}

function functionTools(tools: unknown, providerName: string): Json[] | undefined {
  if (!Array.isArray(tools) || tools.length === 0) return undefined;
  return tools.map((tool, i) => {
    const at = `tools[${i}]`;
    if (!isObject(tool) || tool.type !== 'function' || typeof tool.name !== 'string')
      throw errors.invalidBody(
        `"${at}" is a ${JSON.stringify(isObject(tool) ? tool.type : tool)} tool; this model is served by ${providerName}, which runs function tools only. Route this model to an OpenAI or Azure OpenAI backend, which runs OpenAI's built-in tools, or define a function tool (type "function", a name and JSON Schema parameters) and run it in your application.`,
        at,
      );
    return chatFunctionTool(tool.name, tool.description, tool.parameters, tool.strict);
  });
}

// ---------------------------------------------------------------------------------------------------
// Response

function usageOf(usage: unknown): Json {
  const u = isObject(usage) ? usage : {};
  const input = typeof u.prompt_tokens === 'number' ? u.prompt_tokens : 0;
  const output = typeof u.completion_tokens === 'number' ? u.completion_tokens : 0;
  const prompt = isObject(u.prompt_tokens_details) ? u.prompt_tokens_details : {};
  const completion = isObject(u.completion_tokens_details) ? u.completion_tokens_details : {};
  return {
    input_tokens: input,
    input_tokens_details: {
      cached_tokens: typeof prompt.cached_tokens === 'number' ? prompt.cached_tokens : 0,
    },
    output_tokens: output,
    output_tokens_details: {
      reasoning_tokens: typeof completion.reasoning_tokens === 'number' ? completion.reasoning_tokens : 0,
    },
    total_tokens: input + output,
  };
}

interface Answer {
  id: string;
  created: number;
  model: string;
  reasoning: string;
  text: string;
  calls: { call_id: string; name: string; arguments: string }[];
  finish: unknown;
  usage: unknown;
}

const suffix = (id: string) => id.replace(/^chatcmpl-/, '');

function outputItems(answer: Answer): Json[] {
  const base = suffix(answer.id);
  const output: Json[] = [];
  if (answer.reasoning !== '')
    output.push({
      type: 'reasoning',
      id: `rs_${base}`,
      summary: [{ type: 'summary_text', text: answer.reasoning }],
    });
  if (answer.text !== '') output.push(messageItem(`msg_${base}`, answer.text, 'completed'));
  answer.calls.forEach((call, i) => {
    output.push({ type: 'function_call', id: `fc_${base}_${i}`, status: 'completed', ...call });
  });
  return output;
}

function messageItem(id: string, text: string, status: string): Json {
  return {
    type: 'message',
    id,
    status,
    role: 'assistant',
    content: text === '' && status !== 'completed' ? [] : [{ type: 'output_text', text, annotations: [] }],
  };
}

function responseObject(answer: Answer, status: 'completed' | 'in_progress', output: Json[]): Json {
  const incomplete = status === 'completed' && answer.finish === 'length';
  return {
    id: `resp_${suffix(answer.id)}`,
    object: 'response',
    created_at: answer.created,
    status: incomplete ? 'incomplete' : status,
    error: null,
    incomplete_details: incomplete ? { reason: 'max_output_tokens' } : null,
    model: answer.model,
    output,
    parallel_tool_calls: true,
    store: false,
    usage: status === 'completed' ? usageOf(answer.usage) : null,
  };
}

export function responsesFromChatBody(body: Buffer, context: ResponseContext): Buffer {
  const completion = chatCompletionOf(body);
  const choice = isObject(completion.choices[0]) ? completion.choices[0] : {};
  const message = isObject(choice.message) ? choice.message : {};
  const reasoning = message.reasoning_content ?? message.reasoning;
  const answer: Answer = {
    id: typeof completion.id === 'string' ? completion.id : 'gateway',
    created: typeof completion.created === 'number' ? completion.created : Math.floor(Date.now() / 1000),
    model: typeof completion.model === 'string' ? completion.model : context.model,
    reasoning: typeof reasoning === 'string' ? reasoning : '',
    text: typeof message.content === 'string' ? message.content : '',
    calls: (Array.isArray(message.tool_calls) ? (message.tool_calls as Json[]) : []).map((call) => {
      const fn = isObject(call.function) ? call.function : {};
      return {
        call_id: String(call.id),
        name: String(fn.name),
        arguments: typeof fn.arguments === 'string' ? fn.arguments : '',
      };
    }),
    finish: choice.finish_reason,
    usage: completion.usage,
  };
  return Buffer.from(JSON.stringify(responseObject(answer, 'completed', outputItems(answer))));
}

/**
 * The chunk stream of one completion as Responses stream events. Text and tool-call arguments are
 * streamed as deltas of their output items; reasoning is one reasoning item, given whole when it
 * closes. Everything is also kept for `response.completed`, which carries the whole response (the
 * SDKs' final response). A failed or cut stream ends with an `error` event and no response.completed.
 */
export class ResponsesFromChatStream implements StreamTranslator {
  readonly #parser = new SseParser();
  readonly #context: ResponseContext;
  #answer: Answer | undefined;
  #sequence = 0;
  #done = false;
  /** The open output item: its kind and its output_index. */
  #open: 'reasoning' | 'text' | 'call' | undefined;
  #index = -1;
  #items: Json[] = [];
  #callIndex = -1;

  constructor(context: ResponseContext) {
    this.#context = context;
  }

  chunk(data: Buffer, endOfStream: boolean): Buffer {
    let out = '';
    if (!this.#done) for (const event of this.#parser.push(data)) out += this.#event(event);
    if (endOfStream && !this.#done) {
      for (const event of this.#parser.end()) out += this.#event(event);
      if (!this.#done)
        out +=
          this.#answer?.finish !== undefined
            ? this.#end()
            : this.#fail('api_error', 'The backend stream ended before the answer was complete.');
    }
    return Buffer.from(out);
  }

  #emit(type: string, payload: Json): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.#sequence++, ...payload })}\n\n`;
  }

  #event(event: SseEvent): string {
    if (this.#done) return '';
    if (event.data === '[DONE]')
      return this.#answer?.finish !== undefined
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
      return this.#fail(
        typeof error.type === 'string' ? error.type : 'api_error',
        typeof error.message === 'string' ? error.message : 'The backend failed.',
      );
    }
    let out = '';
    if (!this.#answer) {
      this.#answer = {
        id: typeof chunk.id === 'string' ? chunk.id : 'gateway',
        created: typeof chunk.created === 'number' ? chunk.created : Math.floor(Date.now() / 1000),
        model: typeof chunk.model === 'string' ? chunk.model : this.#context.model,
        reasoning: '',
        text: '',
        calls: [],
        finish: undefined,
        usage: undefined,
      };
      out += this.#emit('response.created', { response: responseObject(this.#answer, 'in_progress', []) });
    }
    const answer = this.#answer;
    if (isObject(chunk.usage)) answer.usage = chunk.usage;
    const choice = Array.isArray(chunk.choices) && isObject(chunk.choices[0]) ? chunk.choices[0] : undefined;
    const delta = choice && isObject(choice.delta) ? choice.delta : undefined;
    if (delta) {
      const reasoning = delta.reasoning_content ?? delta.reasoning;
      if (typeof reasoning === 'string' && reasoning !== '') {
        if (this.#open !== 'reasoning') {
          out += this.#close();
          out += this.#openItem('reasoning', {
            type: 'reasoning',
            id: `rs_${suffix(answer.id)}`,
            summary: [],
          });
        }
        answer.reasoning += reasoning;
      }
      if (typeof delta.content === 'string' && delta.content !== '') {
        if (this.#open !== 'text') {
          out += this.#close();
          out += this.#openItem('text', messageItem(`msg_${suffix(answer.id)}`, '', 'in_progress'));
          out += this.#emit('response.content_part.added', {
            item_id: `msg_${suffix(answer.id)}`,
            output_index: this.#index,
            content_index: 0,
            part: { type: 'output_text', text: '', annotations: [] },
          });
        }
        answer.text += delta.content;
        out += this.#emit('response.output_text.delta', {
          item_id: `msg_${suffix(answer.id)}`,
          output_index: this.#index,
          content_index: 0,
          delta: delta.content,
        });
      }
      if (Array.isArray(delta.tool_calls)) for (const call of delta.tool_calls) out += this.#toolDelta(call);
    }
    if (choice && choice.finish_reason !== null && choice.finish_reason !== undefined)
      answer.finish = choice.finish_reason;
    return out;
  }

  #toolDelta(call: unknown): string {
    if (!isObject(call)) return '';
    const answer = this.#answer!;
    const index = typeof call.index === 'number' ? call.index : 0;
    const fn = isObject(call.function) ? call.function : {};
    let out = '';
    if (this.#open !== 'call' || index !== this.#callIndex) {
      out += this.#close();
      this.#callIndex = index;
      answer.calls.push({
        call_id: String(call.id ?? `call_${index}`),
        name: String(fn.name ?? ''),
        arguments: '',
      });
      const n = answer.calls.length - 1;
      out += this.#openItem('call', {
        type: 'function_call',
        id: `fc_${suffix(answer.id)}_${n}`,
        status: 'in_progress',
        ...answer.calls[n]!,
      });
    }
    const args = fn.arguments;
    if (typeof args === 'string' && args !== '') {
      const n = answer.calls.length - 1;
      answer.calls[n]!.arguments += args;
      out += this.#emit('response.function_call_arguments.delta', {
        item_id: `fc_${suffix(answer.id)}_${n}`,
        output_index: this.#index,
        delta: args,
      });
    }
    return out;
  }

  #openItem(kind: 'reasoning' | 'text' | 'call', item: Json): string {
    this.#open = kind;
    this.#index++;
    return this.#emit('response.output_item.added', { output_index: this.#index, item });
  }

  #close(): string {
    const answer = this.#answer!;
    const kind = this.#open;
    if (kind === undefined) return '';
    this.#open = undefined;
    const base = suffix(answer.id);
    let out = '';
    let item: Json;
    if (kind === 'reasoning') {
      item = {
        type: 'reasoning',
        id: `rs_${base}`,
        summary: [{ type: 'summary_text', text: answer.reasoning }],
      };
    } else if (kind === 'text') {
      const part = { type: 'output_text', text: answer.text, annotations: [] };
      out += this.#emit('response.output_text.done', {
        item_id: `msg_${base}`,
        output_index: this.#index,
        content_index: 0,
        text: answer.text,
      });
      out += this.#emit('response.content_part.done', {
        item_id: `msg_${base}`,
        output_index: this.#index,
        content_index: 0,
        part,
      });
      item = messageItem(`msg_${base}`, answer.text, 'completed');
    } else {
      const n = answer.calls.length - 1;
      const call = answer.calls[n]!;
      out += this.#emit('response.function_call_arguments.done', {
        item_id: `fc_${base}_${n}`,
        output_index: this.#index,
        arguments: call.arguments,
      });
      item = { type: 'function_call', id: `fc_${base}_${n}`, status: 'completed', ...call };
    }
    this.#items.push(item);
    return out + this.#emit('response.output_item.done', { output_index: this.#index, item });
  }

  #end(): string {
    this.#done = true;
    const answer = this.#answer!;
    const out = this.#close();
    return (
      out + this.#emit('response.completed', { response: responseObject(answer, 'completed', this.#items) })
    );
  }

  /**
   * The Responses stream's `error` event (type, code, message, param); the data begins with its
   * `error` object, as the per-attempt phase finds error events by their `data: {"error":` prefix
   * to redact credentials from them (openai-stream.ts ERROR_EVENT_PREFIX).
   */
  #fail(type: string, message: string): string {
    this.#done = true;
    const payload = {
      error: { type, message, code: null, param: null },
      type: 'error',
      code: type,
      message,
      param: null,
    };
    return `event: error\ndata: ${JSON.stringify({ ...payload, sequence_number: this.#sequence++ })}\n\n`;
  }
}

/** The Responses API's adapter for via-chat.ts. */
export const responsesChatAdapter: ChatAdapter = {
  toChat: (body, _input, target) => responsesToChat(body, target),
  fromChat: responsesFromChatBody,
  createStream: (context) => new ResponsesFromChatStream(context),
};
