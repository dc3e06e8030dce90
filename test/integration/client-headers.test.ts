/**
 * Headers a client may not forge, through the dev gateway with the official OpenAI SDK: the route target
 * header cannot choose a route even where the router filter's body answer never applies, and the GIE
 * destination header (docs/proposals/004-endpoint-picker-protocol), which Envoy's override_host policy
 * follows to a pool pod, cannot pick one when the endpoint picker is down and the pool fails open.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../cli/local-stack.ts';
import type { FilterConfig } from '../../dev-gateway/filter-run.ts';
import { capturingLogger } from '../helpers/log-capture.ts';
import { backendYaml, COMMON_YAML, startTestStack, type TestStack } from '../helpers/stack.ts';

const stacks: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(stacks.map((s) => s.close()));
});

async function routedStack(router: Partial<FilterConfig>): Promise<TestStack> {
  const t = await startTestStack(
    { cheap: { apiKey: 'provider-secret' }, premium: { apiKey: 'provider-secret' } },
    (urls) =>
      [
        COMMON_YAML,
        backendYaml('cheap', urls.cheap!),
        backendYaml('premium', urls.premium!),
        `
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  routes:
    - { name: chat, model: chat-model, backendRef: { name: cheap }, modelNameOverride: cheap-model }
    - { name: premium, model: premium-model, backendRef: { name: premium }, modelNameOverride: premium-model }
`,
      ].join(''),
    { filters: { router } },
  );
  stacks.push(t);
  return t;
}

describe('a forged route header', () => {
  it.each([
    // The body never reaches ext-proc: the request passes through on its headers alone.
    ['NONE without mode override', { requestBodyMode: 'NONE' as const, allowModeOverride: false }],
    // The body streams, and the gateway drops a body answer's header mutations.
    ['STREAMED without mode override', { requestBodyMode: 'STREAMED' as const, allowModeOverride: false }],
  ])('cannot choose a route when the router filter runs %s', async (_name, router) => {
    const t = await routedStack(router);
    const error = await t
      .client()
      .chat.completions.create(
        { model: 'chat-model', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 },
        { headers: { 'x-agent-router-route': 'default/main/premium' } },
      )
      .catch((e: unknown) => e);
    expect(t.sims.premium!.stats().requestsServed).toBe(0);
    // No decision could be applied, so no route: the forged one is gone with the rest.
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('route_not_found');
  });
});

const PODS = ['127.0.0.91', '127.0.0.92', '127.0.0.93'];
const POD_PORT = 8062;

function poolYaml(): string {
  return `apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: { name: llama-pool }
spec:
  selector: { matchLabels: { app: llama } }
  targetPorts: [{ number: ${POD_PORT} }]
  endpointPickerRef: { name: llama-pool-epp, port: { number: 9002 }, failureMode: FailOpen }
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

describe('a client-sent x-gateway-destination-endpoint', () => {
  it('cannot pick a pool pod when the endpoint picker is down and the pool fails open', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'client-headers-'));
    const file = path.join(dir, 'pool.yaml');
    writeFileSync(file, poolYaml());
    const stack: LocalStack = await startLocalStack({
      configPath: file,
      logger: capturingLogger().logger,
      gatewayPort: 0,
      grpcPort: 0,
    });
    stacks.push(stack);
    await stack.pickers[0]!.shutdown(100);
    const client = new OpenAI({
      baseURL: `${stack.gatewayUrl}/v1`,
      apiKey: 'sk-pool-app-key',
      maxRetries: 0,
    });
    const served = new Set<string | null>();
    for (let i = 0; i < 6; i++) {
      const { response } = await client.chat.completions
        .create(
          { model: 'pool-model', messages: [{ role: 'user', content: `hi ${i}` }], max_tokens: 2 },
          { headers: { 'x-gateway-destination-endpoint': `${PODS[2]}:${POD_PORT}` } },
        )
        .withResponse();
      served.add(response.headers.get('x-sim-server'));
    }
    // Balanced by the gateway's fallback policy, not sent where the client asked every time.
    expect(served.size).toBeGreaterThan(1);
  });
});
