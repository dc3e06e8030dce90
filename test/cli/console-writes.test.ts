/**
 * `agent-router console` as a child process, file mode: edits go through the --config file, and
 * --read-only refuses them. Uses its own loopback address so it never meets the other suites' ports.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/log-capture.ts';
import { refusedPort } from '../helpers/stack.ts';

const HOST = '127.0.0.98';
const TOKEN = 'cli-write-token-5a1c';
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

async function startConsole(extra: string[]) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-router-console-writes-cli-'));
  const config = path.join(dir, 'local.yaml');
  writeFileSync(config, readFileSync('examples/local.yaml', 'utf8'));
  const port = await refusedPort();
  const url = `http://${HOST}:${port}`;
  const child = spawn(
    process.execPath,
    [
      'bin/agent-router.mjs',
      'console',
      '--config',
      config,
      '--host',
      HOST,
      '--port',
      String(port),
      '--data-dir',
      path.join(dir, 'data'),
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AGENT_ROUTER_CONSOLE_TOKEN: TOKEN } },
  );
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  await eventually(async () => {
    if (child.exitCode !== null) throw new Error(`console exited ${child.exitCode}:\n${output}`);
    try {
      return (await fetch(`${url}/healthz`)).status === 200 || undefined;
    } catch {
      return undefined;
    }
  }, 20_000);
  const api = async (p: string, method = 'GET', body?: unknown) => {
    const response = await fetch(`${url}/api/v1${p}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    // biome-ignore lint/suspicious/noExplicitAny: the test reads fields of the JSON answers it asserts on
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  return { config, api, output: () => output };
}

describe('agent-router console writes', () => {
  it('steps a canary through the --config file, and the console reads the new version back', async () => {
    const c = await startConsole([]);
    const rc = await c.api('/routeconfigs/default');
    const stepped = await c.api('/routeconfigs/default/canary', 'POST', {
      logicalModel: 'summarize-model',
      stage: 20,
      version: rc.body.version,
    });
    expect(stepped.status).toBe(200);
    const text = readFileSync(c.config, 'utf8');
    expect(text).toContain('      weight: 80\n      baseline: true\n');
    expect(text).toContain('# Canary: 95% stable, 5% candidate.');
    expect((await c.api('/routeconfigs/default')).body.version).toBe(stepped.body.version);
    // Log lines are written asynchronously (observability/logger.ts): the audit line follows the answer.
    await eventually(() => c.output().includes('"event":"console_write"') || undefined);
    expect(c.output()).not.toContain(TOKEN);
  }, 40_000);

  it('refuses every write with --read-only', async () => {
    const c = await startConsole(['--read-only']);
    const before = readFileSync(c.config, 'utf8');
    const answer = await c.api('/keys/team-a', 'PATCH', { enabled: false });
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe('read_only');
    expect(readFileSync(c.config, 'utf8')).toBe(before);
  }, 40_000);
});
