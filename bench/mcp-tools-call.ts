/**
 * What the MCP gateway costs per tools/call: the official SDK client calls the demo weather server's
 * `forecast` tool (sim/mcp-server.ts) directly, then through the MCP gateway (ext-proc/mcp/gateway.ts)
 * in front of the same server, each server in a process of its own (bench/servers/mcp-child.ts). The
 * figure is server-side CPU per call through the gateway (gateway + MCP server) over the MCP server's
 * CPU per direct call: 1.0 would be a free gateway. Rounds alternate, cheapest of each kept; the
 * client's own CPU is in neither.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Benchmark, BenchOptions } from './benchmark.ts';
import type { BenchResult } from './report.ts';
import { BENCH_KEY } from './servers/mcp-bench-key.ts';

const CHILD = fileURLToPath(new URL('./servers/mcp-child.ts', import.meta.url));
const ROUNDS = 5;
const DEFAULT_CALLS = 400;
const IN_FLIGHT = 4;

class Child {
  readonly process: ChildProcess;
  readonly ready: Promise<string>;
  #waiting: ((micros: number) => void)[] = [];

  constructor(args: string[], cpuProfDir: string | undefined) {
    // --cpu-prof DIR: one folder per process (tsx's loader thread writes a profile too).
    const profile = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}/mcp-${args[0]}`] : [];
    this.process = fork(CHILD, args, {
      execArgv: ['--import', import.meta.resolve('tsx'), '--expose-gc', ...profile],
    });
    this.ready = new Promise((resolve, reject) => {
      this.process.once('exit', (code) => reject(new Error(`MCP bench child exited (${code})`)));
      this.process.on('message', (m: { type: string; url?: string; micros?: number; message?: string }) => {
        if (m.type === 'ready') resolve(m.url!);
        else if (m.type === 'failed') reject(new Error(m.message));
        else if (m.type === 'cpu') this.#waiting.shift()?.(m.micros!);
      });
    });
  }

  cpu(): Promise<number> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.process.send({ type: 'cpu' });
    });
  }

  stop(): void {
    this.process.send({ type: 'stop' });
  }
}

async function connect(url: string, key?: string): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1.0.0' });
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

async function calls(client: Client, name: string, count: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < count) {
        next++;
        const result = await client.callTool({ name, arguments: { city: 'Oslo' } });
        if (result.isError) throw new Error(`${name} failed`);
      }
    }),
  );
}

async function run(options: BenchOptions): Promise<BenchResult[]> {
  const count = options.requests ?? DEFAULT_CALLS;
  const server = new Child(['server'], options.cpuProfDir);
  const serverUrl = await server.ready;
  const gateway = new Child(['gateway', serverUrl], options.cpuProfDir);
  const gatewayUrl = await gateway.ready;
  try {
    const direct = await connect(serverUrl);
    const proxied = await connect(gatewayUrl, BENCH_KEY);
    // Warm-up: JIT, connection pools, both paths.
    await calls(direct, 'forecast', 100);
    await calls(proxied, 'weather__forecast', 100);
    let bestDirect = Number.POSITIVE_INFINITY;
    let bestProxied = Number.POSITIVE_INFINITY;
    let gatewayShare = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const s0 = await server.cpu();
      await calls(direct, 'forecast', count);
      bestDirect = Math.min(bestDirect, ((await server.cpu()) - s0) / count);
      const [s1, g1] = [await server.cpu(), await gateway.cpu()];
      await calls(proxied, 'weather__forecast', count);
      const [s2, g2] = [await server.cpu(), await gateway.cpu()];
      const viaGateway = (s2 - s1 + (g2 - g1)) / count;
      if (viaGateway < bestProxied) {
        bestProxied = viaGateway;
        gatewayShare = (g2 - g1) / count;
      }
    }
    await direct.close();
    await proxied.close();
    const ratio = bestProxied / bestDirect;
    console.error(
      `MCP tools/call: ${bestDirect.toFixed(0)} µs CPU direct, ${bestProxied.toFixed(0)} µs through the gateway ` +
        `(server + gateway, of which the gateway ${gatewayShare.toFixed(0)} µs) = ${ratio.toFixed(2)}x`,
    );
    const round2 = (v: number) => Math.round(v * 100) / 100;
    return [
      { name: 'mcp.tools-call.overhead-ratio', value: round2(ratio), unit: 'x-direct' },
      { name: 'mcp.tools-call.direct-cpu-us', value: round2(bestDirect), unit: 'us' },
      { name: 'mcp.tools-call.via-gateway-cpu-us', value: round2(bestProxied), unit: 'us' },
      { name: 'mcp.tools-call.gateway-share-cpu-us', value: round2(gatewayShare), unit: 'us' },
    ];
  } finally {
    server.stop();
    gateway.stop();
  }
}

export const mcpToolsCall: Benchmark = { name: 'MCP tools/call through the gateway', run };
