import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { headMap } from '../../ext-proc/stream.ts';
import { toStruct } from '../../ext-proc/struct.ts';
import { extProcRoot } from '../../protos/envoy.ts';
import type { HeaderMap, ProcessingRequest } from '../../protos/ext-proc-messages.ts';
import { nameBucket } from '../../protos/name-interner.ts';
import { DecodedHeaderMap, requestDecoder } from '../../protos/request-decoder.ts';

const requestType = extProcRoot().lookupType('envoy.service.ext_proc.v3.ProcessingRequest');
const decode = requestDecoder(requestType) as (buffer: Buffer) => ProcessingRequest;
const viaProtobufjs = (buffer: Buffer) => requestType.decode(buffer) as unknown as ProcessingRequest;
const encode = (message: object) => Buffer.from(requestType.encode(requestType.fromObject(message)).finish());

/** Every header as ext-proc's phases read it: by name, repeated ones joined. */
function readHead(map: HeaderMap | undefined): Record<string, string | undefined> {
  const head = headMap(map);
  const out: Record<string, string | undefined> = {};
  for (const name of head.names()) out[name] = head.get(name);
  return out;
}

/** What a reader of the decoded message sees, in one comparable value. */
function seen(message: ProcessingRequest) {
  const headers = message.request_headers ?? message.response_headers;
  const body = message.request_body ?? message.response_body;
  return {
    request: message.request,
    headers: headers && readHead(headers.headers),
    list: headers?.headers?.headers?.map((h) => [
      h.key,
      h.raw_value !== undefined && h.raw_value.length > 0
        ? Buffer.from(h.raw_value).toString()
        : (h.value ?? ''),
    ]),
    headersEnd: headers?.end_of_stream === true,
    body: body?.body === undefined ? undefined : Buffer.from(body.body).toString('hex'),
    bodyEnd: body?.end_of_stream === true,
    metadata: message.metadata_context?.filter_metadata?.['agent-router']?.fields?.route?.stringValue,
    observability: message.observability_mode === true,
    protocol: message.protocol_config?.request_body_mode,
    trailers: message.request_trailers !== undefined || message.response_trailers !== undefined,
  };
}

const text = fc.string({ unit: 'grapheme', maxLength: 40 });
const headerValue = fc.oneof(
  fc.record({ key: text, raw_value: text.map((t) => Buffer.from(t)) }),
  fc.record({ key: text, value: text }),
  fc.record({ key: text, value: text, raw_value: text.map((t) => Buffer.from(t)) }),
  // Names ext-proc sees on every request, so the interned path is taken too.
  fc.record({
    key: fc.constantFrom(':path', ':method', 'content-type', 'x-request-id', 'authorization'),
    raw_value: text.map((t) => Buffer.from(t)),
  }),
);
const headers = fc.record({
  headers: fc.record({ headers: fc.array(headerValue, { maxLength: 12 }) }),
  end_of_stream: fc.boolean(),
});
const body = fc.record({
  body: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  end_of_stream: fc.boolean(),
});
const message = fc.record(
  {
    phase: fc.oneof(
      headers.map((h) => ({ request_headers: h })),
      headers.map((h) => ({ response_headers: h })),
      body.map((b) => ({ request_body: b })),
      body.map((b) => ({ response_body: b })),
      fc.constant({ request_trailers: {} }),
      // A field the fast path leaves to protobufjs: the deprecated attributes of HttpHeaders.
      headers.map((h) => ({ request_headers: { ...h, attributes: { a: toStruct({ x: 1 }) } } })),
    ),
    metadata: fc.option(text, { nil: undefined }),
    observability: fc.boolean(),
    protocol: fc.option(fc.constantFrom(0, 1, 2, 3), { nil: undefined }),
  },
  { requiredKeys: ['phase'] },
);

/** The decoder refuses what protobufjs refuses, and reads what it accepts as protobufjs does. */
function expectJudgedAsProtobufjs(bytes: Buffer): void {
  let expected: unknown;
  let refused = false;
  try {
    expected = seen(viaProtobufjs(bytes));
  } catch {
    refused = true;
  }
  if (refused) expect(() => decode(bytes)).toThrow();
  else expect(seen(decode(bytes))).toEqual(expected);
}

describe('the request decoder', () => {
  it('reads every message as protobufjs does: phase, headers as the phases read them, body, metadata', () => {
    fc.assert(
      fc.property(message, ({ phase, metadata, observability, protocol }) => {
        const bytes = encode({
          ...phase,
          ...(metadata === undefined
            ? {}
            : { metadata_context: { filter_metadata: { 'agent-router': toStruct({ route: metadata }) } } }),
          ...(observability ? { observability_mode: true } : {}),
          ...(protocol === undefined ? {} : { protocol_config: { request_body_mode: protocol } }),
        });
        expect(seen(decode(bytes))).toEqual(seen(viaProtobufjs(bytes)));
      }),
      { numRuns: 400 },
    );
  });

  it('takes the headers of a chat request without protobufjs, values read only when asked', () => {
    const bytes = encode({
      request_headers: {
        headers: {
          headers: [
            { key: ':path', raw_value: Buffer.from('/v1/chat/completions') },
            { key: 'x-tag', raw_value: Buffer.from('a') },
            { key: 'x-tag', raw_value: Buffer.from('b') },
            { key: 'content-type', value: 'application/json' },
          ],
        },
      },
    });
    const decoded = decode(bytes);
    expect(decoded.request).toBe('request_headers');
    expect(decoded.request_headers?.headers).toBeInstanceOf(DecodedHeaderMap);
    const head = headMap(decoded.request_headers?.headers);
    expect(head.get(':path')).toBe('/v1/chat/completions');
    expect(head.get('x-tag')).toBe('a, b');
    expect(head.get('content-type')).toBe('application/json');
    expect(head.get('absent')).toBeUndefined();
    expect([...head.names()]).toEqual([':path', 'x-tag', 'content-type']);
  });

  it('accepts and refuses valid messages with a few bytes changed, inserted or removed as protobufjs does', () => {
    const seeds = [
      encode({
        request_headers: {
          headers: {
            headers: [
              { key: ':path', raw_value: Buffer.from('/v1/chat/completions') },
              { key: 'x-tag', value: 'a' },
              { key: 'x-tag', raw_value: Buffer.from('b') },
            ],
          },
          end_of_stream: true,
        },
        protocol_config: { request_body_mode: 1 },
        metadata_context: { filter_metadata: { 'agent-router': toStruct({ route: 'r', n: 1 }) } },
      }),
      encode({
        response_body: { body: Buffer.from('{"usage":{}}'), end_of_stream: true },
        observability_mode: true,
      }),
      encode({ request_body: { body: Buffer.from('hello'), end_of_stream: false } }),
    ];
    const edit = fc.tuple(
      fc.nat(200),
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom('set', 'insert', 'delete'),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(edit, { minLength: 1, maxLength: 4 }),
        (seed, edits) => {
          const bytes = [...seed];
          for (const [position, value, kind] of edits) {
            const i = position % (bytes.length + 1);
            if (kind === 'insert') bytes.splice(i, 0, value);
            else if (i < bytes.length) {
              if (kind === 'set') bytes[i] = value;
              else bytes.splice(i, 1);
            }
          }
          expectJudgedAsProtobufjs(Buffer.from(bytes));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('leaves varints of five bytes or more to protobufjs, which reads them by its own rule', () => {
    // observability_mode (field 10) as a six-byte zero: protobufjs skips past the end and refuses it.
    const overlong = Buffer.from([80, 128, 128, 128, 128, 128, 0]);
    expect(() => viaProtobufjs(overlong)).toThrow();
    expect(() => decode(overlong)).toThrow();
    // A five-byte flag protobufjs reads as its low 32 bits (here 2^32: false).
    const wide = Buffer.from([80, 128, 128, 128, 128, 16]);
    expect(seen(decode(wide))).toEqual(seen(viaProtobufjs(wide)));
  });

  it('accepts and refuses arbitrary bytes exactly as protobufjs does', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (raw) => {
        expectJudgedAsProtobufjs(Buffer.from(raw));
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps the header names a gateway sees all the time interned together (no bucket of two takes three)', () => {
    // What Envoy, the OpenAI and Anthropic SDKs, providers and the gateway itself put in nearly every
    // message: were three in one bucket, they would evict each other and be allocated on every message.
    const common = [
      ...[':authority', ':path', ':method', ':scheme', ':status', 'content-type', 'content-length'],
      ...[
        'user-agent',
        'accept',
        'accept-encoding',
        'authorization',
        'x-api-key',
        'api-key',
        'x-goog-api-key',
      ],
      ...[
        'x-forwarded-proto',
        'x-forwarded-for',
        'x-request-id',
        'x-envoy-attempt-count',
        'x-envoy-internal',
      ],
      ...['x-envoy-expected-rq-timeout-ms', 'x-envoy-upstream-service-time', 'x-envoy-original-path'],
      ...[
        'x-envoy-decorator-operation',
        'x-envoy-peer-metadata',
        'x-envoy-peer-metadata-id',
        'date',
        'server',
      ],
      ...['traceparent', 'tracestate', 'baggage', 'x-session-id', 'anthropic-version', 'anthropic-beta'],
      ...['openai-organization', 'openai-project', 'openai-version', 'openai-processing-ms', 'request-id'],
      ...['x-stainless-lang', 'x-stainless-package-version', 'x-stainless-os', 'x-stainless-arch'],
      ...[
        'x-stainless-runtime',
        'x-stainless-runtime-version',
        'x-stainless-retry-count',
        'x-stainless-timeout',
      ],
      ...['x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests'],
      ...['x-ratelimit-limit-tokens', 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens'],
      ...['transfer-encoding', 'cache-control', 'connection', 'vary', 'cookie', 'set-cookie'],
      ...['x-amzn-requestid', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256', 'x-data-class'],
      ...['x-agent-router-route', 'x-agent-router-key-id', 'x-agent-router-model', 'x-agent-router-attempt'],
      ...['x-agent-router-resolved-model', 'x-agent-router-backend', 'x-gateway-destination-endpoint'],
    ];
    const perBucket = new Map<number, string[]>();
    for (const name of common) {
      const bytes = Buffer.from(name);
      const bucket = nameBucket(bytes, 0, bytes.length);
      perBucket.set(bucket, [...(perBucket.get(bucket) ?? []), name]);
    }
    expect([...perBucket.values()].filter((names) => names.length > 2)).toEqual([]);
  });
});
