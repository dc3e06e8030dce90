/**
 * One request body limit for the whole local stack, enforced by the dev gateway before it forwards (as
 * Envoy's buffer limit is): bodies up to the limit are served, larger ones get 413 request_too_large in
 * the OpenAI error shape, with or without a content-length, however far over the limit they are; never
 * a 500 from ext-proc's gRPC message limit.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/log-capture.ts';
import { backendYaml, COMMON_YAML, startTestStack, type TestStack } from '../helpers/stack.ts';

const LIMIT = 64 * 1024;
let t: TestStack;

beforeAll(async () => {
  t = await startTestStack(
    { a: { apiKey: 'provider-secret' } },
    (urls) =>
      [
        COMMON_YAML,
        backendYaml('a', urls.a!),
        `
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  routes:
    - { name: chat, model: chat-model, backendRef: { name: a }, modelNameOverride: provider-model }
`,
      ].join(''),
    { maxRequestBodyBytes: LIMIT, adminPort: 0 },
  );
});

afterAll(async () => {
  await t?.close();
});

/** A valid chat request of exactly `bytes` bytes. */
function bodyOf(bytes: number): Buffer {
  const frame = (content: string) =>
    JSON.stringify({ model: 'chat-model', max_tokens: 2, messages: [{ role: 'user', content }] });
  const body = Buffer.from(frame('x'.repeat(bytes - frame('').length)));
  expect(body.length).toBe(bytes);
  return body;
}

let sequence = 0;

/** POSTs over a raw node:http request; `chunked` sends no content-length, in 16 KiB chunks. */
function post(body: Buffer, chunked = false) {
  const requestId = `body-limit-${++sequence}`;
  return new Promise<{ status: number; body: { error?: Record<string, unknown> }; requestId: string }>(
    (resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = {
        'content-type': 'application/json',
        authorization: 'Bearer sk-test-team-a',
        'x-request-id': requestId,
      };
      if (!chunked) headers['content-length'] = body.length;
      const request = http.request(`${t.stack.gatewayUrl}/v1/chat/completions`, { method: 'POST', headers });
      request.on('error', reject);
      request.on('response', (response) => {
        const parts: Buffer[] = [];
        response.on('data', (c: Buffer) => parts.push(c));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(parts).toString()),
            requestId,
          }),
        );
      });
      if (chunked)
        for (let at = 0; at < body.length; at += 16 * 1024) request.write(body.subarray(at, at + 16 * 1024));
      else request.write(body);
      request.end();
    },
  );
}

async function requestsWithStatus(status: number): Promise<number> {
  const text = await (await fetch(`${t.stack.extProc.adminUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n'))
    if (line.startsWith('agent_router_requests_total{') && line.includes(`status="${status}"`))
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

const logOf = (requestId: string) => eventually(() => t.requestLogs().find((r) => r.requestId === requestId));

describe('request body limit of the local stack', () => {
  it('serves bodies just under and exactly at the limit', async () => {
    for (const bytes of [LIMIT - 1, LIMIT]) {
      const r = await post(bodyOf(bytes));
      expect(r.status, `${bytes} bytes`).toBe(200);
      const chunked = await post(bodyOf(bytes), true);
      expect(chunked.status, `${bytes} bytes chunked`).toBe(200);
    }
  });

  it('answers one byte over the limit with 413 request_too_large in the OpenAI error shape', async () => {
    const r = await post(bodyOf(LIMIT + 1));
    expect(r.status).toBe(413);
    expect(r.body.error).toMatchObject({ type: 'invalid_request_error', code: 'request_too_large' });
    expect(String(r.body.error?.message)).toContain(String(LIMIT));
  });

  it('answers 413, not 500, to a body past ext-proc’s gRPC message limit, and logs and counts it as 413', async () => {
    const before = await requestsWithStatus(413);
    const r = await post(bodyOf(LIMIT + 1536 * 1024));
    expect(r.status).toBe(413);
    expect(r.body.error?.code).toBe('request_too_large');
    expect(await logOf(r.requestId)).toMatchObject({ status: 413, cancelled: false });
    expect(await requestsWithStatus(413)).toBe(before + 1);
  });

  it('answers 413 to a chunked upload without content-length over the limit, near or far', async () => {
    for (const bytes of [LIMIT + 1, LIMIT + 1536 * 1024]) {
      const r = await post(bodyOf(bytes), true);
      expect(r.status, `${bytes} bytes`).toBe(413);
      expect(r.body.error?.code).toBe('request_too_large');
    }
  });

  it('never answers a body over the limit with a 5xx or an error log line', async () => {
    await post(bodyOf(LIMIT + 1536 * 1024), true);
    const errors = t.lines.map((l) => JSON.parse(l) as { level: number }).filter((l) => l.level >= 50);
    expect(errors).toEqual([]);
    expect(await requestsWithStatus(500)).toBe(0);
  });
});
