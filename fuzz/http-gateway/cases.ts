/**
 * The cases of the HTTP fuzz target, drawn with fast-check from (seed, index) alone: one HTTP request
 * to the dev gateway (method, raw request target, raw header list, body bytes and framing), how the
 * client behaves (reads to the end, leaves once the response starts, leaves mid-upload), and what the
 * fake providers answer on each attempt. A case is plain data; gateway keys appear in it as
 * `{{key:<name>}}` and are filled in when it is sent, so a case prints without secrets and replays
 * identically in a run with other secrets.
 *
 * Families: valid OpenAI bodies (chat with tools, streams with stream_options, n, …; legacy completions;
 * embeddings; Responses with input items, function and built-in tools, text.format, reasoning, store
 * and previous_response_id) and Anthropic Messages bodies (blocks of every kind a client replays:
 * text, images, tool_use and tool_result, thinking with Claude's, the gateway's or no signature,
 * redacted_thinking; cache_control, top_k, thinking budgets, server tools; count_tokens) with mutations of their values (dropped keys, wrong types for every field, deep nesting,
 * huge strings, odd `model`s) and of their bytes (duplicate keys, escaped duplicates like `"mod\u0065l"`,
 * invalid UTF-8, truncation, trailing garbage, a BOM, numbers out of range, `__proto__`, non-objects);
 * bodies at, just over and far over the limit, empty and absent bodies, chunked uploads; request targets
 * with odd casing, double slashes, dot segments, percent-encoding, query strings (credentials in them
 * too) and very long paths; headers with every kind of key (absent, malformed, unknown, disabled, of an
 * inactive configuration, in x-api-key), content-type variants, duplicates, client-forged internal
 * headers, huge values, session and policy headers.
 */
import fc from 'fast-check';
import type { Answer } from './providers.ts';
import { BODY_LIMIT, type KeyName, LOGICAL_MODELS, NAMESPACE, PROVIDER_MODEL_IDS } from './stack.ts';

export type ClientMode = 'read' | 'abort-after-response' | 'abort-mid-upload';

export interface HttpCase {
  /** What was drawn, in a few words per aspect (the families and mutations this case belongs to). */
  labels: string[];
  method: string;
  /** The request target as sent; may hold `{{key:<name>}}`. */
  target: string;
  /** Raw header lines in order, duplicates kept; values may hold `{{key:<name>}}`. */
  headers: [string, string][];
  /** undefined: no body and no framing header at all. */
  body: Buffer | undefined;
  chunked: boolean;
  client: ClientMode;
  /** The providers' answer for attempt n is answers[n - 1] (the last one for later attempts). */
  answers: Answer[];
}

export interface WireRequest {
  method: string;
  target: string;
  headers: string[];
  body: Buffer | undefined;
}

const KEY_PLACEHOLDER = /\{\{key:([a-z]+)\}\}/g;

/** The request as sent: keys filled in, `{{id}}` replaced by the case's request id, framing added. */
export function toWire(c: HttpCase, keys: Readonly<Record<KeyName, string>>, requestId: string): WireRequest {
  const fill = (text: string) =>
    text.replace(KEY_PLACEHOLDER, (_, name: KeyName) => keys[name]).replaceAll('{{id}}', requestId);
  const headers: string[] = [];
  for (const [name, value] of c.headers) headers.push(name, fill(value));
  if (c.body !== undefined) {
    if (c.chunked) headers.push('transfer-encoding', 'chunked');
    else headers.push('content-length', String(c.body.length));
  }
  return { method: c.method, target: fill(c.target), headers, body: c.body };
}

/** The case as a person reads it: placeholders instead of keys, long parts clipped. */
export function describe(c: HttpCase): string {
  const clipText = (t: string, max = 160) => (t.length <= max ? t : `${t.slice(0, max)}…(${t.length})`);
  const headers = c.headers.map(([n, v]) => `${n}: ${clipText(v, 80)}`).join(' | ');
  const body =
    c.body === undefined
      ? '(no body)'
      : `${c.chunked ? 'chunked ' : ''}${c.body.length}B ${clipText(JSON.stringify(c.body.toString('latin1')), 400)}`;
  const answers = c.answers.map((a) =>
    a.kind === 'error' ? `error ${a.status}${a.html ? ' html' : ''}` : a.kind,
  );
  return `[${c.labels.join(', ')}] ${c.method} ${clipText(c.target)} || ${headers} || ${body} || client ${c.client} || providers ${answers.join(' → ')}`;
}

export function caseSeed(seed: number, index: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) | 0;
}

/** Case `index` of the run with `seed`. */
export function drawCase(seed: number, index: number): HttpCase {
  return fc.sample(
    fc.gen().map((g) => buildCase(new Draw(g))),
    { seed: caseSeed(seed, index), numRuns: 1, unbiased: true },
  )[0]!;
}

class Draw {
  constructor(private readonly g: fc.GeneratorValue) {}
  int(min: number, max: number): number {
    return this.g(fc.integer, { min, max });
  }
  chance(p: number): boolean {
    return this.int(0, 9_999) < p * 10_000;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }
  weighted<T>(pairs: readonly (readonly [number, T])[]): T {
    const total = pairs.reduce((n, [w]) => n + w, 0);
    let at = this.int(0, total - 1);
    for (const [w, value] of pairs) {
      if (at < w) return value;
      at -= w;
    }
    return pairs[pairs.length - 1]![1];
  }
  /** Short text of any code points (lone surrogates included). */
  text(maxLength = 16): string {
    return this.g(fc.string, { maxLength, unit: 'binary' });
  }
  word(): string {
    return this.g(fc.stringMatching, /^[a-z][a-z0-9_-]{0,11}$/);
  }
  /**
   * What Node lets a client send in a header value: visible ASCII and, unless `ascii`, obs-text. (Node
   * writes obs-text as latin1 with the body but as UTF-8 when the headers are flushed alone, so a value
   * that must arrive as drawn, such as a request id, stays ASCII.)
   */
  headerValue(maxLength = 24, ascii = false): string {
    const visible = fc.integer({ min: 0x20, max: 0x7e });
    const char = ascii ? visible : fc.oneof(visible, fc.integer({ min: 0x80, max: 0xff }));
    const chars = this.g(fc.array, char, { maxLength });
    return String.fromCharCode(...chars).trim();
  }
}

type Operation =
  | 'chat'
  | 'completions'
  | 'embeddings'
  | 'models'
  | 'model'
  | 'messages'
  | 'count_tokens'
  | 'responses';

function buildCase(d: Draw): HttpCase {
  const labels: string[] = [];
  const operation = d.weighted<Operation>([
    [48, 'chat'],
    [7, 'completions'],
    [14, 'embeddings'],
    [4, 'models'],
    [3, 'model'],
    [14, 'messages'],
    [3, 'count_tokens'],
    [11, 'responses'],
  ]);
  if (operation === 'messages' || operation === 'count_tokens' || operation === 'responses')
    labels.push(operation);
  const { target, method } = requestLine(d, operation, labels);
  const headers = withinHeaderLimit(target, requestHeaders(d, labels));
  let body: Buffer | undefined;
  if (operation === 'models' || operation === 'model') {
    body = d.chance(0.1) ? Buffer.from('{}') : undefined;
  } else {
    body = requestBody(d, operation, labels);
  }
  const chunked = body !== undefined && d.chance(0.1);
  if (chunked) labels.push('chunked');
  const client = d.weighted<ClientMode>([
    [88, 'read'],
    [8, 'abort-after-response'],
    [body && body.length > 10 ? 4 : 0, 'abort-mid-upload'],
  ]);
  if (client !== 'read') labels.push(client);
  const answers = providerAnswers(d, client);
  return { labels, method, target, headers, body, chunked, client, answers };
}

/**
 * Node's HTTP server refuses a request head over 16 KiB (--max-http-header-size) with a bare 431
 * before any handler runs, as Envoy does past its own limit; cases stay under it (keys and request id
 * filled in, framing added), shortening the padding header first, so the gateway is what answers.
 */
const HEAD_BUDGET = 15 * 1024;

function withinHeaderLimit(target: string, headers: [string, string][]): [string, string][] {
  const size = () => target.length + headers.reduce((n, [k, v]) => n + k.length + v.length + 4, 0) + 300;
  for (const name of ['x-pad', 'x-session-id']) {
    const over = size() - HEAD_BUDGET;
    if (over <= 0) break;
    const i = headers.findIndex(([n, v]) => n === name && v.length > over);
    if (i >= 0) headers[i] = [name, headers[i]![1].slice(0, headers[i]![1].length - over)];
  }
  return headers;
}

// ---------------------------------------------------------------------------------------------------
// Request line

const PATHS: Record<Exclude<Operation, 'model'>, string> = {
  chat: '/v1/chat/completions',
  completions: '/v1/completions',
  embeddings: '/v1/embeddings',
  models: '/v1/models',
  messages: '/v1/messages',
  count_tokens: '/v1/messages/count_tokens',
  responses: '/v1/responses',
};

function requestLine(d: Draw, operation: Operation, labels: string[]): { target: string; method: string } {
  let path: string;
  if (operation === 'model') {
    const name = d.weighted<string>([
      [4, d.pick(LOGICAL_MODELS)],
      [2, d.pick(PROVIDER_MODEL_IDS)],
      [1, percentEncoded(d.text(12))],
      [1, d.pick(['%ZZ', '%E0%A4%A', '%', '%00', '%2F..%2F', 'chat%2Fcompletions'])],
      [1, ''],
    ]);
    path = `/v1/models/${name}`;
  } else path = PATHS[operation];
  if (d.chance(0.1)) path = mutatePath(d, path, labels);
  let query = '';
  if (d.chance(0.08)) {
    const q = d.weighted<string>([
      [2, 'key={{key:team}}'],
      [1, 'api_key={{key:team}}'],
      [1, 'KEY={{key:unknown}}'],
      [1, '%6Bey={{key:team}}'],
      [1, 'a=b&access_token={{key:byok}}'],
      [2, 'stream=true'],
      [1, 'api-version=2024-10-21'],
      [1, `q=${'z'.repeat(d.int(1, 6_000))}`],
      [1, '&&=&'],
      [1, 'key'],
    ]);
    query = `?${q}`;
    labels.push(`query ${q.includes('{{key') ? 'with a key' : q.slice(0, 12)}`);
  }
  const fragment = d.chance(0.02) ? '#frag' : '';
  const natural = operation === 'models' || operation === 'model' ? 'GET' : 'POST';
  const method = d.chance(0.06)
    ? d.pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'POST'])
    : natural;
  if (method !== natural) labels.push(`method ${method}`);
  return { target: path + query + fragment, method };
}

/** Every byte of the UTF-8 (lone surrogates become U+FFFD) percent-encoded but unreserved ones. */
function percentEncoded(text: string): string {
  let out = '';
  for (const b of Buffer.from(text, 'utf8'))
    out += /[A-Za-z0-9\-._~]/.test(String.fromCharCode(b))
      ? String.fromCharCode(b)
      : `%${b.toString(16).padStart(2, '0')}`;
  return out;
}

function mutatePath(d: Draw, path: string, labels: string[]): string {
  const kind = d.pick([
    'upper',
    'double-slash-start',
    'double-slash-inside',
    'dot-segment',
    'dot-dot-segment',
    'trailing-slash',
    'percent-letter',
    'percent-slash',
    'matrix-param',
    'long',
    'no-v1',
  ] as const);
  labels.push(`path ${kind}`);
  switch (kind) {
    case 'upper':
      return path.replace(/[a-z]/g, (c) => (d.chance(0.4) ? c.toUpperCase() : c));
    case 'double-slash-start':
      return `/${path}`;
    case 'double-slash-inside':
      return path.replace('/v1/', '/v1//');
    case 'dot-segment':
      return path.replace('/v1/', '/v1/./');
    case 'dot-dot-segment':
      return path.replace('/v1/', '/v1/x/../');
    case 'trailing-slash':
      return `${path}/`;
    case 'percent-letter': {
      const i = d.int(1, path.length - 1);
      const c = path[i]!;
      return c === '/' ? path : `${path.slice(0, i)}%${c.charCodeAt(0).toString(16)}${path.slice(i + 1)}`;
    }
    case 'percent-slash':
      return path.replace(/\/([a-z]+)$/, '%2F$1');
    case 'matrix-param':
      return `${path};v=1`;
    case 'long':
      return `${path}/${'a'.repeat(d.int(100, 7_000))}`;
    case 'no-v1':
      return path.replace('/v1', '');
  }
}

// ---------------------------------------------------------------------------------------------------
// Headers

/** Client-forged internal headers: values a forger would choose (a real route, another key's id). */
const FORGED: readonly [string, string][] = [
  ['x-agent-router-route', `${NAMESPACE}/main/chat-regulated`],
  ['x-agent-router-route', `${NAMESPACE}/main/gpt-4o`],
  ['x-agent-router-key-id', `${NAMESPACE}/byok`],
  ['x-agent-router-model', 'forged-model'],
  ['x-agent-router-resolved-model', 'forged-resolved'],
  ['x-agent-router-backend', `${NAMESPACE}/sovereign`],
  ['x-agent-router-attempt', '7'],
  ['x-agent-router-provider-request-id', 'forged-request-id'],
  ['x-agent-router-filter', 'upstream'],
  ['x-agent-router-anything', 'forged-anything'],
  ['x-agent-router-priority', '5'],
  ['x-gateway-destination-endpoint', '127.0.0.1:9'],
  ['x-gateway-destination-endpoint-served', '127.0.0.1:9'],
  ['x-gateway-destination-endpoint-subset', '127.0.0.1:9'],
  ['x-envoy-attempt-count', '3'],
];

function requestHeaders(d: Draw, labels: string[]): [string, string][] {
  const headers: [string, string][] = [['host', '127.0.0.1']];
  const auth = d.weighted<string>([
    [66, 'bearer team'],
    [15, 'bearer byok'],
    [8, 'x-api-key team'],
    [3, 'none'],
    [2, 'bearer disabled'],
    [2, 'bearer unknown'],
    [2, 'bearer inactive'],
    [1, 'x-api-key unknown'],
    [1, 'basic'],
    [1, 'bearer empty'],
    [1, 'lowercase scheme'],
    [1, 'double space'],
    [1, 'bearer + x-api-key of another'],
    [1, 'two authorization headers'],
    [1, 'garbage'],
  ]);
  if (!auth.startsWith('bearer team') && auth !== 'bearer byok') labels.push(`auth ${auth}`);
  switch (auth) {
    case 'bearer team':
    case 'bearer byok':
    case 'bearer disabled':
    case 'bearer unknown':
    case 'bearer inactive':
      headers.push(['authorization', `Bearer {{key:${auth.slice(7)}}}`]);
      break;
    case 'x-api-key team':
      headers.push(['x-api-key', '{{key:team}}']);
      break;
    case 'x-api-key unknown':
      headers.push(['x-api-key', '{{key:unknown}}']);
      break;
    case 'basic':
      headers.push(['authorization', 'Basic dXNlcjpwYXNz']);
      break;
    case 'bearer empty':
      headers.push(['authorization', 'Bearer']);
      break;
    case 'lowercase scheme':
      headers.push(['authorization', 'bearer {{key:team}}']);
      break;
    case 'double space':
      headers.push(['authorization', 'Bearer  {{key:team}}']);
      break;
    case 'bearer + x-api-key of another':
      headers.push(['authorization', 'Bearer {{key:team}}'], ['x-api-key', '{{key:unknown}}']);
      break;
    case 'two authorization headers':
      headers.push(['authorization', 'Bearer {{key:unknown}}'], ['authorization', 'Bearer {{key:team}}']);
      break;
    case 'garbage':
      headers.push(['authorization', d.headerValue(40)]);
      break;
  }
  const contentType = d.weighted<string | undefined>([
    [80, 'application/json'],
    [4, undefined],
    [3, 'application/json; charset=utf-8'],
    [2, 'text/plain'],
    [2, 'application/x-www-form-urlencoded'],
    [2, 'multipart/form-data; boundary=x'],
    [2, 'APPLICATION/JSON'],
    [2, 'application/json; charset=utf-16'],
    [3, 'twice'],
  ]);
  if (contentType !== 'application/json') labels.push(`content-type ${contentType ?? 'absent'}`);
  if (contentType === 'twice')
    headers.push(['content-type', 'application/json'], ['content-type', 'text/plain']);
  else if (contentType !== undefined) headers.push(['content-type', contentType]);

  if (d.chance(0.15)) {
    const n = d.int(1, 4);
    for (let i = 0; i < n; i++) headers.push(d.pick(FORGED));
    labels.push('forged internals');
  }
  if (d.chance(0.2)) headers.push(['x-session-id', d.chance(0.1) ? 's'.repeat(d.int(1, 4_000)) : d.word()]);
  if (d.chance(0.05)) headers.push(['x-session-id', d.word()]);
  if (d.chance(0.15)) {
    const value = d.weighted<string>([
      [6, 'regulated'],
      [1, 'Regulated'],
      [1, 'public'],
    ]);
    headers.push(['x-data-class', value]);
    if (d.chance(0.15)) headers.push(['x-data-class', 'regulated']);
    labels.push(`x-data-class ${value}`);
  }
  const requestId = d.weighted<'own' | 'none' | 'twice' | 'odd'>([
    [85, 'own'],
    [9, 'none'],
    [3, 'twice'],
    [3, 'odd'],
  ]);
  // The request id a case sends is filled in by the target (it knows the index); these say how.
  if (requestId !== 'own') labels.push(`request-id ${requestId}`);
  if (requestId === 'own') headers.push(['x-request-id', '{{id}}']);
  else if (requestId === 'twice') headers.push(['x-request-id', '{{id}}-a'], ['x-request-id', '{{id}}-b']);
  else if (requestId === 'odd') headers.push(['x-request-id', `{{id}} ${d.headerValue(30, true)}`]);
  if (d.chance(0.05)) {
    headers.push(['x-pad', 'p'.repeat(d.int(1_000, 7_000))]);
    labels.push('huge header');
  }
  if (d.chance(0.1))
    headers.push(['accept', d.pick(['text/event-stream', 'application/json', '*/*', '', 'x/y'])]);
  if (d.chance(0.05)) headers.push([d.pick(['x-a', 'x-custom', 'user-agent', 'cookie']), d.headerValue()]);
  if (d.chance(0.05)) headers.push(['connection', d.pick(['close', 'keep-alive'])]);
  return headers;
}

// ---------------------------------------------------------------------------------------------------
// Bodies

function modelValue(d: Draw, operation: Operation, labels: string[]): unknown {
  const kind = d.weighted<string>([
    [85, 'logical'],
    [4, 'provider id'],
    [3, 'unknown'],
    [2, 'empty'],
    [2, 'case variant'],
    [2, 'padded'],
    [1, 'long'],
    [3, 'non-string'],
    [1, 'odd text'],
  ]);
  if (kind !== 'logical') labels.push(`model ${kind}`);
  switch (kind) {
    case 'logical':
      return operation === 'embeddings' && d.chance(0.6) ? 'embed' : d.pick(LOGICAL_MODELS);
    case 'provider id':
      return d.pick(PROVIDER_MODEL_IDS);
    case 'unknown':
      return d.pick(['gpt-5-unknown', 'chat-model', 'models/chat', '../chat']);
    case 'empty':
      return '';
    case 'case variant':
      return d.pick(['CHAT', 'Chat', 'GPT-4o', 'Embed']);
    case 'padded':
      return d.pick([' chat', 'chat ', 'chat\n', 'chat\u0000']);
    case 'long':
      return 'm'.repeat(d.int(200, 20_000));
    case 'non-string':
      return d.pick([42, null, true, ['chat'], { name: 'chat' }, 0, -1.5]);
    default:
      return d.text(12);
  }
}

function message(d: Draw): Record<string, unknown> {
  const role = d.weighted<string>([
    [6, 'user'],
    [2, 'system'],
    [1, 'developer'],
    [2, 'assistant'],
    [1, 'tool'],
  ]);
  const content = d.chance(0.8)
    ? d.chance(0.7)
      ? d.pick(['Hello', 'What is the weather in Paris?', 'Summarise this.', ''])
      : d.text(40)
    : [{ type: 'text', text: d.pick(['Hi', 'Look']) }];
  const m: Record<string, unknown> = { role, content };
  if (role === 'assistant' && d.chance(0.4)) {
    m.tool_calls = [
      {
        id: d.pick(['call_abc123', 'call_1', 'x']),
        type: 'function',
        function: { name: 'get_weather', arguments: d.pick(['{"location":"Paris"}', '{', '']) },
      },
    ];
    if (d.chance(0.5)) m.content = null;
  }
  if (role === 'tool') m.tool_call_id = d.pick(['call_abc123', 'call_1']);
  if (role === 'user' && d.chance(0.1)) m.name = 'alice';
  return m;
}

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Get the current weather',
    parameters: {
      type: 'object',
      properties: { location: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } },
      required: ['location'],
    },
  },
};

/** Anthropic's client tool (platform.claude.com/docs/en/api/messages, `tools`). */
const MESSAGES_TOOL = {
  name: 'get_weather',
  description: 'Get the current weather',
  input_schema: WEATHER_TOOL.function.parameters,
};

/** A thinking block's signature: Claude's (opaque), the gateway's own, or none a real API gives. */
const SIGNATURES = ['EqQBCgIYAhIM1gbcDa9GJwZA2b3h', 'agent-router:reasoning:v1', ''];

function messagesBlock(d: Draw, role: 'user' | 'assistant'): Record<string, unknown> {
  const cache = () => (d.chance(0.15) ? { cache_control: { type: 'ephemeral' } } : {});
  if (role === 'assistant')
    return d.weighted<() => Record<string, unknown>>([
      [5, () => ({ type: 'text', text: d.pick(['Sure.', 'Let me check.', '']), ...cache() })],
      [3, () => ({ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { location: 'Paris' } })],
      [3, () => ({ type: 'thinking', thinking: 'Paris needs the tool.', signature: d.pick(SIGNATURES) })],
      [1, () => ({ type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix' })],
    ])();
  return d.weighted<() => Record<string, unknown>>([
    [6, () => ({ type: 'text', text: d.pick(['Hello', 'What is the weather in Paris?']), ...cache() })],
    [
      3,
      () => ({
        type: 'tool_result',
        tool_use_id: 'toolu_1',
        content: d.pick(['18°C', [{ type: 'text', text: '18°C' }]]),
        ...(d.chance(0.2) ? { is_error: true } : {}),
        ...cache(),
      }),
    ],
    [
      1,
      () => ({
        type: 'image',
        source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' },
        ...cache(),
      }),
    ],
    [1, () => ({ type: d.pick(['search_result', 'container_upload']), source: 'x' })],
  ])();
}

/** A Messages (or count_tokens) request: turns that alternate from a user turn, as agents send them. */
function messagesBody(d: Draw, operation: Operation, labels: string[]): Record<string, unknown> {
  const body: Record<string, unknown> = { model: modelValue(d, operation, labels) };
  if (operation === 'messages' || d.chance(0.05)) body.max_tokens = d.int(1, 4096);
  const turns = d.int(1, 5);
  const messages: Record<string, unknown>[] = [];
  for (let i = 0; i < turns; i++) {
    const role = i % 2 === 0 ? 'user' : 'assistant';
    const content = d.chance(0.4)
      ? d.pick(['Hello', 'What is the weather in Paris?', ''])
      : Array.from({ length: d.int(1, 3) }, () => messagesBlock(d, role));
    messages.push({ role, content });
  }
  body.messages = messages;
  if (d.chance(0.3))
    body.system = d.chance(0.5)
      ? 'You are terse.'
      : [{ type: 'text', text: 'Long rules', cache_control: { type: 'ephemeral' } }];
  if (d.chance(0.25)) {
    const server = d.chance(0.15);
    if (server) labels.push('server tool');
    body.tools = [server ? { type: 'web_search_20250305', name: 'web_search' } : MESSAGES_TOOL];
    if (d.chance(0.5))
      body.tool_choice = d.pick([
        { type: 'auto' },
        { type: 'any' },
        { type: 'none' },
        { type: 'tool', name: 'get_weather' },
        { type: 'auto', disable_parallel_tool_use: true },
      ]);
  }
  if (d.chance(0.15))
    body.thinking = d.pick([{ type: 'enabled', budget_tokens: 1024 }, { type: 'disabled' }]);
  if (d.chance(0.15)) body.top_k = d.int(1, 100);
  if (d.chance(0.15)) body.temperature = d.pick([0, 0.5, 1]);
  if (d.chance(0.1)) body.metadata = { user_id: d.word() };
  if (d.chance(0.05)) body.stop_sequences = ['END'];
  if (d.chance(0.03)) body.mcp_servers = [{ type: 'url', url: 'https://mcp.example/sse', name: 'x' }];
  if (d.chance(operation === 'messages' ? 0.4 : 0.03)) {
    body.stream = true;
    labels.push('stream');
  }
  return body;
}

/** A Responses request: a string or items of every kind a stateless agent resends. */
function responsesBody(d: Draw, labels: string[]): Record<string, unknown> {
  const body: Record<string, unknown> = { model: modelValue(d, 'responses', labels) };
  if (d.chance(0.35)) body.input = d.pick(['Hello', 'What is the weather in Paris?']);
  else {
    const items: Record<string, unknown>[] = [{ role: 'user', content: 'What is the weather in Paris?' }];
    const n = d.int(0, 4);
    for (let i = 0; i < n; i++)
      items.push(
        d.weighted<() => Record<string, unknown>>([
          [2, () => ({ role: 'assistant', content: [{ type: 'output_text', text: 'Sure.' }] })],
          [
            2,
            () => ({ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'And Oslo?' }] }),
          ],
          [
            2,
            () => ({
              type: 'function_call',
              call_id: 'call_1',
              name: 'get_weather',
              arguments: d.pick(['{"location":"Paris"}', '{']),
            }),
          ],
          [2, () => ({ type: 'function_call_output', call_id: 'call_1', output: '18°C' })],
          [
            2,
            () => ({
              type: 'reasoning',
              id: 'rs_1',
              summary: [{ type: 'summary_text', text: 'Needs the tool.' }],
              ...(d.chance(0.3) ? { encrypted_content: 'gAAAAB' } : {}),
            }),
          ],
          [1, () => ({ role: 'developer', content: 'Be terse.' })],
          [1, () => ({ type: d.pick(['file_search_call', 'item_reference']), id: 'x' })],
        ])(),
      );
    body.input = items;
  }
  if (d.chance(0.2)) body.instructions = 'You are terse.';
  if (d.chance(0.25)) {
    const builtIn = d.chance(0.15);
    if (builtIn) labels.push('built-in tool');
    body.tools = [
      builtIn
        ? { type: d.pick(['web_search', 'file_search', 'code_interpreter']) }
        : { type: 'function', name: 'get_weather', parameters: WEATHER_TOOL.function.parameters },
    ];
    if (d.chance(0.4))
      body.tool_choice = d.pick(['auto', 'required', { type: 'function', name: 'get_weather' }]);
  }
  if (d.chance(0.1))
    body.text = {
      format: d.pick([
        { type: 'json_object' },
        { type: 'json_schema', name: 'weather', schema: { type: 'object' }, strict: true },
      ]),
    };
  if (d.chance(0.1)) body.reasoning = { effort: d.pick(['low', 'medium', 'high']) };
  if (d.chance(0.15)) body.max_output_tokens = d.int(16, 512);
  if (d.chance(0.15)) body.store = !d.chance(0.7);
  if (d.chance(0.04)) body.previous_response_id = 'resp_abc123';
  if (d.chance(0.1)) body.user = d.word();
  if (d.chance(0.4)) {
    body.stream = true;
    labels.push('stream');
  }
  return body;
}

function validBody(d: Draw, operation: Operation, labels: string[]): Record<string, unknown> {
  if (operation === 'messages' || operation === 'count_tokens') return messagesBody(d, operation, labels);
  if (operation === 'responses') return responsesBody(d, labels);
  const body: Record<string, unknown> = { model: modelValue(d, operation, labels) };
  if (operation === 'embeddings') {
    body.input = d.chance(0.6)
      ? d.pick(['hello', 'a longer text to embed'])
      : ['one', 'two', 'three'].slice(0, d.int(1, 3));
    if (d.chance(0.4)) body.encoding_format = d.pick(['float', 'base64']);
    if (d.chance(0.1)) body.dimensions = d.pick([256, 1536]);
    return body;
  }
  if (operation === 'completions') {
    body.prompt = d.chance(0.8) ? 'Say hello' : ['Say', 'hello'];
    if (d.chance(0.5)) body.max_tokens = d.int(1, 64);
  } else {
    const messages = [message(d)];
    const more = d.int(0, 3);
    for (let i = 0; i < more; i++) messages.push(message(d));
    if (d.chance(0.7)) messages.unshift({ role: 'user', content: 'Hello' });
    body.messages = messages;
    if (d.chance(0.2)) {
      body.tools = [WEATHER_TOOL];
      if (d.chance(0.5))
        body.tool_choice = d.pick([
          'auto',
          'none',
          'required',
          { type: 'function', function: { name: 'get_weather' } },
        ]);
    }
    if (d.chance(0.15)) body.max_completion_tokens = d.int(1, 256);
    if (d.chance(0.15)) body.max_tokens = d.int(1, 256);
    if (d.chance(0.1)) body.response_format = d.pick([{ type: 'json_object' }, { type: 'text' }]);
    if (d.chance(0.05)) body.stop = d.pick(['\n', ['END']]);
  }
  if (d.chance(0.4)) {
    body.stream = true;
    labels.push('stream');
    if (d.chance(0.5)) body.stream_options = { include_usage: d.chance(0.8) };
  } else if (d.chance(0.1)) body.stream = false;
  if (d.chance(0.1)) body.n = d.int(1, 3);
  if (d.chance(0.2)) body.temperature = d.pick([0, 0.2, 1, 2]);
  if (d.chance(0.1)) body.user = d.word();
  if (d.chance(0.05)) body.seed = d.int(0, 1_000);
  return body;
}

/** Values of every JSON type, some of them large or deep. */
function weirdValue(d: Draw): unknown {
  return d.weighted<() => unknown>([
    [3, () => null],
    [2, () => d.pick([true, false])],
    [3, () => d.pick([0, -1, 1.5, 2 ** 53 + 2, 1e308, -1e-308])],
    [3, () => d.pick(['', 'x', 'true', '1', 'null'])],
    [2, () => d.text(30)],
    [2, () => []],
    [2, () => [null, 1, 'a']],
    [2, () => ({})],
    [2, () => ({ a: 1, model: 'chat' })],
    [1, () => nested(d.int(10, 400), d.chance(0.5))],
    [1, () => 'y'.repeat(d.int(1_000, 30_000))],
  ])();
}

/** Stands for a value nested this deep, spliced into the serialised body. */
const DEEP = '~~deep~~';

function nested(depth: number, arrays: boolean): unknown {
  let v: unknown = 'deep';
  for (let i = 0; i < depth; i++) v = arrays ? [v] : { a: v };
  return v;
}

const FIELDS = [
  'model',
  'messages',
  'stream',
  'stream_options',
  'n',
  'temperature',
  'max_tokens',
  'max_completion_tokens',
  'tools',
  'tool_choice',
  'user',
  'input',
  'prompt',
  'encoding_format',
  'dimensions',
  'response_format',
  'stop',
  'seed',
  'top_p',
  'logit_bias',
  'system',
  'top_k',
  'thinking',
  'metadata',
  'instructions',
  'text',
  'reasoning',
  'store',
  'previous_response_id',
] as const;

function mutateValue(d: Draw, body: Record<string, unknown>, labels: string[]): void {
  const kind = d.pick([
    'drop key',
    'wrong type',
    'wrong type',
    'wrong type',
    'message field',
    'tool field',
    'deep content',
    'huge content',
    'stream options',
  ] as const);
  switch (kind) {
    case 'drop key': {
      const keys = Object.keys(body);
      const key = d.pick(keys.length > 0 ? keys : ['model']);
      delete body[key];
      labels.push(`drop ${key}`);
      return;
    }
    case 'wrong type': {
      const field = d.pick(FIELDS);
      body[field] = weirdValue(d);
      labels.push(`${field} wrong type`);
      return;
    }
    case 'message field': {
      const messages = Array.isArray(body.messages) ? (body.messages as unknown[]) : [];
      if (messages.length === 0) {
        body.messages = [weirdValue(d)];
      } else {
        const i = d.int(0, messages.length - 1);
        const m = messages[i];
        const field = d.pick(['role', 'content', 'tool_calls', 'name', 'tool_call_id', '(whole)']);
        if (field === '(whole)' || m === null || typeof m !== 'object') messages[i] = weirdValue(d);
        else (m as Record<string, unknown>)[field] = weirdValue(d);
        labels.push(`messages[${i}].${field} wrong type`);
        return;
      }
      labels.push('messages[0] wrong type');
      return;
    }
    case 'tool field': {
      const tool = structuredClone(WEATHER_TOOL) as Record<string, unknown>;
      const field = d.pick(['type', 'function', 'function.name', 'function.parameters']);
      if (field.startsWith('function.'))
        (tool.function as Record<string, unknown>)[field.slice(9)] = weirdValue(d);
      else tool[field] = weirdValue(d);
      body.tools = [tool];
      if (d.chance(0.5)) body.tool_choice = { type: 'function', function: { name: weirdValue(d) } };
      labels.push(`tools[0].${field} wrong type`);
      return;
    }
    case 'deep content': {
      // Spliced in as text once the body is serialised (deepText): JSON.stringify would recurse as deep.
      // Around ext-proc's limit (MAX_DEPTH, 512 levels with the top-level object) and far past it.
      const depth = d.pick([d.int(50, 505), d.int(505, 515), d.int(515, 6_000)]);
      const deep = `${DEEP}${depth}${d.chance(0.5) ? 'a' : 'o'}`;
      if (Array.isArray(body.messages)) body.messages = [{ role: 'user', content: deep }];
      else body.input = deep;
      labels.push(`nesting ${depth}`);
      return;
    }
    case 'huge content': {
      const n = d.int(10_000, 60_000);
      const text = d.chance(0.7) ? 'h'.repeat(n) : '\u00e9\u4e2d\ud83d\ude00'.repeat(Math.floor(n / 9));
      if (Array.isArray(body.messages)) body.messages = [{ role: 'user', content: text }];
      else body.input = text;
      labels.push(`huge string ${n}`);
      return;
    }
    case 'stream options':
      body.stream = d.pick([true, 'true', 1, null]);
      body.stream_options = d.pick([
        null,
        [],
        'yes',
        { include_usage: 'yes' },
        { include_usage: true, x: 1 },
        {},
      ]);
      labels.push('stream/stream_options odd');
      return;
  }
}

function mutateBytes(d: Draw, text: string, labels: string[]): Buffer {
  const kind = d.pick([
    'duplicate model',
    'escaped duplicate model',
    'escaped duplicate stream',
    'duplicate messages',
    'invalid utf-8',
    'truncate',
    'trailing garbage',
    'bom',
    'whitespace',
    'number out of range',
    'lone surrogate escape',
    'proto key',
    'not an object',
    'not json',
    'nul escape in key',
  ] as const);
  labels.push(kind);
  const afterBrace = (insert: string) =>
    text.startsWith('{') ? `{${insert}${text.length > 2 ? ',' : ''}${text.slice(1)}` : text;
  switch (kind) {
    case 'duplicate model':
      return Buffer.from(
        d.chance(0.5)
          ? afterBrace(`"model":${JSON.stringify(d.pick(LOGICAL_MODELS))}`)
          : text.replace(/}$/, `,"model":${JSON.stringify(d.pick(LOGICAL_MODELS))}}`),
      );
    case 'escaped duplicate model': {
      const spelling = d.pick([
        '"mod\\u0065l"',
        '"\\u006dodel"',
        '"\\u006D\\u006F\\u0064\\u0065\\u006C"',
        '"model\\u0000"',
      ]);
      const value = JSON.stringify(d.pick(LOGICAL_MODELS));
      return Buffer.from(
        d.chance(0.5) ? text.replace(/}$/, `,${spelling}:${value}}`) : afterBrace(`${spelling}:${value}`),
      );
    }
    case 'escaped duplicate stream':
      return Buffer.from(text.replace(/}$/, `,"str\\u0065am":${d.pick(['true', 'false'])}}`));
    case 'duplicate messages':
      return Buffer.from(text.replace(/}$/, ',"messages":[{"role":"user","content":"second"}]}'));
    case 'invalid utf-8': {
      const bytes = d.pick([
        [0xff],
        [0xc3, 0x28],
        [0x80],
        [0xc0, 0xaf],
        [0xed, 0xa0, 0x80],
        [0xf4, 0x90, 0x80, 0x80],
      ]);
      const buf = Buffer.from(text);
      // Inside a string value when there is one, anywhere otherwise.
      const quote = buf.lastIndexOf('"', Math.max(0, buf.length - 2));
      const at = quote > 0 && d.chance(0.7) ? quote : d.int(0, buf.length);
      return Buffer.concat([buf.subarray(0, at), Buffer.from(bytes), buf.subarray(at)]);
    }
    case 'truncate': {
      const buf = Buffer.from(text);
      return buf.subarray(0, d.int(0, Math.max(0, buf.length - 1)));
    }
    case 'trailing garbage':
      return Buffer.from(text + d.pick(['}', 'x', '\u0000', '{"model":"chat"}', ',', ']', ' \n\t', '//c']));
    case 'bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
    case 'whitespace':
      return Buffer.from(`\n\t ${text.replace(/,/g, ' ,\n ')}\r\n`);
    case 'number out of range': {
      const n = d.pick([
        '1e999',
        '-1e999',
        '123456789012345678901234567890',
        '1.0e-400',
        '-0',
        '0.0000000000000000000001',
      ]);
      const field = d.pick(['n', 'temperature', 'max_tokens', 'seed', 'model']);
      return Buffer.from(text.replace(/}$/, `,"${field === 'model' ? 'top_p' : field}":${n}}`));
    }
    case 'lone surrogate escape':
      return Buffer.from(text.replace(/"(Hello|hello|Say hello)"/, '"\\ud800$1\\udc00x\\udfff"'));
    case 'proto key':
      return Buffer.from(afterBrace(`"__proto__":{"model":"gpt-4o","stream":true}`));
    case 'not an object':
      return Buffer.from(d.pick(['[]', '[{"model":"chat"}]', '"chat"', 'null', '42', 'true']));
    case 'not json':
      return Buffer.from(
        d.pick([
          "{'model':'chat'}",
          '{model:"chat"}',
          '{"model":NaN}',
          '{"model":"chat",}',
          'model=chat',
          '{"model":"chat" /* c */}',
        ]),
      );
    case 'nul escape in key':
      return Buffer.from(text.replace(/"messages"/, '"messages\\u0000"'));
  }
}

function requestBody(d: Draw, operation: Operation, labels: string[]): Buffer | undefined {
  const size = d.weighted<string>([
    [90, 'normal'],
    [2, 'empty'],
    [2, 'absent'],
    [2, 'at the limit'],
    [2, 'just over the limit'],
    [2, 'far over the limit'],
  ]);
  if (size === 'empty') {
    labels.push('empty body');
    return Buffer.alloc(0);
  }
  if (size === 'absent') {
    labels.push('no body');
    return undefined;
  }
  const body = validBody(d, operation, labels);
  if (size !== 'normal') {
    labels.push(`body ${size}`);
    const pad = (target: number) => {
      body.messages = [{ role: 'user', content: '' }];
      const base = Buffer.byteLength(JSON.stringify(body));
      body.messages = [{ role: 'user', content: 'q'.repeat(Math.max(0, target - base)) }];
    };
    if (size === 'at the limit') pad(BODY_LIMIT);
    else if (size === 'just over the limit') pad(BODY_LIMIT + 1);
    else pad(BODY_LIMIT + d.int(1_000, 200_000));
    return Buffer.from(JSON.stringify(body));
  }
  const valueMutations = d.weighted<number>([
    [65, 0],
    [25, 1],
    [10, 2],
  ]);
  for (let i = 0; i < valueMutations; i++) mutateValue(d, body, labels);
  const text = JSON.stringify(body).replace(
    new RegExp(`"${DEEP}(\\d+)([ao])"`, 'g'),
    (_, depth: string, kind: string) =>
      kind === 'a'
        ? `${'['.repeat(Number(depth))}"deep"${']'.repeat(Number(depth))}`
        : `${'{"a":'.repeat(Number(depth))}"deep"${'}'.repeat(Number(depth))}`,
  );
  return d.chance(0.22) ? mutateBytes(d, text, labels) : Buffer.from(text);
}

// ---------------------------------------------------------------------------------------------------
// Provider answers

function providerAnswer(d: Draw): Answer {
  return d.weighted<() => Answer>([
    [45, () => ({ kind: 'ok' })],
    [4, () => ({ kind: 'wrong-shape' })],
    [4, () => ({ kind: 'empty' })],
    [
      26,
      () => ({ kind: 'error', status: d.pick([400, 401, 403, 404, 429, 500, 503]), html: d.chance(0.15) }),
    ],
    [6, () => ({ kind: 'stream-error' })],
    [10, () => ({ kind: 'broken', chunks: d.int(1, 4) })],
  ])();
}

function providerAnswers(d: Draw, client: ClientMode): Answer[] {
  const answers = [providerAnswer(d)];
  const more = d.int(0, 2);
  for (let i = 0; i < more; i++) answers.push(providerAnswer(d));
  // A client that leaves once the response starts mostly meets a provider that never finishes, so
  // the gateway surely has a request in flight to cancel.
  if (client === 'abort-after-response' && d.chance(0.7)) answers[0] = { kind: 'hang' };
  return answers;
}
