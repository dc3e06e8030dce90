import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toStruct } from '../../ext-proc/struct.ts';
import { extProcRoot } from '../../protos/envoy.ts';
import { extProcCodec } from '../../protos/ext-proc-codec.ts';
import type { ProcessingResponse } from '../../protos/ext-proc-messages.ts';
import { frameEncoder } from '../../protos/frame-encoder.ts';

const responseType = extProcRoot().lookupType('envoy.service.ext_proc.v3.ProcessingResponse');
const encodeFrame = frameEncoder(responseType);
const codec = extProcCodec();

/** The frame encoder's bytes must be protobufjs' own, prefixed. */
function expectSameAsProtobufjs(message: object): void {
  const frame = encodeFrame(message);
  expect(frame).toBeDefined();
  const plain = Buffer.from(responseType.encode(message).finish());
  expect(frame!.readUInt32BE(1)).toBe(plain.length);
  expect(frame![0]).toBe(0);
  expect(frame!.subarray(5).equals(plain)).toBe(true);
}

const header = (key: string, value: string) => ({
  header: { key, raw_value: Buffer.from(value) },
  append_action: 2,
});

describe('the frame encoder', () => {
  it('writes what protobufjs writes for the answers ext-proc gives a chat request', () => {
    const answers: object[] = [
      { request_headers: {}, mode_override: { request_body_mode: 1 } },
      {
        request_headers: {
          response: {
            header_mutation: { remove_headers: ['authorization', 'x-api-key', 'x-agent-router-route'] },
          },
        },
        mode_override: { request_body_mode: 1 },
      },
      {
        request_body: {
          response: {
            header_mutation: {
              set_headers: [header('x-agent-router-route', 'default/chat'), header('x-a', 'é😀')],
            },
            clear_route_cache: true,
            body_mutation: { body: Buffer.from('{"model":"m"}') },
          },
        },
        dynamic_metadata: toStruct({
          'agent-router': {
            route: 'default/default/chat-v2',
            n: 412,
            half: 0.5,
            ok: false,
            none: null,
            list: [1, 'a'],
          },
        }),
      },
      {
        response_body: {
          response: { body_mutation: { streamed_response: { body: Buffer.alloc(0), end_of_stream: true } } },
        },
      },
      { response_body: { response: { body_mutation: { clear_body: true } } } },
      { response_trailers: {} },
      { request_trailers: { header_mutation: { set_headers: [header('x-t', '1')] } } },
      {
        immediate_response: {
          status: { code: 429 },
          headers: { set_headers: [header('content-type', 'application/json')] },
          body: Buffer.from('{"error":{}}'),
          details: 'agent_router_direct_response',
          grpc_status: { status: 0 },
        },
      },
      { response_headers: { response: { status: 1 } }, override_message_timeout: { seconds: 3, nanos: 500 } },
      { response_headers: {}, dynamic_metadata: { fields: { empty: {} } } },
    ];
    for (const answer of answers) expectSameAsProtobufjs(answer);
  });

  it('writes what protobufjs writes for any header mutation and metadata', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 60 });
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        text,
        fc.double({ noNaN: true }),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(text, tie('value'), { maxKeys: 3 }),
      ),
    })).value;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(text, text), { maxLength: 6 }),
        fc.array(text, { maxLength: 6 }),
        fc.dictionary(text, json, { maxKeys: 4 }),
        fc.uint8Array({ maxLength: 300 }),
        (set, remove, metadata, body) => {
          expectSameAsProtobufjs({
            request_body: {
              response: {
                header_mutation: { set_headers: set.map(([k, v]) => header(k, v)), remove_headers: remove },
                body_mutation: { body: Buffer.from(body) },
              },
            },
            dynamic_metadata: toStruct({ 'agent-router': metadata }),
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('writes ropes and slices (strings made per request by a template or slice) as the flat strings they spell', () => {
    // Around V8's shortest rope and slice (13 characters) and the old 64-character cut-off, ASCII or not.
    const parts = ['a'.repeat(5), 'b'.repeat(7), 'é'.repeat(6), '😀', 'x-agent-router-'];
    const strings: string[] = [];
    for (const a of parts)
      for (const b of parts) {
        const rope = `${a}${b}${'c'.repeat(a.length)}`;
        strings.push(rope, `${rope}${rope}${rope}${rope}`, `#${rope}#`.slice(1, -1));
      }
    for (const value of strings) {
      const flat = Buffer.from(value).toString();
      expectSameAsProtobufjs({
        request_body: {
          response: { header_mutation: { set_headers: [header(value, flat)], remove_headers: [value] } },
        },
        dynamic_metadata: toStruct({ [value]: { [value]: value } }),
      });
      const asText = codec.frameResponse({
        request_body: {
          response: {
            header_mutation: {
              set_headers: [
                { header: { key: value, raw_value: value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
              ],
            },
          },
        },
      });
      const plain = Buffer.from(
        responseType
          .encode({ request_body: { response: { header_mutation: { set_headers: [header(flat, flat)] } } } })
          .finish(),
      );
      expect(asText.subarray(5).equals(plain)).toBe(true);
    }
  });

  it('writes enum names as their numbers, as the codec’s conversion for protobufjs does', () => {
    const named = {
      request_headers: {
        response: {
          header_mutation: {
            set_headers: [{ ...header('x', '1'), append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
          },
        },
      },
      mode_override: { request_body_mode: 'FULL_DUPLEX_STREAMED', response_header_mode: 'SKIP' },
    } as unknown as ProcessingResponse;
    const plain = codec.encodeResponse(structuredClone(named));
    expect(encodeFrame(named)!.subarray(5).equals(plain)).toBe(true);
  });

  it('writes a header value given as text as its UTF-8 bytes, as the same value given as bytes', () => {
    const textual = extProcCodec().frameResponse;
    const text = fc.string({ unit: 'grapheme', maxLength: 80 });
    fc.assert(
      fc.property(fc.array(fc.tuple(text, text), { maxLength: 6 }), (pairs) => {
        const asText = (key: string, value: string) => ({
          header: { key, raw_value: value },
          append_action: 2,
        });
        const message = (make: (key: string, value: string) => object) => ({
          request_body: { response: { header_mutation: { set_headers: pairs.map(([k, v]) => make(k, v)) } } },
        });
        const frame = textual(message(asText) as unknown as ProcessingResponse);
        const plain = Buffer.from(responseType.encode(message(header)).finish());
        expect(frame.subarray(5).equals(plain)).toBe(true);
      }),
    );
  });

  it('takes text only where it was told to: a string for another bytes field is declined, as protobufjs reads it as base64', () => {
    expect(encodeFrame({ request_body: { response: { body_mutation: { body: 'e30=' } } } })).toBeUndefined();
    // The encoder made without text fields declines header values given as text too.
    expect(
      encodeFrame({
        request_trailers: { header_mutation: { set_headers: [{ header: { key: 'a', raw_value: 'b' } }] } },
      }),
    ).toBeUndefined();
  });

  it('declines what it does not handle, and the codec still frames it with protobufjs', () => {
    expect(encodeFrame({ mode_override: { request_body_mode: 'NO_SUCH_MODE' } })).toBeUndefined();
    const negative = { override_message_timeout: { seconds: -1 } };
    expect(encodeFrame(negative)).toBeUndefined();
    const frame = codec.frameResponse(negative as ProcessingResponse);
    expect(frame.subarray(5).equals(Buffer.from(responseType.encode(negative).finish()))).toBe(true);
  });

  it('sends header values given as text as bytes on the protobufjs path too', () => {
    const message = {
      override_message_timeout: { seconds: -1 },
      request_trailers: { header_mutation: { set_headers: [{ header: { key: 'x-é', raw_value: 'vé😀' } }] } },
    };
    const frame = codec.frameResponse(structuredClone(message) as unknown as ProcessingResponse);
    const decoded = responseType.toObject(responseType.decode(frame.subarray(5))) as {
      request_trailers: { header_mutation: { set_headers: { header: { raw_value: Uint8Array } }[] } };
    };
    expect(
      Buffer.from(decoded.request_trailers.header_mutation.set_headers[0]!.header.raw_value).toString(),
    ).toBe('vé😀');
  });

  it('encodes a frozen Struct once and writes its bytes after that; an unfrozen one each time', () => {
    const encodeOnce = frameEncoder(responseType, undefined, [], ['google.protobuf.Struct']);
    const metadata = { 'agent-router': { route: 'default/default/chat-v2', key_id: 'default/team-a', n: 3 } };
    let reads = 0;
    const counted = <T extends object>(struct: T): T =>
      Object.freeze(
        Object.defineProperty({}, 'fields', {
          enumerable: true,
          get: () => {
            reads++;
            return (struct as { fields: unknown }).fields;
          },
        }),
      ) as T;
    const frozen = counted(toStruct(metadata));
    const message = (struct: object) => ({ request_body: {}, dynamic_metadata: struct });
    const expected = Buffer.from(responseType.encode(message(toStruct(metadata))).finish());
    expect(encodeOnce(message(frozen))!.subarray(5).equals(expected)).toBe(true);
    const once = reads; // its measuring and writing pass
    expect(once).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) expect(encodeOnce(message(frozen))!.subarray(5).equals(expected)).toBe(true);
    expect(reads).toBe(once);
    // Not frozen: read, and encoded as it is now, at every answer.
    const open = toStruct(metadata);
    expect(encodeOnce(message(open))!.subarray(5).equals(expected)).toBe(true);
    (open.fields!['agent-router']!.structValue!.fields as Record<string, unknown>).route = {
      stringValue: 'x',
    };
    const changed = Buffer.from(responseType.encode(message(open)).finish());
    expect(encodeOnce(message(open))!.subarray(5).equals(changed)).toBe(true);
  });

  it('writes frozen Structs nested in others, and beside other fields, as protobufjs does', () => {
    const encodeOnce = frameEncoder(responseType, undefined, [], ['google.protobuf.Struct']);
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 6 }),
        fc.boolean(),
        (value, freeze) => {
          const struct = toStruct(
            freeze ? Object.freeze({ ns: Object.freeze({ ...value }) }) : { ns: value },
          );
          const message = {
            request_body: { response: { header_mutation: { set_headers: [header('x-a', 'b')] } } },
            dynamic_metadata: struct,
          };
          const plain = Buffer.from(responseType.encode(message).finish());
          expect(encodeOnce(message)!.subarray(5).equals(plain)).toBe(true);
          expect(encodeOnce(message)!.subarray(5).equals(plain)).toBe(true);
        },
      ),
    );
  });
});
