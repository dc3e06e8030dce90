/**
 * One ext_proc filter instance for one request (or one upstream attempt), driven exactly as Envoy drives
 * it: the same message sequence, the configured processing mode and `protocol_config` on the first
 * message, `mode_override` honoured only from headers responses, header mutations from body responses
 * applied only in BUFFERED mode, and FULL_DUPLEX_STREAMED bodies sent without waiting for the headers
 * answer. Envoy's behaviour here follows api/envoy/service/ext_proc/v3/external_processor.proto and
 * api/envoy/extensions/filters/http/ext_proc/v3/{ext_proc,processing_mode}.proto.
 */
import type * as grpc from '@grpc/grpc-js';
import { fromStruct, toStruct } from '../ext-proc/struct.ts';
import { httpStatusNumber } from '../protos/envoy.ts';
import type {
  BodyMutation,
  BodySendMode,
  CommonResponse,
  ProcessingRequest,
  ProcessingResponse,
} from '../protos/ext-proc-messages.ts';
import type { HeaderBag } from './header-bag.ts';

/**
 * ExternalProcessor.metadata_options (untyped namespaces). Envoy writes only the namespaces listed as
 * receiving, and none when the list is empty (ext_proc.cc Filter::setDynamicMetadata); it sends the
 * processor only the forwarding ones, from the stream's dynamic metadata (Filter::addDynamicMetadata).
 */
export interface MetadataOptions {
  forwardingNamespaces: readonly string[];
  receivingNamespaces: readonly string[];
}

export interface FilterConfig extends MetadataOptions {
  /** Sent as gRPC initial metadata, like Envoy's GrpcService.initial_metadata. */
  metadata: Record<string, string>;
  requestBodyMode: BodySendMode;
  responseBodyMode: BodySendMode;
  /** ExternalProcessor.allow_mode_override. */
  allowModeOverride: boolean;
  /** ExternalProcessor.message_timeout. */
  messageTimeoutMs: number;
}

/** Thrown when the processor answers with an ImmediateResponse. */
export class ImmediateReply {
  constructor(
    readonly status: number,
    readonly response: NonNullable<ProcessingResponse['immediate_response']>,
  ) {}
}

/** Thrown when the ext_proc stream fails (server down, timeout, protocol violation): Envoy answers 500. */
export class ExtProcFailure extends Error {}

export class FilterRun {
  readonly #call: grpc.ClientDuplexStream<ProcessingRequest, ProcessingResponse>;
  readonly #queue: ProcessingResponse[] = [];
  #waiter: { resolve(r: ProcessingResponse): void; reject(e: Error): void } | undefined;
  #failure: Error | undefined;
  #first = true;
  #closed = false;
  requestBodyMode: BodySendMode;
  responseBodyMode: BodySendMode;
  /** Set when a response carried clear_route_cache: the gateway must re-run route selection. */
  routeCacheCleared = false;
  /** Dynamic metadata the processor emitted, merged by namespace (as Envoy stores it on the stream). */
  readonly dynamicMetadata: Record<string, Record<string, unknown>> = {};

  constructor(
    open: (
      metadata: Record<string, string>,
    ) => grpc.ClientDuplexStream<ProcessingRequest, ProcessingResponse>,
    private readonly config: FilterConfig,
  ) {
    this.requestBodyMode = config.requestBodyMode;
    this.responseBodyMode = config.responseBodyMode;
    this.#call = open(config.metadata);
    this.#call.on('data', (response: ProcessingResponse) => {
      if (this.#waiter) {
        const waiter = this.#waiter;
        this.#waiter = undefined;
        waiter.resolve(response);
      } else this.#queue.push(response);
    });
    const fail = (error: Error) => {
      this.#failure ??= error;
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter?.reject(new ExtProcFailure(`ext_proc stream failed: ${error.message}`));
    };
    this.#call.on('error', fail);
    this.#call.on('end', () => fail(new Error('stream closed by the processor')));
  }

  #send(message: ProcessingRequest): void {
    if (this.#first) {
      this.#first = false;
      message.protocol_config = {
        request_body_mode: this.config.requestBodyMode,
        response_body_mode: this.config.responseBodyMode,
        send_body_without_waiting_for_header_response: this.config.requestBodyMode === 'FULL_DUPLEX_STREAMED',
      };
    }
    this.#call.write(message);
  }

  #next(): Promise<ProcessingResponse> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(this.#check(queued));
    if (this.#failure)
      return Promise.reject(new ExtProcFailure(`ext_proc stream failed: ${this.#failure.message}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new ExtProcFailure(`ext_proc message timeout (${this.config.messageTimeoutMs} ms)`));
      }, this.config.messageTimeoutMs);
      this.#waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          try {
            resolve(this.#check(r));
          } catch (error) {
            reject(error);
          }
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  #check(response: ProcessingResponse): ProcessingResponse {
    if (response.dynamic_metadata) {
      for (const [ns, value] of Object.entries(fromStruct(response.dynamic_metadata))) {
        if (!this.config.receivingNamespaces.includes(ns)) continue;
        this.dynamicMetadata[ns] = { ...this.dynamicMetadata[ns], ...(value as Record<string, unknown>) };
      }
    }
    if (response.immediate_response) {
      throw new ImmediateReply(
        httpStatusNumber(response.immediate_response.status?.code),
        response.immediate_response,
      );
    }
    return response;
  }

  async #expect(phase: keyof ProcessingResponse): Promise<ProcessingResponse> {
    const response = await this.#next();
    if (response[phase] === undefined) {
      throw new ExtProcFailure(
        `ext_proc protocol error: expected ${String(phase)}, got ${response.response ?? 'nothing'}`,
      );
    }
    return response;
  }

  #applyCommon(common: CommonResponse | undefined, headers: HeaderBag, headerMutationsApply: boolean): void {
    if (!common) return;
    if (headerMutationsApply) headers.apply(common.header_mutation);
    if (common.clear_route_cache) this.routeCacheCleared = true;
  }

  #forwarded(metadata: Record<string, Record<string, unknown>>) {
    const out: Record<string, ReturnType<typeof toStruct>> = {};
    let any = false;
    for (const ns of this.config.forwardingNamespaces) {
      if (metadata[ns] === undefined) continue;
      out[ns] = toStruct(metadata[ns]);
      any = true;
    }
    return any ? out : undefined;
  }

  /**
   * Request path: headers, then the body in the mode in force. Returns the body to send upstream.
   * `body` may still be arriving (a promise of it): the headers go out at once, as Envoy sends them when
   * they arrive, and the body follows once read; `hasBody` then says what the request headers said
   * (content-length / transfer-encoding), which is what Envoy's `end_of_stream` on headers reflects.
   * `metadata`: the stream's dynamic metadata, written by earlier filters; the forwarding namespaces of
   * it go with the headers (metadata_options).
   */
  async request(
    headers: HeaderBag,
    body: readonly Buffer[] | Promise<readonly Buffer[]>,
    metadata?: Record<string, Record<string, unknown>>,
    hasBody: boolean = Array.isArray(body) && (body as readonly Buffer[]).some((c) => c.length > 0),
  ): Promise<Buffer[]> {
    const first: ProcessingRequest = {
      request_headers: { headers: headers.toHeaderMap(), end_of_stream: !hasBody },
    };
    const forwarded = metadata && this.#forwarded(metadata);
    if (forwarded) first.metadata_context = { filter_metadata: forwarded };
    this.#send(first);
    // A body announced but empty (a chunked upload of nothing) still ends with one empty body message.
    const read = async () => {
      const chunks = (await body).filter((c) => c.length > 0);
      return hasBody && chunks.length === 0 ? [Buffer.alloc(0)] : chunks;
    };
    if (hasBody && this.requestBodyMode === 'FULL_DUPLEX_STREAMED') {
      const chunks = await read();
      for (let i = 0; i < chunks.length; i++) {
        this.#send({ request_body: { body: chunks[i]!, end_of_stream: i === chunks.length - 1 } });
      }
      this.#applyCommon((await this.#expect('request_headers')).request_headers?.response, headers, true);
      const out: Buffer[] = [];
      for (;;) {
        const streamed = (await this.#expect('request_body')).request_body?.response?.body_mutation
          ?.streamed_response;
        if (streamed?.body?.length) out.push(streamed.body);
        if (streamed?.end_of_stream) return out;
      }
    }
    const headersResponse = await this.#expect('request_headers');
    const common = headersResponse.request_headers?.response;
    this.#applyCommon(common, headers, true);
    if (this.config.allowModeOverride && headersResponse.mode_override)
      this.#override(headersResponse.mode_override);
    const chunks = await read();
    if (common?.status === 'CONTINUE_AND_REPLACE') return replaceBody(common.body_mutation, chunks);
    if (!hasBody || this.requestBodyMode === 'NONE') return chunks.filter((c) => c.length > 0);
    if (this.requestBodyMode === 'STREAMED') {
      const out: Buffer[] = [];
      for (let i = 0; i < chunks.length; i++) {
        this.#send({ request_body: { body: chunks[i]!, end_of_stream: i === chunks.length - 1 } });
        const r = (await this.#expect('request_body')).request_body?.response;
        this.#applyCommon(r, headers, false);
        out.push(...replaceBody(r?.body_mutation, [chunks[i]!]));
      }
      return out;
    }
    // BUFFERED (and BUFFERED_PARTIAL, which Envoy sends whole while under its buffer limit).
    const whole = Buffer.concat(chunks);
    this.#send({ request_body: { body: whole, end_of_stream: true } });
    const r = (await this.#expect('request_body')).request_body?.response;
    this.#applyCommon(r, headers, true);
    return replaceBody(r?.body_mutation, [whole]);
  }

  #override(mode: NonNullable<ProcessingResponse['mode_override']>): void {
    if (mode.request_body_mode) this.requestBodyMode = mode.request_body_mode;
    if (mode.response_body_mode) this.responseBodyMode = mode.response_body_mode;
  }

  /** `metadata`: the stream's dynamic metadata; its forwarding namespaces go with the message. */
  async responseHeaders(
    headers: HeaderBag,
    endOfStream: boolean,
    metadata?: Record<string, Record<string, unknown>>,
  ): Promise<void> {
    const message: ProcessingRequest = {
      response_headers: { headers: headers.toHeaderMap(), end_of_stream: endOfStream },
    };
    const forwarded = metadata && this.#forwarded(metadata);
    if (forwarded) message.metadata_context = { filter_metadata: forwarded };
    this.#send(message);
    const response = await this.#expect('response_headers');
    this.#applyCommon(response.response_headers?.response, headers, true);
    if (this.config.allowModeOverride && response.mode_override) this.#override(response.mode_override);
  }

  /** Whether this filter needs the whole response body before the gateway may send headers. */
  get buffersResponse(): boolean {
    return this.responseBodyMode === 'BUFFERED' || this.responseBodyMode === 'BUFFERED_PARTIAL';
  }

  /** One chunk of a response body in STREAMED / FULL_DUPLEX_STREAMED / NONE mode. */
  async responseChunk(chunk: Buffer, endOfStream: boolean): Promise<Buffer> {
    if (this.responseBodyMode === 'NONE') return chunk;
    this.#send({ response_body: { body: chunk, end_of_stream: endOfStream } });
    const mutation = (await this.#expect('response_body')).response_body?.response?.body_mutation;
    if (this.responseBodyMode === 'FULL_DUPLEX_STREAMED')
      return mutation?.streamed_response?.body ?? Buffer.alloc(0);
    return Buffer.concat(replaceBody(mutation, [chunk]));
  }

  /** A whole response body (BUFFERED); header mutations apply, as Envoy has not sent headers yet. */
  async responseBody(body: Buffer, headers: HeaderBag): Promise<Buffer> {
    if (this.responseBodyMode === 'NONE') return body;
    if (!this.buffersResponse) return this.responseChunk(body, true);
    this.#send({ response_body: { body, end_of_stream: true } });
    const common = (await this.#expect('response_body')).response_body?.response;
    this.#applyCommon(common, headers, true);
    return Buffer.concat(replaceBody(common?.body_mutation, [body]));
  }

  /** Normal end: Envoy half-closes the stream once the filter is done. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#call.end();
  }

  /** Abandoned (attempt retried, client gone): Envoy resets the stream. */
  cancel(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#call.cancel();
  }
}

function replaceBody(mutation: BodyMutation | undefined, original: Buffer[]): Buffer[] {
  if (!mutation) return original;
  if (mutation.clear_body) return [];
  if (mutation.body !== undefined) return [mutation.body];
  if (mutation.streamed_response)
    return mutation.streamed_response.body ? [mutation.streamed_response.body] : [];
  return original;
}
