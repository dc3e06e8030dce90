/**
 * What real Envoy does when the client goes away: it resets the ext_proc stream (the filter is destroyed
 * mid-request). Over real gRPC, ext-proc then logs the request with cancelled: true and status 499 and
 * counts it under status="499", whether the reset came mid-upload or mid-response-stream; a reset after
 * the last response message it processes cuts nothing short.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSnapshot } from '../../config/file-source.ts';
import { type ExtProcServer, startExtProc } from '../../ext-proc/server.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';
import { headerMap, type RawStream, rawClient } from '../helpers/ext-proc-client.ts';
import { capturingLogger, eventually } from '../helpers/log-capture.ts';

let server: ExtProcServer;
let client: ReturnType<typeof rawClient>;
const logs = capturingLogger();

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

let sequence = 0;

function open(requestId: string): RawStream {
  const s = client.open();
  s.send({
    request_headers: {
      headers: headerMap({
        ':method': 'POST',
        ':path': '/v1/chat/completions',
        ':authority': 'gateway',
        'content-type': 'application/json',
        authorization: 'Bearer sk-agent-router-team-a',
        'x-request-id': requestId,
      }),
    },
  });
  return s;
}

const BODY = Buffer.from(
  JSON.stringify({ model: 'chat-model', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
);

async function routedAndAnswered(requestId: string, contentType: string): Promise<RawStream> {
  const s = open(requestId);
  await s.next();
  s.send({ request_body: { body: BODY, end_of_stream: true } });
  await s.next();
  s.send({ response_headers: { headers: headerMap({ ':status': '200', 'content-type': contentType }) } });
  await s.next();
  return s;
}

const logOf = (requestId: string) =>
  eventually(() => logs.records().find((r) => r.event === 'request' && r.requestId === requestId));

async function requestsWithStatus(status: string): Promise<number> {
  const metric = await server.metrics.requests.get();
  return metric.values.filter((v) => v.labels.status === status).reduce((n, v) => n + v.value, 0);
}

describe('ext-proc when Envoy resets the stream', () => {
  it('mid-response-stream: logs cancelled: true with status 499 and counts 499, not 200', async () => {
    const before = { cancelled: await requestsWithStatus('499'), ok: await requestsWithStatus('200') };
    const requestId = `reset-stream-${++sequence}`;
    const s = await routedAndAnswered(requestId, 'text/event-stream');
    s.send({
      response_body: { body: Buffer.from('data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n') },
    });
    await s.next();
    s.cancel();
    expect(await logOf(requestId)).toMatchObject({
      level: 30,
      cancelled: true,
      status: 499,
      stream: true,
      logicalModel: 'chat-model',
    });
    expect(await requestsWithStatus('499')).toBe(before.cancelled + 1);
    expect(await requestsWithStatus('200')).toBe(before.ok);
  });

  it('mid-upload (request headers seen, body never came): logs cancelled: true with status 499', async () => {
    const requestId = `reset-upload-${++sequence}`;
    const s = open(requestId);
    await s.next();
    s.cancel();
    expect(await logOf(requestId)).toMatchObject({ cancelled: true, status: 499 });
  });

  it('after the last response message it processes: logs the response status, not cancelled', async () => {
    const requestId = `reset-after-${++sequence}`;
    // Neither JSON nor SSE: the response headers are the last message this filter sees.
    const s = await routedAndAnswered(requestId, 'text/plain');
    s.cancel();
    expect(await logOf(requestId)).toMatchObject({ cancelled: false, status: 200 });
  });
});
