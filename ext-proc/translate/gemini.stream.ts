/**
 * Gemini's stream (`streamGenerateContent?alt=sse`: each SSE `data:` is a whole GenerateContentResponse,
 * ai.google.dev/api/generate-content#method:-models.streamgeneratecontent) as the OpenAI chunk stream:
 * a role chunk, thought-summary (`reasoning_content`), text and tool-call deltas as they come, then the
 * finish chunk, the usage chunk when the client asked for it (from the last usageMetadata) and
 * `data: [DONE]`. Chunks name the model that answered (modelVersion). Incremental: any split of the
 * upstream bytes gives the same output.
 */
import { errors, type OpenAIErrorBody } from '../errors.ts';
import {
  blockedPromptRefusal,
  type CompletionIds,
  completionIdOf,
  createdOf,
  finishReasonOf,
  type GenerateContentResponse,
  responseModelOf,
  toolCallId,
  usageOf,
} from './gemini.ts';
import { googleErrorBody } from './google-api.ts';
import { type ChunkDelta, ChunkWriter, DONE_EVENT, errorEvent, type OpenAIUsage } from './openai-stream.ts';
import { type SseEvent, SseParser } from './sse.ts';
import type { ResponseContext, StreamTranslator } from './translator.ts';

const NOTHING = Buffer.alloc(0);
const CR = Buffer.from('\r');

export class GeminiStreamTranslator implements StreamTranslator {
  readonly #context: ResponseContext;
  readonly #ids: CompletionIds;
  readonly #parser = new SseParser();
  /** Created with the first event, whose responseId and createTime name the completion. */
  #writer: ChunkWriter | undefined;
  #responseId: string | undefined;
  #toolCalls = 0;
  #finishReason: string | undefined;
  #blockReason: string | undefined;
  #usage: OpenAIUsage | undefined;
  /** Ended: finished normally or by an error event; later bytes are dropped. */
  #done = false;
  #heldCR = false;

  constructor(context: ResponseContext, ids: CompletionIds = {}) {
    this.#context = context;
    this.#ids = ids;
  }

  chunk(data: Buffer, endOfStream: boolean): Buffer {
    if (this.#done) return NOTHING;
    let bytes = this.#heldCR ? Buffer.concat([CR, data]) : data;
    // Google ends lines with CRLF. SseParser drops a line whose CR ends a chunk (it keeps only the CR
    // while waiting for the LF), so a trailing CR is held back until the next chunk.
    this.#heldCR = !endOfStream && bytes.length > 0 && bytes[bytes.length - 1] === 13;
    if (this.#heldCR) bytes = bytes.subarray(0, bytes.length - 1);
    let out = '';
    for (const event of this.#parser.push(bytes)) out += this.#event(event);
    if (endOfStream) {
      for (const event of this.#parser.end()) out += this.#event(event);
      out += this.#end();
    }
    return out === '' ? NOTHING : Buffer.from(out);
  }

  #event(event: SseEvent): string {
    if (this.#done) return '';
    let response: GenerateContentResponse & { error?: unknown };
    try {
      response = JSON.parse(event.data) as GenerateContentResponse & { error?: unknown };
    } catch {
      return this.#fail(errors.badGateway('the Gemini stream carried an event that is not JSON').toBody());
    }
    if (!response || typeof response !== 'object')
      return this.#fail(
        errors.badGateway('the Gemini stream carried an event that is not an object').toBody(),
      );
    // An error after the 200 (quota, overload) arrives as the Google error envelope in the stream.
    if (response.error !== undefined) {
      const body =
        googleErrorBody(500, response) ?? errors.badGateway('the Gemini stream reported an error').toBody();
      return this.#fail(body);
    }
    let out = '';
    if (!this.#writer) {
      this.#responseId = response.responseId;
      // Every chunk names the model that answered, from the first event's modelVersion.
      this.#writer = new ChunkWriter(
        responseModelOf(response, this.#context.model),
        this.#ids.id ?? completionIdOf(response),
        this.#ids.created ?? createdOf(response),
      );
      out += this.#writer.delta({ role: 'assistant', content: '' });
    }
    const writer = this.#writer;
    if (response.usageMetadata) this.#usage = usageOf(response.usageMetadata);
    if (response.promptFeedback?.blockReason) this.#blockReason = response.promptFeedback.blockReason;
    const candidate = response.candidates?.[0];
    if (!candidate) return out;
    for (const part of candidate.content?.parts ?? []) {
      if (part.thought) {
        if (typeof part.text === 'string' && part.text !== '')
          out += writer.delta({ reasoning_content: part.text });
        continue;
      }
      if (typeof part.text === 'string' && part.text !== '') out += writer.delta({ content: part.text });
      if (part.functionCall) {
        // Gemini sends each function call whole, so one delta carries its id, name and arguments.
        const index = this.#toolCalls++;
        out += writer.delta({
          tool_calls: [
            {
              index,
              id: toolCallId(this.#responseId, index),
              type: 'function',
              function: {
                name: part.functionCall.name,
                arguments: JSON.stringify(part.functionCall.args ?? {}),
              },
            },
          ],
        });
      }
    }
    if (candidate.finishReason) this.#finishReason = candidate.finishReason;
    return out;
  }

  #end(): string {
    if (this.#done) return '';
    this.#done = true;
    const writer = this.#writer;
    if (!writer) return errorEvent(errors.badGateway('the Gemini stream ended without a response').toBody());
    let out: string;
    if (this.#finishReason === undefined && this.#toolCalls === 0 && this.#blockReason !== undefined) {
      const delta: ChunkDelta & { refusal: string } = { refusal: blockedPromptRefusal(this.#blockReason) };
      out = writer.delta(delta, 'content_filter');
    } else {
      out = writer.delta({}, finishReasonOf(this.#finishReason, this.#toolCalls > 0));
    }
    if (this.#context.includeUsage && this.#usage) out += writer.usage(this.#usage);
    return out + DONE_EVENT;
  }

  #fail(body: OpenAIErrorBody): string {
    this.#done = true;
    return errorEvent(body);
  }
}
