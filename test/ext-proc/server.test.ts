/**
 * The ext-proc service around the protocol: grpc.health.v1, the Unix socket listener for the sidecar,
 * the admin endpoints, and a graceful drain on shutdown.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSnapshot } from '../../config/file-source.ts';
import { type ExtProcServer, startExtProc } from '../../ext-proc/server.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';
import { createExtProcMetrics } from '../../observability/metrics.ts';
import { headerMap, rawClient } from '../helpers/ext-proc-client.ts';
import { capturingLogger } from '../helpers/log-capture.ts';

const servers: ExtProcServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.shutdown(500)));
});

let logs = capturingLogger();

async function start(extra: { socketPath?: string; adminPort?: number } = {}) {
  logs = capturingLogger();
  const server = await startExtProc({
    snapshot: loadSnapshot('examples/local.yaml', { supportedProviders }),
    logger: logs.logger,
    grpcAddress: '127.0.0.1:0',
    adminHost: '127.0.0.1',
    ...extra,
  });
  servers.push(server);
  return server;
}

function healthCheck(target: string, serviceName: string): Promise<string> {
  const Client = grpc.makeGenericClientConstructor(healthService, 'Health');
  const client = new Client(target, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    check(req: { service: string }, cb: (e: grpc.ServiceError | null, r: { status: string }) => void): void;
  };
  return new Promise((resolve, reject) =>
    client.check({ service: serviceName }, (error, response) => {
      client.close();
      if (error) reject(error);
      else resolve(String(response.status));
    }),
  );
}

describe('ext-proc server', () => {
  it('serves grpc.health.v1 for the server and the ExternalProcessor service', async () => {
    const server = await start();
    const target = `127.0.0.1:${server.grpcPort}`;
    expect(await healthCheck(target, '')).toBe('SERVING');
    expect(await healthCheck(target, 'envoy.service.ext_proc.v3.ExternalProcessor')).toBe('SERVING');
  });

  it('also listens on a Unix socket for the sidecar deployment', async () => {
    const socketPath = path.join(mkdtempSync(path.join(os.tmpdir(), 'agent-router-sock-')), 'ext-proc.sock');
    await start({ socketPath });
    const client = rawClient(`unix:${socketPath}`);
    const s = client.open();
    s.send({
      request_headers: {
        headers: headerMap({
          ':method': 'GET',
          ':path': '/v1/models',
          authorization: 'Bearer sk-agent-router-team-a',
        }),
        end_of_stream: true,
      },
    });
    const r = await s.next();
    expect(r.response).toBe('immediate_response');
    expect(JSON.parse(Buffer.from(r.immediate_response!.body!).toString()).object).toBe('list');
    client.close();
  });

  it("records the trace context of Envoy's stream metadata, else the client's traceparent header", async () => {
    const server = await start();
    const client = rawClient(`127.0.0.1:${server.grpcPort}`);
    const envoySpan = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const clientSpan = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const models = async (metadata: Record<string, string>, requestId: string) => {
      const s = client.open('router', metadata);
      s.send({
        request_headers: {
          headers: headerMap({
            ':method': 'GET',
            ':path': '/v1/models',
            authorization: 'Bearer sk-agent-router-team-a',
            'x-request-id': requestId,
            traceparent: clientSpan,
            tracestate: 'client=1',
          }),
          end_of_stream: true,
        },
      });
      await s.next();
      s.end();
      await s.done;
    };
    await models({ traceparent: envoySpan, tracestate: 'envoy=1' }, 'traced-by-envoy');
    await models({}, 'traced-by-client');
    await models({ traceparent: 'not-a-trace-context' }, 'bad-envoy-context');
    client.close();
    const lineOf = async (id: string) => {
      for (let i = 0; i < 100; i++) {
        const line = logs.records().find((r) => r.event === 'request' && r.requestId === id);
        if (line) return line;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`no request line for ${id}`);
    };
    expect(await lineOf('traced-by-envoy')).toMatchObject({ traceParent: envoySpan, traceState: 'envoy=1' });
    expect(await lineOf('traced-by-client')).toMatchObject({
      traceParent: clientSpan,
      traceState: 'client=1',
    });
    expect(await lineOf('bad-envoy-context')).toMatchObject({ traceParent: clientSpan });
  });

  it('serves /healthz, /readyz and /metrics on the admin port', async () => {
    const server = await start({ adminPort: 0 });
    expect((await fetch(`${server.adminUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.adminUrl}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${server.adminUrl}/metrics`)).text()).toContain('agent_router_requests_total');
  });

  it('drains on shutdown: an open stream completes, new streams are refused', async () => {
    const server = await start();
    servers.splice(servers.indexOf(server), 1);
    const client = rawClient(`127.0.0.1:${server.grpcPort}`);
    const s = client.open();
    s.send({
      request_headers: {
        headers: headerMap({
          ':method': 'POST',
          ':path': '/v1/chat/completions',
          authorization: 'Bearer sk-agent-router-team-a',
        }),
      },
    });
    await s.next();
    const stopped = server.shutdown(5_000);
    s.send({
      request_body: { body: Buffer.from('{"model":"chat-model","messages":[]}'), end_of_stream: true },
    });
    const r = await s.next();
    expect(r.response).toBe('request_body');
    s.end();
    await stopped;
    const late = rawClient(`127.0.0.1:${server.grpcPort}`).open();
    late.send({ request_headers: { headers: headerMap({ ':path': '/v1/models' }), end_of_stream: true } });
    await late.done;
    expect(late.received).toHaveLength(0);
    client.close();
  });
});

describe('the attempt metric', () => {
  it('counts each attempt under its backend and provider, across a configuration reload', async () => {
    const metrics = createExtProcMetrics();
    const snapshot = () => loadSnapshot('examples/local.yaml', { supportedProviders });
    const server = await startExtProc({
      snapshot: snapshot(),
      logger: capturingLogger().logger,
      grpcAddress: '127.0.0.1:0',
      metrics,
    });
    servers.push(server);
    const entry = [...snapshot().entries.values()][0]!;
    const client = rawClient(`127.0.0.1:${server.grpcPort}`);
    const attempt = async () => {
      const stream = client.open('upstream');
      stream.send({
        request_headers: {
          headers: headerMap({
            ':method': 'POST',
            ':path': '/v1/chat/completions',
            'x-agent-router-route': entry.id,
            'x-envoy-attempt-count': '1',
          }),
          end_of_stream: false,
        },
      });
      await stream.next();
      stream.end();
      stream.cancel();
    };
    const counted = async () => {
      const text = await metrics.registry.getSingleMetricAsString('agent_router_upstream_attempts_total');
      const line = text
        .split('\n')
        .find(
          (l) =>
            l.includes(`backend="${entry.backend.id}"`) && l.includes(`provider="${entry.backend.provider}"`),
        );
      return line === undefined ? 0 : Number(line.split(' ').at(-1));
    };
    await attempt();
    await attempt();
    expect(await counted()).toBe(2);
    server.store.replace(snapshot());
    await attempt();
    expect(await counted()).toBe(3);
    client.close();
  });
});
