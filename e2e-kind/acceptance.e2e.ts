/**
 * The local acceptance scenarios (e2e-kind/scenarios.ts) through real Envoy in a kind cluster: Envoy
 * Gateway's proxy with the agent-router sidecar and both ext_proc filters, the endpoint picker of the
 * llama-pool InferencePool, simulated model servers as pods, and the CRs of manifests/sample-crs.yaml.
 * e2e-kind/run.sh builds all that and then runs this file; it needs Docker, kind, kubectl and helm.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  envoyService,
  eventually,
  NAMESPACE,
  type PortForward,
  PROXY_NAMESPACE,
  portForward,
  proxyPods,
  sidecarLogLines,
} from './cluster.ts';
import { title } from './scenarios.ts';

const TEAM_A = 'sk-agent-router-team-a';
/** Requests per split scenario; the local suite sends 2,000 (E2E_SPLIT_REQUESTS to change). */
const SPLIT_REQUESTS = Number(process.env.E2E_SPLIT_REQUESTS ?? 2000);
const started = new Date().toISOString();
let gateway: PortForward;
let admin: PortForward;
let client: OpenAI;

beforeAll(async () => {
  gateway = await portForward(PROXY_NAMESPACE, `service/${envoyService()}`, 80);
  admin = await portForward(PROXY_NAMESPACE, `pod/${proxyPods()[0]}`, 9190);
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEAM_A, maxRetries: 0, timeout: 60_000 });
});

afterAll(() => {
  gateway?.close();
  admin?.close();
});

const ask = (model: string, headers: Record<string, string> = {}) =>
  client.chat.completions
    .create({ model, messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: 8 }, { headers })
    .withResponse();

async function many<T>(count: number, inFlight: number, call: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await call(i);
      }
    }),
  );
  return results;
}

function shares(models: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of models) counts.set(m, (counts.get(m) ?? 0) + 1);
  return new Map([...counts].map(([k, v]) => [k, v / models.length]));
}

/** Bounds 4.5 standard deviations around p for a Binomial(n, p) share. */
function band(p: number, n: number): [number, number] {
  const sd = Math.sqrt((p * (1 - p)) / n);
  return [p - 4.5 * sd, p + 4.5 * sd];
}

describe(`agent-router through Envoy Gateway in kind (namespace ${NAMESPACE})`, () => {
  it(title('models'), async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([
      'chat-model',
      'fallback-model',
      'llama-self-hosted',
      'summarize-model',
    ]);
  });

  it(title('ab-split'), async () => {
    const results = await many(SPLIT_REQUESTS, 16, () => ask('chat-model'));
    const split = shares(results.map((r) => r.response.headers.get('x-agent-router-resolved-model') ?? ''));
    expect([...split.keys()].sort()).toEqual(['llama-3.1-8b-instruct', 'llama-3.3-8b-instruct']);
    const [low, high] = band(0.5, SPLIT_REQUESTS);
    expect(split.get('llama-3.1-8b-instruct')!).toBeGreaterThan(low);
    expect(split.get('llama-3.1-8b-instruct')!).toBeLessThan(high);
    for (const r of results.slice(0, 50))
      expect(r.data.model).toBe(r.response.headers.get('x-agent-router-resolved-model'));
  });

  it(title('session-sticky'), async () => {
    const variantOf = new Map<string, Set<string>>();
    await many(200, 8, async (i) => {
      const session = `session-${i % 20}`;
      const { response } = await ask('chat-model', { 'x-session-id': session });
      const set = variantOf.get(session) ?? new Set();
      set.add(response.headers.get('x-agent-router-resolved-model')!);
      variantOf.set(session, set);
    });
    for (const set of variantOf.values()) expect(set.size).toBe(1);
    expect(new Set([...variantOf.values()].map((s) => [...s][0])).size).toBe(2);
  });

  it(title('user-session'), async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const { response } = await client.chat.completions
        .create({
          model: 'chat-model',
          user: 'user-42',
          messages: [{ role: 'user', content: 'hi' }],
          max_tokens: 4,
        })
        .withResponse();
      seen.add(response.headers.get('x-agent-router-resolved-model')!);
    }
    expect(seen.size).toBe(1);
  });

  it(title('canary'), async () => {
    const results = await many(SPLIT_REQUESTS, 16, () => ask('summarize-model'));
    const split = shares(results.map((r) => r.response.headers.get('x-agent-router-resolved-model') ?? ''));
    const [low, high] = band(0.05, SPLIT_REQUESTS);
    expect(split.get('qwen3-8b-instruct')!).toBeGreaterThan(low);
    expect(split.get('qwen3-8b-instruct')!).toBeLessThan(high);
  });

  it(title('policy-route'), async () => {
    const results = await many(100, 8, () => ask('chat-model', { 'x-data-class': 'regulated' }));
    for (const r of results) {
      expect(r.response.headers.get('x-agent-router-resolved-model')).toBe('llama-3.1-8b-instruct-eu');
      expect(r.response.headers.get('x-agent-router-backend')).toBe(`${NAMESPACE}/sim-eu-sovereign`);
    }
  });

  it(title('streaming'), async () => {
    const { data: stream, response } = await client.chat.completions
      .create({
        model: 'chat-model',
        messages: [{ role: 'user', content: 'Tell me a story.' }],
        max_tokens: 24,
        stream: true,
        stream_options: { include_usage: true },
      })
      .withResponse();
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    let text = '';
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(chunks).toBeGreaterThan(5);
    expect(text.split(' ').length).toBe(usage!.completion_tokens);
  });

  it(title('stream-usage-unasked'), async () => {
    const { data: stream, response } = await client.chat.completions
      .create({
        model: 'chat-model',
        messages: [{ role: 'user', content: 'Tell me a story.' }],
        max_tokens: 12,
        stream: true,
      })
      .withResponse();
    let text = '';
    for await (const chunk of stream) {
      expect(chunk.choices).toHaveLength(1);
      expect(chunk.usage ?? undefined).toBeUndefined();
      text += chunk.choices[0]!.delta.content ?? '';
    }
    const id = response.headers.get('x-request-id');
    const line = await eventually(() => sidecarLogLines(started).find((r) => r.requestId === id));
    expect(line).toMatchObject({ stream: true, usage: { completionTokens: text.split(' ').length } });
  });

  it(title('request-log'), async () => {
    const { response } = await ask('summarize-model');
    const id = response.headers.get('x-request-id');
    expect(id).toBeTruthy();
    const line = await eventually(() => sidecarLogLines(started).find((r) => r.requestId === id));
    expect(line).toMatchObject({
      event: 'request',
      keyId: `${NAMESPACE}/team-a`,
      routeConfig: `${NAMESPACE}/default`,
      logicalModel: 'summarize-model',
      resolvedModel: response.headers.get('x-agent-router-resolved-model'),
      backend: response.headers.get('x-agent-router-backend'),
      attempts: 1,
      status: 200,
    });
    const all = JSON.stringify(sidecarLogLines(started));
    expect(all).not.toContain(TEAM_A);
    expect(all).not.toContain('sim-provider-secret');
  });

  it(title('endpoint-picking'), async () => {
    const { data, response } = await ask('llama-self-hosted');
    expect(data.model).toBe('meta-llama/Llama-3.1-8B-Instruct');
    expect(response.headers.get('x-sim-server')).toMatch(/^llama-vllm-/);
    expect(response.headers.get('x-session-token')).toBeTruthy();
  });

  it(title('metrics'), async () => {
    const text = await (await fetch(`${admin.url}/metrics`)).text();
    expect(text).toMatch(
      /agent_router_requests_total\{[^}]*logical_model="chat-model"[^}]*status="200"[^}]*\} \d+/,
    );
    expect(text).toMatch(/agent_router_tokens_total\{[^}]*type="completion"[^}]*\} \d+/);
    expect(text).not.toContain(TEAM_A);
  });

  it(title('fallback'), async () => {
    const { data, response } = await ask('fallback-model');
    expect(data.model).toBe('rescued-model');
    expect(response.headers.get('x-agent-router-backend')).toBe(`${NAMESPACE}/sim-qwen`);
    expect(response.headers.get('x-agent-router-attempt')).toBe('2');
  });
});
