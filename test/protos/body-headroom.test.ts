import { describe, expect, it } from 'vitest';
import { toStruct } from '../../ext-proc/struct.ts';
import { allocBody, BODY_HEADROOM, HEADROOM_MIN_BODY } from '../../protos/body-headroom.ts';
import { EXT_PROC_SERVICE, extProcPackageDefinition } from '../../protos/envoy.ts';
import { extProcServerDefinition } from '../../protos/ext-proc-codec.ts';
import type { ProcessingResponse } from '../../protos/ext-proc-messages.ts';

// biome-ignore lint/suspicious/noExplicitAny: method definitions of a loaded service are untyped
const standard = (extProcPackageDefinition()[EXT_PROC_SERVICE] as any).Process;
// biome-ignore lint/suspicious/noExplicitAny: as above
const lean = (extProcServerDefinition() as any).Process;

function bodyOf(length: number, fill = 0x61): Buffer {
  const body = allocBody(length);
  for (let i = 0; i < length; i++) body[i] = fill + (i % 26);
  return body;
}

function header(key: string, value: string) {
  return {
    header: { key, raw_value: Buffer.from(value) },
    append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' as const,
  };
}

/** Every place a body travels back to Envoy, with the other fields Envoy reads beside it. */
function responsesAround(body: Buffer): ProcessingResponse[] {
  const common = {
    header_mutation: {
      set_headers: [header(':path', '/v1/messages'), header('content-length', String(body.length))],
      remove_headers: ['authorization', 'x-agent-router-route'],
    },
    clear_route_cache: true,
  };
  const metadata = {
    dynamic_metadata: toStruct({ 'agent-router': { backend: 'default/claude', attempt: 2 } }),
  };
  return [
    { request_body: { response: { ...common, body_mutation: { body } } }, ...metadata },
    { request_body: { response: { body_mutation: { streamed_response: { body, end_of_stream: true } } } } },
    { response_body: { response: { ...common, body_mutation: { body } } } },
    {
      response_body: { response: { body_mutation: { streamed_response: { body, end_of_stream: false } } } },
      mode_override: { response_body_mode: 'STREAMED' },
    },
  ];
}

describe('encoding a large body in its headroom', () => {
  it('gives the message the standard codec encodes, for every place a body travels', () => {
    for (let place = 0; place < 4; place++) {
      const body = bodyOf(HEADROOM_MIN_BODY + 12345);
      const response = responsesAround(body)[place]!;
      const plain = standard.responseSerialize(structuredClone(response));
      const wire: Buffer = lean.responseSerialize(response);
      // Encoded around the body, in the same memory: no copy of it.
      expect(wire.buffer).toBe(body.buffer);
      expect(wire.byteOffset + wire.length).toBe(body.byteOffset + body.length);
      expect(standard.responseDeserialize(wire)).toEqual(standard.responseDeserialize(plain));
    }
  });

  it('sends header values given as text as their bytes around a body too', () => {
    const body = bodyOf(HEADROOM_MIN_BODY + 99);
    const withBuffers = responsesAround(body)[0]!;
    const plain = standard.responseSerialize(structuredClone(withBuffers));
    const textual = structuredClone(withBuffers);
    for (const option of textual.request_body!.response!.header_mutation!.set_headers!)
      option.header.raw_value = Buffer.from(option.header.raw_value!).toString();
    textual.request_body!.response!.body_mutation = { body };
    const wire: Buffer = lean.responseSerialize(textual);
    expect(wire.buffer).toBe(body.buffer);
    expect(standard.responseDeserialize(wire)).toEqual(standard.responseDeserialize(plain));
  });

  it('uses a body’s headroom once: a second message with it is copied, the first may still be in flight', () => {
    const body = bodyOf(HEADROOM_MIN_BODY);
    const first: Buffer = lean.responseSerialize(responsesAround(body)[0]);
    const second: Buffer = lean.responseSerialize(responsesAround(body)[0]);
    expect(first.buffer).toBe(body.buffer);
    expect(second.buffer).not.toBe(body.buffer);
    expect(standard.responseDeserialize(second)).toEqual(standard.responseDeserialize(first));
  });

  it('leaves the body bytes as they were', () => {
    const body = bodyOf(HEADROOM_MIN_BODY * 2);
    const copy = Buffer.from(body);
    lean.responseSerialize(responsesAround(body)[0]);
    expect(body.equals(copy)).toBe(true);
  });

  it('copies bodies that were not built for it, or are small, the plain way', () => {
    const foreign = Buffer.alloc(HEADROOM_MIN_BODY * 2, 0x62);
    const small = bodyOf(HEADROOM_MIN_BODY - 1);
    for (const body of [foreign, small]) {
      const response = responsesAround(body)[0]!;
      const wire: Buffer = lean.responseSerialize(response);
      expect(wire.buffer).not.toBe(body.buffer);
      expect(standard.responseDeserialize(wire)).toEqual(
        standard.responseDeserialize(standard.responseSerialize(structuredClone(response))),
      );
    }
  });

  it('falls back to a copy when the rest of the message does not fit in front of the body', () => {
    const body = bodyOf(HEADROOM_MIN_BODY);
    const response: ProcessingResponse = {
      request_body: {
        response: {
          header_mutation: { set_headers: [header('x-big', 'v'.repeat(BODY_HEADROOM))] },
          body_mutation: { body },
        },
      },
    };
    const wire: Buffer = lean.responseSerialize(response);
    expect(wire.buffer).not.toBe(body.buffer);
    expect(standard.responseDeserialize(wire)).toEqual(
      standard.responseDeserialize(standard.responseSerialize(structuredClone(response))),
    );
  });
});
