/**
 * What both client APIs served through Chat Completions (messages-chat.ts, responses-chat.ts) build
 * and read the same way: a Chat Completions function tool (platform.openai.com/docs/api-reference/chat/create,
 * `tools[].function`: name, description, JSON Schema `parameters`, `strict`) and the completion a
 * backend answered with, checked before either adapter reads it.
 */
import { errors } from '../errors.ts';

type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A client's function tool as Chat Completions takes it; members it lacks are left out. */
export function chatFunctionTool(
  name: string,
  description: unknown,
  parameters: unknown,
  strict?: unknown,
): Json {
  const fn: Json = { name };
  if (typeof description === 'string') fn.description = description;
  if (isObject(parameters)) fn.parameters = parameters;
  if (typeof strict === 'boolean') fn.strict = strict;
  return { type: 'function', function: fn };
}

/** A buffered chat completion, or a 502 saying what the backend sent instead. */
export function chatCompletionOf(body: Buffer): Json & { choices: unknown[] } {
  let completion: unknown;
  try {
    completion = JSON.parse(body.toString('utf8'));
  } catch {
    throw errors.badGateway('the backend answered with a body that is not JSON.');
  }
  if (!isObject(completion) || !Array.isArray(completion.choices))
    throw errors.badGateway('the backend answered with JSON that is not a chat completion.');
  return completion as Json & { choices: unknown[] };
}
