/**
 * What ext-proc does with a peer that breaks the ext_proc protocol, and with bodies the per-attempt
 * phase gets without the router-level phase having vetted them: each case here is one the fuzz target
 * (fuzz/ext-proc-grpc.ts) found answered with a JavaScript failure, an internal_error, or answers out of
 * order. Over real gRPC on loopback with Envoy's protos.
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSnapshot } from '../../config/file-source.ts';
import type { Phases } from '../../ext-proc/phases.ts';
import { type ExtProcServer, startExtProc } from '../../ext-proc/server.ts';
import { ProcessingStream } from '../../ext-proc/stream.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';
import { httpStatusNumber } from '../../protos/envoy.ts';
import type { ProcessingResponse } from '../../protos/ext-proc-messages.ts';
import { headerMap, rawClient, setHeaders } from '../helpers/ext-proc-client.ts';
import { capturingLogger, eventually } from '../helpers/log-capture.ts';

let server: ExtProcServer;
let client: ReturnType<typeof rawClient>;
const logs = capturingLogger('debug');

beforeAll(async () => {
  server = await startExtProc({
    snapshot: loadSnapshot('examples/local.yaml', { supportedProviders }),
    logger: logs.logger,
    grpcAddress: '127.0.0.1:0',
  });
  client = rawClient(`127.0.0.1:${server.grpcPort}`);
});

afterAll(async () => {
  client.close();
  await server.shutdown(1000);
});

const ROUTER_HEADERS = headerMap({
  ':method': 'POST',
  ':path': '/v1/chat/completions',
  ':authority': 'gateway',
  'content-type': 'application/json',
  authorization: 'Bearer sk-agent-router-team-a',
});
const UPSTREAM_HEADERS = headerMap({
  ':method': 'POST',
  ':path': '/v1/chat/completions',
  ':authority': 'gateway',
  'content-type': 'application/json',
  'x-agent-router-route': 'default/default/chat-v1',
  'x-agent-router-key-id': 'default/team-a',
  'x-envoy-attempt-count': '1',
});
const BODY = Buffer.from(
  JSON.stringify({ model: 'chat-model', messages: [{ role: 'user', content: 'hi' }] }),
);

function errorOf(response: Awaited<ReturnType<ReturnType<typeof client.open>['next']>>) {
  const immediate = response.immediate_response!;
  return {
    status: httpStatusNumber(immediate.status?.code),
    error: JSON.parse(Buffer.from(immediate.body!).toString()).error as Record<string, unknown>,
  };
}

async function openStreams(): Promise<number> {
  return (await server.metrics.streams.get()).values.reduce((sum, v) => sum + v.value, 0);
}

describe('a peer out of protocol order', () => {
  it('fails the stream with FAILED_PRECONDITION when a body comes before its headers, and logs the request', async () => {
    const s = client.open('upstream');
    s.send({ request_body: { body: BODY, end_of_stream: true } });
    const status = await s.status;
    expect(status.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(status.details).toBe('agent-router: request_body arrived before request_headers');
    expect(s.received).toEqual([]);
    expect(logs.lines.some((l) => l.includes('"event":"ext_proc_protocol_error"'))).toBe(true);
  });

  it('fails the stream on request headers sent twice, and the router-level record says why', async () => {
    const s = client.open('router');
    s.send({ request_headers: { headers: ROUTER_HEADERS } });
    await s.next();
    s.send({ request_headers: { headers: ROUTER_HEADERS } });
    expect((await s.status).code).toBe(grpc.status.FAILED_PRECONDITION);
    const record = await eventually(() =>
      logs.records().find((r) => r.event === 'request' && r.errorCode === 'ext_proc_protocol_error'),
    );
    expect(record).toMatchObject({ status: 500, cancelled: false });
  });

  it('fails the stream when a body message follows a buffered body that was already routed on', async () => {
    const s = client.open('router');
    s.send({
      request_headers: { headers: ROUTER_HEADERS },
      protocol_config: { request_body_mode: 'NONE', response_body_mode: 'NONE' },
    });
    await s.next();
    s.send({ request_body: { body: BODY, end_of_stream: false } });
    expect((await s.next()).response).toBe('request_body');
    s.send({ request_body: { body: BODY, end_of_stream: true } });
    const status = await s.status;
    expect(status.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(status.details).toContain('after the whole buffered body');
    // The one decision stands: no second answer routed the request again.
    expect(s.received).toHaveLength(2);
  });

  it('fails the stream with INVALID_ARGUMENT on a message with no phase set', async () => {
    const s = client.open('router');
    s.send({});
    expect((await s.status).code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('refuses response headers while full-duplex request headers are held for their body', async () => {
    const s = client.open('router');
    s.send({
      request_headers: { headers: ROUTER_HEADERS },
      protocol_config: { request_body_mode: 'FULL_DUPLEX_STREAMED', response_body_mode: 'NONE' },
    });
    s.send({ response_headers: { headers: headerMap({ ':status': '200' }) } });
    const status = await s.status;
    expect(status.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(status.details).toContain('still held');
    expect(s.received).toEqual([]);
  });

  it('leaves no stream open once the peer has gone, whichever way it went', async () => {
    for (const end of ['half-close', 'cancel'] as const) {
      const s = client.open('router');
      s.send({ request_headers: { headers: ROUTER_HEADERS } });
      await s.next();
      if (end === 'cancel') s.cancel();
      else s.end();
      await s.status;
    }
    await eventually(async () => (await openStreams()) === 0 || undefined);
  });
});

describe('observability mode', () => {
  it('sends nothing at all, not even the full-duplex headers answer held for the body', async () => {
    const s = client.open('router');
    s.send({
      request_headers: { headers: ROUTER_HEADERS },
      protocol_config: { request_body_mode: 'FULL_DUPLEX_STREAMED', response_body_mode: 'NONE' },
      observability_mode: true,
    });
    s.send({ request_body: { body: BODY, end_of_stream: true }, observability_mode: true });
    s.end();
    expect((await s.status).code).toBe(grpc.status.OK);
    expect(s.received).toEqual([]);
  });
});

describe('request trailers', () => {
  it('after a BUFFERED-overridden body, answer the body when it comes, not at the trailers', async () => {
    const s = client.open('router');
    s.send({
      request_headers: { headers: ROUTER_HEADERS },
      protocol_config: { request_body_mode: 'NONE', response_body_mode: 'NONE' },
    });
    expect((await s.next()).mode_override).toMatchObject({ request_body_mode: 'BUFFERED' });
    // Envoy sends a buffered body with end_of_stream false when trailers follow.
    s.send({ request_body: { body: BODY, end_of_stream: false } });
    const body = await s.next();
    expect(body.response).toBe('request_body');
    expect(setHeaders(body.request_body?.response)['x-agent-router-route']).toBeDefined();
    s.send({ request_trailers: { trailers: headerMap({ 'x-t': '1' }) } });
    expect((await s.next()).response).toBe('request_trailers');
    s.end();
  });

  it('ending a STREAMED body whose chunks were already answered is a clear 500, not a stray body answer', async () => {
    const s = client.open('upstream');
    s.send({
      request_headers: { headers: UPSTREAM_HEADERS },
      protocol_config: { request_body_mode: 'STREAMED', response_body_mode: 'NONE' },
    });
    await s.next();
    s.send({ request_body: { body: BODY, end_of_stream: false } });
    expect((await s.next()).request_body?.response?.body_mutation?.clear_body).toBe(true);
    s.send({ request_trailers: { trailers: headerMap({ 'x-t': '1' }) } });
    const { status, error } = errorOf(await s.next());
    expect(status).toBe(500);
    expect(error.code).toBe('gateway_misconfigured');
    expect(String(error.message)).toContain('request_body_mode BUFFERED or FULL_DUPLEX_STREAMED');
    s.end();
  });
});

describe('the per-attempt phase on its own', () => {
  it('refuses a JSON body that is not an object with a 400, as the router-level phase does', async () => {
    for (const body of ['null', '[]', '"chat-model"']) {
      const s = client.open('upstream');
      s.send({ request_headers: { headers: UPSTREAM_HEADERS } });
      await s.next();
      s.send({ request_body: { body: Buffer.from(body), end_of_stream: true } });
      expect(errorOf(await s.next())).toEqual({
        status: 400,
        error: expect.objectContaining({
          code: 'invalid_request',
          message: 'The request body must be a JSON object.',
        }),
      });
      s.end();
    }
  });

  it('refuses a stream_options value it cannot parse with 400 invalid_json', async () => {
    const s = client.open('upstream');
    s.send({ request_headers: { headers: UPSTREAM_HEADERS } });
    await s.next();
    s.send({
      request_body: {
        body: Buffer.from('{"model":"chat-model","stream":true,"stream_options":{"include_usage":tru}'),
        end_of_stream: true,
      },
    });
    expect(errorOf(await s.next())).toMatchObject({ status: 400, error: { code: 'invalid_json' } });
    s.end();
  });

  it('passes on a provider answer that came before the request body, instead of failing to convert it', async () => {
    const s = client.open('upstream');
    s.send({
      request_headers: {
        headers: headerMap({
          ':method': 'POST',
          ':path': '/v1/chat/completions',
          'x-agent-router-route': 'default/default/chat-v1',
          'x-envoy-attempt-count': '1',
        }),
      },
      protocol_config: { request_body_mode: 'BUFFERED', response_body_mode: 'BUFFERED' },
    });
    await s.next();
    s.send({
      response_headers: { headers: headerMap({ ':status': '200', 'content-type': 'application/json' }) },
    });
    await s.next();
    s.send({ response_body: { body: Buffer.from('{"id":"x"}'), end_of_stream: true } });
    const answer = await s.next();
    expect(answer.response).toBe('response_body');
    expect(answer.response_body?.response?.body_mutation).toBeUndefined();
    s.end();
  });
});

describe('the injected credential in what comes back', () => {
  const headers = (s: ReturnType<typeof client.open>) => {
    s.send({
      request_headers: { headers: UPSTREAM_HEADERS },
      protocol_config: { request_body_mode: 'BUFFERED', response_body_mode: 'FULL_DUPLEX_STREAMED' },
    });
  };

  it('is redacted from an error quoting it that came before the request body was seen', async () => {
    const s = client.open('upstream');
    headers(s);
    await s.next();
    s.send({ response_headers: { headers: headerMap({ ':status': '500', 'content-type': 'text/plain' }) } });
    await s.next();
    s.send({ request_body: { body: BODY, end_of_stream: true } });
    const injected = setHeaders((await s.next()).request_body?.response).authorization;
    expect(injected).toBe('Bearer sim-provider-secret');
    s.send({
      response_body: { body: Buffer.from('upstream said sim-provider-secret'), end_of_stream: true },
    });
    const body = Buffer.from(
      (await s.next()).response_body!.response!.body_mutation!.streamed_response!.body!,
    ).toString();
    expect(body).not.toContain('sim-provider-secret');
    s.end();
  });

  it('is redacted from an error event of a stream nobody converts, and from an answer with no valid status', async () => {
    for (const status of ['200', 'abc']) {
      const s = client.open('upstream');
      headers(s);
      await s.next();
      s.send({ request_body: { body: BODY, end_of_stream: true } });
      await s.next();
      s.send({
        response_headers: { headers: headerMap({ ':status': status, 'content-type': 'text/event-stream' }) },
      });
      await s.next();
      s.send({
        response_body: {
          body: Buffer.from('data: {"error":{"message":"bad key sim-provider-secret"}}\n\n'),
          end_of_stream: true,
        },
      });
      const answer = await s.next();
      const body = Buffer.from(
        answer.response_body!.response!.body_mutation!.streamed_response!.body!,
      ).toString();
      expect(body).not.toContain('sim-provider-secret');
      s.end();
    }
  });
});

describe('a bug in a phase', () => {
  it('reaches the client as a plain 500 and the log as an error with its stack', () => {
    // The transport is an EventEmitter standing in for grpc-js's call: a phase with a bug cannot be
    // reached through the real server on purpose.
    const call = Object.assign(new EventEmitter(), {
      cancelled: false,
      written: [] as ProcessingResponse[],
      write(r: ProcessingResponse) {
        this.written.push(r);
        return true;
      },
      end() {},
    });
    const bugs: unknown[] = [];
    const phases = {
      requestHeaders() {
        return (undefined as unknown as { x: { y: number } }).x.y as never;
      },
      finish() {},
    } as unknown as Phases;
    new ProcessingStream(call as never, phases, { maxRequestBodyBytes: 1024, bug: (e) => bugs.push(e) });
    call.emit('data', { request: 'request_headers', request_headers: { headers: ROUTER_HEADERS } });
    const body = Buffer.from(call.written[0]!.immediate_response!.body!).toString();
    expect(JSON.parse(body).error).toMatchObject({ code: 'internal_error', type: 'api_error' });
    expect(body).not.toMatch(/TypeError|Cannot read/);
    expect(bugs).toHaveLength(1);
    expect(bugs[0]).toBeInstanceOf(TypeError);
  });
});
