/**
 * Peak memory of ext-proc while one 10 MB chat request is translated for an Anthropic backend (both
 * filters, BUFFERED bodies): the rise of the server process's peak resident set (Linux VmHWM, reset just
 * before) over its resident set at that moment, divided by the body size; the worst of ROUNDS requests,
 * each in a fresh process (peakRise).
 * Goal: under 5×.
 */

import {
  ANTHROPIC_ROUTE_ENTRY,
  anthropicConfig,
  bigRequestBody,
  routerHeadersFor,
  upstreamHeadersFor,
} from './anthropic-workload.ts';
import type { Benchmark } from './benchmark.ts';
import {
  createExtProcClient,
  DriverError,
  FilterStream,
  requestIdFor,
  requestPhase,
} from './ext-proc-driver.ts';
import type { BenchResult } from './report.ts';
import { ServerProcess } from './server-process.ts';

export const PEAK_MEMORY_GOAL = 5;
const ROUNDS = 5;

/** Large enough for the stand-in parser and the headroom framing (≥ 256 KiB), small beside 10 MB. */
const WARM_UP_BYTES = 512 * 1024;

/**
 * One reading, in a fresh server process: warmed up with a smaller body through the same paths, then
 * one 10 MB request. A process that has already handled a 10 MB body keeps most of that memory resident
 * and serves the next from it, which read as a rise of 0–1× in one run of five rounds in one process.
 */
async function peakRise(body: Buffer, warmUp: Buffer): Promise<number> {
  const server = new ServerProcess('ext-proc', undefined, anthropicConfig());
  const client = createExtProcClient(await server.ready);
  try {
    const once = async (index: number, sent: Buffer) => {
      const router = new FilterStream(client, 'router');
      await requestPhase(router, routerHeadersFor(requestIdFor(index), sent.length), sent);
      const upstream = new FilterStream(client, 'upstream');
      const { requestBody } = await requestPhase(
        upstream,
        upstreamHeadersFor(requestIdFor(index), sent.length, ANTHROPIC_ROUTE_ENTRY),
        sent,
      );
      const translated = requestBody.request_body?.response?.body_mutation?.body;
      if (!translated?.toString('utf8', 0, 64).includes('"model":"claude'))
        throw new DriverError('ext-proc did not translate the body');
      await Promise.all([upstream.close(), router.close()]);
    };
    await once(1, warmUp);
    await once(2, warmUp);
    const { rssBytes } = await server.memory(true);
    await once(3, body);
    const { peakRssBytes } = await server.memory(false);
    return (peakRssBytes - rssBytes) / body.length;
  } finally {
    client.close();
    await server.stop();
  }
}

async function run(): Promise<BenchResult[]> {
  const body = bigRequestBody();
  const warmUp = bigRequestBody(WARM_UP_BYTES);
  // Peak memory depends on when the garbage collector runs: report the worst of a few requests.
  const ratios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) ratios.push(await peakRise(body, warmUp));
  const ratio = Math.max(...ratios);
  console.error(
    `10 MB body: peak RSS rose ${ratios.map((r) => `${r.toFixed(2)}x`).join(', ')} the body, each in a fresh process; worst ${ratio.toFixed(2)}x ` +
      `(goal < ${PEAK_MEMORY_GOAL}x): ${ratio < PEAK_MEMORY_GOAL ? 'met' : 'NOT met'}`,
  );
  return [{ name: 'ext-proc.body10mb.peak-mem-ratio', value: Math.round(ratio * 100) / 100, unit: 'x-body' }];
}

export const body10mb: Benchmark = { name: 'ext-proc 10 MB body peak memory', run };
