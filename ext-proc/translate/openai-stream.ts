/**
 * Writing the OpenAI Chat Completions stream: `chat.completion.chunk` objects as SSE `data:` events,
 * ending with `data: [DONE]` (platform.openai.com/docs/api-reference/chat-streaming). Shared by every
 * translator that converts another provider's stream.
 */
import type { OpenAIErrorBody } from '../errors.ts';

export interface ChunkDelta {
  role?: 'assistant';
  content?: string | null;
  /** Reasoning text, where the provider returns it: the field DeepSeek's API and vLLM use. */
  reasoning_content?: string;
  tool_calls?: {
    index: number;
    id?: string;
    type?: 'function';
    function: { name?: string; arguments: string };
  }[];
}

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens: number };
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | null;

export const DONE_EVENT = 'data: [DONE]\n\n';

/**
 * Builds the chunks of one streamed completion with a stable id, model and creation time. Everything
 * but the delta and the finish reason is the same in every chunk, so it is serialised once per stream.
 */
export class ChunkWriter {
  readonly #id: string;
  readonly #created: number;
  /** `data: {"id":…,"object":…,"created":…,"model":…,"choices":[{"index":0,"delta":` */
  readonly #deltaPrefix: string;

  constructor(
    readonly model: string,
    id?: string,
    created?: number,
  ) {
    this.#id = id ?? `chatcmpl-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
    this.#created = created ?? Math.floor(Date.now() / 1000);
    const head = JSON.stringify({
      id: this.#id,
      object: 'chat.completion.chunk',
      created: this.#created,
      model: this.model,
    });
    this.#deltaPrefix = `data: ${head.slice(0, -1)},"choices":[{"index":0,"delta":`;
  }

  delta(delta: ChunkDelta, finishReason: FinishReason = null): string {
    // The bytes JSON.stringify gives for the whole chunk object, keys in the same order.
    const finish = finishReason === null ? 'null' : `"${finishReason}"`;
    return `${this.#deltaPrefix}${JSON.stringify(delta)},"logprobs":null,"finish_reason":${finish}}]}\n\n`;
  }

  /** The usage chunk sent when the client asked for `stream_options.include_usage`: no choices. */
  usage(usage: OpenAIUsage): string {
    return event({
      id: this.#id,
      object: 'chat.completion.chunk',
      created: this.#created,
      model: this.model,
      choices: [],
      usage,
    });
  }
}

/**
 * An error inside a stream, in the shape the OpenAI SDKs raise as an APIError: a `data:` event whose
 * JSON has an `error` object (openai-node's Stream checks `data.error` on each event).
 */
export function errorEvent(body: OpenAIErrorBody): string {
  return event(body);
}

/** How every errorEvent begins: what the per-attempt phase looks for before it redacts a chunk. */
export const ERROR_EVENT_PREFIX = Buffer.from('data: {"error":');

function event(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}
