/**
 * A gateway stand-in for the endpoint picker: one `Process` stream per request in the mode gateways
 * configure for an EPP, FULL_DUPLEX_STREAMED request body (GIE docs/proposals/004-endpoint-picker-protocol;
 * test/endpoint-picker/protocol.test.ts). The request headers go first with `protocol_config`, then the
 * body in chunks without waiting for the headers answer (`send_body_without_waiting_for_header_response`);
 * the picker answers the headers once it has read the body (destination header + `envoy.lb` metadata),
 * then streams the body back. The stream is half-closed after that, as the request side is all a
 * decision needs.
 */
import * as grpc from '@grpc/grpc-js';
import type { ProcessingRequest, ProcessingResponse } from '../protos/ext-proc-messages.ts';
import { DriverError, type ExtProcClient, headerMap, requestIdFor } from './ext-proc-driver.ts';
import { pickerRequestBody, pickerRequestHeaders } from './picker-workload.ts';

type Call = grpc.ClientDuplexStream<ProcessingRequest, ProcessingResponse>;

/** One stream with answers queued as they come, since full duplex has no one-answer-per-message rule. */
export class DuplexStream {
  readonly #call: Call;
  readonly #answers: ProcessingResponse[] = [];
  #waiter: { resolve(r: ProcessingResponse): void; reject(e: Error): void } | undefined;
  #closed: { resolve(): void; reject(e: Error): void } | undefined;
  #status: grpc.StatusObject | undefined;

  constructor(client: ExtProcClient) {
    this.#call = client.Process(new grpc.Metadata());
    this.#call.on('data', (response: ProcessingResponse) => {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      if (waiter) waiter.resolve(response);
      else this.#answers.push(response);
    });
    // grpc-js emits 'error' for every non-OK status, then 'status'; 'status' alone settles the stream.
    this.#call.on('error', () => {});
    this.#call.on('status', (status: grpc.StatusObject) => {
      this.#status = status;
      const error =
        status.code === grpc.status.OK
          ? new DriverError('stream ended before an expected answer')
          : new DriverError(`stream failed: ${status.code} ${status.details}`);
      this.#waiter?.reject(error);
      this.#waiter = undefined;
      if (status.code === grpc.status.OK) this.#closed?.resolve();
      else this.#closed?.reject(error);
    });
  }

  write(message: ProcessingRequest): void {
    this.#call.write(message);
  }

  /** The next answer, in the order the processor sent them. */
  next(): Promise<ProcessingResponse> {
    const queued = this.#answers.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#status) return Promise.reject(new DriverError('stream already ended'));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** Half-close; resolves once the processor ends the stream OK with no answer left unread. */
  close(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const settle = () => {
        if (this.#answers.length > 0)
          reject(new DriverError(`unexpected extra answer ${this.#answers[0]!.response}`));
        else resolve();
      };
      if (this.#status) {
        if (this.#status.code === grpc.status.OK) settle();
        else reject(new DriverError(`stream failed: ${this.#status.details}`));
        return;
      }
      this.#closed = { resolve: settle, reject };
      this.#call.end();
    });
  }
}

/** What the picker (or its no-op stand-in) answered for one request. */
export interface PickExchange {
  headers: ProcessingResponse;
  body: ProcessingResponse;
}

/** Body chunk boundaries: two chunks, as a body arriving in two reads. */
const FIRST_CHUNK_BYTES = 1024;

/** One request through the picker's request side; a refusal (immediate response) is a DriverError. */
export async function runPick(client: ExtProcClient, index: number): Promise<PickExchange> {
  const body = pickerRequestBody(index);
  const stream = new DuplexStream(client);
  stream.write({
    request_headers: {
      headers: headerMap(pickerRequestHeaders(index, requestIdFor(index), body.length)),
      end_of_stream: false,
    },
    protocol_config: {
      request_body_mode: 'FULL_DUPLEX_STREAMED',
      send_body_without_waiting_for_header_response: true,
    },
  });
  stream.write({ request_body: { body: body.subarray(0, FIRST_CHUNK_BYTES), end_of_stream: false } });
  stream.write({ request_body: { body: body.subarray(FIRST_CHUNK_BYTES), end_of_stream: true } });
  const headers = await stream.next();
  if (headers.immediate_response) {
    const r = headers.immediate_response;
    throw new DriverError(`picker refused: ${r.status.code} ${r.details} ${r.body}`);
  }
  if (headers.request_headers === undefined)
    throw new DriverError(`expected request_headers first, got ${headers.response}`);
  const streamed = await stream.next();
  if (streamed.request_body?.response?.body_mutation?.streamed_response?.end_of_stream !== true)
    throw new DriverError(`expected the streamed request body, got ${streamed.response}`);
  await stream.close();
  return { headers, body: streamed };
}

/** Runs `requests` picks with at most `concurrency` in flight; returns the wall-clock time taken. */
export async function drivePicks(
  client: ExtProcClient,
  options: { requests: number; concurrency: number; firstIndex?: number },
): Promise<{ elapsedMs: number }> {
  let next = options.firstIndex ?? 0;
  const end = next + options.requests;
  const worker = async () => {
    while (next < end) await runPick(client, next++);
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(options.concurrency, options.requests) }, worker));
  return { elapsedMs: performance.now() - started };
}
