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
import { DriverError, type ExtProcClient, FilterStream, headerMap, requestPhase } from './ext-proc-driver.ts';
import type { BenchResult } from './report.ts';
import { CHUNK_RATIO_GOAL, measureStreamCpu } from './stream-rounds.ts';

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

async function run(options: BenchOptions): Promise<BenchResult[]> {
  const { ours, passthrough, ratio } = await measureStreamCpu(options, {
    config: anthropicConfig(),
    chunks: anthropicStream(100),
    exchange: runStreamExchange,
    // ext-proc must really translate: its output must be OpenAI chunks ending in [DONE].
    check(output) {
      if (!output.includes('"object":"chat.completion.chunk"') || !output.trimEnd().endsWith('data: [DONE]'))
        throw new DriverError('ext-proc did not translate the Anthropic stream to OpenAI chunks');
    },
  });
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
}

export const extProcStream: Benchmark = { name: 'ext-proc streaming (Anthropic → OpenAI)', run };
