/**
 * `POST /v1/responses`, the OpenAI Responses API, as vLLM serves it beside Chat Completions
 * (platform.openai.com/docs/api-reference/responses): the same simulated model behind it (text, a call
 * of one of the function tools, or JSON for `text.format`), answered as a Response object or as the
 * Responses stream (…/responses-streaming: response.created, response.in_progress,
 * response.output_item.added, response.content_part.added, response.output_text.delta or
 * response.function_call_arguments.delta, their .done events, response.output_item.done, then
 * response.completed, or response.incomplete when max_output_tokens cut the answer). Stateless:
 * `previous_response_id` is refused, as the simulator keeps no responses.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type AnswerFormatFor, type ChatEndpoint, serveAnswer } from './chat-completions.ts';
import {
  type ChatAnswer,
  type ChatRequest,
  type FunctionTool,
  isObject,
  optionalBoolean,
  optionalPositiveInteger,
  pickTool,
  TEXT,
  type ToolChoice,
} from './chat-request.ts';
import type { ChatFinishReason, CompletionIdentity, SimToolCall, Usage } from './chat-response.ts';
import { badRequest } from './errors.ts';
import { readBody } from './http-body.ts';
import { countPromptTokens } from './tokens.ts';

type Json = Record<string, unknown>;

export async function serveResponse(
  endpoint: ChatEndpoint,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  await serveAnswer(endpoint, parseResponsesRequest(await readBody(req)), res, responsesFormat);
}

/** Text of an input item's content: a string, or its input_text/output_text parts. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content)
    if (
      isObject(part) &&
      typeof part.text === 'string' &&
      (part.type === 'input_text' || part.type === 'output_text')
    )
      text += part.text;
  return text;
}

export function parseResponsesRequest(body: Buffer): ChatRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw badRequest('We could not parse the JSON body of your request: it is not valid JSON.');
  }
  if (!isObject(parsed)) throw badRequest('The request body must be a JSON object.');
  const model = parsed.model;
  if (typeof model !== 'string' || model === '')
    throw badRequest('You must provide a model parameter.', 'model');
  if (parsed.previous_response_id !== undefined && parsed.previous_response_id !== null)
    throw badRequest(
      'This server keeps no responses; send the whole conversation in "input".',
      'previous_response_id',
    );
  let promptKey = '';
  let promptText = '';
  let lastRole = '';
  let lastText = '';
  const add = (role: string, text: string) => {
    promptKey += `${role}\u0000${text}\u0000`;
    promptText += text;
    lastRole = role;
    lastText = text;
  };
  if (typeof parsed.instructions === 'string') add('system', parsed.instructions);
  const input = parsed.input;
  if (typeof input === 'string') add('user', input);
  else if (Array.isArray(input) && input.length > 0) {
    input.forEach((item, i) => {
      const at = `input[${i}]`;
      if (!isObject(item)) throw badRequest(`${at} must be an object.`, at);
      const type = item.type ?? 'message';
      if (type === 'message' && typeof item.role === 'string') add(item.role, contentText(item.content));
      else if (type === 'function_call')
        add('assistant', typeof item.arguments === 'string' ? item.arguments : '');
      else if (type === 'function_call_output')
        add('tool', typeof item.output === 'string' ? item.output : contentText(item.output));
      else if (type !== 'reasoning')
        throw badRequest(`${at} is a ${JSON.stringify(type)} item, which this server does not take.`, at);
    });
  } else throw badRequest('input must be a string or a non-empty array of items.', 'input');
  return {
    model,
    promptKey,
    promptText,
    promptTokens: countPromptTokens(promptText.length),
    maxTokens: optionalPositiveInteger(parsed, 'max_output_tokens'),
    stream: optionalBoolean(parsed, 'stream') ?? false,
    includeUsage: true,
    answer: toolAnswer(parsed, lastRole, lastText) ?? formatAnswer(parsed.text),
  };
}

function toolAnswer(parsed: Json, lastRole: string, lastText: string): ChatAnswer | undefined {
  const tools = parsed.tools;
  if (tools === undefined || tools === null) return undefined;
  if (!Array.isArray(tools)) throw badRequest('tools must be an array.', 'tools');
  const functions: FunctionTool[] = tools.map((tool, i) => {
    if (!isObject(tool) || tool.type !== 'function' || typeof tool.name !== 'string')
      throw badRequest(
        `tools[${i}] must be a function tool with a name; this server runs no built-in tools.`,
        `tools[${i}]`,
      );
    return { name: tool.name, parameters: tool.parameters ?? { type: 'object', properties: {} } };
  });
  if (functions.length === 0) return undefined;
  const raw = parsed.tool_choice;
  let choice: ToolChoice;
  if (raw === undefined || raw === null) choice = 'auto';
  else if (raw === 'auto' || raw === 'required' || raw === 'none') choice = raw;
  else if (isObject(raw) && raw.type === 'function') choice = { name: raw.name };
  else throw badRequest('tool_choice must be none, auto, required or a named function.', 'tool_choice');
  return pickTool(functions, choice, lastRole, lastText);
}

/** `text.format`: text, json_object or json_schema (with `schema` beside `name`). */
function formatAnswer(text: unknown): ChatAnswer {
  const format = isObject(text) ? text.format : undefined;
  if (format === undefined || format === null) return TEXT;
  const type = isObject(format) ? format.type : undefined;
  if (type === 'text') return TEXT;
  if (type === 'json_object') return { kind: 'json', schema: undefined };
  if (type === 'json_schema' && isObject(format) && isObject(format.schema))
    return { kind: 'json', schema: format.schema };
  throw badRequest('text.format must be text, json_object or json_schema with a schema.', 'text.format');
}

function usageOf(usage: Usage): Json {
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.total_tokens,
  };
}

const responsesFormat: AnswerFormatFor = (
  _request,
  identity: CompletionIdentity,
  toolCall: SimToolCall | undefined,
) => {
  const id = `resp_${identity.id}`;
  const itemId = toolCall ? `fc_${identity.id}` : `msg_${identity.id}`;
  let sequence = 0;
  const event = (type: string, payload: Json) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...payload })}\n\n`;
  const item = (content: string, status: 'in_progress' | 'completed' | 'incomplete'): Json =>
    toolCall
      ? {
          type: 'function_call',
          id: itemId,
          call_id: toolCall.id,
          name: toolCall.name,
          arguments: content,
          status,
        }
      : {
          type: 'message',
          id: itemId,
          status,
          role: 'assistant',
          content: status === 'in_progress' ? [] : [{ type: 'output_text', text: content, annotations: [] }],
        };
  const response = (status: string, output: Json[], usage: Usage | undefined): Json => ({
    id,
    object: 'response',
    created_at: identity.created,
    status,
    error: null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    model: identity.model,
    output,
    parallel_tool_calls: true,
    store: false,
    usage: usage ? usageOf(usage) : null,
  });
  const finalStatus = (reason: ChatFinishReason) => (reason === 'length' ? 'incomplete' : 'completed');
  const part = (text: string) => ({ type: 'output_text', text, annotations: [] });
  return {
    streamStart: () =>
      event('response.created', { response: response('in_progress', [], undefined) }) +
      event('response.in_progress', { response: response('in_progress', [], undefined) }) +
      event('response.output_item.added', { output_index: 0, item: item('', 'in_progress') }) +
      (toolCall
        ? ''
        : event('response.content_part.added', {
            item_id: itemId,
            output_index: 0,
            content_index: 0,
            part: part(''),
          })),
    streamPiece: (text) =>
      toolCall
        ? event('response.function_call_arguments.delta', { item_id: itemId, output_index: 0, delta: text })
        : event('response.output_text.delta', {
            item_id: itemId,
            output_index: 0,
            content_index: 0,
            delta: text,
          }),
    streamEnd: (content, reason, usage) => {
      const status = finalStatus(reason);
      const done = item(content, status);
      const closing = toolCall
        ? event('response.function_call_arguments.done', {
            item_id: itemId,
            output_index: 0,
            arguments: content,
          })
        : event('response.output_text.done', {
            item_id: itemId,
            output_index: 0,
            content_index: 0,
            text: content,
          }) +
          event('response.content_part.done', {
            item_id: itemId,
            output_index: 0,
            content_index: 0,
            part: part(content),
          });
      return (
        closing +
        event('response.output_item.done', { output_index: 0, item: done }) +
        event(status === 'completed' ? 'response.completed' : 'response.incomplete', {
          response: response(status, [done], usage),
        })
      );
    },
    body: (content, reason, usage) => {
      const status = finalStatus(reason);
      return JSON.stringify(response(status, [item(content, status)], usage));
    },
  };
};
