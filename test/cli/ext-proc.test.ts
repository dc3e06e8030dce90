/**
 * `agent-router ext-proc` as the sidecar runs it, as a child process: with --socket, ExternalProcessor is
 * served on the Unix socket only (no pod that can reach the proxy pod's IP can open Process streams),
 * --grpc-host binds TCP where asked, and kubelet's probe target is the admin server: /healthz from the
 * start, /readyz 503 until the configuration is loaded and the listeners accept, and again while
 * draining. Uses its own loopback addresses so it never meets the other suites' ports.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { afterEach, describe, expect, it } from 'vitest';
import { headerMap, rawClient } from '../helpers/ext-proc-client.ts';
import { eventually } from '../helpers/log-capture.ts';
import { refusedPort } from '../helpers/stack.ts';
import { FakeApiServer } from '../kube/fake-api-server.ts';
import { baseObjects, NS } from '../kube/objects.ts';

const children: ChildProcess[] = [];
let fake: FakeApiServer | undefined;
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await fake?.close();
  fake = undefined;
});

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, ['bin/agent-router.mjs', 'ext-proc', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { child, output: () => output, exited };
}

const socketIn = (name: string) =>
  path.join(mkdtempSync(path.join(os.tmpdir(), `agent-router-${name}-`)), 'ext-proc.sock');

async function status(url: string): Promise<number | string> {
  try {
    return (await fetch(url)).status;
  } catch (error) {
    return String((error as { cause?: { code?: string } }).cause?.code ?? error);
  }
}

/** Waits for /readyz 200, failing early with the child's output if it exits. */
async function ready(r: Running, admin: string): Promise<void> {
  let exit: number | null | undefined;
  void r.exited.then((code) => {
    exit = code;
  });
  await eventually(async () => {
    if (exit !== undefined) throw new Error(`ext-proc exited ${exit}:\n${r.output()}`);
    return (await status(`${admin}/readyz`)) === 200 || undefined;
  }, 20_000);
}

function tcpConnect(host: string, port: number): Promise<'connected' | string> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

function healthCheck(target: string, serviceName: string): Promise<string> {
  const Client = grpc.makeGenericClientConstructor(healthService, 'Health');
  const client = new Client(target, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    check(req: { service: string }, cb: (e: grpc.ServiceError | null, r: { status: string }) => void): void;
  };
  return new Promise((resolve, reject) =>
    client.check({ service: serviceName }, (error, response) => {
      client.close();
      if (error) reject(error);
      else resolve(String(response.status));
    }),
  );
}

/** A GET /v1/models through a Process stream: an immediate response with the model list. */
async function listModels(target: string): Promise<unknown> {
  const client = rawClient(target);
  try {
    const s = client.open();
    s.send({
      request_headers: {
        headers: headerMap({
          ':method': 'GET',
          ':path': '/v1/models',
          authorization: 'Bearer sk-agent-router-team-a',
        }),
        end_of_stream: true,
      },
    });
    const r = await s.next();
    s.end();
    return JSON.parse(Buffer.from(r.immediate_response!.body!).toString()).object;
  } finally {
    client.close();
  }
}

describe('agent-router ext-proc --socket', () => {
  it('serves Process and gRPC health on the socket only: nothing listens on the TCP gRPC port', async () => {
    const socket = socketIn('sidecar');
    const adminPort = await refusedPort();
    // Today's TCP default would be 127.0.0.97:50051 (--host is the bind address of both servers).
    const r = run([
      '--config=examples/local.yaml',
      `--socket=${socket}`,
      '--host=127.0.0.97',
      `--admin-port=${adminPort}`,
    ]);
    await ready(r, `http://127.0.0.97:${adminPort}`);

    expect(await tcpConnect('127.0.0.97', 50051)).toBe('ECONNREFUSED');
    expect(await listModels(`unix:${socket}`)).toBe('list');
    expect(await healthCheck(`unix:${socket}`, 'envoy.service.ext_proc.v3.ExternalProcessor')).toBe(
      'SERVING',
    );
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
  }, 40_000);

  it('binds TCP gRPC only on the --grpc-host address when asked for it', async () => {
    const socket = socketIn('loopback');
    const adminPort = await refusedPort();
    const r = run([
      '--config=examples/local.yaml',
      `--socket=${socket}`,
      '--host=127.0.0.98',
      '--grpc-host=127.0.0.1',
      '--grpc-port=0',
      `--admin-port=${adminPort}`,
    ]);
    await ready(r, `http://127.0.0.98:${adminPort}`);
    // Log lines are written asynchronously (observability/logger.ts): ready may answer before it is out.
    const listening = await eventually(
      () =>
        r
          .output()
          .split('\n')
          .filter((l) => l.includes('"event":"ext_proc_listening"'))
          .map((l) => JSON.parse(l) as { grpcPort: number })[0],
    );

    expect(await healthCheck(`127.0.0.1:${listening.grpcPort}`, '')).toBe('SERVING');
    expect(await listModels(`127.0.0.1:${listening.grpcPort}`)).toBe('list');
    // Any other address of the host (the pod IP, in a pod) is refused.
    expect(await tcpConnect('127.0.0.2', listening.grpcPort)).toBe('ECONNREFUSED');
    expect(await listModels(`unix:${socket}`)).toBe('list');
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
  }, 40_000);

  it('takes over a socket file left by a previous run that nobody listens on', async () => {
    const socket = socketIn('restart');
    // A sidecar killed in its pod leaves its socket in the shared emptyDir.
    const crashed = spawn(process.execPath, [
      '-e',
      `require('node:net').createServer().listen(${JSON.stringify(socket)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    await new Promise((resolve) => crashed.on('exit', resolve));
    const adminPort = await refusedPort();
    const r = run([
      '--config=examples/local.yaml',
      `--socket=${socket}`,
      '--host=127.0.0.97',
      `--admin-port=${adminPort}`,
    ]);
    await ready(r, `http://127.0.0.97:${adminPort}`);
    expect(await listModels(`unix:${socket}`)).toBe('list');
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
  }, 40_000);

  it('answers /healthz from the start and /readyz 503 until the configuration is loaded, 200 while serving, 503 while draining', async () => {
    fake = await FakeApiServer.start();
    for (const o of baseObjects()) fake.apply(o);
    fake.setAvailable(false);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-router-ready-'));
    const kubeconfig = path.join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, fake.kubeConfig('ext-proc-pod').exportConfig());
    const socket = path.join(dir, 'ext-proc.sock');
    const adminPort = await refusedPort();
    const admin = `http://127.0.0.99:${adminPort}`;
    const r = run(
      ['--config=kubernetes://', `--socket=${socket}`, '--host=127.0.0.99', `--admin-port=${adminPort}`],
      {
        KUBECONFIG: kubeconfig,
        AGENT_ROUTER_WATCH_NAMESPACES: NS,
        AGENT_ROUTER_LEADER_ELECTION: 'false',
        POD_NAMESPACE: 'gateway',
      },
    );

    // The API server answers 503: the first sync cannot finish, so the configuration is not loaded.
    await eventually(() => fake!.requests.some((q) => q.status === 503) || undefined, 20_000);
    expect(await status(`${admin}/healthz`)).toBe(200);
    expect(await status(`${admin}/readyz`)).toBe(503);

    fake.setAvailable(true);
    await ready(r, admin);
    expect(await healthCheck(`unix:${socket}`, '')).toBe('SERVING');

    // SIGTERM with a stream open: the drain waits for it, and /readyz says so meanwhile.
    const client = rawClient(`unix:${socket}`);
    const s = client.open();
    s.send({
      request_headers: {
        headers: headerMap({ ':method': 'POST', ':path': '/v1/chat/completions' }),
        end_of_stream: false,
      },
    });
    await s.next();
    r.child.kill('SIGTERM');
    await eventually(async () => (await status(`${admin}/readyz`)) === 503 || undefined);
    expect(await status(`${admin}/healthz`)).toBe(200);
    s.end();
    client.close();
    expect(await r.exited).toBe(0);
  }, 60_000);
});
