/**
 * Anthropic Messages API clients on Bedrock. Claude models get the client's Messages body through
 * InvokeModel / InvokeModelWithResponseStream (`/model/{id}/invoke`, `/invoke-with-response-stream`,
 * docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModelWithResponseStream.html) with
 * `anthropic_version: "bedrock-2023-05-31"` in place of `model` and `stream` (the Bedrock user guide's
 * "Anthropic Claude Messages API" parameters page), `cache_control` kept, thinking blocks the gateway
 * wrote left out (thinking-signature.ts), signed with SigV4. A buffered
 * answer is Anthropic's message as it is; a stream is Bedrock's binary event stream whose `chunk`
 * events carry each Anthropic event base64-encoded in `bytes` (API_runtime_PayloadPart.html), written
 * out here as Anthropic's SSE events; an exception frame becomes Anthropic's `error` event. Other
 * Bedrock models are reached through Converse (the chat translator, via-chat.ts).
 *
 * Beta features: Anthropic's API takes them in the `anthropic-beta` header (comma-separated,
 * platform.claude.com/docs/en/api/beta-headers); Bedrock's InvokeModel takes them in the body, as
 * `anthropic_beta`, an array of strings (the same parameters page: `"anthropic_beta":
 * ["computer-use-2024-10-22"]`). The header's values become that member (merged with any the body
 * already names) and the header is not sent on.
 *
 * Token counting: Bedrock's CountTokens (`POST /model/{modelId}/count-tokens`, body
 * `{"input":{"invokeModel":{"body":<base64 of the InvokeModel body>}}}`, answer `{"inputTokens":N}`;
 * docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_CountTokens.html and
 * API_runtime_InvokeModelTokensRequest.html) counts the very body /v1/messages would send, answered
 * in Anthropic's shape `{"input_tokens":N}` (platform.claude.com/docs/en/api/messages-count-tokens).
 * Its modelId is a foundation model's, so a cross-Region inference profile's geography prefix
 * (`us.`, `eu.`, `global.` …) is taken off; and the InvokeModel body needs `max_tokens`, which a
 * count request has not, so one is supplied (it changes no input token).
 */
import { EventStreamCodec, type Message } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { anthropicErrorType } from '../client-api.ts';
import { signAwsRequest, signatureSecrets } from '../credentials/aws-sigv4.ts';
import { errors } from '../errors.ts';
import { EXCEPTION_STATUS } from './bedrock.stream.ts';
import { bedrockErrorFrom, encodeModelId } from './bedrock.ts';
import { anthropicErrorEvent } from './messages-chat.ts';
import { mayHoldGatewayThinking, withoutGatewayThinking } from './thinking-signature.ts';
import type {
  ResponseContext,
  StreamTranslator,
  Translator,
  UpstreamRequest,
  UpstreamRequestInput,
} from './translator.ts';

/** The one value Bedrock accepts for Claude's Messages API. */
export const BEDROCK_ANTHROPIC_VERSION = 'bedrock-2023-05-31';

/** Bedrock model ids (and inference profiles, `us.anthropic.…`, and ARNs naming them) of Claude models. */
export function isBedrockClaude(model: string): boolean {
  return model.includes('anthropic.claude');
}

const FOREIGN_AUTH_HEADERS = ['x-api-key', 'api-key', 'x-goog-api-key'];
const codec = new EventStreamCodec(toUtf8, fromUtf8);
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** The client's `anthropic-beta` header values, with the body's own `anthropic_beta`, or undefined. */
function betasOf(input: UpstreamRequestInput, body: Record<string, unknown>): string[] | undefined {
  const betas = new Set<string>();
  if (Array.isArray(body.anthropic_beta))
    for (const beta of body.anthropic_beta) if (typeof beta === 'string') betas.add(beta);
  const header = input.headers?.get('anthropic-beta');
  if (header !== undefined)
    for (const beta of header.split(',')) {
      const name = beta.trim();
      if (name !== '') betas.add(name);
    }
  return betas.size === 0 ? undefined : [...betas];
}

/** A cross-Region inference profile id (`us.anthropic.…`) as its foundation model's (`anthropic.…`). */
export function foundationModelId(model: string): string {
  return model.replace(/^[a-z-]+\.(?=anthropic\.)/, '');
}

/** Enough output tokens for an InvokeModel body to validate: above a thinking budget, if any. */
function countingMaxTokens(body: Record<string, unknown>): number {
  const thinking = body.thinking as { budget_tokens?: unknown } | null | undefined;
  const budget = typeof thinking?.budget_tokens === 'number' ? thinking.budget_tokens : 0;
  return Math.max(1024, budget + 1);
}

function requestOf(input: UpstreamRequestInput): { path: string; body: Buffer } {
  const json = mayHoldGatewayThinking(input.raw) ? withoutGatewayThinking(input.json()) : input.json();
  const { model: _model, stream, anthropic_beta: _betas, ...rest } = json;
  const betas = betasOf(input, json);
  const invokeBody: Record<string, unknown> = { anthropic_version: BEDROCK_ANTHROPIC_VERSION };
  if (betas) invokeBody.anthropic_beta = betas;
  Object.assign(invokeBody, rest);
  const base = input.backend.basePath;
  if (input.operation === 'messages.count_tokens') {
    if (invokeBody.max_tokens === undefined) invokeBody.max_tokens = countingMaxTokens(invokeBody);
    const encoded = input.encode(invokeBody).toString('base64');
    return {
      path: `${base}/model/${encodeModelId(foundationModelId(input.model))}/count-tokens`,
      body: Buffer.from(`{"input":{"invokeModel":{"body":"${encoded}"}}}`),
    };
  }
  const action = stream === true ? 'invoke-with-response-stream' : 'invoke';
  return { path: `${base}/model/${encodeModelId(input.model)}/${action}`, body: input.encode(invokeBody) };
}

async function request(input: UpstreamRequestInput): Promise<UpstreamRequest> {
  const credential = input.credential;
  if (credential?.type !== 'AWSAccessKey')
    throw errors.internal(
      `Bedrock backend ${input.backend.id} has no AWS access key credential; set spec.credentials with type AWSAccessKey.`,
    );
  const region = input.backend.region;
  if (!region) throw errors.internal(`Bedrock backend ${input.backend.id} has no spec.region to sign for.`);
  const { path, body } = requestOf(input);
  const signedHeaders = { 'content-type': 'application/json' };
  const auth = await signAwsRequest({
    method: 'POST',
    origin: input.backend.origin,
    path,
    headers: signedHeaders,
    body,
    region,
    service: 'bedrock',
    credential,
  });
  // The version and the betas travel in the body here; the client's headers must not contradict them.
  const removeHeaders = [...FOREIGN_AUTH_HEADERS, 'anthropic-version', 'anthropic-beta'];
  if (!auth.some(([name]) => name === 'x-amz-security-token')) removeHeaders.push('x-amz-security-token');
  return {
    path,
    headers: [['content-type', 'application/json'], ['accept-encoding', 'identity'], ...auth],
    removeHeaders,
    body,
    secrets: signatureSecrets(auth),
  };
}

/** CountTokens' `{"inputTokens":N}` as Anthropic's `{"input_tokens":N}`. */
function countTokensBody(body: Buffer): Buffer {
  let answer: unknown;
  try {
    answer = JSON.parse(body.toString('utf8'));
  } catch {
    throw errors.badGateway('Bedrock answered CountTokens with a body that is not JSON.');
  }
  const tokens = (answer as { inputTokens?: unknown } | null)?.inputTokens;
  if (typeof tokens !== 'number')
    throw errors.badGateway('Bedrock answered CountTokens without an inputTokens count.');
  return Buffer.from(JSON.stringify({ input_tokens: tokens }));
}

function header(message: Message, name: string): string | undefined {
  const h = message.headers[name];
  return h?.type === 'string' ? h.value : undefined;
}

/** Bedrock's event stream of Anthropic events as Anthropic's SSE stream. */
export class BedrockMessagesStream implements StreamTranslator {
  #carry: Buffer = Buffer.alloc(0);
  #done = false;
  #stopped = false;

  chunk(data: Buffer, endOfStream: boolean): Buffer {
    let out = '';
    if (!this.#done) out = this.#decode(data);
    if (endOfStream && !this.#done) {
      this.#done = true;
      // message_stop is Anthropic's last event: a stream that ends before it is broken.
      if (!this.#stopped)
        out += anthropicErrorEvent('api_error', 'The Bedrock stream ended before message_stop.');
    }
    return Buffer.from(out);
  }

  #decode(data: Buffer): string {
    const bytes = this.#carry.length === 0 ? data : Buffer.concat([this.#carry, data]);
    let out = '';
    let at = 0;
    while (!this.#done && bytes.length - at >= 4) {
      const total = bytes.readUInt32BE(at);
      if (total < 16 || total > MAX_MESSAGE_BYTES)
        return out + this.#fail('api_error', `Malformed Bedrock event stream (message length ${total}).`);
      if (bytes.length - at < total) break;
      let message: Message;
      try {
        message = codec.decode(bytes.subarray(at, at + total));
      } catch (error) {
        return out + this.#fail('api_error', `Malformed Bedrock event stream: ${(error as Error).message}`);
      }
      at += total;
      out += this.#message(message);
    }
    this.#carry = at >= bytes.length ? Buffer.alloc(0) : Buffer.from(bytes.subarray(at));
    return out;
  }

  #message(message: Message): string {
    const kind = header(message, ':message-type') ?? 'event';
    let payload: { bytes?: unknown; message?: unknown };
    try {
      payload = JSON.parse(Buffer.from(message.body).toString('utf8')) as typeof payload;
    } catch {
      return this.#fail('api_error', 'Bedrock sent an event whose payload is not JSON.');
    }
    if (kind !== 'event') {
      const type =
        header(message, ':exception-type') ?? header(message, ':error-code') ?? 'internalServerException';
      const name = type.charAt(0).toUpperCase() + type.slice(1);
      const text = typeof payload.message === 'string' ? payload.message : `Bedrock raised ${name}.`;
      return this.#fail(anthropicErrorType(EXCEPTION_STATUS[name] ?? 500), text);
    }
    if (header(message, ':event-type') !== 'chunk' || typeof payload.bytes !== 'string') return '';
    const json = Buffer.from(payload.bytes, 'base64').toString('utf8');
    let type: unknown;
    try {
      type = (JSON.parse(json) as { type?: unknown }).type;
    } catch {
      return this.#fail('api_error', 'Bedrock sent a chunk that is not an Anthropic event.');
    }
    if (typeof type !== 'string') return '';
    if (type === 'message_stop') this.#stopped = true;
    if (type === 'error') this.#done = true;
    return `event: ${type}\ndata: ${json}\n\n`;
  }

  #fail(type: string, message: string): string {
    this.#done = true;
    return anthropicErrorEvent(type, message);
  }
}

/** Claude's Messages API on Bedrock, or Converse (through `viaConverse`) for other models. */
export function messagesBedrockTranslator(viaConverse: Translator): Translator {
  return {
    convertsResponses: true,
    requestIdHeader: 'x-amzn-requestid',
    request: (input) => (isBedrockClaude(input.model) ? request(input) : viaConverse.request(input)),
    responseHeaders: (head, context: ResponseContext) =>
      isBedrockClaude(context.model)
        ? { setHeaders: [['content-type', context.stream ? 'text/event-stream' : 'application/json']] }
        : (viaConverse.responseHeaders?.(head, context) ?? {}),
    responseBody: (body, context, head) =>
      !isBedrockClaude(context.model)
        ? viaConverse.responseBody(body, context, head)
        : context.operation === 'messages.count_tokens'
          ? countTokensBody(body)
          : body,
    createStream: (context) =>
      isBedrockClaude(context.model) ? new BedrockMessagesStream() : viaConverse.createStream(context),
    error: bedrockErrorFrom,
  };
}
