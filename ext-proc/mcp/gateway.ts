/**
 * The MCP gateway: one Streamable HTTP endpoint (MCP 2025-11-25, Basic › Transports › Streamable
 * HTTP) in front of the MCP servers a caller's RouteConfig exposes (`spec.mcp`). It runs in the
 * ext-proc process on its own HTTP port, behind Envoy, not as an ext_proc filter: ext_proc cannot
 * answer with a stream it produces, nor make streaming calls of its own (as Envoy AI Gateway's
 * MCPRoute concluded too).
 *
 * One client session = one upstream session per server, opened by a parallel `initialize` and kept
 * in the opaque session id (session-id.ts), so every replica serves every session and nothing is held
 * between requests except open streams. Per request: authenticate the gateway key (ext-proc/auth),
 * decode the session id under that key (any failure is an unknown session: 404), then
 * - list methods fan out and return the union, names prefixed per server (names.ts), filters applied;
 * - a call goes to the server its prefix names, its answer (JSON or an SSE stream) relayed back with
 *   server→client requests re-identified (rewrite.ts);
 * - GET merges the servers' streams, each event id sealing every server's position, so a client
 *   reconnecting with `Last-Event-ID` resumes every server where it left off;
 * - DELETE ends the session on every server that has one.
 * A server that fails costs only its own tools and entries, with a JSON-RPC error naming it.
 */
import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sha256 } from '../../config/compile.ts';
import type { CompiledMcpRoute, CompiledMcpRouteServer } from '../../config/mcp.ts';
import type { CompiledRouteConfig, Snapshot } from '../../config/snapshot.ts';
import { infoLineWriter, type Logger } from '../../observability/logger.ts';
import type { McpMetrics } from '../../observability/mcp-metrics.ts';
import type { McpObserver, McpRequestRecord, McpUpstreamCall } from '../../observability/mcp-record.ts';
import { authenticate, presentedKey } from '../auth/authenticate.ts';
import { AgentRouterError } from '../errors.ts';
import { matches } from '../router/match.ts';
import type { SessionHasher } from '../session-hash.ts';
import { traceContextOf } from '../trace-context.ts';
import { EndedSessions } from './ended-sessions.ts';
import { prefixedName, prefixedUri, splitName, splitUri } from './names.ts';
import {
  asMessage,
  DEFAULT_PROTOCOL_VERSION,
  errorResponse,
  INTERNAL_ERROR,
  INVALID_PARAMS,
  INVALID_REQUEST,
  isNotification,
  isRequest,
  type JsonRpcMessage,
  type JsonRpcRequest,
  type JsonRpcResponse,
  LAST_EVENT_ID_HEADER,
  LATEST_PROTOCOL_VERSION,
  METHOD_NOT_FOUND,
  PARSE_ERROR,
  PROTOCOL_VERSION_HEADER,
  resultResponse,
  SESSION_HEADER,
  SUPPORTED_PROTOCOL_VERSIONS,
  UPSTREAM_UNAVAILABLE,
} from './protocol.ts';
import { fromServer, openProgressToken, openRequestId } from './rewrite.ts';
import {
  type GatewaySession,
  type SessionBinding,
  type SessionIdCodec,
  SessionIdTooLargeError,
  SessionTokens,
  type UpstreamSession,
} from './session-id.ts';
import { sseMessage } from './sse.ts';
import {
  endSession,
  exchange,
  noteAnswer,
  openStream,
  post,
  safeParse,
  UpstreamError,
  type UpstreamTarget,
} from './upstream.ts';

export const DEFAULT_MCP_PORT = 9191;
const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
const DEFAULT_FANOUT_TIMEOUT_MS = 30_000;
/** SSE comment every so often, so no proxy on the way times an idle GET stream out. */
const KEEPALIVE_MS = 25_000;
/** A server's GET stream that ends is reopened (from its last event id) this many times in a row. */
const STREAM_REOPEN_ATTEMPTS = 3;
const SERVER_INFO = { name: 'agent-router', version: '0.1.0' };
/** `_meta` key (MCP `_meta` naming: a reverse-DNS prefix) listing servers left out of a list answer. */
const UNAVAILABLE_META = 'agentrouter.dev/unavailable-servers';
/**
 * Sessions decoded recently, so a session's later requests skip the AES-GCM open, the JSON parse, the
 * keyed log hash and the token keys: a client makes many requests per session. Bounded, oldest first.
 */
const SESSION_CACHE_SIZE = 10_000;

type Json = Record<string, unknown>;

/** Metric label values for `method`: the MCP 2025-11-25 methods a client sends, and the HTTP verbs. */
const METRIC_METHODS: ReadonlySet<string> = new Set([
  'initialize',
  'ping',
  'tools/list',
  'tools/call',
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'completion/complete',
  'logging/setLevel',
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/progress',
  'notifications/roots/list_changed',
  'response',
  'batch',
  'GET',
  'DELETE',
  'POST',
]);

export interface McpGatewayOptions {
  store: { readonly current: Snapshot };
  codec: SessionIdCodec;
  logger: Logger;
  metrics: McpMetrics;
  /** Keyed hash for the session field of log lines (ext-proc/session-hash.ts); never the id itself. */
  hashSession: SessionHasher;
  maxBodyBytes?: number;
  /** Bound on each server's answer to initialize and the list methods. */
  fanoutTimeoutMs?: number;
  /** Readers of each request's record (the OTel exporter's spans); none by default. */
  observers?: readonly McpObserver[];
  /** How many DELETEd sessions this instance remembers to refuse (ended-sessions.ts). */
  endedSessionCapacity?: number;
}

/** What the log line and metrics of one MCP request say. */
interface Outcome {
  method: string;
  server?: string;
  servers?: string[];
  tool?: string;
  prompt?: string;
  status: number;
  rpcError?: number;
  toolError?: boolean;
  protocolVersion?: string;
  session?: string;
  routeConfig?: string;
  keyId?: string;
  /** The calls made to servers, collected only when there are observers for them. */
  calls?: McpUpstreamCall[];
}

/** One authenticated request inside a known session. */
interface Context {
  caller: { keyId: string; routeConfig: CompiledRouteConfig; attributes: Readonly<Record<string, string>> };
  route: CompiledMcpRoute;
  binding: SessionBinding;
  sessionId: string;
  session: GatewaySession;
  tokens: SessionTokens;
  req: IncomingMessage;
  /** The session's servers still configured on the route, by name. */
  upstreams: Map<string, { route: CompiledMcpRouteServer; upstream: UpstreamSession }>;
  calls: McpUpstreamCall[] | undefined;
}

/** A decoded session id, kept for the binding it was decoded under (SESSION_CACHE_SIZE). */
interface DecodedSession {
  /** routeConfigId and key hash: a hit needs the very binding the AAD held. */
  binding: string;
  session: GatewaySession;
  hash: string;
  tokens: SessionTokens;
  /** The route the upstreams were resolved against; a new snapshot's route resolves them anew. */
  route: CompiledMcpRoute;
  upstreams: Context['upstreams'];
}

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly rpcCode = INVALID_REQUEST,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class McpGateway {
  private readonly maxBodyBytes: number;
  private readonly fanoutTimeoutMs: number;
  private readonly observers: readonly McpObserver[];
  private readonly ended: EndedSessions;
  private readonly sessions = new Map<string, DecodedSession>();
  private readonly writeLine: (fields: Record<string, unknown>, msg: string) => void;
  /** Metric children by label values: resolving labels is most of an inc's cost. */
  private readonly children = new Map<
    string,
    { requests: { inc(): void }; latency: { observe(value: number): void } }
  >();

  constructor(private readonly options: McpGatewayOptions) {
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.fanoutTimeoutMs = options.fanoutTimeoutMs ?? DEFAULT_FANOUT_TIMEOUT_MS;
    this.observers = options.observers ?? [];
    this.ended = new EndedSessions(options.endedSessionCapacity);
    this.writeLine = infoLineWriter(options.logger);
  }

  /** The node:http request listener. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const start = process.hrtime.bigint();
    const time = Date.now();
    const outcome: Outcome = { method: req.method ?? '', status: 0 };
    if (this.observers.length > 0) outcome.calls = [];
    this.dispatch(req, res, outcome)
      .catch((error: unknown) => {
        if (error instanceof HttpFailure) {
          outcome.status = error.status;
          this.sendJson(res, error.status, errorResponse(null, error.rpcCode, error.message), error.headers);
        } else {
          outcome.status = 500;
          this.options.logger.error({ event: 'mcp_bug', err: error }, 'MCP request failed');
          this.sendJson(res, 500, errorResponse(null, INTERNAL_ERROR, 'internal error in the MCP gateway'));
        }
      })
      .finally(() => this.record(outcome, start, time, req));
  };

  private record(outcome: Outcome, start: bigint, time: number, req: IncomingMessage): void {
    const latencyMs = Number(process.hrtime.bigint() - start) / 1e6;
    const { metrics } = this.options;
    const routeConfig = outcome.routeConfig ?? '';
    const label =
      outcome.rpcError !== undefined
        ? outcome.rpcError === UPSTREAM_UNAVAILABLE
          ? 'upstream_error'
          : 'rpc_error'
        : outcome.status >= 200 && outcome.status < 300
          ? 'ok'
          : `http_${outcome.status}`;
    const servers = outcome.servers ?? [outcome.server ?? ''];
    // The method is the client's string: only the protocol's own become label values.
    const method = METRIC_METHODS.has(outcome.method) ? outcome.method : 'other';
    for (const server of servers) {
      const key = `${routeConfig}\u0000${method}\u0000${server}\u0000${label}`;
      let child = this.children.get(key);
      if (!child) {
        if (this.children.size >= 10_000) this.children.clear();
        child = {
          requests: metrics.requests.labels(routeConfig, method, server, label),
          latency: metrics.latency.labels(routeConfig, method, server),
        };
        this.children.set(key, child);
      }
      child.requests.inc();
      child.latency.observe(latencyMs / 1000);
    }
    // Method, server, tool, status, latency, session hash: never arguments, results, ids or keys.
    this.writeLine(
      {
        event: 'mcp_request',
        method: outcome.method,
        server: outcome.server,
        servers: outcome.servers,
        tool: outcome.tool,
        status: outcome.status,
        rpcError: outcome.rpcError,
        latencyMs: Math.round(latencyMs * 100) / 100,
        session: outcome.session,
        routeConfig: outcome.routeConfig,
        keyId: outcome.keyId,
      },
      'mcp request',
    );
    if (outcome.calls !== undefined) this.observe(outcome, latencyMs, time, req);
  }

  /** The request's record to each observer; one that throws keeps neither the others nor the client from theirs. */
  private observe(outcome: Outcome, latencyMs: number, time: number, req: IncomingMessage): void {
    const record: McpRequestRecord = {
      time,
      latencyMs,
      method: outcome.method,
      status: outcome.status,
      calls: outcome.calls ?? [],
    };
    if (outcome.server !== undefined) record.server = outcome.server;
    if (outcome.servers !== undefined) record.servers = outcome.servers;
    if (outcome.tool !== undefined) record.tool = outcome.tool;
    if (outcome.prompt !== undefined) record.prompt = outcome.prompt;
    if (outcome.rpcError !== undefined) record.rpcError = outcome.rpcError;
    if (outcome.toolError) record.toolError = true;
    if (outcome.protocolVersion !== undefined) record.protocolVersion = outcome.protocolVersion;
    if (outcome.routeConfig !== undefined) record.routeConfig = outcome.routeConfig;
    if (outcome.keyId !== undefined) record.keyId = outcome.keyId;
    if (outcome.session !== undefined) record.sessionHash = outcome.session;
    const trace = traceContextOf({}, (name) => header(req, name));
    if (trace) {
      record.traceParent = trace.traceParent;
      if (trace.traceState !== undefined) record.traceState = trace.traceState;
    }
    for (const observer of this.observers) {
      try {
        observer.onMcpRequest(record);
      } catch (error) {
        this.options.logger.warn(
          { event: 'mcp_observer_failed', err: error },
          'an MCP request observer failed',
        );
      }
    }
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse, outcome: Outcome): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const { caller, key } = this.authenticate(req);
    outcome.routeConfig = caller.routeConfig.id;
    outcome.keyId = caller.keyId;
    const route = caller.routeConfig.mcp;
    if (!route || route.path !== path)
      throw new HttpFailure(404, `no MCP endpoint at ${path} for this key's RouteConfig`);
    const binding: SessionBinding = {
      routeConfigId: caller.routeConfig.id,
      keyHash: key === undefined ? undefined : sha256(key),
    };
    if (req.method === 'POST') return this.onPost(req, res, outcome, caller, route, binding);
    if (req.method === 'GET' || req.method === 'DELETE') {
      const ctx = this.context(req, caller, route, binding, outcome);
      return req.method === 'GET' ? this.onGet(ctx, res, outcome) : this.onDelete(ctx, res, outcome);
    }
    throw new HttpFailure(405, `method ${req.method} is not part of Streamable HTTP`, INVALID_REQUEST, {
      allow: 'GET, POST, DELETE',
    });
  }

  private authenticate(req: IncomingMessage): { caller: Context['caller']; key: string | undefined } {
    try {
      const key = presentedKey(header(req, 'authorization'), header(req, 'x-api-key'));
      return { caller: authenticate(this.options.store.current, key), key };
    } catch (error) {
      if (error instanceof AgentRouterError) throw new HttpFailure(error.status, error.message);
      throw error;
    }
  }

  /** The session the request names, decoded under the caller's key: 400 without one, 404 for any other. */
  private context(
    req: IncomingMessage,
    caller: Context['caller'],
    route: CompiledMcpRoute,
    binding: SessionBinding,
    outcome: Outcome,
  ): Context {
    const sessionId = header(req, SESSION_HEADER);
    if (sessionId === undefined) throw new HttpFailure(400, 'Bad Request: Mcp-Session-Id header is required');
    const decoded = this.decodeSession(sessionId, binding, route);
    // Not found whatever the reason (tampered, another key's, an old key version, ended here): the
    // spec's answer to an unknown session, which tells the client to initialize a new one.
    if (!decoded) throw new HttpFailure(404, 'Session not found', -32001);
    outcome.session = decoded.hash;
    const version = header(req, PROTOCOL_VERSION_HEADER) ?? DEFAULT_PROTOCOL_VERSION;
    if (!SUPPORTED_PROTOCOL_VERSIONS.includes(version))
      throw new HttpFailure(400, `Bad Request: unsupported MCP-Protocol-Version ${version}`);
    outcome.protocolVersion = decoded.session.protocolVersion;
    return {
      caller,
      route,
      binding,
      sessionId,
      session: decoded.session,
      tokens: decoded.tokens,
      req,
      upstreams: decoded.upstreams,
      calls: outcome.calls,
    };
  }

  /**
   * The session the id holds under this binding, from the cache when this very id was decoded under
   * this very binding before (what the AES-GCM open would conclude again); undefined when it does not
   * decode, or this instance ended it.
   */
  private decodeSession(
    sessionId: string,
    binding: SessionBinding,
    route: CompiledMcpRoute,
  ): DecodedSession | undefined {
    const bindingKey = `${binding.routeConfigId}\u0000${binding.keyHash?.toString('base64') ?? ''}`;
    let entry = this.sessions.get(sessionId);
    if (entry && entry.binding !== bindingKey) entry = undefined;
    if (!entry) {
      // An ended session is never cached (onDelete drops it), so only a miss needs the ended check.
      if (this.ended.has(sessionId)) return undefined;
      const decoded = this.options.codec.decode(sessionId, binding);
      if (!decoded.ok) return undefined;
      entry = {
        binding: bindingKey,
        session: decoded.session,
        hash: this.options.hashSession(sessionId),
        tokens: new SessionTokens(this.options.codec, sessionId),
        route,
        upstreams: resolveUpstreams(decoded.session, route),
      };
      // Only a decoded id enters: made-up ids cannot push real sessions out.
      this.sessions.delete(sessionId);
      if (this.sessions.size >= SESSION_CACHE_SIZE) this.sessions.delete(this.sessions.keys().next().value!);
      this.sessions.set(sessionId, entry);
    } else if (entry.route !== route) {
      entry.route = route;
      entry.upstreams = resolveUpstreams(entry.session, route);
    }
    return entry;
  }

  private target(ctx: Context, name: string): UpstreamTarget | undefined {
    const entry = ctx.upstreams.get(name);
    if (!entry) return undefined;
    return upstreamTarget(
      entry.route,
      ctx.req,
      entry.upstream.sessionId,
      entry.upstream.protocolVersion,
      ctx.calls,
    );
  }

  // POST: one JSON-RPC message per request, or a batch in a session that speaks 2025-03-26.

  private async onPost(
    req: IncomingMessage,
    res: ServerResponse,
    outcome: Outcome,
    caller: Context['caller'],
    route: CompiledMcpRoute,
    binding: SessionBinding,
  ): Promise<void> {
    const body = await readBody(req, this.maxBodyBytes);
    const parsed = safeParse(body);
    if (parsed === undefined) {
      outcome.status = 400;
      outcome.rpcError = PARSE_ERROR;
      return this.sendJson(res, 400, errorResponse(null, PARSE_ERROR, 'Parse error: the body is not JSON'));
    }
    if (Array.isArray(parsed)) return this.batch(req, res, outcome, caller, route, binding, parsed);
    const message = asMessage(parsed);
    if (!message) throw new HttpFailure(400, 'the body is not a JSON-RPC 2.0 message');
    if ('method' in message) outcome.method = message.method;
    if (isRequest(message) && message.method === 'initialize')
      return this.initialize(req, res, outcome, caller, route, binding, message);
    const ctx = this.context(req, caller, route, binding, outcome);
    if (isRequest(message)) return this.request(ctx, res, outcome, message);
    outcome.method = isNotification(message) ? message.method : 'response';
    await this.clientNotificationOrResponse(ctx, outcome, message);
    outcome.status = 202;
    res.writeHead(202).end();
  }

  /**
   * A JSON-RPC batch. MCP 2025-03-26 (Transports › Streamable HTTP › Sending Messages to the Server)
   * lets a POST body be "an array batching one or more requests and/or notifications" or "one or more
   * responses"; 2025-06-18 removed batching (its changelog: "Remove support for JSON-RPC batching"),
   * so only a session that negotiated 2025-03-26 may send one, and any other gets a JSON-RPC error.
   * - only notifications and responses: 202 Accepted with no body, as for a single one;
   * - any request: an SSE stream ("MUST either return Content-Type: text/event-stream … or
   *   application/json"), on which each member's messages go as they come — a member's
   *   server→client request (sampling) must reach the client before that member can be answered —
   *   and which ends once every request has its response. Members run concurrently (JSON-RPC 2.0 §6:
   *   "MAY process a batch rpc call as a set of concurrent tasks"); an invalid member is answered with
   *   an Invalid Request error of id null, an empty batch with one such error (§6).
   * `initialize` is refused in a batch: its answer opens the session the other members would need,
   * and the session id travels in the one response's header.
   */
  private async batch(
    req: IncomingMessage,
    res: ServerResponse,
    outcome: Outcome,
    caller: Context['caller'],
    route: CompiledMcpRoute,
    binding: SessionBinding,
    members: unknown[],
  ): Promise<void> {
    outcome.method = 'batch';
    if (members.length === 0)
      throw new HttpFailure(400, 'Invalid Request: an empty JSON-RPC batch', INVALID_REQUEST);
    const messages = members.map(asMessage);
    if (messages.some((m) => m !== undefined && isRequest(m) && m.method === 'initialize'))
      throw new HttpFailure(400, 'Invalid Request: initialize must be sent alone, not in a batch');
    const ctx = this.context(req, caller, route, binding, outcome);
    if (!batchesAllowed(ctx.session.protocolVersion))
      throw new HttpFailure(
        400,
        `Invalid Request: JSON-RPC batches were removed in MCP 2025-06-18 and this session speaks ` +
          `${ctx.session.protocolVersion}; send one message per request`,
      );
    const servers = new Set<string>();
    const member = (): Outcome => ({ method: '', status: 0 });
    const merge = (m: Outcome) => {
      if (m.server) servers.add(m.server);
      for (const name of m.servers ?? []) servers.add(name);
      if (m.rpcError !== undefined) outcome.rpcError ??= m.rpcError;
      if (m.toolError) outcome.toolError = true;
    };
    const requests = messages.filter((m) => m !== undefined && isRequest(m)) as JsonRpcRequest[];
    const invalid = messages.filter((m) => m === undefined).length;
    // Notifications and responses are delivered before any request runs, as a client that sends
    // `notifications/cancelled` or an answer beside a request would expect.
    for (const message of messages) {
      if (message === undefined || isRequest(message)) continue;
      const m = member();
      try {
        await this.clientNotificationOrResponse(ctx, m, message);
      } catch (error) {
        // A response that answers nothing has no id of its own to answer with: it is left out.
        if (!(error instanceof HttpFailure)) throw error;
      }
      merge(m);
    }
    if (requests.length === 0 && invalid === 0) {
      outcome.servers = [...servers];
      outcome.status = 202;
      res.writeHead(202).end();
      return;
    }
    outcome.status = 200;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    for (let i = 0; i < invalid; i++)
      res.write(sseMessage(JSON.stringify(errorResponse(null, INVALID_REQUEST, 'Invalid Request'))));
    await Promise.all(
      requests.map(async (message) => {
        const m = member();
        const out = new BatchMemberResponse(res);
        try {
          await this.request(ctx, out as unknown as ServerResponse, m, message);
        } catch (error) {
          // A member whose session broke (a server forgot it) is answered, the others go on.
          const text = error instanceof HttpFailure ? error.message : 'internal error in the MCP gateway';
          const code = error instanceof HttpFailure ? error.rpcCode : INTERNAL_ERROR;
          if (!(error instanceof HttpFailure))
            this.options.logger.error({ event: 'mcp_bug', err: error }, 'MCP batch member failed');
          m.rpcError = code;
          if (!out.ended) res.write(sseMessage(JSON.stringify(errorResponse(message.id, code, text))));
        } finally {
          out.done();
        }
        merge(m);
      }),
    );
    outcome.servers = [...servers];
    res.end();
  }

  private async initialize(
    req: IncomingMessage,
    res: ServerResponse,
    outcome: Outcome,
    caller: Context['caller'],
    route: CompiledMcpRoute,
    binding: SessionBinding,
    message: JsonRpcRequest,
  ): Promise<void> {
    const requested = message.params?.protocolVersion;
    // Lifecycle › Version Negotiation: answer the client's version if supported, else our latest.
    const version =
      typeof requested === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(requested)
        ? requested
        : LATEST_PROTOCOL_VERSION;
    const input = { header: (name: string) => header(req, name), attributes: caller.attributes };
    const servers = route.servers.filter((s) => !s.match || matches(s.match, input));
    outcome.servers = servers.map((s) => s.name);
    outcome.protocolVersion = version;
    const signal = AbortSignal.timeout(this.fanoutTimeoutMs);
    const answers = await Promise.allSettled(
      servers.map(async (s) => {
        const forwarded: JsonRpcRequest = {
          ...message,
          params: { ...message.params, protocolVersion: version },
        };
        const reply = await exchange(
          upstreamTarget(s, req, undefined, undefined, outcome.calls),
          forwarded,
          signal,
        );
        const result = (reply.message as JsonRpcResponse).result;
        if (!isObject(result))
          throw new UpstreamError(s.name, `refused initialize: ${describeError(reply.message)}`);
        const upstream: UpstreamSession = {
          server: s.name,
          protocolVersion: typeof result.protocolVersion === 'string' ? result.protocolVersion : version,
          capabilities: isObject(result.capabilities) ? result.capabilities : {},
        };
        if (reply.sessionId !== undefined) upstream.sessionId = reply.sessionId;
        return {
          upstream,
          instructions: typeof result.instructions === 'string' ? result.instructions : undefined,
        };
      }),
    );
    const upstreams: UpstreamSession[] = [];
    const instructions: string[] = [];
    const failed: string[] = [];
    answers.forEach((a, i) => {
      const name = servers[i]!.name;
      if (a.status === 'fulfilled') {
        upstreams.push(a.value.upstream);
        if (a.value.instructions) instructions.push(`[${name}] ${a.value.instructions}`);
      } else {
        failed.push(`${name} ${reason(a.reason)}`);
        this.options.logger.warn(
          { event: 'mcp_initialize_failed', server: name, reason: reason(a.reason) },
          'MCP server did not initialize',
        );
      }
    });
    if (upstreams.length === 0 && servers.length > 0) {
      outcome.status = 200;
      outcome.rpcError = UPSTREAM_UNAVAILABLE;
      return this.sendJson(
        res,
        200,
        errorResponse(
          message.id,
          UPSTREAM_UNAVAILABLE,
          `no MCP server of this route answered initialize: ${failed.join('; ')}`,
        ),
      );
    }
    const session: GatewaySession = {
      protocolVersion: version,
      upstreams,
      issuedAt: Math.floor(Date.now() / 1000),
    };
    let sessionId: string;
    try {
      sessionId = this.options.codec.encode(session, binding);
    } catch (error) {
      if (error instanceof SessionIdTooLargeError) throw new HttpFailure(500, error.message, INTERNAL_ERROR);
      throw error;
    }
    outcome.session = this.options.hashSession(sessionId);
    const result: Json = {
      protocolVersion: version,
      capabilities: unionCapabilities(upstreams.map((u) => u.capabilities)),
      serverInfo: SERVER_INFO,
    };
    if (failed.length > 0)
      instructions.push(`Unavailable MCP servers (their tools are missing): ${failed.join('; ')}`);
    if (instructions.length > 0) result.instructions = instructions.join('\n\n');
    outcome.status = 200;
    this.sendJson(res, 200, resultResponse(message.id, result), { [SESSION_HEADER]: sessionId });
  }

  private async request(
    ctx: Context,
    res: ServerResponse,
    outcome: Outcome,
    message: JsonRpcRequest,
  ): Promise<void> {
    const params = message.params ?? {};
    switch (message.method) {
      case 'ping':
        outcome.status = 200;
        return this.sendJson(res, 200, resultResponse(message.id, {}));
      case 'tools/list':
        return this.list(ctx, res, outcome, message, 'tools', 'tools');
      case 'prompts/list':
        return this.list(ctx, res, outcome, message, 'prompts', 'prompts');
      case 'resources/list':
        return this.list(ctx, res, outcome, message, 'resources', 'resources');
      case 'resources/templates/list':
        return this.list(ctx, res, outcome, message, 'resources', 'resourceTemplates');
      case 'logging/setLevel':
        return this.broadcast(ctx, res, outcome, message, 'logging');
      case 'tools/call':
      case 'prompts/get': {
        const parts = splitName(params.name);
        if (message.method === 'tools/call') outcome.tool = parts?.name;
        else outcome.prompt = parts?.name;
        const entry = parts && ctx.upstreams.get(parts.server);
        const exposed =
          entry && (message.method !== 'tools/call' || entry.route.server.exposesTool(parts.name));
        if (!parts || !entry || !exposed) {
          outcome.server = parts?.server;
          return this.rpcError(
            res,
            outcome,
            message,
            INVALID_PARAMS,
            `Unknown ${message.method === 'tools/call' ? 'tool' : 'prompt'}: ${String(params.name)}`,
          );
        }
        return this.forward(ctx, res, outcome, parts.server, {
          ...message,
          params: { ...params, name: parts.name },
        });
      }
      case 'resources/read':
      case 'resources/subscribe':
      case 'resources/unsubscribe': {
        const parts = splitUri(params.uri);
        if (!parts || !ctx.upstreams.has(parts.server))
          return this.rpcError(res, outcome, message, -32002, `Resource not found: ${String(params.uri)}`);
        return this.forward(ctx, res, outcome, parts.server, {
          ...message,
          params: { ...params, uri: parts.uri },
        });
      }
      case 'completion/complete': {
        const ref = isObject(params.ref) ? params.ref : {};
        const parts = ref.type === 'ref/prompt' ? splitName(ref.name) : splitUri(ref.uri);
        if (!parts || !ctx.upstreams.has(parts.server))
          return this.rpcError(
            res,
            outcome,
            message,
            INVALID_PARAMS,
            'completion/complete names no prompt or resource of this session',
          );
        const inner = 'name' in parts ? { ...ref, name: parts.name } : { ...ref, uri: parts.uri };
        return this.forward(ctx, res, outcome, parts.server, {
          ...message,
          params: { ...params, ref: inner },
        });
      }
      default:
        return this.rpcError(res, outcome, message, METHOD_NOT_FOUND, `Method not found: ${message.method}`);
    }
  }

  private rpcError(
    res: ServerResponse,
    outcome: Outcome,
    message: JsonRpcRequest,
    code: number,
    text: string,
    data?: unknown,
  ): void {
    outcome.status = 200;
    outcome.rpcError = code;
    this.sendJson(res, 200, errorResponse(message.id, code, text, data));
  }

  /**
   * tools/list and the like: the first page asks every server of the session that declared the
   * capability; the cursor (a sealed token) holds the next cursor of each server that has more pages.
   */
  private async list(
    ctx: Context,
    res: ServerResponse,
    outcome: Outcome,
    message: JsonRpcRequest,
    capability: string,
    field: 'tools' | 'prompts' | 'resources' | 'resourceTemplates',
  ): Promise<void> {
    let pending: [string, string | undefined][];
    const cursor = message.params?.cursor;
    if (cursor !== undefined) {
      const opened = typeof cursor === 'string' ? ctx.tokens.open('cursor', cursor) : undefined;
      if (!isObject(opened) || opened.m !== message.method || !isObject(opened.c))
        return this.rpcError(res, outcome, message, INVALID_PARAMS, 'Invalid cursor');
      pending = Object.entries(opened.c as Record<string, string>).filter(([name]) =>
        ctx.upstreams.has(name),
      );
    } else {
      pending = [...ctx.upstreams.values()]
        .filter((e) => e.upstream.capabilities[capability] !== undefined)
        .map((e) => [e.upstream.server, undefined]);
    }
    outcome.servers = pending.map(([name]) => name);
    const signal = AbortSignal.timeout(this.fanoutTimeoutMs);
    const answers = await Promise.allSettled(
      pending.map(async ([name, upstreamCursor]) => {
        const params: Json = { ...message.params };
        if (upstreamCursor === undefined) delete params.cursor;
        else params.cursor = upstreamCursor;
        const reply = await exchange(this.target(ctx, name)!, { ...message, params }, signal);
        const result = (reply.message as JsonRpcResponse).result;
        if (!isObject(result)) throw new UpstreamError(name, describeError(reply.message));
        return result;
      }),
    );
    // Every server forgot the session (it was ended, here or on another replica, or they restarted):
    // the session is gone, as for a call to one of them (Streamable HTTP § Session Management: 404).
    if (pending.length > 0 && answers.every((a, i) => this.sessionGone(ctx, pending[i]![0], a)))
      throw new HttpFailure(404, 'Session not found', -32001);
    const items: unknown[] = [];
    const next: Record<string, string> = {};
    const unavailable: string[] = [];
    answers.forEach((a, i) => {
      const name = pending[i]![0];
      if (a.status === 'rejected') {
        unavailable.push(name);
        this.options.logger.warn(
          { event: 'mcp_list_failed', server: name, method: message.method, reason: reason(a.reason) },
          'MCP server left out of a list',
        );
        return;
      }
      const list = a.value[field];
      if (Array.isArray(list)) {
        const server = ctx.upstreams.get(name)!.route.server;
        for (const item of list) {
          if (!isObject(item)) continue;
          if (field === 'tools' && (typeof item.name !== 'string' || !server.exposesTool(item.name)))
            continue;
          items.push(renamed(name, field, item));
        }
      }
      if (typeof a.value.nextCursor === 'string') next[name] = a.value.nextCursor;
    });
    const result: Json = { [field]: items };
    if (Object.keys(next).length > 0)
      result.nextCursor = ctx.tokens.seal('cursor', { m: message.method, c: next });
    if (unavailable.length > 0) result._meta = { [UNAVAILABLE_META]: unavailable };
    outcome.status = 200;
    this.sendJson(res, 200, resultResponse(message.id, result));
  }

  /** A server of the session answered 404 to its session id: it no longer knows the session. */
  private sessionGone(ctx: Context, name: string, answer: PromiseSettledResult<unknown>): boolean {
    return (
      answer.status === 'rejected' &&
      answer.reason instanceof UpstreamError &&
      answer.reason.status === 404 &&
      ctx.upstreams.get(name)?.upstream.sessionId !== undefined
    );
  }

  /** logging/setLevel: every server that declared the capability; answered once all did. */
  private async broadcast(
    ctx: Context,
    res: ServerResponse,
    outcome: Outcome,
    message: JsonRpcRequest,
    capability: string,
  ): Promise<void> {
    const names = [...ctx.upstreams.values()]
      .filter((e) => e.upstream.capabilities[capability] !== undefined)
      .map((e) => e.upstream.server);
    outcome.servers = names;
    const signal = AbortSignal.timeout(this.fanoutTimeoutMs);
    const answers = await Promise.allSettled(
      names.map((name) => exchange(this.target(ctx, name)!, message, signal)),
    );
    const failed = names.filter((_, i) => answers[i]!.status === 'rejected');
    if (failed.length > 0)
      return this.rpcError(
        res,
        outcome,
        message,
        UPSTREAM_UNAVAILABLE,
        `MCP servers did not apply ${message.method}: ${failed.join(', ')}`,
        { servers: failed },
      );
    outcome.status = 200;
    this.sendJson(res, 200, resultResponse(message.id, {}));
  }

  /** One request to one server; its answer relayed as it comes (JSON, or SSE event by event). */
  private async forward(
    ctx: Context,
    res: ServerResponse,
    outcome: Outcome,
    server: string,
    message: JsonRpcRequest,
  ): Promise<void> {
    outcome.server = server;
    const abort = new AbortController();
    // Only the client leaving cuts the server's answer short; once answered, its end is still read.
    const onClose = () => {
      if (!res.writableFinished) abort.abort();
    };
    res.once('close', onClose);
    try {
      let reply: Awaited<ReturnType<typeof post>>;
      try {
        reply = await post(this.target(ctx, server)!, message, abort.signal);
      } catch (error) {
        return this.rpcError(
          res,
          outcome,
          message,
          UPSTREAM_UNAVAILABLE,
          `MCP server "${server}" is unreachable: ${(error as Error).message}`,
          { server },
        );
      }
      if (reply.kind === 'failed') {
        // The server forgot our session (restarted, or ended it): to the client this session is gone.
        if (reply.status === 404 && ctx.upstreams.get(server)?.upstream.sessionId !== undefined)
          throw new HttpFailure(404, 'Session not found', -32001);
        return this.rpcError(
          res,
          outcome,
          message,
          UPSTREAM_UNAVAILABLE,
          `MCP server "${server}" failed: ${reply.detail}`,
          { server },
        );
      }
      if (reply.kind === 'accepted')
        return this.rpcError(
          res,
          outcome,
          message,
          UPSTREAM_UNAVAILABLE,
          `MCP server "${server}" accepted the request without answering it`,
          { server },
        );
      if (reply.kind === 'json') {
        const out = fromServer(server, reply.message, ctx.tokens, message.method);
        noteError(outcome, out);
        outcome.status = 200;
        // Nothing rewritten: the server's own bytes, not a second serialisation of them.
        return this.sendText(res, 200, out === reply.message ? reply.raw : JSON.stringify(out));
      }
      // A stream: progress, log and server→client requests, then the answer, which ends it. The
      // client's answer turns into a stream only once there is something before the answer; an
      // answer that comes first goes back as plain JSON (Streamable HTTP lets the server choose either),
      // one write instead of a stream's three.
      outcome.status = 200;
      let streaming = false;
      const events = reply.events[Symbol.asyncIterator]();
      for (let next = await events.next(); !next.done; next = await events.next()) {
        const event = next.value;
        if (event.data === '') continue; // priming events and the like carry upstream ids, not messages
        const upstream = asMessage(safeParse(event.data));
        if (!upstream) continue;
        const out = fromServer(server, upstream, ctx.tokens, message.method);
        const final = !('method' in out) && out.id === message.id;
        if (final) {
          noteError(outcome, out);
          noteAnswer(reply.call, upstream);
        }
        // The server ends its stream after the answer: reading that end, not cutting it off, keeps
        // the connection for the next request.
        if (final) drain(events);
        if (final && !streaming)
          return this.sendText(res, 200, out === upstream ? event.data : JSON.stringify(out));
        if (!streaming) {
          streaming = true;
          res.writeHead(200, {
            'content-type': 'text/event-stream',
            'cache-control': 'no-cache, no-transform',
            'x-accel-buffering': 'no',
          });
        }
        // POST streams carry no event ids to the client: it never resumes them (the GET stream it does).
        res.write(sseMessage(JSON.stringify(out)));
        if (final) break;
      }
      if (!streaming) {
        outcome.rpcError = UPSTREAM_UNAVAILABLE;
        return this.sendJson(
          res,
          200,
          errorResponse(
            message.id,
            UPSTREAM_UNAVAILABLE,
            `MCP server "${server}" closed its stream without answering`,
            {
              server,
            },
          ),
        );
      }
      res.end();
    } catch (error) {
      if (error instanceof HttpFailure) throw error;
      if (abort.signal.aborted) {
        outcome.status = 499; // the client went away first (nginx's convention)
        return;
      }
      if (!res.headersSent)
        return this.rpcError(
          res,
          outcome,
          message,
          UPSTREAM_UNAVAILABLE,
          `MCP server "${server}" broke off: ${(error as Error).message}`,
          { server },
        );
      outcome.rpcError = UPSTREAM_UNAVAILABLE;
      res.write(
        sseMessage(
          JSON.stringify(
            errorResponse(message.id, UPSTREAM_UNAVAILABLE, `MCP server "${server}" broke off its stream`, {
              server,
            }),
          ),
        ),
      );
      res.end();
    } finally {
      res.off('close', onClose);
    }
  }

  /** A client notification, or the client's answer to a server→client request. */
  private async clientNotificationOrResponse(
    ctx: Context,
    outcome: Outcome,
    message: JsonRpcMessage,
  ): Promise<void> {
    const signal = AbortSignal.timeout(this.fanoutTimeoutMs);
    if (!('method' in message)) {
      const opened = openRequestId(ctx.tokens, message.id);
      // An answer we never asked for (or for another session): nothing to deliver it to.
      if (!opened || !ctx.upstreams.has(opened.s))
        throw new HttpFailure(400, 'the response answers no request of this session');
      outcome.server = opened.s;
      const reply = await post(
        this.target(ctx, opened.s)!,
        { ...message, id: opened.i } as JsonRpcMessage,
        signal,
      ).catch((error: Error) => ({ kind: 'failed' as const, status: 502, detail: error.message }));
      if (reply.kind === 'failed')
        throw new HttpFailure(
          502,
          `MCP server "${opened.s}" did not take the response: ${reply.detail}`,
          UPSTREAM_UNAVAILABLE,
        );
      return;
    }
    const params = message.params;
    if (message.method === 'notifications/progress') {
      const opened = openProgressToken(ctx.tokens, params?.progressToken);
      if (!opened || !ctx.upstreams.has(opened.s)) return;
      outcome.server = opened.s;
      await post(
        this.target(ctx, opened.s)!,
        { ...message, params: { ...params, progressToken: opened.p } },
        signal,
      ).catch(() => undefined);
      return;
    }
    // initialized, roots/list_changed, cancelled (the id is the client's own, passed through unchanged,
    // so the one server that has the request acts on it and the others ignore an unknown id).
    const names = [...ctx.upstreams.keys()];
    outcome.servers = names;
    await Promise.allSettled(
      names.map(async (name) => {
        const reply = await post(this.target(ctx, name)!, message, signal);
        if (reply.kind === 'failed')
          this.options.logger.warn(
            { event: 'mcp_notification_failed', server: name, method: message.method, reason: reply.detail },
            'MCP server refused a notification',
          );
      }),
    );
  }

  /**
   * GET: the servers' streams merged into one. Each relayed message carries an event id sealing the
   * last event id of every server, so `Last-Event-ID` resumes each server from its own position
   * (Streamable HTTP § Resumability and Redelivery: the server MAY replay messages after that id).
   */
  private async onGet(ctx: Context, res: ServerResponse, outcome: Outcome): Promise<void> {
    const accept = header(ctx.req, 'accept') ?? '';
    if (!accept.includes('text/event-stream'))
      throw new HttpFailure(406, 'Not Acceptable: the GET stream is text/event-stream');
    const positions: Record<string, string> = {};
    const resume = header(ctx.req, LAST_EVENT_ID_HEADER);
    if (resume !== undefined) {
      const opened = ctx.tokens.open('event-id', resume);
      if (!isObject(opened)) throw new HttpFailure(400, 'Last-Event-ID is not an event id of this session');
      for (const [name, id] of Object.entries(opened)) if (typeof id === 'string') positions[name] = id;
    }
    const abort = new AbortController();
    const names = [...ctx.upstreams.values()]
      .filter((e) => e.upstream.sessionId !== undefined)
      .map((e) => e.upstream.server);
    let gone = 0;
    const opened = await Promise.all(
      names.map(async (name) => {
        try {
          const reply = await openStreamRetrying(this.target(ctx, name)!, positions[name], abort.signal);
          if (reply.kind === 'stream') return { name, events: reply.events };
          if (reply.status === 404) gone++;
          else if (reply.status !== 405)
            this.options.logger.warn(
              { event: 'mcp_stream_failed', server: name, reason: reply.detail },
              'MCP server stream did not open',
            );
        } catch (error) {
          this.options.logger.warn(
            { event: 'mcp_stream_failed', server: name, reason: (error as Error).message },
            'MCP server stream did not open',
          );
        }
        return undefined;
      }),
    );
    const streams = opened.filter((s) => s !== undefined);
    outcome.servers = streams.map((s) => s.name);
    if (streams.length === 0) {
      abort.abort();
      // Every server forgot the session: it is gone (as for list fan-outs, McpGateway.list).
      if (gone > 0 && gone === names.length) throw new HttpFailure(404, 'Session not found', -32001);
      // § Listening for Messages from the Server: 405 when no stream is offered at this endpoint.
      throw new HttpFailure(405, 'no MCP server of this session offers a stream', INVALID_REQUEST, {
        allow: 'POST, DELETE',
      });
    }
    outcome.status = 200;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    res.once('close', () => abort.abort());
    const streamEvents = this.options.metrics.streamEvents;
    const routeConfig = ctx.caller.routeConfig.id;
    const pump = async (name: string, first: AsyncIterable<import('./sse.ts').SseEvent>) => {
      let events: AsyncIterable<import('./sse.ts').SseEvent> | undefined = first;
      let failures = 0;
      while (events && !abort.signal.aborted) {
        try {
          for await (const event of events) {
            failures = 0;
            if (event.hasId && event.id !== undefined) positions[name] = event.id;
            if (event.data === '') continue;
            const message = asMessage(safeParse(event.data));
            if (!message) continue;
            const out = fromServer(name, message, ctx.tokens);
            streamEvents.inc({ route_config: routeConfig, server: name });
            res.write(sseMessage(JSON.stringify(out), ctx.tokens.seal('event-id', positions)));
          }
        } catch {
          if (abort.signal.aborted) return;
        }
        // The server ended its stream (a restart, a polling server): reopen from where it was.
        if (abort.signal.aborted || ++failures > STREAM_REOPEN_ATTEMPTS) return;
        await new Promise((r) => setTimeout(r, 200 * failures));
        events = undefined;
        try {
          const reply = await openStreamRetrying(this.target(ctx, name)!, positions[name], abort.signal);
          if (reply.kind === 'stream') events = reply.events;
        } catch {
          // counted as a failure on the next turn
        }
      }
    };
    await Promise.all(streams.map((s) => pump(s.name, s.events)));
    clearInterval(keepalive);
    abort.abort();
    res.end();
  }

  /** DELETE: Streamable HTTP § Session Management — the client ends its session, on every server. */
  private async onDelete(ctx: Context, res: ServerResponse, outcome: Outcome): Promise<void> {
    const names = [...ctx.upstreams.values()]
      .filter((e) => e.upstream.sessionId !== undefined)
      .map((e) => e.upstream.server);
    outcome.servers = names;
    // Ended here whatever the servers say: this instance refuses the id from now on.
    this.ended.add(ctx.sessionId);
    this.sessions.delete(ctx.sessionId);
    const signal = AbortSignal.timeout(this.fanoutTimeoutMs);
    const statuses = await Promise.allSettled(
      names.map((name) => endSession(this.target(ctx, name)!, signal)),
    );
    statuses.forEach((s, i) => {
      const ok = s.status === 'fulfilled' && (s.value < 300 || s.value === 404 || s.value === 405);
      if (!ok)
        this.options.logger.warn(
          {
            event: 'mcp_session_end_failed',
            server: names[i],
            status: s.status === 'fulfilled' ? s.value : undefined,
          },
          'MCP server did not end its session',
        );
    });
    outcome.status = 200;
    res.writeHead(200).end();
  }

  private sendJson(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    this.sendText(res, status, JSON.stringify(body), headers);
  }

  /** One JSON body; head and body leave in one write (node:http joins them when end() gets the body). */
  private sendText(
    res: ServerResponse,
    status: number,
    text: string,
    headers: Record<string, string> | undefined = undefined,
  ): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    // A flat [name, value, …] list, as for the upstream request (upstream.ts headersFor).
    const list = ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(text))];
    if (headers !== undefined) for (const name in headers) list.push(name, headers[name]!);
    res.writeHead(status, list);
    res.end(text);
  }
}

/** The session's servers that the route still configures, by name. */
function resolveUpstreams(session: GatewaySession, route: CompiledMcpRoute): Context['upstreams'] {
  const upstreams: Context['upstreams'] = new Map();
  for (const upstream of session.upstreams) {
    const configured = route.byName.get(upstream.server);
    if (configured) upstreams.set(upstream.server, { route: configured, upstream });
  }
  return upstreams;
}

/** Batches exist in MCP 2025-03-26 only (removed in 2025-06-18, see McpGateway.batch). */
function batchesAllowed(protocolVersion: string): boolean {
  return protocolVersion === '2025-03-26';
}

/**
 * What one request of a batch writes, put on the batch's stream: the methods that answer a single
 * request (sendJson, the relayed stream of forward) write to this instead of the HTTP response. A
 * JSON answer becomes one SSE message; a relayed stream's messages (already SSE-framed by
 * sseMessage) pass through; the head is the batch's, written once by McpGateway.batch.
 */
class BatchMemberResponse extends EventEmitter {
  headersSent = false;
  writableFinished = false;
  ended = false;
  private readonly onClose = () => this.emit('close');

  constructor(private readonly batch: ServerResponse) {
    super();
    batch.once('close', this.onClose);
  }

  writeHead(): this {
    this.headersSent = true;
    return this;
  }

  flushHeaders(): void {}

  write(chunk: string): boolean {
    return this.batch.write(chunk);
  }

  end(chunk?: string): this {
    if (this.ended) return this;
    this.ended = true;
    this.writableFinished = true;
    // sendJson ends with the JSON body; a relayed stream ends with nothing more.
    if (chunk !== undefined && chunk.length > 0) this.batch.write(sseMessage(chunk));
    return this;
  }

  done(): void {
    this.batch.off('close', this.onClose);
    this.emit('close');
  }
}

/**
 * A server allows one GET stream per session and answers a second 409 (the SDK's transport does). The
 * client's previous stream through us may still be closing upstream when it reconnects, so a 409 is
 * retried for a moment before it counts.
 */
async function openStreamRetrying(
  target: UpstreamTarget,
  lastEventId: string | undefined,
  signal: AbortSignal,
): ReturnType<typeof openStream> {
  for (let attempt = 0; ; attempt++) {
    const reply = await openStream(target, lastEventId, signal);
    if (reply.kind === 'stream' || reply.status !== 409 || attempt === 10 || signal.aborted) return reply;
    await new Promise((r) => setTimeout(r, 50 * (attempt + 1)));
  }
}

/** Reads what is left of a stream in the background and drops it. */
function drain(events: AsyncIterator<unknown>): void {
  const step = (): Promise<void> => events.next().then((r) => (r.done ? undefined : step()));
  step().catch(() => undefined);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function upstreamTarget(
  route: CompiledMcpRouteServer,
  req: IncomingMessage,
  sessionId: string | undefined,
  protocolVersion: string | undefined,
  calls: McpUpstreamCall[] | undefined,
): UpstreamTarget {
  const forwarded: Record<string, string> = {};
  for (const name of route.server.forwardHeaders) {
    const value = header(req, name);
    if (value !== undefined) forwarded[name] = value;
  }
  const target: UpstreamTarget = { route, forwarded };
  if (sessionId !== undefined) target.sessionId = sessionId;
  if (protocolVersion !== undefined) target.protocolVersion = protocolVersion;
  if (calls !== undefined) target.calls = calls;
  return target;
}

function renamed(server: string, field: string, item: Json): Json {
  const out: Json = { ...item };
  if (typeof item.name === 'string') out.name = prefixedName(server, item.name);
  if (field === 'resources' && typeof item.uri === 'string') out.uri = prefixedUri(server, item.uri);
  if (field === 'resourceTemplates' && typeof item.uriTemplate === 'string')
    out.uriTemplate = prefixedUri(server, item.uriTemplate);
  return out;
}

/**
 * The capabilities of the session: what any of its servers offers (Lifecycle › Capability
 * Negotiation). Sub-flags (listChanged, subscribe) hold when any server that has the capability sets them.
 */
export function unionCapabilities(all: readonly Record<string, unknown>[]): Json {
  const out: Json = {};
  for (const name of ['tools', 'prompts', 'resources', 'logging', 'completions']) {
    const present = all.map((c) => c[name]).filter(isObject);
    if (present.length === 0) continue;
    const merged: Json = {};
    for (const flag of ['listChanged', 'subscribe'])
      if (present.some((c) => c[flag] === true)) merged[flag] = true;
    out[name] = merged;
  }
  return out;
}

function noteError(outcome: Outcome, message: JsonRpcMessage): void {
  if ('method' in message) return;
  if (message.error) outcome.rpcError = message.error.code;
  else if (message.result?.isError === true) outcome.toolError = true;
}

function describeError(message: JsonRpcMessage): string {
  return !('method' in message) && message.error
    ? `${message.error.code} ${message.error.message}`
    : 'no result';
}

function reason(error: unknown): string {
  if (error instanceof UpstreamError) return error.message;
  if (error instanceof Error && error.name === 'TimeoutError') return 'timed out';
  return error instanceof Error ? error.message : String(error);
}

/** The body as text; events rather than `for await`, whose async iterator costs more than the read. */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume();
        reject(new HttpFailure(413, `the request body is larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () =>
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')),
    );
    req.once('error', reject);
  });
}

export interface McpServerHandle {
  url: string;
  port: number;
  gateway: McpGateway;
  close(): Promise<void>;
}

/**
 * The gateway on its own HTTP listener: a TCP port (ext-proc's MCP port), or a Unix socket, which is
 * how Envoy reaches the sidecar in the chart (a Backend with a unix endpoint, as for ext_proc).
 */
export async function startMcpServer(
  listen: { host: string; port: number } | { socketPath: string },
  gateway: McpGateway,
): Promise<McpServerHandle> {
  const server: Server = createServer(gateway.handle);
  // Long-lived GET streams: no request timeout from node:http; the keep-alive comments hold them open.
  server.requestTimeout = 0;
  if ('socketPath' in listen) rmSync(listen.socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if ('socketPath' in listen) server.listen(listen.socketPath, () => resolve());
    else server.listen(listen.port, listen.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? (address as AddressInfo).port : 0;
  const url =
    'socketPath' in listen
      ? `unix:${listen.socketPath}`
      : `http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${port}`;
  return {
    url,
    port,
    gateway,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
