import { badRequest } from './errors.ts';
import { countPromptTokens } from './tokens.ts';

/**
 * What the simulated model answers with: text; a call of one of the request's function tools (when
 * tools are given and tool_choice allows one: a named tool, `required`, or `auto` unless the last
 * message is a tool result, so an agent loop ends); or JSON, for `response_format` json_object or
 * json_schema (platform.openai.com/docs/api-reference/chat/create).
 */
export type ChatAnswer =
  | { readonly kind: 'text' }
  | { readonly kind: 'tool'; readonly name: string; readonly parameters: unknown }
  | { readonly kind: 'json'; readonly schema: unknown };

/** A validated `POST /v1/chat/completions` request, reduced to what the simulator acts on. */
export interface ChatRequest {
  readonly model: string;
  /** Roles and text contents of all messages; the input that makes the output deterministic. */
  readonly promptKey: string;
  /** Text contents of all messages, concatenated: what the simulated tokenizer turns into prompt tokens. */
  readonly promptText: string;
  readonly promptTokens: number;
  /** `max_completion_tokens`, else the deprecated `max_tokens`, else no cap. */
  readonly maxTokens: number | undefined;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly answer: ChatAnswer;
}

type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses and validates the body the way the OpenAI API does for the fields the simulator reads. */
export function parseChatRequest(body: Buffer): ChatRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw badRequest('We could not parse the JSON body of your request: it is not valid JSON.');
  }
  if (!isObject(parsed)) throw badRequest('The request body must be a JSON object.');

  const model = parsed.model;
  if (typeof model !== 'string' || model === '') {
    throw badRequest('You must provide a model parameter.', 'model');
  }

  const messages = parsed.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    throw badRequest('messages must be a non-empty array.', 'messages');
  }
  let promptKey = '';
  let promptText = '';
  let lastRole = '';
  let lastText = '';
  for (let i = 0; i < messages.length; i++) {
    const message: unknown = messages[i];
    if (!isObject(message) || typeof message.role !== 'string') {
      throw badRequest(`messages[${i}] must be an object with a string role.`, `messages[${i}]`);
    }
    const text = messageText(message.content);
    promptKey += message.role + '\u0000' + text + '\u0000';
    promptText += text;
    lastRole = message.role;
    lastText = text;
  }

  const stream = optionalBoolean(parsed, 'stream') ?? false;
  const streamOptions = parsed.stream_options;
  const includeUsage =
    isObject(streamOptions) &&
    optionalBoolean(streamOptions, 'include_usage', 'stream_options.include_usage') === true;

  return {
    model,
    promptKey,
    promptText,
    promptTokens: countPromptTokens(promptText.length),
    maxTokens:
      optionalPositiveInteger(parsed, 'max_completion_tokens') ??
      optionalPositiveInteger(parsed, 'max_tokens'),
    stream,
    includeUsage,
    answer: toolAnswer(parsed, lastRole, lastText) ?? formatAnswer(parsed.response_format),
  };
}

export interface FunctionTool {
  name: string;
  parameters: unknown;
}

/** What tool_choice asks: `auto`, `required`, `none`, or one tool by name. */
export type ToolChoice = 'auto' | 'required' | 'none' | { name: unknown };

/**
 * The call the model makes, if any: the named tool; else, for `required`, or `auto` unless the last
 * message is a tool result, the first tool the last message mentions, else the first.
 */
export function pickTool(
  functions: readonly FunctionTool[],
  choice: ToolChoice,
  lastRole: string,
  lastText: string,
): ChatAnswer | undefined {
  let tool: FunctionTool | undefined;
  if (typeof choice === 'object') {
    tool = functions.find((f) => f.name === choice.name);
    if (!tool) throw badRequest('tool_choice must name one of the tools.', 'tool_choice');
  } else if (choice === 'required' || (choice === 'auto' && lastRole !== 'tool'))
    tool = functions.find((f) => lastText.includes(f.name)) ?? functions[0];
  return tool && { kind: 'tool', name: tool.name, parameters: tool.parameters };
}

/** tool_choice as Chat Completions spells it, or a 400. */
function toolChoiceOf(choice: unknown): ToolChoice {
  if (choice === undefined || choice === null) return 'auto';
  if (choice === 'auto' || choice === 'required' || choice === 'none') return choice;
  if (isObject(choice) && choice.type === 'function' && isObject(choice.function))
    return { name: choice.function.name };
  throw badRequest('tool_choice must be none, auto, required or a named function.', 'tool_choice');
}

/** The tool call the request gets, if any: the named tool, else the first whose name the last message mentions, else the first. */
function toolAnswer(parsed: JsonObject, lastRole: string, lastText: string): ChatAnswer | undefined {
  const tools = parsed.tools;
  if (tools === undefined || tools === null) return undefined;
  if (!Array.isArray(tools)) throw badRequest('tools must be an array.', 'tools');
  const functions: FunctionTool[] = tools.map((tool, i) => {
    const fn = isObject(tool) ? tool.function : undefined;
    if (!isObject(tool) || tool.type !== 'function' || !isObject(fn) || typeof fn.name !== 'string')
      throw badRequest(`tools[${i}] must be a function tool with a name.`, `tools[${i}]`);
    return { name: fn.name, parameters: fn.parameters ?? { type: 'object', properties: {} } };
  });
  if (functions.length === 0) return undefined;
  return pickTool(functions, toolChoiceOf(parsed.tool_choice), lastRole, lastText);
}

function formatAnswer(format: unknown): ChatAnswer {
  if (format === undefined || format === null) return TEXT;
  const type = isObject(format) ? format.type : undefined;
  if (type === 'text') return TEXT;
  if (type === 'json_object') return { kind: 'json', schema: undefined };
  const schema = isObject(format) && isObject(format.json_schema) ? format.json_schema.schema : undefined;
  if (type === 'json_schema' && isObject(schema)) return { kind: 'json', schema };
  throw badRequest(
    'response_format must be {"type":"text"}, {"type":"json_object"} or {"type":"json_schema","json_schema":{"name","schema"}}.',
    'response_format',
  );
}

export const TEXT: ChatAnswer = { kind: 'text' };

/** Text of a message's `content`: a string, or the `text` of each `{type:'text'}` part; images etc. add none. */
function messageText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content) {
    if (isObject(part) && part.type === 'text' && typeof part.text === 'string') text += part.text;
  }
  return text;
}

export function optionalBoolean(object: JsonObject, key: string, param: string = key): boolean | undefined {
  const value = object[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw badRequest(`${param} must be a boolean.`, param);
  return value;
}

export function optionalPositiveInteger(object: JsonObject, key: string): number | undefined {
  const value = object[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw badRequest(`${key} must be an integer of at least 1.`, key);
  }
  return value;
}
