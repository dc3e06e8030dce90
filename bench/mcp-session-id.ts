/**
 * What reading an MCP session id costs on every MCP request after `initialize`: base64url decoding,
 * AES-256-GCM decryption with its tag check, and the JSON parse of a two-server payload
 * (ext-proc/mcp/session-id.ts). The key was derived once when the codec was built, so no key
 * derivation is in the figure. In-process: CPU time via process.cpuUsage, cheapest of several rounds.
 */
import { createHash } from 'node:crypto';
import { type GatewaySession, SessionIdCodec } from '../ext-proc/mcp/session-id.ts';
import type { Benchmark } from './benchmark.ts';
import type { BenchResult } from './report.ts';

const ROUNDS = 7;
const ITERATIONS = 20_000;

const SESSION: GatewaySession = {
  protocolVersion: '2025-11-25',
  issuedAt: 1_764_000_000,
  upstreams: [
    {
      server: 'weather',
      sessionId: '3f1d7c0e-4b7a-4bd5-9b1e-6a4a0c8d2e11',
      protocolVersion: '2025-11-25',
      capabilities: { tools: { listChanged: true }, logging: {} },
    },
    {
      server: 'notes',
      sessionId: '9a0b3d58-1c6e-4f0e-8f77-0d3e2b5a4c90',
      protocolVersion: '2025-11-25',
      capabilities: { tools: { listChanged: true }, prompts: {}, resources: { subscribe: true } },
    },
  ],
};

async function run(): Promise<BenchResult[]> {
  const codec = new SessionIdCodec({ version: 1, secret: 'bench-secret-bench-secret-bench-secret' });
  const binding = {
    routeConfigId: 'default/tools',
    keyHash: createHash('sha256').update('sk-bench').digest(),
  };
  const id = codec.encode(SESSION, binding);
  let ok = 0;
  const measure = (iterations: number) => {
    const before = process.cpuUsage();
    for (let i = 0; i < iterations; i++) if (codec.decode(id, binding).ok) ok++;
    const used = process.cpuUsage(before);
    return (used.user + used.system) / iterations;
  };
  measure(2_000);
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < ROUNDS; r++) best = Math.min(best, measure(ITERATIONS));
  if (ok !== 2_000 + ROUNDS * ITERATIONS) throw new Error('session id failed to decode in the benchmark');
  console.error(`MCP session id (${id.length} chars, 2 servers): decode ${best.toFixed(2)} µs CPU`);
  return [{ name: 'mcp.session-id.decode-us', value: Math.round(best * 100) / 100, unit: 'us' }];
}

export const mcpSessionId: Benchmark = { name: 'MCP session id decoding', run };
