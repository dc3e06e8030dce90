import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BatchSlots } from './batch-slots.ts';
import { type ChatRequest, parseChatRequest } from './chat-request.ts';
import { ChatChunkEncoder, type CompletionIdentity, chatCompletionBody, usageOf } from './chat-response.ts';
import { type CompletionPlan, type FinishReason, planCompletion } from './completion.ts';
import { injectedFault, modelNotFound } from './errors.ts';
import type { Fault } from './fault.ts';
import { readBody } from './http-body.ts';
import type { ServerCounters } from './metrics.ts';

/** What the chat endpoint reads from its server: fixed settings plus the shared batch and counters. */
export interface ChatEndpoint {
  readonly seed: number;
  readonly ttftMs: number;
  readonly msPerToken: number;
  readonly slots: BatchSlots;
  readonly counters: ServerCounters;
  acceptsModel(model: string): boolean;
  currentFault(): Fault | undefined;
}

/**
 * `POST /v1/chat/completions`. Throws a `SimHttpError` for anything answered before generation starts;
 * once admitted, the request holds a batch slot until it finishes or its client goes away.
 */
export async function serveChatCompletion(
  endpoint: ChatEndpoint,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const request = parseChatRequest(await readBody(req));
  if (!endpoint.acceptsModel(request.model)) throw modelNotFound(request.model);
  const fault = endpoint.currentFault();
  if (fault !== undefined && !request.stream) throw injectedFault(fault.status, fault.message);

  // 'close' before the response finished means the client went away: stop decoding and free the slot.
  const disconnect = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) disconnect.abort();
  });
  // The client may have gone while the body was parsed, before the listener existed.
  if (res.socket === null || res.socket.destroyed) disconnect.abort();
  const { counters, slots } = endpoint;
  try {
    await slots.acquire(disconnect.signal);
  } catch {
    counters.finished.abort++;
    return;
  }
  let reason: FinishReason | 'abort';
  try {
    reason = await generate(endpoint, request, fault?.afterTokens, res, disconnect.signal);
  } catch (error) {
    if (!disconnect.signal.aborted) throw error;
    reason = 'abort';
  } finally {
    slots.release();
  }
  counters.finished[reason]++;
}

async function generate(
  endpoint: ChatEndpoint,
  request: ChatRequest,
  breakAfterTokens: number | undefined,
  res: ServerResponse,
  signal: AbortSignal,
): Promise<FinishReason | 'abort'> {
  const plan = planCompletion(endpoint.seed, request.promptKey, request.maxTokens);
  const identity: CompletionIdentity = {
    id: 'chatcmpl-' + randomUUID().replaceAll('-', ''),
    created: Math.floor(Date.now() / 1000),
    model: request.model,
  };
  // Prefill: the first token appears `ttftMs` after admission.
  if (endpoint.ttftMs > 0) await sleep(endpoint.ttftMs, undefined, { signal });
  endpoint.counters.promptTokens += request.promptTokens;
  return request.stream
    ? streamCompletion(endpoint, request, plan, identity, breakAfterTokens, res, signal)
    : bufferCompletion(endpoint, request, plan, identity, res, signal);
}

async function bufferCompletion(
  endpoint: ChatEndpoint,
  request: ChatRequest,
  plan: CompletionPlan,
  identity: CompletionIdentity,
  res: ServerResponse,
  signal: AbortSignal,
): Promise<FinishReason> {
  const { tokens } = plan;
  for (let i = 0; i < tokens.length; i++) {
    if (i > 0 && endpoint.msPerToken > 0) await sleep(endpoint.msPerToken, undefined, { signal });
    endpoint.counters.generationTokens++;
  }
  const usage = usageOf(request.promptTokens, tokens.length);
  const body = chatCompletionBody(identity, tokens.join(''), plan.finishReason, usage);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
  return plan.finishReason;
}

async function streamCompletion(
  endpoint: ChatEndpoint,
  request: ChatRequest,
  plan: CompletionPlan,
  identity: CompletionIdentity,
  breakAfterTokens: number | undefined,
  res: ServerResponse,
  signal: AbortSignal,
): Promise<FinishReason | 'abort'> {
  const encoder = new ChatChunkEncoder(identity, request.includeUsage);
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  if (breakAfterTokens === 0) return breakStream(res, encoder.role());
  await send(res, encoder.role(), signal);
  const { tokens } = plan;
  for (let i = 0; i < tokens.length; i++) {
    if (i > 0 && endpoint.msPerToken > 0) await sleep(endpoint.msPerToken, undefined, { signal });
    endpoint.counters.generationTokens++;
    const chunk = encoder.token(tokens[i]!);
    if (i + 1 === breakAfterTokens) return breakStream(res, chunk);
    await send(res, chunk, signal);
  }
  await send(res, encoder.finish(plan.finishReason), signal);
  if (request.includeUsage)
    await send(res, encoder.usage(usageOf(request.promptTokens, tokens.length)), signal);
  res.end(encoder.done());
  return plan.finishReason;
}

/** Writes a chunk, waiting for the socket to drain when its buffer is full so a slow client is not buffered. */
async function send(res: ServerResponse, chunk: string, signal: AbortSignal): Promise<void> {
  if (!res.write(chunk)) await once(res, 'drain', { signal });
}

/** Sends the last chunk, then destroys the socket once it is flushed, so the client sees exactly that much. */
function breakStream(res: ServerResponse, lastChunk: string): 'abort' {
  res.write(lastChunk, () => res.destroy());
  return 'abort';
}
