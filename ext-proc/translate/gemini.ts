/**
 * Gemini models, through the Gemini API (generativelanguage.googleapis.com, an API key) or Vertex AI
 * (<region>-aiplatform.googleapis.com, a service account): one request and response schema, two paths
 * and two ways to authenticate.
 *
 * Protocol references:
 * - generateContent / streamGenerateContent and their bodies: ai.google.dev/api/generate-content,
 *   cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.publishers.models/generateContent
 * - function calling (functionCall / functionResponse parts, toolConfig.functionCallingConfig modes
 *   AUTO | ANY | NONE with allowedFunctionNames): ai.google.dev/gemini-api/docs/function-calling
 * - embeddings: ai.google.dev/api/embeddings#method:-models.batchembedcontents and, on Vertex AI,
 *   cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text-embeddings-api (`:predict`)
 */
import type { GcpAccessTokens } from '../credentials/gcp-access-token.ts';
import { errors } from '../errors.ts';
import { GeminiStreamTranslator } from './gemini.stream.ts';
import { type GoogleAuth, googleAuth, googleError, googleRetryAfter, vertexModelPath } from './google-api.ts';
import type { FinishReason, OpenAIUsage } from './openai-stream.ts';
import type { ResponseContext, Translator, UpstreamRequest, UpstreamRequestInput } from './translator.ts';

export type GoogleApi = 'Gemini' | 'VertexAI';

// ---------------------------------------------------------------------------------------------------
// The Gemini schema (the subset this gateway writes and reads).

export interface GeminiPart {
  text?: string;
  /**
   * A summary of the model's thinking, sent only when `thinkingConfig.includeThoughts` asks for it
   * (ai.google.dev/gemini-api/docs/thinking#summaries): returned as `reasoning_content`, never as content.
   */
  thought?: boolean;
  thoughtSignature?: string;
  inlineData?: { mimeType: string; data: string };
  fileData?: { mimeType: string; fileUri: string };
  functionCall?: { name: string; args?: Record<string, unknown> };
  functionResponse?: { name: string; response: Record<string, unknown> };
}

export interface GeminiContent {
  role: 'user' | 'model';
  parts: GeminiPart[];
}

export interface GeminiFunctionDeclaration {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
}

export interface GenerationConfig {
  temperature?: number;
  topP?: number;
  topK?: number;
  maxOutputTokens?: number;
  stopSequences?: string[];
  candidateCount?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  seed?: number;
  responseMimeType?: string;
  responseSchema?: Record<string, unknown>;
  thinkingConfig?: {
    thinkingBudget?: number;
    thinkingLevel?: 'minimal' | 'low' | 'medium' | 'high';
    includeThoughts?: boolean;
  };
}

export interface FunctionCallingConfig {
  mode: 'AUTO' | 'ANY' | 'NONE';
  allowedFunctionNames?: string[];
}

export interface GenerateContentRequest {
  contents: GeminiContent[];
  systemInstruction?: { parts: { text: string }[] };
  generationConfig?: GenerationConfig;
  tools?: { functionDeclarations: GeminiFunctionDeclaration[] }[];
  toolConfig?: { functionCallingConfig: FunctionCallingConfig };
}

export interface GeminiUsageMetadata {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  totalTokenCount?: number;
  cachedContentTokenCount?: number;
  thoughtsTokenCount?: number;
  toolUsePromptTokenCount?: number;
}

export interface GeminiCandidate {
  index?: number;
  content?: { role?: string; parts?: GeminiPart[] };
  finishReason?: string;
}

export interface GenerateContentResponse {
  candidates?: GeminiCandidate[];
  promptFeedback?: { blockReason?: string };
  usageMetadata?: GeminiUsageMetadata;
  modelVersion?: string;
  responseId?: string;
  /** Vertex AI only: RFC 3339 time the response was created. */
  createTime?: string;
}

// ---------------------------------------------------------------------------------------------------
// Request: OpenAI chat.completions body → GenerateContentRequest.

export interface GeminiRequestOptions {
  /** Provider model id: decides whether tool-call replays need a thought-signature sentinel. */
  model: string;
  /** The backend's default max tokens, used when the request names none. */
  maxTokens?: number;
}

type Message = Record<string, unknown>;

export function toGeminiRequest(
  body: Record<string, unknown>,
  options: GeminiRequestOptions,
): GenerateContentRequest {
  const messages = body.messages;
  if (!Array.isArray(messages)) throw errors.invalidBody('"messages" must be an array.', 'messages');
  const system: { text: string }[] = [];
  const contents: GeminiContent[] = [];
  const callNames = new Map<string, string>();
  const push = (role: GeminiContent['role'], parts: GeminiPart[]) => {
    if (parts.length === 0) return;
    // Gemini expects alternating turns; parallel function responses must share one turn.
    const last = contents[contents.length - 1];
    if (last?.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };
  messages.forEach((raw, i) => {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw))
      throw errors.invalidBody(`messages[${i}] must be an object.`, `messages[${i}]`);
    const m = raw as Message;
    switch (m.role) {
      case 'system':
      case 'developer': {
        const text = textOf(m.content, `messages[${i}].content`);
        if (text) system.push({ text });
        break;
      }
      case 'user':
        push('user', userParts(m.content, i));
        break;
      case 'assistant':
        push('model', assistantParts(m, i, callNames));
        break;
      case 'tool':
      case 'function': {
        const id = typeof m.tool_call_id === 'string' ? m.tool_call_id : undefined;
        const name =
          (id !== undefined ? callNames.get(id) : undefined) ??
          (typeof m.name === 'string' ? m.name : undefined);
        if (!name)
          throw errors.invalidBody(
            `messages[${i}] answers tool call "${id}", which no earlier assistant message made.`,
            `messages[${i}].tool_call_id`,
          );
        const content = textOf(m.content, `messages[${i}].content`);
        push('user', [{ functionResponse: { name, response: { content } } }]);
        break;
      }
      default:
        throw errors.invalidBody(
          m.role === undefined
            ? `messages[${i}] has no role; Gemini backends take system, developer, user, assistant or tool.`
            : `messages[${i}].role ${JSON.stringify(m.role)} is not supported (use system, developer, user, assistant or tool).`,
          `messages[${i}].role`,
        );
    }
  });
  if (contents.length === 0)
    throw errors.invalidBody('"messages" must contain at least one user or assistant message.', 'messages');
  if (needsSignatureSentinel(options.model)) addSignatureSentinels(contents);

  const request: GenerateContentRequest = { contents };
  if (system.length > 0) request.systemInstruction = { parts: system };
  const config = generationConfig(body, options);
  if (Object.keys(config).length > 0) request.generationConfig = config;
  const declarations = functionDeclarations(body.tools);
  if (declarations.length > 0) {
    request.tools = [{ functionDeclarations: declarations }];
    const toolConfig = functionCallingConfig(body.tool_choice);
    if (toolConfig) request.toolConfig = { functionCallingConfig: toolConfig };
  }
  return request;
}

function textOf(content: unknown, param: string): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    let text = '';
    for (const part of content) {
      const p = part as { type?: unknown; text?: unknown; refusal?: unknown };
      if (typeof p?.text === 'string') text += p.text;
      else if (typeof p?.refusal === 'string') text += p.refusal;
    }
    return text;
  }
  throw errors.invalidBody('Message content must be a string or an array of content parts.', param);
}

function userParts(content: unknown, i: number): GeminiPart[] {
  if (typeof content === 'string') return content ? [{ text: content }] : [];
  if (!Array.isArray(content))
    throw errors.invalidBody(
      'User content must be a string or an array of content parts.',
      `messages[${i}].content`,
    );
  const parts: GeminiPart[] = [];
  content.forEach((raw, j) => {
    const param = `messages[${i}].content[${j}]`;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw))
      throw errors.invalidBody(
        `${param} must be a content part object, e.g. {"type": "text", "text": "…"}.`,
        param,
      );
    const part = userPart(raw as Record<string, unknown>, param);
    // Google rejects empty text parts.
    if (part.text !== '') parts.push(part);
  });
  return parts;
}

function userPart(part: Record<string, unknown>, param: string): GeminiPart {
  switch (part.type) {
    case 'text':
      return { text: typeof part.text === 'string' ? part.text : '' };
    case 'image_url': {
      const image = part.image_url as { url?: unknown } | string | undefined;
      const url = typeof image === 'string' ? image : image?.url;
      if (typeof url !== 'string') throw errors.invalidBody('image_url.url must be a string.', param);
      return mediaPart(url, param);
    }
    case 'input_audio': {
      const audio = part.input_audio as { data?: unknown; format?: unknown } | undefined;
      if (typeof audio?.data !== 'string')
        throw errors.invalidBody('input_audio.data must be base64.', param);
      const format = audio.format === 'mp3' ? 'mp3' : 'wav';
      return { inlineData: { mimeType: `audio/${format}`, data: audio.data } };
    }
    case 'file': {
      const file = part.file as { file_data?: unknown } | undefined;
      if (typeof file?.file_data !== 'string' || !file.file_data.startsWith('data:'))
        throw errors.invalidBody(
          'Gemini backends take files as file.file_data data URLs, not file ids.',
          param,
        );
      return mediaPart(file.file_data, param);
    }
    default:
      throw errors.invalidBody(
        part.type === undefined
          ? `${param} has no type; Gemini backends take text, image_url, input_audio and file parts.`
          : `Content part type ${JSON.stringify(part.type)} is not supported.`,
        param,
      );
  }
}

/** A data URL becomes inline bytes; any other URL a file reference, its type guessed from the extension. */
function mediaPart(url: string, param: string): GeminiPart {
  if (url.startsWith('data:')) {
    const comma = url.indexOf(',');
    if (comma < 0) throw errors.invalidBody('The data URL has no data.', param);
    const meta = url.slice(5, comma).split(';');
    const mimeType = meta[0] || 'application/octet-stream';
    const payload = url.slice(comma + 1);
    const data = meta.includes('base64')
      ? payload
      : Buffer.from(decodeURIComponent(payload)).toString('base64');
    return { inlineData: { mimeType, data } };
  }
  return { fileData: { mimeType: mimeTypeOf(url), fileUri: url } };
}

const MIME_BY_EXTENSION: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  heic: 'image/heic',
  heif: 'image/heif',
  pdf: 'application/pdf',
  txt: 'text/plain',
  mp3: 'audio/mp3',
  wav: 'audio/wav',
  flac: 'audio/flac',
  mp4: 'video/mp4',
  mov: 'video/mov',
  webm: 'video/webm',
};

function mimeTypeOf(url: string): string {
  let path = url;
  try {
    path = new URL(url).pathname;
  } catch {}
  const dot = path.lastIndexOf('.');
  const extension = dot < 0 ? '' : path.slice(dot + 1).toLowerCase();
  return MIME_BY_EXTENSION[extension] ?? 'image/jpeg';
}

function assistantParts(m: Message, i: number, callNames: Map<string, string>): GeminiPart[] {
  const parts: GeminiPart[] = [];
  const text = textOf(m.content, `messages[${i}].content`);
  if (text) parts.push({ text });
  const calls = m.tool_calls;
  if (Array.isArray(calls)) {
    calls.forEach((raw, j) => {
      const param = `messages[${i}].tool_calls[${j}]`;
      const call = (raw ?? {}) as { id?: unknown; function?: { name?: unknown; arguments?: unknown } };
      const name = call.function?.name;
      if (typeof name !== 'string' || !name)
        throw errors.invalidBody('A tool call must name its function.', param);
      if (typeof call.id === 'string') callNames.set(call.id, name);
      parts.push({
        functionCall: { name, args: argumentsOf(call.function?.arguments, `${param}.function.arguments`) },
      });
    });
  }
  return parts;
}

function argumentsOf(raw: unknown, param: string): Record<string, unknown> {
  if (raw === undefined || raw === null || raw === '') return {};
  let parsed: unknown = raw;
  if (typeof raw === 'string') {
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw errors.invalidBody('Tool call arguments must be a JSON object.', param);
    }
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw errors.invalidBody('Tool call arguments must be a JSON object.', param);
  return parsed as Record<string, unknown>;
}

/**
 * Gemini 3 models reject replayed function calls without the thought signature they were issued with
 * (ai.google.dev/gemini-api/docs/thought-signatures). The OpenAI format cannot carry it back, so the
 * first function call of each model turn carries the validator-skip value Google documents for
 * histories that were not produced with signatures.
 */
const SIGNATURE_SENTINEL = 'skip_thought_signature_validator';

/** The major version of a Gemini model id ("gemini-2.5-flash" → 2), if it names one. */
function geminiGeneration(model: string): number | undefined {
  const match = /(?:^|\/)gemini-(\d+)/.exec(model);
  return match ? Number(match[1]) : undefined;
}

function needsSignatureSentinel(model: string): boolean {
  return (geminiGeneration(model) ?? 0) >= 3;
}

/**
 * OpenAI `reasoning_effort` as Gemini thinking. Gemini 2.5 takes a token budget; Google's own OpenAI
 * compatibility maps low, medium and high to 1,024, 8,192 and 24,576 and "none" to 0, which turns
 * thinking off (ai.google.dev/gemini-api/docs/openai, "Thinking"). Gemini 3 takes a thinking level
 * instead, and refuses a budget and a level together (ai.google.dev/gemini-api/docs/thinking).
 * A model id without a version (an alias such as gemini-flash-latest, a tuned model) gets neither:
 * the model's default stands.
 *
 * A client that asks for reasoning also gets to see it: `includeThoughts: true` makes Gemini return
 * thought summaries as parts marked `thought: true` (ThinkingConfig.includeThoughts, "thoughts are
 * returned only if the model supports thought and thoughts are available", so it is safe on an
 * unversioned id too). Not where the effort turns thinking off ("none", or a budget of 0).
 */
const THINKING_BUDGETS: Readonly<Record<string, number>> = {
  none: 0,
  minimal: 0,
  low: 1024,
  medium: 8192,
  high: 24_576,
  xhigh: 24_576,
};
/**
 * Gemini 2.5 Pro cannot turn thinking off: its budget is 128–32,768 tokens (ai.google.dev/gemini-api/docs/thinking,
 * "Set budgets"), so a budget of 0 is refused. "none" and "minimal" get its smallest budget there.
 */
const MIN_PRO_THINKING_BUDGET = 128;

const THINKING_LEVELS: Readonly<Record<string, 'minimal' | 'low' | 'medium' | 'high'>> = {
  none: 'minimal',
  minimal: 'minimal',
  low: 'low',
  medium: 'medium',
  high: 'high',
  xhigh: 'high',
};

function thinkingConfig(effort: unknown, model: string): GenerationConfig['thinkingConfig'] {
  if (typeof effort !== 'string' || THINKING_BUDGETS[effort] === undefined) return undefined;
  const generation = geminiGeneration(model);
  const thoughts = effort !== 'none';
  if (generation === undefined) return thoughts ? { includeThoughts: true } : undefined;
  // Gemini 1.x does not think.
  if (generation < 2) return undefined;
  if (generation >= 3) {
    const thinkingLevel = THINKING_LEVELS[effort]!;
    return thoughts ? { thinkingLevel, includeThoughts: true } : { thinkingLevel };
  }
  let thinkingBudget = THINKING_BUDGETS[effort]!;
  if (thinkingBudget === 0 && /(?:^|\/)gemini-2\.5-pro/.test(model)) thinkingBudget = MIN_PRO_THINKING_BUDGET;
  return thinkingBudget > 0 && thoughts ? { thinkingBudget, includeThoughts: true } : { thinkingBudget };
}

function addSignatureSentinels(contents: GeminiContent[]): void {
  for (const content of contents) {
    if (content.role !== 'model') continue;
    const first = content.parts.find((p) => p.functionCall);
    if (first && !first.thoughtSignature) first.thoughtSignature = SIGNATURE_SENTINEL;
  }
}

function generationConfig(body: Record<string, unknown>, options: GeminiRequestOptions): GenerationConfig {
  const config: GenerationConfig = {};
  if (typeof body.temperature === 'number') config.temperature = body.temperature;
  if (typeof body.top_p === 'number') config.topP = body.top_p;
  // `top_k` is not OpenAI's but vLLM's extension, which Anthropic and Responses clients reach Gemini with
  // (via-chat.ts ChatTarget); GenerationConfig.topK (ai.google.dev/api/generate-content#generationconfig).
  if (typeof body.top_k === 'number') config.topK = body.top_k;
  const max =
    typeof body.max_completion_tokens === 'number'
      ? body.max_completion_tokens
      : typeof body.max_tokens === 'number'
        ? body.max_tokens
        : options.maxTokens;
  if (max !== undefined) config.maxOutputTokens = max;
  if (typeof body.stop === 'string') config.stopSequences = [body.stop];
  else if (Array.isArray(body.stop) && body.stop.length > 0)
    config.stopSequences = body.stop.filter((s): s is string => typeof s === 'string');
  if (typeof body.n === 'number' && body.n > 1) {
    // The OpenAI chunk stream of this gateway carries one choice.
    if (body.stream === true)
      throw errors.invalidBody('"n" greater than 1 cannot be streamed from Gemini.', 'n');
    config.candidateCount = body.n;
  }
  if (typeof body.presence_penalty === 'number') config.presencePenalty = body.presence_penalty;
  if (typeof body.frequency_penalty === 'number') config.frequencyPenalty = body.frequency_penalty;
  if (typeof body.seed === 'number') config.seed = body.seed;
  const thinking = thinkingConfig(body.reasoning_effort, options.model);
  if (thinking) config.thinkingConfig = thinking;
  const format = body.response_format as { type?: unknown; json_schema?: { schema?: unknown } } | undefined;
  if (format?.type === 'json_object' || format?.type === 'json_schema') {
    config.responseMimeType = 'application/json';
    const schema = format.json_schema?.schema;
    if (format.type === 'json_schema' && schema && typeof schema === 'object')
      config.responseSchema = toGeminiSchema(schema as Record<string, unknown>);
  }
  return config;
}

function functionDeclarations(tools: unknown): GeminiFunctionDeclaration[] {
  if (!Array.isArray(tools)) return [];
  const declarations: GeminiFunctionDeclaration[] = [];
  tools.forEach((raw, i) => {
    const tool = (raw ?? {}) as { type?: unknown; function?: Record<string, unknown> };
    if (tool.type !== 'function') return;
    const fn = tool.function;
    if (typeof fn?.name !== 'string')
      throw errors.invalidBody('A function tool must have a name.', `tools[${i}]`);
    const declaration: GeminiFunctionDeclaration = { name: fn.name };
    if (typeof fn.description === 'string') declaration.description = fn.description;
    const parameters = fn.parameters as Record<string, unknown> | undefined;
    // A function without parameters leaves them unset: Gemini rejects an OBJECT without properties.
    const properties = parameters?.properties as Record<string, unknown> | undefined;
    if (parameters && properties && Object.keys(properties).length > 0)
      declaration.parameters = toGeminiSchema(parameters);
    declarations.push(declaration);
  });
  return declarations;
}

function functionCallingConfig(choice: unknown): FunctionCallingConfig | undefined {
  if (choice === 'auto') return { mode: 'AUTO' };
  if (choice === 'none') return { mode: 'NONE' };
  if (choice === 'required') return { mode: 'ANY' };
  const name = (choice as { function?: { name?: unknown } } | undefined)?.function?.name;
  if (typeof name === 'string') return { mode: 'ANY', allowedFunctionNames: [name] };
  return undefined;
}

/**
 * Gemini's Schema is a subset of OpenAPI 3.0 (ai.google.dev/api/caching#Schema): JSON Schema keys it does
 * not know (`additionalProperties`, `$schema`, `strict`, …) are rejected, so only known keys are kept,
 * types are upper-cased as its Type enum spells them, and `["string", "null"]` becomes `nullable`.
 */
const SCHEMA_KEYS = new Set([
  'title',
  'description',
  'nullable',
  'enum',
  'maxItems',
  'minItems',
  'required',
  'minProperties',
  'maxProperties',
  'minLength',
  'maxLength',
  'pattern',
  'example',
  'default',
  'minimum',
  'maximum',
  'propertyOrdering',
]);

const SCHEMA_FORMATS: Record<string, ReadonlySet<string>> = {
  STRING: new Set(['enum', 'date-time']),
  NUMBER: new Set(['float', 'double']),
  INTEGER: new Set(['int32', 'int64']),
};

export function toGeminiSchema(schema: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let type = schema.type;
  if (Array.isArray(type)) {
    const types = type.filter((t) => t !== 'null');
    if (types.length < type.length) out.nullable = true;
    type = types[0];
  }
  if (typeof type === 'string') out.type = type.toUpperCase();
  for (const [key, value] of Object.entries(schema)) {
    if (SCHEMA_KEYS.has(key)) out[key] = value;
  }
  // Formats beyond the few Schema lists ("enum" and "date-time" for STRING, …) are refused.
  if (typeof schema.format === 'string' && SCHEMA_FORMATS[out.type as string]?.has(schema.format)) {
    out.format = schema.format;
  }
  if (schema.const !== undefined && out.enum === undefined) out.enum = [schema.const];
  if (schema.properties && typeof schema.properties === 'object') {
    const properties: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(schema.properties as Record<string, unknown>))
      if (value && typeof value === 'object')
        properties[name] = toGeminiSchema(value as Record<string, unknown>);
    out.properties = properties;
  }
  if (schema.items && typeof schema.items === 'object' && !Array.isArray(schema.items))
    out.items = toGeminiSchema(schema.items as Record<string, unknown>);
  const union = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(union))
    out.anyOf = union.filter((s) => s && typeof s === 'object').map((s) => toGeminiSchema(s));
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Response: GenerateContentResponse → chat.completion.

/**
 * Candidate.FinishReason (ai.google.dev/api/generate-content#FinishReason). Output withheld by a filter
 * is `content_filter`; malformed or unexpected tool calls and OTHER end the answer like STOP.
 */
const FILTERED = new Set([
  'SAFETY',
  'RECITATION',
  'BLOCKLIST',
  'PROHIBITED_CONTENT',
  'SPII',
  'IMAGE_SAFETY',
  'IMAGE_PROHIBITED_CONTENT',
  'IMAGE_RECITATION',
]);

export function finishReasonOf(reason: string | undefined, calledTools: boolean): FinishReason {
  if (reason === 'MAX_TOKENS') return 'length';
  if (reason !== undefined && FILTERED.has(reason)) return 'content_filter';
  return calledTools ? 'tool_calls' : 'stop';
}

/** What a client sees when Gemini blocked the prompt itself (promptFeedback.blockReason, no candidates). */
export function blockedPromptRefusal(blockReason: string): string {
  return `Gemini declined to answer: the prompt was blocked (blockReason ${blockReason}).`;
}

export function usageOf(metadata: GeminiUsageMetadata): OpenAIUsage & {
  completion_tokens_details?: { reasoning_tokens: number };
} {
  // Thinking tokens are billed as output, as OpenAI counts reasoning tokens in completion_tokens.
  const prompt = (metadata.promptTokenCount ?? 0) + (metadata.toolUsePromptTokenCount ?? 0);
  const completion = (metadata.candidatesTokenCount ?? 0) + (metadata.thoughtsTokenCount ?? 0);
  const usage: OpenAIUsage & { completion_tokens_details?: { reasoning_tokens: number } } = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: metadata.totalTokenCount ?? prompt + completion,
  };
  if (metadata.cachedContentTokenCount !== undefined)
    usage.prompt_tokens_details = { cached_tokens: metadata.cachedContentTokenCount };
  if (metadata.thoughtsTokenCount !== undefined)
    usage.completion_tokens_details = { reasoning_tokens: metadata.thoughtsTokenCount };
  return usage;
}

/** Tool call ids: unique per response when Google gives it an id, and the same for the same response. */
export function toolCallId(responseId: string | undefined, n: number): string {
  return responseId ? `call_${responseId}_${n}` : `call_${n}`;
}

export function completionIdOf(response: GenerateContentResponse): string | undefined {
  return typeof response.responseId === 'string' && response.responseId
    ? `chatcmpl-${response.responseId}`
    : undefined;
}

export function createdOf(response: GenerateContentResponse): number | undefined {
  const time = typeof response.createTime === 'string' ? Date.parse(response.createTime) : Number.NaN;
  return Number.isFinite(time) ? Math.floor(time / 1000) : undefined;
}

/**
 * The model that answered: the response's `modelVersion` (ai.google.dev/api/generate-content#GenerateContentResponse,
 * "the model version used to generate the response", e.g. a dated snapshot behind an alias), as OpenAI
 * reports the snapshot in `model`; the requested model when Google names none.
 */
export function responseModelOf(response: GenerateContentResponse, requested: string): string {
  const version = response.modelVersion;
  return typeof version === 'string' && version !== '' && version.length <= 256 ? version : requested;
}

export interface CompletionIds {
  id?: string;
  created?: number;
}

export function fromGeminiResponse(
  response: GenerateContentResponse,
  context: Pick<ResponseContext, 'model'>,
  ids: CompletionIds = {},
): Record<string, unknown> {
  const candidates = Array.isArray(response.candidates) ? response.candidates : [];
  let calls = 0;
  const choices = candidates.map((candidate, i) => {
    let text = '';
    let reasoning = '';
    const toolCalls: Record<string, unknown>[] = [];
    for (const part of candidate.content?.parts ?? []) {
      if (part.thought) {
        if (typeof part.text === 'string') reasoning += part.text;
        continue;
      }
      if (typeof part.text === 'string') text += part.text;
      if (part.functionCall) {
        toolCalls.push({
          id: toolCallId(response.responseId, calls++),
          type: 'function',
          function: { name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) },
        });
      }
    }
    const message: Record<string, unknown> = {
      role: 'assistant',
      content: toolCalls.length > 0 && text === '' ? null : text,
      refusal: null,
    };
    // Chat Completions has no reasoning field; `reasoning_content` is the one DeepSeek's API and vLLM
    // use, as the Anthropic and Bedrock translators return thinking.
    if (reasoning) message.reasoning_content = reasoning;
    if (toolCalls.length > 0) message.tool_calls = toolCalls;
    return {
      index: typeof candidate.index === 'number' ? candidate.index : i,
      message,
      logprobs: null,
      finish_reason: finishReasonOf(candidate.finishReason, toolCalls.length > 0),
    };
  });
  const blockReason = response.promptFeedback?.blockReason;
  if (choices.length === 0 && blockReason) {
    // A blocked prompt is an answer (HTTP 200), as Google sends it: an empty, filtered completion whose
    // refusal says why, the same in a stream where the status has already been sent.
    choices.push({
      index: 0,
      message: { role: 'assistant', content: null, refusal: blockedPromptRefusal(blockReason) },
      logprobs: null,
      finish_reason: 'content_filter',
    });
  }
  if (choices.length === 0) throw errors.badGateway('Gemini answered without candidates');
  const completion: Record<string, unknown> = {
    id: ids.id ?? completionIdOf(response) ?? `chatcmpl-${Math.random().toString(36).slice(2)}`,
    object: 'chat.completion',
    created: ids.created ?? createdOf(response) ?? Math.floor(Date.now() / 1000),
    model: responseModelOf(response, context.model),
    choices,
  };
  // Last, where the gateway's usage reader looks for it.
  if (response.usageMetadata) completion.usage = usageOf(response.usageMetadata);
  return completion;
}

// ---------------------------------------------------------------------------------------------------
// Embeddings.

/** The OpenAI `input` as texts; token-id arrays have no Gemini equivalent. */
function embeddingInputs(body: Record<string, unknown>): string[] {
  const input = body.input;
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.length > 0 && input.every((s) => typeof s === 'string')) return input;
  throw errors.invalidBody(
    '"input" must be a string or an array of strings for Gemini embedding models.',
    'input',
  );
}

export function toGeminiEmbeddingRequest(
  body: Record<string, unknown>,
  model: string,
): Record<string, unknown> {
  const dimensions = typeof body.dimensions === 'number' ? body.dimensions : undefined;
  return {
    requests: embeddingInputs(body).map((text) => {
      const request: Record<string, unknown> = {
        model: modelResource(model),
        content: { parts: [{ text }] },
      };
      if (dimensions !== undefined) request.outputDimensionality = dimensions;
      return request;
    }),
  };
}

export function toVertexEmbeddingRequest(body: Record<string, unknown>): Record<string, unknown> {
  const request: Record<string, unknown> = {
    instances: embeddingInputs(body).map((content) => ({ content })),
  };
  if (typeof body.dimensions === 'number') request.parameters = { outputDimensionality: body.dimensions };
  return request;
}

/**
 * Either embeddings answer — the Gemini API's `{embeddings: [{values}]}` or Vertex AI's
 * `{predictions: [{embeddings: {values, statistics: {token_count}}}]}` — as an OpenAI embedding list.
 * `base64` packs each vector as little-endian float32, as the OpenAI API does.
 */
export function fromGoogleEmbeddings(
  json: Record<string, unknown>,
  model: string,
  encodingFormat: 'float' | 'base64' = 'float',
): Record<string, unknown> {
  let vectors: unknown[];
  let tokens = 0;
  if (Array.isArray(json.embeddings)) {
    vectors = json.embeddings.map((e) => (e as { values?: unknown }).values);
    const usage = json.usageMetadata as GeminiUsageMetadata | undefined;
    tokens = usage?.promptTokenCount ?? 0;
  } else if (Array.isArray(json.predictions)) {
    vectors = json.predictions.map((p) => {
      const embeddings = (p as { embeddings?: { values?: unknown; statistics?: { token_count?: unknown } } })
        .embeddings;
      const count = embeddings?.statistics?.token_count;
      if (typeof count === 'number') tokens += count;
      return embeddings?.values;
    });
  } else {
    throw errors.badGateway('the embeddings answer has neither "embeddings" nor "predictions"');
  }
  const data = vectors.map((values, index) => {
    if (!Array.isArray(values)) throw errors.badGateway(`embedding ${index} has no values`);
    const embedding =
      encodingFormat === 'base64'
        ? Buffer.from(new Float32Array(values as number[]).buffer).toString('base64')
        : values;
    return { object: 'embedding', index, embedding };
  });
  return { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } };
}

// ---------------------------------------------------------------------------------------------------
// The translator.

/** `models/<id>` for the Gemini API; a tuned model's resource name stays as it is. */
function modelResource(model: string): string {
  return model.includes('/') ? model : `models/${model}`;
}

function geminiApiPath(input: UpstreamRequestInput, method: string): string {
  const version = input.backend.apiVersion ?? 'v1beta';
  return `${input.backend.basePath}/${version}/${modelResource(input.model)}:${method}`;
}

/** streamGenerateContent answers SSE only with alt=sse; without it, one JSON array at the end. */
const METHODS = {
  chat: 'generateContent',
  stream: 'streamGenerateContent?alt=sse',
  Gemini: { embeddings: 'batchEmbedContents' },
  VertexAI: { embeddings: 'predict' },
} as const;

/** The client's encoding_format, when the response context carries it. */
type EmbeddingContext = ResponseContext & { encodingFormat?: 'float' | 'base64' };

export function geminiTranslator(api: GoogleApi, tokens?: GcpAccessTokens): Translator {
  const label = api === 'Gemini' ? 'Gemini API' : 'Vertex AI';
  const path = (input: UpstreamRequestInput, method: string) =>
    api === 'Gemini'
      ? geminiApiPath(input, method)
      : vertexModelPath(input.backend, 'google', input.model, method);

  return {
    convertsResponses: true,
    request(input: UpstreamRequestInput): UpstreamRequest | Promise<UpstreamRequest> {
      const json = input.json();
      let upstreamPath: string;
      let body: unknown;
      if (input.operation === 'embeddings') {
        upstreamPath = path(input, METHODS[api].embeddings);
        body =
          api === 'Gemini' ? toGeminiEmbeddingRequest(json, input.model) : toVertexEmbeddingRequest(json);
      } else if (input.operation === 'chat.completions') {
        upstreamPath = path(input, json.stream === true ? METHODS.stream : METHODS.chat);
        const options: GeminiRequestOptions = { model: input.model };
        if (input.backend.defaults.maxTokens !== undefined)
          options.maxTokens = input.backend.defaults.maxTokens;
        body = toGeminiRequest(json, options);
      } else {
        throw errors.invalidBody(
          `${label} backends serve /v1/chat/completions and /v1/embeddings, not legacy completions.`,
        );
      }
      const bytes = input.encode(body);
      const auth = googleAuth(input.credential, tokens);
      const build = (a: GoogleAuth): UpstreamRequest => ({
        path: upstreamPath,
        headers: a.headers,
        removeHeaders: a.removeHeaders,
        body: bytes,
        secrets: a.secrets,
      });
      return auth instanceof Promise ? auth.then(build) : build(auth);
    },
    responseHeaders: (_head, context) =>
      context.stream ? { setHeaders: [['content-type', 'text/event-stream']] } : {},
    responseBody(body: Buffer, context: ResponseContext): Buffer {
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      } catch {
        throw errors.badGateway(`${label} answered with a body that is not JSON`);
      }
      if (context.operation === 'embeddings') {
        const format = (context as EmbeddingContext).encodingFormat;
        return Buffer.from(JSON.stringify(fromGoogleEmbeddings(json, context.model, format)));
      }
      return Buffer.from(JSON.stringify(fromGeminiResponse(json as GenerateContentResponse, context)));
    },
    createStream: (context) => new GeminiStreamTranslator(context),
    error: (status, body) => googleError(status, body, label),
    retryAfter: googleRetryAfter,
  };
}
