import { badRequest } from './errors.ts';
import { countPromptTokens } from './tokens.ts';

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
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
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
  for (let i = 0; i < messages.length; i++) {
    const message: unknown = messages[i];
    if (!isObject(message) || typeof message.role !== 'string') {
      throw badRequest(`messages[${i}] must be an object with a string role.`, `messages[${i}]`);
    }
    const text = messageText(message.content);
    promptKey += message.role + '\u0000' + text + '\u0000';
    promptText += text;
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
  };
}

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

function optionalBoolean(object: JsonObject, key: string, param: string = key): boolean | undefined {
  const value = object[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw badRequest(`${param} must be a boolean.`, param);
  return value;
}

function optionalPositiveInteger(object: JsonObject, key: string): number | undefined {
  const value = object[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw badRequest(`${key} must be an integer of at least 1.`, key);
  }
  return value;
}
