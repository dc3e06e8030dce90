/**
 * Workloads that go through a translating provider (Anthropic Messages): a streamed answer of many SSE
 * events, and a 10 MB request body. The manifest routes `chat-model` to an Anthropic backend; nothing is
 * ever sent to it — the benchmarks drive the ext_proc filters directly.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GATEWAY_KEY, type HeaderList } from './chat-workload.ts';

export const ANTHROPIC_ROUTE_ENTRY = 'default/default/chat-claude';

export function anthropicConfig(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-router-bench-'));
  const file = path.join(dir, 'anthropic.yaml');
  writeFileSync(
    file,
    `apiVersion: v1
kind: Secret
metadata: { name: keys }
stringData: { team-a: ${GATEWAY_KEY}, anthropic: sk-ant-bench-not-a-real-key }
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: claude }
spec:
  provider: Anthropic
  credentials: { secretRef: { name: keys, key: anthropic } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: default }
spec:
  routes:
    - { name: chat-claude, model: chat-model, backendRef: { name: claude }, modelNameOverride: claude-sonnet-4-5 }
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

export const streamRequestBody = Buffer.from(
  JSON.stringify({
    model: 'chat-model',
    messages: [{ role: 'user', content: 'Write a short story about a gateway.' }],
    max_tokens: 512,
    stream: true,
    stream_options: { include_usage: true },
  }),
);

/** A 10 MB chat request: one long user message (a document to summarise). */
export function bigRequestBody(bytes = 10 * 1024 * 1024): Buffer {
  const text = 'The quick brown fox jumps over the lazy dog. '
    .repeat(Math.ceil(bytes / 45))
    .slice(0, bytes - 200);
  return Buffer.from(
    JSON.stringify({ model: 'chat-model', max_tokens: 64, messages: [{ role: 'user', content: text }] }),
  );
}

/**
 * An Anthropic Messages stream as the API sends it (docs.anthropic.com "Streaming Messages"): one SSE
 * event per network chunk, `deltas` text deltas of a few words each.
 */
export function anthropicStream(deltas = 100): Buffer[] {
  const event = (type: string, data: unknown) =>
    Buffer.from(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
  const chunks = [
    event('message_start', {
      type: 'message_start',
      message: {
        id: 'msg_bench01',
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-4-5',
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 25, output_tokens: 1 },
      },
    }),
    event('content_block_start', {
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'text', text: '' },
    }),
    event('ping', { type: 'ping' }),
  ];
  for (let i = 0; i < deltas; i++) {
    chunks.push(
      event('content_block_delta', {
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'text_delta', text: ` word${i} and more` },
      }),
    );
  }
  chunks.push(
    event('content_block_stop', { type: 'content_block_stop', index: 0 }),
    event('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: 3 * deltas },
    }),
    event('message_stop', { type: 'message_stop' }),
  );
  return chunks;
}

export function upstreamHeadersFor(
  requestId: string,
  bodyLength: number,
  route = ANTHROPIC_ROUTE_ENTRY,
): HeaderList {
  return [
    [':authority', 'gateway.local:8080'],
    [':path', '/v1/chat/completions'],
    [':method', 'POST'],
    [':scheme', 'http'],
    ['content-type', 'application/json'],
    ['content-length', String(bodyLength)],
    ['x-request-id', requestId],
    ['x-agent-router-route', route],
    ['x-agent-router-key-id', 'default/team-a'],
    ['x-agent-router-model', 'chat-model'],
    ['x-envoy-attempt-count', '1'],
  ];
}

export function routerHeadersFor(requestId: string, bodyLength: number): HeaderList {
  return [
    [':authority', 'gateway.local:8080'],
    [':path', '/v1/chat/completions'],
    [':method', 'POST'],
    [':scheme', 'http'],
    ['content-type', 'application/json'],
    ['content-length', String(bodyLength)],
    ['authorization', `Bearer ${GATEWAY_KEY}`],
    ['x-request-id', requestId],
  ];
}
