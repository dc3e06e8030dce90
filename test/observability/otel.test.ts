import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AttemptRecord, RequestRecord } from '../../analytics/record.ts';
import { sessionHasher } from '../../ext-proc/session-hash.ts';
import {
  REQUEST_DURATION_BUCKETS_S,
  TIME_PER_OUTPUT_TOKEN_BUCKETS_S,
  TIME_TO_FIRST_TOKEN_BUCKETS_S,
  TOKEN_USAGE_BUCKETS,
} from '../../observability/genai-buckets.ts';
import { createOtelExporter, type OtelExporter } from '../../observability/otel.ts';
import {
  type DecodedMetric,
  type DecodedSpan,
  decodeMetricsRequest,
  decodeTraceRequest,
} from './otlp-proto.ts';
import {
  GRPC_METRICS_PATH,
  GRPC_TRACE_PATH,
  type OtlpReceiver,
  startGrpcReceiver,
  startHttpReceiver,
} from './otlp-receiver.ts';

// A whole millisecond, some seconds ago: the span's start must come out as exactly time × 10⁶ ns.
const T0 = Math.floor(Date.now() / 1000) * 1000 - 60_000;

function record(overrides: Partial<RequestRecord> = {}): RequestRecord {
  return {
    id: 'req-0001',
    time: T0,
    keyId: 'team-a-key',
    routeConfig: 'default/chat-routes',
    routeEntry: 'chat-model-b',
    decision: 'sticky-split',
    logicalModel: 'chat-model',
    resolvedModel: 'gpt-4o-2024-08-06',
    backend: 'openai-east',
    provider: 'OpenAI',
    endpoint: '10.0.0.7:8000',
    attempts: [{ backend: 'openai-east', status: 200 }],
    status: 200,
    stream: true,
    cancelled: false,
    latencyMs: 1500,
    ttftMs: 250,
    tpotMs: 12.5,
    tokens: { prompt: 120, completion: 80, cached: 100, reasoning: 30 },
    costUsd: 0.0042,
    sessionHash: 'a3f1c2d4e5f60718293a4b5c6d7e8f90',
    ...overrides,
  };
}

const COLLECTOR_TOKEN = 'collector-token-7f3e9a';

let receiver: OtlpReceiver;
let exporter: OtelExporter | undefined;

async function httpExporter(extra: Record<string, string> = {}): Promise<OtelExporter> {
  const created = await createOtelExporter({
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${COLLECTOR_TOKEN}`,
    OTEL_SERVICE_NAME: 'agent-router-test',
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test',
    ...extra,
  });
  if (!created) throw new Error('expected an exporter');
  exporter = created;
  return created;
}

function spans(path = '/v1/traces'): DecodedSpan[] {
  return receiver.on(path).flatMap((r) => decodeTraceRequest(r.body));
}

function metrics(path = '/v1/metrics'): DecodedMetric[] {
  return receiver.on(path).flatMap((r) => decodeMetricsRequest(r.body));
}

function metric(name: string, path?: string): DecodedMetric {
  const found = metrics(path).filter((m) => m.name === name);
  expect(found, name).toHaveLength(1);
  return found[0]!;
}

function nanos(ms: number): bigint {
  return BigInt(ms) * 1_000_000n;
}

beforeEach(async () => {
  receiver = await startHttpReceiver();
});

afterEach(async () => {
  await exporter?.shutdown();
  exporter = undefined;
  await receiver.close();
});

describe('OpenTelemetry exporter: when it exists', () => {
  it('loads the SDK and its exporters only when an endpoint asks for export', () => {
    // In a child process (this file has loaded the SDK already): the @opentelemetry packages resolved.
    const packagesLoaded = (env: Record<string, string>) => {
      const probe = [
        "const { registerHooks } = await import('node:module');",
        'const seen = new Set();',
        'registerHooks({ resolve(specifier, context, next) {',
        '  const r = next(specifier, context);',
        '  const m = r.url.match(/@opentelemetry\\/([^/]+)/);',
        '  if (m) seen.add(m[1]);',
        '  return r;',
        '} });',
        "const { createOtelExporter } = await import('./observability/otel.ts');",
        `const exporter = await createOtelExporter(${JSON.stringify(env)});`,
        'await exporter?.shutdown();',
        'console.log(JSON.stringify([...seen].sort()));',
      ].join('\n');
      const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], {
        cwd: path.join(import.meta.dirname, '../..'),
        encoding: 'utf8',
      });
      return JSON.parse(out) as string[];
    };
    expect(packagesLoaded({})).toEqual(['api', 'core', 'semantic-conventions']);
    const exporting = packagesLoaded({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
    expect(exporting).toContain('sdk-trace');
    expect(exporting).toContain('exporter-trace-otlp-proto');
  });

  it('is not created without an OTLP endpoint variable, nor when the SDK is disabled', async () => {
    expect(await createOtelExporter({})).toBeUndefined();
    expect(
      await createOtelExporter({ OTEL_SERVICE_NAME: 'x', OTEL_EXPORTER_OTLP_HEADERS: 'a=b' }),
    ).toBeUndefined();
    expect(
      await createOtelExporter({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SDK_DISABLED: 'true' }),
    ).toBe(undefined);
  });

  it('exports only traces when only the traces endpoint is set', async () => {
    const only = await createOtelExporter({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
    });
    exporter = only;
    only?.onRecord(record());
    await only?.forceFlush();
    expect(receiver.on('/v1/traces')).toHaveLength(1);
    expect(receiver.on('/v1/metrics')).toHaveLength(0);
  });
});

describe('OpenTelemetry exporter: the request span', () => {
  it('is one SERVER span named "{operation} {request model}" over the request, with every attribute', async () => {
    const otel = await httpExporter();
    otel.onRecord(record());
    await otel.forceFlush();

    const exports = receiver.on('/v1/traces');
    expect(exports.length).toBeGreaterThan(0);
    expect(exports[0]!.contentType).toBe('application/x-protobuf');
    expect(exports[0]!.headers.authorization).toBe(`Bearer ${COLLECTOR_TOKEN}`);

    const parent = spans().find((s) => s.parentSpanId === '');
    expect(parent).toBeDefined();
    expect(parent!.name).toBe('chat gpt-4o-2024-08-06');
    expect(parent!.kind).toBe('SPAN_KIND_SERVER');
    expect(parent!.startNanos).toBe(nanos(T0));
    expect(parent!.endNanos).toBe(nanos(T0 + 1500));
    expect(parent!.status).toBe('STATUS_CODE_UNSET');
    expect(parent!.scope).toBe('agent-router');
    expect(parent!.resource).toMatchObject({
      'service.name': 'agent-router-test',
      'deployment.environment.name': 'test',
      'telemetry.sdk.language': 'nodejs',
    });
    expect(parent!.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-2024-08-06',
      'gen_ai.response.model': 'gpt-4o-2024-08-06',
      'gen_ai.original.model': 'chat-model',
      'gen_ai.request.stream': true,
      'gen_ai.response.time_to_first_chunk': 0.25,
      'gen_ai.usage.input_tokens': 120,
      'gen_ai.usage.output_tokens': 80,
      'gen_ai.usage.cache_read.input_tokens': 100,
      'gen_ai.usage.reasoning.output_tokens': 30,
      'http.response.status_code': 200,
      'agent_router.request_id': 'req-0001',
      'agent_router.route_config': 'default/chat-routes',
      'agent_router.route_entry': 'chat-model-b',
      'agent_router.decision': 'sticky-split',
      'agent_router.key_id': 'team-a-key',
      'agent_router.backend': 'openai-east',
      'agent_router.endpoint': '10.0.0.7:8000',
      'agent_router.session_hash': 'a3f1c2d4e5f60718293a4b5c6d7e8f90',
      'agent_router.cost_usd': 0.0042,
      'agent_router.cancelled': false,
    });
  });

  it("joins the caller's trace: a child of the record's traceparent, sampled as it says", async () => {
    const otel = await httpExporter();
    otel.onRecord(
      record({
        id: 'traced',
        traceParent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        traceState: 'congo=t61rcWkgMzE',
      }),
    );
    // Flags 00: the caller did not sample it, and the default sampler is parent-based.
    otel.onRecord(
      record({ id: 'not-sampled', traceParent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00' }),
    );
    otel.onRecord(record({ id: 'root' }));
    await otel.forceFlush();
    const all = spans();
    const byRequest = (id: string) =>
      all.find((s) => s.kind === 'SPAN_KIND_SERVER' && s.attributes['agent_router.request_id'] === id);
    const traced = byRequest('traced')!;
    expect(traced.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(traced.parentSpanId).toBe('00f067aa0ba902b7');
    const attempt = all.find((s) => s.kind === 'SPAN_KIND_CLIENT' && s.parentSpanId === traced.spanId);
    expect(attempt?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(byRequest('not-sampled')).toBeUndefined();
    const root = byRequest('root')!;
    expect(root.parentSpanId).toBe('');
    expect(root.traceId).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  });

  it('reports as gen_ai.response.model the model the answer named, the request model beside it', async () => {
    const otel = await httpExporter();
    otel.onRecord(record({ resolvedModel: 'gpt-4o', responseModel: 'gpt-4o-2024-08-06' }));
    await otel.forceFlush();
    const parent = spans().find((s) => s.parentSpanId === '')!;
    expect(parent.attributes['gen_ai.request.model']).toBe('gpt-4o');
    expect(parent.attributes['gen_ai.response.model']).toBe('gpt-4o-2024-08-06');
    const duration = metric('gen_ai.server.request.duration');
    expect(duration.points[0]!.attributes).toMatchObject({
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.response.model': 'gpt-4o-2024-08-06',
    });
  });

  it('maps every provider to its semconv gen_ai.provider.name', async () => {
    const expected: Record<string, string> = {
      OpenAI: 'openai',
      OpenAICompatible: 'openai',
      AzureOpenAI: 'azure.ai.openai',
      Anthropic: 'anthropic',
      Gemini: 'gcp.gemini',
      VertexAI: 'gcp.vertex_ai',
      VertexAnthropic: 'gcp.vertex_ai',
      Bedrock: 'aws.bedrock',
      Mistral: 'mistral_ai',
    };
    const otel = await httpExporter({ OTEL_METRICS_EXPORTER: 'none' });
    for (const provider of Object.keys(expected))
      otel.onRecord(record({ id: provider, provider, attempts: [] }));
    await otel.forceFlush();
    const byId = new Map(spans().map((s) => [s.attributes['agent_router.request_id'], s]));
    for (const [provider, name] of Object.entries(expected)) {
      expect(byId.get(provider)?.attributes['gen_ai.provider.name'], provider).toBe(name);
    }
  });

  it('names the operation from the record, chat when it has none', async () => {
    const otel = await httpExporter({ OTEL_METRICS_EXPORTER: 'none' });
    const withOperation = (id: string, operation: string) => record({ id, attempts: [], operation });
    otel.onRecord(withOperation('e', 'embeddings'));
    otel.onRecord(withOperation('c', 'completions'));
    otel.onRecord(record({ id: 'none', attempts: [] }));
    await otel.forceFlush();
    const byId = new Map(spans().map((s) => [s.attributes['agent_router.request_id'], s]));
    expect(byId.get('e')?.name).toBe('embeddings gpt-4o-2024-08-06');
    expect(byId.get('c')?.attributes['gen_ai.operation.name']).toBe('text_completion');
    expect(byId.get('none')?.attributes['gen_ai.operation.name']).toBe('chat');
  });

  it('is ERROR for a 5xx with error.type the code or the status, UNSET for a 4xx and for a cancelled request', async () => {
    const otel = await httpExporter({ OTEL_METRICS_EXPORTER: 'none' });
    otel.onRecord(record({ id: '502', status: 502, attempts: [{ backend: 'openai-east', status: 502 }] }));
    otel.onRecord(record({ id: '503', status: 503, errorCode: 'upstream_unavailable', attempts: [] }));
    otel.onRecord(record({ id: '401', status: 401, errorCode: 'invalid_api_key', attempts: [] }));
    otel.onRecord(record({ id: '404', status: 404, attempts: [] }));
    otel.onRecord(record({ id: '499', status: 499, cancelled: true, attempts: [] }));
    otel.onRecord(record({ id: '0', status: 0, attempts: [] }));
    await otel.forceFlush();
    const parents = new Map(
      spans()
        .filter((s) => s.parentSpanId === '')
        .map((s) => [s.attributes['agent_router.request_id'], s]),
    );
    const summary = (id: string) => {
      const s = parents.get(id)!;
      return [s.status, s.attributes['error.type'], s.attributes['http.response.status_code']];
    };
    expect(summary('502')).toEqual(['STATUS_CODE_ERROR', '502', 502]);
    expect(summary('503')).toEqual(['STATUS_CODE_ERROR', 'upstream_unavailable', 503]);
    expect(summary('401')).toEqual(['STATUS_CODE_UNSET', 'invalid_api_key', 401]);
    expect(summary('404')).toEqual(['STATUS_CODE_UNSET', undefined, 404]);
    expect(summary('499')).toEqual(['STATUS_CODE_UNSET', 'cancelled', 499]);
    expect(parents.get('499')!.attributes['agent_router.cancelled']).toBe(true);
    expect(summary('0')).toEqual(['STATUS_CODE_ERROR', '_OTHER', undefined]);
  });

  it('carries no model, provider or backend attributes a request refused before routing did not have', async () => {
    const otel = await httpExporter({ OTEL_METRICS_EXPORTER: 'none' });
    const refused: RequestRecord = {
      id: 'refused',
      time: T0,
      attempts: [],
      status: 401,
      errorCode: 'invalid_api_key',
      stream: false,
      cancelled: false,
      latencyMs: 2,
    };
    otel.onRecord(refused);
    await otel.forceFlush();
    const [span] = spans();
    expect(span!.name).toBe('chat');
    expect(span!.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.stream': false,
      'agent_router.request_id': 'refused',
      'agent_router.cancelled': false,
      'error.type': 'invalid_api_key',
      'http.response.status_code': 401,
    });
  });
});

describe('OpenTelemetry exporter: attempt spans', () => {
  it('adds one CLIENT child per attempt, in order, over equal slices of the request marked as estimated', async () => {
    const otel = await httpExporter({ OTEL_METRICS_EXPORTER: 'none' });
    otel.onRecord(
      record({
        latencyMs: 3000,
        backend: 'openai-west',
        attempts: [
          { backend: 'openai-east', status: 503, errorCode: 'upstream_unavailable' },
          { backend: 'openai-east', status: 0 },
          { backend: 'openai-west', status: 200 },
        ],
      }),
    );
    await otel.forceFlush();
    const all = spans();
    expect(all).toHaveLength(4);
    const parent = all.find((s) => s.parentSpanId === '')!;
    const children = all
      .filter((s) => s.parentSpanId === parent.spanId)
      .sort((a, b) => Number(a.startNanos - b.startNanos));
    expect(children).toHaveLength(3);
    for (const child of children) {
      expect(child.traceId).toBe(parent.traceId);
      expect(child.kind).toBe('SPAN_KIND_CLIENT');
      expect(child.attributes['agent_router.timing_estimated']).toBe(true);
    }
    expect(children.map((c) => [c.startNanos, c.endNanos])).toEqual([
      [nanos(T0), nanos(T0 + 1000)],
      [nanos(T0 + 1000), nanos(T0 + 2000)],
      [nanos(T0 + 2000), nanos(T0 + 3000)],
    ]);
    const [first, second, last] = children;
    // An attempt at another backend than the final one: the record has no model or provider for it.
    expect(first!.name).toBe('chat');
    expect(first!.status).toBe('STATUS_CODE_ERROR');
    expect(first!.attributes).toMatchObject({
      'agent_router.backend': 'openai-east',
      'http.response.status_code': 503,
      'error.type': 'upstream_unavailable',
    });
    expect(first!.attributes['gen_ai.request.model']).toBeUndefined();
    expect(first!.attributes['http.request.resend_count']).toBeUndefined();
    expect(second!.status).toBe('STATUS_CODE_ERROR');
    expect(second!.attributes).toMatchObject({ 'error.type': '_OTHER', 'http.request.resend_count': 1 });
    expect(second!.attributes['http.response.status_code']).toBeUndefined();
    expect(last!.name).toBe('chat gpt-4o-2024-08-06');
    expect(last!.status).toBe('STATUS_CODE_UNSET');
    expect(last!.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-2024-08-06',
      'agent_router.backend': 'openai-west',
      'http.response.status_code': 200,
      'http.request.resend_count': 2,
      'agent_router.timing_estimated': true,
    });
  });

  it("uses the attempts' own times and endpoints; the last runs on to the end of the request", async () => {
    const otel = await httpExporter({ OTEL_METRICS_EXPORTER: 'none' });
    const attempts: AttemptRecord[] = [
      { backend: 'openai-east', status: 503, startMs: T0 + 5, endMs: T0 + 400, endpoint: '10.0.0.6:8000' },
      { backend: 'openai-east', status: 200, startMs: T0 + 420, endMs: T0 + 600, endpoint: '[fd00::7]:8000' },
    ];
    otel.onRecord(record({ attempts }));
    await otel.forceFlush();
    const children = spans()
      .filter((s) => s.parentSpanId !== '')
      .sort((a, b) => Number(a.startNanos - b.startNanos));
    // The first ended when its response headers came; the last one's body is the response, to the end.
    expect(children.map((c) => [c.startNanos, c.endNanos])).toEqual([
      [nanos(T0 + 5), nanos(T0 + 400)],
      [nanos(T0 + 420), nanos(T0 + 1500)],
    ]);
    for (const child of children) expect(child.attributes['agent_router.timing_estimated']).toBeUndefined();
    expect(children[0]!.attributes).toMatchObject({ 'server.address': '10.0.0.6', 'server.port': 8000 });
    expect(children[1]!.attributes).toMatchObject({ 'server.address': 'fd00::7', 'server.port': 8000 });
  });
  it('does not blame the upstream for the attempt a cancelling client left unanswered', async () => {
    const otel = await httpExporter({ OTEL_METRICS_EXPORTER: 'none' });
    otel.onRecord(
      record({
        status: 499,
        cancelled: true,
        attempts: [
          { backend: 'openai-east', status: 0 },
          { backend: 'openai-east', status: 0 },
        ],
      }),
    );
    await otel.forceFlush();
    const children = spans()
      .filter((s) => s.parentSpanId !== '')
      .sort((a, b) => Number(a.startNanos - b.startNanos));
    // The first never answered before the gateway moved on: an upstream failure. The last was cut off.
    expect(children.map((c) => [c.status, c.attributes['error.type']])).toEqual([
      ['STATUS_CODE_ERROR', '_OTHER'],
      ['STATUS_CODE_UNSET', 'cancelled'],
    ]);
  });
});

describe('OpenTelemetry exporter: metrics', () => {
  it('exports the four GenAI histograms with their semconv names, units, buckets and attributes', async () => {
    const otel = await httpExporter({ OTEL_TRACES_EXPORTER: 'none' });
    otel.onRecord(record());
    otel.onRecord(
      record({ id: 'r2', latencyMs: 700, ttftMs: 90, tpotMs: 8, tokens: { prompt: 10, completion: 5 } }),
    );
    otel.onRecord(record({ id: 'bad', status: 502, errorCode: undefined, latencyMs: 30, tokens: undefined }));
    await otel.forceFlush();
    const exports = receiver.on('/v1/metrics');
    expect(exports.length).toBeGreaterThan(0);
    expect(exports[0]!.contentType).toBe('application/x-protobuf');

    const base = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-2024-08-06',
      'gen_ai.response.model': 'gpt-4o-2024-08-06',
      'gen_ai.original.model': 'chat-model',
    };

    const duration = metric('gen_ai.server.request.duration');
    expect(duration.unit).toBe('s');
    expect(duration.scope).toBe('agent-router');
    expect(duration.resource['service.name']).toBe('agent-router-test');
    expect(duration.temporality).toBe('AGGREGATION_TEMPORALITY_CUMULATIVE');
    expect(duration.points).toHaveLength(2);
    const ok = duration.points.find((p) => p.attributes['error.type'] === undefined)!;
    const failed = duration.points.find((p) => p.attributes['error.type'] === '502')!;
    expect(ok.attributes).toEqual(base);
    expect(failed.attributes).toEqual({ ...base, 'error.type': '502' });
    expect(ok.explicitBounds).toEqual([...REQUEST_DURATION_BUCKETS_S]);
    expect(ok.count).toBe(2);
    expect(ok.sum).toBeCloseTo(2.2, 9);
    expect(failed.count).toBe(1);
    expect(failed.sum).toBeCloseTo(0.03, 9);
    // 0.7 s falls in (0.64, 1.28], 1.5 s in (1.28, 2.56].
    expect(ok.bucketCounts[REQUEST_DURATION_BUCKETS_S.indexOf(1.28)]).toBe(1);
    expect(ok.bucketCounts[REQUEST_DURATION_BUCKETS_S.indexOf(2.56)]).toBe(1);

    // TTFT and TPOT: successful responses only, so the 502 is not in them.
    const ttft = metric('gen_ai.server.time_to_first_token');
    expect(ttft.unit).toBe('s');
    expect(ttft.points).toHaveLength(1);
    expect(ttft.points[0]!.attributes).toEqual(base);
    expect(ttft.points[0]!.explicitBounds).toEqual([...TIME_TO_FIRST_TOKEN_BUCKETS_S]);
    expect(ttft.points[0]!.count).toBe(2);
    expect(ttft.points[0]!.sum).toBeCloseTo(0.34, 9);

    const tpot = metric('gen_ai.server.time_per_output_token');
    expect(tpot.unit).toBe('s');
    expect(tpot.points[0]!.explicitBounds).toEqual([...TIME_PER_OUTPUT_TOKEN_BUCKETS_S]);
    expect(tpot.points[0]!.count).toBe(2);
    expect(tpot.points[0]!.sum).toBeCloseTo(0.0205, 9);

    const usage = metric('gen_ai.client.token.usage');
    expect(usage.unit).toBe('{token}');
    const byType = new Map(usage.points.map((p) => [p.attributes['gen_ai.token.type'], p]));
    expect([...byType.keys()].sort()).toEqual(['input', 'output']);
    expect(byType.get('input')!.attributes).toEqual({ ...base, 'gen_ai.token.type': 'input' });
    expect(byType.get('input')!.explicitBounds).toEqual([...TOKEN_USAGE_BUCKETS]);
    expect([byType.get('input')!.count, byType.get('input')!.sum]).toEqual([2, 130]);
    expect([byType.get('output')!.count, byType.get('output')!.sum]).toEqual([2, 85]);
  });

  it('counts a cancelled request in the duration under error.type cancelled, and not in TTFT', async () => {
    const otel = await httpExporter({ OTEL_TRACES_EXPORTER: 'none' });
    otel.onRecord(
      record({ status: 499, cancelled: true, latencyMs: 400, tokens: undefined, tpotMs: undefined }),
    );
    await otel.forceFlush();
    const duration = metric('gen_ai.server.request.duration');
    expect(duration.points.map((p) => p.attributes['error.type'])).toEqual(['cancelled']);
    expect(metrics().find((m) => m.name === 'gen_ai.server.time_to_first_token')).toBeUndefined();
  });
});

describe('OpenTelemetry exporter: delivery', () => {
  it('delivers on forceFlush, and on shutdown what was not flushed; records after shutdown are dropped', async () => {
    const otel = await httpExporter();
    otel.onRecord(record({ id: 'flushed' }));
    await otel.forceFlush();
    expect(spans().map((s) => s.attributes['agent_router.request_id'])).toContain('flushed');

    otel.onRecord(record({ id: 'at-shutdown', latencyMs: 9 }));
    await otel.shutdown();
    expect(spans().map((s) => s.attributes['agent_router.request_id'])).toContain('at-shutdown');
    const count = metrics().findLast((m) => m.name === 'gen_ai.server.request.duration')!.points[0]!.count;
    expect(count).toBe(2);

    const before = receiver.received.length;
    otel.onRecord(record({ id: 'after' }));
    await otel.shutdown();
    await otel.forceFlush();
    expect(receiver.received.length).toBe(before);
  });

  it('honours OTEL_EXPORTER_OTLP_PROTOCOL=http/json', async () => {
    const otel = await httpExporter({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
    otel.onRecord(record());
    await otel.forceFlush();
    const [traces] = receiver.on('/v1/traces');
    expect(traces!.contentType).toBe('application/json');
    const body = JSON.parse(traces!.body.toString());
    expect(body.resourceSpans[0].scopeSpans[0].spans[0].name).toBe('chat gpt-4o-2024-08-06');
    expect(receiver.on('/v1/metrics')[0]!.contentType).toBe('application/json');
  });

  it('honours OTEL_EXPORTER_OTLP_PROTOCOL=grpc, headers as metadata', async () => {
    const grpcReceiver = await startGrpcReceiver();
    try {
      const otel = (await createOtelExporter({
        OTEL_EXPORTER_OTLP_ENDPOINT: grpcReceiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${COLLECTOR_TOKEN}`,
      }))!;
      exporter = otel;
      otel.onRecord(record());
      await otel.forceFlush();
      const [traces] = grpcReceiver.on(GRPC_TRACE_PATH);
      expect(traces!.headers.authorization).toBe(`Bearer ${COLLECTOR_TOKEN}`);
      expect(decodeTraceRequest(traces!.body).map((s) => s.name)).toContain('chat gpt-4o-2024-08-06');
      const [exported] = grpcReceiver.on(GRPC_METRICS_PATH);
      const names = decodeMetricsRequest(exported!.body).map((m) => m.name);
      expect(names).toContain('gen_ai.server.request.duration');
      await otel.shutdown();
      exporter = undefined;
    } finally {
      await grpcReceiver.close();
    }
  });
});

describe('OpenTelemetry exporter: secrets', () => {
  it('puts no API key, provider credential, collector token or raw session id in any payload', async () => {
    const apiKey = 'sk-ar-live-4b8e1f0c9d2a7e6b5c3d';
    const providerCredential = 'sk-proj-upstream-9c8b7a6f5e4d3c2b';
    const rawSession = 'user-42-conversation-7781';
    const secrets = [apiKey, providerCredential, COLLECTOR_TOKEN, rawSession];
    const sessionHash = sessionHasher('test-hash-key')(rawSession);
    // What a record is allowed to hold: the APIKey's id and the keyed hash, never the key or the session.
    const r = record({ keyId: 'team-a-key', sessionHash, routeEntry: 'chat-model-a' });
    for (const secret of secrets) expect(JSON.stringify(r)).not.toContain(secret);

    const otel = await httpExporter({ OTEL_EXPORTER_OTLP_TRACES_HEADERS: `x-api-key=${COLLECTOR_TOKEN}` });
    otel.onRecord(r);
    await otel.forceFlush();
    expect(receiver.on('/v1/traces').length).toBeGreaterThan(0);
    expect(receiver.on('/v1/metrics').length).toBeGreaterThan(0);
    for (const exported of receiver.received) {
      for (const secret of secrets) {
        expect(exported.body.includes(Buffer.from(secret)), `${exported.path} carries ${secret}`).toBe(false);
      }
    }
    // The collector token travels where it belongs, in the request headers.
    expect(receiver.on('/v1/traces')[0]!.headers['x-api-key']).toBe(COLLECTOR_TOKEN);
    // And what is there is the id and the hash.
    const [span] = spans().filter((s) => s.parentSpanId === '');
    expect(span!.attributes['agent_router.key_id']).toBe('team-a-key');
    expect(span!.attributes['agent_router.session_hash']).toBe(sessionHash);
  });
});
