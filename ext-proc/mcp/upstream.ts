/**
 * The gateway's side of Streamable HTTP towards one MCP server, over plain `fetch` (undici).
 *
 * Why not the SDK's Client / StreamableHTTPClientTransport: the gateway is stateless per request — the
 * upstream session id and protocol version come out of the client's session id on every request, on
 * whichever replica — while the SDK client owns one long-lived connection state per instance and would
 * have to be rebuilt (and re-`initialize`d) per request. It also parses every message through its zod
 * schemas and answers server→client requests itself, where the gateway must pass bytes through and
 * relay those requests to its own client. So this module sends the few HTTP requests the transport
 * defines and hands back JSON or a stream of SSE events; message semantics stay in gateway.ts.
 */
import type { CompiledMcpRouteServer } from '../../config/mcp.ts';
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
}

export type UpstreamReply =
  | { kind: 'accepted'; status: number }
  | { kind: 'json'; status: number; sessionId?: string; message: JsonRpcMessage }
  | { kind: 'stream'; status: number; sessionId?: string; events: AsyncIterable<SseEvent> }
  /** The server answered outside the protocol (4xx/5xx, an unreadable body). */
  | { kind: 'failed'; status: number; detail: string };

export class UpstreamError extends Error {
  constructor(
    readonly server: string,
    message: string,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}

function headersFor(target: UpstreamTarget, extra: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = { ...target.forwarded, ...extra };
  const credential = target.route.server.credential;
  if (credential) headers[credential.header] = credential.value.reveal();
  if (target.sessionId !== undefined) headers[SESSION_HEADER] = target.sessionId;
  if (target.protocolVersion !== undefined) headers[PROTOCOL_VERSION_HEADER] = target.protocolVersion;
  return headers;
}

/** SSE events of a response body, as they arrive; the body is never buffered whole. */
async function* events(body: ReadableStream<Uint8Array>): AsyncIterable<SseEvent> {
  const parser = new SseParser();
  for await (const chunk of body) for (const event of parser.push(chunk)) yield event;
  parser.end();
}

function mediaType(value: string | null): string {
  return (value ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

/** Shortened for logs and errors: what a server says on failure is not ours to relay in full. */
function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

export async function post(
  target: UpstreamTarget,
  message: JsonRpcMessage,
  signal: AbortSignal,
): Promise<UpstreamReply> {
  const response = await fetch(target.route.server.url, {
    method: 'POST',
    headers: headersFor(target, {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    }),
    body: JSON.stringify(message),
    signal,
  });
  const sessionId = response.headers.get(SESSION_HEADER) ?? undefined;
  const withSession = <T extends object>(reply: T) =>
    sessionId === undefined ? reply : { ...reply, sessionId };
  if (response.status === 202) {
    await response.body?.cancel();
    return { kind: 'accepted', status: 202 };
  }
  const type = mediaType(response.headers.get('content-type'));
  if (response.ok && type === 'text/event-stream' && response.body)
    return withSession({ kind: 'stream' as const, status: response.status, events: events(response.body) });
  const text = await response.text();
  if (response.ok && type === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { kind: 'failed', status: response.status, detail: 'answered with invalid JSON' };
    }
    const reply = asMessage(parsed);
    if (reply) return withSession({ kind: 'json' as const, status: response.status, message: reply });
    return {
      kind: 'failed',
      status: response.status,
      detail: 'answered with something other than one JSON-RPC message',
    };
  }
  // A JSON-RPC error body on a 4xx (the SDK server sends one) is still a failure of this server.
  return {
    kind: 'failed',
    status: response.status,
    detail: `answered HTTP ${response.status}${text ? `: ${excerpt(text)}` : ''}`,
  };
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
  if (reply.kind === 'failed') throw new UpstreamError(server, reply.detail);
  if (reply.kind === 'accepted') throw new UpstreamError(server, 'accepted a request without answering it');
  const sessionId = reply.sessionId;
  const done = (m: JsonRpcMessage) => (sessionId === undefined ? { message: m } : { message: m, sessionId });
  if (reply.kind === 'json') return done(reply.message);
  try {
    for await (const event of reply.events) {
      if (event.data === '') continue;
      const m = asMessage(safeParse(event.data));
      if (m && !('method' in m) && (m as { id?: unknown }).id === message.id) return done(m);
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
  const extra: Record<string, string> = { accept: 'text/event-stream' };
  if (lastEventId !== undefined) extra[LAST_EVENT_ID_HEADER] = lastEventId;
  const response = await fetch(target.route.server.url, {
    method: 'GET',
    headers: headersFor(target, extra),
    signal,
  });
  if (response.ok && mediaType(response.headers.get('content-type')) === 'text/event-stream' && response.body)
    return { kind: 'stream', status: response.status, events: events(response.body) };
  const text = await response.text().catch(() => '');
  return {
    kind: 'failed',
    status: response.status,
    detail: `answered HTTP ${response.status}${text ? `: ${excerpt(text)}` : ''}`,
  };
}

/** Ends the server's session (Streamable HTTP § Session Management: DELETE with the session id). */
export async function endSession(target: UpstreamTarget, signal: AbortSignal): Promise<number> {
  const response = await fetch(target.route.server.url, {
    method: 'DELETE',
    headers: headersFor(target, {}),
    signal,
  });
  await response.body?.cancel();
  return response.status;
}
