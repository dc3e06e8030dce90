/**
 * AWS Bedrock Runtime: Chat Completions ⇄ Converse / ConverseStream, embeddings ⇄ InvokeModel for Titan
 * Text Embeddings and Cohere Embed, requests signed with SigV4 (service "bedrock").
 *
 * Protocol facts come from the Bedrock Runtime API reference
 * (docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html, …_ConverseStream.html,
 * …_InvokeModel.html) and the model parameter pages of the Bedrock user guide; the path encoding is the
 * AWS SDK's (aws-sdk-js-v3 clients/client-bedrock-runtime/src/protocols/Aws_restJson1.ts).
 *
 * Choices where Converse has no equivalent:
 * - An image given by http(s) URL is not fetched (Converse takes only inline bytes or S3 locations):
 *   it is replaced by a short text block naming the URL, so the request still succeeds and the model
 *   knows an image was meant. Data URLs are sent as bytes.
 * - Converse rejects toolUse/toolResult blocks without a toolConfig ("The toolConfig field must be
 *   defined when using toolUse and toolResult content blocks") and has no "none" tool choice; when
 *   tools are absent or tool_choice is "none", earlier tool calls and results are sent as text.
 * - temperature above Converse's maximum of 1 is sent as 1.
 * - Titan Text Embeddings take one text per call: an `input` array of more than one text is refused
 *   with a 400 that says so (Cohere Embed takes up to 96 texts per call).
 * - Prompt caching: a `cache_control` marker on a content part, system part or tool (read as for
 *   Anthropic, cache-control.ts) becomes a cachePoint block right after the block it marks — Converse's
 *   checkpoints go in `messages`, `system` and `toolConfig.tools`, and cache everything before them
 *   (docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html; CachePointBlock
 *   `{type: "default", ttl?: "5m" | "1h"}`, API_runtime_CachePointBlock.html). A TTL Bedrock does not
 *   know is left out (the default applies).
 */

import { randomUUID } from 'node:crypto';
import { signAwsRequest, signatureSecrets } from '../credentials/aws-sigv4.ts';
import { errors, errorTypeForStatus, type OpenAIErrorBody } from '../errors.ts';
import type { HttpHead } from '../phases.ts';
import { claudeThinking, DEFAULT_MAX_TOKENS } from './anthropic.ts';
import { BedrockStream, bedrockError, EXCEPTION_STATUS, finishReasonOf, usageOf } from './bedrock.stream.ts';
import { type CacheControl, cacheControlOf, toolCacheControlOf } from './cache-control.ts';
import type { OpenAIUsage } from './openai-stream.ts';
import type { ResponseContext, Translator, UpstreamRequest, UpstreamRequestInput } from './translator.ts';

/** SigV4 signing name of Bedrock Runtime (its endpoint is bedrock-runtime.<region>.amazonaws.com). */
const SIGNING_SERVICE = 'bedrock';

/** Other providers' auth headers (and a gateway key sent as one) that must not reach AWS. */
const FOREIGN_AUTH_HEADERS = ['x-api-key', 'api-key', 'x-goog-api-key'];

/**
 * The model id is a non-greedy URI label: every reserved character is percent-encoded, `/` and `:`
 * of ARNs and inference profile ids included (smithy's extendedEncodeURIComponent).
 */
export function encodeModelId(modelId: string): string {
  return encodeURIComponent(modelId).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

// ---------------------------------------------------------------------------------------------------
// Converse request (API_runtime_Converse.html: Message, ContentBlock, SystemContentBlock,
// InferenceConfiguration, ToolConfiguration, ToolChoice)

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'webp';

/** A prompt-cache checkpoint (CachePointBlock), a member of ContentBlock, SystemContentBlock and Tool. */
export interface CachePoint {
  cachePoint: { type: 'default'; ttl?: '5m' | '1h' };
}

export type ConverseBlock =
  | { text: string }
  | { image: { format: ImageFormat; source: { bytes: string } } }
  | { toolUse: { toolUseId: string; name: string; input: unknown } }
  | { toolResult: { toolUseId: string; content: { text: string }[] } }
  | CachePoint;

export interface ConverseToolSpec {
  toolSpec: { name: string; description?: string; inputSchema: { json: unknown } };
}

export interface ConverseMessage {
  role: 'user' | 'assistant';
  content: ConverseBlock[];
}

export interface ConverseRequest {
  messages: ConverseMessage[];
  system?: ({ text: string } | CachePoint)[];
  inferenceConfig?: { maxTokens?: number; temperature?: number; topP?: number; stopSequences?: string[] };
  toolConfig?: {
    tools: (ConverseToolSpec | CachePoint)[];
    toolChoice?:
      | { auto: Record<string, never> }
      | { any: Record<string, never> }
      | { tool: { name: string } };
  };
  /** Model-native fields Converse passes through, e.g. Claude's `thinking`. */
  additionalModelRequestFields?: Record<string, unknown>;
  outputConfig?: {
    textFormat: { type: 'json_schema'; structure: { jsonSchema: { schema: string; name?: string } } };
  };
}

const IMAGE_FORMATS: Readonly<Record<string, ImageFormat>> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

const DATA_URL = /^data:([^;,]+)(?:;[^;,=]+=[^;,]*)*;base64,/i;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function imageBlock(url: string, param: string): ConverseBlock {
  const match = DATA_URL.exec(url);
  if (match) {
    const format = IMAGE_FORMATS[match[1]!.toLowerCase()];
    if (!format) {
      throw errors.invalidBody(
        `Bedrock Converse accepts png, jpeg, gif and webp images; got ${match[1]}.`,
        param,
      );
    }
    // The JSON form of a blob is its base64 text: the data URL's payload is sent as it is.
    return { image: { format, source: { bytes: url.slice(match[0].length) } } };
  }
  if (url.startsWith('data:'))
    throw errors.invalidBody('Image data URLs must be base64-encoded (data:image/png;base64,…).', param);
  return { text: `[image not sent: ${url} (Bedrock Converse accepts only inline image bytes)]` };
}

/** The checkpoint for a client's cache_control marker. */
function cachePointFor(marker: CacheControl): CachePoint {
  const ttl = marker.ttl === '5m' || marker.ttl === '1h' ? marker.ttl : undefined;
  return { cachePoint: ttl ? { type: 'default', ttl } : { type: 'default' } };
}

interface TextPart {
  text: string;
  cache?: CacheControl;
}

/** Text of a string or an array of text parts (system, tool and assistant content), with their markers. */
function textParts(content: unknown, param: string): TextPart[] {
  if (typeof content === 'string') return [{ text: content }];
  if (content === null || content === undefined) return [];
  if (!Array.isArray(content))
    throw errors.invalidBody('Message content must be a string or an array.', param);
  return content.map((part, i) => {
    let text: string;
    if (isObject(part) && part.type === 'text' && typeof part.text === 'string') text = part.text;
    else if (isObject(part) && part.type === 'refusal' && typeof part.refusal === 'string')
      text = part.refusal;
    else throw errors.invalidBody('Only text content parts are accepted here.', `${param}[${i}]`);
    const cache = cacheControlOf(part, `${param}[${i}]`);
    return cache ? { text, cache } : { text };
  });
}

/** Text blocks for the parts, each marked one followed by its checkpoint; empty texts are left out. */
function textBlocks(parts: TextPart[]): ({ text: string } | CachePoint)[] {
  const blocks: ({ text: string } | CachePoint)[] = [];
  for (const part of parts) {
    if (!part.text) continue;
    blocks.push({ text: part.text });
    if (part.cache) blocks.push(cachePointFor(part.cache));
  }
  return blocks;
}

function userBlocks(content: unknown, param: string): ConverseBlock[] {
  if (typeof content === 'string') return content ? [{ text: content }] : [];
  if (!Array.isArray(content))
    throw errors.invalidBody('Message content must be a string or an array.', param);
  const blocks: ConverseBlock[] = [];
  content.forEach((part, i) => {
    const at = `${param}[${i}]`;
    if (!isObject(part)) throw errors.invalidBody('Content parts must be objects.', at);
    if (part.type === 'text' && typeof part.text === 'string') {
      if (!part.text) return;
      blocks.push({ text: part.text });
    } else if (part.type === 'image_url') {
      const imageUrl = part.image_url;
      const url = typeof imageUrl === 'string' ? imageUrl : isObject(imageUrl) ? imageUrl.url : undefined;
      if (typeof url !== 'string') throw errors.invalidBody('image_url.url must be a string.', at);
      blocks.push(imageBlock(url, `${at}.image_url.url`));
    } else {
      throw errors.invalidBody(
        `Content part type "${String(part.type)}" is not supported by Bedrock Converse.`,
        at,
      );
    }
    const cache = cacheControlOf(part, at);
    if (cache) blocks.push(cachePointFor(cache));
  });
  return blocks;
}

function toolUseInput(args: unknown, param: string): unknown {
  if (args === undefined || args === null || args === '') return {};
  if (typeof args !== 'string') throw errors.invalidBody('function.arguments must be a JSON string.', param);
  try {
    const input: unknown = JSON.parse(args);
    if (isObject(input)) return input;
  } catch {
    // reported below
  }
  throw errors.invalidBody(
    'function.arguments must be a JSON object; Bedrock requires tool input as an object.',
    param,
  );
}

function assistantBlocks(message: Json, param: string): ConverseBlock[] {
  const blocks: ConverseBlock[] = textBlocks(textParts(message.content, `${param}.content`));
  const calls = message.tool_calls;
  if (calls !== undefined && calls !== null) {
    if (!Array.isArray(calls))
      throw errors.invalidBody('tool_calls must be an array.', `${param}.tool_calls`);
    calls.forEach((call, i) => {
      const at = `${param}.tool_calls[${i}]`;
      const fn = isObject(call) ? call.function : undefined;
      if (!isObject(call) || typeof call.id !== 'string' || !isObject(fn) || typeof fn.name !== 'string')
        throw errors.invalidBody('A tool call needs an id and a function name.', at);
      blocks.push({
        toolUse: {
          toolUseId: call.id,
          name: fn.name,
          input: toolUseInput(fn.arguments, `${at}.function.arguments`),
        },
      });
    });
  }
  return blocks;
}

function toolConfigOf(body: Json): ConverseRequest['toolConfig'] {
  const tools = body.tools;
  if (!Array.isArray(tools) || tools.length === 0 || body.tool_choice === 'none') return undefined;
  const specs: (ConverseToolSpec | CachePoint)[] = [];
  tools.forEach((tool, i) => {
    const fn = isObject(tool) ? tool.function : undefined;
    if (!isObject(tool) || tool.type !== 'function' || !isObject(fn) || typeof fn.name !== 'string')
      throw errors.invalidBody('Bedrock Converse supports function tools only.', `tools[${i}]`);
    const toolSpec: ConverseToolSpec['toolSpec'] = {
      name: fn.name,
      inputSchema: { json: isObject(fn.parameters) ? fn.parameters : { type: 'object', properties: {} } },
    };
    if (typeof fn.description === 'string' && fn.description) toolSpec.description = fn.description;
    specs.push({ toolSpec });
    const cache = toolCacheControlOf(tool, `tools[${i}]`);
    if (cache) specs.push(cachePointFor(cache));
  });
  const config: NonNullable<ConverseRequest['toolConfig']> = { tools: specs };
  const choice = body.tool_choice;
  if (choice === 'auto') config.toolChoice = { auto: {} };
  else if (choice === 'required') config.toolChoice = { any: {} };
  else if (isObject(choice)) {
    const name = isObject(choice.function) ? choice.function.name : undefined;
    if (typeof name !== 'string')
      throw errors.invalidBody('tool_choice.function.name must be a string.', 'tool_choice');
    config.toolChoice = { tool: { name } };
  }
  return config;
}

/** Tool calls and results as text, for a request that sends no toolConfig (see the file comment). */
function toolBlocksAsText(messages: ConverseMessage[]): void {
  const names = new Map<string, string>();
  for (const message of messages) {
    message.content = message.content.map((block) => {
      if ('toolUse' in block) {
        names.set(block.toolUse.toolUseId, block.toolUse.name);
        return { text: `[tool call ${block.toolUse.name} ${JSON.stringify(block.toolUse.input)}]` };
      }
      if ('toolResult' in block) {
        const name = names.get(block.toolResult.toolUseId) ?? block.toolResult.toolUseId;
        return { text: `[tool result ${name}: ${block.toolResult.content.map((c) => c.text).join('\n')}]` };
      }
      return block;
    });
  }
}

function numberField(body: Json, name: string): number | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw errors.invalidBody(`${name} must be a number.`, name);
  return value;
}

/** The Converse request body for a Chat Completions request. */
export function toConverseRequest(body: Json, defaultMaxTokens?: number, model = ''): ConverseRequest {
  if (!Array.isArray(body.messages)) throw errors.invalidBody('messages must be an array.', 'messages');
  const n = numberField(body, 'n');
  if (n !== undefined && n !== 1)
    throw errors.invalidBody('Bedrock Converse returns one choice; n must be 1.', 'n');
  const system: NonNullable<ConverseRequest['system']> = [];
  const messages: ConverseMessage[] = [];
  const append = (role: ConverseMessage['role'], content: ConverseBlock[]) => {
    if (content.length === 0) return;
    const last = messages[messages.length - 1];
    // Converse wants user and assistant turns to alternate: consecutive messages of a role are one turn.
    if (last?.role === role) last.content.push(...content);
    else messages.push({ role, content });
  };
  body.messages.forEach((message, i) => {
    const param = `messages[${i}]`;
    if (!isObject(message)) throw errors.invalidBody('Each message must be an object.', param);
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(...textBlocks(textParts(message.content, `${param}.content`)));
        return;
      case 'user':
        append('user', userBlocks(message.content, `${param}.content`));
        return;
      case 'assistant':
        append('assistant', assistantBlocks(message, param));
        return;
      case 'tool': {
        if (typeof message.tool_call_id !== 'string')
          throw errors.invalidBody('A tool message needs a tool_call_id.', `${param}.tool_call_id`);
        const parts = textParts(message.content, `${param}.content`);
        const content = parts.map((part) => ({ text: part.text }));
        const result: ConverseBlock[] = [{ toolResult: { toolUseId: message.tool_call_id, content } }];
        // A marked part marks the whole result: the checkpoint follows the toolResult block.
        const cache = parts.findLast((part) => part.cache)?.cache;
        if (cache) result.push(cachePointFor(cache));
        append('user', result);
        return;
      }
      default:
        throw errors.invalidBody(`Message role "${String(message.role)}" is not supported.`, `${param}.role`);
    }
  });

  const request: ConverseRequest = { messages };
  if (system.length > 0) request.system = system;
  const inference: NonNullable<ConverseRequest['inferenceConfig']> = {};
  const maxTokens =
    numberField(body, 'max_completion_tokens') ?? numberField(body, 'max_tokens') ?? defaultMaxTokens;
  if (maxTokens !== undefined) inference.maxTokens = maxTokens;
  // OpenAI allows temperature 0–2, Converse 0–1 (API_runtime_InferenceConfiguration.html): above 1 is
  // sent as 1, the most varied sampling the model offers.
  const temperature = numberField(body, 'temperature');
  if (temperature !== undefined) inference.temperature = Math.min(Math.max(temperature, 0), 1);
  const topP = numberField(body, 'top_p');
  if (topP !== undefined) inference.topP = topP;
  const stop = body.stop;
  const stops = typeof stop === 'string' ? [stop] : Array.isArray(stop) ? stop : [];
  if (!stops.every((s) => typeof s === 'string')) throw errors.invalidBody('stop must be strings.', 'stop');
  // Stop sequences have a minimum length of 1.
  const stopSequences = (stops as string[]).filter((s) => s.length > 0);
  if (stopSequences.length > 0) inference.stopSequences = stopSequences;
  const toolConfig = toolConfigOf(body);
  if (toolConfig) request.toolConfig = toolConfig;
  else toolBlocksAsText(messages);
  const outputConfig = outputConfigOf(body.response_format);
  if (outputConfig) request.outputConfig = outputConfig;
  const clientLimit =
    numberField(body, 'max_completion_tokens') !== undefined || numberField(body, 'max_tokens') !== undefined;
  addClaudeThinking(request, inference, body.reasoning_effort, model, clientLimit);
  if (Object.keys(inference).length > 0) request.inferenceConfig = inference;
  return request;
}

/**
 * OpenAI `response_format` as Converse structured output: a JSON schema becomes
 * `outputConfig.textFormat` (API_runtime_OutputConfig.html, OutputFormat, JsonSchemaDefinition — the
 * schema travels as a JSON string). Converse has no schema-less JSON mode: `json_object` is dropped.
 */
function outputConfigOf(format: unknown): ConverseRequest['outputConfig'] {
  if (!isObject(format) || format.type === 'text' || format.type === 'json_object') return undefined;
  if (format.type !== 'json_schema')
    throw errors.invalidBody(
      `response_format.type ${JSON.stringify(format.type)} is not supported (use text, json_object or json_schema).`,
      'response_format',
    );
  const spec = isObject(format.json_schema) ? format.json_schema : {};
  if (!isObject(spec.schema))
    throw errors.invalidBody(
      'response_format.json_schema.schema must be a JSON Schema object.',
      'response_format.json_schema.schema',
    );
  const jsonSchema: { schema: string; name?: string } = { schema: JSON.stringify(spec.schema) };
  if (typeof spec.name === 'string' && spec.name) jsonSchema.name = spec.name;
  return { textFormat: { type: 'json_schema', structure: { jsonSchema } } };
}

/**
 * `reasoning_effort` for Claude on Bedrock: the Messages API's `thinking` (and adaptive thinking's
 * `output_config.effort`) travel in additionalModelRequestFields
 * (docs.aws.amazon.com/bedrock/latest/userguide/claude-messages-extended-thinking.html), under the same
 * rules as on Anthropic's API (claudeThinking). Other model families have no such field here.
 */
function addClaudeThinking(
  request: ConverseRequest,
  inference: NonNullable<ConverseRequest['inferenceConfig']>,
  effort: unknown,
  model: string,
  clientLimit: boolean,
): void {
  const choice = request.toolConfig?.toolChoice;
  const last = request.messages[request.messages.length - 1];
  const plan = claudeThinking({
    model,
    effort,
    maxTokens: inference.maxTokens ?? DEFAULT_MAX_TOKENS,
    clientLimit,
    forcesTool: choice !== undefined && !('auto' in choice),
    continuesToolCall: last?.role === 'user' && last.content.some((block) => 'toolResult' in block),
  });
  if (!plan) return;
  inference.maxTokens = plan.maxTokens;
  delete inference.temperature;
  if (inference.topP !== undefined) inference.topP = Math.max(inference.topP, 0.95);
  request.additionalModelRequestFields = {
    thinking: plan.thinking,
    ...(plan.effort ? { output_config: { effort: plan.effort } } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------
// Embeddings (InvokeModel bodies of the Bedrock user guide: model-parameters-titan-embed-text.html,
// model-parameters-embed-v3.html)

type EmbeddingSchema = 'titan' | 'cohere';

/** Model ids, optionally behind a geographic inference profile prefix such as "us.". */
const EMBEDDING_MODELS = /^(?:[a-z]{2,7}\.)?(amazon\.titan-embed|cohere\.embed)/;

function embeddingSchema(model: string): EmbeddingSchema {
  const match = EMBEDDING_MODELS.exec(model);
  if (!match) {
    throw errors.invalidBody(
      `Bedrock embeddings are supported for Titan Text Embeddings (amazon.titan-embed-…) and Cohere Embed (cohere.embed-…) model ids; "${model}" is neither.`,
      'model',
    );
  }
  return match[1] === 'cohere.embed' ? 'cohere' : 'titan';
}

function embeddingTexts(input: unknown): string[] {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.length > 0 && input.every((t) => typeof t === 'string'))
    return input as string[];
  throw errors.invalidBody('Bedrock embeddings take text input: a string or an array of strings.', 'input');
}

function embeddingsBody(body: Json, model: string): Json {
  const texts = embeddingTexts(body.input);
  if (embeddingSchema(model) === 'cohere') return { texts, input_type: 'search_document' };
  if (texts.length > 1) {
    throw errors.invalidBody(
      `Titan Text Embeddings embed one text per request; send ${texts.length} requests, or route to a Cohere Embed model for batches.`,
      'input',
    );
  }
  const titan: Json = { inputText: texts[0] };
  const dimensions = numberField(body, 'dimensions');
  if (dimensions !== undefined) titan.dimensions = dimensions;
  return titan;
}

// ---------------------------------------------------------------------------------------------------
// Responses

function parseJson(body: Buffer): Json {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw errors.badGateway(`Bedrock answered with a body that is not JSON (${(error as Error).message}).`);
  }
  if (!isObject(parsed)) throw errors.badGateway('Bedrock answered with a JSON body that is not an object.');
  return parsed;
}

function chatCompletion(body: Buffer, context: ResponseContext): Json {
  const response = parseJson(body);
  const output = isObject(response.output) ? response.output : {};
  const message = isObject(output.message) ? output.message : {};
  const blocks = Array.isArray(message.content) ? message.content : [];
  let text = '';
  let reasoning = '';
  const toolCalls: Json[] = [];
  for (const block of blocks) {
    if (!isObject(block)) continue;
    if (typeof block.text === 'string') text += block.text;
    else if (isObject(block.reasoningContent) && isObject(block.reasoningContent.reasoningText)) {
      const thought = block.reasoningContent.reasoningText.text;
      if (typeof thought === 'string') reasoning += thought;
    } else if (isObject(block.toolUse)) {
      const use = block.toolUse;
      toolCalls.push({
        id: String(use.toolUseId ?? ''),
        type: 'function',
        function: { name: String(use.name ?? ''), arguments: JSON.stringify(use.input ?? {}) },
      });
    }
    // Redacted reasoning and other blocks have no Chat Completions counterpart.
  }
  const reply: Json = {
    role: 'assistant',
    content: text || (toolCalls.length > 0 ? null : ''),
    refusal: null,
  };
  // Chat Completions has no reasoning field; `reasoning_content` is the one DeepSeek's API and vLLM use.
  if (reasoning) reply.reasoning_content = reasoning;
  if (toolCalls.length > 0) reply.tool_calls = toolCalls;
  const completion: Json = {
    id: `chatcmpl-${randomUUID().replaceAll('-', '')}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: context.model,
    choices: [
      { index: 0, message: reply, logprobs: null, finish_reason: finishReasonOf(response.stopReason) },
    ],
  };
  const usage = usageOf(response.usage);
  if (usage) completion.usage = usage;
  return completion;
}

/**
 * Embedding output as OpenAI sends it: float arrays, or base64 of little-endian float32 when the client
 * asked for `encoding_format: "base64"` (what the OpenAI SDKs ask for by default). `encodingFormat` is
 * read when the response context carries it; see the report on ResponseContext.
 */
function embeddingValue(values: unknown, base64: boolean): unknown {
  if (!Array.isArray(values)) throw errors.badGateway('Bedrock answered without an embedding vector.');
  if (!base64) return values;
  const floats = Float32Array.from(values as number[]);
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString('base64');
}

function embeddingList(body: Buffer, context: ResponseContext): Json {
  const response = parseJson(body);
  const base64 = context.encodingFormat === 'base64';
  let vectors: unknown[];
  let usage: OpenAIUsage;
  if (Array.isArray(response.embedding)) {
    // Titan: {"embedding": [...], "inputTextTokenCount": n}
    vectors = [response.embedding];
    const tokens = typeof response.inputTextTokenCount === 'number' ? response.inputTextTokenCount : 0;
    usage = { prompt_tokens: tokens, completion_tokens: 0, total_tokens: tokens };
  } else {
    // Cohere: {"embeddings": [[...]]}, or {"embeddings": {"float": [[...]]}} when embedding_types is set.
    // Its body reports no token count.
    const embeddings = response.embeddings;
    const list = Array.isArray(embeddings) ? embeddings : isObject(embeddings) ? embeddings.float : undefined;
    if (!Array.isArray(list)) throw errors.badGateway('Bedrock answered without embeddings.');
    vectors = list;
    usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  }
  return {
    object: 'list',
    data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: embeddingValue(v, base64) })),
    model: context.model,
    usage: { prompt_tokens: usage.prompt_tokens, total_tokens: usage.total_tokens },
  };
}

/** The Bedrock error name a status stands for, for bodies that carry no type (see bedrockErrorFrom). */
const EXCEPTION_BY_STATUS: ReadonlyMap<number, string> = new Map([
  [400, 'ValidationException'],
  [403, 'AccessDeniedException'],
  [404, 'ResourceNotFoundException'],
  [408, 'ModelTimeoutException'],
  [424, 'ModelErrorException'],
  [429, 'ThrottlingException'],
  [500, 'InternalServerException'],
  [503, 'ServiceUnavailableException'],
]);

/** "com.amazonaws.bedrockruntime#ThrottlingException:http://…" → "ThrottlingException". */
function sanitizeErrorType(type: string): string {
  const colon = type.indexOf(':');
  const bare = colon < 0 ? type : type.slice(0, colon);
  return bare.slice(bare.indexOf('#') + 1);
}

/**
 * A Bedrock error body, `{"message": "..."}`, to the OpenAI error object. The error's name travels in
 * the `x-amzn-errortype` header; a `__type` in the body is used when the header is absent (namespace
 * and `:url` suffix stripped, as the AWS SDKs do), else the status names it.
 */
export function bedrockErrorFrom(status: number, body: Buffer, head?: HttpHead): OpenAIErrorBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const fields = isObject(parsed) ? parsed : {};
  const header = head?.get('x-amzn-errortype');
  const typed = header
    ? sanitizeErrorType(header)
    : typeof fields.__type === 'string'
      ? sanitizeErrorType(fields.__type)
      : '';
  const name = typed || EXCEPTION_BY_STATUS.get(status);
  const message =
    typeof fields.message === 'string'
      ? fields.message
      : typeof fields.Message === 'string'
        ? fields.Message
        : `Bedrock returned HTTP ${status}${body.length > 0 ? `: ${body.toString('utf8', 0, Math.min(body.length, 512)).trim()}` : ''}`;
  if (name && EXCEPTION_STATUS[name] !== undefined) return bedrockError(name, message, status);
  return {
    error: { message, type: errorTypeForStatus(status), param: null, code: name ?? `upstream_${status}` },
  };
}

// ---------------------------------------------------------------------------------------------------

async function request(input: UpstreamRequestInput): Promise<UpstreamRequest> {
  const credential = input.credential;
  if (credential?.type !== 'AWSAccessKey') {
    throw errors.internal(
      `Bedrock backend ${input.backend.id} has no AWS access key credential; set spec.credentials with type AWSAccessKey.`,
    );
  }
  const region = input.backend.region;
  if (!region) throw errors.internal(`Bedrock backend ${input.backend.id} has no spec.region to sign for.`);
  const json = input.json();
  const model = encodeModelId(input.model);
  let path: string;
  let payload: unknown;
  if (input.operation === 'chat.completions') {
    path = `/model/${model}/${json.stream === true ? 'converse-stream' : 'converse'}`;
    payload = toConverseRequest(json, input.backend.defaults.maxTokens, input.model);
  } else if (input.operation === 'embeddings') {
    path = `/model/${model}/invoke`;
    payload = embeddingsBody(json, input.model);
  } else {
    throw errors.invalidBody('Bedrock backends serve /v1/chat/completions and /v1/embeddings.');
  }
  path = input.backend.basePath + path;
  const body = input.encode(payload);
  const signedHeaders = { 'content-type': 'application/json' };
  const auth = await signAwsRequest({
    method: 'POST',
    origin: input.backend.origin,
    path,
    headers: signedHeaders,
    body,
    region,
    service: SIGNING_SERVICE,
    credential,
  });
  // The signed `authorization` overwrites the client's (set headers overwrite); it must not also be
  // listed for removal, which Envoy applies after the sets.
  const removeHeaders = [...FOREIGN_AUTH_HEADERS];
  if (!auth.some(([name]) => name === 'x-amz-security-token')) removeHeaders.push('x-amz-security-token');
  return {
    path,
    // Responses are read here: ask for them unencoded (RFC 9110 §12.5.3, "identity").
    headers: [['content-type', signedHeaders['content-type']], ['accept-encoding', 'identity'], ...auth],
    removeHeaders,
    body,
    secrets: signatureSecrets(auth),
  };
}

export const bedrockTranslator: Translator = {
  convertsResponses: true,
  // Bedrock Runtime's request id response header
  // (docs.aws.amazon.com/nova/latest/userguide/complete-request-schema-response.html).
  requestIdHeader: 'x-amzn-requestid',
  request,
  responseHeaders: (_head, context) =>
    context.stream ? { setHeaders: [['content-type', 'text/event-stream']] } : {},
  responseBody: (body, context) =>
    Buffer.from(
      JSON.stringify(
        context.operation === 'embeddings' ? embeddingList(body, context) : chatCompletion(body, context),
      ),
    ),
  createStream: (context) => new BedrockStream(context),
  error: bedrockErrorFrom,
};
