import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatRequestBody, chatResponseBody } from '../../bench/chat-workload.ts';
import {
  createExtProcClient,
  driveChat,
  type ExtProcClient,
  runChatExchange,
} from '../../bench/ext-proc-driver.ts';
import { type NoopServer, startNoopExtProc } from '../../bench/servers/noop.ts';
import { loadSnapshot } from '../../config/file-source.ts';
import { type ExtProcServer, startExtProc } from '../../ext-proc/server.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';
import type { HeaderMutation } from '../../protos/ext-proc-messages.ts';
import { capturingLogger, eventually } from '../helpers/log-capture.ts';

const CONFIG = fileURLToPath(new URL('../../examples/local.yaml', import.meta.url));

function setHeader(mutation: HeaderMutation | undefined, name: string): string | undefined {
  return mutation?.set_headers?.find((h) => h.header.key === name)?.header.raw_value?.toString();
}

describe('benchmark driver against the real ext-proc server', () => {
  const log = capturingLogger();
  let server: ExtProcServer;
  let client: ExtProcClient;

  beforeAll(async () => {
    server = await startExtProc({
      snapshot: loadSnapshot(CONFIG, { supportedProviders }),
      logger: log.logger,
      grpcAddress: '127.0.0.1:0',
    });
    client = createExtProcClient(server.grpcPort!);
  });

  afterAll(async () => {
    client?.close();
    await server?.shutdown(1000);
  });

  it('sends ~2 KB bodies each way', () => {
    expect(chatRequestBody.length).toBeGreaterThanOrEqual(2000);
    expect(chatRequestBody.length).toBeLessThanOrEqual(2100);
    expect(chatResponseBody.length).toBeGreaterThanOrEqual(2000);
    expect(chatResponseBody.length).toBeLessThanOrEqual(2100);
  });

  it('gets the body asked for in BUFFERED mode and a route on the router-level body answer', async () => {
    const { router } = await runChatExchange(client, 'req-route-1');
    expect(router.requestHeaders.mode_override?.request_body_mode).toBe('BUFFERED');
    const mutation = router.requestBody.request_body?.response?.header_mutation;
    expect(setHeader(mutation, 'x-agent-router-route')).toMatch(/^default\/default\/chat-v[12]$/);
    expect(router.requestHeaders.request_headers?.response?.header_mutation?.remove_headers).toContain(
      'authorization',
    );
    expect(router.requestBody.request_body?.response?.clear_route_cache).toBe(true);
  });

  it('has the upstream filter translate the body for the chosen backend', async () => {
    const { upstream } = await runChatExchange(client, 'req-translate-1');
    expect(upstream.requestHeaders.mode_override?.request_body_mode).toBe('BUFFERED');
    const response = upstream.requestBody.request_body?.response;
    const body = JSON.parse(response?.body_mutation?.body?.toString() ?? '{}');
    expect(body.model).toBe('llama-3.1-8b-instruct');
    expect(setHeader(response?.header_mutation, 'authorization')).toBe('Bearer sim-provider-secret');
    expect(
      setHeader(
        upstream.responseHeaders.response_headers?.response?.header_mutation,
        'x-agent-router-backend',
      ),
    ).toBe('default/sim-llama-v1');
    // OpenAI-compatible responses are not converted, so Envoy sends the upstream filter no response body.
    expect(upstream.responseBody).toBeUndefined();
  });

  it('buffers the response body on the router-level filter and logs the request with its usage', async () => {
    const { router } = await runChatExchange(client, 'req-usage-1');
    expect(router.responseHeaders.mode_override?.response_body_mode).toBe('BUFFERED');
    expect(router.responseBody?.dynamic_metadata).toBeDefined();
    const line = await eventually(() => log.records().find((r) => r.requestId === 'req-usage-1'));
    expect(line).toMatchObject({ status: 200, tokens: { prompt: 412, completion: 389 } });
  });

  it('drives concurrent requests to completion', async () => {
    await driveChat(client, { requests: 40, concurrency: 8, firstIndex: 1000 });
  });
});

describe('no-op baseline server', () => {
  let server: NoopServer;
  let client: ExtProcClient;

  beforeAll(async () => {
    server = await startNoopExtProc();
    client = createExtProcClient(server.grpcPort);
  });

  afterAll(async () => {
    client?.close();
    await server?.shutdown();
  });

  it('asks for the same bodies as ext-proc, so it receives the same message sequence', async () => {
    const { router, upstream } = await runChatExchange(client, 'req-noop-1');
    expect(router.requestHeaders.mode_override?.request_body_mode).toBe('BUFFERED');
    expect(upstream.requestHeaders.mode_override?.request_body_mode).toBe('BUFFERED');
    expect(router.responseBody).toBeDefined();
    expect(upstream.responseBody).toBeUndefined();
    expect(router.requestBody.request_body?.response).toBeUndefined();
  });
});
