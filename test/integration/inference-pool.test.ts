/**
 * A logical model served by a self-hosted InferencePool through the whole local stack: router-level
 * ext-proc, the endpoint picker over real gRPC (as Envoy would call it), simulated vLLM pods.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../cli/local-stack.ts';
import { capturingLogger, eventually } from '../helpers/log-capture.ts';

const PODS = ['127.0.0.61', '127.0.0.62', '127.0.0.63'];
const PORT = 8061;

function config(failureMode: 'FailOpen' | 'FailClose'): string {
  return `apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: { name: llama-pool }
spec:
  selector: { matchLabels: { app: llama } }
  targetPorts: [{ number: ${PORT} }]
  endpointPickerRef: { name: llama-pool-epp, port: { number: 9002 }, failureMode: ${failureMode} }
${PODS.map(
  (ip, i) => `---
apiVersion: v1
kind: Pod
metadata: { name: llama-${i}, labels: { app: llama }, annotations: { agentrouter.dev/simulated: "${i + 1}" } }
status: { podIP: ${ip}, phase: Running }
`,
).join('')}---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  defaultForKeyless: true
  routes:
    - name: pool
      model: pool-model
      backendRef: { kind: InferencePool, name: llama-pool }
      modelNameOverride: meta-llama/Llama-3.1-8B-Instruct
---
apiVersion: v1
kind: Secret
metadata: { name: keys }
stringData: { app: sk-pool-app-key }
---
apiVersion: agentrouter.dev/v1alpha1
kind: APIKey
metadata: { name: app }
spec:
  secretRef: { name: keys, key: app }
  routeConfigRef: { name: main }
`;
}

let stack: LocalStack;
let logs: ReturnType<typeof capturingLogger>;
let client: OpenAI;

beforeAll(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pool-'));
  const file = path.join(dir, 'pool.yaml');
  writeFileSync(file, config('FailClose'));
  logs = capturingLogger();
  stack = await startLocalStack({ configPath: file, logger: logs.logger, gatewayPort: 0, grpcPort: 0 });
  client = new OpenAI({ baseURL: `${stack.gatewayUrl}/v1`, apiKey: 'sk-pool-app-key', maxRetries: 0 });
  const picker = stack.pickers[0]!;
  await eventually(() => PODS.every((ip) => !picker.scraper.load(`${ip}:${PORT}`).stale) || undefined);
});

afterAll(async () => {
  await stack?.close();
});

describe('InferencePool through the local stack', () => {
  it('serves a logical model from a pod the endpoint picker chose, with the model name rewritten', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'pool-model', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 })
      .withResponse();
    expect(data.model).toBe('meta-llama/Llama-3.1-8B-Instruct');
    expect(response.headers.get('x-agent-router-backend')).toBe('default/llama-pool');
    expect(response.headers.get('x-session-token')).toBeTruthy();
    expect(PODS.map((ip) => `llama-${PODS.indexOf(ip)}`)).toContain(response.headers.get('x-sim-server'));
  });

  it('keeps a conversation on its pod when the client sends its session token back', async () => {
    const first = await client.chat.completions
      .create({ model: 'pool-model', messages: [{ role: 'user', content: 'turn one' }], max_tokens: 2 })
      .withResponse();
    const token = first.response.headers.get('x-session-token')!;
    const pod = first.response.headers.get('x-sim-server');
    for (let i = 0; i < 8; i++) {
      const next = await client.chat.completions
        .create(
          { model: 'pool-model', messages: [{ role: 'user', content: `turn ${i}` }], max_tokens: 2 },
          { headers: { 'x-session-token': token } },
        )
        .withResponse();
      expect(next.response.headers.get('x-sim-server')).toBe(pod);
    }
  });

  it('streams from the picked pod', async () => {
    const stream = await client.chat.completions.create({
      model: 'pool-model',
      messages: [{ role: 'user', content: 'stream' }],
      max_tokens: 5,
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text.split(' ')).toHaveLength(5);
  });

  it('answers 503 in the OpenAI shape when the picker is down and the pool fails closed', async () => {
    await stack.pickers[0]!.shutdown(100);
    const error = await client.chat.completions
      .create({ model: 'pool-model', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('endpoint_picker_unavailable');
  });

  it('still serves when the picker is down and the pool fails open', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pool-open-'));
    const file = path.join(dir, 'pool.yaml');
    writeFileSync(file, config('FailOpen').replaceAll('127.0.0.6', '127.0.0.7'));
    const open = await startLocalStack({
      configPath: file,
      logger: capturingLogger().logger,
      gatewayPort: 0,
      grpcPort: 0,
    });
    try {
      await open.pickers[0]!.shutdown(100);
      const c = new OpenAI({ baseURL: `${open.gatewayUrl}/v1`, apiKey: 'sk-pool-app-key', maxRetries: 0 });
      const done = await c.chat.completions.create({
        model: 'pool-model',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 2,
      });
      expect(done.model).toBe('meta-llama/Llama-3.1-8B-Instruct');
    } finally {
      await open.close();
    }
  });
});
