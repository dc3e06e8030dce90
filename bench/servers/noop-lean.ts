/**
 * The grpc-js no-op's answers (noop.ts) on the services' own transport (grpc/server.ts) and codec:
 * what the transport costs above bare node:http2 (noop-http2.ts), with no ext-proc work at all.
 */
import { FILTER_METADATA_KEY } from '../../ext-proc/headers.ts';
import { GrpcServer } from '../../grpc/server.ts';
import { EXT_PROC_SERVICE } from '../../protos/envoy.ts';
import { extProcCodec } from '../../protos/ext-proc-codec.ts';
import type { ProcessingRequest, ProcessingResponse } from '../../protos/ext-proc-messages.ts';
import { answer, type NoopServer } from './noop.ts';

export async function startNoopLean(address = '127.0.0.1:0'): Promise<NoopServer> {
  const codec = extProcCodec();
  const server = new GrpcServer({ maxReceiveMessageLength: 64 * 1024 * 1024 });
  server.addMethod<ProcessingRequest, ProcessingResponse>(`/${EXT_PROC_SERVICE}/Process`, {
    decode: codec.decodeRequest,
    frame: codec.frameResponse,
    handler(call) {
      const router = call.header(FILTER_METADATA_KEY) !== 'upstream';
      call.on('data', (message: ProcessingRequest) => call.write(answer(message, router, false)));
      call.on('end', () => call.end());
    },
  });
  const grpcPort = (await server.listen(address))!;
  return { grpcPort, shutdown: () => server.close(1000) };
}
