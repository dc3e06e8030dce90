/**
 * What the MCP gateway costs per tools/call: the official SDK client calls the demo weather server's
 * `forecast` tool (sim/mcp-server.ts) directly, then through the MCP gateway (ext-proc/mcp/gateway.ts)
 * in front of the same server, each server in a process of its own (bench/servers/mcp-child.ts). The
 * figure is server-side CPU per call through the gateway (gateway + MCP server) over the MCP server's
 * CPU per direct call: 1.0 would be a free gateway. Rounds alternate, cheapest of each kept; the
 * client's own CPU is in neither. Beside it, the same figure for a transparent node:http proxy (no
 * authentication, session or parsing: bench/servers/mcp-child.ts `proxy`), the floor of any node:http
 * hop in this setup, so the gateway's own cost reads as the difference.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Benchmark, BenchOptions } from './benchmark.ts';
import { compiledEntry } from './compiled.ts';
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
    // --cpu-prof DIR: one folder per process. Compiled as shipped, not through tsx (bench/compiled.ts).
    const profile = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}/mcp-${args[0]}`] : [];
    this.process = fork(compiledEntry(CHILD), args, { execArgv: ['--expose-gc', ...profile] });
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
  const floor = new Child(['proxy', serverUrl], undefined);
  const [gatewayUrl, floorUrl] = await Promise.all([gateway.ready, floor.ready]);
  try {
    const direct = await connect(serverUrl);
    const proxied = await connect(gatewayUrl, BENCH_KEY);
    const relayed = await connect(floorUrl);
    // Warm-up: JIT, connection pools, every path.
    await calls(direct, 'forecast', 100);
    await calls(proxied, 'weather__forecast', 100);
    await calls(relayed, 'forecast', 100);
    /** Server + hop CPU per call through `hop`; the cheapest round kept. */
    const through = async (hop: Child, client: Client, name: string) => {
      const [s1, h1] = [await server.cpu(), await hop.cpu()];
      await calls(client, name, count);
      const [s2, h2] = [await server.cpu(), await hop.cpu()];
      return { total: (s2 - s1 + (h2 - h1)) / count, hop: (h2 - h1) / count };
    };
    let bestDirect = Number.POSITIVE_INFINITY;
    let bestProxied = { total: Number.POSITIVE_INFINITY, hop: 0 };
    let bestFloor = { total: Number.POSITIVE_INFINITY, hop: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const s0 = await server.cpu();
      await calls(direct, 'forecast', count);
      bestDirect = Math.min(bestDirect, ((await server.cpu()) - s0) / count);
      const viaGateway = await through(gateway, proxied, 'weather__forecast');
      if (viaGateway.total < bestProxied.total) bestProxied = viaGateway;
      const viaFloor = await through(floor, relayed, 'forecast');
      if (viaFloor.total < bestFloor.total) bestFloor = viaFloor;
    }
    await direct.close();
    await proxied.close();
    await relayed.close();
    const ratio = bestProxied.total / bestDirect;
    const floorRatio = bestFloor.total / bestDirect;
    console.error(
      `MCP tools/call: ${bestDirect.toFixed(0)} µs CPU direct, ${bestProxied.total.toFixed(0)} µs through the gateway ` +
        `(server + gateway, of which the gateway ${bestProxied.hop.toFixed(0)} µs) = ${ratio.toFixed(2)}x; ` +
        `a transparent node:http proxy ${bestFloor.hop.toFixed(0)} µs = ${floorRatio.toFixed(2)}x`,
    );
    const round2 = (v: number) => Math.round(v * 100) / 100;
    return [
      { name: 'mcp.tools-call.overhead-ratio', value: round2(ratio), unit: 'x-direct' },
      { name: 'mcp.tools-call.direct-cpu-us', value: round2(bestDirect), unit: 'us' },
      { name: 'mcp.tools-call.via-gateway-cpu-us', value: round2(bestProxied.total), unit: 'us' },
      { name: 'mcp.tools-call.gateway-share-cpu-us', value: round2(bestProxied.hop), unit: 'us' },
      { name: 'mcp.tools-call.proxy-floor-ratio', value: round2(floorRatio), unit: 'x-direct' },
      { name: 'mcp.tools-call.proxy-floor-cpu-us', value: round2(bestFloor.hop), unit: 'us' },
    ];
  } finally {
    server.stop();
    gateway.stop();
    floor.stop();
  }
}

export const mcpToolsCall: Benchmark = { name: 'MCP tools/call through the gateway', run };
