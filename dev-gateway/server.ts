/**
 * The dev gateway: an HTTP server that plays Envoy's part for the local stack and the integration
 * tests. Per request it runs the router-level ext_proc filter, routes on the target header, runs one
 * upstream-level ext_proc filter per attempt with retries/fallback as the route's policy says, and
 * streams the response back through both filters chunk by chunk. It talks to ext-proc only over gRPC.
 */
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import {
  DESTINATION_ENDPOINT_HEADER,
  DESTINATION_METADATA_NAMESPACE,
  PICKER_SCORES_NAMESPACE,
  SERVED_ENDPOINT_KEY,
} from '../endpoint-picker/protocol.ts';
import { clientApiOf, clientErrorBody } from '../ext-proc/client-api.ts';
import { AgentRouterError, errors } from '../ext-proc/errors.ts';
import {
  FILTER_METADATA_KEY,
  type FilterLevel,
  METADATA_NAMESPACE,
  ROUTE_HEADER,
} from '../ext-proc/headers.ts';
import { pathOnly } from '../ext-proc/request-path.ts';
import { DEFAULT_MAX_REQUEST_BODY_BYTES, grpcReceiveLimit } from '../ext-proc/server.ts';
import { OPERATION_BY_PATH } from '../ext-proc/translate/translator.ts';
import type { Logger } from '../observability/logger.ts';
import { EXT_PROC_SERVICE, extProcPackageDefinition } from '../protos/envoy.ts';
import type { ProcessingRequest, ProcessingResponse } from '../protos/ext-proc-messages.ts';
import {
  ExtProcFailure,
  type FilterConfig,
  FilterRun,
  ImmediateReply,
  type MetadataOptions,
} from './filter-run.ts';
import { HeaderBag } from './header-bag.ts';
import { isMcpPath, proxyMcp } from './mcp-route.ts';
import type { GatewayRoute } from './route-table.ts';
import { receivedThenFailure, UpstreamFailure, UpstreamPool } from './upstream.ts';

export interface DevGatewayOptions {
  host: string;
  port: number;
  /** ext-proc gRPC target, "host:port" or "unix:/path". */
  extProcTarget: string;
  /** The route table in force (re-read per request, so config reloads apply). */
  routes: () => ReadonlyMap<string, GatewayRoute>;
  logger: Logger;
  router?: Partial<FilterConfig>;
  upstream?: Partial<FilterConfig>;
  /** gRPC target of the endpoint picker serving an InferencePool (InferencePool endpointPickerRef). */
  endpointPickers?: (poolId: string) => string | undefined;
  /**
   * Envoy's buffer limit for a request body (default 16 MiB, ext-proc's default): a larger body is
   * answered 413 here and never forwarded. Give ext-proc the same limit (`--max-body` to both).
   */
  maxRequestBodyBytes?: number;
  /** ext-proc's MCP gateway base URL: requests under /mcp go there (mcp-route.ts). */
  mcpTarget?: () => string | undefined;
}

export interface DevGateway {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Which dynamic-metadata namespaces each filter may write and is sent. The router filter writes its
 * decision, the picker its destination (`envoy.lb`, read back on the response) and its scores; the
 * per-attempt filter reads the decision and the scores.
 */
export const METADATA_OPTIONS: Record<FilterLevel | 'picker', MetadataOptions> = {
  router: { receivingNamespaces: [METADATA_NAMESPACE], forwardingNamespaces: [] },
  upstream: { receivingNamespaces: [], forwardingNamespaces: [METADATA_NAMESPACE, PICKER_SCORES_NAMESPACE] },
  picker: {
    receivingNamespaces: [DESTINATION_METADATA_NAMESPACE, PICKER_SCORES_NAMESPACE],
    forwardingNamespaces: [DESTINATION_METADATA_NAMESPACE],
  },
};

type Settings = Omit<FilterConfig, 'metadata' | keyof MetadataOptions>;

/** The ext_proc filter settings our Envoy configuration uses (see README, "Envoy configuration"). */
export const DEFAULT_FILTER: Settings = {
  requestBodyMode: 'NONE',
  responseBodyMode: 'NONE',
  allowModeOverride: true,
  messageTimeoutMs: 2_000,
};

/**
 * How gateways configure the endpoint picker's ext_proc filter: request body FULL_DUPLEX_STREAMED (the
 * GIE endpoint-picker protocol requires streaming support), response headers sent, bodies not.
 */
export const ENDPOINT_PICKER_FILTER: Settings = {
  requestBodyMode: 'FULL_DUPLEX_STREAMED',
  responseBodyMode: 'NONE',
  allowModeOverride: false,
  messageTimeoutMs: 2_000,
};

type ProcessClient = grpc.Client & {
  Process(metadata: grpc.Metadata): grpc.ClientDuplexStream<ProcessingRequest, ProcessingResponse>;
};

export async function startDevGateway(options: DevGatewayOptions): Promise<DevGateway> {
  const Client = grpc.makeGenericClientConstructor(
    extProcPackageDefinition()[EXT_PROC_SERVICE] as grpc.ServiceDefinition,
    'ExternalProcessor',
  ) as unknown as new (
    target: string,
    credentials: grpc.ChannelCredentials,
    options?: grpc.ChannelOptions,
  ) => ProcessClient;
  const maxBody = options.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES;
  // Bodies travel whole in BUFFERED mode, both ways; grpc-js would cap received messages at 4 MB. Never
  // below what the body limit lets through, so an accepted body is never a gRPC error on our side.
  const bodyMessage = grpcReceiveLimit(maxBody);
  const grpcMessageLimit = bodyMessage < 0 ? -1 : Math.max(64 * 1024 * 1024, bodyMessage);
  const client = new Client(options.extProcTarget, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': grpcMessageLimit,
    'grpc.max_receive_message_length': grpcMessageLimit,
  });
  const pool = new UpstreamPool();
  const filterConfig = (
    level: 'router' | 'upstream',
    overrides: Partial<FilterConfig> | undefined,
  ): FilterConfig => ({
    ...DEFAULT_FILTER,
    ...METADATA_OPTIONS[level],
    ...overrides,
    metadata: { [FILTER_METADATA_KEY]: level },
  });
  const routerConfig = filterConfig('router', options.router);
  const upstreamConfig = filterConfig('upstream', options.upstream);
  const open = (metadata: Record<string, string>) => {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(metadata)) md.set(k, v);
    return client.Process(md);
  };
  const pickerClients = new Map<string, ProcessClient>();
  const openPicker = (target: string) => () => {
    let picker = pickerClients.get(target);
    if (!picker) {
      picker = new Client(target, grpc.credentials.createInsecure(), {
        'grpc.max_send_message_length': grpcMessageLimit,
        'grpc.max_receive_message_length': grpcMessageLimit,
      });
      pickerClients.set(target, picker);
    }
    return picker.Process(new grpc.Metadata());
  };
  let failOpenCursor = 0;

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      // A client that went away is no gateway failure: ext-proc logs the request as cancelled (499).
      if (error instanceof ClientGone) {
        options.logger.debug({ event: 'client_gone', err: error.message }, 'client went away');
        return;
      }
      options.logger.error(
        { event: 'dev_gateway_error', err: error.message },
        'dev gateway failed a request',
      );
      if (!res.headersSent) sendJson(res, 500, errors.internal('gateway error').toBody());
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const mcpTarget = options.mcpTarget?.();
    if (mcpTarget !== undefined && isMcpPath(req.url)) return proxyMcp(req, res, mcpTarget);
    const headers = HeaderBag.from(Object.entries(req.headers));
    headers.set(':method', req.method ?? 'GET');
    headers.set(':path', req.url ?? '/');
    headers.set(':authority', req.headers.host ?? 'localhost');
    headers.set(':scheme', 'http');
    headers.delete('host');
    // Envoy generates x-request-id when the client sends none.
    if (!headers.get('x-request-id')) headers.set('x-request-id', randomUUID());

    // The router filter gets the headers as they arrive and the body once read, as Envoy drives it; so
    // a client that leaves mid-upload resets a stream ext-proc already knows, and it logs the request.
    const upload = readBody(req, maxBody);
    upload.catch(() => {});
    const router = new FilterRun(open, routerConfig);
    const live = new Set<FilterRun>([router]);
    let upstreamRequest: http.ClientRequest | undefined;
    let finished = false;
    let gone = false;
    res.on('close', () => {
      if (finished) return;
      // Client went away: Envoy resets the upstream request and the ext_proc streams.
      gone = true;
      upstreamRequest?.destroy();
      for (const f of live) f.cancel();
    });
    const leftEarly = () => new ClientGone('the client closed the connection');

    let body: Buffer[];
    try {
      body = await router.request(headers, upload, undefined, announcesBody(req));
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        // Envoy's buffer limit: a local 413 that the router-level filter sees as the response.
        await deliverLocal(res, [router], errors.bodyTooLarge(maxBody));
        finished = true;
        return;
      }
      router.cancel();
      if (error instanceof ClientGone) throw error;
      if (gone) throw leftEarly();
      if (error instanceof ImmediateReply) return writeImmediate(res, error);
      throw asExtProcError(error);
    }

    const target = headers.get(ROUTE_HEADER);
    const found = target === undefined ? undefined : options.routes().get(target);
    // A route with no cluster to send to is no route (compile.ts gives every entry one; this is a guard).
    const route = found && found.clusters.length > 0 ? found : undefined;
    if (!route) {
      const noRoute = new AgentRouterError(
        404,
        'invalid_request_error',
        'route_not_found',
        `No route matches this request${target ? ` (target ${target})` : ''}.`,
      );
      await deliverLocal(res, [router], noRoute);
      finished = true;
      return;
    }

    // An InferencePool target: the endpoint picker's filter runs once per request (an HTTP filter on
    // the route), and its destination header names the pod; later attempts follow the chain.
    let picker: FilterRun | undefined;
    let picked: string | undefined;
    const primaryPool = route.clusters[0]!.pool;
    if (primaryPool) {
      const target = options.endpointPickers?.(primaryPool.id);
      try {
        if (!target)
          throw new ExtProcFailure(`no endpoint picker configured for InferencePool ${primaryPool.id}`);
        picker = new FilterRun(openPicker(target), {
          ...ENDPOINT_PICKER_FILTER,
          ...METADATA_OPTIONS.picker,
          metadata: {},
        });
        live.add(picker);
        const pickerHeaders = headers.clone();
        body = await picker.request(pickerHeaders, body);
        picked = pickerHeaders.get(DESTINATION_ENDPOINT_HEADER)?.split(',')[0]?.trim();
        headers.set(DESTINATION_ENDPOINT_HEADER, pickerHeaders.get(DESTINATION_ENDPOINT_HEADER) ?? '');
      } catch (error) {
        picker?.cancel();
        picker = undefined;
        if (gone) throw leftEarly();
        if (error instanceof ImmediateReply) {
          await deliver(res, [router], error.status, immediateHeaders(error), [immediateBody(error)]);
          finished = true;
          return;
        }
        // The pool's failure mode decides (InferencePool endpointPickerRef.failureMode).
        if (primaryPool.failureMode !== 'FailOpen' || primaryPool.endpoints.length === 0) {
          const detail = (error as Error).message;
          await deliverLocal(
            res,
            [router],
            new AgentRouterError(
              503,
              'api_error',
              'endpoint_picker_unavailable',
              `The endpoint picker for this model is unavailable (${detail}).`,
            ),
          );
          finished = true;
          return;
        }
        // The picker set no destination, so Envoy's override_host policy follows whatever destination
        // header the request still carries if it names a pool endpoint (a host of the cluster), and
        // balances with its fallback policy otherwise (envoy.load_balancing_policies.override_host).
        const requested = headers.get(DESTINATION_ENDPOINT_HEADER)?.split(',')[0]?.trim();
        picked =
          requested !== undefined && primaryPool.endpoints.includes(requested)
            ? requested
            : primaryPool.endpoints[failOpenCursor++ % primaryPool.endpoints.length];
        options.logger.warn(
          { event: 'epp_fail_open', pool: primaryPool.id, endpoint: picked },
          'endpoint picker failed; failing open',
        );
      }
    }

    // Every filter writes into the stream's one dynamic metadata; each is sent its forwarding namespaces
    // of it (the per-attempt filter: the router's decision and the picker's scores).
    const streamMetadata = { ...router.dynamicMetadata, ...picker?.dynamicMetadata };
    const maxAttempts = Math.max(1, Math.min(route.retry.attempts, route.clusters.length));
    const retryableStatus = (status: number) =>
      (status >= 500 && route.retry.retryOn.has('5xx')) || (status === 429 && route.retry.retryOn.has('429'));
    for (let attempt = 1; ; attempt++) {
      // No attempt for a client that left (Envoy destroys the stream, retries included).
      if (gone) throw leftEarly();
      const chosen = route.clusters[attempt - 1]!;
      const endpoint = chosen.pool
        ? attempt === 1 && picked
          ? picked
          : chosen.pool.endpoints[failOpenCursor++ % Math.max(1, chosen.pool.endpoints.length)]
        : undefined;
      const cluster = chosen.pool ? { id: chosen.id, origin: endpoint ? `http://${endpoint}` : '' } : chosen;
      // One header map for every attempt, as in Envoy: what the per-attempt filter changed on attempt 1
      // is still changed on attempt 2 (the filter must not rely on headers it removed).
      const attemptHeaders = headers;
      attemptHeaders.set('x-envoy-attempt-count', String(attempt));
      const upstream = new FilterRun(open, upstreamConfig);
      live.add(upstream);
      const isLast = attempt >= maxAttempts;
      let attemptBody: Buffer[];
      try {
        attemptBody = await upstream.request(attemptHeaders, body, streamMetadata);
      } catch (error) {
        upstream.cancel();
        live.delete(upstream);
        if (gone) throw leftEarly();
        if (error instanceof ImmediateReply) {
          // Envoy hands an upstream filter's local reply to the router as this attempt's response
          // (UpstreamRequestFilterManagerCallbacks::encodeHeaders → Router::Filter::onUpstreamHeaders),
          // where the retry policy applies as to any upstream answer: a per-attempt failure such as an
          // access token that cannot be minted moves on to the next backend.
          if (!isLast && retryableStatus(error.status)) continue;
          await deliver(res, [router], error.status, immediateHeaders(error), [immediateBody(error)]);
          finished = true;
          return;
        }
        throw asExtProcError(error);
      }
      let response: IncomingMessage;
      try {
        response = await pool.send(
          cluster,
          attemptHeaders,
          attemptBody,
          route.retry.perAttemptTimeoutMs,
          (r) => {
            upstreamRequest = r;
          },
        );
      } catch (error) {
        upstream.cancel();
        live.delete(upstream);
        if (gone) throw leftEarly();
        const failure = error as UpstreamFailure;
        const retryable =
          failure.kind === 'reset' ? route.retry.retryOn.has('5xx') : route.retry.retryOn.has(failure.kind);
        if (!isLast && retryable) continue;
        const local =
          failure.kind === 'timeout'
            ? errors.upstreamTimeout(failure.message)
            : errors.upstreamUnavailable(failure.message);
        await deliverLocal(res, [router], local);
        finished = true;
        return;
      }
      // Envoy runs the upstream filters on the response before its router sees it
      // (UpstreamRequestFilterManagerCallbacks::encodeHeaders → Router::Filter::onUpstreamHeaders), so the
      // retry policy applies to the status they leave: a provider 401 that the per-attempt filter turns
      // into 502 is retried like any 5xx.
      const responseHeaders = HeaderBag.from(Object.entries(response.headers));
      responseHeaders.set(':status', String(response.statusCode ?? 502));
      // Read from now on, so nothing the upstream sends while the filter answers is lost.
      const source = receivedThenFailure(response);
      const discard = () => {
        response.removeAllListeners('data');
        response.resume();
      };
      try {
        await upstream.responseHeaders(responseHeaders, false);
      } catch (error) {
        discard();
        upstream.cancel();
        live.delete(upstream);
        if (!(error instanceof ImmediateReply)) throw asExtProcError(error);
        if (!isLast && retryableStatus(error.status)) continue;
        await deliver(res, [router], error.status, immediateHeaders(error), [immediateBody(error)]);
        finished = true;
        return;
      }
      const status = Number(responseHeaders.get(':status'));
      if (!isLast && retryableStatus(status)) {
        discard();
        upstream.cancel();
        live.delete(upstream);
        continue;
      }
      const filters = picker && attempt === 1 ? [upstream, picker, router] : [upstream, router];
      if (picker && attempt !== 1) picker.cancel();
      // The data plane tells the picker which endpoint served (protocol: x-gateway-destination-endpoint-served).
      const served =
        picker && endpoint
          ? new Map([[picker, { [DESTINATION_METADATA_NAMESPACE]: { [SERVED_ENDPOINT_KEY]: endpoint } }]])
          : undefined;
      await deliver(res, filters, status, responseHeaders, source, served, upstream);
      finished = true;
      return;
    }
  }

  async function deliverLocal(
    res: ServerResponse,
    filters: FilterRun[],
    error: AgentRouterError,
  ): Promise<void> {
    const headers = HeaderBag.from([['content-type', 'application/json']]);
    await deliver(res, filters, error.status, headers, [Buffer.from(JSON.stringify(error.toBody()))]);
  }

  /**
   * The encode path, in Envoy's filter order (the attempt's upstream-level filter, then the route's and
   * the router-level ones) and with Envoy's iteration: a filter sees the response headers once the
   * filters before it let them go. A buffering filter holds them until it has answered the whole body
   * (its body answer may still change them, status included); a streaming one lets them go at once and
   * the body follows chunk by chunk. So an immediate response from the attempt's filter on the response
   * path is, for the filters after it, the attempt's response (Envoy hands an upstream filter's local
   * reply to the router as the upstream's answer), and the router-level filter logs what the client gets.
   */
  async function deliver(
    res: ServerResponse,
    filters: FilterRun[],
    status: number,
    headers: HeaderBag,
    source: AsyncIterable<Buffer> | Buffer[],
    metadata?: ReadonlyMap<FilterRun, Record<string, Record<string, unknown>>>,
    /** A filter that has already answered these response headers (the attempt's upstream filter). */
    headersSeenBy?: FilterRun,
  ): Promise<void> {
    headers.set(':status', String(status));
    let body: AsyncIterable<Buffer> | Buffer[] = source;
    try {
      for (const f of filters) {
        const bodyless = Array.isArray(body) && body.every((c) => c.length === 0);
        try {
          if (f !== headersSeenBy) await f.responseHeaders(headers, bodyless, metadata?.get(f));
          if (bodyless) continue;
          if (f.buffersResponse) body = [await f.responseBody(Buffer.concat(await collect(body)), headers)];
          else if (f.responseBodyMode !== 'NONE') body = throughFilter(f, body);
        } catch (error) {
          if (f !== headersSeenBy) throw error;
          const rest = filters.slice(filters.indexOf(f) + 1);
          if (error instanceof ImmediateReply) {
            f.cancel();
            return deliver(
              res,
              rest,
              error.status,
              immediateHeaders(error),
              [immediateBody(error)],
              metadata,
            );
          }
          // The upstream broke while this filter held the response: nothing of it has gone further.
          if (error instanceof UpstreamFailure) {
            f.cancel();
            return deliverLocal(res, rest, errors.badGateway(error.message));
          }
          throw error;
        }
      }
      if (Array.isArray(body)) {
        const whole = Buffer.concat(body);
        headers.set('content-length', String(whole.length));
        writeHead(res, headers);
        res.end(whole);
      } else {
        if (filters.some((f) => f.responseBodyMode !== 'NONE')) headers.delete('content-length');
        writeHead(res, headers);
        for await (const chunk of body) if (chunk.length > 0) res.write(chunk);
        res.end();
      }
      for (const f of filters) f.close();
    } catch (error) {
      for (const f of filters) f.cancel();
      if (error instanceof ImmediateReply && !res.headersSent) return writeImmediate(res, error);
      if (!res.headersSent) {
        const failure =
          error instanceof UpstreamFailure ? errors.badGateway(error.message) : asExtProcError(error);
        // No filter answers this one, so it is written in the client API's error shape here, as the
        // router-level filter writes every other (an Anthropic client on /v1/messages reads Anthropic's).
        const operation = OPERATION_BY_PATH.get(pathOnly(res.req.url ?? ''));
        sendJson(res, failure.status, clientErrorBody(clientApiOf(operation), failure));
        return;
      }
      // The response has started: like Envoy, reset the downstream stream rather than fake an ending.
      abortStarted(res);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  options.logger.info(
    { event: 'dev_gateway_listening', port, extProc: options.extProcTarget },
    'dev gateway listening',
  );
  return {
    url: `http://${options.host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          pool.close();
          client.close();
          for (const c of pickerClients.values()) c.close();
          resolve();
        });
      }),
  };
}

/**
 * Ends a started response so the client sees a broken stream, not a complete one: what was written is
 * flushed, then the connection closes without the final chunk of the chunked encoding.
 */
function abortStarted(res: ServerResponse): void {
  const socket = res.socket;
  if (!socket) return;
  socket.end();
  setTimeout(() => socket.destroy(), 1_000).unref();
}

async function collect(body: AsyncIterable<Buffer> | Buffer[]): Promise<Buffer[]> {
  if (Array.isArray(body)) return body;
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(chunk);
  return parts;
}

/** The body as one streaming filter passes it on: chunk by chunk, then the end of the stream. */
async function* throughFilter(
  filter: FilterRun,
  body: AsyncIterable<Buffer> | Buffer[],
): AsyncIterable<Buffer> {
  if (Array.isArray(body)) {
    // A whole body (a filter before this one buffered it) goes as it came, its last chunk ending it.
    const chunks = body.filter((c) => c.length > 0);
    if (chunks.length === 0) chunks.push(Buffer.alloc(0));
    for (let i = 0; i < chunks.length; i++)
      yield await filter.responseChunk(chunks[i]!, i === chunks.length - 1);
    return;
  }
  for await (const chunk of body) {
    const out = await filter.responseChunk(chunk, false);
    if (out.length > 0) yield out;
  }
  yield await filter.responseChunk(Buffer.alloc(0), true);
}

function asExtProcError(error: unknown): AgentRouterError {
  if (error instanceof AgentRouterError) return error;
  const detail =
    error instanceof ExtProcFailure ? error.message : `unexpected error: ${(error as Error).message}`;
  // Envoy with failure_mode_allow=false answers 500 when the ext_proc stream fails.
  return new AgentRouterError(
    500,
    'api_error',
    'ext_proc_failure',
    `The gateway's processor failed: ${detail}`,
  );
}

function immediateHeaders(reply: ImmediateReply): HeaderBag {
  const headers = HeaderBag.from([['content-type', 'text/plain']]);
  headers.apply(reply.response.headers);
  return headers;
}

function immediateBody(reply: ImmediateReply): Buffer {
  return reply.response.body ?? Buffer.alloc(0);
}

function writeImmediate(res: ServerResponse, reply: ImmediateReply): void {
  const headers = immediateHeaders(reply);
  const body = immediateBody(reply);
  headers.set(':status', String(reply.status));
  headers.set('content-length', String(body.length));
  writeHead(res, headers);
  res.end(body);
}

function writeHead(res: ServerResponse, headers: HeaderBag): void {
  res.writeHead(Number(headers.get(':status') ?? 200), headers.toHttp());
  res.flushHeaders();
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(payload.length) });
  res.end(payload);
}

/** The client closed the connection before the exchange ended (Envoy's response flag DC). */
class ClientGone extends Error {}

/** The request body is over the buffer limit. */
class BodyTooLarge extends Error {}

/**
 * Whether the request headers announce a body, as HTTP/1.1 frames it (RFC 9112 §6.3): a
 * transfer-encoding, or a content-length above 0. Envoy's `end_of_stream` on the headers says the same.
 */
function announcesBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && Number(length) > 0;
}

/**
 * Reads the request body as it arrives (chunk by chunk), holding at most `limit` bytes: past it, rejects
 * with BodyTooLarge, with or without a content-length (chunked uploads too). The rest of an over-limit
 * body is still read and dropped before the 413 goes out: answering mid-upload and closing would leave
 * unread bytes that make the kernel reset the connection, and the client would see that instead of the
 * 413. A client that leaves mid-upload rejects it with ClientGone.
 */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  let total = 0;
  const declared = Number(req.headers['content-length']);
  let over = Number.isFinite(declared) && declared > limit;
  try {
    for await (const chunk of req) {
      total += (chunk as Buffer).length;
      if (total > limit) over = true;
      if (!over) chunks.push(chunk as Buffer);
    }
  } catch (error) {
    throw new ClientGone(`the client left mid-upload (${(error as Error).message})`);
  }
  if (!req.complete) throw new ClientGone('the client left mid-upload');
  if (over) throw new BodyTooLarge();
  return chunks;
}
