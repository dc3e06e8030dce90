/**
 * The soak's traffic against examples/local.yaml: which request to send next (a seeded mix of keys,
 * logical models, sessions, buffered and streaming calls) and whether its answer was complete. Requests
 * go through the official `openai` SDK, as a client application's would. The SDK ends a stream quietly
 * when the connection closes without `data: [DONE]`, so its fetch is ours: it keeps the last 32 bytes
 * of every event stream, and a stream only succeeds if it ended with [DONE].
 */
import OpenAI from 'openai';
import type { ChatCompletionChunk, ChatCompletionCreateParams } from 'openai/resources/chat/completions';
import { createRandom } from '../../sim/seeded-random.ts';

/** Gateway keys of examples/local.yaml; `undefined` sends no key (its RouteConfig is defaultForKeyless). */
const KEYS = ['sk-agent-router-team-a', 'sk-agent-router-team-b', undefined] as const;
/** Per logical model: sessions reuse ids from a fixed set, so the sticky split is exercised, O(1) state. */
const SESSIONS = 64;
const SESSION_HEADER = 'x-session-id';
const BACKEND_HEADER = 'x-agent-router-backend';
const SOVEREIGN_BACKEND = 'default/sim-eu-sovereign';

// Three long system prompts, so the pool's prefix-cache scorer sees shared prefixes as agents send them.
const WORDS =
  'gateway route model token stream cache batch queue prompt answer replica weight budget policy river ' +
  'mountain signal lantern harbor garden engine window bridge market steady careful simple shared';
const SYSTEM_PROMPTS = [1, 2, 3].map((n) => {
  const random = createRandom(n);
  const words = WORDS.split(' ');
  const text: string[] = [];
  for (let i = 0; i < 120 * n; i++) text.push(words[Math.floor(random() * words.length)]!);
  return `You are assistant ${n}. ${text.join(' ')}.`;
});

interface Plan {
  client: OpenAI;
  body: ChatCompletionCreateParams;
  headers: Record<string, string>;
  /** Index into the session table when the answer must keep the session's backend, else -1. */
  session: number;
  /** The backend the answer must come from, when a route pins it. */
  backend: string | undefined;
}

/** What one request came to: its latency, or a short kind of failure for the error tally. */
export type Outcome = { ok: true; ms: number } | { ok: false; kind: string };

export class Traffic {
  readonly #random: () => number;
  readonly #streamRatio: number;
  readonly #clients: OpenAI[];
  /** The backend each sticky session first landed on (chat-model, then summarize-model sessions). */
  readonly #sessionBackends: (string | undefined)[] = new Array(2 * SESSIONS).fill(undefined);
  readonly #tails = new WeakMap<Response, StreamTail>();
  #sequence = 0;

  constructor(gatewayUrl: string, seed: number, streamRatio: number) {
    this.#random = createRandom(seed);
    this.#streamRatio = streamRatio;
    const fetchWithTails = (input: string | URL | Request, init?: RequestInit) =>
      fetch(input, init).then((response) => this.#watchStream(response));
    this.#clients = KEYS.map(
      (apiKey) =>
        new OpenAI({
          baseURL: `${gatewayUrl}/v1`,
          apiKey: apiKey ?? 'unused',
          // `null` removes the SDK's Authorization header: a keyless caller.
          ...(apiKey === undefined ? { defaultHeaders: { authorization: null } } : {}),
          maxRetries: 0,
          timeout: 60_000,
          fetch: fetchWithTails,
        }),
    );
  }

  /** Sends the next request of the mix and checks its answer; never throws. */
  async send(): Promise<Outcome> {
    const plan = this.#next();
    const started = performance.now();
    try {
      const failure = plan.body.stream ? await this.#stream(plan) : await this.#buffered(plan);
      return failure === undefined
        ? { ok: true, ms: performance.now() - started }
        : { ok: false, kind: failure };
    } catch (error) {
      return { ok: false, kind: failureKind(error) };
    }
  }

  #next(): Plan {
    const r = this.#random;
    const n = ++this.#sequence;
    const client = this.#clients[Math.floor(r() * this.#clients.length)]!;
    const headers: Record<string, string> = {};
    let model: string;
    let session = -1;
    let backend: string | undefined;
    const route = r();
    if (route < 0.45) {
      model = 'chat-model';
      session = Math.floor(r() * SESSIONS);
      headers[SESSION_HEADER] = `chat-${session}`;
    } else if (route < 0.5) {
      model = 'chat-model';
      headers['x-data-class'] = 'regulated';
      backend = SOVEREIGN_BACKEND;
    } else if (route < 0.6) {
      model = 'chat-model';
    } else if (route < 0.8) {
      model = 'summarize-model';
      if (r() < 0.5) {
        const id = Math.floor(r() * SESSIONS);
        headers[SESSION_HEADER] = `summarize-${id}`;
        session = SESSIONS + id;
      }
    } else {
      model = 'llama-self-hosted';
    }
    const messages: ChatCompletionCreateParams['messages'] = [
      { role: 'system', content: SYSTEM_PROMPTS[Math.floor(r() * SYSTEM_PROMPTS.length)]! },
      { role: 'user', content: `Request ${n}: summarise the ${WORDS.split(' ', 8)[n % 8]} notes.` },
    ];
    if (r() < 0.3) {
      messages.push(
        { role: 'assistant', content: `Here is a summary of request ${n - 1}.` },
        { role: 'user', content: 'Shorter, please.' },
      );
    }
    const maxTokens = r() < 0.5 ? 4 + Math.floor(r() * 45) : undefined;
    const stream = r() < this.#streamRatio;
    const body: ChatCompletionCreateParams = {
      model,
      messages,
      ...(maxTokens !== undefined ? { max_tokens: maxTokens } : {}),
      // Most streams ask for the usage chunk; the rest must not get one (the stack strips it).
      ...(stream ? { stream: true, ...(r() < 0.75 ? { stream_options: { include_usage: true } } : {}) } : {}),
    };
    return { client, body, headers, session, backend };
  }

  async #buffered(plan: Plan): Promise<string | undefined> {
    const { data, response } = await plan.client.chat.completions
      .create({ ...plan.body, stream: false }, { headers: plan.headers })
      .withResponse();
    const choice = data.choices[0];
    if (!choice?.message.content) return 'buffered: no content';
    if (choice.finish_reason !== 'stop' && choice.finish_reason !== 'length') {
      return `buffered: finish_reason ${choice.finish_reason}`;
    }
    if (!data.usage || data.usage.completion_tokens <= 0) return 'buffered: no usage';
    return this.#checkBackend(plan, response);
  }

  async #stream(plan: Plan): Promise<string | undefined> {
    const { data: stream, response } = await plan.client.chat.completions
      .create({ ...plan.body, stream: true }, { headers: plan.headers })
      .withResponse();
    const askedUsage = plan.body.stream_options?.include_usage === true;
    let content = 0;
    let finished = false;
    let usage: ChatCompletionChunk['usage'];
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice !== undefined) {
        content += choice.delta.content?.length ?? 0;
        if (choice.finish_reason) finished = true;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    if (this.#tails.get(response)?.endedWithDone() !== true) return 'stream: ended without [DONE]';
    if (!finished) return 'stream: no finish_reason';
    if (content === 0) return 'stream: no content';
    if (askedUsage && !(usage && usage.completion_tokens > 0)) return 'stream: no usage chunk';
    if (!askedUsage && usage) return 'stream: usage chunk nobody asked for';
    return this.#checkBackend(plan, response);
  }

  /** A pinned route must land on its backend, and a sticky session where it landed first. */
  #checkBackend(plan: Plan, response: Response): string | undefined {
    const backend = response.headers.get(BACKEND_HEADER) ?? undefined;
    if (plan.backend !== undefined && backend !== plan.backend) {
      return `route: ${plan.body.model} reached ${backend}, not ${plan.backend}`;
    }
    if (plan.session >= 0) {
      const first = this.#sessionBackends[plan.session];
      if (first === undefined) this.#sessionBackends[plan.session] = backend;
      else if (first !== backend) return `session: moved from ${first} to ${backend}`;
    }
    return undefined;
  }

  #watchStream(response: Response): Response {
    if (!response.body || !response.headers.get('content-type')?.startsWith('text/event-stream')) {
      return response;
    }
    const tail = new StreamTail();
    const watched = new Response(response.body.pipeThrough(tail.transform()), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
    this.#tails.set(watched, tail);
    return watched;
  }
}

/** The last bytes of a byte stream, in a fixed buffer: enough to see its final SSE event however split. */
class StreamTail {
  readonly #bytes = new Uint8Array(32);
  #length = 0;
  #closed = false;

  transform(): TransformStream<Uint8Array, Uint8Array> {
    return new TransformStream({
      transform: (chunk, controller) => {
        this.#keep(chunk);
        controller.enqueue(chunk);
      },
      flush: () => {
        this.#closed = true;
      },
    });
  }

  #keep(chunk: Uint8Array): void {
    const size = this.#bytes.length;
    if (chunk.length >= size) {
      this.#bytes.set(chunk.subarray(chunk.length - size));
      this.#length = size;
      return;
    }
    const kept = Math.min(this.#length, size - chunk.length);
    this.#bytes.copyWithin(0, this.#length - kept, this.#length);
    this.#bytes.set(chunk, kept);
    this.#length = kept + chunk.length;
  }

  /** The stream closed cleanly and its last event was `data: [DONE]` (OpenAI's end-of-stream marker). */
  endedWithDone(): boolean {
    if (!this.#closed) return false;
    const text = Buffer.from(this.#bytes.buffer, 0, this.#length).toString('latin1');
    return /(^|\n)data: ?\[DONE\]\s*$/.test(text);
  }
}

/** A short, bounded description of a failure: HTTP status and OpenAI error code, or the error's message. */
function failureKind(error: unknown): string {
  if (error instanceof OpenAI.APIError && error.status !== undefined) {
    return `HTTP ${error.status} ${error.code ?? error.type ?? ''}`.trimEnd();
  }
  if (error instanceof OpenAI.APIConnectionError) {
    const cause = (error.cause as Error | undefined)?.message;
    return `connection: ${cause ?? error.message}`.slice(0, 120);
  }
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 120);
  return String(error).slice(0, 120);
}
