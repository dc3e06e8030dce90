/**
 * The endpoint picker as a gateway sees it: ext_proc answers decoded with Envoy's protos, in the
 * FULL_DUPLEX_STREAMED mode gateways configure for it, checked against the GIE endpoint-picker protocol.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSnapshot } from '../../config/file-source.ts';
import { type EndpointPicker, startEndpointPicker } from '../../endpoint-picker/server.ts';
import { fromStruct, toStruct } from '../../ext-proc/struct.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';
import { httpStatusNumber } from '../../protos/envoy.ts';
import { type ModelServer, startModelServer } from '../../sim/model-server.ts';
import { headerMap, rawClient, setHeaders } from '../helpers/ext-proc-client.ts';
import { capturingLogger, eventually } from '../helpers/log-capture.ts';

const PODS = ['127.0.0.51', '127.0.0.52', '127.0.0.53'];
let port: number;
let servers: ModelServer[] = [];
let picker: EndpointPicker;
let client: ReturnType<typeof rawClient>;

function manifests(readyPods: string[]): string {
  const pods = readyPods
    .map(
      (ip, i) => `---
apiVersion: v1
kind: Pod
metadata: { name: vllm-${i}, labels: { app: vllm } }
status: { podIP: ${ip}, phase: Running, conditions: [{ type: Ready, status: "True" }] }
`,
    )
    .join('');
  return `apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: { name: vllm-pool }
spec:
  selector: { matchLabels: { app: vllm } }
  targetPorts: [{ number: ${port} }]
  endpointPickerRef: { name: vllm-pool-epp, port: { number: 9002 }, failureMode: FailClose }
${pods}`;
}

async function startPicker(readyPods: string[], logger = capturingLogger().logger, metricsPort?: number) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'epp-'));
  const file = path.join(dir, 'pool.yaml');
  writeFileSync(file, manifests(readyPods));
  return startEndpointPicker({
    snapshot: loadSnapshot(file, { supportedProviders }),
    logger,
    grpcAddress: '127.0.0.1:0',
    healthAddress: '127.0.0.1:0',
    scrapeIntervalMs: 20,
    seed: 7,
    ...(metricsPort === undefined ? {} : { metricsPort }),
  });
}

beforeAll(async () => {
  const first = await startModelServer({ host: PODS[0]!, port: 0 });
  port = Number(new URL(first.url).port);
  servers = [first, ...(await Promise.all(PODS.slice(1).map((host) => startModelServer({ host, port }))))];
  picker = await startPicker(PODS);
  client = rawClient(`127.0.0.1:${picker.grpcPort}`);
  // Wait for the first scrape of every pod, so decisions use live metrics.
  await eventually(() => PODS.every((ip) => !picker.scraper.load(`${ip}:${port}`).stale) || undefined);
});

afterAll(async () => {
  client?.close();
  await picker?.shutdown(500);
  await Promise.all(servers.map((s) => s.close()));
});

const BODY = Buffer.from(
  JSON.stringify({ model: 'llama', messages: [{ role: 'user', content: 'Hello there, pool.' }] }),
);

async function pick(extra: { subset?: string[]; headers?: Record<string, string> } = {}) {
  const s = client.open();
  s.send({
    request_headers: {
      headers: headerMap({
        ':method': 'POST',
        ':path': '/v1/chat/completions',
        'x-request-id': 'r1',
        ...extra.headers,
      }),
    },
    protocol_config: {
      request_body_mode: 'FULL_DUPLEX_STREAMED',
      send_body_without_waiting_for_header_response: true,
    },
    ...(extra.subset
      ? {
          metadata_context: {
            filter_metadata: {
              'envoy.lb.subset_hint': toStruct({ 'x-gateway-destination-endpoint-subset': extra.subset }),
            },
          },
        }
      : {}),
  });
  s.send({ request_body: { body: BODY.subarray(0, 20), end_of_stream: false } });
  s.send({ request_body: { body: BODY.subarray(20), end_of_stream: true } });
  const first = await s.next();
  return { s, first };
}

describe('endpoint picker protocol (GIE docs/proposals/004-endpoint-picker-protocol)', () => {
  it('names the destination in the header and in envoy.lb metadata, the same value, then streams the body back', async () => {
    const { s, first } = await pick();
    expect(first.response).toBe('request_headers');
    const header = setHeaders(first.request_headers?.response)['x-gateway-destination-endpoint'];
    expect(header).toMatch(/^127\.0\.0\.5[123]:\d+(,127\.0\.0\.5[123]:\d+)*$/);
    const metadata = fromStruct(first.dynamic_metadata)['envoy.lb'] as Record<string, unknown>;
    expect(metadata['x-gateway-destination-endpoint']).toBe(header);
    const body = await s.next();
    const streamed = body.request_body?.response?.body_mutation?.streamed_response;
    expect(streamed?.end_of_stream).toBe(true);
    expect(Buffer.from(streamed!.body!).equals(BODY)).toBe(true);
    s.end();
  });

  it('picks only from the subset hint the gateway sends', async () => {
    for (let i = 0; i < 10; i++) {
      const { s, first } = await pick({ subset: [`${PODS[2]}:${port}`] });
      expect(setHeaders(first.request_headers?.response)['x-gateway-destination-endpoint']).toBe(
        `${PODS[2]}:${port}`,
      );
      s.end();
    }
  });

  it('answers 503 when the subset holds no eligible endpoint, in the OpenAI error shape', async () => {
    const { first } = await pick({ subset: ['10.9.9.9:8000'] });
    expect(first.response).toBe('immediate_response');
    expect(httpStatusNumber(first.immediate_response?.status.code)).toBe(503);
    expect(JSON.parse(Buffer.from(first.immediate_response!.body!).toString()).error).toMatchObject({
      type: 'api_error',
    });
  });

  it('hands out a session token on the response, and the token brings the session back to its pod', async () => {
    const { s, first } = await pick();
    const primary = setHeaders(first.request_headers?.response)['x-gateway-destination-endpoint']!.split(
      ',',
    )[0]!;
    await s.next();
    s.send({
      response_headers: { headers: headerMap({ ':status': '200' }) },
      metadata_context: {
        filter_metadata: { 'envoy.lb': toStruct({ 'x-gateway-destination-endpoint-served': primary }) },
      },
    });
    const token = setHeaders((await s.next()).response_headers?.response)['x-session-token'];
    expect(token).toBeTruthy();
    s.end();
    for (let i = 0; i < 10; i++) {
      const again = await pick({ headers: { 'x-session-token': token! } });
      expect(
        setHeaders(again.first.request_headers?.response)['x-gateway-destination-endpoint']!.split(',')[0],
      ).toBe(primary);
      again.s.end();
    }
  });

  it('serves grpc health for liveness, readiness and the ExternalProcessor service', async () => {
    const Client = grpc.makeGenericClientConstructor(healthService, 'Health');
    const health = new Client(
      `127.0.0.1:${picker.healthPort}`,
      grpc.credentials.createInsecure(),
    ) as unknown as grpc.Client & {
      check(r: { service: string }, cb: (e: grpc.ServiceError | null, r: { status: string }) => void): void;
    };
    for (const service of ['liveness', 'readiness', 'envoy.service.ext_proc.v3.ExternalProcessor']) {
      const status = await new Promise<string>((resolve, reject) =>
        health.check({ service }, (e, r) => (e ? reject(e) : resolve(String(r.status)))),
      );
      expect(status).toBe('SERVING');
    }
    health.close();
  });

  it('explains each decision in a debug log line with every pod’s score per scorer', async () => {
    const logs = capturingLogger('debug');
    const verbose = await startPicker(PODS, logs.logger, 0);
    await eventually(() => PODS.every((ip) => !verbose.scraper.load(`${ip}:${port}`).stale) || undefined);
    const c = rawClient(`127.0.0.1:${verbose.grpcPort}`);
    const s = c.open();
    s.send({
      request_headers: {
        headers: headerMap({
          ':method': 'POST',
          ':path': '/v1/chat/completions',
          'x-request-id': 'explain-me',
        }),
      },
      protocol_config: { request_body_mode: 'BUFFERED' },
    });
    await s.next();
    s.send({ request_body: { body: BODY, end_of_stream: true } });
    // Buffered: the decision rides on the body's answer.
    const decision = await s.next();
    const line = await eventually(() =>
      logs.records().find((r) => r.event === 'epp_decision' && r.requestId === 'explain-me'),
    );
    const scores = line.scores as Record<string, Record<string, number>>;
    // The same totals are each pod's agent_router_epp_pod_score on /metrics.
    const exposition = await (await fetch(`${verbose.metricsUrl}/metrics`)).text();
    for (const [pod, perScorer] of Object.entries(scores))
      expect(exposition).toContain(`agent_router_epp_pod_score{pod="${pod}"} ${perScorer.total}`);
    expect(Object.keys(scores)).toHaveLength(3);
    for (const perScorer of Object.values(scores))
      expect(perScorer).toMatchObject({
        total: expect.any(Number),
        queue: expect.any(Number),
        'kv-cache-utilization': expect.any(Number),
        'prefix-cache': expect.any(Number),
      });
    // Beside envoy.lb, the picked endpoints' scores travel in our namespace for the request record:
    // the same figures as the debug line, keyed by the address the header names.
    const picked = fromStruct(decision.dynamic_metadata)['agent-router.picker'] as {
      endpoints: Record<string, Record<string, number>>;
    };
    const header = setHeaders(decision.request_body?.response)['x-gateway-destination-endpoint']!;
    expect(Object.keys(picked.endpoints).sort()).toEqual(header.split(',').sort());
    const byAddress = Object.fromEntries(
      Object.entries(scores).map(([pod, perScorer]) => [
        `${PODS[Number(pod.split('-').pop())]}:${port}`,
        perScorer,
      ]),
    );
    for (const [endpoint, perScorer] of Object.entries(picked.endpoints))
      expect(perScorer).toEqual(byAddress[endpoint]);
    c.close();
    await verbose.shutdown(200);
  });

  it('answers 503 when the pool has no ready endpoint', async () => {
    const empty = await startPicker([]);
    const c = rawClient(`127.0.0.1:${empty.grpcPort}`);
    const s = c.open();
    s.send({
      request_headers: { headers: headerMap({ ':method': 'POST', ':path': '/v1/completions' }) },
      protocol_config: { request_body_mode: 'BUFFERED' },
    });
    await s.next();
    s.send({ request_body: { body: Buffer.from('{"model":"m","prompt":"x"}'), end_of_stream: true } });
    const r = await s.next();
    expect(httpStatusNumber(r.immediate_response?.status.code)).toBe(503);
    c.close();
    await empty.shutdown(200);
  });
});
