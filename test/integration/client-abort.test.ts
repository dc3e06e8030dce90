/**
 * A client that goes away, through the real stack with raw node:http clients: mid-upload and
 * mid-response-stream, the request gets its request log line at info with `cancelled: true` and status
 * 499 (nginx's "client closed request", the request Envoy flags DC), is counted under status="499" in
 * /metrics and not as 200, and nothing is logged at error level.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/log-capture.ts';
import { backendYaml, COMMON_YAML, startTestStack, type TestStack } from '../helpers/stack.ts';

let t: TestStack;

beforeAll(async () => {
  t = await startTestStack(
    { a: { apiKey: 'provider-secret', msPerToken: 20 } },
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
    { adminPort: 0 },
  );
});

afterAll(async () => {
  await t?.close();
});

let sequence = 0;
const HEADERS = { 'content-type': 'application/json', authorization: 'Bearer sk-test-team-a' };

async function requestsTotal(labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${t.stack.extProc.adminUrl}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let total = 0;
  for (const line of text.split('\n'))
    if (line.startsWith('agent_router_requests_total{') && wanted.every((w) => line.includes(w)))
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

const logOf = (requestId: string) => eventually(() => t.requestLogs().find((r) => r.requestId === requestId));

/** Lines at warn or above, and the dev gateway's failure events, since `from` lines were written. */
function noise(from: number) {
  return t.lines
    .slice(from)
    .map((l) => JSON.parse(l) as { level: number; event?: string; msg?: string })
    .filter((l) => l.level >= 40 || l.event === 'dev_gateway_error');
}

/** Sends headers and part of a body, waits, then drops the connection. */
async function abandonUpload(requestId: string, chunked: boolean): Promise<void> {
  const headers: http.OutgoingHttpHeaders = { ...HEADERS, 'x-request-id': requestId };
  if (!chunked) headers['content-length'] = 200_000;
  const request = http.request(`${t.stack.gatewayUrl}/v1/chat/completions`, { method: 'POST', headers });
  request.on('error', () => {});
  request.flushHeaders();
  request.write(`{"model":"chat-model","messages":[{"role":"user","content":"${'x'.repeat(10_000)}`);
  await new Promise((r) => setTimeout(r, 300));
  request.destroy();
}

describe('a client that leaves mid-upload', () => {
  it.each([
    ['with a content-length', false],
    ['chunked', true],
  ])(
    '%s gets a request log line at info with cancelled: true and status 499, and no error line',
    async (_name, chunked) => {
      const from = t.lines.length;
      const before = await requestsTotal({ status: '499' });
      const requestId = `abort-upload-${++sequence}`;
      await abandonUpload(requestId, chunked);
      const line = await logOf(requestId);
      expect(line).toMatchObject({ level: 30, cancelled: true, status: 499, path: '/v1/chat/completions' });
      expect(await requestsTotal({ status: '499' })).toBe(before + 1);
      expect(noise(from)).toEqual([]);
    },
  );
});

describe('a client that leaves mid-response-stream', () => {
  it('gets a request log line with cancelled: true and status 499, counted as 499 and not as 200', async () => {
    const from = t.lines.length;
    const route = { route_entry: 'chat', logical_model: 'chat-model' };
    const before = {
      cancelled: await requestsTotal({ ...route, status: '499' }),
      ok: await requestsTotal({ ...route, status: '200' }),
    };
    const requestId = `abort-stream-${++sequence}`;
    const received = await new Promise<number>((resolve, reject) => {
      const request = http.request(`${t.stack.gatewayUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { ...HEADERS, 'x-request-id': requestId },
      });
      request.on('error', () => {});
      request.on('response', (response) => {
        if (response.statusCode !== 200) reject(new Error(`status ${response.statusCode}`));
        let chunks = 0;
        response.on('error', () => {});
        response.on('data', () => {
          if (++chunks === 3) {
            request.destroy();
            resolve(chunks);
          }
        });
      });
      request.end(
        JSON.stringify({
          model: 'chat-model',
          stream: true,
          max_tokens: 500,
          messages: [{ role: 'user', content: 'tell me a long story' }],
        }),
      );
    });
    expect(received).toBe(3);
    const line = await logOf(requestId);
    expect(line).toMatchObject({
      level: 30,
      cancelled: true,
      status: 499,
      stream: true,
      routeEntry: 'chat',
      logicalModel: 'chat-model',
    });
    expect(await requestsTotal({ ...route, status: '499' })).toBe(before.cancelled + 1);
    expect(await requestsTotal({ ...route, status: '200' })).toBe(before.ok);
    expect(noise(from)).toEqual([]);
    await eventually(() => (t.sims.a!.stats().running === 0 ? true : undefined));
  });
});
