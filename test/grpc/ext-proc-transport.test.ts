/**
 * ExternalProcessor/Process on the lean transport (grpc/server.ts) as ext-proc serves it: answers
 * framed in place (what grpc/in-place-framing.ts once patched into grpc-js), the Envoy-role driver of
 * the benchmark through both filters, a body mode no other wire test sends (BUFFERED_PARTIAL), and the
 * transport's own limits seen from ext-proc's side.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createExtProcClient,
  driveChat,
  type ExtProcClient,
  requestIdFor,
  runChatExchange,
} from '../../bench/ext-proc-driver.ts';
import { loadSnapshot } from '../../config/file-source.ts';
import { type ExtProcServer, startExtProc } from '../../ext-proc/server.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';
import { GrpcServer } from '../../grpc/server.ts';
import { MessageReader } from '../../grpc/wire.ts';
import { allocBody, HEADROOM_MIN_BODY } from '../../protos/body-headroom.ts';
import { EXT_PROC_SERVICE } from '../../protos/envoy.ts';
import { extProcCodec } from '../../protos/ext-proc-codec.ts';
import type { ProcessingRequest, ProcessingResponse } from '../../protos/ext-proc-messages.ts';
import { headerMap, rawClient } from '../helpers/ext-proc-client.ts';
import { capturingLogger, eventually } from '../helpers/log-capture.ts';

const codec = extProcCodec();

/** A body whose bytes say which message they belong to. */
function bodyFor(index: number, length: number): Buffer {
  const body = allocBody(length);
  for (let i = 0; i < length; i++) body[i] = (index * 31 + i) & 0xff;
  return body;
}

describe('framing ProcessingResponses', () => {
  it('frames a response encoded around a large body in place: the same memory, gRPC’s 5-byte prefix', () => {
    const body = bodyFor(1, HEADROOM_MIN_BODY * 4);
    const frame = codec.frameResponse({ request_body: { response: { body_mutation: { body } } } });
    expect(frame.buffer).toBe(body.buffer);
    expect(frame[0]).toBe(0);
    expect(frame.readUInt32BE(1)).toBe(frame.length - 5);
    expect(frame.subarray(frame.length - body.length).equals(body)).toBe(true);
  });

  it('frames every other response as one buffer: the prefix, then exactly the plain encoding', () => {
    const response: ProcessingResponse = {
      request_headers: {
        response: {
          clear_route_cache: true,
          header_mutation: {
            set_headers: [
              {
                header: { key: 'x-a', raw_value: Buffer.from('1') },
                append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
              },
            ],
          },
        },
      },
      mode_override: { request_body_mode: 'BUFFERED' },
    };
    const plain = codec.encodeResponse(structuredClone(response));
    const frame = codec.frameResponse(structuredClone(response));
    expect(frame).toEqual(Buffer.concat([Buffer.from([0, 0, 0, 0, plain.length]), plain]));
  });
});

describe('ext-proc over the lean transport', () => {
  let server: ExtProcServer;
  let driver: ExtProcClient;
  const logs = capturingLogger();

  beforeAll(async () => {
    server = await startExtProc({
      snapshot: loadSnapshot('examples/local.yaml', { supportedProviders }),
      logger: logs.logger,
      grpcAddress: '127.0.0.1:0',
      maxRequestBodyBytes: 64 * 1024,
    });
    driver = createExtProcClient(server.grpcPort!);
  });

  afterAll(async () => {
    driver.close();
    await server.shutdown(1000);
  });

  const openStreams = async () =>
    (await server.metrics.registry.getSingleMetricAsString('agent_router_ext_proc_streams'))
      .split('\n')
      .filter((line) => !line.startsWith('#') && line.trim() !== '')
      .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);

  it('takes the Envoy-role driver’s chat exchanges, both filters, many at once, and closes every stream', async () => {
    const exchange = await runChatExchange(driver, requestIdFor(1));
    expect(exchange.upstream.requestBody.request_body?.response?.body_mutation?.body).toBeDefined();
    expect(exchange.router.responseBody?.dynamic_metadata).toBeDefined();
    await driveChat(driver, { requests: 60, concurrency: 12, firstIndex: 2 });
    await eventually(async () => ((await openStreams()) === 0 ? true : undefined));
  });

  it('answers a BUFFERED_PARTIAL body that arrives whole', async () => {
    const client = rawClient(`127.0.0.1:${server.grpcPort}`);
    const s = client.open();
    s.send({
      request_headers: {
        headers: headerMap({
          ':method': 'POST',
          ':path': '/v1/chat/completions',
          authorization: 'Bearer sk-agent-router-team-a',
        }),
      },
      protocol_config: { request_body_mode: 'BUFFERED_PARTIAL', response_body_mode: 'NONE' },
    });
    expect((await s.next()).response).toBe('request_headers');
    s.send({
      request_body: {
        body: Buffer.from('{"model":"chat-model","messages":[{"role":"user","content":"hi"}]}'),
        end_of_stream: true,
      },
    });
    const answer = await s.next();
    expect(answer.response).toBe('request_body');
    expect(answer.request_body?.response?.clear_route_cache).toBe(true);
    s.end();
    await s.done;
    client.close();
  });

  it('refuses a message beyond body limit + 1 MiB with RESOURCE_EXHAUSTED and closes the stream', async () => {
    const client = rawClient(`127.0.0.1:${server.grpcPort}`);
    const s = client.open();
    s.send({ request_body: { body: Buffer.alloc(64 * 1024 + 1024 * 1024 + 1), end_of_stream: true } });
    const status = await s.status;
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    await eventually(async () => ((await openStreams()) === 0 ? true : undefined));
    client.close();
  });
});

describe('large answers framed in place, many in flight at once', () => {
  let server: GrpcServer;
  let client: ReturnType<typeof rawClient>;

  beforeAll(async () => {
    server = new GrpcServer({ maxReceiveMessageLength: 64 * 1024 * 1024 });
    server.addMethod<ProcessingRequest, ProcessingResponse>(`/${EXT_PROC_SERVICE}/Process`, {
      decode: codec.decodeRequest,
      frame: codec.frameResponse,
      handler(call) {
        // Each request names the bodies to answer with in its headers; all answers are written at once.
        call.on('data', (message: ProcessingRequest) => {
          const index = Number(message.request_headers?.headers?.headers?.[0]?.raw_value?.toString());
          for (let part = 0; part < 3; part++) {
            const body = bodyFor(index * 3 + part, 300_000 + part);
            call.write({ request_body: { response: { body_mutation: { body } } } });
          }
        });
        call.on('end', () => call.end());
      },
    });
    client = rawClient(`127.0.0.1:${await server.listen('127.0.0.1:0')}`);
  });

  afterAll(async () => {
    client.close();
    await server.close(100);
  });

  it('delivers every body intact', async () => {
    const streams = [0, 1, 2, 3].map((index) => {
      const stream = client.open();
      stream.send({
        request_headers: { headers: { headers: [{ key: 'n', raw_value: Buffer.from(String(index)) }] } },
      });
      return { index, stream };
    });
    for (const { index, stream } of streams) {
      for (let part = 0; part < 3; part++) {
        const answer = await stream.next();
        const received = Buffer.from(answer.request_body!.response!.body_mutation!.body!);
        expect(received.equals(bodyFor(index * 3 + part, 300_000 + part))).toBe(true);
      }
      stream.end();
      await stream.done;
    }
  });
});

describe('the reader of our answers', () => {
  it('reads a frame made in place back as the response it encodes', () => {
    const body = bodyFor(7, HEADROOM_MIN_BODY * 2);
    const frame = codec.frameResponse({ response_body: { response: { body_mutation: { body } } } });
    const messages: Buffer[] = [];
    new MessageReader(-1, { onMessage: (m) => messages.push(m), onFramingError: () => {} }).push(frame);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.subarray(messages[0]!.length - body.length).equals(body)).toBe(true);
  });
});
