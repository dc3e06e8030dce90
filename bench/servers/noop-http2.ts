/**
 * The floor under any ext_proc server in Node: bare node:http2 answering each message with the same
 * answer the grpc-js no-op gives (noop.ts), encoded once at start. No protobuf decoding beyond reading
 * which phase a message is (its first field tag) and, for headers, `end_of_stream`; no method table,
 * no call objects. What a gRPC transport costs above this is what it spends on itself.
 */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { FILTER_METADATA_KEY } from '../../ext-proc/headers.ts';
import { MessageReader } from '../../grpc/wire.ts';
import { extProcCodec } from '../../protos/ext-proc-codec.ts';
import type { ProcessingResponse } from '../../protos/ext-proc-messages.ts';
import type { NoopServer } from './noop.ts';

const frame = (response: ProcessingResponse) => extProcCodec().frameResponse(response);

/** ProcessingRequest field numbers of the phases (external_processor.proto), 2 to 7. */
const REQUEST_HEADERS = 2;
const RESPONSE_HEADERS = 3;
const REQUEST_BODY = 4;
const RESPONSE_BODY = 5;
const REQUEST_TRAILERS = 6;

const ANSWERS = {
  requestHeaders: frame({ request_headers: {} }),
  requestHeadersBuffered: frame({ request_headers: {}, mode_override: { request_body_mode: 'BUFFERED' } }),
  responseHeaders: frame({ response_headers: {} }),
  responseHeadersBuffered: frame({ response_headers: {}, mode_override: { response_body_mode: 'BUFFERED' } }),
  requestBody: frame({ request_body: {} }),
  responseBody: frame({ response_body: {} }),
  requestTrailers: frame({ request_trailers: {} }),
  responseTrailers: frame({ response_trailers: {} }),
};

function readVarint(buffer: Buffer, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  while (at < buffer.length) {
    const byte = buffer[at++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) break;
    shift += 7;
  }
  return [value, at];
}

/** HttpHeaders.end_of_stream (field 3) of the phase message that starts `message`. */
function endOfStream(message: Buffer): boolean {
  let [length, at] = readVarint(message, 1);
  const end = Math.min(message.length, at + length);
  while (at < end) {
    let tag: number;
    [tag, at] = readVarint(message, at);
    if ((tag & 7) === 2) {
      [length, at] = readVarint(message, at);
      at += length;
    } else if ((tag & 7) === 0) {
      let value: number;
      [value, at] = readVarint(message, at);
      if (tag >> 3 === 3) return value !== 0;
    } else return false;
  }
  return false;
}

function answer(message: Buffer, router: boolean): Buffer {
  switch (message[0]! >> 3) {
    case REQUEST_HEADERS:
      return endOfStream(message) ? ANSWERS.requestHeaders : ANSWERS.requestHeadersBuffered;
    case RESPONSE_HEADERS:
      return router && !endOfStream(message) ? ANSWERS.responseHeadersBuffered : ANSWERS.responseHeaders;
    case REQUEST_BODY:
      return ANSWERS.requestBody;
    case RESPONSE_BODY:
      return ANSWERS.responseBody;
    case REQUEST_TRAILERS:
      return ANSWERS.requestTrailers;
    default:
      return ANSWERS.responseTrailers;
  }
}

const HEADERS = { ':status': 200, 'content-type': 'application/grpc+proto' };
const TRAILERS = { 'grpc-status': '0' };
const RESPOND = { waitForTrailers: true, sendDate: false } as http2.ServerStreamResponseOptions;

export async function startNoopHttp2(address = '127.0.0.1', port = 0): Promise<NoopServer> {
  const server = http2.createServer({ maxSessionMemory: Number.MAX_SAFE_INTEGER });
  server.on('stream', (stream, headers) => {
    const router = headers[FILTER_METADATA_KEY] !== 'upstream';
    stream.on('error', () => {});
    stream.respond(HEADERS, RESPOND);
    stream.once('wantTrailers', () => stream.sendTrailers(TRAILERS));
    const reader = new MessageReader(64 * 1024 * 1024, {
      onMessage: (message) => stream.write(answer(message, router)),
      onFramingError: () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR),
    });
    stream.on('data', (chunk: Buffer) => reader.push(chunk));
    stream.on('end', () => stream.end());
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('error', () => {});
    session.once('close', () => sessions.delete(session));
  });
  server.on('sessionError', () => {});
  await new Promise<void>((resolve) => server.listen(port, address, resolve));
  return {
    grpcPort: (server.address() as AddressInfo).port,
    shutdown: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.close();
      }),
  };
}
