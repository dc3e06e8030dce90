/**
 * `agent-router console` as a child process. File mode: the token from AGENT_ROUTER_CONSOLE_TOKEN, the
 * experiments' splits from the watched YAML; an open console is refused anywhere but on loopback.
 * Kubernetes mode (a fake API server): the configuration from the cluster, the admin token from a
 * Secret read live, so a rotation applies without a restart and a deleted Secret locks the API.
 * Uses its own loopback addresses so it never meets the other suites' ports.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConsoleErrorBody } from '../../console/errors.ts';
import type { ExperimentAnswer } from '../../console/experiments.ts';
import { eventually } from '../helpers/log-capture.ts';
import { refusedPort } from '../helpers/stack.ts';
import { FakeApiServer } from '../kube/fake-api-server.ts';
import { backend, baseObjects, NS, route, routeConfig, secret } from '../kube/objects.ts';

const HOST = '127.0.0.97';
const children: ChildProcess[] = [];
let fake: FakeApiServer | undefined;
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await fake?.close();
  fake = undefined;
});

interface Running {
  output: () => string;
  exited: Promise<number | null>;
  child: ChildProcess;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, ['bin/agent-router.mjs', 'console', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AGENT_ROUTER_CONSOLE_TOKEN: '', ...env },
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { child, output: () => output, exited };
}

async function up(r: Running, url: string): Promise<void> {
  let exit: number | null | undefined;
  void r.exited.then((code) => {
    exit = code;
  });
  await eventually(async () => {
    if (exit !== undefined) throw new Error(`console exited ${exit}:\n${r.output()}`);
    try {
      return (await fetch(`${url}/healthz`)).status === 200 || undefined;
    } catch {
      return undefined;
    }
  }, 20_000);
}

const statusOf = async (url: string, token?: string) =>
  (await fetch(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } })).status;

describe('agent-router console, file mode', () => {
  it('requires the token from AGENT_ROUTER_CONSOLE_TOKEN and reads the splits from the YAML file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-router-console-cli-'));
    const config = path.join(dir, 'local.yaml');
    writeFileSync(config, readFileSync('examples/local.yaml', 'utf8'));
    const port = await refusedPort();
    const url = `http://${HOST}:${port}`;
    const r = run(
      ['--config', config, '--host', HOST, '--port', String(port), '--data-dir', path.join(dir, 'data')],
      {
        AGENT_ROUTER_CONSOLE_TOKEN: 'file-mode-token',
      },
    );
    await up(r, url);
    expect(await statusOf(`${url}/api/v1/requests`)).toBe(401);
    expect(await statusOf(`${url}/api/v1/requests`, 'wrong')).toBe(401);
    const experiment = await fetch(`${url}/api/v1/experiments/chat-model`, {
      headers: { authorization: 'Bearer file-mode-token' },
    });
    expect(experiment.status).toBe(200);
    const body = (await experiment.json()) as ExperimentAnswer;
    expect(body.routeConfig).toBe('default/default');
    expect(body.variants.map((v: { routeEntry: string }) => v.routeEntry)).toEqual(['chat-v1', 'chat-v2']);
    expect(r.output()).not.toContain('file-mode-token');
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
  }, 40_000);

  it('refuses to serve without a token on an address other than loopback', async () => {
    const r = run(['--config', 'examples/local.yaml', '--host', '0.0.0.0', '--port', '0']);
    expect(await r.exited).toBe(1);
    expect(r.output()).toContain('without authentication');
  }, 20_000);
});

describe('agent-router console, Kubernetes mode', () => {
  it('reads the admin token from a Secret, live: a rotation applies without a restart, a deletion locks the API', async () => {
    fake = await FakeApiServer.start();
    for (const o of baseObjects()) fake.apply(o);
    fake.apply(backend('openai-b'));
    fake.apply(
      routeConfig('ab', [
        route('v1', 'ab-model', 'openai', { weight: 50 }),
        route('v2', 'ab-model', 'openai-b', { weight: 50, baseline: true }),
      ]),
    );
    fake.apply(secret('console', { token: 'kube-token-1' }));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-router-console-kube-'));
    const kubeconfig = path.join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, fake.kubeConfig('console-pod').exportConfig());
    const port = await refusedPort();
    const url = `http://${HOST}:${port}`;
    const r = run(
      [
        '--config=kubernetes://',
        '--admin-token-secret=console',
        `--host=${HOST}`,
        `--port=${port}`,
        `--store=sqlite:${path.join(dir, 'data')}`,
      ],
      { KUBECONFIG: kubeconfig, AGENT_ROUTER_WATCH_NAMESPACES: NS, POD_NAMESPACE: NS },
    );
    await up(r, url);
    const experiments = `${url}/api/v1/experiments/ab-model`;
    expect(await statusOf(experiments)).toBe(401);
    expect(await statusOf(experiments, 'kube-token-1')).toBe(200);
    const body = (await (
      await fetch(experiments, { headers: { authorization: 'Bearer kube-token-1' } })
    ).json()) as ExperimentAnswer;
    expect(body).toMatchObject({ routeConfig: `${NS}/ab`, baseline: 'v2' });

    fake.apply(secret('console', { token: 'kube-token-2' }));
    await eventually(async () => ((await statusOf(experiments, 'kube-token-2')) === 200 ? true : undefined));
    expect(await statusOf(experiments, 'kube-token-1')).toBe(401);

    fake.delete('Secret', NS, 'console');
    await eventually(async () => ((await statusOf(experiments, 'kube-token-2')) === 401 ? true : undefined));
    const locked = (await (
      await fetch(experiments, { headers: { authorization: 'Bearer kube-token-2' } })
    ).json()) as ConsoleErrorBody;
    expect(locked.error.code).toBe('admin_token_unavailable');
    expect(r.output()).not.toContain('kube-token');
    // The console writes nothing but the Lease of its rollout controller: no RouteConfig here declares a
    // rollout, so no status and no Event.
    const writes = fake.requests.filter((q) => q.method !== 'GET' && q.method !== 'WATCH');
    expect(writes.length).toBeGreaterThan(0);
    for (const w of writes)
      expect(w.path, `${w.method} ${w.path}`).toMatch(
        /\/apis\/coordination\.k8s\.io\/v1\/namespaces\/[^/]+\/leases/,
      );
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
  }, 60_000);
});
