import { describe, expect, it } from 'vitest';
import { fromStruct, toStruct } from '../../ext-proc/struct.ts';
import { EXT_PROC_SERVICE, extProcPackageDefinition } from '../../protos/envoy.ts';
import { extProcServerDefinition } from '../../protos/ext-proc-codec.ts';

// biome-ignore lint/suspicious/noExplicitAny: method definitions of a loaded service are untyped
const standard = (extProcPackageDefinition()[EXT_PROC_SERVICE] as any).Process;
// biome-ignore lint/suspicious/noExplicitAny: as above
const lean = (extProcServerDefinition() as any).Process;

describe('the lean ext_proc server codec', () => {
  it('reads filter metadata (Struct values of every kind) that Envoy sends', () => {
    const metadata = {
      'x-gateway-destination-endpoint-subset': ['10.0.0.1:8000', '10.0.0.2:8000'],
      n: 1.5,
      b: false,
      s: '',
      o: { k: 'v' },
    };
    const wire = standard.requestSerialize({
      request_headers: {
        headers: { headers: [{ key: ':path', raw_value: Buffer.from('/v1/chat/completions') }] },
      },
      metadata_context: { filter_metadata: { 'envoy.lb.subset_hint': toStruct(metadata) } },
    });
    const message = lean.requestDeserialize(wire);
    expect(message.request).toBe('request_headers');
    expect(fromStruct(message.metadata_context.filter_metadata['envoy.lb.subset_hint'])).toEqual(metadata);
    expect(Buffer.from(message.request_headers.headers.headers[0].raw_value).toString()).toBe(
      '/v1/chat/completions',
    );
  });

  it('names the configured body modes and encodes enum names as the standard codec decodes them', () => {
    const wire = standard.requestSerialize({
      request_headers: {},
      protocol_config: { request_body_mode: 'FULL_DUPLEX_STREAMED', response_body_mode: 'STREAMED' },
    });
    expect(lean.requestDeserialize(wire).protocol_config).toMatchObject({
      request_body_mode: 'FULL_DUPLEX_STREAMED',
      response_body_mode: 'STREAMED',
    });
    const response = lean.responseSerialize({
      request_headers: {
        response: {
          header_mutation: {
            set_headers: [
              {
                header: { key: 'a', raw_value: Buffer.from('b') },
                append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
              },
            ],
          },
          clear_route_cache: true,
        },
      },
      mode_override: { request_body_mode: 'BUFFERED', response_header_mode: 'SKIP' },
      dynamic_metadata: toStruct({
        'envoy.lb': { 'x-gateway-destination-endpoint': '10.0.0.1:8000' },
        nothing: null,
      }),
    });
    const decoded = standard.responseDeserialize(response);
    expect(decoded.request_headers.response.header_mutation.set_headers[0].append_action).toBe(
      'OVERWRITE_IF_EXISTS_OR_ADD',
    );
    expect(decoded.mode_override).toEqual({ request_body_mode: 'BUFFERED', response_header_mode: 'SKIP' });
    expect(fromStruct(decoded.dynamic_metadata)).toEqual({
      'envoy.lb': { 'x-gateway-destination-endpoint': '10.0.0.1:8000' },
      nothing: null,
    });
  });
});
