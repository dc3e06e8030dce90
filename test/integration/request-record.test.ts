/**
 * The request record through the real stack (dev gateway + ext-proc over loopback gRPC, the official
 * OpenAI SDK): every attempt with its backend and status, TTFT and time per output token, tokens
 * including reasoning, the cost from the ProviderBackend's prices, and the session as a keyed hash only.
 * The providers are fakes on loopback that answer in OpenAI's documented format.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeProvider, startFakeProvider } from '../helpers/fake-provider.ts';
import { COMMON_YAML, startTestStack, type TestStack } from '../helpers/stack.ts';

let t: TestStack;
let primary: FakeProvider;
let backup: FakeProvider;
const SESSION = 'user-42';
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const completion = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
  usage: {
    prompt_tokens: 1_000,
    completion_tokens: 200,
    total_tokens: 1_200,
    prompt_tokens_details: { cached_tokens: 400 },
    completion_tokens_details: { reasoning_tokens: 50 },
  },
};

const chunk = (delta: object, extra: object = {}) =>
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta }], ...extra })}\n\n`;

beforeAll(async () => {
  primary = await startFakeProvider();
  backup = await startFakeProvider();
  t = await startTestStack({}, () =>
    [
      COMMON_YAML,
      `
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: primary }
spec:
  provider: OpenAI
  baseURL: ${primary.url}/v1
  credentials: { secretRef: { name: keys, key: provider } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: backup }
spec:
  provider: OpenAI
  baseURL: ${backup.url}/v1
  credentials: { secretRef: { name: keys, key: provider } }
  pricing:
    - { model: gpt-4o-mini, inputPerMillionTokens: 0.15, outputPerMillionTokens: 0.6, cachedInputPerMillionTokens: 0.075 }
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  fallback: { attempts: 2 }
  routes:
    - { name: first, model: chat-model, backendRef: { name: primary }, modelNameOverride: gpt-4o-mini, priority: 0 }
    - { name: second, model: chat-model, backendRef: { name: backup }, modelNameOverride: gpt-4o-mini, priority: 1 }
`,
    ].join(''),
  );
});

afterAll(async () => {
  await t?.close();
  await primary?.close();
  await backup?.close();
});

describe('the request record', () => {
  it('lists every attempt, prices the tokens, and keeps the session only as a keyed hash', async () => {
    primary.answer({ status: 500, body: '{"error":{"message":"boom","type":"server_error"}}' });
    backup.answer({ body: JSON.stringify(completion) });
    const { response } = await t
      .client()
      .chat.completions.create(
        { model: 'chat-model', messages: [{ role: 'user', content: 'hi' }] },
        { headers: { 'x-session-id': SESSION, traceparent: TRACEPARENT } },
      )
      .withResponse();
    const record = await t.logFor(response);
    expect(record).toMatchObject({
      status: 200,
      logicalModel: 'chat-model',
      resolvedModel: 'gpt-4o-mini',
      backend: 'default/backup',
      attempts: [
        { backend: 'default/primary', status: 500 },
        { backend: 'default/backup', status: 200 },
      ],
      tokens: { prompt: 1_000, completion: 200, cached: 400, reasoning: 50 },
      // The snapshot the provider says answered, beside the model the gateway asked it for.
      responseModel: 'gpt-4o-mini-2024-07-18',
      // The dev gateway does not trace (no stream metadata), so the client's own header is the parent.
      traceParent: TRACEPARENT,
    });
    // 600 uncached prompt tokens at $0.15/M, 400 cached at $0.075/M, 200 completion at $0.60/M.
    expect(record.costUsd).toBeCloseTo(600 * 0.15e-6 + 400 * 0.075e-6 + 200 * 0.6e-6, 12);
    expect(record.sessionHash).toMatch(/^[0-9a-f]{32}$/);
    expect(t.lines.join('\n')).not.toContain(SESSION);
    const attempts = record.attempts as { startMs: number; endMs: number }[];
    expect(attempts[0]!.endMs).toBeLessThanOrEqual(attempts[1]!.startMs);
  });

  it('times the first token and the tokens after it for a stream, and has no cost where no price is set', async () => {
    primary.answer({
      headers: { 'content-type': 'text/event-stream' },
      body: [
        chunk({ role: 'assistant', content: '' }),
        chunk({ content: 'one ' }),
        chunk({ content: 'two ' }),
        chunk({ content: 'three' }),
        `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini-2024-07-18', choices: [], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } })}\n\n`,
        'data: [DONE]\n\n',
      ],
    });
    const stream = await t
      .client()
      .chat.completions.create({
        model: 'chat-model',
        messages: [{ role: 'user', content: 'count' }],
        stream: true,
      })
      .withResponse();
    for await (const _ of stream.data) {
      // drain
    }
    const record = await t.logFor(stream.response);
    expect(record).toMatchObject({
      stream: true,
      status: 200,
      backend: 'default/primary',
      attempts: [{ backend: 'default/primary', status: 200 }],
      tokens: { prompt: 5, completion: 3 },
      responseModel: 'gpt-4o-mini-2024-07-18',
    });
    expect(record.traceParent).toBeUndefined();
    expect(record.costUsd).toBeUndefined();
    expect(record.sessionHash).toBeUndefined();
    const ttft = record.ttftMs as number;
    expect(ttft).toBeGreaterThan(0);
    expect(ttft).toBeLessThanOrEqual(record.latencyMs as number);
    // (latency − TTFT) over the 2 tokens after the first.
    expect(record.tpotMs).toBeCloseTo(((record.latencyMs as number) - ttft) / 2, 0);
  });

  it('records a request refused before any attempt with no attempts and its error code', async () => {
    const error = await t
      .client()
      .chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    const line = t.requestLogs().at(-1)!;
    expect(line).toMatchObject({ status: 404, attempts: [] });
    expect(typeof line.errorCode).toBe('string');
  });
});
