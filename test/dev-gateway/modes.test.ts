/**
 * The same requests through the dev gateway with each ext_proc body mode Envoy may be configured
 * with, plus the streaming failure cases: a client that leaves, and an upstream that breaks mid-stream.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { LocalStackOptions } from '../../cli/local-stack.ts';
import { eventually } from '../helpers/log-capture.ts';
import { backendYaml, COMMON_YAML, startTestStack, type TestStack } from '../helpers/stack.ts';

const stacks: TestStack[] = [];
afterAll(async () => {
  await Promise.all(stacks.map((s) => s.close()));
});

async function stackWith(filters: LocalStackOptions['filters'], sim: { msPerToken?: number } = {}) {
  const t = await startTestStack(
    { a: { apiKey: 'provider-secret', ...sim } },
    (urls) =>
      [
        COMMON_YAML,
        backendYaml('a', urls.a!),
        `
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  routes:
    - { name: chat, model: chat-model, backendRef: { name: a }, modelNameOverride: provider-model }
`,
      ].join(''),
    { filters },
  );
  stacks.push(t);
  return t;
}

const big = 'lorem ipsum '.repeat(20_000);

describe.each([
  ['mode_override from NONE (our Envoy config)', {}],
  [
    'BUFFERED configured',
    { router: { requestBodyMode: 'BUFFERED' as const }, upstream: { requestBodyMode: 'BUFFERED' as const } },
  ],
  [
    'FULL_DUPLEX_STREAMED configured',
    {
      router: { requestBodyMode: 'FULL_DUPLEX_STREAMED' as const },
      upstream: { requestBodyMode: 'FULL_DUPLEX_STREAMED' as const },
    },
  ],
  [
    'FULL_DUPLEX_STREAMED for responses',
    {
      router: { responseBodyMode: 'FULL_DUPLEX_STREAMED' as const },
      upstream: { responseBodyMode: 'FULL_DUPLEX_STREAMED' as const },
    },
  ],
])('dev gateway with %s', (_name, filters) => {
  it('routes, rewrites and answers buffered and streaming requests, large bodies included', async () => {
    const t = await stackWith(filters);
    const client = t.client();
    const { data, response } = await client.chat.completions
      .create({ model: 'chat-model', messages: [{ role: 'user', content: big }], max_tokens: 3 })
      .withResponse();
    expect(data.model).toBe('provider-model');
    expect(response.headers.get('x-agent-router-resolved-model')).toBe('provider-model');
    expect(data.usage!.prompt_tokens).toBe(Math.ceil(big.length / 4));
    const stream = await client.chat.completions.create({
      model: 'chat-model',
      messages: [{ role: 'user', content: 'stream please' }],
      max_tokens: 6,
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text.split(' ')).toHaveLength(6);
  });
});

describe('dev gateway streaming failures', () => {
  it('ends the client stream with an error, never a clean-looking truncation, when the upstream breaks', async () => {
    const t = await stackWith({});
    t.sims.a!.setFault({ status: 500, afterTokens: 3 });
    const stream = await t.client().chat.completions.create({
      model: 'chat-model',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 50,
      stream: true,
    });
    const received: string[] = [];
    const consume = async () => {
      for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? '');
    };
    await expect(consume()).rejects.toThrow();
    expect(received.length).toBeGreaterThan(0);
    expect(received.length).toBeLessThan(50);
    const line = await eventually(() => t.requestLogs().find((r) => r.stream === true));
    expect(line).toMatchObject({ cancelled: true });
  });

  it('cancels the upstream and logs the request as cancelled when the client leaves mid-stream', async () => {
    const t = await stackWith({}, { msPerToken: 50 });
    const controller = new AbortController();
    const stream = await t
      .client()
      .chat.completions.create(
        { model: 'chat-model', messages: [{ role: 'user', content: 'hi' }], max_tokens: 500, stream: true },
        { signal: controller.signal },
      );
    let chunks = 0;
    // The SDK ends the iteration quietly when its own signal aborts it.
    for await (const _ of stream) {
      if (++chunks === 3) controller.abort();
    }
    expect(chunks).toBeLessThan(10);
    const line = await eventually(() => t.requestLogs().find((r) => r.stream === true));
    expect(line).toMatchObject({ cancelled: true, logicalModel: 'chat-model' });
    await eventually(() => (t.sims.a!.stats().running === 0 ? true : undefined));
  });
});
