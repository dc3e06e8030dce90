/**
 * What the gateway changes in messages between a client and the servers of its session, as pure
 * functions over parsed JSON-RPC (MCP 2025-11-25 schema names):
 * - server → client requests (sampling/createMessage, elicitation/create, roots/list, ping) get an id
 *   the client cannot read or forge: a request-id token (session-id.ts SessionTokens) sealing the
 *   server and its id. The client's answer carries it back; opening it names the server to answer.
 *   A progress token in such a request is sealed the same way, so the client's progress
 *   notifications find their server. Unlike a plain `{id}__{type}__{backend}`, neither can be read,
 *   made up, or aimed at another server or session.
 * - the server's `notifications/cancelled` for one of its requests names the same token (sealing is
 *   deterministic for request ids), and resource URIs gain the server prefix (names.ts).
 * - client → server requests keep their id: each goes to exactly one server (fan-outs are answered by
 *   the gateway), so the id and any progress token in it are unambiguous as they are.
 */
import { prefixedUri } from './names.ts';
import { isRequest, type JsonRpcMessage, type JsonRpcRequest, type RequestId } from './protocol.ts';
import type { SessionTokens } from './session-id.ts';

type Json = Record<string, unknown>;

interface SealedRequestId {
  s: string;
  i: RequestId;
}
interface SealedProgressToken {
  s: string;
  p: string | number;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function withParams(message: JsonRpcMessage, params: Json): JsonRpcMessage {
  return { ...message, params } as JsonRpcMessage;
}

/** A message from `server` as the client sees it. `method` names the client request it answers, if any. */
export function fromServer(
  server: string,
  message: JsonRpcMessage,
  tokens: SessionTokens,
  method?: string,
): JsonRpcMessage {
  if (isRequest(message)) {
    const id = tokens.seal('request-id', { s: server, i: message.id } satisfies SealedRequestId);
    let params = message.params;
    const meta = params?._meta;
    if (
      isObject(meta) &&
      (typeof meta.progressToken === 'string' || typeof meta.progressToken === 'number')
    ) {
      const progressToken = tokens.seal('request-id', {
        s: server,
        p: meta.progressToken,
      } satisfies SealedProgressToken);
      params = { ...params, _meta: { ...meta, progressToken } };
    }
    const out: JsonRpcRequest = { ...message, id };
    if (params !== undefined) out.params = params;
    return out;
  }
  if ('method' in message) {
    const params = message.params;
    if (message.method === 'notifications/resources/updated' && typeof params?.uri === 'string')
      return withParams(message, { ...params, uri: prefixedUri(server, params.uri) });
    if (
      message.method === 'notifications/cancelled' &&
      (typeof params?.requestId === 'string' || typeof params?.requestId === 'number')
    )
      return withParams(message, {
        ...params,
        requestId: tokens.seal('request-id', { s: server, i: params.requestId } satisfies SealedRequestId),
      });
    return message;
  }
  if (method === undefined || !isObject(message.result)) return message;
  const result = rewriteResult(server, method, message.result);
  // Unchanged (no resource URI in it): the same object, so the gateway can relay the server's bytes.
  return result === message.result ? message : { ...message, result };
}

/** `list` mapped, or `list` itself when `fn` changed no item. */
function mapSame(list: unknown[], fn: (item: unknown) => unknown): unknown[] {
  let out: unknown[] | undefined;
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    const mapped = fn(item);
    if (mapped !== item && out === undefined) out = list.slice(0, i);
    if (out !== undefined) out.push(mapped);
  }
  return out ?? list;
}

function withList(result: Json, field: string, fn: (item: unknown) => unknown): Json {
  const list = result[field];
  if (!Array.isArray(list)) return result;
  const mapped = mapSame(list, fn);
  return mapped === list ? result : { ...result, [field]: mapped };
}

/** Resource URIs inside a result, prefixed so a later resources/read finds the server. */
export function rewriteResult(server: string, method: string, result: Json): Json {
  switch (method) {
    case 'tools/call':
      return withList(result, 'content', (c) => content(server, c));
    case 'prompts/get':
      return withList(result, 'messages', (m) => {
        if (!isObject(m) || m.content === undefined) return m;
        const inner = content(server, m.content);
        return inner === m.content ? m : { ...m, content: inner };
      });
    case 'resources/read':
      return withList(result, 'contents', (c) => withUri(server, c));
    default:
      return result;
  }
}

function withUri(server: string, value: unknown): unknown {
  return isObject(value) && typeof value.uri === 'string'
    ? { ...value, uri: prefixedUri(server, value.uri) }
    : value;
}

function content(server: string, item: unknown): unknown {
  if (!isObject(item)) return item;
  if (item.type === 'resource_link') return withUri(server, item);
  if (item.type === 'resource' && isObject(item.resource))
    return { ...item, resource: withUri(server, item.resource) };
  return item;
}

/** The server and original id behind a request-id token the client answers with, if it is one of ours. */
export function openRequestId(tokens: SessionTokens, id: unknown): SealedRequestId | undefined {
  if (typeof id !== 'string') return undefined;
  const value = tokens.open('request-id', id);
  if (!isObject(value) || typeof value.s !== 'string') return undefined;
  return typeof value.i === 'string' || typeof value.i === 'number' ? { s: value.s, i: value.i } : undefined;
}

/** The server and original progress token behind a sealed progress token. */
export function openProgressToken(tokens: SessionTokens, token: unknown): SealedProgressToken | undefined {
  if (typeof token !== 'string') return undefined;
  const value = tokens.open('request-id', token);
  if (!isObject(value) || typeof value.s !== 'string') return undefined;
  return typeof value.p === 'string' || typeof value.p === 'number' ? { s: value.s, p: value.p } : undefined;
}
