import os from 'node:os';
import type { Benchmark, BenchOptions } from './benchmark.ts';
import {
  createExtProcClient,
  DriverError,
  driveChat,
  type ExtProcClient,
  requestIdFor,
  runChatExchange,
} from './ext-proc-driver.ts';
import type { BenchResult } from './report.ts';
import { ServerProcess } from './server-process.ts';

/**
 * Requests per measured round: enough to span several of ext-proc's GC cycles (a mark-compact about
 * every 4,000 chat requests, --trace-gc), so a round is not cheap only because no major GC fell in it.
 */
const DEFAULT_REQUESTS = 5_000;
const CONCURRENCY = 16;
const ROUNDS = 7;
/**
 * Requests each server serves before the first round. V8 tiers a function called once per request up
 * to TurboFan only after a few thousand calls, and a deoptimised one takes as many again: with 3000
 * requests per round, ext-proc's router phases still compiled in its fourth round (--trace-opt).
 * Production serves millions of requests; the figure is the cost after that transient.
 */
const WARMUP_REQUESTS = 12_000;
/**
 * Requests served, unmeasured, straight before each measured round of the same server. Rounds rotate
 * over the servers (so machine drift spreads over all of them), and a server that waited seconds while
 * the others ran starts its round with cold caches and a heap shrunk while idle; a gateway under load
 * does not idle, so each round measures a server that is already busy.
 */
const PREHEAT_REQUESTS = 1_000;
/** The goal: ext-proc may cost at most this many times the grpc-js no-op server's CPU per request. */
export const CPU_RATIO_GOAL = 1.0;
/** …and at most this many times the bare node:http2 no-op's (bench/servers/noop-http2.ts). */
export const CPU_RATIO_HTTP2_GOAL = 2.0;

/** A server in its own process, with the IPC the measurement needs. */

interface Round {
  cpuUsPerRequest: number;
  requestsPerSecond: number;
}

async function measure(
  server: ServerProcess,
  client: ExtProcClient,
  requests: number,
  firstIndex: number,
): Promise<Round> {
  // No forced GC before a round: a gateway under load never has one, and one made every server pay
  // to grow its heap again (40 to 65 µs a request more, the grpc-js no-op most), which put every
  // ratio nearer 1 than the servers' cost under load is (0.97 with it, 1.05 to 1.15 without).
  await driveChat(client, { requests: PREHEAT_REQUESTS, concurrency: CONCURRENCY, firstIndex });
  const before = await server.cpuMicros(false);
  const { elapsedMs } = await driveChat(client, {
    requests,
    concurrency: CONCURRENCY,
    firstIndex: firstIndex + PREHEAT_REQUESTS,
  });
  const after = await server.cpuMicros(false);
  return { cpuUsPerRequest: (after - before) / requests, requestsPerSecond: requests / (elapsedMs / 1000) };
}

/** Refuses to measure ext-proc unless it routes, translates and reads usage, i.e. does its real work. */
async function checkRealWork(client: ExtProcClient): Promise<void> {
  const { router, upstream } = await runChatExchange(client, requestIdFor(0));
  const route = router.requestBody.request_body?.response?.header_mutation?.set_headers?.find(
    (h) => h.header.key === 'x-agent-router-route',
  );
  if (!route) throw new DriverError('ext-proc did not route the request (no x-agent-router-route)');
  if (upstream.requestBody.request_body?.response?.body_mutation?.body === undefined)
    throw new DriverError('ext-proc did not translate the request body');
  if (!router.responseBody?.dynamic_metadata) throw new DriverError('ext-proc did not read the usage');
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function run(options: BenchOptions): Promise<BenchResult[]> {
  const requests = options.requests ?? DEFAULT_REQUESTS;
  const warmup = Math.max(WARMUP_REQUESTS, requests);
  const servers = [
    new ServerProcess('ext-proc', options.cpuProfDir),
    new ServerProcess('noop', options.cpuProfDir),
    new ServerProcess('noop-http2', options.cpuProfDir),
    new ServerProcess('noop-lean', options.cpuProfDir),
  ];
  const clients: ExtProcClient[] = [];
  const [load] = os.loadavg();
  if (load! > os.availableParallelism() - 1) {
    console.error(
      `load average ${load!.toFixed(1)} on ${os.availableParallelism()} CPUs: expect noisy figures`,
    );
  }
  try {
    const ports = await Promise.all(servers.map((s) => s.ready));
    for (const port of ports) clients.push(createExtProcClient(port));
    await checkRealWork(clients[0]!);
    let index = 1;
    for (const client of clients) {
      await driveChat(client, { requests: warmup, concurrency: CONCURRENCY, firstIndex: index });
      index += warmup;
    }
    const rounds: Round[][] = servers.map(() => []);
    for (let r = 0; r < ROUNDS; r++) {
      // Rotated, so no server always runs right after another's garbage or a warm cache.
      const order = servers.map((_, i) => (i + r) % servers.length);
      for (const i of order) {
        const round = await measure(servers[i]!, clients[i]!, requests, index);
        index += PREHEAT_REQUESTS + requests;
        rounds[i]!.push(round);
        console.error(
          `round ${r + 1}/${ROUNDS} ${servers[i]!.kind}: ${round.cpuUsPerRequest.toFixed(1)} µs CPU/request, ` +
            `${Math.round(round.requestsPerSecond)} requests/s`,
        );
      }
    }
    const [extProc, noop, http2, lean] = rounds.map((list) => {
      const cpu = list.map((x) => x.cpuUsPerRequest);
      return {
        cpu: Math.min(...cpu),
        min: Math.min(...cpu),
        max: Math.max(...cpu),
        rps: median(list.map((x) => x.requestsPerSecond)),
      };
    });
    const ratio = extProc!.cpu / noop!.cpu;
    const ratioHttp2 = extProc!.cpu / http2!.cpu;
    const verdict = (value: number, goal: number) =>
      `${value.toFixed(2)}x (goal ≤ ${goal}x: ${value <= goal ? 'met' : 'NOT met'})`;
    console.error(
      `ext-proc costs ${verdict(ratio, CPU_RATIO_GOAL)} the grpc-js no-op's CPU per request and ` +
        `${verdict(ratioHttp2, CPU_RATIO_HTTP2_GOAL)} the bare node:http2 no-op's; rounds ranged ` +
        `${extProc!.min.toFixed(0)}–${extProc!.max.toFixed(0)} µs (ext-proc), ` +
        `${noop!.min.toFixed(0)}–${noop!.max.toFixed(0)} µs (grpc-js no-op), ` +
        `${http2!.min.toFixed(0)}–${http2!.max.toFixed(0)} µs (http2 no-op), ` +
        `${lean!.min.toFixed(0)}–${lean!.max.toFixed(0)} µs (no-op on our transport)`,
    );
    return [
      { name: 'noop-grpcjs.chat.cpu-us', value: round2(noop!.cpu), unit: 'us' },
      { name: 'noop-http2.chat.cpu-us', value: round2(http2!.cpu), unit: 'us' },
      // The same no-op on ext-proc's own transport and codec: what they cost above bare node:http2.
      { name: 'noop-lean.chat.cpu-us', value: round2(lean!.cpu), unit: 'us' },
      { name: 'ext-proc.chat.cpu-us', value: round2(extProc!.cpu), unit: 'us' },
      { name: 'ext-proc.chat.cpu-ratio', value: round2(ratio), unit: 'x-noop' },
      { name: 'ext-proc.chat.cpu-ratio-http2', value: round2(ratioHttp2), unit: 'x-noop-http2' },
      { name: 'ext-proc.chat.requests-per-s', value: Math.round(extProc!.rps), unit: 'req/s' },
      { name: 'noop-grpcjs.chat.requests-per-s', value: Math.round(noop!.rps), unit: 'req/s' },
      { name: 'noop-http2.chat.requests-per-s', value: Math.round(http2!.rps), unit: 'req/s' },
    ];
  } finally {
    for (const client of clients) client.close();
    await Promise.all(
      servers.map((s) =>
        Promise.race([s.stop(), new Promise<void>((resolve) => setTimeout(resolve, 5000).unref())]).finally(
          () => s.kill(),
        ),
      ),
    );
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

export const extProcCpu: Benchmark = { name: 'ext-proc CPU per chat request', run };
