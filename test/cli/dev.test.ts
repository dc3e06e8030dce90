/**
 * `agent-router dev` started on its own, as a child process in front of an ext-proc on loopback: it
 * enforces the request body limit itself (`--max-body`, default 16 MiB, ext-proc's default) and answers
 * a larger body 413 request_too_large without forwarding it, whatever limit the ext-proc behind it has.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadSnapshot } from '../../config/file-source.ts';
import { type ExtProcServer, startExtProc } from '../../ext-proc/server.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';
import { type ModelServer, startModelServer } from '../../sim/model-server.ts';
import { capturingLogger, eventually } from '../helpers/log-capture.ts';
import { backendYaml, COMMON_YAML } from '../helpers/stack.ts';

let sim: ModelServer;
let extProc: ExtProcServer;
let config: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  sim = await startModelServer({ name: 'a', apiKey: 'provider-secret' });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-router-dev-'));
  config = path.join(dir, 'config.yaml');
  writeFileSync(
    config,
    [
      COMMON_YAML,
      backendYaml('a', sim.url),
      `
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  routes:
    - { name: chat, model: chat-model, backendRef: { name: a }, modelNameOverride: provider-model }
`,
    ].join(''),
  );
  // An ext-proc that would take far larger bodies: whatever is refused here, the dev gateway refused.
  extProc = await startExtProc({
    snapshot: loadSnapshot(config, { supportedProviders }),
    logger: capturingLogger().logger,
    grpcAddress: '127.0.0.1:0',
    maxRequestBodyBytes: 64 * 1024 * 1024,
  });
});

afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

afterAll(async () => {
  await extProc?.shutdown(1000);
  await sim?.close();
});

/** Starts `agent-router dev` on a free port; resolves with its URL once it listens. */
async function dev(args: string[]): Promise<string> {
  const child = spawn(
    process.execPath,
    [
      'bin/agent-router.mjs',
      'dev',
      '--config',
      config,
      '--port',
      '0',
      '--ext-proc',
      `127.0.0.1:${extProc.grpcPort}`,
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  let exit: number | null | undefined;
  child.on('exit', (code) => (exit = code));
  const port = await eventually(() => {
    if (exit !== undefined) throw new Error(`dev exited ${exit}:\n${output}`);
    return /"event":"dev_gateway_listening","port":(\d+)/.exec(output)?.[1];
  }, 20_000);
  return `http://127.0.0.1:${port}`;
}

function body(bytes: number): Buffer {
  const frame = (content: string) =>
    JSON.stringify({ model: 'chat-model', max_tokens: 2, messages: [{ role: 'user', content }] });
  return Buffer.from(frame('x'.repeat(bytes - frame('').length)));
}

async function post(url: string, payload: Buffer) {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test-team-a' },
    body: payload,
  });
  return { status: response.status, body: (await response.json()) as { error?: { code?: string } } };
}

describe('agent-router dev --max-body', () => {
  it('serves a body at the limit and answers one byte more with 413 before forwarding', async () => {
    const url = await dev(['--max-body', '4096']);
    expect((await post(url, body(4096))).status).toBe(200);
    const served = sim.stats().requestsServed;
    const over = await post(url, body(4097));
    expect(over.status).toBe(413);
    expect(over.body.error?.code).toBe('request_too_large');
    expect(sim.stats().requestsServed).toBe(served);
  });

  it('defaults to 16 MiB, ext-proc’s default limit', async () => {
    const url = await dev([]);
    const served = sim.stats().requestsServed;
    const over = await post(url, body(16 * 1024 * 1024 + 1));
    expect(over.status).toBe(413);
    expect(over.body.error?.code).toBe('request_too_large');
    expect(sim.stats().requestsServed).toBe(served);
  });

  it('refuses a --max-body that is not a byte count', async () => {
    const child = spawn(
      process.execPath,
      ['bin/agent-router.mjs', 'dev', '--config', config, '--max-body', '1e3x'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(child);
    let output = '';
    child.stderr!.on('data', (d) => (output += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(output).toContain('--max-body 1e3x');
  });
});
