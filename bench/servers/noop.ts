/**
 * The baseline for ext-proc's cost: an ExternalProcessor on the same @grpc/grpc-js + proto-loader stack
 * and package definition that does no work beyond answering. Each message gets the minimal valid answer
 * for its phase, with the `mode_override`s ext-proc sends for a chat request (BUFFERED request body on
 * both filters, BUFFERED response body on the router-level one), so it receives the same messages.
 */
import * as grpc from '@grpc/grpc-js';
import { FILTER_METADATA_KEY } from '../../ext-proc/headers.ts';
import type { ProcessingRequest, ProcessingResponse } from '../../protos/ext-proc-messages.ts';
import { extProcService } from '../ext-proc-service.ts';

export interface NoopServer {
  grpcPort: number;
  shutdown(): Promise<void>;
}

type Call = grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>;

export function answer(message: ProcessingRequest, router: boolean, streamed: boolean): ProcessingResponse {
  switch (message.request) {
    case 'request_headers':
      return message.request_headers?.end_of_stream
        ? { request_headers: {} }
        : { request_headers: {}, mode_override: { request_body_mode: 'BUFFERED' } };
    case 'response_headers':
      if (message.response_headers?.end_of_stream) return { response_headers: {} };
      // A streamed response goes through both filters chunk by chunk; a buffered one only the router's.
      if (streamed) return { response_headers: {}, mode_override: { response_body_mode: 'STREAMED' } };
      return router
        ? { response_headers: {}, mode_override: { response_body_mode: 'BUFFERED' } }
        : { response_headers: {} };
    case 'request_body':
      return { request_body: {} };
    case 'response_body':
      return { response_body: {} };
    case 'request_trailers':
      return { request_trailers: {} };
    default:
      return { response_trailers: {} };
  }
}

/**
 * `streamed`: the pass-through baseline for streams — every response chunk is answered unchanged.
 */
export async function startNoopExtProc(address = '127.0.0.1:0', streamed = false): Promise<NoopServer> {
  // Big enough for the 10 MB body benchmark, as ext-proc's own limit is.
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  server.addService(extProcService(), {
    Process(call: Call) {
      const router = call.metadata.get(FILTER_METADATA_KEY)[0] !== 'upstream';
      call.on('data', (message: ProcessingRequest) => call.write(answer(message, router, streamed)));
      call.on('end', () => call.end());
      call.on('error', () => {});
    },
  });
  const grpcPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, port) =>
      error ? reject(error) : resolve(port),
    ),
  );
  return {
    grpcPort,
    shutdown: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
