import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ChatRequest, parseChatRequest } from './chat-request.ts';
import {
  ChatChunkEncoder,
  type ChatFinishReason,
  type CompletionIdentity,
  chatCompletionBody,
  type SimToolCall,
  type Usage,
  usageOf,
} from './chat-response.ts';
import { type CompletionPlan, planCompletion } from './completion.ts';
import type { EngineEvent } from './engine/engine.ts';
import { contextLengthExceeded, injectedFault, modelNotFound } from './errors.ts';
import type { Fault } from './fault.ts';
import { readBody } from './http-body.ts';
import { jsonInstance } from './json-instance.ts';
import type { LatencyHistograms, ServerCounters } from './metrics.ts';
import type { EngineListener, RealTimeEngine } from './realtime-engine.ts';
import { CHARS_PER_TOKEN, tokenize } from './tokens.ts';

/** What the chat endpoint reads from its server: fixed settings plus the shared engine and counters. */
export interface ChatEndpoint {
  readonly seed: number;
  readonly engine: RealTimeEngine;
  readonly counters: ServerCounters;
  readonly latency: LatencyHistograms;
  acceptsModel(model: string): boolean;
  currentFault(): Fault | undefined;
  /** A fresh engine request id. */
  nextRequestId(): string;
}

/**
 * `POST /v1/chat/completions`. Throws a `SimHttpError` for anything answered before generation starts;
 * after that the engine drives the response, token by token, until it finishes or its client goes away.
 */
export async function serveChatCompletion(
  endpoint: ChatEndpoint,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  await serveAnswer(endpoint, parseChatRequest(await readBody(req)), res, chatFormat);
}

/**
 * How one API writes the simulated answer: a buffered body, or a stream's first bytes, one piece of
 * output (text, or a tool call's arguments) and its end. Made per request, after the id is chosen.
 */
export interface AnswerFormat {
  streamStart(): string;
  streamPiece(text: string): string;
  streamEnd(content: string, reason: ChatFinishReason, usage: Usage): string;
  body(content: string, reason: ChatFinishReason, usage: Usage): string;
}

export type AnswerFormatFor = (
  request: ChatRequest,
  identity: CompletionIdentity,
  toolCall: SimToolCall | undefined,
) => AnswerFormat;

const chatFormat: AnswerFormatFor = (request, identity, toolCall) => {
  const encoder = new ChatChunkEncoder(identity, request.includeUsage);
  return {
    streamStart: () => (toolCall ? encoder.toolCallStart(toolCall) : encoder.role()),
    streamPiece: (text) => (toolCall ? encoder.toolArguments(text) : encoder.token(text)),
    streamEnd: (_content, reason, usage) =>
      encoder.finish(reason) + (request.includeUsage ? encoder.usage(usage) : '') + encoder.done(),
    body: (content, reason, usage) => chatCompletionBody(identity, content, reason, usage, toolCall),
  };
};

/** Serves a parsed request through the engine, in `format`'s wire shape. */
export async function serveAnswer(
  endpoint: ChatEndpoint,
  request: ChatRequest,
  res: ServerResponse,
  format: AnswerFormatFor,
): Promise<void> {
  if (!endpoint.acceptsModel(request.model)) throw modelNotFound(request.model);
  const fault = endpoint.currentFault();
  if (fault !== undefined && !request.stream) throw injectedFault(fault.status, fault.message);
  const plan = planAnswer(endpoint.seed, request);
  const { maxModelLen } = endpoint.engine;
  if (request.promptTokens + plan.tokens.length > maxModelLen) {
    throw contextLengthExceeded(maxModelLen, request.promptTokens, plan.tokens.length);
  }
  // The client may have gone while the body was parsed.
  if (res.socket === null || res.socket.destroyed) {
    endpoint.counters.finished.abort++;
    return;
  }
  await new ChatCompletionRun(endpoint, request, plan, fault?.afterTokens, res, format).done;
}

/**
 * What the model says for the request: its words (planCompletion), or for a tool call or structured
 * output the JSON (arguments, or content) of an instance of the schema, in pieces of about one token's
 * length; `max_tokens` cuts either short, with finish `length`, as a real model's would be.
 */
function planAnswer(seed: number, request: ChatRequest): CompletionPlan {
  const answer = request.answer;
  if (answer.kind === 'text') return planCompletion(seed, request.promptKey, request.maxTokens);
  const words = planCompletion(seed, request.promptKey, undefined).tokens;
  const value =
    answer.kind === 'tool'
      ? jsonInstance(answer.parameters, words)
      : answer.schema === undefined
        ? { answer: words.join('') }
        : jsonInstance(answer.schema, words);
  const text = JSON.stringify(value);
  const pieces: string[] = [];
  for (let at = 0; at < text.length; at += CHARS_PER_TOKEN) pieces.push(text.slice(at, at + CHARS_PER_TOKEN));
  const capped = request.maxTokens !== undefined && request.maxTokens < pieces.length;
  return {
    tokens: capped ? pieces.slice(0, request.maxTokens) : pieces,
    finishReason: capped ? 'length' : 'stop',
  };
}

/**
 * One request in the engine: turns its events into the response. The engine produces tokens at its own
 * pace, as vLLM does; the socket buffers what a slow client has not read yet (at most one completion).
 */
class ChatCompletionRun implements EngineListener {
  readonly done: Promise<void>;
  private readonly endpoint: ChatEndpoint;
  private readonly request: ChatRequest;
  private readonly plan: CompletionPlan;
  private readonly breakAfterTokens: number | undefined;
  private readonly res: ServerResponse;
  private readonly id: string;
  private readonly submittedAtMs: number;
  private readonly format: AnswerFormat;
  private readonly toolCall: SimToolCall | undefined;
  private settled = false;
  private resolve!: () => void;

  constructor(
    endpoint: ChatEndpoint,
    request: ChatRequest,
    plan: CompletionPlan,
    breakAfterTokens: number | undefined,
    res: ServerResponse,
    format: AnswerFormatFor,
  ) {
    this.endpoint = endpoint;
    this.request = request;
    this.plan = plan;
    this.breakAfterTokens = breakAfterTokens;
    this.res = res;
    this.done = new Promise<void>((resolve) => {
      this.resolve = resolve;
    });
    const identity = {
      id: randomUUID().replaceAll('-', ''),
      created: Math.floor(Date.now() / 1000),
      model: request.model,
    };
    this.toolCall =
      request.answer.kind === 'tool'
        ? { id: `call_${identity.id.slice(0, 24)}`, name: request.answer.name }
        : undefined;
    this.format = format(request, identity, this.toolCall);
    this.id = endpoint.nextRequestId();
    // 'close' before the response finished means the client went away: the engine drops the request.
    res.on('close', () => {
      if (!res.writableFinished) this.abort();
    });
    const { engine } = endpoint;
    this.submittedAtMs = engine.now();
    engine.submit(
      { id: this.id, promptTokens: tokenize(request.promptText), maxTokens: plan.tokens.length },
      this,
    );
  }

  onEngineEvent(event: EngineEvent): void {
    if (this.settled) return;
    switch (event.type) {
      case 'first_token':
        this.endpoint.latency.timeToFirstToken.observe((event.atMs - this.submittedAtMs) / 1000);
        if (this.request.stream) this.startStream();
        this.streamToken(event.outputTokens);
        return;
      case 'token':
        this.streamToken(event.outputTokens);
        return;
      case 'finished':
        this.endpoint.latency.e2eRequestLatency.observe((event.atMs - this.submittedAtMs) / 1000);
        this.finish();
        return;
    }
  }

  private startStream(): void {
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
    });
    const first = this.format.streamStart();
    if (this.breakAfterTokens === 0) this.breakStream(first);
    else this.res.write(first);
  }

  /** Sends output token `outputTokens` (1-based) when streaming. */
  private streamToken(outputTokens: number): void {
    if (this.settled || !this.request.stream) return;
    const chunk = this.format.streamPiece(this.plan.tokens[outputTokens - 1]!);
    if (outputTokens === this.breakAfterTokens) this.breakStream(chunk);
    else this.res.write(chunk);
  }

  private finish(): void {
    const { plan, request, res, format } = this;
    const usage = usageOf(request.promptTokens, plan.tokens.length);
    const reason: ChatFinishReason =
      this.toolCall && plan.finishReason === 'stop' ? 'tool_calls' : plan.finishReason;
    const content = plan.tokens.join('');
    if (!request.stream) {
      const body = format.body(content, reason, usage);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    } else {
      res.end(format.streamEnd(content, reason, usage));
    }
    this.settle(plan.finishReason);
  }

  /** Sends the last chunk, then destroys the socket once it is flushed, so the client sees exactly that much. */
  private breakStream(lastChunk: string): void {
    const { res } = this;
    res.write(lastChunk, () => res.destroy());
    this.abort();
  }

  private abort(): void {
    if (this.settled) return;
    this.endpoint.engine.cancel(this.id);
    this.settle('abort');
  }

  private settle(reason: 'stop' | 'length' | 'abort'): void {
    this.settled = true;
    this.endpoint.counters.finished[reason]++;
    this.resolve();
  }
}
