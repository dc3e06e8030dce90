/**
 * Fake providers for the HTTP fuzz target: one loopback server per backend that records every request
 * exactly as received and answers what the case drew, in the provider's own wire format (OpenAI,
 * Azure OpenAI and Mistral shapes, their Responses API, Anthropic Messages and count_tokens, Gemini
 * generateContent): a success as JSON or
 * SSE, the wrong one of the two, an empty 200, an error whose body and headers quote the credential
 * the provider received (as real providers do: "Incorrect API key provided: sk-…"), a stream with an
 * error event quoting it, a connection reset mid-body, or a stream that hangs until the gateway closes
 * it. Requests still open are counted, so the target can tell an upstream request left behind.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeFormat = 'openai' | 'azure' | 'mistral' | 'anthropic' | 'gemini';

export type Answer =
  | { kind: 'ok' }
  /** JSON where SSE was asked for, SSE where JSON was. */
  | { kind: 'wrong-shape' }
  | { kind: 'empty' }
  | { kind: 'error'; status: number; html: boolean }
  /** A 200 stream that carries an error event quoting the credential, then ends. */
  | { kind: 'stream-error' }
  /** Status 200, the first `chunks` chunks of the success body, then a reset. */
  | { kind: 'broken'; chunks: number }
  /** Status 200, one chunk, then nothing until the gateway closes the request. */
  | { kind: 'hang' };

export interface Received {
  backend: string;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  requestId: string | undefined;
  /** x-envoy-attempt-count as received (1 when absent). */
  attempt: number;
  answer: Answer;
  /** The credential header's value as received, and the bare key in it. */
  credentialHeader: string | undefined;
  credential: string | undefined;
  /** How the exchange ended: answered, reset by us, closed by the gateway while hanging, or left hanging. */
  outcome: 'pending' | 'answered' | 'reset' | 'closed-by-gateway' | 'hang-timeout';
}

export interface FakeProvider {
  name: string;
  format: FakeFormat;
  url: string;
  received: Received[];
  /** Requests whose response has not closed yet. */
  inFlight(): number;
  script(answerFor: (request: Received) => Answer): void;
  close(): Promise<void>;
}

/** How long a hanging answer waits for the gateway to close the request before giving up. */
export const HANG_LIMIT_MS = 5_000;

const CREDENTIAL_HEADER: Record<FakeFormat, string> = {
  openai: 'authorization',
  mistral: 'authorization',
  azure: 'api-key',
  anthropic: 'x-api-key',
  gemini: 'x-goog-api-key',
};

const REQUEST_ID_HEADER: Partial<Record<FakeFormat, string>> = {
  openai: 'x-request-id',
  azure: 'apim-request-id',
  mistral: 'mistral-correlation-id',
  anthropic: 'request-id',
};

export async function startFakeProvider(name: string, format: FakeFormat): Promise<FakeProvider> {
  const received: Received[] = [];
  let open = 0;
  let answerFor: (request: Received) => Answer = () => ({ kind: 'ok' });
  const server = http.createServer({ maxHeaderSize: 256 * 1024 }, async (req, res) => {
    open++;
    res.on('close', () => open--);
    const chunks: Buffer[] = [];
    try {
      for await (const c of req) chunks.push(c as Buffer);
    } catch {
      res.destroy();
      return;
    }
    const header = req.headers[CREDENTIAL_HEADER[format]];
    const credentialHeader = Array.isArray(header) ? header.join(', ') : header;
    const attempt = Number(req.headers['x-envoy-attempt-count'] ?? '1');
    const requestId = req.headers['x-request-id'];
    const record: Received = {
      backend: name,
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks),
      requestId: Array.isArray(requestId) ? requestId.join(', ') : requestId,
      attempt: Number.isInteger(attempt) && attempt > 0 ? attempt : 1,
      answer: { kind: 'ok' },
      credentialHeader,
      credential: credentialHeader?.replace(/^Bearer /, ''),
      outcome: 'pending',
    };
    received.push(record);
    record.answer = answerFor(record);
    await answer(format, record, res);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    name,
    format,
    url: `http://127.0.0.1:${port}`,
    received,
    inFlight: () => open,
    script(next) {
      answerFor = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const tick = () => new Promise((r) => setImmediate(r));

async function answer(format: FakeFormat, request: Received, res: http.ServerResponse): Promise<void> {
  const shape = requestShape(format, request);
  const a = request.answer;
  const idHeader = REQUEST_ID_HEADER[format];
  const base: Record<string, string> = idHeader ? { [idHeader]: `req-${request.backend}-fuzz` } : {};
  const json = { ...base, 'content-type': 'application/json' };
  const sse = { ...base, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };
  const write = async (status: number, headers: Record<string, string>, parts: readonly string[]) => {
    res.writeHead(status, headers);
    for (const p of parts) {
      res.write(p);
      await tick();
    }
    res.end();
    request.outcome = 'answered';
  };
  switch (a.kind) {
    case 'ok':
      return shape.stream
        ? write(200, sse, successStream(format, shape))
        : write(200, json, successJson(format, shape));
    case 'wrong-shape':
      return shape.stream
        ? write(200, json, successJson(format, shape))
        : write(200, sse, successStream(format, { ...shape, stream: true }));
    case 'empty':
      return write(200, shape.stream ? sse : json, []);
    case 'error': {
      const quoted = { key: request.credential ?? '', header: request.credentialHeader ?? '' };
      const headers: Record<string, string> = {
        ...base,
        'content-type': a.html ? 'text/html' : 'application/json',
        // A server that echoes what it was sent in a header, too.
        'x-echo-credential': quoted.header,
      };
      if (a.status === 429) headers['retry-after'] = '1';
      const body = a.html
        ? `<html><head><title>${a.status}</title></head><body>upstream refused ${quoted.header}</body></html>`
        : errorBody(format, a.status, quoted);
      // Split inside the key, so a redaction that looks at one chunk at a time misses it.
      const at = quoted.key ? body.indexOf(quoted.key) + Math.ceil(quoted.key.length / 2) : -1;
      return write(a.status, headers, at > 0 ? [body.slice(0, at), body.slice(at)] : [body]);
    }
    case 'stream-error':
      return write(200, sse, streamWithError(format, shape, request.credential ?? ''));
    case 'broken': {
      const parts = shape.stream ? successStream(format, shape) : thirds(successJson(format, shape)[0]!);
      res.writeHead(200, shape.stream ? sse : json);
      for (const p of parts.slice(0, Math.max(1, Math.min(a.chunks, parts.length - 1)))) {
        res.write(p);
        await tick();
      }
      // Let the bytes go out before the reset, so the gateway has started the response.
      await new Promise((r) => setTimeout(r, 5));
      request.outcome = 'reset';
      res.socket?.destroy();
      return;
    }
    case 'hang': {
      const parts = shape.stream ? successStream(format, shape) : thirds(successJson(format, shape)[0]!);
      res.writeHead(200, shape.stream ? sse : json);
      res.write(parts[0]!);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          request.outcome = 'hang-timeout';
          resolve();
        }, HANG_LIMIT_MS);
        res.once('close', () => {
          clearTimeout(timer);
          if (request.outcome === 'pending') request.outcome = 'closed-by-gateway';
          resolve();
        });
      });
      if (!res.destroyed) res.destroy();
      return;
    }
  }
}

function thirds(text: string): string[] {
  const a = Math.floor(text.length / 3);
  return [text.slice(0, a), text.slice(a, 2 * a), text.slice(2 * a)];
}

export interface Shape {
  operation: 'chat' | 'completions' | 'embeddings' | 'responses' | 'count_tokens' | 'other';
  stream: boolean;
  /** The model the request names (body `model`, or the one in a Gemini path). */
  model: string;
  includeUsage: boolean;
  /** Gemini batchEmbedContents: how many inputs. */
  inputs: number;
}

function parsed(body: Buffer): Record<string, unknown> {
  try {
    const value = JSON.parse(body.toString('utf8')) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

export function requestShape(format: FakeFormat, request: Received): Shape {
  const body = parsed(request.body);
  const pathname = request.path.split('?')[0] ?? '';
  if (format === 'gemini') {
    const method = pathname.slice(pathname.lastIndexOf(':') + 1);
    const model = pathname.slice(pathname.lastIndexOf('/') + 1, pathname.lastIndexOf(':'));
    const requests = Array.isArray(body.requests) ? body.requests.length : 1;
    return {
      operation: method === 'batchEmbedContents' ? 'embeddings' : 'chat',
      stream: method === 'streamGenerateContent',
      model,
      includeUsage: true,
      inputs: requests,
    };
  }
  const model = typeof body.model === 'string' ? body.model : '';
  const operation: Shape['operation'] =
    pathname.endsWith('/chat/completions') || pathname.endsWith('/messages')
      ? 'chat'
      : pathname.endsWith('/completions')
        ? 'completions'
        : pathname.endsWith('/embeddings')
          ? 'embeddings'
          : pathname.endsWith('/responses')
            ? 'responses'
            : pathname.endsWith('/messages/count_tokens')
              ? 'count_tokens'
              : 'other';
  const options = body.stream_options as { include_usage?: unknown } | undefined;
  return {
    operation,
    stream: body.stream === true && operation !== 'embeddings' && operation !== 'count_tokens',
    model,
    includeUsage: format === 'mistral' || options?.include_usage === true,
    inputs: 1,
  };
}

const USAGE = { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 };

/** A Response object (platform.openai.com/docs/api-reference/responses/object), completed or not. */
function responseObject(model: string, status: 'in_progress' | 'completed'): Record<string, unknown> {
  const done = status === 'completed';
  return {
    id: 'resp_fuzz',
    object: 'response',
    created_at: 1_700_000_000,
    status,
    error: null,
    incomplete_details: null,
    model,
    output: done
      ? [
          {
            type: 'message',
            id: 'msg_fuzz',
            status: 'completed',
            role: 'assistant',
            content: [{ type: 'output_text', text: 'Hello from fuzz.', annotations: [] }],
          },
        ]
      : [],
    usage: done ? { input_tokens: 5, output_tokens: 4, total_tokens: 9 } : null,
  };
}

function successJson(format: FakeFormat, shape: Shape): string[] {
  const m = shape.model;
  if (shape.operation === 'count_tokens') return [JSON.stringify({ input_tokens: 5 })];
  if (shape.operation === 'responses') return [JSON.stringify(responseObject(m, 'completed'))];
  if (format === 'anthropic')
    return [
      JSON.stringify({
        id: 'msg_fuzz',
        type: 'message',
        role: 'assistant',
        model: m,
        content: [{ type: 'text', text: 'Hello from fuzz.' }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: 5, output_tokens: 4 },
      }),
    ];
  if (format === 'gemini') {
    if (shape.operation === 'embeddings')
      return [
        JSON.stringify({
          embeddings: Array.from({ length: shape.inputs }, (_, i) => ({ values: [0.1 * i, -0.2, 0.3] })),
        }),
      ];
    return [
      JSON.stringify({
        candidates: [
          {
            content: { role: 'model', parts: [{ text: 'Hello from fuzz.' }] },
            finishReason: 'STOP',
            index: 0,
          },
        ],
        usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 4, totalTokenCount: 9 },
        modelVersion: m,
        responseId: 'fuzz',
      }),
    ];
  }
  if (shape.operation === 'embeddings')
    return [
      JSON.stringify({
        object: 'list',
        data: [{ object: 'embedding', index: 0, embedding: [0.1, -0.2, 0.3] }],
        model: m,
        usage: { prompt_tokens: 2, total_tokens: 2 },
      }),
    ];
  if (shape.operation === 'completions')
    return [
      JSON.stringify({
        id: 'cmpl-fuzz',
        object: 'text_completion',
        created: 1_700_000_000,
        model: m,
        choices: [{ text: 'Hello from fuzz.', index: 0, logprobs: null, finish_reason: 'stop' }],
        usage: USAGE,
      }),
    ];
  return [
    JSON.stringify({
      id: 'chatcmpl-fuzz',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: m,
      choices: [
        { index: 0, message: { role: 'assistant', content: 'Hello from fuzz.' }, finish_reason: 'stop' },
      ],
      usage: USAGE,
    }),
  ];
}

const event = (data: unknown, name?: string) =>
  `${name ? `event: ${name}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;

function successStream(format: FakeFormat, shape: Shape): string[] {
  const m = shape.model;
  if (shape.operation === 'responses') {
    // The Responses stream (platform.openai.com/docs/api-reference/responses-streaming).
    let n = 0;
    const e = (type: string, payload: Record<string, unknown>) =>
      event({ type, sequence_number: n++, ...payload }, type);
    const item = { type: 'message', id: 'msg_fuzz', status: 'in_progress', role: 'assistant', content: [] };
    return [
      e('response.created', { response: responseObject(m, 'in_progress') }),
      e('response.output_item.added', { output_index: 0, item }),
      e('response.output_text.delta', {
        item_id: 'msg_fuzz',
        output_index: 0,
        content_index: 0,
        delta: 'Hello',
      }),
      e('response.output_text.delta', {
        item_id: 'msg_fuzz',
        output_index: 0,
        content_index: 0,
        delta: ' from fuzz.',
      }),
      e('response.completed', { response: responseObject(m, 'completed') }),
    ];
  }
  if (format === 'anthropic')
    return [
      event(
        {
          type: 'message_start',
          message: {
            id: 'msg_fuzz',
            type: 'message',
            role: 'assistant',
            model: m,
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: 5, output_tokens: 1 },
          },
        },
        'message_start',
      ),
      event(
        { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
        'content_block_start',
      ),
      event({ type: 'ping' }, 'ping'),
      event(
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } },
        'content_block_delta',
      ),
      event(
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ' from fuzz.' } },
        'content_block_delta',
      ),
      event({ type: 'content_block_stop', index: 0 }, 'content_block_stop'),
      event(
        {
          type: 'message_delta',
          delta: { stop_reason: 'end_turn', stop_sequence: null },
          usage: { output_tokens: 4 },
        },
        'message_delta',
      ),
      event({ type: 'message_stop' }, 'message_stop'),
    ];
  if (format === 'gemini') {
    const chunk = (text: string, last: boolean) =>
      `data: ${JSON.stringify({
        candidates: [
          {
            content: { role: 'model', parts: [{ text }] },
            index: 0,
            ...(last ? { finishReason: 'STOP' } : {}),
          },
        ],
        ...(last
          ? { usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 4, totalTokenCount: 9 } }
          : {}),
        modelVersion: m,
      })}\r\n\r\n`;
    return [chunk('Hello', false), chunk(' from', false), chunk(' fuzz.', true)];
  }
  const completions = shape.operation === 'completions';
  const chunk = (delta: Record<string, unknown>, finish: string | null, usage?: unknown) =>
    event({
      id: completions ? 'cmpl-fuzz' : 'chatcmpl-fuzz',
      object: completions ? 'text_completion' : 'chat.completion.chunk',
      created: 1_700_000_000,
      model: m,
      choices: completions
        ? [{ text: delta.content ?? '', index: 0, finish_reason: finish }]
        : [{ index: 0, delta, finish_reason: finish }],
      ...(usage ? { usage } : {}),
    });
  const parts = [
    chunk({ role: 'assistant', content: '' }, null),
    chunk({ content: 'Hello' }, null),
    chunk({ content: ' from fuzz.' }, null),
  ];
  if (format === 'mistral') parts.push(chunk({}, 'stop', USAGE));
  else {
    parts.push(chunk({}, 'stop'));
    if (shape.includeUsage)
      parts.push(
        event({
          id: 'chatcmpl-fuzz',
          object: 'chat.completion.chunk',
          created: 1_700_000_000,
          model: m,
          choices: [],
          usage: USAGE,
        }),
      );
  }
  parts.push('data: [DONE]\n\n');
  return parts;
}

function streamWithError(format: FakeFormat, shape: Shape, key: string): string[] {
  const start = successStream(format, shape).slice(0, 2);
  if (shape.operation === 'responses')
    // The Responses stream's error event (…/responses-streaming/error): type, code, message, param.
    return [
      ...start,
      event(
        {
          type: 'error',
          code: 'invalid_api_key',
          message: `Incorrect API key provided: ${key}`,
          param: null,
          sequence_number: 2,
        },
        'error',
      ),
    ];
  if (format === 'anthropic')
    return [
      ...start,
      event(
        { type: 'error', error: { type: 'authentication_error', message: `invalid x-api-key: ${key}` } },
        'error',
      ),
    ];
  if (format === 'gemini')
    return [
      ...start,
      `data: ${JSON.stringify({ error: { code: 401, message: `API key not valid: ${key}`, status: 'UNAUTHENTICATED' } })}\r\n\r\n`,
    ];
  return [
    ...start,
    event({ error: { message: `Incorrect API key provided: ${key}`, type: 'invalid_request_error' } }),
  ];
}

function errorBody(format: FakeFormat, status: number, quoted: { key: string; header: string }): string {
  const said = `credential ${quoted.key} (as sent: ${quoted.header})`;
  switch (format) {
    case 'anthropic': {
      const type =
        status === 401
          ? 'authentication_error'
          : status === 403
            ? 'permission_error'
            : status === 429
              ? 'rate_limit_error'
              : status >= 500
                ? 'api_error'
                : 'invalid_request_error';
      return JSON.stringify({
        type: 'error',
        error: { type, message: `invalid x-api-key: ${said}` },
        request_id: 'req_fuzz',
      });
    }
    case 'gemini': {
      const s =
        status === 401
          ? 'UNAUTHENTICATED'
          : status === 403
            ? 'PERMISSION_DENIED'
            : status === 429
              ? 'RESOURCE_EXHAUSTED'
              : status >= 500
                ? 'INTERNAL'
                : 'INVALID_ARGUMENT';
      return JSON.stringify({ error: { code: status, message: `API key not valid. ${said}`, status: s } });
    }
    case 'azure':
      return JSON.stringify({
        error: { code: String(status), message: `Access denied due to invalid subscription key ${said}` },
      });
    case 'mistral':
      return status === 401
        ? JSON.stringify({ message: `Unauthorized: ${said}`, request_id: 'fuzz' })
        : JSON.stringify({
            object: 'error',
            message: `Request failed for ${said}`,
            type: 'invalid_request_error',
            param: null,
            code: null,
          });
    default:
      return JSON.stringify({
        error: {
          message: `Incorrect API key provided: ${said}. You can find your API key at https://platform.openai.com/account/api-keys.`,
          type: status === 429 ? 'requests' : 'invalid_request_error',
          param: null,
          code: status === 401 ? 'invalid_api_key' : null,
        },
      });
  }
}
