/**
 * ext-proc's CPU per streamed SSE chunk for an Anthropic Messages client on an OpenAI backend: the
 * upstream-level filter turns the backend's chat.completion.chunk stream into Anthropic's events
 * (translate/messages-chat.ts through via-chat.ts) and the router-level filter reads their usage,
 * against a pass-through ExternalProcessor on the same gRPC stack that gets the same messages and
 * forwards every chunk unchanged. Same method as ext-proc-stream.ts: separate processes, cheapest of
 * alternating rounds.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Benchmark, BenchOptions } from './benchmark.ts';
import { GATEWAY_KEY, type HeaderList } from './chat-workload.ts';
import { DriverError, type ExtProcClient, FilterStream, headerMap, requestPhase } from './ext-proc-driver.ts';
import type { BenchResult } from './report.ts';
import { CHUNK_RATIO_GOAL, measureStreamCpu } from './stream-rounds.ts';

const ROUTE_ENTRY = 'default/default/messages-openai';

function config(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-router-bench-'));
  const file = path.join(dir, 'messages-openai.yaml');
  writeFileSync(
    file,
    `apiVersion: v1
kind: Secret
metadata: { name: keys }
stringData: { team-a: ${GATEWAY_KEY}, openai: sk-openai-bench-not-a-real-key }
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: openai }
spec:
  provider: OpenAI
  credentials: { secretRef: { name: keys, key: openai } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: default }
spec:
  routes:
    - { name: messages-openai, model: claude-model, backendRef: { name: openai }, modelNameOverride: gpt-4o-mini }
---
apiVersion: agentrouter.dev/v1alpha1
kind: APIKey
metadata: { name: team-a }
spec:
  secretRef: { name: keys, key: team-a }
  routeConfigRef: { name: default }
`,
  );
  return file;
}

const requestBody = Buffer.from(
  JSON.stringify({
    model: 'claude-model',
    max_tokens: 512,
    stream: true,
    messages: [{ role: 'user', content: 'Write a short story about a gateway.' }],
  }),
);

function headersFor(requestId: string, filter: 'router' | 'upstream'): HeaderList {
  const common: HeaderList = [
    [':authority', 'gateway.local:8080'],
    [':path', '/v1/messages'],
    [':method', 'POST'],
    [':scheme', 'http'],
    ['content-type', 'application/json'],
    ['content-length', String(requestBody.length)],
    ['x-request-id', requestId],
  ];
  return filter === 'router'
    ? [...common, ['x-api-key', GATEWAY_KEY], ['anthropic-version', '2023-06-01']]
    : [
        ...common,
        ['x-agent-router-route', ROUTE_ENTRY],
        ['x-agent-router-key-id', 'default/team-a'],
        ['x-agent-router-model', 'claude-model'],
        ['x-envoy-attempt-count', '1'],
      ];
}

/** An OpenAI chat stream as the API sends it: one chunk per network write, `deltas` text deltas. */
function chatStream(deltas = 100): Buffer[] {
  const head = {
    id: 'chatcmpl-bench01',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'gpt-4o-mini-2024-07-18',
  };
  const chunk = (delta: object, finish: string | null = null) =>
    Buffer.from(
      `data: ${JSON.stringify({ ...head, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`,
    );
  const chunks = [chunk({ role: 'assistant', content: '' })];
  for (let i = 0; i < deltas; i++) chunks.push(chunk({ content: ` word${i} and more` }));
  chunks.push(
    chunk({}, 'stop'),
    Buffer.from(
      `data: ${JSON.stringify({ ...head, choices: [], usage: { prompt_tokens: 25, completion_tokens: 3 * deltas, total_tokens: 25 + 3 * deltas } })}\n\n`,
    ),
    Buffer.from('data: [DONE]\n\n'),
  );
  return chunks;
}

const upstreamResponseHeaders = headerMap([
  [':status', '200'],
  ['content-type', 'text/event-stream; charset=utf-8'],
  ['x-request-id', 'req_bench01'],
]);
const routerResponseHeaders = headerMap([
  [':status', '200'],
  ['content-type', 'text/event-stream'],
  ['x-agent-router-resolved-model', 'gpt-4o-mini'],
  ['x-agent-router-backend', 'default/openai'],
  ['x-agent-router-attempt', '1'],
]);

async function exchange(
  client: ExtProcClient,
  requestId: string,
  chunks: readonly Buffer[],
): Promise<Buffer[]> {
  const router = new FilterStream(client, 'router');
  await requestPhase(router, headersFor(requestId, 'router'), requestBody);
  const upstream = new FilterStream(client, 'upstream');
  await requestPhase(upstream, headersFor(requestId, 'upstream'), requestBody);
  await upstream.send(
    { response_headers: { headers: upstreamResponseHeaders, end_of_stream: false } },
    'response_headers',
  );
  const translated: Buffer[] = [];
  for (let i = 0; i < chunks.length; i++) {
    const answer = await upstream.send(
      { response_body: { body: chunks[i]!, end_of_stream: i === chunks.length - 1 } },
      'response_body',
    );
    const mutation = answer.response_body?.response?.body_mutation;
    translated.push(mutation?.body ?? (mutation?.clear_body ? Buffer.alloc(0) : chunks[i]!));
  }
  const upstreamClosed = upstream.close();
  await router.send(
    { response_headers: { headers: routerResponseHeaders, end_of_stream: false } },
    'response_headers',
  );
  for (let i = 0; i < translated.length; i++) {
    await router.send(
      { response_body: { body: translated[i]!, end_of_stream: i === translated.length - 1 } },
      'response_body',
    );
  }
  await Promise.all([upstreamClosed, router.close()]);
  return translated;
}

async function run(options: BenchOptions): Promise<BenchResult[]> {
  const { ours, passthrough, ratio } = await measureStreamCpu(options, {
    config: config(),
    chunks: chatStream(100),
    exchange,
    // ext-proc must really translate: Anthropic events ending in message_stop.
    check(output) {
      if (
        !output.startsWith('event: message_start') ||
        !output.trimEnd().endsWith('data: {"type":"message_stop"}')
      )
        throw new DriverError('ext-proc did not translate the chat stream to Anthropic events');
    },
  });
  console.error(
    `messages streaming: ext-proc ${ours.toFixed(1)} µs per chunk vs pass-through ${passthrough.toFixed(1)} µs: ` +
      `${ratio.toFixed(2)}x (goal ≤ ${CHUNK_RATIO_GOAL}x): ${ratio <= CHUNK_RATIO_GOAL ? 'met' : 'NOT met'}`,
  );
  const round2 = (n: number) => Math.round(n * 100) / 100;
  return [
    { name: 'ext-proc.messages.stream.chunk-us', value: round2(ours), unit: 'us' },
    { name: 'ext-proc.messages.stream.chunk-ratio', value: round2(ratio), unit: 'x-passthrough' },
  ];
}

export const messagesStream: Benchmark = {
  name: 'ext-proc streaming (Anthropic Messages client → OpenAI)',
  run,
};
