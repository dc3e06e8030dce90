/**
 * A client API served through Chat Completions: the client's request becomes a Chat Completions
 * request, which the provider's own Chat Completions translator sends; its answer, already in the
 * Chat Completions shape (or left so by a pass-through translator), becomes the client's. So an
 * Anthropic Messages or OpenAI Responses client reaches every provider the gateway translates chat
 * for, with one adapter per client API and no provider named here. Built once per (client schema,
 * provider) pair in registry.ts.
 */
import type { HttpHead } from '../phases.ts';
import type {
  HeaderChanges,
  ResponseContext,
  StreamTranslator,
  Translator,
  UpstreamRequest,
  UpstreamRequestInput,
} from './translator.ts';

/**
 * What a provider's chat translator takes beyond the OpenAI Chat Completions API, so an adapter keeps
 * a client's field where the target can act on it and drops it where the target would refuse it.
 * Decided once per provider in registry.ts.
 */
export interface ChatTarget {
  /** The backend as a client's 400 names it ("a Gemini backend"). */
  readonly name: string;
  /** `top_k`: vLLM's and SGLang's sampling extension to Chat Completions; gemini.ts sends it as topK. */
  readonly topK: boolean;
  /** `reasoning_content` on assistant messages: earlier turns' reasoning, in the field vLLM and DeepSeek answer with. */
  readonly reasoningContent: boolean;
  /** Anthropic `cache_control` markers on content parts and tools (cache-control.ts). */
  readonly cacheControl: boolean;
}

/** One client API's two-way conversion to and from Chat Completions. */
export interface ChatAdapter {
  /** The Chat Completions body for the client's parsed body; a 400 for what cannot be served. */
  toChat(
    body: Record<string, unknown>,
    input: UpstreamRequestInput,
    target: ChatTarget,
  ): Record<string, unknown>;
  /** A buffered chat completion as the client's answer. */
  fromChat(body: Buffer, context: ResponseContext): Buffer;
  /** Chat Completions SSE bytes in, the client's stream out. */
  createStream(context: ResponseContext): StreamTranslator;
}

const STREAM_HEADERS: HeaderChanges = { setHeaders: [['content-type', 'text/event-stream']] };
const JSON_HEADERS: HeaderChanges = { setHeaders: [['content-type', 'application/json']] };

/** The context the inner translator converts with: a Chat Completions answer with its usage. */
function chatContext(context: ResponseContext): ResponseContext {
  return { ...context, operation: 'chat.completions', includeUsage: true };
}

class ChainedStream implements StreamTranslator {
  constructor(
    private readonly inner: StreamTranslator | undefined,
    private readonly outer: StreamTranslator,
  ) {}

  chunk(data: Buffer, endOfStream: boolean): Buffer | undefined {
    const chat = this.inner?.chunk(data, endOfStream) ?? data;
    return this.outer.chunk(chat, endOfStream);
  }
}

export function viaChat(adapter: ChatAdapter, inner: Translator, target: ChatTarget): Translator {
  const translator: Translator = {
    convertsResponses: true,
    request(input: UpstreamRequestInput): UpstreamRequest | Promise<UpstreamRequest> {
      const chat = adapter.toChat(input.json(), input, target);
      // `input.encode`: the chat body holds the client's long strings as stand-ins in a large body.
      return inner.request({
        ...input,
        operation: 'chat.completions',
        raw: input.encode(chat),
        json: () => chat,
      });
    },
    responseHeaders(head: HttpHead, context: ResponseContext): HeaderChanges {
      const own = context.stream ? STREAM_HEADERS : JSON_HEADERS;
      if (!inner.convertsResponses || !inner.responseHeaders) return own;
      const changes = inner.responseHeaders(head, chatContext(context));
      return {
        setHeaders: [...(changes.setHeaders ?? []), ...own.setHeaders!],
        removeHeaders: changes.removeHeaders ?? [],
      };
    },
    responseBody(body: Buffer, context: ResponseContext, head?: HttpHead): Buffer {
      const chat = inner.convertsResponses ? inner.responseBody(body, chatContext(context), head) : body;
      return adapter.fromChat(chat, context);
    },
    createStream(context: ResponseContext): StreamTranslator {
      const first = inner.convertsResponses ? inner.createStream(chatContext(context)) : undefined;
      return new ChainedStream(first, adapter.createStream(context));
    },
    error: inner.error,
  };
  if (inner.requestIdHeader !== undefined)
    (translator as { requestIdHeader?: string }).requestIdHeader = inner.requestIdHeader;
  if (inner.retryAfter) translator.retryAfter = inner.retryAfter;
  return translator;
}
