import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExtProcClient, type ExtProcClient } from '../../bench/ext-proc-driver.ts';
import { type PickExchange, runPick } from '../../bench/picker-driver.ts';
import { writePoolManifests } from '../../bench/picker-pool.ts';
import { pickerRequestBody } from '../../bench/picker-workload.ts';
import { type PodMetricsServers, startPodMetrics } from '../../bench/pod-metrics.ts';
import type { NoopServer } from '../../bench/servers/noop.ts';
import { NOOP_DESTINATION, startNoopPicker } from '../../bench/servers/noop-picker.ts';
import { type BenchPicker, startBenchPicker } from '../../bench/servers/picker.ts';
import { fromStruct } from '../../ext-proc/struct.ts';

const PODS = 3;
const DESTINATION = 'x-gateway-destination-endpoint';

/** What a gateway acts on in the answers, with the picked endpoints left out (they differ by design). */
function shape(exchange: PickExchange) {
  const headers = exchange.headers.request_headers?.response;
  const metadata = fromStruct(exchange.headers.dynamic_metadata) as Record<string, Record<string, unknown>>;
  const streamed = exchange.body.request_body?.response?.body_mutation?.streamed_response;
  return {
    first: exchange.headers.response,
    headersSet: headers?.header_mutation?.set_headers?.map((h) => h.header.key),
    metadataKeys: Object.fromEntries(Object.entries(metadata).map(([ns, v]) => [ns, Object.keys(v)])),
    second: exchange.body.response,
    streamedBytes: streamed?.body?.length,
    streamedEnd: streamed?.end_of_stream,
  };
}

function destination(exchange: PickExchange): string | undefined {
  return exchange.headers.request_headers?.response?.header_mutation?.set_headers
    ?.find((h) => h.header.key === DESTINATION)
    ?.header.raw_value?.toString();
}

describe('endpoint picker benchmark servers', () => {
  let metrics: PodMetricsServers;
  let manifest: string;
  let picker: BenchPicker;
  let noop: NoopServer;
  let pickerClient: ExtProcClient;
  let noopClient: ExtProcClient;

  beforeAll(async () => {
    metrics = await startPodMetrics(PODS);
    manifest = writePoolManifests(PODS, metrics.port);
    picker = await startBenchPicker(manifest);
    noop = await startNoopPicker();
    pickerClient = createExtProcClient(picker.grpcPort);
    noopClient = createExtProcClient(noop.grpcPort);
  });

  afterAll(async () => {
    pickerClient?.close();
    noopClient?.close();
    await picker?.shutdown();
    await noop?.shutdown();
    await metrics?.close();
    if (manifest) rmSync(path.dirname(manifest), { recursive: true, force: true });
  });

  it('refreshes every pod from its /metrics on request, leaving none stale', async () => {
    const pods = await picker.handle({ type: 'picker-refresh' });
    expect(pods).toMatchObject({ type: 'picker-pods', pods: PODS, fresh: PODS });
  });

  it('gets a destination from the picker in the header and envoy.lb metadata, then the body streamed back', async () => {
    await picker.handle({ type: 'picker-refresh' });
    const exchange = await runPick(pickerClient, 1);
    expect(exchange.headers.response).toBe('request_headers');
    const picked = destination(exchange);
    expect(picked?.split(',')[0]).toMatch(/^127\.77\.1\.[123]:\d+$/);
    expect(fromStruct(exchange.headers.dynamic_metadata)['envoy.lb']).toEqual({ [DESTINATION]: picked });
    const streamed = exchange.body.request_body?.response?.body_mutation?.streamed_response;
    expect(Buffer.from(streamed!.body!).equals(pickerRequestBody(1))).toBe(true);
  });

  it('has the no-op answer the same message sequence shape as the real picker', async () => {
    await picker.handle({ type: 'picker-refresh' });
    const real = await runPick(pickerClient, 2);
    const baseline = await runPick(noopClient, 2);
    expect(shape(baseline)).toEqual(shape(real));
    expect(shape(baseline)).toMatchObject({
      first: 'request_headers',
      headersSet: [DESTINATION],
      metadataKeys: { 'envoy.lb': [DESTINATION], 'agent-router.picker': ['weights', 'endpoints'] },
      second: 'request_body',
      streamedBytes: pickerRequestBody(2).length,
      streamedEnd: true,
    });
    expect(destination(baseline)).toBe(NOOP_DESTINATION);
    // A primary and two fallbacks from each, so the gateway parses a list of the same length.
    expect(destination(real)?.split(',')).toHaveLength(3);
  });

  it('logs the next decision on request, scored with live queue and KV-cache metrics for every pod', async () => {
    await picker.handle({ type: 'picker-refresh' });
    await picker.handle({ type: 'picker-explain-next' });
    const exchange = await runPick(pickerClient, 3);
    const answer = await picker.handle({ type: 'picker-explained' });
    expect(answer.type).toBe('picker-explained');
    const record = answer.type === 'picker-explained' ? answer.record : undefined;
    expect(record?.outcome).toBe('picked');
    expect(record?.endpoints.join(',')).toBe(destination(exchange));
    const scores = Object.values(record!.scores);
    expect(scores).toHaveLength(PODS);
    expect(Math.max(...scores.map((s) => s.queue ?? 0))).toBeGreaterThan(0);
    expect(Math.max(...scores.map((s) => s['kv-cache-utilization'] ?? 0))).toBeGreaterThan(0);
    expect(Object.keys(record!.scores).every((name) => /^default\/vllm-[012]$/.test(name))).toBe(true);
  });
});
