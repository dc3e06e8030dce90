/**
 * The measurement both streaming benchmarks share (ext-proc-stream.ts, messages-stream.ts): ext-proc on
 * a given configuration and the pass-through ExternalProcessor, each in its own process, driven with the
 * same streamed exchange at a fixed concurrency; after a warm-up, alternating rounds, and the cheapest
 * round's CPU per chunk of each. Nothing is measured unless ext-proc's output passes `check`.
 */
import type { BenchOptions } from './benchmark.ts';
import { createExtProcClient, type ExtProcClient, requestIdFor } from './ext-proc-driver.ts';
import { ServerProcess } from './server-process.ts';

const DEFAULT_STREAMS = 60;
const CONCURRENCY = 8;
const ROUNDS = 9;
/** The goal of both: ext-proc at most this many times the pass-through's CPU per chunk. */
export const CHUNK_RATIO_GOAL = 1.5;

/** One streamed request through both filters in Envoy's order; returns what the client would receive. */
export type StreamExchange = (
  client: ExtProcClient,
  requestId: string,
  chunks: readonly Buffer[],
) => Promise<Buffer[]>;

export interface StreamWorkload {
  /** ext-proc's manifest file. */
  config: string;
  chunks: readonly Buffer[];
  exchange: StreamExchange;
  /** Throws unless ext-proc's output (for one exchange) shows it really translated. */
  check(output: string): void;
}

export interface StreamCpu {
  /** µs of CPU per chunk, cheapest round. */
  ours: number;
  passthrough: number;
  ratio: number;
}

async function drive(
  client: ExtProcClient,
  workload: StreamWorkload,
  streams: number,
  firstIndex: number,
): Promise<void> {
  let next = firstIndex;
  const end = firstIndex + streams;
  const worker = async () => {
    while (next < end) await workload.exchange(client, requestIdFor(next++), workload.chunks);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, streams) }, worker));
}

export async function measureStreamCpu(options: BenchOptions, workload: StreamWorkload): Promise<StreamCpu> {
  const streams =
    options.requests === undefined ? DEFAULT_STREAMS : Math.max(10, Math.round(options.requests / 25));
  const servers = [
    new ServerProcess('ext-proc', options.cpuProfDir, workload.config),
    new ServerProcess('passthrough', options.cpuProfDir),
  ];
  const clients: ExtProcClient[] = [];
  try {
    for (const port of await Promise.all(servers.map((s) => s.ready)))
      clients.push(createExtProcClient(port));
    const output = await workload.exchange(clients[0]!, requestIdFor(0), workload.chunks);
    workload.check(Buffer.concat(output).toString());
    let index = 1;
    for (const client of clients) {
      await drive(client, workload, 10, index);
      index += 10;
    }
    const cpu: number[][] = [[], []];
    for (let r = 0; r < ROUNDS; r++) {
      for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
        const before = await servers[i]!.cpuMicros(true);
        await drive(clients[i]!, workload, streams, index);
        index += streams;
        cpu[i]!.push(((await servers[i]!.cpuMicros(false)) - before) / (streams * workload.chunks.length));
      }
    }
    const [ours, passthrough] = cpu.map((rounds) => Math.min(...rounds)) as [number, number];
    return { ours, passthrough, ratio: ours / passthrough };
  } finally {
    for (const client of clients) client.close();
    await Promise.all(servers.map((s) => s.stop()));
  }
}
