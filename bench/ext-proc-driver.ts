/**
 * A lean Envoy stand-in for benchmarks: drives one chat request through both ext_proc filters with the
 * message sequence Envoy sends for our filter configuration (dev-gateway/filter-run.ts is the full
 * model), over one gRPC channel shared by all streams as Envoy's gRPC client does.
 *
 * Per request: the router-level stream gets request headers (with `protocol_config` NONE/NONE), the
 * buffered request body, then — after the upstream attempt — response headers and the buffered
 * response body; the upstream-level stream gets request headers, body and response headers. Bodies are
 * sent only when the processor asked for them with `mode_override` (Envoy honours it from headers
 * answers only, external_processor.proto ProcessingResponse.mode_override), so a processor that does
 * not ask for the body is reported rather than silently measured doing less work.
 */
import * as grpc from '@grpc/grpc-js';
import { FILTER_METADATA_KEY, type FilterLevel } from '../ext-proc/headers.ts';
import type { HeaderMap, ProcessingRequest, ProcessingResponse } from '../protos/ext-proc-messages.ts';
import {
  chatRequestBody,
  chatResponseBody,
  type HeaderList,
  routerRequestHeaders,
  routerResponseHeaders,
  upstreamRequestHeaders,
  upstreamResponseHeaders,
} from './chat-workload.ts';
import { extProcService } from './ext-proc-service.ts';

type Call = grpc.ClientDuplexStream<ProcessingRequest, ProcessingResponse>;
export type ExtProcClient = grpc.Client & { Process(metadata: grpc.Metadata): Call };

/** The processor answered in a way Envoy would not continue from as the benchmark expects. */
export class DriverError extends Error {}

export function createExtProcClient(port: number): ExtProcClient {
  const Client = grpc.makeGenericClientConstructor(extProcService(), 'ExternalProcessor');
  return new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    // Body mutations carry whole bodies (10 MB in the memory benchmark); grpc-js receives 4 MB by default.
    'grpc.max_receive_message_length': -1,
  }) as unknown as ExtProcClient;
}

/** The processor's answers to one filter's messages; body answers are absent when no body was asked for. */
export interface FilterAnswers {
  requestHeaders: ProcessingResponse;
  requestBody: ProcessingResponse;
  responseHeaders: ProcessingResponse;
  responseBody: ProcessingResponse | undefined;
}

export interface ChatExchange {
  router: FilterAnswers;
  upstream: FilterAnswers;
}

export function headerMap(headers: HeaderList): HeaderMap {
  return { headers: headers.map(([key, value]) => ({ key, raw_value: Buffer.from(value) })) };
}

const routerResponseHeaderMap = headerMap(routerResponseHeaders);
const upstreamResponseHeaderMap = headerMap(upstreamResponseHeaders);

/** One `Process` stream: one answer per message, in order. */
export class FilterStream {
  readonly #call: Call;
  readonly #level: FilterLevel;
  #waiter: { resolve(r: ProcessingResponse): void; reject(e: Error): void } | undefined;
  #closed: { resolve(): void; reject(e: Error): void } | undefined;
  #status: grpc.StatusObject | undefined;
  #first = true;

  constructor(client: ExtProcClient, level: FilterLevel) {
    this.#level = level;
    const metadata = new grpc.Metadata();
    metadata.set(FILTER_METADATA_KEY, level);
    this.#call = client.Process(metadata);
    this.#call.on('data', (response: ProcessingResponse) => {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      if (waiter) waiter.resolve(response);
      else this.#fail(new DriverError(`${level}: unexpected extra answer ${response.response}`));
    });
    // grpc-js emits 'error' for every non-OK status, then 'status'; 'status' alone settles the stream.
    this.#call.on('error', () => {});
    this.#call.on('status', (status: grpc.StatusObject) => {
      this.#status = status;
      if (status.code === grpc.status.OK) {
        this.#waiter?.reject(new DriverError(`${level}: stream ended before an answer`));
        this.#waiter = undefined;
        this.#closed?.resolve();
      } else this.#fail(new DriverError(`${level}: stream failed: ${status.code} ${status.details}`));
    });
  }

  #fail(error: Error): void {
    this.#waiter?.reject(error);
    this.#waiter = undefined;
    this.#closed?.reject(error);
  }

  send(message: ProcessingRequest, expected: keyof ProcessingResponse): Promise<ProcessingResponse> {
    if (this.#first) {
      this.#first = false;
      // Our filters are configured NONE/NONE with allow_mode_override; Envoy names that on message one.
      message.protocol_config = { request_body_mode: 'NONE', response_body_mode: 'NONE' };
    }
    return new Promise<ProcessingResponse>((resolve, reject) => {
      if (this.#status) return reject(new DriverError(`${this.#level}: stream already ended`));
      this.#waiter = {
        resolve: (response) => {
          if (response.immediate_response) {
            const r = response.immediate_response;
            reject(
              new DriverError(`${this.#level}: immediate response ${r.status.code}: ${r.details} ${r.body}`),
            );
          } else if (response[expected] === undefined) {
            reject(new DriverError(`${this.#level}: expected ${expected}, got ${response.response}`));
          } else resolve(response);
        },
        reject,
      };
      this.#call.write(message);
    });
  }

  /** Half-close, as Envoy does when the filter is done; resolves once the processor ends the stream OK. */
  close(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#status) {
        if (this.#status.code === grpc.status.OK) resolve();
        else reject(new DriverError(`${this.#level}: stream failed: ${this.#status.details}`));
        return;
      }
      this.#closed = { resolve, reject };
      this.#call.end();
    });
  }
}

export async function requestPhase(
  stream: FilterStream,
  headers: HeaderList,
  body: Buffer = chatRequestBody,
) {
  const requestHeaders = await stream.send(
    { request_headers: { headers: headerMap(headers), end_of_stream: false } },
    'request_headers',
  );
  if (requestHeaders.mode_override?.request_body_mode !== 'BUFFERED') {
    throw new DriverError('request headers answer did not ask for the BUFFERED body');
  }
  const requestBody = await stream.send({ request_body: { body, end_of_stream: true } }, 'request_body');
  return { requestHeaders, requestBody };
}

async function responsePhase(stream: FilterStream, headers: HeaderMap) {
  const responseHeaders = await stream.send(
    { response_headers: { headers, end_of_stream: false } },
    'response_headers',
  );
  const mode = responseHeaders.mode_override?.response_body_mode;
  if (mode !== undefined && mode !== 'NONE' && mode !== 'BUFFERED') {
    throw new DriverError(`response body mode ${mode} is not driven by this benchmark`);
  }
  const responseBody =
    mode === 'BUFFERED'
      ? await stream.send({ response_body: { body: chatResponseBody, end_of_stream: true } }, 'response_body')
      : undefined;
  return { responseHeaders, responseBody };
}

/** One chat request through both filters, in Envoy's order; resolves when both streams have ended. */
export async function runChatExchange(client: ExtProcClient, requestId: string): Promise<ChatExchange> {
  const router = new FilterStream(client, 'router');
  const routerRequest = await requestPhase(router, routerRequestHeaders(requestId));
  const upstream = new FilterStream(client, 'upstream');
  const upstreamRequest = await requestPhase(upstream, upstreamRequestHeaders(requestId));
  const upstreamResponse = await responsePhase(upstream, upstreamResponseHeaderMap);
  const upstreamClosed = upstream.close();
  const routerResponse = await responsePhase(router, routerResponseHeaderMap);
  await Promise.all([upstreamClosed, router.close()]);
  return {
    router: { ...routerRequest, ...routerResponse },
    upstream: { ...upstreamRequest, ...upstreamResponse },
  };
}

export function requestIdFor(index: number): string {
  return `b3e1c0de-0000-4000-8000-${index.toString(16).padStart(12, '0')}`;
}

/** Runs `requests` exchanges with at most `concurrency` in flight; returns the wall-clock time taken. */
export async function driveChat(
  client: ExtProcClient,
  options: { requests: number; concurrency: number; firstIndex?: number },
): Promise<{ elapsedMs: number }> {
  let next = options.firstIndex ?? 0;
  const end = next + options.requests;
  const worker = async () => {
    while (next < end) await runChatExchange(client, requestIdFor(next++));
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(options.concurrency, options.requests) }, worker));
  return { elapsedMs: performance.now() - started };
}
