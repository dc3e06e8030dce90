/**
 * `npm run soak` end to end, briefly: the real stack in its own process, a few seconds of the mixed
 * traffic, and the report. No timing thresholds: the figures depend on the machine. Also: a stream that
 * looks complete to the SDK but lacks [DONE], or is cut, is a failure and never a success.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Traffic } from '../../bench/soak/traffic.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIGURES = [
  'soak.requests',
  'soak.errors',
  'soak.p50-ms',
  'soak.p99-ms',
  'soak.rss-start-mb',
  'soak.rss-end-mb',
  'soak.heap-start-mb',
  'soak.heap-end-mb',
  'soak.heap-growth-ratio',
];

function runSoak(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/soak.ts', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run soak', () => {
  it('drives the local stack for a few seconds and reports every figure as a JSON line, with no errors', async () => {
    const { code, stdout, stderr } = await runSoak(['--duration', '3', '--concurrency', '2']);
    expect(code, `stdout:\n${stdout}\nstderr:\n${stderr}`).toBe(0);
    const figures = new Map<string, { value: number; unit: string }>();
    for (const line of stdout.split('\n')) {
      if (!line.startsWith('{"bench":')) continue;
      const { bench, value, unit } = JSON.parse(line) as { bench: string; value: number; unit: string };
      figures.set(bench, { value, unit });
    }
    for (const name of FIGURES) expect(figures.get(name), name).toBeDefined();
    expect(figures.get('soak.errors')!.value).toBe(0);
    expect(figures.get('soak.requests')!.value).toBeGreaterThan(0);
    expect(figures.get('soak.heap-start-mb')!.value).toBeGreaterThan(0);
  }, 60_000);
});

const CHUNK = (extra: string) =>
  `data: {"id":"c","object":"chat.completion.chunk","created":0,"model":"m","choices":[${extra}]}\n\n`;
const DELTA = CHUNK('{"index":0,"delta":{"content":"Hi"},"finish_reason":null}');
const FINISH = CHUNK('{"index":0,"delta":{},"finish_reason":"stop"}');
const USAGE =
  'data: {"id":"c","object":"chat.completion.chunk","created":0,"model":"m","choices":[],' +
  '"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}\n\n';

/** A provider-shaped server whose streams end the way `end` says. */
async function streamServer(end: (res: ServerResponse) => void): Promise<Server> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(DELTA + FINISH + USAGE);
      end(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return server;
}

describe('soak traffic', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });
  const url = () => `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;

  it('counts a stream that has its finish and usage chunks but ends without [DONE] as a failure', async () => {
    server = await streamServer((res) => res.end());
    const outcome = await new Traffic(url(), 1, 1).send();
    expect(outcome).toEqual({ ok: false, kind: 'stream: ended without [DONE]' });
  });

  it('counts a stream cut before its end as a failure', async () => {
    server = await streamServer((res) => res.write('data: {"id":', () => res.destroy()));
    const outcome = await new Traffic(url(), 1, 1).send();
    expect(outcome.ok).toBe(false);
  });

  it('accepts a complete stream that ends with [DONE]', async () => {
    server = await streamServer((res) => res.end('data: [DONE]\n\n'));
    // Seed 3's first request streams, asks for the usage chunk and pins no backend.
    const outcome = await new Traffic(url(), 3, 1).send();
    expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
  });
});
