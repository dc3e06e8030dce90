import { describe, expect, it } from 'vitest';
import { loadEnvoyRoot } from '../../protos/envoy.ts';

describe('Envoy ext_proc protos', () => {
  const root = loadEnvoyRoot(['envoy/service/ext_proc/v3/external_processor.proto']);

  it('knows the FULL_DUPLEX_STREAMED and GRPC body send modes by their current numbers', () => {
    const mode = root.lookupEnum('envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode');
    expect(mode.values).toMatchObject({
      NONE: 0,
      STREAMED: 1,
      BUFFERED: 2,
      BUFFERED_PARTIAL: 3,
      FULL_DUPLEX_STREAMED: 4,
      GRPC: 5,
    });
  });

  it('round-trips a streamed_response body mutation on the wire', () => {
    const type = root.lookupType('envoy.service.ext_proc.v3.ProcessingResponse');
    const message = type.fromObject({
      request_body: {
        response: { body_mutation: { streamed_response: { body: Buffer.from('{}'), end_of_stream: true } } },
      },
    });
    const decoded = type.toObject(type.decode(type.encode(message).finish()), { oneofs: true });
    expect(decoded.request_body.response.body_mutation.mutation).toBe('streamed_response');
    expect(Buffer.from(decoded.request_body.response.body_mutation.streamed_response.body).toString()).toBe(
      '{}',
    );
  });

  it('decodes protocol_config (field 11) that current Envoy puts on the first request message', () => {
    const type = root.lookupType('envoy.service.ext_proc.v3.ProcessingRequest');
    // Hand-encoded: field 11, length-delimited, containing request_body_mode (1) = 4 (FULL_DUPLEX_STREAMED).
    const wire = Buffer.from([0x5a, 0x02, 0x08, 0x04, 0x12, 0x00]);
    const decoded = type.toObject(type.decode(wire), { enums: String, oneofs: true });
    expect(decoded.protocol_config).toEqual({ request_body_mode: 'FULL_DUPLEX_STREAMED' });
    expect(decoded.request).toBe('request_headers');
  });

  it('keeps header raw_value bytes, where current Envoy sends header values', () => {
    const type = root.lookupType('envoy.config.core.v3.HeaderValue');
    const decoded = type.toObject(
      type.decode(type.encode(type.fromObject({ key: 'a', raw_value: Buffer.from('b') })).finish()),
    );
    expect(Buffer.from(decoded.raw_value).toString()).toBe('b');
  });
});
