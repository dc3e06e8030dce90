/**
 * The one extension point for providers: a Translator turns an OpenAI-format request into the
 * provider's request for one attempt, and the provider's response back into the OpenAI format.
 * Translators are pure with respect to the network: bytes and parsed JSON in, bytes and headers out.
 */

import type { SecretValue } from '../../config/secret-value.ts';
import type { CompiledBackend } from '../../config/snapshot.ts';
import type { OpenAIErrorBody } from '../errors.ts';

/** The OpenAI API operations the gateway serves, keyed by the path after the /v1 prefix. */
export type Operation = 'chat.completions' | 'completions' | 'embeddings';

export const OPERATION_BY_PATH: ReadonlyMap<string, Operation> = new Map([
  ['/v1/chat/completions', 'chat.completions'],
  ['/v1/completions', 'completions'],
  ['/v1/embeddings', 'embeddings'],
]);

export interface UpstreamRequestInput {
  operation: Operation;
  /** The client's JSON body as received; the router-level phase validated it (an object, string `model`). */
  raw: Buffer;
  /** The body parsed, on first call: translators that restructure the body need it, others never pay. */
  json(): Record<string, unknown>;
  backend: CompiledBackend;
  /** Provider model id to send (modelNameOverride applied). */
  model: string;
  /** Credential for this attempt: the caller's own (bring-your-own-key) or the backend's. */
  credential: SecretValue | undefined;
}

export interface UpstreamRequest {
  path: string;
  /** Headers to set (lower-case names), e.g. the provider's auth header. */
  headers: readonly (readonly [string, string])[];
  /** Headers the provider must not see (e.g. another provider's auth header). */
  removeHeaders: readonly string[];
  body: Buffer;
}

/** Streaming response conversion for one response; `undefined` means "forward the chunk unchanged". */
export interface StreamTranslator {
  chunk(data: Buffer, endOfStream: boolean): Buffer | undefined;
}

export interface Translator {
  request(input: UpstreamRequestInput): UpstreamRequest;
  /** Whether successful responses need conversion at all (false: the gateway skips the body). */
  readonly convertsResponses: boolean;
  /** Converts a buffered successful response body to the OpenAI shape. */
  responseBody(body: Buffer, operation: Operation): Buffer;
  createStream(operation: Operation): StreamTranslator;
  /** Normalises the provider's error body (any shape, maybe not JSON) to the OpenAI error object. */
  error(status: number, body: Buffer): OpenAIErrorBody;
}
