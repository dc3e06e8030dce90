/**
 * The workload of the chat benchmarks: one ~2 KB OpenAI chat request and one ~2 KB chat.completion
 * answer, with the headers Envoy hands each ext_proc filter for them (examples/local.yaml's key and model).
 */

const FILLER =
  'The quarterly report covers revenue, churn, hiring and the roadmap for the platform team, ' +
  'with a summary of incidents and the follow-up actions agreed in the review. ';

/** Deterministic prose of exactly `bytes` ASCII bytes. */
function prose(bytes: number): string {
  return FILLER.repeat(Math.ceil(bytes / FILLER.length)).slice(0, bytes);
}

/** Pads the largest string field so the JSON encoding is `bytes` long. */
function sized(build: (text: string) => unknown, bytes: number): Buffer {
  const overhead = Buffer.byteLength(JSON.stringify(build('')));
  return Buffer.from(JSON.stringify(build(prose(bytes - overhead))));
}

export const REQUEST_BODY_BYTES = 2048;
export const RESPONSE_BODY_BYTES = 2048;

export const GATEWAY_KEY = 'sk-agent-router-team-a';
export const KEY_ID = 'default/team-a';
export const MODEL = 'chat-model';
/** The entry the upstream filter is told to translate for (the router picks chat-v1 or chat-v2). */
export const ROUTE_ENTRY = 'default/default/chat-v1';

export const chatRequestBody: Buffer = sized(
  (text) => ({
    model: MODEL,
    messages: [
      { role: 'system', content: 'You are a concise assistant for an engineering organisation.' },
      { role: 'user', content: `Summarise this for an executive audience: ${text}` },
    ],
    temperature: 0.2,
    max_tokens: 256,
    user: 'bench-user-42',
  }),
  REQUEST_BODY_BYTES,
);

export const chatResponseBody: Buffer = sized(
  (text) => ({
    id: 'chatcmpl-bench0000000000000000000000',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'llama-3.1-8b-instruct',
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    usage: {
      prompt_tokens: 412,
      completion_tokens: 389,
      total_tokens: 801,
      prompt_tokens_details: { cached_tokens: 0 },
    },
  }),
  RESPONSE_BODY_BYTES,
);

export type HeaderList = readonly (readonly [string, string])[];

/** What the client sent, as the router-level filter sees it. */
export function routerRequestHeaders(requestId: string): HeaderList {
  return [
    [':authority', 'gateway.local:8080'],
    [':path', '/v1/chat/completions'],
    [':method', 'POST'],
    [':scheme', 'http'],
    ['content-type', 'application/json'],
    ['content-length', String(chatRequestBody.length)],
    ['authorization', `Bearer ${GATEWAY_KEY}`],
    ['user-agent', 'OpenAI/Python 1.54.0'],
    ['accept', 'application/json'],
    ['x-forwarded-proto', 'http'],
    ['x-request-id', requestId],
  ];
}

/** The same request after the router's mutations, as the upstream filter sees it on attempt 1. */
export function upstreamRequestHeaders(requestId: string): HeaderList {
  return [
    [':authority', 'gateway.local:8080'],
    [':path', '/v1/chat/completions'],
    [':method', 'POST'],
    [':scheme', 'http'],
    ['content-type', 'application/json'],
    ['content-length', String(chatRequestBody.length)],
    ['user-agent', 'OpenAI/Python 1.54.0'],
    ['accept', 'application/json'],
    ['x-forwarded-proto', 'http'],
    ['x-request-id', requestId],
    ['x-agent-router-route', ROUTE_ENTRY],
    ['x-agent-router-key-id', KEY_ID],
    ['x-agent-router-model', MODEL],
    ['x-envoy-attempt-count', '1'],
    ['x-envoy-expected-rq-timeout-ms', '30000'],
  ];
}

/** The backend's answer as the upstream filter sees it. */
export const upstreamResponseHeaders: HeaderList = [
  [':status', '200'],
  ['content-type', 'application/json'],
  ['content-length', String(chatResponseBody.length)],
  ['date', 'Tue, 14 Nov 2023 22:13:20 GMT'],
  ['server', 'uvicorn'],
];

/** The answer after the upstream filter's mutations, as the router-level filter sees it. */
export const routerResponseHeaders: HeaderList = [
  ...upstreamResponseHeaders,
  ['x-agent-router-resolved-model', 'llama-3.1-8b-instruct'],
  ['x-agent-router-backend', 'default/sim-llama-v1'],
  ['x-agent-router-attempt', '1'],
];
