/**
 * One ext_proc `Process` stream: maps Envoy's messages to phase calls and phase results to Envoy's
 * response messages, honouring the body send mode in force. It holds no routing or translation policy.
 *
 * Protocol facts (envoyproxy/envoy api/envoy/service/ext_proc/v3/external_processor.proto,
 * processing_mode.proto):
 * - every request message gets exactly one response, except in FULL_DUPLEX_STREAMED, where the server
 *   answers body chunks with `streamed_response` mutations when it chooses, and may hold the headers
 *   response until it has read the body (Envoy then sends body without waiting for it);
 * - `mode_override` is honoured only in answer to a headers message;
 * - in STREAMED mode, header mutations sent with a body response are not applied (headers are gone);
 * - `protocol_config` arrives on the first message only and names the configured body modes;
 * - with `observability_mode` the server must not answer at all.
 */
import type { ServerCall } from '../grpc/server.ts';
import { Status as grpcStatus, type StatusCode } from '../grpc/wire.ts';
import type {
  BodySendMode,
  CommonResponse,
  HeaderMap,
  HeaderMutation,
  ProcessingPhase,
  ProcessingRequest,
  ProcessingResponse,
} from '../protos/ext-proc-messages.ts';
import { DecodedHeaderMap } from '../protos/request-decoder.ts';
import { AgentRouterError, errors } from './errors.ts';
import { PhaseOrder } from './phase-order.ts';
import { HttpHead, type MetadataReader, type PhaseResult, type Phases } from './phases.ts';
import { fromStruct, toStruct } from './struct.ts';

export interface StreamLimits {
  maxRequestBodyBytes: number;
  /** Called once when a configuration makes routing impossible (e.g. STREAMED without mode override). */
  warn?(message: string): void;
  /** The peer broke the protocol (see PhaseOrder); the stream is failed with a gRPC status. */
  protocolError?(detail: string): void;
  /** A phase threw something that is not an AgentRouterError: a bug, with its stack for the log. */
  bug?(error: unknown): void;
}

type Call = ServerCall<ProcessingRequest, ProcessingResponse>;
const STREAM = Symbol('processing stream');
type CallWithStream = Call & { [STREAM]?: ProcessingStream };

export function headMap(map: HeaderMap | undefined): HttpHead {
  if (map instanceof DecodedHeaderMap) return map.head();
  const headers = new Map<string, string>();
  for (const h of map?.headers ?? []) {
    const value =
      h.raw_value !== undefined && h.raw_value.length > 0 ? h.raw_value.toString('utf8') : (h.value ?? '');
    const previous = headers.get(h.key);
    headers.set(h.key, previous === undefined ? value : `${previous}, ${value}`);
  }
  return new HttpHead(headers);
}

/** Converts a namespace of the message's metadata_context only when a phase asks for it. */
function metadataReader(message: ProcessingRequest): MetadataReader {
  return (namespace) => {
    const struct = message.metadata_context?.filter_metadata?.[namespace];
    return struct ? fromStruct(struct) : undefined;
  };
}

/**
 * The headers a filter saw in its headers message, and the names its answers have mutated since (for
 * those, what Envoy holds is no longer what was seen).
 */
interface SeenHeaders {
  head: HttpHead;
  /** Few names (a handful per filter), so a list: cheaper to make and search than a Set. */
  touched?: string[];
}

/**
 * The mutations of `result` that change something. Setting a header to the value it already has, or
 * removing one that is absent, is a no-op for Envoy (ext_proc mutation_utils.cc applies each to the
 * header map as it is); leaving them out keeps answers small, which is most of their encoding cost
 * (the router strips a dozen reserved names, of which a request carries one or two). Repeated headers
 * are seen joined, so a set equal to the joined value is also left out: the list means the same.
 */
function headerMutation(result: PhaseResult, seen: SeenHeaders | undefined): HeaderMutation | undefined {
  const set = result.setHeaders;
  const remove = result.removeHeaders;
  const setCount = set === undefined ? 0 : set.length;
  const removeCount = remove === undefined ? 0 : remove.length;
  if (setCount === 0 && removeCount === 0) return undefined;
  const head = seen?.head;
  let touched = seen?.touched;
  const setHeaders: NonNullable<HeaderMutation['set_headers']> = [];
  const removeHeaders: string[] = [];
  for (let i = 0; i < setCount; i++) {
    const option = set![i]!;
    const key = option[0];
    const value = option[1];
    if (head && head.get(key) === value && !touched?.includes(key)) continue;
    setHeaders.push({
      header: { key, raw_value: value },
      append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
    });
  }
  for (let i = 0; i < removeCount; i++) {
    const name = remove![i]!;
    if (head && !head.has(name) && !touched?.includes(name)) continue;
    removeHeaders.push(name);
  }
  if (setHeaders.length === 0 && removeHeaders.length === 0) return undefined;
  if (seen) {
    if (touched === undefined) {
      touched = [];
      seen.touched = touched;
    }
    for (const option of setHeaders) touched.push(option.header.key);
    for (const name of removeHeaders) touched.push(name);
  }
  const mutation: HeaderMutation = {};
  if (setHeaders.length > 0) mutation.set_headers = setHeaders;
  if (removeHeaders.length > 0) mutation.remove_headers = removeHeaders;
  return mutation;
}

function commonResponse(
  result: PhaseResult,
  seen: SeenHeaders | undefined,
  body?: Buffer,
): CommonResponse | undefined {
  const response: CommonResponse = {};
  const mutation = headerMutation(result, seen);
  if (mutation) response.header_mutation = mutation;
  if (body !== undefined) response.body_mutation = { body };
  if (result.clearRouteCache) response.clear_route_cache = true;
  return mutation || body !== undefined || result.clearRouteCache ? response : undefined;
}

const warned = new Set<string>();

/** What handling one message yields: a response, nothing (yet), or a response later. */
type Answer = ProcessingResponse | undefined | Promise<ProcessingResponse | undefined>;

export class ProcessingStream {
  #requestBodyMode: BodySendMode = 'NONE';
  #responseBodyMode: BodySendMode = 'NONE';
  #configuredRequestMode: BodySendMode | undefined;
  #configuredResponseMode: BodySendMode | undefined;
  #requestChunks: Buffer[] = [];
  #requestBytes = 0;
  #responseChunks: Buffer[] = [];
  /** FULL_DUPLEX_STREAMED: the request-headers answer, held until the body has been read. */
  #deferredHeaders: PhaseResult | undefined;
  #status: number | undefined;
  /** The last response message this filter will see has been handled. */
  #responseComplete = false;
  #done = false;
  #first = true;
  #busy = false;
  #backlog: ProcessingRequest[] = [];
  #order = new PhaseOrder();
  #observing = false;
  /** The request body has been handed to the phases; a body message after it is out of protocol. */
  #requestBodyRead = false;
  #requestHeaders: SeenHeaders | undefined;
  #responseHeaders: SeenHeaders | undefined;

  constructor(
    private readonly call: Call,
    private readonly phases: Phases,
    private readonly limits: StreamLimits,
  ) {
    // The call's events reach the stream through one shared function each (the call holds the stream),
    // not closures made for every stream: two streams per request.
    (call as CallWithStream)[STREAM] = this;
    call.on('data', ProcessingStream.#onData);
    call.on('end', ProcessingStream.#onEnd);
    call.on('cancelled', ProcessingStream.#onCancelled);
  }

  static readonly #onData = function (this: CallWithStream, message: ProcessingRequest): void {
    this[STREAM]!.#onMessage(message);
  };
  // The gateway half-closes when it is done with the filter (e.g. after the response headers when the
  // body is not processed). If the response was not complete by then, the request was cut short; a
  // reset from the gateway arrives as 'cancelled' (grpc/server.ts). Envoy resets the stream when the
  // client goes away (the filter is destroyed mid-request); a reset after the last response message
  // cuts nothing short.
  static readonly #onEnd = function (this: CallWithStream): void {
    const stream = this[STREAM]!;
    stream.#finish(undefined, !stream.#responseComplete);
    this.end();
  };
  static readonly #onCancelled = function (this: CallWithStream): void {
    const stream = this[STREAM]!;
    stream.#finish(undefined, !stream.#responseComplete);
  };

  #onMessage(message: ProcessingRequest): void {
    if (this.#done) return;
    // While a phase works asynchronously (credentials, signing), later messages wait their turn.
    if (this.#busy) {
      this.#backlog.push(message);
      return;
    }
    if (this.#first) {
      this.#first = false;
      this.#configuredRequestMode = message.protocol_config?.request_body_mode;
      this.#configuredResponseMode = message.protocol_config?.response_body_mode;
      this.#requestBodyMode = this.#configuredRequestMode ?? 'NONE';
      this.#responseBodyMode = this.#configuredResponseMode ?? 'NONE';
    }
    if (message.observability_mode) this.#observing = true;
    // Full duplex holds the request-headers answer until the body is read; Envoy holds the request until
    // then, so no response can exist yet, and answering it first would put answers out of order. A
    // buffered body is one message (with end_of_stream false when trailers follow): another body
    // message after it is no body Envoy sends.
    const phase = message.request;
    const violation =
      this.#deferredHeaders && phase?.startsWith('response_')
        ? `${phase} arrived while the request headers were still held for their full-duplex body`
        : this.#requestBodyRead && phase === 'request_body'
          ? 'request_body arrived after the whole buffered body had been read'
          : this.#order.accept(phase, message);
    if (violation !== undefined) {
      this.#refuse(violation, phase ? grpcStatus.FAILED_PRECONDITION : grpcStatus.INVALID_ARGUMENT);
      return;
    }
    let response: Answer;
    try {
      response = this.#handle(phase, message);
    } catch (error) {
      this.#fail(error);
      return;
    }
    if (!(response instanceof Promise)) {
      this.#answer(response);
      return;
    }
    this.#busy = true;
    response
      .then(
        (r) => this.#answer(r),
        (error: unknown) => this.#fail(error),
      )
      .finally(() => {
        this.#busy = false;
        while (!this.#busy && this.#backlog.length > 0) this.#onMessage(this.#backlog.shift()!);
      });
  }

  #answer(response: ProcessingResponse | undefined): void {
    if (response) this.#write(response);
  }

  /** Every answer goes out here: none in observability mode (a filter setting, so once seen it holds). */
  #write(response: ProcessingResponse): void {
    if (!this.#observing && !this.call.cancelled) this.call.write(response);
  }

  #fail(error: unknown): void {
    // A bug's own text (a TypeError, a stack) is for the log, never for the client.
    if (!(error instanceof AgentRouterError)) this.limits.bug?.(error);
    const failure =
      error instanceof AgentRouterError
        ? error
        : errors.internal('agent-router failed to process this request; the ext-proc log has the details.');
    this.#write(errorResponse(failure, this.phases.clientError?.(failure)));
    this.#finish(failure, false);
  }

  /**
   * Fails the stream with a gRPC status: what Envoy does with a broken ext_proc stream is its own
   * configuration (failure_mode_allow), and answering in kind would guess at a protocol state.
   */
  #refuse(detail: string, code: StatusCode): void {
    this.#finish(errors.extProcProtocol(detail), false);
    this.limits.protocolError?.(detail);
    this.call.end(code, `agent-router: ${detail}`);
  }

  #handle(phase: ProcessingPhase | undefined, message: ProcessingRequest): Answer {
    switch (phase) {
      case 'request_headers':
        return this.#onRequestHeaders(message);
      case 'request_body':
        return this.#onRequestBody(message.request_body?.body, message.request_body?.end_of_stream === true);
      case 'request_trailers':
        return this.#onRequestTrailers();
      case 'response_headers':
        return this.#onResponseHeaders(message);
      case 'response_body':
        return this.#onResponseBody(
          message.response_body?.body,
          message.response_body?.end_of_stream === true,
        );
      case 'response_trailers':
        this.#responseComplete = true;
        this.#finish(undefined, false);
        return { response_trailers: {} };
      default:
        throw errors.extProcProtocol('a ProcessingRequest with no phase set');
    }
  }

  #onRequestHeaders(message: ProcessingRequest): ProcessingResponse | undefined {
    const eos = message.request_headers?.end_of_stream === true;
    const head = headMap(message.request_headers?.headers);
    this.#requestHeaders = { head };
    const result = this.phases.requestHeaders(head, eos, metadataReader(message));
    if (result.respond) {
      this.#status = result.respond.status;
      this.#finish(undefined, false);
      return immediateResponse(result.respond.status, result.respond.body, 'agent_router_direct_response');
    }
    if (!result.needsBody || eos) return this.#headersResponse('request_headers', result);
    if (this.#requestBodyMode === 'FULL_DUPLEX_STREAMED') {
      this.#deferredHeaders = result;
      return undefined;
    }
    const response = this.#headersResponse('request_headers', result);
    if (this.#requestBodyMode === 'NONE' || this.#requestBodyMode === 'STREAMED') {
      // Routing on the body needs the headers held until the body is read: ask for BUFFERED.
      response.mode_override = { request_body_mode: 'BUFFERED' };
      // From NONE the body then comes BUFFERED, or not at all if the filter ignores overrides. From
      // STREAMED it may still stream (allow_mode_override off), so that mode is kept and handled.
      if (this.#requestBodyMode === 'NONE') this.#requestBodyMode = 'BUFFERED';
    }
    return response;
  }

  #onRequestBody(chunk: Buffer | undefined, endOfStream: boolean): Answer {
    if (chunk && chunk.length > 0) {
      this.#requestBytes += chunk.length;
      if (this.#requestBytes > this.limits.maxRequestBodyBytes)
        throw errors.bodyTooLarge(this.limits.maxRequestBodyBytes);
      this.#requestChunks.push(chunk);
    }
    const mode = this.#requestBodyMode;
    if (mode === 'BUFFERED_PARTIAL' && !endOfStream)
      throw errors.bodyTooLarge(this.limits.maxRequestBodyBytes);
    // BUFFERED bodies come whole in one message; the others stream until end_of_stream.
    if (!endOfStream && mode !== 'BUFFERED') {
      if (mode === 'STREAMED') return { request_body: { response: { body_mutation: { clear_body: true } } } };
      return undefined;
    }
    return this.#completeRequestBody(mode);
  }

  #onRequestTrailers(): Answer {
    // Trailers end a body that streamed without end_of_stream on its last chunk. Only a full-duplex
    // body can still be answered then (streamed_response); in STREAMED mode every chunk was answered as
    // it came, and Envoy takes no body answer to a trailers message.
    if (this.#requestChunks.length > 0 && this.#requestBodyMode !== 'FULL_DUPLEX_STREAMED')
      throw errors.gatewayMisconfigured(
        `The request body arrived in ${this.#requestBodyMode} mode and ended with trailers, so it cannot be rewritten; configure the ext_proc filter with request_body_mode BUFFERED or FULL_DUPLEX_STREAMED.`,
      );
    if (this.#requestChunks.length > 0 || this.#deferredHeaders) {
      const body = this.#completeRequestBody(this.#requestBodyMode);
      const trailers: ProcessingResponse = { request_trailers: {} };
      if (body instanceof Promise) {
        return body.then((r) => {
          if (r) this.#write(r);
          return trailers;
        });
      }
      if (body) this.#write(body);
      return trailers;
    }
    return { request_trailers: {} };
  }

  #completeRequestBody(mode: BodySendMode): Answer {
    this.#requestBodyRead = true;
    const original =
      this.#requestChunks.length === 1 ? this.#requestChunks[0]! : Buffer.concat(this.#requestChunks);
    this.#requestChunks = [];
    const result = this.phases.requestBody(original);
    return result instanceof Promise
      ? result.then((r) => this.#requestBodyAnswer(mode, original, r))
      : this.#requestBodyAnswer(mode, original, result);
  }

  #requestBodyAnswer(mode: BodySendMode, original: Buffer, result: PhaseResult): ProcessingResponse {
    if (mode === 'FULL_DUPLEX_STREAMED') {
      const held = this.#deferredHeaders ?? {};
      this.#deferredHeaders = undefined;
      this.#write(this.#headersResponse('request_headers', mergeResults(held, result)));
      const body = result.body ?? original;
      return {
        request_body: { response: { body_mutation: { streamed_response: { body, end_of_stream: true } } } },
      };
    }
    if (mode === 'STREAMED') {
      if (result.clearRouteCache || result.setHeaders?.length) this.#warnOnce('streamed-routing');
      // Earlier chunks were cleared as they passed; the last chunk carries the whole body.
      const response = commonResponse(result, this.#requestHeaders, result.body ?? original) ?? {};
      return { request_body: { response } };
    }
    const response = commonResponse(result, this.#requestHeaders, result.body);
    return withMetadata({ request_body: response ? { response } : {} }, result);
  }

  #onResponseHeaders(message: ProcessingRequest): ProcessingResponse {
    const head = headMap(message.response_headers?.headers);
    this.#responseHeaders = { head };
    const status = Number(head.get(':status'));
    if (Number.isFinite(status)) this.#status = status;
    const eos = message.response_headers?.end_of_stream === true;
    const result = this.phases.responseHeaders(head, eos, metadataReader(message));
    const response = this.#headersResponse('response_headers', result);
    const wanted = result.responseBodyMode;
    if (
      !eos &&
      wanted &&
      this.#configuredResponseMode !== 'FULL_DUPLEX_STREAMED' &&
      wanted !== this.#responseBodyMode
    ) {
      response.mode_override = { response_body_mode: wanted };
      this.#responseBodyMode = wanted;
    }
    // Without body processing, the headers are the last thing this filter sees of the response.
    if (eos || this.#responseBodyMode === 'NONE') this.#responseComplete = true;
    if (eos) this.#finish(undefined, false);
    return response;
  }

  #onResponseBody(chunk: Buffer | undefined, endOfStream: boolean): ProcessingResponse | undefined {
    const data = chunk ?? Buffer.alloc(0);
    const mode = this.#responseBodyMode;
    let response: ProcessingResponse | undefined;
    if (mode === 'BUFFERED' || mode === 'BUFFERED_PARTIAL') {
      this.#responseChunks.push(data);
      if (!endOfStream && mode === 'BUFFERED') return undefined;
      const whole =
        this.#responseChunks.length === 1 ? this.#responseChunks[0]! : Buffer.concat(this.#responseChunks);
      this.#responseChunks = [];
      const result = this.phases.responseBody(whole);
      const common = commonResponse(result, this.#responseHeaders, result.body);
      response = withMetadata({ response_body: common ? { response: common } : {} }, result);
    } else {
      const replacement = this.phases.responseChunk(data, endOfStream);
      if (mode === 'FULL_DUPLEX_STREAMED') {
        const body = replacement ?? data;
        response = {
          response_body: {
            response: { body_mutation: { streamed_response: { body, end_of_stream: endOfStream } } },
          },
        };
      } else {
        // An empty replacement is said as clear_body: an empty `body` is indistinguishable from none.
        const mutation =
          replacement === undefined
            ? undefined
            : replacement.length === 0
              ? { clear_body: true }
              : { body: replacement };
        response = { response_body: mutation ? { response: { body_mutation: mutation } } : {} };
      }
    }
    if (endOfStream) {
      this.#responseComplete = true;
      this.#finish(undefined, false);
    }
    return response;
  }

  #headersResponse(phase: 'request_headers' | 'response_headers', result: PhaseResult): ProcessingResponse {
    const response = commonResponse(
      result,
      phase === 'request_headers' ? this.#requestHeaders : this.#responseHeaders,
    );
    const message: ProcessingResponse =
      phase === 'request_headers'
        ? { request_headers: response ? { response } : {} }
        : { response_headers: response ? { response } : {} };
    return withMetadata(message, result);
  }

  #warnOnce(kind: string): void {
    if (warned.has(kind)) return;
    warned.add(kind);
    this.limits.warn?.(
      'request body arrived in STREAMED mode: header mutations from the body are not applied by Envoy, so routing on the body cannot work; set allow_mode_override, or use BUFFERED or FULL_DUPLEX_STREAMED',
    );
  }

  #finish(error: AgentRouterError | undefined, cancelled: boolean): void {
    if (this.#done) return;
    this.#done = true;
    try {
      this.phases.finish({
        status: error ? error.status : this.#status,
        cancelled,
        ...(error ? { error } : {}),
      });
    } catch (failure) {
      // Logging and metrics must never take a request down with them.
      this.limits.warn?.(`request accounting failed: ${(failure as Error).message}`);
    }
  }
}

function mergeResults(a: PhaseResult, b: PhaseResult): PhaseResult {
  const setHeaders = [...(a.setHeaders ?? []), ...(b.setHeaders ?? [])];
  // A header the headers phase removes and the body phase sets is set: that is what two answers would
  // do. In one mutation Envoy happens to remove before it sets (ext_proc mutation_utils.cc,
  // applyHeaderMutations), but the proto leaves the order open, so one name is never in both lists.
  const removeHeaders: string[] = [];
  unsetOnly(a.removeHeaders, setHeaders, removeHeaders);
  unsetOnly(b.removeHeaders, setHeaders, removeHeaders);
  const merged: PhaseResult = {
    setHeaders,
    removeHeaders,
    clearRouteCache: a.clearRouteCache === true || b.clearRouteCache === true,
  };
  const metadata = b.dynamicMetadata ?? a.dynamicMetadata;
  if (metadata) merged.dynamicMetadata = metadata;
  return merged;
}

function unsetOnly(
  names: readonly string[] | undefined,
  setHeaders: readonly (readonly [string, string])[],
  out: string[],
): void {
  if (!names) return;
  outer: for (const name of names) {
    for (const [key] of setHeaders) if (key === name) continue outer;
    out.push(name);
  }
}

function withMetadata(message: ProcessingResponse, result: PhaseResult): ProcessingResponse {
  if (result.dynamicMetadata) message.dynamic_metadata = toStruct(result.dynamicMetadata);
  return message;
}

export function errorResponse(error: AgentRouterError, body: unknown = error.toBody()): ProcessingResponse {
  return immediateResponse(error.status, body, `agent_router_${error.code}`);
}

export function immediateResponse(status: number, body: unknown, details: string): ProcessingResponse {
  return {
    immediate_response: {
      status: { code: status },
      headers: {
        set_headers: [
          {
            header: { key: 'content-type', raw_value: 'application/json' },
            append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
          },
        ],
      },
      body: Buffer.from(JSON.stringify(body)),
      details,
    },
  };
}
