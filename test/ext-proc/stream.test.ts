/**
 * The ext_proc protocol as Envoy speaks it, over real gRPC on loopback, for every body send mode.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSnapshot } from '../../config/file-source.ts';
import { type ExtProcServer, startExtProc } from '../../ext-proc/server.ts';
import { fromStruct, toStruct } from '../../ext-proc/struct.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';
import { httpStatusNumber } from '../../protos/envoy.ts';
import { headerMap, rawClient, setHeaders } from '../helpers/ext-proc-client.ts';
import { capturingLogger } from '../helpers/log-capture.ts';

let server: ExtProcServer;
let client: ReturnType<typeof rawClient>;
const logs = capturingLogger();

beforeAll(async () => {
  server = await startExtProc({
    snapshot: loadSnapshot('examples/local.yaml', { supportedProviders }),
    logger: logs.logger,
    grpcAddress: '127.0.0.1:0',
    maxRequestBodyBytes: 64 * 1024,
  });
  client = rawClient(`127.0.0.1:${server.grpcPort}`);
});

afterAll(async () => {
  client.close();
  await server.shutdown(1000);
});

const REQUEST_HEADERS = {
  ':method': 'POST',
  ':path': '/v1/chat/completions',
  ':authority': 'gateway',
  'content-type': 'application/json',
  authorization: 'Bearer sk-agent-router-team-a',
  'x-session-id': 'conversation-7',
};
const BODY = Buffer.from(
  JSON.stringify({ model: 'chat-model', messages: [{ role: 'user', content: 'hello there' }] }),
);

describe('router-level request processing', () => {
  it('asks for the body with mode_override BUFFERED and answers it with the target header and clear_route_cache', async () => {
    const s = client.open();
    s.send({
      request_headers: { headers: headerMap(REQUEST_HEADERS) },
      protocol_config: { request_body_mode: 'NONE', response_body_mode: 'NONE' },
    });
    const headers = await s.next();
    expect(headers.response).toBe('request_headers');
    expect(headers.mode_override).toMatchObject({ request_body_mode: 'BUFFERED' });
    // The gateway key stops at the headers answer, whose mutations apply in every body mode; of the
    // reserved names only those the request carries are named (removing an absent one changes nothing).
    expect(headers.request_headers?.response?.header_mutation?.remove_headers).toEqual(['authorization']);
    s.send({ request_body: { body: BODY, end_of_stream: true } });
    const body = await s.next();
    const common = body.request_body?.response;
    expect(common?.clear_route_cache).toBe(true);
    expect(setHeaders(common)['x-agent-router-route']).toMatch(/^default\/default\/chat-v[12]$/);
    expect(common?.body_mutation).toBeUndefined();
    const metadata = fromStruct(body.dynamic_metadata)['agent-router'] as Record<string, unknown>;
    expect(metadata).toMatchObject({
      logical_model: 'chat-model',
      route_config: 'default/default',
      key_id: 'default/team-a',
    });
    expect(String(metadata.resolved_model)).toMatch(/^llama-3\.[13]-8b-instruct$/);
    s.end();
    await s.done;
  });

  it('in FULL_DUPLEX_STREAMED holds the headers answer until the body is read, then streams the body back', async () => {
    const s = client.open();
    s.send({
      request_headers: { headers: headerMap(REQUEST_HEADERS) },
      protocol_config: {
        request_body_mode: 'FULL_DUPLEX_STREAMED',
        send_body_without_waiting_for_header_response: true,
      },
    });
    const thirds = [BODY.subarray(0, 10), BODY.subarray(10, 30), BODY.subarray(30)];
    thirds.forEach((chunk, i) => {
      s.send({ request_body: { body: chunk, end_of_stream: i === 2 } });
    });
    const headers = await s.next();
    expect(headers.response).toBe('request_headers');
    expect(setHeaders(headers.request_headers?.response)['x-agent-router-route']).toMatch(
      /^default\/default\/chat-v[12]$/,
    );
    expect(headers.request_headers?.response?.clear_route_cache).toBe(true);
    expect(headers.mode_override).toBeUndefined();
    const body = await s.next();
    const streamed = body.request_body?.response?.body_mutation?.streamed_response;
    expect(streamed?.end_of_stream).toBe(true);
    expect(Buffer.from(streamed!.body!).equals(BODY)).toBe(true);
    expect(s.received).toHaveLength(2);
    s.end();
  });

  it('in STREAMED mode (override not honoured) clears each chunk and sends the whole body with the last', async () => {
    const s = client.open();
    s.send({
      request_headers: { headers: headerMap(REQUEST_HEADERS) },
      protocol_config: { request_body_mode: 'STREAMED' },
    });
    await s.next();
    s.send({ request_body: { body: BODY.subarray(0, 20), end_of_stream: false } });
    expect((await s.next()).request_body?.response?.body_mutation).toMatchObject({ clear_body: true });
    s.send({ request_body: { body: BODY.subarray(20), end_of_stream: true } });
    const last = (await s.next()).request_body?.response;
    expect(Buffer.from(last!.body_mutation!.body!).equals(BODY)).toBe(true);
    s.end();
  });

  it('answers an unknown key with an immediate 401 in the OpenAI error shape', async () => {
    const s = client.open();
    s.send({
      request_headers: { headers: headerMap({ ...REQUEST_HEADERS, authorization: 'Bearer sk-wrong' }) },
    });
    const r = await s.next();
    expect(r.response).toBe('immediate_response');
    expect(httpStatusNumber(r.immediate_response?.status.code)).toBe(401);
    const body = JSON.parse(Buffer.from(r.immediate_response!.body!).toString());
    expect(body).toEqual({
      error: {
        message: expect.any(String),
        type: 'authentication_error',
        param: null,
        code: 'invalid_api_key',
      },
    });
    expect(setHeaders({ header_mutation: r.immediate_response!.headers })['content-type']).toBe(
      'application/json',
    );
  });

  it('answers a body over the limit with an immediate 413', async () => {
    const s = client.open();
    s.send({
      request_headers: { headers: headerMap(REQUEST_HEADERS) },
      protocol_config: { request_body_mode: 'STREAMED' },
    });
    await s.next();
    s.send({ request_body: { body: Buffer.alloc(40 * 1024, 32), end_of_stream: false } });
    await s.next();
    s.send({ request_body: { body: Buffer.alloc(40 * 1024, 32), end_of_stream: false } });
    const r = await s.next();
    expect(r.response).toBe('immediate_response');
    expect(JSON.parse(Buffer.from(r.immediate_response!.body!).toString()).error.code).toBe(
      'request_too_large',
    );
  });

  it('stays silent in observability mode', async () => {
    const s = client.open();
    s.send({ request_headers: { headers: headerMap(REQUEST_HEADERS) }, observability_mode: true });
    s.send({ request_body: { body: BODY, end_of_stream: true }, observability_mode: true });
    s.end();
    await s.done;
    expect(s.received).toHaveLength(0);
  });
});

/** The request log line written last. */
const lastRequestLog = () =>
  logs
    .records()
    .filter((r) => r.event === 'request')
    .at(-1);

describe('router-level response processing', () => {
  async function routed(body = BODY) {
    const s = client.open();
    s.send({ request_headers: { headers: headerMap(REQUEST_HEADERS) } });
    await s.next();
    s.send({ request_body: { body, end_of_stream: true } });
    await s.next();
    return s;
  }
  const ASKS_FOR_USAGE = Buffer.from(
    JSON.stringify({
      model: 'chat-model',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'hello there' }],
    }),
  );

  it('streams an SSE response chunk by chunk without changing it, and reads usage from the last chunk', async () => {
    const s = await routed(ASKS_FOR_USAGE);
    s.send({
      response_headers: {
        headers: headerMap({
          ':status': '200',
          'content-type': 'text/event-stream',
          'x-agent-router-resolved-model': 'llama-3.1-8b-instruct',
          'x-agent-router-attempt': '1',
        }),
      },
    });
    const headers = await s.next();
    expect(headers.mode_override).toMatchObject({ response_body_mode: 'STREAMED' });
    const events = [
      'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}],"usage":null}\n\n',
      'data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}\n\n',
      'data: [DONE]\n\n',
    ].join('');
    const cut = [0, 17, 70, events.length];
    for (let i = 0; i < 3; i++) {
      s.send({
        response_body: { body: Buffer.from(events.slice(cut[i], cut[i + 1])), end_of_stream: i === 2 },
      });
      const r = await s.next();
      expect(r.response).toBe('response_body');
      expect(r.response_body?.response?.body_mutation).toBeUndefined();
    }
    s.end();
    await s.done;
    const line = lastRequestLog();
    expect(line).toMatchObject({
      status: 200,
      stream: true,
      tokens: { prompt: 5, completion: 1 },
      resolvedModel: 'llama-3.1-8b-instruct',
    });
  });

  it('strips the usage chunk for a client that did not ask for it, and still logs the usage', async () => {
    const s = await routed();
    s.send({
      response_headers: { headers: headerMap({ ':status': '200', 'content-type': 'text/event-stream' }) },
    });
    await s.next();
    const content = 'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}],"usage":null}\n\n';
    const usage =
      'data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}\n\n';
    const done = 'data: [DONE]\n\n';
    const forwarded: string[] = [];
    for (const [i, part] of [content, usage + done].entries()) {
      s.send({ response_body: { body: Buffer.from(part), end_of_stream: i === 1 } });
      const mutation = (await s.next()).response_body?.response?.body_mutation;
      forwarded.push(mutation?.body ? Buffer.from(mutation.body).toString() : part);
    }
    expect(forwarded.join('')).toBe(content + done);
    s.end();
    await s.done;
    const line = lastRequestLog();
    expect(line).toMatchObject({ tokens: { prompt: 5, completion: 1 } });
  });

  it('answers response chunks with streamed_response when the response mode is FULL_DUPLEX_STREAMED', async () => {
    const s = client.open();
    s.send({
      request_headers: { headers: headerMap(REQUEST_HEADERS) },
      protocol_config: { response_body_mode: 'FULL_DUPLEX_STREAMED' },
    });
    await s.next();
    s.send({ request_body: { body: BODY, end_of_stream: true } });
    await s.next();
    s.send({
      response_headers: { headers: headerMap({ ':status': '200', 'content-type': 'text/event-stream' }) },
    });
    expect((await s.next()).mode_override).toBeUndefined();
    s.send({ response_body: { body: Buffer.from('data: {}\n\n'), end_of_stream: true } });
    const r = await s.next();
    expect(r.response_body?.response?.body_mutation?.streamed_response).toMatchObject({
      end_of_stream: true,
    });
    expect(Buffer.from(r.response_body!.response!.body_mutation!.streamed_response!.body!).toString()).toBe(
      'data: {}\n\n',
    );
    s.end();
  });
});

describe('per-attempt (upstream-level) processing', () => {
  const upstreamHeaders = (attempt: string) =>
    headerMap({
      ':method': 'POST',
      ':path': '/v1/chat/completions',
      ':authority': 'gateway',
      'content-type': 'application/json',
      'x-agent-router-route': 'default/default/chat-v1',
      'x-agent-router-key-id': 'default/team-a',
      'x-agent-router-model': 'chat-model',
      'x-envoy-attempt-count': attempt,
    });

  it('rewrites path, credentials and model for the attempt’s backend, and strips internal headers', async () => {
    const s = client.open('upstream');
    s.send({ request_headers: { headers: upstreamHeaders('1') } });
    expect((await s.next()).mode_override).toMatchObject({ request_body_mode: 'BUFFERED' });
    s.send({ request_body: { body: BODY, end_of_stream: true } });
    const r = (await s.next()).request_body?.response;
    const set = setHeaders(r);
    // The backend's path is the client's: a set to the value it has would change nothing, so none.
    expect(set[':path']).toBeUndefined();
    expect(set.authorization).toBe('Bearer sim-provider-secret');
    const sent = JSON.parse(Buffer.from(r!.body_mutation!.body!).toString());
    expect(sent.model).toBe('llama-3.1-8b-instruct');
    expect(sent.messages).toEqual([{ role: 'user', content: 'hello there' }]);
    expect(set['content-length']).toBe(String(r!.body_mutation!.body!.length));
    expect(r?.header_mutation?.remove_headers).toEqual(
      expect.arrayContaining(['x-agent-router-route', 'x-agent-router-key-id', 'x-agent-router-model']),
    );
    s.send({
      response_headers: { headers: headerMap({ ':status': '200', 'content-type': 'application/json' }) },
    });
    const h = setHeaders((await s.next()).response_headers?.response);
    expect(h).toMatchObject({
      'x-agent-router-resolved-model': 'llama-3.1-8b-instruct',
      'x-agent-router-backend': 'default/sim-llama-v1',
      'x-agent-router-attempt': '1',
    });
    s.end();
  });

  it('translates the second attempt for the next backend in the fallback chain', async () => {
    const s = client.open('upstream');
    s.send({ request_headers: { headers: upstreamHeaders('2') } });
    await s.next();
    s.send({ request_body: { body: BODY, end_of_stream: true } });
    const sent = JSON.parse(
      Buffer.from((await s.next()).request_body!.response!.body_mutation!.body!).toString(),
    );
    expect(sent.model).toBe('qwen2.5-7b-instruct');
    s.end();
  });

  it('on a retry, takes the decision from forwarded metadata when attempt 1 stripped the headers (shared header map)', async () => {
    const s = client.open('upstream');
    s.send({
      // What Envoy's shared header map holds on attempt 2: the provider path, no internal headers.
      request_headers: {
        headers: headerMap({
          ':method': 'POST',
          ':path': '/v1/chat/completions',
          'x-envoy-attempt-count': '2',
        }),
      },
      metadata_context: {
        filter_metadata: {
          'agent-router': toStruct({
            route: 'default/default/chat-v1',
            key_id: 'default/team-a',
            path: '/v1/chat/completions',
          }),
        },
      },
    });
    expect((await s.next()).mode_override).toMatchObject({ request_body_mode: 'BUFFERED' });
    s.send({ request_body: { body: BODY, end_of_stream: true } });
    const sent = JSON.parse(
      Buffer.from((await s.next()).request_body!.response!.body_mutation!.body!).toString(),
    );
    expect(sent.model).toBe('qwen2.5-7b-instruct');
    s.end();
  });

  it('normalises a non-JSON provider error to the OpenAI error shape', async () => {
    const s = client.open('upstream');
    s.send({ request_headers: { headers: upstreamHeaders('1') } });
    await s.next();
    s.send({ request_body: { body: BODY, end_of_stream: true } });
    await s.next();
    s.send({ response_headers: { headers: headerMap({ ':status': '502', 'content-type': 'text/html' }) } });
    expect((await s.next()).mode_override).toMatchObject({ response_body_mode: 'BUFFERED' });
    s.send({ response_body: { body: Buffer.from('<html>Bad Gateway</html>'), end_of_stream: true } });
    const r = (await s.next()).response_body?.response;
    const body = JSON.parse(Buffer.from(r!.body_mutation!.body!).toString());
    expect(body.error).toMatchObject({ type: 'api_error', code: 'upstream_502' });
    expect(setHeaders(r)['content-type']).toBe('application/json');
    s.end();
  });

  it('answers 503 route_unavailable when the chosen entry vanished in a reload', async () => {
    const s = client.open('upstream');
    s.send({
      request_headers: {
        headers: headerMap({
          ':path': '/v1/chat/completions',
          'x-agent-router-route': 'default/default/gone',
        }),
      },
    });
    const r = await s.next();
    expect(JSON.parse(Buffer.from(r.immediate_response!.body!).toString()).error.code).toBe(
      'route_unavailable',
    );
  });
});
