/**
 * The main job, end to end: the local stack from examples/local.yaml (simulated backends on their own
 * loopback addresses, ext-proc and the dev gateway over real gRPC) driven by the official OpenAI SDK.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttemptRecord } from '../../analytics/record.ts';
import { type LocalStack, startLocalStack } from '../../cli/local-stack.ts';
import { capturingLogger, eventually } from '../helpers/log-capture.ts';

const TEAM_A = 'sk-agent-router-team-a';
let stack: LocalStack;
let client: OpenAI;
let logs: ReturnType<typeof capturingLogger>;

beforeAll(async () => {
  logs = capturingLogger();
  stack = await startLocalStack({
    configPath: 'examples/local.yaml',
    logger: logs.logger,
    gatewayPort: 0,
    grpcPort: 0,
    adminPort: 0,
  });
  client = new OpenAI({ baseURL: `${stack.gatewayUrl}/v1`, apiKey: TEAM_A, maxRetries: 0 });
});

afterAll(async () => {
  await stack?.close();
});

const ask = (model: string, headers: Record<string, string> = {}) =>
  client.chat.completions
    .create({ model, messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: 8 }, { headers })
    .withResponse();

/** Runs `count` calls with a bounded number in flight and returns their results. */
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

describe('local stack from examples/local.yaml', () => {
  it('lists the logical models the key may use', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['chat-model', 'llama-self-hosted', 'summarize-model']);
  });

  it('splits chat-model 50/50 between the two versions over 2,000 requests', async () => {
    const results = await many(2000, 16, () => ask('chat-model'));
    const resolved = results.map((r) => r.response.headers.get('x-agent-router-resolved-model') ?? '');
    const split = shares(resolved);
    expect([...split.keys()].sort()).toEqual(['llama-3.1-8b-instruct', 'llama-3.3-8b-instruct']);
    // Binomial(2000, 0.5): sd 1.1%, so ±5% is > 4 sd.
    expect(split.get('llama-3.1-8b-instruct')!).toBeGreaterThan(0.45);
    expect(split.get('llama-3.1-8b-instruct')!).toBeLessThan(0.55);
    // The body stays what the provider said: the simulator echoes the model it was asked for.
    for (const r of results.slice(0, 50))
      expect(r.data.model).toBe(r.response.headers.get('x-agent-router-resolved-model'));
  }, 120_000);

  it('keeps every session on one variant, and spreads sessions across both', async () => {
    const variantOf = new Map<string, Set<string>>();
    await many(200, 8, async (i) => {
      const session = `session-${i % 20}`;
      const { response } = await ask('chat-model', { 'x-session-id': session });
      const set = variantOf.get(session) ?? new Set();
      set.add(response.headers.get('x-agent-router-resolved-model')!);
      variantOf.set(session, set);
    });
    for (const set of variantOf.values()) expect(set.size).toBe(1);
    const chosen = new Set([...variantOf.values()].map((s) => [...s][0]));
    expect(chosen.size).toBe(2);
  }, 60_000);

  it('uses the OpenAI user field as the session key when no session header is sent', async () => {
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

  it('sends about 5% of summarize-model to the canary over 2,000 requests', async () => {
    const results = await many(2000, 16, () => ask('summarize-model'));
    const split = shares(results.map((r) => r.response.headers.get('x-agent-router-resolved-model') ?? ''));
    // Binomial(2000, 0.05): sd 0.49%, so 3%..7% is ~4 sd.
    expect(split.get('qwen3-8b-instruct')!).toBeGreaterThan(0.03);
    expect(split.get('qwen3-8b-instruct')!).toBeLessThan(0.07);
    expect(split.get('qwen2.5-7b-instruct')!).toBeGreaterThan(0.93);
  }, 120_000);

  it('always resolves a request tagged x-data-class: regulated to the policy entry', async () => {
    const results = await many(100, 8, () => ask('chat-model', { 'x-data-class': 'regulated' }));
    for (const r of results) {
      expect(r.response.headers.get('x-agent-router-resolved-model')).toBe('llama-3.1-8b-instruct-eu');
      expect(r.response.headers.get('x-agent-router-backend')).toBe('default/sim-eu-sovereign');
    }
  });

  it('streams a completion chunk by chunk with usage on the final chunk', async () => {
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
    const requestId = response.headers.get('x-request-id');
    const line = await eventually(() =>
      logs.records().find((r) => r.event === 'request' && r.stream === true && r.requestId === requestId),
    );
    expect(line).toMatchObject({
      status: 200,
      logicalModel: 'chat-model',
      tokens: { completion: usage!.completion_tokens },
    });
  });

  it('logs the usage of a stream whose client did not ask for it, without sending the client a usage chunk', async () => {
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
    const requestId = response.headers.get('x-request-id');
    const line = await eventually(() =>
      logs.records().find((r) => r.event === 'request' && r.requestId === requestId),
    );
    // The simulated vLLM counts one token per word.
    expect(line).toMatchObject({ stream: true, tokens: { completion: text.split(' ').length } });
  });

  it('writes one log line per request with the logical and the resolved model, never the key', async () => {
    const { response } = await ask('summarize-model');
    const id = response.headers.get('x-request-id');
    expect(id).toBeTruthy();
    const line = await eventually(() => logs.records().find((r) => r.requestId === id));
    expect(line).toMatchObject({
      event: 'request',
      keyId: 'default/team-a',
      routeConfig: 'default/default',
      logicalModel: 'summarize-model',
      resolvedModel: response.headers.get('x-agent-router-resolved-model'),
      backend: response.headers.get('x-agent-router-backend'),
      provider: 'OpenAICompatible',
      attempts: [{ backend: response.headers.get('x-agent-router-backend'), status: 200 }],
      status: 200,
      method: 'POST',
      path: '/v1/chat/completions',
      operation: 'chat.completions',
      decision: 'weighted-split',
    });
    expect(line.startedAt).toBeGreaterThan(Date.now() - 60_000);
    // pino's own `time`, once: the record's start time does not name the key a second time.
    expect(logs.lines.find((l) => l.includes(`"requestId":"${id}"`))!.match(/"time":/g)).toHaveLength(1);
    expect(line.latencyMs).toBeGreaterThan(0);
    expect(line.ttftMs).toBeGreaterThan(0);
    expect(line.ttftMs).toBeLessThanOrEqual(line.latencyMs as number);
    expect(line.tokens).toMatchObject({ prompt: expect.any(Number), completion: expect.any(Number) });
    expect(logs.lines.join('\n')).not.toContain(TEAM_A);
    expect(logs.lines.join('\n')).not.toContain('sim-provider-secret');
  });

  it('serves the self-hosted model from a pod the endpoint picker chose', async () => {
    const { data, response } = await ask('llama-self-hosted');
    expect(data.model).toBe('meta-llama/Llama-3.1-8B-Instruct');
    expect(response.headers.get('x-sim-server')).toMatch(/^llama-vllm-[0-3]$/);
    expect(response.headers.get('x-session-token')).toBeTruthy();
    // The record says which pod and why: the picker's scores reach the per-attempt filter through
    // Envoy's forwarded metadata and are kept on the attempt.
    const id = response.headers.get('x-request-id');
    const line = await eventually(() => logs.records().find((r) => r.requestId === id));
    const [attempt] = line.attempts as AttemptRecord[];
    expect(attempt!.endpoint).toMatch(/^127\.\d+\.\d+\.\d+:\d+$/);
    const { total, scores, weights } = attempt!.picker!;
    expect(Object.keys(scores).sort()).toEqual(Object.keys(weights).sort());
    expect(Object.keys(scores)).toEqual(
      expect.arrayContaining(['queue', 'kv-cache-utilization', 'prefix-cache']),
    );
    // The total is the weighted sum of the scores (each rounded to 3 decimals).
    const sum = Object.entries(scores).reduce((acc, [scorer, s]) => acc + s * weights[scorer]!, 0);
    expect(Math.abs(sum - total)).toBeLessThan(0.01);
  });

  it('exports Prometheus metrics labelled with logical and resolved model', async () => {
    const text = await (await fetch(`${stack.extProc.adminUrl}/metrics`)).text();
    expect(text).toMatch(
      /agent_router_requests_total\{[^}]*logical_model="chat-model"[^}]*resolved_model="llama-3\.1-8b-instruct"[^}]*status="200"[^}]*\} \d+/,
    );
    expect(text).toMatch(/agent_router_tokens_total\{[^}]*type="completion"[^}]*\} \d+/);
    // The histograms (histogram-cells.ts): every request in _count, and in the +Inf bucket alike.
    const count =
      /agent_router_request_duration_seconds_count\{([^}]*logical_model="chat-model"[^}]*status="200"[^}]*)\} (\d+)/.exec(
        text,
      );
    expect(Number(count?.[2])).toBeGreaterThan(0);
    expect(text).toContain(
      `agent_router_request_duration_seconds_bucket{le="+Inf",${count![1]}} ${count![2]}`,
    );
    expect(text).toMatch(/agent_router_time_to_first_token_seconds_bucket\{le="0\.001",[^}]*\} \d+/);
    expect(text).not.toContain(TEAM_A);
  });
});
