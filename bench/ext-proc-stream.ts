/**
 * ext-proc's CPU per streamed SSE chunk while it translates an Anthropic stream to the OpenAI format
 * (upstream-level filter) and reads usage from the result (router-level filter), against a pass-through
 * ExternalProcessor on the same gRPC stack that receives the same messages and forwards every chunk
 * unchanged. Same method as ext-proc-cpu.ts: separate processes, cheapest of alternating rounds.
 */

import {
  ANTHROPIC_ROUTE_ENTRY,
  anthropicConfig,
  anthropicStream,
  routerHeadersFor,
  streamRequestBody,
  upstreamHeadersFor,
} from './anthropic-workload.ts';
import type { Benchmark, BenchOptions } from './benchmark.ts';
import {
  createExtProcClient,
  DriverError,
  type ExtProcClient,
  FilterStream,
  headerMap,
  requestIdFor,
  requestPhase,
} from './ext-proc-driver.ts';
import type { BenchResult } from './report.ts';
import { ServerProcess } from './server-process.ts';

const DEFAULT_STREAMS = 60;
const CONCURRENCY = 8;
const ROUNDS = 9;
export const CHUNK_RATIO_GOAL = 1.5;

const upstreamResponseHeaders = headerMap([
  [':status', '200'],
  ['content-type', 'text/event-stream; charset=utf-8'],
  ['request-id', 'req_bench01'],
]);
const routerResponseHeaders = headerMap([
  [':status', '200'],
  ['content-type', 'text/event-stream'],
  ['x-agent-router-resolved-model', 'claude-sonnet-4-5'],
  ['x-agent-router-backend', 'default/claude'],
  ['x-agent-router-attempt', '1'],
]);

/** One streamed request through both filters in Envoy's order; returns what the client would receive. */
export async function runStreamExchange(
  client: ExtProcClient,
  requestId: string,
  chunks: readonly Buffer[],
): Promise<Buffer[]> {
  const router = new FilterStream(client, 'router');
  await requestPhase(router, routerHeadersFor(requestId, streamRequestBody.length), streamRequestBody);
  const upstream = new FilterStream(client, 'upstream');
  await requestPhase(
    upstream,
    upstreamHeadersFor(requestId, streamRequestBody.length, ANTHROPIC_ROUTE_ENTRY),
    streamRequestBody,
  );
  const up = await upstream.send(
    { response_headers: { headers: upstreamResponseHeaders, end_of_stream: false } },
    'response_headers',
  );
  if (up.mode_override?.response_body_mode !== 'STREAMED')
    throw new DriverError('upstream filter did not ask for the streamed body');
  const translated: Buffer[] = [];
  for (let i = 0; i < chunks.length; i++) {
    const answer = await upstream.send(
      { response_body: { body: chunks[i]!, end_of_stream: i === chunks.length - 1 } },
      'response_body',
    );
    const mutation = answer.response_body?.response?.body_mutation;
    translated.push(mutation?.body ?? (mutation?.clear_body ? Buffer.alloc(0) : chunks[i]!));
  }
  const upstreamClosed = upstream.close();
  const rh = await router.send(
    { response_headers: { headers: routerResponseHeaders, end_of_stream: false } },
    'response_headers',
  );
  if (rh.mode_override?.response_body_mode !== 'STREAMED')
    throw new DriverError('router filter did not ask for the streamed body');
  for (let i = 0; i < translated.length; i++) {
    await router.send(
      { response_body: { body: translated[i]!, end_of_stream: i === translated.length - 1 } },
      'response_body',
    );
  }
  await Promise.all([upstreamClosed, router.close()]);
  return translated;
}

async function drive(
  client: ExtProcClient,
  streams: number,
  chunks: readonly Buffer[],
  firstIndex: number,
): Promise<void> {
  let next = firstIndex;
  const end = firstIndex + streams;
  const worker = async () => {
    while (next < end) await runStreamExchange(client, requestIdFor(next++), chunks);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, streams) }, worker));
}

async function run(options: BenchOptions): Promise<BenchResult[]> {
  const streams =
    options.requests === undefined ? DEFAULT_STREAMS : Math.max(10, Math.round(options.requests / 25));
  const chunks = anthropicStream(100);
  const servers = [
    new ServerProcess('ext-proc', options.cpuProfDir, anthropicConfig()),
    new ServerProcess('passthrough', options.cpuProfDir),
  ];
  const clients: ExtProcClient[] = [];
  try {
    for (const port of await Promise.all(servers.map((s) => s.ready)))
      clients.push(createExtProcClient(port));
    // Refuse to measure unless ext-proc really translates: its output must be OpenAI chunks ending in [DONE].
    const output = Buffer.concat(await runStreamExchange(clients[0]!, requestIdFor(0), chunks)).toString();
    if (!output.includes('"object":"chat.completion.chunk"') || !output.trimEnd().endsWith('data: [DONE]')) {
      throw new DriverError('ext-proc did not translate the Anthropic stream to OpenAI chunks');
    }
    let index = 1;
    for (const client of clients) {
      await drive(client, 10, chunks, index);
      index += 10;
    }
    const cpu: number[][] = [[], []];
    for (let r = 0; r < ROUNDS; r++) {
      for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
        const before = await servers[i]!.cpuMicros(true);
        await drive(clients[i]!, streams, chunks, index);
        index += streams;
        cpu[i]!.push(((await servers[i]!.cpuMicros(false)) - before) / (streams * chunks.length));
      }
    }
    const [ours, passthrough] = cpu.map((rounds) => Math.min(...rounds)) as [number, number];
    const ratio = ours / passthrough;
    console.error(
      `streaming: ext-proc ${ours.toFixed(1)} µs per chunk vs pass-through ${passthrough.toFixed(1)} µs: ` +
        `${ratio.toFixed(2)}x (goal ≤ ${CHUNK_RATIO_GOAL}x): ${ratio <= CHUNK_RATIO_GOAL ? 'met' : 'NOT met'}`,
    );
    const round2 = (n: number) => Math.round(n * 100) / 100;
    return [
      { name: 'ext-proc.stream.chunk-us', value: round2(ours), unit: 'us' },
      { name: 'passthrough.stream.chunk-us', value: round2(passthrough), unit: 'us' },
      { name: 'ext-proc.stream.chunk-ratio', value: round2(ratio), unit: 'x-passthrough' },
    ];
  } finally {
    for (const client of clients) client.close();
    await Promise.all(servers.map((s) => s.stop()));
  }
}

export const extProcStream: Benchmark = { name: 'ext-proc streaming (Anthropic → OpenAI)', run };
