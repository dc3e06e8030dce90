import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installInPlaceFraming } from '../../grpc/in-place-framing.ts';
import { bindInsecure } from '../../grpc/server-lifecycle.ts';
import { allocBody, HEADROOM_MIN_BODY } from '../../protos/body-headroom.ts';
import { extProcServerDefinition } from '../../protos/ext-proc-codec.ts';
import type { ProcessingRequest, ProcessingResponse } from '../../protos/ext-proc-messages.ts';
import { rawClient } from '../helpers/ext-proc-client.ts';

const require = createRequire(import.meta.url);
const callPrototype = require('@grpc/grpc-js/build/src/server-interceptors.js').BaseServerInterceptingCall
  .prototype as { serializeMessage(value: unknown): Buffer };
// biome-ignore lint/suspicious/noExplicitAny: method definitions of a loaded service are untyped
const lean = (extProcServerDefinition() as any).Process;

/** The patched method, run as grpc-js runs it: on a call whose handler serialises with our codec. */
const frame = (response: ProcessingResponse) =>
  callPrototype.serializeMessage.call({ handler: { serialize: lean.responseSerialize } }, response);

/** A body whose bytes say which message they belong to. */
function bodyFor(index: number, length: number): Buffer {
  const body = allocBody(length);
  for (let i = 0; i < length; i++) body[i] = (index * 31 + i) & 0xff;
  return body;
}

beforeAll(() => {
  expect(installInPlaceFraming()).toBe(true);
});

describe('in-place gRPC framing', () => {
  it('is installed over the @grpc/grpc-js this project pins', () => {
    expect(installInPlaceFraming()).toBe(true);
  });

  it('frames a message encoded around a body in place: the same memory, grpc’s 5-byte prefix', () => {
    const body = bodyFor(1, HEADROOM_MIN_BODY * 4);
    const response: ProcessingResponse = { request_body: { response: { body_mutation: { body } } } };
    const framed = frame(response);
    expect(framed.buffer).toBe(body.buffer);
    expect(framed[0]).toBe(0);
    expect(framed.readUInt32BE(1)).toBe(framed.length - 5);
    expect(framed.subarray(framed.length - body.length).equals(body)).toBe(true);
  });

  it('frames every other message as grpc-js does', () => {
    const response: ProcessingResponse = { request_headers: { response: { clear_route_cache: true } } };
    const message: Buffer = lean.responseSerialize(structuredClone(response));
    const framed = frame(response);
    expect(framed).toEqual(Buffer.concat([Buffer.from([0, 0, 0, 0, message.length]), message]));
  });

  describe('over loopback, with many large answers in flight at once', () => {
    let server: grpc.Server;
    let client: ReturnType<typeof rawClient>;

    beforeAll(async () => {
      server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
      server.addService(extProcServerDefinition(), {
        Process(call: grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>) {
          // Each request names the body to answer with in its headers; all answers are written at once.
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
      const port = await bindInsecure(server, '127.0.0.1:0');
      client = rawClient(`127.0.0.1:${port}`);
    });

    afterAll(() => {
      client?.close();
      server?.forceShutdown();
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
});
