/**
 * The baseline for the endpoint picker's cost: an ExternalProcessor on the same @grpc/grpc-js stack and
 * codec as the picker (protos/ext-proc-codec.ts, same receive limit) that answers a FULL_DUPLEX_STREAMED
 * request exactly as the picker does, minus the decision: it holds the headers answer until the body has
 * ended, answers it with a fixed destination in the header and in `envoy.lb` metadata (three endpoints, as
 * the `ours` preset returns a primary and two fallbacks) and their scores in `agent-router.picker` (fixed
 * figures for the `ours` preset's scorers), then streams the body back unchanged
 * (ext-proc/stream.ts, FULL_DUPLEX_STREAMED). Other messages get the minimal answer for their phase.
 */
import * as grpc from '@grpc/grpc-js';
import {
  DESTINATION_ENDPOINT_HEADER,
  DESTINATION_METADATA_NAMESPACE,
  PICKER_SCORES_NAMESPACE,
} from '../../endpoint-picker/protocol.ts';
import { toStruct } from '../../ext-proc/struct.ts';
import type { ProcessingRequest, ProcessingResponse } from '../../protos/ext-proc-messages.ts';
import { extProcService } from '../ext-proc-service.ts';
import type { NoopServer } from './noop.ts';

type Call = grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>;

export const NOOP_DESTINATION = '127.77.1.1:8000,127.77.1.2:8000,127.77.1.3:8000';

const WEIGHTS = { queue: 2, 'kv-cache-utilization': 2, 'prefix-cache': 3, 'session-affinity': 1 };
const SCORES = { total: 4, queue: 1, 'kv-cache-utilization': 1, 'prefix-cache': 0, 'session-affinity': 0 };

/** Built per request, as the picker builds its answer (the header value is what differs). */
function headersAnswer(): ProcessingResponse {
  return {
    request_headers: {
      response: {
        header_mutation: {
          set_headers: [
            {
              header: { key: DESTINATION_ENDPOINT_HEADER, raw_value: Buffer.from(NOOP_DESTINATION) },
              append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
            },
          ],
        },
      },
    },
    dynamic_metadata: toStruct({
      [DESTINATION_METADATA_NAMESPACE]: { [DESTINATION_ENDPOINT_HEADER]: NOOP_DESTINATION },
      [PICKER_SCORES_NAMESPACE]: {
        weights: WEIGHTS,
        endpoints: Object.fromEntries(NOOP_DESTINATION.split(',').map((e) => [e, { ...SCORES }])),
      },
    }),
  };
}

class NoopPickerStream {
  #chunks: Buffer[] = [];
  #fullDuplex = false;

  constructor(private readonly call: Call) {
    call.on('data', (message: ProcessingRequest) => this.#onMessage(message));
    call.on('end', () => call.end());
    call.on('error', () => {});
  }

  #onMessage(message: ProcessingRequest): void {
    const call = this.call;
    switch (message.request) {
      case 'request_headers':
        this.#fullDuplex = message.protocol_config?.request_body_mode === 'FULL_DUPLEX_STREAMED';
        if (message.request_headers?.end_of_stream || !this.#fullDuplex) call.write(headersAnswer());
        return;
      case 'request_body': {
        const chunk = message.request_body?.body;
        if (!this.#fullDuplex) {
          call.write({ request_body: {} });
          return;
        }
        if (chunk && chunk.length > 0) this.#chunks.push(chunk);
        if (message.request_body?.end_of_stream !== true) return;
        const body = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
        this.#chunks = [];
        call.write(headersAnswer());
        call.write({
          request_body: { response: { body_mutation: { streamed_response: { body, end_of_stream: true } } } },
        });
        return;
      }
      case 'request_trailers':
        call.write({ request_trailers: {} });
        return;
      case 'response_headers':
        call.write({ response_headers: {} });
        return;
      case 'response_body':
        call.write({ response_body: {} });
        return;
      default:
        call.write({ response_trailers: {} });
    }
  }
}

export async function startNoopPicker(address = '127.0.0.1:0'): Promise<NoopServer> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  server.addService(extProcService(), {
    Process(call: Call) {
      new NoopPickerStream(call);
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
