/**
 * Peak memory of ext-proc while one 10 MB chat request is translated for an Anthropic backend (both
 * filters, BUFFERED bodies): the rise of the server process's peak resident set (Linux VmHWM, reset just
 * before) over its resident set at that moment, divided by the body size; the worst of ROUNDS requests.
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

async function run(): Promise<BenchResult[]> {
  const body = bigRequestBody();
  const server = new ServerProcess('ext-proc', undefined, anthropicConfig());
  const client = createExtProcClient(await server.ready);
  try {
    const once = async (index: number) => {
      const router = new FilterStream(client, 'router');
      await requestPhase(router, routerHeadersFor(requestIdFor(index), body.length), body);
      const upstream = new FilterStream(client, 'upstream');
      const { requestBody } = await requestPhase(
        upstream,
        upstreamHeadersFor(requestIdFor(index), body.length, ANTHROPIC_ROUTE_ENTRY),
        body,
      );
      const sent = requestBody.request_body?.response?.body_mutation?.body;
      if (!sent?.toString('utf8', 0, 64).includes('"model":"claude'))
        throw new DriverError('ext-proc did not translate the 10 MB body');
      await Promise.all([upstream.close(), router.close()]);
    };
    await once(1); // warm-up: code paths compiled, pools sized
    // Peak memory depends on when the garbage collector runs: report the worst of a few requests.
    const ratios: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const { rssBytes } = await server.memory(true);
      await once(2 + round);
      const { peakRssBytes } = await server.memory(false);
      ratios.push((peakRssBytes - rssBytes) / body.length);
    }
    const ratio = Math.max(...ratios);
    console.error(
      `10 MB body: peak RSS rose ${ratios.map((r) => `${r.toFixed(2)}x`).join(', ')} the body; worst ${ratio.toFixed(2)}x ` +
        `(goal < ${PEAK_MEMORY_GOAL}x): ${ratio < PEAK_MEMORY_GOAL ? 'met' : 'NOT met'}`,
    );
    return [
      { name: 'ext-proc.body10mb.peak-mem-ratio', value: Math.round(ratio * 100) / 100, unit: 'x-body' },
    ];
  } finally {
    client.close();
    await server.stop();
  }
}

export const body10mb: Benchmark = { name: 'ext-proc 10 MB body peak memory', run };
