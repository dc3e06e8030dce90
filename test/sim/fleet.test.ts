import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { readManifests } from '../../config/file-source.ts';
import type { AnyManifest, LocatedManifest } from '../../config/manifests.ts';
import { type SimulatedPod, simulatedPods, startSimulatedPods } from '../../sim/fleet.ts';
import type { ModelServer } from '../../sim/model-server.ts';
import { parsePrometheusText, sampleValue } from './prometheus-text.ts';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'inference-pool.yaml');

function fixtureManifests(): LocatedManifest[] {
  const { manifests, problems } = readManifests(FIXTURE);
  expect(problems).toEqual([]);
  return manifests;
}

function located(...manifests: AnyManifest[]): LocatedManifest[] {
  return manifests.map((manifest, document) => ({ manifest, origin: { source: 'test.yaml', document } }));
}

function pool(name: string, ports: number[], namespace = 'default'): AnyManifest {
  return {
    apiVersion: 'inference.networking.k8s.io/v1',
    kind: 'InferencePool',
    metadata: { name, namespace },
    spec: { selector: { matchLabels: { app: name } }, targetPorts: ports.map((number) => ({ number })) },
  };
}

function pod(
  name: string,
  podIP: string | undefined,
  options: { labels?: Record<string, string>; annotations?: Record<string, string>; ports?: number[] } = {},
): AnyManifest {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      labels: options.labels ?? {},
      annotations: options.annotations ?? { 'agentrouter.dev/simulated': '0' },
    },
    spec: {
      containers: [
        { name: 'vllm', ports: (options.ports ?? []).map((containerPort) => ({ containerPort })) },
      ],
    },
    status: podIP === undefined ? {} : { podIP },
  };
}

describe('simulatedPods', () => {
  it('reads a pool of eight pods with their IPs, the pool’s target port, seeds and engine annotations', () => {
    const pods = simulatedPods(fixtureManifests());
    expect(pods.map((p) => `${p.name} ${p.host}:${p.port} seed ${p.seed} pool ${p.pool}`)).toEqual(
      [1, 2, 3, 4, 5, 6, 7, 8].map(
        (i) => `vllm-llama-${i} 127.0.0.${10 + i}:38000 seed ${i} pool vllm-llama`,
      ),
    );
    expect(pods.slice(0, 7).every((p) => Object.keys(p.engine).length === 0)).toBe(true);
    expect(pods[7]?.engine).toEqual({
      maxBatchSize: 16,
      kvCacheBlocks: 1024,
      prefillMsPerToken: 0.4,
      decodeMsPerStepBase: 30,
    });
  });

  it('skips pods without the simulated annotation and uses a lone pod’s container port', () => {
    const pods = simulatedPods(
      located(
        pod('real', '10.0.0.5', { annotations: {}, ports: [8000] }),
        pod('lone', '127.0.0.21', { ports: [8123, 9000] }),
      ),
    );
    expect(pods).toEqual<SimulatedPod[]>([
      {
        name: 'lone',
        namespace: 'default',
        pool: undefined,
        host: '127.0.0.21',
        port: 8123,
        seed: 0,
        engine: {},
      },
    ]);
  });

  it('serves every target port of its pool, and ignores pools of other namespaces', () => {
    const pods = simulatedPods(
      located(
        pool('dp', [8000, 8001]),
        pool('dp', [9999], 'elsewhere'),
        pod('ranked', '127.0.0.31', { labels: { app: 'dp' }, ports: [7000] }),
      ),
    );
    expect(pods.map((p) => [p.name, p.port, p.pool])).toEqual([
      ['ranked:8000', 8000, 'dp'],
      ['ranked:8001', 8001, 'dp'],
    ]);
  });

  it.each([
    ['a pod IP off loopback', [pod('p', '10.1.2.3', { ports: [1] })], /status\.podIP must be a loopback/],
    ['no pod IP', [pod('p', undefined, { ports: [1] })], /status\.podIP .* got none/],
    ['no port at all', [pod('p', '127.0.0.2')], /no InferencePool selects it/],
    [
      'a seed that is not an integer',
      [pod('p', '127.0.0.2', { ports: [1], annotations: { 'agentrouter.dev/simulated': 'yes' } })],
      /must be an integer seed/,
    ],
    [
      'an engine annotation out of range',
      [
        pod('p', '127.0.0.2', {
          ports: [1],
          annotations: { 'agentrouter.dev/simulated': '1', 'agentrouter.dev/sim-max-batch-size': '0' },
        }),
      ],
      /sim-max-batch-size must be an integer of at least 1, got "0"/,
    ],
    [
      'two pods on one address',
      [pod('a', '127.0.0.2', { ports: [80] }), pod('b', '127.0.0.2', { ports: [80] })],
      /127\.0\.0\.2:80 is already taken by simulated pod default\/a/,
    ],
  ])('refuses %s, naming the pod', (_, manifests, message) => {
    expect(() => simulatedPods(located(...manifests))).toThrow(message);
  });
});

describe('startSimulatedPods', () => {
  const started: ModelServer[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((server) => server.close()));
  });

  it('starts the pool on its pod addresses, each with its own engine settings', async () => {
    const pods = simulatedPods(fixtureManifests());
    started.push(...(await startSimulatedPods(pods, { prefillMsPerToken: 0, decodeMsPerStepBase: 0 })));
    expect(started.map((server) => server.url)).toEqual(pods.map((p) => `http://${p.host}:${p.port}`));
    // Annotations win over the fleet's defaults, which win over the engine's.
    expect(started[0]?.stats().engine.kvBlocksTotal).toBe(8192);
    expect(started[7]?.stats().engine.kvBlocksTotal).toBe(1024);

    const client = new OpenAI({ baseURL: started[2]!.url + '/v1', apiKey: 'x', maxRetries: 0 });
    const { data, response } = await client.chat.completions
      .create({ model: 'meta-llama/Llama-3.1-8B-Instruct', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(response.headers.get('x-sim-server')).toBe('vllm-llama-3');
    expect(data.choices[0]?.message.content).toBeTruthy();
    const metrics = parsePrometheusText(await (await fetch(started[2]!.url + '/metrics')).text());
    expect(sampleValue(metrics, 'vllm:request_success_total', { finished_reason: 'stop' })).toBe(1);
  });
});
