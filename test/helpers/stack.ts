/**
 * Starts the real local stack (ext-proc + dev gateway over loopback gRPC) on ephemeral ports from a YAML
 * written to a temp file, with simulated backends started here on ephemeral ports.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { expect } from 'vitest';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../cli/local-stack.ts';
import { type ModelServer, type ModelServerOptions, startModelServer } from '../../sim/model-server.ts';
import { capturingLogger, eventually } from './log-capture.ts';

export interface TestStack {
  stack: LocalStack;
  sims: Record<string, ModelServer>;
  configPath: string;
  lines: string[];
  requestLogs(): Record<string, unknown>[];
  /** The request log line of the request this response answers (by x-request-id), once written. */
  logFor(response: Response): Promise<Record<string, unknown>>;
  client(apiKey?: string): OpenAI;
  close(): Promise<void>;
}

/** A loopback port with nothing listening: connections to it are refused. */
export async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export async function startTestStack(
  simSpecs: Record<string, ModelServerOptions>,
  yaml: (urls: Record<string, string>) => string,
  options: Partial<
    Pick<LocalStackOptions, 'maxRequestBodyBytes' | 'adminPort' | 'filters' | 'store' | 'writer' | 'console'>
  > = {},
): Promise<TestStack> {
  const sims: Record<string, ModelServer> = {};
  for (const [name, spec] of Object.entries(simSpecs)) sims[name] = await startModelServer({ name, ...spec });
  const urls = Object.fromEntries(Object.entries(sims).map(([n, s]) => [n, s.url]));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-router-test-'));
  const configPath = path.join(dir, 'config.yaml');
  writeFileSync(configPath, yaml(urls));
  const { logger, lines } = capturingLogger();
  const stack = await startLocalStack({
    configPath,
    logger,
    gatewayPort: 0,
    grpcPort: 0,
    ...options,
  });
  const requestLogs = () =>
    lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.event === 'request');
  return {
    stack,
    sims,
    configPath,
    lines,
    requestLogs,
    logFor(response) {
      const id = response.headers.get('x-request-id');
      return eventually(() => requestLogs().find((r) => r.requestId === id));
    },
    client: (apiKey = 'sk-test-team-a') =>
      new OpenAI({ baseURL: `${stack.gatewayUrl}/v1`, apiKey, maxRetries: 0 }),
    async close() {
      await stack.close();
      await Promise.all(Object.values(sims).map((s) => s.close()));
    },
  };
}

/** Secrets and keys shared by the test configurations. */
export const COMMON_YAML = `
apiVersion: v1
kind: Secret
metadata: { name: keys }
stringData:
  team-a: sk-test-team-a
  team-b: sk-test-team-b
  retired: sk-test-retired
  provider: provider-secret
---
apiVersion: agentrouter.dev/v1alpha1
kind: APIKey
metadata: { name: team-a }
spec:
  secretRef: { name: keys, key: team-a }
  routeConfigRef: { name: main }
  attributes: { tenant: team-a, residency: eu }
---
apiVersion: agentrouter.dev/v1alpha1
kind: APIKey
metadata: { name: retired }
spec:
  secretRef: { name: keys, key: retired }
  routeConfigRef: { name: main }
  disabled: true
`;

export function backendYaml(name: string, url: string, withKey = true): string {
  return `
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: ${name} }
spec:
  provider: OpenAICompatible
  baseURL: ${url}/v1
${withKey ? '  credentials: { secretRef: { name: keys, key: provider } }' : ''}
`;
}

/** What a request log line's `attempts` holds for a request that made `n` attempts, in order. */
export function attemptsOf(n: number): unknown[] {
  return Array.from({ length: n }, () =>
    expect.objectContaining({ backend: expect.any(String), status: expect.any(Number) }),
  );
}
