/**
 * The one extension point for providers: a Translator turns an OpenAI-format request into the
 * provider's request for one attempt, and the provider's response back into the OpenAI format,
 * buffered or streamed. Translators are pure with respect to the network — bytes and parsed JSON in,
 * bytes and headers out — except for credentials that must be minted (a cached OAuth token), which is
 * why `request` may return a promise. One module per provider schema, registered in registry.ts.
 */
import type { Credential } from '../../config/credentials.ts';
import type { CompiledBackend } from '../../config/snapshot.ts';
import type { OpenAIErrorBody } from '../errors.ts';
import { type RequestJson, type RequestJsonOptions, requestJson } from '../json/request-json.ts';
import type { HttpHead } from '../phases.ts';

/**
 * The operations the gateway serves, keyed by the client's path: OpenAI's Chat Completions,
 * Completions, Embeddings and Responses APIs, and Anthropic's Messages API with its token counter
 * (platform.claude.com/docs/en/api/messages, …/api/messages-count-tokens).
 */
export type Operation =
  | 'chat.completions'
  | 'completions'
  | 'embeddings'
  | 'responses'
  | 'messages'
  | 'messages.count_tokens';

export const OPERATION_BY_PATH: ReadonlyMap<string, Operation> = new Map([
  ['/v1/chat/completions', 'chat.completions'],
  ['/v1/completions', 'completions'],
  ['/v1/embeddings', 'embeddings'],
  ['/v1/responses', 'responses'],
  ['/v1/messages', 'messages'],
  ['/v1/messages/count_tokens', 'messages.count_tokens'],
]);

/**
 * The API a client speaks, the first dimension of a translator (client schema × provider schema,
 * registry.ts): it decides the shape of the request, of the answer and of errors.
 */
export type ClientSchema = 'OpenAIChat' | 'OpenAIResponses' | 'AnthropicMessages';

export const CLIENT_SCHEMA: Readonly<Record<Operation, ClientSchema>> = {
  'chat.completions': 'OpenAIChat',
  completions: 'OpenAIChat',
  embeddings: 'OpenAIChat',
  responses: 'OpenAIResponses',
  messages: 'AnthropicMessages',
  'messages.count_tokens': 'AnthropicMessages',
};

export interface UpstreamRequestInput {
  operation: Operation;
  /** The client's JSON body as received; the router-level phase validated it (an object, string `model`). */
  raw: Buffer;
  /** The body parsed, on first call: translators that restructure the body need it, others never pay. */
  json(): Record<string, unknown>;
  /**
   * The JSON bytes of a provider body built from `json()`. Always this, never JSON.stringify: in a large
   * body, long content strings are stand-ins for the client's bytes (ext-proc/json/stand-ins.ts).
   */
  encode(body: unknown): Buffer;
  backend: CompiledBackend;
  /** Provider model id to send (modelNameOverride applied). */
  model: string;
  /** Credential for this attempt: the caller's own (bring-your-own-key) or the backend's. */
  credential: Credential | undefined;
  /**
   * The request's headers as this attempt received them, for translators that move one into the body
   * (Bedrock takes Anthropic's `anthropic-beta` header as the body's `anthropic_beta`).
   */
  headers?: HttpHead;
}

export interface UpstreamRequest {
  /** `:path` for the provider, query included. */
  path: string;
  /** Headers to set (lower-case names), e.g. the provider's auth and version headers. */
  headers: readonly (readonly [string, string])[];
  /** Headers the provider must not see (e.g. another provider's auth header). */
  removeHeaders: readonly string[];
  body: Buffer;
  /**
   * Credential material this request carries beyond `input.credential`'s own: a minted access token,
   * a request signature. The per-attempt phase redacts it, with the credential's, from what the
   * provider answers (ext-proc/credentials/secret-matcher.ts).
   */
  secrets?: readonly string[];
}

/** What response conversion needs to know about the request it answers. */
export interface ResponseContext {
  operation: Operation;
  /** The provider model id, reported as `model` where the provider's response has none. */
  model: string;
  stream: boolean;
  /**
   * Send a final usage chunk (as `stream_options.include_usage` asks). The per-attempt phase always
   * sets it; the router-level phase strips the chunk for clients that did not ask.
   */
  includeUsage: boolean;
  /** Embeddings: the client's `encoding_format` (the OpenAI SDKs ask for base64 by default). */
  encodingFormat?: 'float' | 'base64';
}

/** Streaming conversion for one response; `undefined` means "forward the chunk unchanged". */
export interface StreamTranslator {
  chunk(data: Buffer, endOfStream: boolean): Buffer | undefined;
}

export interface HeaderChanges {
  setHeaders?: readonly (readonly [string, string])[];
  removeHeaders?: readonly string[];
}

export interface Translator {
  request(input: UpstreamRequestInput): UpstreamRequest | Promise<UpstreamRequest>;
  /** Whether successful responses need conversion at all (false: the gateway never reads the body). */
  readonly convertsResponses: boolean;
  /** Header carrying the provider's request id, passed to the client as x-agent-router-provider-request-id. */
  readonly requestIdHeader?: string;
  /** Header changes for a successful response, e.g. the content type of a converted stream. */
  responseHeaders?(head: HttpHead, context: ResponseContext): HeaderChanges;
  /** Converts a buffered successful response body to the OpenAI shape; `head` holds the provider's headers. */
  responseBody(body: Buffer, context: ResponseContext, head?: HttpHead): Buffer;
  createStream(context: ResponseContext): StreamTranslator;
  /** Normalises the provider's error (any body, maybe not JSON; its headers in `head`) to the OpenAI error object. */
  error(status: number, body: Buffer, head?: HttpHead): OpenAIErrorBody;
  /**
   * Seconds the provider's error *body* asks the client to wait, for providers that say it there
   * rather than in a `retry-after` header (which is passed on as it is).
   */
  retryAfter?(body: Buffer): number | undefined;
}

/** The body fields of an UpstreamRequestInput for the client's body. */
export function bodyInput(
  body: Buffer | RequestJson,
  options?: RequestJsonOptions,
): Pick<UpstreamRequestInput, 'raw' | 'json' | 'encode'> {
  const json = Buffer.isBuffer(body) ? requestJson(body, options) : body;
  return {
    raw: json.raw,
    json: () => json.object(),
    encode: (body) => json.encode(body),
  };
}

/** The API key of a credential, or undefined when the credential is of another type. */
export function apiKeyOf(credential: Credential | undefined): string | undefined {
  return credential?.type === 'APIKey' ? credential.apiKey.reveal() : undefined;
}

/** `Bearer <key>` by the key's SecretValue: made once per configured key, not once per request. */
const bearers = new WeakMap<object, string>();

/**
 * The Authorization value for an API-key credential (RFC 6750 §2.1); undefined for another type or an
 * empty key.
 * Built once per key and copied into a flat string: a template made per request is a V8 rope
 * (ConsString), which the answer's encoder then had to flatten on every request, and whose char reads
 * slowed its string loops for every other answer too (about 4× on the router's body answer).
 */
export function bearerOf(credential: Credential | undefined): string | undefined {
  if (credential?.type !== 'APIKey') return undefined;
  let value = bearers.get(credential.apiKey);
  if (value === undefined) {
    const key = credential.apiKey.reveal();
    if (key === '') return undefined;
    value = Buffer.from(`Bearer ${key}`, 'utf8').toString('utf8');
    bearers.set(credential.apiKey, value);
  }
  return value;
}
