/**
 * The CLI as a user runs it: `agent-router start` as a child process, one request through it, the
 * request in the console's Request Logs (SQLite under --data-dir, console open on loopback), then
 * SIGTERM and a clean exit. Uses its own loopback addresses so it never meets the other suites' ports.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import type { RequestsAnswer } from '../../console/requests.ts';
import { eventually } from '../helpers/log-capture.ts';
import { refusedPort } from '../helpers/stack.ts';

let child: ChildProcess | undefined;
afterAll(() => {
  child?.kill('SIGKILL');
});

describe('agent-router start', () => {
  it('serves the OpenAI API from a manifest file and exits cleanly on SIGTERM', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-router-cli-'));
    const config = path.join(dir, 'local.yaml');
    writeFileSync(
      config,
      readFileSync('examples/local.yaml', 'utf8')
        .replace(/127\.0\.0\.1(\d):8000/g, '127.0.0.3$1:8000')
        .replace(/podIP: 127\.0\.0\.2(\d)/g, 'podIP: 127.0.0.4$1'),
    );
    const [port, grpcPort, adminPort, consolePort] = [
      await refusedPort(),
      await refusedPort(),
      await refusedPort(),
      await refusedPort(),
    ];
    const dataDir = path.join(dir, 'data');
    child = spawn(
      process.execPath,
      [
        'bin/agent-router.mjs',
        'start',
        '--config',
        config,
        '--port',
        String(port),
        '--grpc-port',
        String(grpcPort),
        '--admin-port',
        String(adminPort),
        '--console-port',
        String(consolePort),
        '--data-dir',
        dataDir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    let stdout = '';
    child.stderr!.on('data', (d) => (stderr += d));
    child.stdout!.on('data', (d) => (stdout += d));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner; stderr: ${stderr}`)), 20_000);
      child!.stderr!.on('data', () => {
        if (stderr.includes('local stack is up')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child!.on('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    expect(stderr).toContain(`http://127.0.0.1:${port}/v1`);

    const client = new OpenAI({
      baseURL: `http://127.0.0.1:${port}/v1`,
      apiKey: 'sk-agent-router-team-b',
      maxRetries: 0,
    });
    const completion = await client.chat.completions.create({
      model: 'summarize-model',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(completion.choices[0]!.message.content).toBeTruthy();
    expect(stderr).toContain(`http://127.0.0.1:${consolePort}/api/v1/ (open on loopback)`);
    const logged = await eventually(async () => {
      const page = (await (
        await fetch(`http://127.0.0.1:${consolePort}/api/v1/requests`)
      ).json()) as RequestsAnswer;
      return page.data.length > 0 ? page.data : undefined;
    });
    expect(logged).toMatchObject([{ keyId: 'default/team-b', logicalModel: 'summarize-model', status: 200 }]);

    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const requestLines = stdout.split('\n').filter((l) => l.includes('"event":"request"'));
    expect(requestLines).toHaveLength(1);
    expect(JSON.parse(requestLines[0]!)).toMatchObject({
      keyId: 'default/team-b',
      logicalModel: 'summarize-model',
      status: 200,
    });
    expect(stdout).not.toContain('sk-agent-router-team-b');
    expect(existsSync(path.join(dataDir, 'requests.sqlite'))).toBe(true);
  }, 40_000);

  it('refuses to start on an invalid configuration, naming file, document and field', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-router-cli-'));
    const config = path.join(dir, 'bad.yaml');
    writeFileSync(config, readFileSync('examples/local.yaml', 'utf8').replace('weight: 95', 'weight: lots'));
    const bad = spawn(
      process.execPath,
      ['bin/agent-router.mjs', 'ext-proc', '--config', config, '--grpc-port', '0', '--admin-port', '0'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    bad.stderr!.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => bad.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain(config);
    expect(stderr).toMatch(
      /document 12\) RouteConfig default: spec\.routes\[5\]\.weight: must be an integer/,
    );
  }, 30_000);
});
