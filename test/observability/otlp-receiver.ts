/**
 * OTLP receivers for tests, on loopback: OTLP/HTTP (node:http, the collector's /v1/traces and /v1/metrics)
 * and OTLP/gRPC (grpc-js, the collector's TraceService/MetricsService Export). They keep every export as
 * it arrived, bytes and headers, and answer success with an empty Export*ServiceResponse (all fields
 * default, so zero bytes on the wire).
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';

export interface ReceivedExport {
  path: string;
  contentType: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface OtlpReceiver {
  /** The OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT). */
  url: string;
  received: ReceivedExport[];
  on(path: string): ReceivedExport[];
  close(): Promise<void>;
}

export async function startHttpReceiver(): Promise<OtlpReceiver> {
  const received: ReceivedExport[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'] ?? '',
        headers: flatHeaders(req.headers),
        body: Buffer.concat(chunks),
      });
      const json = (req.headers['content-type'] ?? '').includes('json');
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(json ? '{}' : undefined);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    on: (path) => received.filter((r) => r.path === path),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export const GRPC_TRACE_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
export const GRPC_METRICS_PATH = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';

export async function startGrpcReceiver(): Promise<OtlpReceiver> {
  const received: ReceivedExport[] = [];
  const server = new grpc.Server();
  const method = (path: string): grpc.MethodDefinition<Buffer, Buffer> => ({
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  });
  const handler =
    (path: string): grpc.handleUnaryCall<Buffer, Buffer> =>
    (call, callback) => {
      const headers: Record<string, string> = {};
      for (const [key, values] of Object.entries(call.metadata.getMap())) headers[key] = String(values);
      received.push({ path, contentType: 'application/grpc', headers, body: call.request });
      callback(null, Buffer.alloc(0));
    };
  server.addService({ Export: method(GRPC_TRACE_PATH) } as grpc.ServiceDefinition, {
    Export: handler(GRPC_TRACE_PATH),
  });
  server.addService({ Export: method(GRPC_METRICS_PATH) } as grpc.ServiceDefinition, {
    Export: handler(GRPC_METRICS_PATH),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    on: (path) => received.filter((r) => r.path === path),
    async close() {
      server.forceShutdown();
    },
  };
}

function flatHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) out[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
