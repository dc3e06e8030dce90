/**
 * The gateway's side of Streamable HTTP towards one MCP server.
 *
 * Why not the SDK's Client / StreamableHTTPClientTransport: the gateway is stateless per request — the
 * upstream session id and protocol version come out of the client's session id on every request, on
 * whichever replica — while the SDK client owns one long-lived connection state per instance and would
 * have to be rebuilt (and re-`initialize`d) per request. It also parses every message through its zod
 * schemas and answers server→client requests itself, where the gateway must pass bytes through and
 * relay those requests to its own client. So this module sends the few HTTP requests the transport
 * defines (node:http, see AGENTS) and hands back JSON or a stream of SSE events; message semantics
 * stay in gateway.ts.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { CompiledMcpRouteServer } from '../../config/mcp.ts';
import type { McpUpstreamCall } from '../../observability/mcp-record.ts';
import {
  asMessage,
  type JsonRpcMessage,
  LAST_EVENT_ID_HEADER,
  PROTOCOL_VERSION_HEADER,
  SESSION_HEADER,
} from './protocol.ts';
import { type SseEvent, SseParser } from './sse.ts';

export interface UpstreamTarget {
  route: CompiledMcpRouteServer;
  /** The server's `Mcp-Session-Id`, once it gave one. */
  sessionId?: string;
  /** Negotiated with this server; absent before `initialize` answered. */
  protocolVersion?: string;
  /** The client's headers this server may see (MCPServer spec.forwardHeaders). */
  forwarded: Readonly<Record<string, string>>;
  /** Where each HTTP call to the server is noted, for the request's record (its child spans). */
  calls?: McpUpstreamCall[];
}

export type UpstreamReply =
  | { kind: 'accepted'; status: number }
  /** `raw`: the body as the server sent it, for relaying it unchanged. */
  | { kind: 'json'; status: number; sessionId?: string; message: JsonRpcMessage; raw: string }
  /** `call`: this call's entry in the target's list, for the answer found on the stream (noteAnswer). */
  | {
      kind: 'stream';
      status: number;
      sessionId?: string;
      events: AsyncIterable<SseEvent>;
      call?: McpUpstreamCall;
    }
  /** The server answered outside the protocol (4xx/5xx, an unreadable body). */
  | { kind: 'failed'; status: number; detail: string };

export class UpstreamError extends Error {
  constructor(
    readonly server: string,
    message: string,
    /** The HTTP status the server answered outside the protocol with, when it did. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}

/**
 * The request's headers as node:http's flat [name, value, …] list: taken as they are, where an object
 * goes through setHeader's per-name bookkeeping (node:http still validates each name and value).
 */
function headersFor(target: UpstreamTarget, extra: readonly string[]): string[] {
  const headers = [...extra];
  for (const name in target.forwarded) headers.push(name, target.forwarded[name]!);
  const credential = target.route.server.credential;
  if (credential) headers.push(credential.header, credential.value.reveal());
  if (target.sessionId !== undefined) headers.push(SESSION_HEADER, target.sessionId);
  if (target.protocolVersion !== undefined) headers.push(PROTOCOL_VERSION_HEADER, target.protocolVersion);
  return headers;
}

const POST_HEADERS = ['content-type', 'application/json', 'accept', 'application/json, text/event-stream'];

/** Parsed events held before the body is paused: a slow reader does not grow the heap. */
const MAX_QUEUED_EVENTS = 64;

/**
 * SSE events of a response body, as they arrive; the body is never buffered whole. An iterator over
 * the body's 'data' events rather than an async generator over `for await`: two layers of async
 * iteration per chunk cost more than the rest of relaying a tools/call answer's stream. A body that
 * ends without completing (aborted, reset) rejects the next read, as `for await` over it would;
 * `return()` (a reader that stops) destroys the body.
 */
function events(body: IncomingMessage): AsyncIterable<SseEvent> {
  const parser = new SseParser();
  const queue: SseEvent[] = [];
  let ended = false;
  let failure: Error | undefined;
  let waiting: { resolve: (r: IteratorResult<SseEvent>) => void; reject: (e: Error) => void } | undefined;
  const settle = () => {
    const w = waiting;
    if (w === undefined) return;
    if (queue.length > 0) {
      waiting = undefined;
      w.resolve({ value: queue.shift()!, done: false });
    } else if (failure !== undefined) {
      waiting = undefined;
      w.reject(failure);
    } else if (ended) {
      waiting = undefined;
      w.resolve({ value: undefined, done: true });
    }
  };
  body.on('data', (chunk: Buffer) => {
    for (const event of parser.push(chunk)) queue.push(event);
    if (queue.length > MAX_QUEUED_EVENTS) body.pause();
    settle();
  });
  body.once('end', () => {
    parser.end();
    ended = true;
    settle();
  });
  body.once('close', () => {
    if (!ended && !body.complete) failure = new Error('the stream broke off');
    ended = true;
    settle();
  });
  const iterator: AsyncIterator<SseEvent> = {
    next() {
      if (queue.length > 0) {
        const value = queue.shift()!;
        if (queue.length === 0 && body.isPaused()) body.resume();
        return Promise.resolve({ value, done: false });
      }
      if (body.isPaused() && !ended) body.resume();
      if (failure !== undefined) return Promise.reject(failure);
      if (ended) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
      });
    },
    return() {
      ended = true;
      queue.length = 0;
      body.destroy();
      return Promise.resolve({ value: undefined, done: true });
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}

function mediaType(value: string | undefined): string {
  return (value ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

/** Shortened for logs and errors: what a server says on failure is not ours to relay in full. */
function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

/**
 * Keep-alive connections to the servers, reused across requests and sessions. node:http rather than
 * fetch: fetch's WHATWG streams and Headers cost more CPU than the rest of a relayed call together
 * (bench/mcp-tools-call.ts measured it), and the gateway needs neither.
 */
const AGENTS = {
  'http:': new http.Agent({ keepAlive: true, scheduling: 'lifo' }),
  'https:': new https.Agent({ keepAlive: true, scheduling: 'lifo' }),
};

function send(
  to: UpstreamTarget,
  method: string,
  headers: string[],
  body: string | undefined,
  signal: AbortSignal,
  call: McpUpstreamCall | undefined,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const endpoint = to.route.server.endpoint;
    // A header list gets none of node:http's defaults: Host is ours to send (HTTP/1.1 requires it).
    headers.push('host', endpoint.host);
    if (body !== undefined) headers.push('content-length', String(Buffer.byteLength(body)));
    const req = (endpoint.protocol === 'https:' ? https : http).request({
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      port: endpoint.port,
      path: endpoint.path,
      method,
      headers,
      agent: AGENTS[endpoint.protocol],
    });
    const abort = () => req.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal.addEventListener('abort', abort, { once: true });
    req.once('response', (res) => {
      // From here an abort ends the body quietly; whoever reads it sees it end early.
      signal.removeEventListener('abort', abort);
      if (call) call.status = res.statusCode ?? 0;
      const stop = () => res.destroy();
      signal.addEventListener('abort', stop, { once: true });
      res.once('close', () => {
        signal.removeEventListener('abort', stop);
        if (call) call.endMs = Date.now();
      });
      res.on('error', () => undefined);
      resolve(res);
    });
    req.once('error', (error) => {
      signal.removeEventListener('abort', abort);
      if (call && call.endMs === undefined) call.endMs = Date.now();
      reject(error);
    });
    req.end(body);
  });
}

/**
 * Calls noted per request at most: a GET stream open for hours reopens its servers' streams now and
 * then, and its record must not grow with it.
 */
const MAX_NOTED_CALLS = 64;

/** A new entry in the target's call list (none when nobody collects them, or it is full). */
function noteCall(target: UpstreamTarget, method: string): McpUpstreamCall | undefined {
  if (target.calls === undefined || target.calls.length >= MAX_NOTED_CALLS) return undefined;
  const endpoint = target.route.server.endpoint;
  const call: McpUpstreamCall = {
    server: target.route.name,
    method,
    address: endpoint.hostname,
    port: endpoint.port,
    startMs: Date.now(),
    status: 0,
  };
  target.calls.push(call);
  return call;
}

/** What the call's answer says, for its span: a JSON-RPC error, or a tool's `isError` result. */
export function noteAnswer(call: McpUpstreamCall | undefined, message: JsonRpcMessage): void {
  if (call === undefined || 'method' in message) return;
  if (message.error) call.rpcError = message.error.code;
  else if (message.result?.isError === true) call.toolError = true;
}

/** The body as text, by events (cheaper than `for await`'s async iterator). */
function text(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.once('end', () =>
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')),
    );
    // A body cut short (an abort, a reset) ends in 'close' without 'end'.
    res.once('close', () => {
      if (!res.complete) reject(new Error('the response body broke off'));
    });
    res.once('error', reject);
  });
}

function headerOf(res: IncomingMessage, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export async function post(
  target: UpstreamTarget,
  message: JsonRpcMessage,
  signal: AbortSignal,
): Promise<UpstreamReply> {
  const call = noteCall(target, 'method' in message ? message.method : 'response');
  const response = await send(
    target,
    'POST',
    headersFor(target, POST_HEADERS),
    JSON.stringify(message),
    signal,
    call,
  );
  const status = response.statusCode ?? 0;
  const ok = status >= 200 && status < 300;
  const sessionId = headerOf(response, SESSION_HEADER);
  const withSession = <T extends object>(reply: T) =>
    sessionId === undefined ? reply : { ...reply, sessionId };
  if (status === 202) {
    response.resume();
    return { kind: 'accepted', status: 202 };
  }
  const type = mediaType(headerOf(response, 'content-type'));
  if (ok && type === 'text/event-stream')
    return withSession({
      kind: 'stream' as const,
      status,
      events: events(response),
      ...(call ? { call } : {}),
    });
  const body = await text(response);
  if (ok && type === 'application/json') {
    const reply = asMessage(safeParse(body));
    if (reply) {
      noteAnswer(call, reply);
      return withSession({ kind: 'json' as const, status, message: reply, raw: body });
    }
    return { kind: 'failed', status, detail: 'answered with something other than one JSON-RPC message' };
  }
  // A JSON-RPC error body on a 4xx (the SDK server sends one) is still a failure of this server.
  return { kind: 'failed', status, detail: `answered HTTP ${status}${body ? `: ${excerpt(body)}` : ''}` };
}

/**
 * One JSON-RPC request whose answer is all the caller wants (initialize, the list methods): the
 * response with `id`, whether it came as JSON or on an SSE stream. Anything else the server sends on
 * that stream (a log notification, say) has nowhere to go in a single answer and is dropped.
 */
export async function exchange(
  target: UpstreamTarget,
  message: JsonRpcMessage & { id: string | number },
  signal: AbortSignal,
): Promise<{ message: JsonRpcMessage; sessionId?: string }> {
  const server = target.route.name;
  let reply: UpstreamReply;
  try {
    reply = await post(target, message, signal);
  } catch (error) {
    throw new UpstreamError(server, `is unreachable (${(error as Error).message})`);
  }
  if (reply.kind === 'failed') throw new UpstreamError(server, reply.detail, reply.status);
  if (reply.kind === 'accepted') throw new UpstreamError(server, 'accepted a request without answering it');
  const sessionId = reply.sessionId;
  const done = (m: JsonRpcMessage) => (sessionId === undefined ? { message: m } : { message: m, sessionId });
  if (reply.kind === 'json') return done(reply.message);
  try {
    const events = reply.events[Symbol.asyncIterator]();
    for (let next = await events.next(); !next.done; next = await events.next()) {
      const event = next.value;
      if (event.data === '') continue;
      const m = asMessage(safeParse(event.data));
      if (m && !('method' in m) && (m as { id?: unknown }).id === message.id) {
        noteAnswer(reply.call, m);
        // Read the stream's end rather than cutting it off, so the connection is reused.
        const rest = (): Promise<void> => events.next().then((r) => (r.done ? undefined : rest()));
        rest().catch(() => undefined);
        return done(m);
      }
    }
  } catch (error) {
    throw new UpstreamError(server, `stream broke off (${(error as Error).message})`);
  }
  throw new UpstreamError(server, 'closed its stream without answering');
}

export function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The server's GET stream (notifications and requests outside any client request). */
export async function openStream(
  target: UpstreamTarget,
  lastEventId: string | undefined,
  signal: AbortSignal,
): Promise<Extract<UpstreamReply, { kind: 'stream' | 'failed' }>> {
  const extra = ['accept', 'text/event-stream'];
  if (lastEventId !== undefined) extra.push(LAST_EVENT_ID_HEADER, lastEventId);
  const call = noteCall(target, 'GET');
  const response = await send(target, 'GET', headersFor(target, extra), undefined, signal, call);
  const status = response.statusCode ?? 0;
  if (status >= 200 && status < 300 && mediaType(headerOf(response, 'content-type')) === 'text/event-stream')
    return { kind: 'stream', status, events: events(response) };
  const body = await text(response).catch(() => '');
  return { kind: 'failed', status, detail: `answered HTTP ${status}${body ? `: ${excerpt(body)}` : ''}` };
}

/** Ends the server's session (Streamable HTTP § Session Management: DELETE with the session id). */
export async function endSession(target: UpstreamTarget, signal: AbortSignal): Promise<number> {
  const call = noteCall(target, 'DELETE');
  const response = await send(target, 'DELETE', headersFor(target, []), undefined, signal, call);
  response.resume();
  return response.statusCode ?? 0;
}
