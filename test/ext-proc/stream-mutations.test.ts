/**
 * Header mutations that change nothing are left out of ext_proc answers: a set to the value the
 * header already has, a removal of a header that is absent. A name an earlier answer of the same
 * stream already mutated is always sent, because what Envoy holds is no longer what was seen.
 * The transport is an EventEmitter standing in for the gRPC call, so the phases can be scripted.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { PhaseResult, Phases } from '../../ext-proc/phases.ts';
import { ProcessingStream } from '../../ext-proc/stream.ts';
import type { HeaderMutation, ProcessingResponse } from '../../protos/ext-proc-messages.ts';
import { headerMap } from '../helpers/ext-proc-client.ts';

function stream(phases: Partial<Phases>) {
  const written: ProcessingResponse[] = [];
  const call = Object.assign(new EventEmitter(), {
    cancelled: false,
    write(r: ProcessingResponse) {
      written.push(r);
      return true;
    },
    end() {},
  });
  new ProcessingStream(call as never, { finish() {}, ...phases } as unknown as Phases, {
    maxRequestBodyBytes: 1 << 20,
  });
  // Decoded messages name their oneof member in `request`, as protobufjs' decoder sets it.
  const send = (m: Record<string, unknown>) =>
    call.emit('data', { ...m, request: Object.keys(m).find((k) => k !== 'protocol_config') });
  return { send, written };
}

const mutation = (m: HeaderMutation | undefined) => ({
  set: (m?.set_headers ?? []).map((o) => [o.header.key, Buffer.from(o.header.raw_value!).toString()]),
  remove: m?.remove_headers ?? [],
});

describe('header mutations that change nothing', () => {
  it('are left out; the ones that change something are kept, in order', () => {
    const s = stream({
      requestHeaders: (): PhaseResult => ({
        needsBody: true,
        setHeaders: [
          ['content-type', 'application/json'],
          ['x-new', '1'],
          ['x-changed', 'after'],
        ],
        removeHeaders: ['x-absent', 'x-present'],
      }),
    });
    s.send({
      request_headers: {
        headers: headerMap({
          'content-type': 'application/json',
          'x-changed': 'before',
          'x-present': 'v',
        }),
      },
      protocol_config: { request_body_mode: 'BUFFERED', response_body_mode: 'NONE' },
    });
    expect(mutation(s.written[0]?.request_headers?.response?.header_mutation)).toEqual({
      set: [
        ['x-new', '1'],
        ['x-changed', 'after'],
      ],
      remove: ['x-present'],
    });
  });

  it('a name an earlier answer mutated is sent again, even to the value first seen', () => {
    const s = stream({
      requestHeaders: (): PhaseResult => ({ needsBody: true, removeHeaders: ['x-key'] }),
      requestBody: (): PhaseResult => ({ setHeaders: [['x-key', 'v']], removeHeaders: ['x-key-2'] }),
    });
    s.send({
      request_headers: { headers: headerMap({ 'x-key': 'v', 'x-key-2': 'w' }) },
      protocol_config: { request_body_mode: 'BUFFERED', response_body_mode: 'NONE' },
    });
    s.send({ request_body: { body: Buffer.from('{}'), end_of_stream: true } });
    expect(mutation(s.written[0]?.request_headers?.response?.header_mutation).remove).toEqual(['x-key']);
    expect(mutation(s.written[1]?.request_body?.response?.header_mutation)).toEqual({
      set: [['x-key', 'v']],
      remove: ['x-key-2'],
    });
  });

  it('an answer whose every mutation is a no-op carries no header_mutation at all', () => {
    const s = stream({
      requestHeaders: (): PhaseResult => ({
        needsBody: false,
        setHeaders: [['x-request-id', 'abc']],
        removeHeaders: ['authorization'],
      }),
    });
    s.send({ request_headers: { headers: headerMap({ 'x-request-id': 'abc' }), end_of_stream: true } });
    expect(s.written[0]).toEqual({ request_headers: {} });
  });
});
