/**
 * Bedrock ConverseStream → OpenAI chat.completion.chunk events.
 *
 * The response body is `application/vnd.amazon.eventstream`: binary messages, each a prelude (total
 * length, headers length, prelude CRC), headers, a JSON payload and a message CRC
 * (docs.aws.amazon.com/lexv2/latest/dg/event-stream-encoding.html). Chunks arrive split anywhere, so
 * incomplete messages wait in a carry buffer; each complete one is decoded (CRCs checked) by the
 * maintained codec. Events are the members of ConverseStreamOutput
 * (docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamOutput.html), named by the
 * `:event-type` header; failures arrive as `:message-type: exception` messages named by
 * `:exception-type`, with a `{"message"}` payload.
 */
import { EventStreamCodec, type Message, type MessageHeaders } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { errorTypeForStatus, type OpenAIErrorBody } from '../errors.ts';
import { ChunkWriter, DONE_EVENT, errorEvent, type FinishReason, type OpenAIUsage } from './openai-stream.ts';
import type { ResponseContext, StreamTranslator } from './translator.ts';

/** Bedrock's stopReason values (API_runtime_MessageStopEvent.html) → OpenAI finish_reason. */
const FINISH_REASONS: Readonly<Record<string, FinishReason>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  content_filtered: 'content_filter',
  guardrail_intervened: 'content_filter',
};

export function finishReasonOf(stopReason: unknown): FinishReason {
  return (typeof stopReason === 'string' ? FINISH_REASONS[stopReason] : undefined) ?? 'stop';
}

/**
 * TokenUsage (API_runtime_TokenUsage.html) → OpenAI usage. Bedrock counts cache reads and writes apart
 * from `inputTokens`; OpenAI's prompt_tokens includes cached tokens, so they are added back.
 */
export function usageOf(usage: unknown): OpenAIUsage | undefined {
  if (!usage || typeof usage !== 'object') return undefined;
  const u = usage as Record<string, unknown>;
  const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const cacheRead = count(u.cacheReadInputTokens);
  const prompt = count(u.inputTokens) + cacheRead + count(u.cacheWriteInputTokens);
  const completion = count(u.outputTokens);
  const result: OpenAIUsage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: Math.max(count(u.totalTokens), prompt + completion),
  };
  if (typeof u.cacheReadInputTokens === 'number') result.prompt_tokens_details = { cached_tokens: cacheRead };
  return result;
}

/**
 * Bedrock Runtime exceptions and their HTTP status (the Errors sections of API_runtime_Converse.html
 * and API_runtime_ConverseStreamOutput.html).
 */
export const EXCEPTION_STATUS: Readonly<Record<string, number>> = {
  ValidationException: 400,
  ServiceQuotaExceededException: 400,
  AccessDeniedException: 403,
  ResourceNotFoundException: 404,
  ModelTimeoutException: 408,
  ModelErrorException: 424,
  ModelStreamErrorException: 424,
  ThrottlingException: 429,
  ModelNotReadyException: 429,
  InternalServerException: 500,
  ServiceUnavailableException: 503,
};

/** The OpenAI error object for a Bedrock exception, named as in the API reference (PascalCase). */
export function bedrockError(
  name: string,
  message: string,
  status = EXCEPTION_STATUS[name] ?? 500,
): OpenAIErrorBody {
  return { error: { message, type: errorTypeForStatus(status), param: null, code: name } };
}

/** Largest message accepted; real events are a few hundred bytes, a bigger prelude means corruption. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Prelude (8) + prelude CRC (4) + message CRC (4). */
const MESSAGE_OVERHEAD = 16;

const codec = new EventStreamCodec(toUtf8, fromUtf8);

function header(headers: MessageHeaders, name: string): string | undefined {
  const h = headers[name];
  return h?.type === 'string' ? h.value : undefined;
}

interface ToolBlock {
  /** Position among the tool calls of this completion: OpenAI's tool_calls[].index. */
  index: number;
}

export interface StreamIdentity {
  id?: string;
  created?: number;
}

/** Converts one ConverseStream response; `identity` fixes the chunk id and creation time (tests). */
export class BedrockStream implements StreamTranslator {
  readonly #writer: ChunkWriter;
  readonly #includeUsage: boolean;
  #carry: Buffer = Buffer.alloc(0);
  #roleSent = false;
  #finished = false;
  /** contentBlockIndex → tool call, for the blocks that contentBlockStart announced as toolUse. */
  readonly #tools = new Map<number, ToolBlock>();
  #out: string[] = [];

  constructor(context: ResponseContext, identity: StreamIdentity = {}) {
    this.#writer = new ChunkWriter(context.model, identity.id, identity.created);
    this.#includeUsage = context.includeUsage;
  }

  chunk(data: Buffer, endOfStream: boolean): Buffer {
    if (!this.#finished) this.#decode(data);
    if (endOfStream && !this.#finished) {
      if (this.#carry.length > 0)
        this.#fail(
          bedrockError('ModelStreamErrorException', 'The Bedrock stream ended inside an event.', 502),
        );
      else this.#finish();
    }
    if (this.#out.length === 0) return Buffer.alloc(0);
    const text = this.#out.length === 1 ? this.#out[0]! : this.#out.join('');
    this.#out = [];
    return Buffer.from(text);
  }

  #decode(data: Buffer): void {
    const bytes = this.#carry.length === 0 ? data : Buffer.concat([this.#carry, data]);
    let at = 0;
    while (!this.#finished && bytes.length - at >= 4) {
      const total = bytes.readUInt32BE(at);
      if (total < MESSAGE_OVERHEAD || total > MAX_MESSAGE_BYTES) {
        this.#fail(
          bedrockError(
            'ModelStreamErrorException',
            `Malformed Bedrock event stream (message length ${total}).`,
            502,
          ),
        );
        return;
      }
      if (bytes.length - at < total) break;
      let message: Message;
      try {
        message = codec.decode(bytes.subarray(at, at + total));
      } catch (error) {
        this.#fail(
          bedrockError(
            'ModelStreamErrorException',
            `Malformed Bedrock event stream: ${(error as Error).message}`,
            502,
          ),
        );
        return;
      }
      at += total;
      this.#message(message);
    }
    // Keep only the incomplete tail, copied so the chunk it came from can be released.
    this.#carry = at >= bytes.length ? Buffer.alloc(0) : Buffer.from(bytes.subarray(at));
  }

  #message(message: Message): void {
    const messageType = header(message.headers, ':message-type') ?? 'event';
    if (messageType === 'error') {
      // Protocol-level errors carry their code and message in headers, not in the payload.
      const code = header(message.headers, ':error-code') ?? 'InternalServerException';
      this.#fail(bedrockError(code, header(message.headers, ':error-message') ?? 'Bedrock stream error.'));
      return;
    }
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(Buffer.from(message.body).toString('utf8')) as Record<string, unknown>;
    } catch {
      this.#fail(
        bedrockError('ModelStreamErrorException', 'Bedrock sent an event whose payload is not JSON.', 502),
      );
      return;
    }
    if (messageType === 'exception') {
      const type = header(message.headers, ':exception-type') ?? 'internalServerException';
      const name = type.charAt(0).toUpperCase() + type.slice(1);
      const text = typeof payload.message === 'string' ? payload.message : `Bedrock raised ${name}.`;
      this.#fail(bedrockError(name, text));
      return;
    }
    this.#event(header(message.headers, ':event-type') ?? '', payload);
  }

  #event(type: string, payload: Record<string, unknown>): void {
    switch (type) {
      case 'messageStart':
        this.#role();
        return;
      case 'contentBlockStart': {
        const toolUse = (payload.start as { toolUse?: { toolUseId?: unknown; name?: unknown } } | undefined)
          ?.toolUse;
        if (!toolUse) return;
        this.#role();
        const index = this.#tools.size;
        this.#tools.set(Number(payload.contentBlockIndex), { index });
        this.#out.push(
          this.#writer.delta({
            tool_calls: [
              {
                index,
                id: String(toolUse.toolUseId ?? ''),
                type: 'function',
                function: { name: String(toolUse.name ?? ''), arguments: '' },
              },
            ],
          }),
        );
        return;
      }
      case 'contentBlockDelta': {
        const delta = payload.delta as
          | { text?: unknown; toolUse?: { input?: unknown }; reasoningContent?: { text?: unknown } }
          | undefined;
        if (typeof delta?.text === 'string') {
          this.#role();
          if (delta.text) this.#out.push(this.#writer.delta({ content: delta.text }));
          return;
        }
        // ReasoningContentBlockDelta: text, or the signature and redacted content nothing here can use.
        const thought = delta?.reasoningContent?.text;
        if (typeof thought === 'string') {
          this.#role();
          if (thought) this.#out.push(this.#writer.delta({ reasoning_content: thought }));
          return;
        }
        const input = delta?.toolUse?.input;
        const tool = this.#tools.get(Number(payload.contentBlockIndex));
        if (typeof input === 'string' && input && tool)
          this.#out.push(
            this.#writer.delta({ tool_calls: [{ index: tool.index, function: { arguments: input } }] }),
          );
        // Citation deltas have no Chat Completions counterpart.
        return;
      }
      case 'messageStop':
        this.#role();
        this.#out.push(this.#writer.delta({}, finishReasonOf(payload.stopReason)));
        return;
      case 'metadata': {
        const usage = usageOf(payload.usage);
        if (this.#includeUsage && usage) this.#out.push(this.#writer.usage(usage));
        return;
      }
      default:
        // contentBlockStop, and event types added after this was written.
        return;
    }
  }

  #role(): void {
    if (this.#roleSent) return;
    this.#roleSent = true;
    this.#out.push(this.#writer.delta({ role: 'assistant', content: '' }));
  }

  #fail(body: OpenAIErrorBody): void {
    this.#out.push(errorEvent(body));
    this.#finish();
  }

  #finish(): void {
    this.#finished = true;
    this.#carry = Buffer.alloc(0);
    this.#out.push(DONE_EVENT);
  }
}
