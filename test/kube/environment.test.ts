/**
 * How the CLI starts the Kubernetes source in a pod: the environment the Helm chart sets, then the real
 * binary (`ext-proc --config kubernetes://`) against the fake API server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isKubernetesConfig, kubeSourceOptionsFromEnvironment } from '../../kube/environment.ts';
import { eventually } from '../helpers/log-capture.ts';
import { refusedPort } from '../helpers/stack.ts';
import { FakeApiServer } from './fake-api-server.ts';
import { baseObjects, NS, silentLogger } from './objects.ts';

describe('Kubernetes source options from the environment', () => {
  it('selects the Kubernetes source with --config kubernetes:// (the chart) as with --kubernetes', () => {
    expect(isKubernetesConfig('kubernetes://')).toBe(true);
    expect(isKubernetesConfig('examples/local.yaml')).toBe(false);
    expect(isKubernetesConfig(undefined)).toBe(false);
  });

  it('gives ext-proc the watched and Secret namespaces, no Pods, and a Lease named by the pod', async () => {
    const fake = await FakeApiServer.start();
    const options = kubeSourceOptionsFromEnvironment({
      service: 'ext-proc',
      logger: silentLogger,
      kubeConfig: fake.kubeConfig(),
      env: {
        AGENT_ROUTER_WATCH_NAMESPACES: 'team-a, team-b',
        AGENT_ROUTER_SECRET_NAMESPACES: 'team-a',
        POD_NAME: 'envoy-7f9c-abcde',
        POD_NAMESPACE: 'envoy-gateway-system',
        AGENT_ROUTER_LEASE_NAME: 'gw-agent-router-ext-proc-leader',
      },
    });
    await fake.close();
    expect(options).toMatchObject({
      namespaces: ['team-a', 'team-b'],
      secretNamespaces: ['team-a'],
      kinds: ['RouteConfig', 'ProviderBackend', 'APIKey', 'MCPServer', 'InferencePool', 'Secret'],
      status: {
        elect: true,
        identity: 'envoy-7f9c-abcde',
        leaseNamespace: 'envoy-gateway-system',
        leaseName: 'gw-agent-router-ext-proc-leader',
      },
    });
  });

  it('watches everything when no namespace is named, and writes status unelected when election is off', async () => {
    const fake = await FakeApiServer.start();
    const options = kubeSourceOptionsFromEnvironment({
      service: 'ext-proc',
      logger: silentLogger,
      kubeConfig: fake.kubeConfig(),
      env: { AGENT_ROUTER_WATCH_NAMESPACES: '', AGENT_ROUTER_LEADER_ELECTION: 'false', POD_NAME: 'p' },
    });
    await fake.close();
    expect(options.namespaces).toBe('all');
    expect(options.secretNamespaces).toBe('all');
    expect(options.status).toMatchObject({ elect: false });
  });

  it('keeps the endpoint picker to its pool namespace, InferencePools and Pods, writing no status', async () => {
    const fake = await FakeApiServer.start();
    const options = kubeSourceOptionsFromEnvironment({
      service: 'endpoint-picker',
      logger: silentLogger,
      kubeConfig: fake.kubeConfig(),
      poolId: 'models/llama',
      env: { AGENT_ROUTER_WATCH_NAMESPACES: '' },
    });
    await fake.close();
    expect(options).toMatchObject({ namespaces: ['models'], kinds: ['InferencePool', 'Pod'] });
    expect(options.status).toBeUndefined();
  });
});

let child: ChildProcess | undefined;
let fake: FakeApiServer | undefined;
afterEach(async () => {
  child?.kill('SIGKILL');
  child = undefined;
  await fake?.close();
  fake = undefined;
});

describe('agent-router ext-proc --config kubernetes://', () => {
  it('serves from the cluster, writes status as the Lease holder, and releases the Lease on SIGTERM', async () => {
    fake = await FakeApiServer.start();
    for (const o of baseObjects()) fake.apply(o);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-router-kube-'));
    const kubeconfig = path.join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, fake.kubeConfig('ext-proc-pod').exportConfig());
    const [grpcPort, adminPort] = [await refusedPort(), await refusedPort()];
    child = spawn(
      process.execPath,
      [
        'bin/agent-router.mjs',
        'ext-proc',
        '--config=kubernetes://',
        '--host=127.0.0.1',
        `--grpc-port=${grpcPort}`,
        `--admin-port=${adminPort}`,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          KUBECONFIG: kubeconfig,
          AGENT_ROUTER_WATCH_NAMESPACES: NS,
          POD_NAME: 'ext-proc-pod',
          POD_NAMESPACE: 'gateway',
        },
      },
    );
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child!.on('exit', resolve));

    const accepted = () =>
      (
        (fake!.get('APIKey', NS, 'team-a')?.status as { conditions?: { type: string; status: string }[] })
          ?.conditions ?? []
      ).some((c) => c.type === 'Accepted' && c.status === 'True');
    await eventually(accepted, 20_000).catch(() => {
      throw new Error(`no status written; output:\n${output}`);
    });
    const ready = await fetch(`http://127.0.0.1:${adminPort}/readyz`);
    expect(ready.status).toBe(200);
    expect(fake.get('Lease', 'gateway', 'agent-router-status')?.spec).toMatchObject({
      holderIdentity: 'ext-proc-pod',
    });
    expect(fake.requests.some((r) => r.path.includes('/pods'))).toBe(false);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(fake.get('Lease', 'gateway', 'agent-router-status')?.spec).toMatchObject({ holderIdentity: '' });
  });
});
