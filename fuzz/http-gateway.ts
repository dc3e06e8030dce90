/**
 * Fuzz target "http-gateway": hostile and careless HTTP clients at the local stack's front door (the dev
 * gateway, ext-proc behind it over loopback gRPC), with fake providers of six schemas that record what
 * they receive and answer what each case drew (fuzz/http-gateway/{cases,providers,stack,client}.ts).
 * Cases run one at a time, so what the fakes received and the log got during a case is that case's.
 *
 * Invariants, per case (each broken one is a problem string):
 * - Answered: a client that waits gets a status within 10 s and a complete response, unless a provider
 *   broke its own answer; the gateway never keeps a provider request open after the client left.
 * - Every 4xx and 5xx body is the client API's error object: Anthropic's on /v1/messages and
 *   /v1/messages/count_tokens (`anthropicErrorProblem`), OpenAI's everywhere else, /v1/responses
 *   included (`openAIErrorProblem`); no body carries a JavaScript failure's text (`jsFailureIn`); no
 *   log line at error level or above.
 * - The 5xx rule, from dev-gateway/server.ts, ext-proc/upstream-phase.ts and ext-proc/errors.ts: every
 *   fake provider is up and answers in time, so the gateway's own 5xx (503 upstream_unavailable, 504
 *   upstream_timeout, 500 internal_error or ext_proc_failure) and the router's 503s (no_eligible_route,
 *   route_unavailable: every model here has a split, nothing reloads) can only follow a provider fault.
 *   So a 5xx is allowed only when an attempt of the request met one: a provider 5xx (passed on), a
 *   provider 401/403 (502 provider_auth_error: the gateway's credential was refused, not the client's
 *   key), a reset mid-body, an empty or wrong-format 200, or a 200 stream carrying an error event. And
 *   where the answering attempt is known (x-agent-router-attempt, or a gateway answer after the last
 *   provider reset its body) the status follows from that provider's answer exactly: 401/403 → 502
 *   provider_auth_error with x-should-retry: false; any other error status → that status; a success →
 *   200; an empty or wrong-format 200 → 200 or 502; a reset → 200 cut short, or 502 bad_gateway.
 * - Fallback: the attempts reached providers as 1, 2, … with no gap and at most 3, each one after an
 *   answer the route retries (a 5xx after the 401/403 mapping, or a 429).
 * - Secrets (gateway keys, provider keys, the bring-your-own-key credential; as sent, base64, base64url)
 *   are in no response header or body and no log line written during the case; no gateway key reaches
 *   a provider; each provider receives exactly its own credential (the caller's own for the byok key on
 *   compat-a) and no other provider's; no provider receives an internal header (x-agent-router-*,
 *   x-gateway-destination-endpoint*) or a client-forged value; each carries the request's x-request-id.
 * - The upstream model is the decided one: a body JSON.parse refuses, that is no object, whose `model`
 *   is no logical name, or that names a top-level key twice (decoded: "mod\u0065l" is "model") never
 *   reaches a provider; the request log line names the client's logical model and one of its entries
 *   (the policy entry exactly when its header matches); the attempt-n request went to the backend at n
 *   in that entry's fallback chain and asked for its resolved model (body `model`, the model in a Gemini
 *   path, the deployment in an Azure path and the body), with no duplicate top-level key; the log
 *   line's resolvedModel and the x-agent-router-resolved-model header are the answering attempt's; a
 *   200 the provider completed is in the client API's shape and names that model (a chat completion
 *   and every chunk of its stream; a Messages message, or message_start's message; a Response object,
 *   or every response a Responses event carries; count_tokens' input_tokens), and a chat stream whose
 *   client asked no usage carries no usage-only chunk.
 * - Streams: a 200 whose provider was cut carries no end of stream (chat's `data: [DONE]`, Messages'
 *   message_stop, Responses' response.completed) and never ends as framed; a 200 stream whose
 *   provider completed ends with that end of stream.
 * - The request log: exactly one line per request (by x-request-id); a request the client left while a
 *   provider hung, or mid-upload before any answer, is logged cancelled: true with status 499 (unless,
 *   mid-upload, the gateway had refused it on its headers alone); every cancelled line has 499; no line
 *   says cancelled when the client read the answer to its end and no provider broke; otherwise the
 *   line's status is the client's.
 * - Every METRICS_EVERY cases: admin /readyz answers 200 and /metrics holds no secret.
 *
 * At the end (finalProblems): no request open at any fake provider, no ext_proc stream open
 * (agent_router_ext_proc_streams), one request log line per request and as many as requests sent,
 * agent_router_requests_total equal to that count, no secret in the whole log or in /metrics.
 */

import { describe, drawCase, type HttpCase, toWire } from './http-gateway/cases.ts';
import { type ClientResult, get, send } from './http-gateway/client.ts';
import {
  type Answer,
  type FakeFormat,
  HANG_LIMIT_MS,
  type Received,
  requestShape,
} from './http-gateway/providers.ts';
import { BACKENDS, chainOf, type FuzzStack, keyId, ROUTES, startFuzzStack } from './http-gateway/stack.ts';
import {
  anthropicErrorProblem,
  clip,
  jsFailureIn,
  leakedSecret,
  openAIErrorProblem,
  secretSpellings,
} from './invariants.ts';
import { budgetLeft, type FuzzReport, type FuzzTarget } from './target.ts';

const METRICS_EVERY = 50;
const ANSWER_TIMEOUT_MS = 10_000;
const LOG_LINE_TIMEOUT_MS = 3_000;

type LogRecord = Record<string, unknown>;

export const runHttpGatewayFuzz: FuzzTarget = async (options) => {
  const startedAt = performance.now();
  const report: FuzzReport = {
    target: 'http-gateway',
    seed: options.seed,
    cases: 0,
    failures: [],
    finalProblems: [],
  };
  const world = await startFuzzStack();
  const run = new Run(world);
  try {
    for (let index = 0; budgetLeft(options, index, startedAt); index++) {
      const c = drawCase(options.seed, index);
      const requestId = `fuzz-${options.seed}-${index}`;
      const problems = await run.case(c, requestId);
      report.cases++;
      if (problems.length > 0) {
        report.failures.push({ index, input: `${requestId} ${describe(c)}`, problems });
        if (options.stopOnFailure) break;
      }
      if ((index + 1) % METRICS_EVERY === 0) {
        const admin = await run.adminProblems();
        if (admin.length > 0) {
          report.failures.push({ index, input: `admin port after case ${index}`, problems: admin });
          if (options.stopOnFailure) break;
        }
      }
    }
    report.finalProblems = await run.finalProblems(report.cases);
  } finally {
    await world.close();
  }
  return report;
};

/**
 * Replays cases of a run on a fresh stack and returns what each one saw: the case, its problems, the
 * response, the log lines written meanwhile and the requests the providers received.
 */
export async function traceHttpGatewayCases(seed: number, indexes: readonly number[]): Promise<unknown[]> {
  const world = await startFuzzStack();
  const run = new Run(world);
  const out: unknown[] = [];
  try {
    for (const index of indexes) {
      const c = drawCase(seed, index);
      const problems = await run.case(c, `fuzz-${seed}-${index}`);
      const last = run.last!;
      out.push({
        index,
        input: describe(c),
        problems,
        status: last.result.status,
        headers: last.result.headers,
        body: clip(last.result.body.toString('utf8'), 2_000),
        complete: last.result.complete,
        left: last.result.left,
        error: last.result.error,
        lines: last.lines,
        received: last.received.map((r) => ({
          backend: r.backend,
          attempt: r.attempt,
          path: r.path,
          answer: r.answer,
          outcome: r.outcome,
          body: clip(r.body.toString('utf8'), 500),
        })),
      });
    }
  } finally {
    await world.close();
  }
  return out;
}

/** The providers' answer for an attempt: the case's list, its last entry for later attempts. */
function answerFor(answers: readonly Answer[], attempt: number): Answer {
  // An error event inside a 200 stream is redacted where the stream is converted (upstream-phase.ts)
  // and, for pass-through providers, by the router-level phase, which reads every SSE chunk anyway.
  return answers[Math.min(attempt, answers.length) - 1]!;
}

/** A provider answer after which the gateway may answer 5xx. */
function providerFault(a: Answer): boolean {
  if (a.kind === 'error') return a.status >= 500 || a.status === 401 || a.status === 403;
  return a.kind !== 'ok';
}

/** The status the gateway's retry policy sees for an answer (upstream-phase.ts maps 401/403 to 502). */
function retryable(a: Answer): boolean {
  if (a.kind !== 'error') return false;
  return a.status >= 500 || a.status === 429 || a.status === 401 || a.status === 403;
}

/** Top-level keys of a JSON object text, decoded, in order (duplicates kept). */
export function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      if (depth === 1 && expectKey) {
        keys.push(JSON.parse(text.slice(start, i + 1)) as string);
        expectKey = false;
      }
    } else if (c === '{' || c === '[') {
      depth++;
      if (depth === 1 && c === '{') expectKey = true;
    } else if (c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 1) expectKey = true;
  }
  return keys;
}

function parseObject(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(bytes.toString('utf8')) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The model a provider was asked for, as it reads it (path or body), per provider schema. */
function receivedModels(format: FakeFormat, r: Received): { where: string; model: unknown }[] {
  const body = parseObject(r.body);
  const pathname = r.path.split('?')[0] ?? '';
  if (format === 'gemini') {
    const m = /\/models\/([^/:]+):/.exec(pathname);
    return [{ where: 'path', model: m ? decodeURIComponent(m[1]!) : undefined }];
  }
  const out: { where: string; model: unknown }[] = [{ where: 'body', model: body?.model }];
  if (format === 'azure') {
    const m = /\/openai\/deployments\/([^/]+)\//.exec(pathname);
    if (m) out.push({ where: 'deployment', model: decodeURIComponent(m[1]!) });
  }
  return out;
}

const FORMAT_OF: ReadonlyMap<string, FakeFormat> = new Map(BACKENDS.map((b) => [b.name, b.format]));

/** The API a client speaks, by the path it sent (query and fragment off), as the gateway must read it. */
type ClientApi = 'chat' | 'messages' | 'count_tokens' | 'responses';

function clientApiOf(c: HttpCase): ClientApi {
  const path = c.target.split(/[?#]/)[0];
  if (path === '/v1/messages') return 'messages';
  if (path === '/v1/messages/count_tokens') return 'count_tokens';
  if (path === '/v1/responses') return 'responses';
  return 'chat';
}

/** The data of each SSE event of a stream, parsed where it is a JSON object. */
function streamEvents(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('data: {')) continue;
    try {
      out.push(JSON.parse(line.slice(6)) as Record<string, unknown>);
    } catch {
      out.push({ unparsable: line });
    }
  }
  return out;
}

/** The event type that ends a complete stream of the client API (chat has `data: [DONE]`). */
const STREAM_END: Readonly<Record<Exclude<ClientApi, 'chat' | 'count_tokens'>, string>> = {
  messages: 'message_stop',
  responses: 'response.completed',
};

function endsComplete(api: ClientApi, text: string): boolean {
  if (api === 'chat' || api === 'count_tokens') return text.endsWith('data: [DONE]\n\n');
  return streamEvents(text).at(-1)?.type === STREAM_END[api];
}

function holdsEnd(api: ClientApi, text: string): boolean {
  if (api === 'chat' || api === 'count_tokens') return text.includes('data: [DONE]');
  return streamEvents(text).some((e) => e.type === STREAM_END[api]);
}

class Run {
  readonly #world: FuzzStack;
  readonly #spellings: string[];
  readonly #gatewaySpellings: string[];
  readonly #secretNames: string[];
  /** Every request id a case's request was logged under. */
  readonly #ids: string[] = [];

  constructor(world: FuzzStack) {
    this.#world = world;
    // Each spelling of each secret, with the secret's name, so a leak says whose it was.
    const named: [string, string][] = [
      ...Object.entries(world.secrets.gateway).map(([k, v]): [string, string] => [`gateway key ${k}`, v]),
      ...Object.entries(world.secrets.provider).map(([k, v]): [string, string] => [
        `provider key of ${k}`,
        v,
      ]),
      ['byok credential', world.secrets.byokCredential],
    ];
    this.#spellings = [];
    this.#secretNames = [];
    for (const [name, secret] of named)
      for (const spelling of secretSpellings([secret])) {
        this.#spellings.push(spelling);
        this.#secretNames.push(spelling === secret ? name : `${name} (encoded)`);
      }
    // The gateway keys come first: their spellings are a prefix of the list.
    this.#gatewaySpellings = this.#spellings.filter((_, i) =>
      this.#secretNames[i]!.startsWith('gateway key'),
    );
  }

  #leak(text: string): string | undefined {
    const i = leakedSecret(text, this.#spellings);
    return i === undefined ? undefined : (this.#secretNames[i] ?? `secret #${i}`);
  }

  /** What the last case saw, for a person replaying it (traceHttpGatewayCases). */
  last: { result: ClientResult; lines: LogRecord[]; received: Received[] } | undefined;

  async case(c: HttpCase, requestId: string): Promise<string[]> {
    const problems: string[] = [];
    const world = this.#world;
    for (const fake of world.fakes.values()) {
      // What a fake received belongs to one case: a long run keeps no bodies of earlier ones.
      fake.received.length = 0;
      fake.script((r) => answerFor(c.answers, r.attempt));
    }
    const logStart = world.log.lines.length;
    const wire = toWire(c, world.secrets.gateway, requestId);
    const result = await send(world.stack.gatewayUrl, wire, c.client, ANSWER_TIMEOUT_MS);

    // The id the gateway logs the request under: the client's x-request-id (repeated ones joined, as
    // Node and Envoy present them; HTTP drops the whitespace around a value, RFC 9110 §5.5), else the
    // one the gateway made up and returned.
    const sentIds = c.headers
      .filter(([n]) => n === 'x-request-id')
      .map(([, v]) => v.replaceAll('{{id}}', requestId).trim());
    const expectedId = sentIds.length > 0 ? sentIds.join(', ') : result.headers['x-request-id'];
    const { line, lines } = await this.#awaitLogLine(logStart, expectedId);
    await this.#settleFakes();
    const received: Received[] = [];
    for (const fake of world.fakes.values()) received.push(...fake.received);
    received.sort((a, b) => a.attempt - b.attempt);

    this.last = { result, lines, received };
    this.#checkAnswer(c, result, received, problems);
    this.#checkSecrets(result, lines, received, problems);
    if (!line) {
      problems.push(
        expectedId === undefined
          ? 'no request log line for the request (and no x-request-id to find it by)'
          : `no request log line for x-request-id ${clip(expectedId, 80)}`,
      );
    } else {
      this.#ids.push(String(line.requestId));
      const twins = lines.filter((l) => l.event === 'request' && l.requestId === line.requestId).length;
      if (twins > 1) problems.push(`${twins} request log lines for one request`);
      this.#checkLogLine(c, result, received, line, problems);
    }
    for (const r of received) {
      if (line && r.requestId !== line.requestId)
        problems.push(
          `${r.backend} received x-request-id ${clip(String(r.requestId), 80)}, the log says ${clip(String(line.requestId), 80)}`,
        );
      if (r.outcome === 'hang-timeout')
        problems.push(
          `the gateway left the request to ${r.backend} open for ${HANG_LIMIT_MS} ms after the client went away`,
        );
    }
    this.#checkRouting(c, result, received, line, problems);
    this.#checkStreams(c, result, received, problems);
    for (const l of lines)
      if (typeof l.level === 'number' && l.level >= 50)
        problems.push(
          `error-level log line: ${clip(JSON.stringify({ event: l.event, msg: l.msg, err: l.err }), 300)}`,
        );
    return problems;
  }

  /** New log lines since `from`, parsed; waits for the request line (by id, or the first new one). */
  async #awaitLogLine(
    from: number,
    id: string | undefined,
  ): Promise<{ line: LogRecord | undefined; lines: LogRecord[] }> {
    const log = this.#world.log;
    const lines: LogRecord[] = [];
    let parsed = from;
    const deadline = performance.now() + LOG_LINE_TIMEOUT_MS;
    for (;;) {
      for (; parsed < log.lines.length; parsed++) {
        try {
          lines.push(JSON.parse(log.lines[parsed]!) as LogRecord);
        } catch {
          lines.push({ event: 'unparsable', msg: log.lines[parsed] });
        }
      }
      const line = lines.find((l) => l.event === 'request' && (id === undefined || l.requestId === id));
      if (line || performance.now() > deadline) {
        // A duplicate would be written right after; give it a moment, then take what there is.
        if (line) await new Promise((r) => setImmediate(r));
        for (; parsed < log.lines.length; parsed++) lines.push(JSON.parse(log.lines[parsed]!) as LogRecord);
        return { line, lines };
      }
      await log.next(Math.max(1, deadline - performance.now()));
    }
  }

  /** Waits (briefly) until no fake has a request open: hanging answers end when the gateway closes them. */
  async #settleFakes(): Promise<void> {
    const deadline = performance.now() + 1_000;
    while (performance.now() < deadline) {
      let open = 0;
      for (const f of this.#world.fakes.values()) open += f.inFlight();
      if (open === 0) return;
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  #checkAnswer(c: HttpCase, result: ClientResult, received: Received[], problems: string[]): void {
    const waits = c.client === 'read';
    const broke = received.some((r) => r.answer.kind === 'broken');
    if (result.timedOut)
      problems.push(
        `no ${result.status === undefined ? 'answer' : 'end of the answer'} within ${ANSWER_TIMEOUT_MS} ms`,
      );
    if (waits && result.status === undefined && !result.timedOut)
      problems.push(`no answer: ${result.error ?? 'the connection closed'}`);
    if (waits && result.status !== undefined && !result.complete && !broke && !result.timedOut)
      problems.push(`the answer was cut short (${result.error ?? 'no end'}) though no provider broke`);
    const status = result.status;
    if (status === undefined) return;
    const body = result.body.toString('utf8');
    if (jsFailureIn(body)) problems.push(`the answer leaks a JavaScript failure: ${clip(body)}`);
    if (status >= 400 && result.complete && c.method !== 'HEAD') {
      const api = clientApiOf(c);
      const shape =
        api === 'messages' || api === 'count_tokens'
          ? anthropicErrorProblem(status, body)
          : openAIErrorProblem(status, body);
      if (shape) problems.push(shape);
    }
    if (status >= 500 && !received.some((r) => providerFault(r.answer)))
      problems.push(
        `${status} though every provider answer was fine (${received.length} attempts): ${clip(body)}`,
      );
    // The answering attempt, when the response names it and it reached a provider; a gateway answer
    // (no attempt header) after the last provider broke its body answers that provider.
    const attempt = Number(result.headers['x-agent-router-attempt']);
    const last = received.at(-1);
    const final =
      received.find((r) => r.attempt === attempt) ??
      (Number.isNaN(attempt) && last?.answer.kind === 'broken' ? last : undefined);
    if (!final) return;
    const a = final.answer;
    // The gateway's error code: OpenAI's `error.code`; Anthropic's error object has none, so there its
    // `error.type` for the status stands in (api_error for a 502, client-api.ts).
    const anthropic = clientApiOf(c) === 'messages' || clientApiOf(c) === 'count_tokens';
    const code = (() => {
      try {
        const error = (JSON.parse(body) as { error?: { code?: unknown; type?: unknown } }).error;
        return anthropic ? error?.type : error?.code;
      } catch {
        return undefined;
      }
    })();
    const authCode = anthropic ? 'api_error' : 'provider_auth_error';
    const badGatewayCode = anthropic ? 'api_error' : 'bad_gateway';
    if (a.kind === 'error' && (a.status === 401 || a.status === 403)) {
      if (status !== 502 || (result.complete && code !== authCode))
        problems.push(`provider ${a.status} answered ${status} ${String(code)}, not 502 provider_auth_error`);
      if (result.headers['x-should-retry'] !== 'false')
        problems.push('provider_auth_error without x-should-retry: false');
    } else if (a.kind === 'error') {
      if (status !== a.status) problems.push(`provider ${a.status} answered ${status}`);
    } else if (a.kind === 'ok' || a.kind === 'stream-error' || a.kind === 'hang') {
      if (status !== 200) problems.push(`provider success (${a.kind}) answered ${status}: ${clip(body)}`);
    } else if (a.kind === 'empty' || a.kind === 'wrong-shape') {
      if (status !== 200 && status !== 502)
        problems.push(`provider ${a.kind} 200 answered ${status}: ${clip(body)}`);
    } else if (a.kind === 'broken') {
      if (status !== 200 && (status !== 502 || (result.complete && code !== badGatewayCode)))
        problems.push(
          `provider reset mid-body answered ${status} ${String(code)}, not 200 (cut) or 502 bad_gateway`,
        );
    }
  }

  #checkSecrets(result: ClientResult, lines: LogRecord[], received: Received[], problems: string[]): void {
    const head = result.rawHeaders.join('\n');
    const inHead = this.#leak(head);
    if (inHead) problems.push(`${inHead} in a response header`);
    const inBody = this.#leak(result.body.toString('latin1'));
    if (inBody) problems.push(`${inBody} in the response body: ${clip(result.body.toString('utf8'), 200)}`);
    for (const l of lines) {
      const inLog = this.#leak(JSON.stringify(l));
      if (inLog) problems.push(`${inLog} in the log line ${clip(String(l.event ?? l.msg), 60)}`);
    }
    for (const r of received) {
      const all = `${r.method} ${r.path}\n${JSON.stringify(r.headers)}\n${r.body.toString('latin1')}`;
      const gw = leakedSecret(all, this.#gatewaySpellings);
      if (gw !== undefined) problems.push(`${r.backend} received a gateway key (${this.#secretNames[gw]})`);
      for (const name of Object.keys(r.headers))
        if (name.startsWith('x-agent-router-') || name.startsWith('x-gateway-destination-endpoint'))
          problems.push(
            `${r.backend} received the internal header ${name}: ${clip(String(r.headers[name]), 80)}`,
          );
      if (all.includes('forged-'))
        problems.push(`${r.backend} received a client-forged internal header value`);
    }
  }

  #checkLogLine(
    c: HttpCase,
    result: ClientResult,
    received: Received[],
    line: LogRecord,
    problems: string[],
  ): void {
    const hung = received.some((r) => r.answer.kind === 'hang');
    const broke = received.some((r) => r.answer.kind === 'broken');
    const cancelled = line.cancelled === true && line.status === 499;
    const says = `the log line says cancelled ${String(line.cancelled)}, status ${String(line.status)}`;
    // A provider that never finishes: the gateway cannot have completed the request when the client left.
    if (result.left && hung && !cancelled)
      problems.push(`the client left while the provider hung, but ${says}`);
    // Gone mid-upload before any answer: only an answer decided on the headers alone (a 4xx, no
    // provider) may have been given meanwhile, without the client seeing it yet.
    if (result.left && c.client === 'abort-mid-upload' && result.status === undefined && !cancelled) {
      const early =
        received.length === 0 && typeof line.status === 'number' && line.status >= 400 && line.status < 500;
      if (!early) problems.push(`the client left mid-upload, but ${says}`);
    }
    if (line.cancelled === true && line.status !== 499)
      problems.push(`cancelled request logged with status ${String(line.status)}`);
    if (line.cancelled === true && !result.left && !broke)
      problems.push(
        'request logged as cancelled though the client read the answer to its end and no provider broke',
      );
    if (
      line.cancelled !== true &&
      !result.left &&
      result.status !== undefined &&
      line.status !== result.status
    )
      problems.push(`log line status ${String(line.status)}, the client got ${result.status}`);
  }

  #checkRouting(
    c: HttpCase,
    result: ClientResult,
    received: Received[],
    line: LogRecord | undefined,
    problems: string[],
  ): void {
    const world = this.#world;
    const body = c.body === undefined ? undefined : parseObject(c.body);
    const model = typeof body?.model === 'string' ? body.model : undefined;
    const routes = model !== undefined && Object.hasOwn(ROUTES, model) ? ROUTES[model] : undefined;
    if (received.length === 0) return;
    if (!body || !routes || model === undefined) {
      problems.push(
        `providers were reached (${received.map((r) => r.backend).join(', ')}) for a body that names no logical model`,
      );
      return;
    }
    const text = c.body!.toString('utf8');
    const keys = topLevelKeys(text);
    const duplicate = keys.find((k, i) => keys.indexOf(k) !== i);
    if (duplicate !== undefined)
      problems.push(
        `a body naming the top-level key ${JSON.stringify(duplicate)} twice reached ${received[0]!.backend}`,
      );
    if (!line) return;
    if (line.logicalModel !== model)
      problems.push(`log line logicalModel ${String(line.logicalModel)}, the client named ${model}`);
    const entry = routes.find((e) => e.name === line.routeEntry);
    if (!entry) {
      problems.push(`log line routeEntry ${String(line.routeEntry)} is no entry of ${model}`);
      return;
    }
    const classes = c.headers.filter(([n]) => n === 'x-data-class').map(([, v]) => v);
    const policy = routes.find((e) => e.matchHeader);
    const matched =
      policy?.matchHeader && classes.length > 0 && classes.join(', ') === policy.matchHeader.value;
    if (matched && entry !== policy)
      problems.push(`x-data-class matched ${policy.name} but ${entry.name} was chosen`);
    if (!matched && entry.matchHeader) problems.push(`policy entry ${entry.name} chosen without its header`);
    const chain = chainOf(model, entry.name);
    const attempts = received.map((r) => r.attempt);
    if (attempts.some((n, i) => n !== i + 1))
      problems.push(`attempts reached providers as ${attempts.join(', ')}, not 1, 2, …`);
    if (attempts.length > 3) problems.push(`${attempts.length} attempts, the route allows 3`);
    for (const r of received) {
      const expected = chain[Math.min(r.attempt, chain.length) - 1]!;
      if (r.backend !== expected.backend)
        problems.push(
          `attempt ${r.attempt} went to ${r.backend}, the chain of ${entry.name} says ${expected.backend}`,
        );
      const format = FORMAT_OF.get(r.backend)!;
      for (const { where, model: asked } of receivedModels(format, r))
        if (asked !== expected.resolvedModel)
          problems.push(
            `attempt ${r.attempt} to ${r.backend} asked for ${JSON.stringify(asked)} (${where}), decided ${expected.resolvedModel}`,
          );
      if (format !== 'gemini') {
        const sent = r.body.toString('utf8');
        const sentKeys = parseObject(r.body) ? topLevelKeys(sent) : undefined;
        if (!sentKeys)
          problems.push(`${r.backend} received a body that is no JSON object: ${clip(sent, 120)}`);
        else if (sentKeys.some((k, i) => sentKeys.indexOf(k) !== i))
          problems.push(`${r.backend} received a body with a duplicate top-level key`);
      }
      const key = world.secrets.provider[r.backend]!;
      const own =
        r.backend === 'compat-a' && line.keyId === keyId('byok') ? world.secrets.byokCredential : key;
      if (r.credential !== own)
        problems.push(
          `${r.backend} received ${r.credential === undefined ? 'no credential' : 'another credential'} than ${own === key ? 'its own' : "the caller's own"}`,
        );
      const all = `${JSON.stringify(r.headers)}\n${r.body.toString('latin1')}`;
      for (const [other, secret] of Object.entries(world.secrets.provider))
        if (secret !== own && all.includes(secret))
          problems.push(`${r.backend} received the key of ${other}`);
    }
    for (let i = 0; i < received.length - 1; i++)
      if (!retryable(received[i]!.answer))
        problems.push(
          `attempt ${i + 2} after a ${received[i]!.answer.kind} answer, which the route does not retry`,
        );
    const attempt = Number(result.headers['x-agent-router-attempt']);
    const answering = received.find((r) => r.attempt === attempt);
    if (answering) {
      const decided = chain[Math.min(attempt, chain.length) - 1]!.resolvedModel;
      if (line.resolvedModel !== decided)
        problems.push(
          `log line resolvedModel ${String(line.resolvedModel)}, attempt ${attempt} asked for ${decided}`,
        );
      const header = result.headers['x-agent-router-resolved-model'];
      if (header !== decided)
        problems.push(
          `x-agent-router-resolved-model ${String(header)}, attempt ${attempt} asked for ${decided}`,
        );
      if (answering.answer.kind === 'ok' && result.status === 200 && result.complete && !result.left)
        this.#checkSuccess(clientApiOf(c), body, result, decided, problems);
    }
  }

  /**
   * A success as the client reads it: OpenAI's shape, naming the model that answered (the fakes answer
   * with the model they were asked for), and no usage-only chunk in a stream the client asked no usage
   * for (the gateway asks every provider for usage and strips it, router-phase.ts).
   */
  #checkSuccess(
    api: ClientApi,
    client: Record<string, unknown>,
    result: ClientResult,
    decided: string,
    problems: string[],
  ): void {
    const text = result.body.toString('utf8');
    const streamed = (result.headers['content-type'] ?? '').startsWith('text/event-stream');
    if (api !== 'chat') {
      this.#checkOtherSuccess(api, text, streamed, decided, problems);
      return;
    }
    if (!streamed) {
      const answer = parseObject(result.body);
      if (!answer) return void problems.push(`a 200 answer that is no JSON object: ${clip(text)}`);
      if (!['chat.completion', 'text_completion', 'list'].includes(String(answer.object)))
        problems.push(`a 200 answer of object ${JSON.stringify(answer.object)}: ${clip(text)}`);
      if (answer.model !== decided)
        problems.push(`the answer names model ${JSON.stringify(answer.model)}, not ${decided}`);
      return;
    }
    const options = client.stream_options as { include_usage?: unknown } | null | undefined;
    const askedUsage = options !== null && typeof options === 'object' && options.include_usage === true;
    for (const line of text.split('\n')) {
      if (!line.startsWith('data: {')) continue;
      let chunk: Record<string, unknown>;
      try {
        chunk = JSON.parse(line.slice(6)) as Record<string, unknown>;
      } catch {
        problems.push(`a stream event that is not JSON: ${clip(line, 120)}`);
        continue;
      }
      if (chunk.error !== undefined) continue;
      if (chunk.model !== decided)
        problems.push(`a stream chunk names model ${JSON.stringify(chunk.model)}, not ${decided}`);
      if (!askedUsage && Array.isArray(chunk.choices) && chunk.choices.length === 0 && chunk.usage)
        problems.push('a usage chunk in a stream whose client did not ask for usage');
    }
  }

  /** A Messages, count_tokens or Responses success as the client reads it. */
  #checkOtherSuccess(
    api: Exclude<ClientApi, 'chat'>,
    text: string,
    streamed: boolean,
    decided: string,
    problems: string[],
  ): void {
    if (!streamed) {
      const answer = parseObject(Buffer.from(text));
      if (!answer) return void problems.push(`a 200 answer that is no JSON object: ${clip(text)}`);
      if (api === 'count_tokens') {
        if (typeof answer.input_tokens !== 'number')
          problems.push(`a count_tokens answer without input_tokens: ${clip(text)}`);
        return;
      }
      const shaped = api === 'messages' ? answer.type === 'message' : answer.object === 'response';
      if (!shaped) problems.push(`a 200 ${api} answer in another shape: ${clip(text)}`);
      if (answer.model !== decided)
        problems.push(`the answer names model ${JSON.stringify(answer.model)}, not ${decided}`);
      return;
    }
    for (const e of streamEvents(text)) {
      if (e.unparsable !== undefined) {
        problems.push(`a stream event that is not JSON: ${clip(String(e.unparsable), 120)}`);
        continue;
      }
      const carried = api === 'messages' ? (e.type === 'message_start' ? e.message : undefined) : e.response;
      if (carried === undefined) continue;
      const model = (carried as { model?: unknown } | null)?.model;
      if (model !== decided)
        problems.push(`a ${String(e.type)} event names model ${JSON.stringify(model)}, not ${decided}`);
    }
  }

  #checkStreams(c: HttpCase, result: ClientResult, received: Received[], problems: string[]): void {
    const last = received.at(-1);
    if (!last || result.status !== 200) return;
    if (Number(result.headers['x-agent-router-attempt']) !== last.attempt) return;
    const api = clientApiOf(c);
    const text = result.body.toString('utf8');
    const streamed = (result.headers['content-type'] ?? '').startsWith('text/event-stream');
    if (last.answer.kind === 'broken') {
      if (streamed && holdsEnd(api, text))
        problems.push(`the end of the ${api} stream after the provider broke the stream`);
      if (result.complete) problems.push('a response whose provider broke ended as if complete');
    }
    const asked = requestShape(FORMAT_OF.get(last.backend)!, last);
    if (last.answer.kind === 'ok' && asked.stream && !result.left && result.complete) {
      if (!streamed)
        problems.push(`a stream answered with content-type ${String(result.headers['content-type'])}`);
      else if (!endsComplete(api, text))
        problems.push(
          `a complete ${api} stream does not end as its API ends one: …${JSON.stringify(text.slice(-120))}`,
        );
    }
  }

  async adminProblems(): Promise<string[]> {
    const problems: string[] = [];
    const admin = this.#world.adminUrl;
    const ready = await get(`${admin}/readyz`);
    if ('error' in ready || ready.status !== 200)
      problems.push(`admin /readyz: ${'error' in ready ? ready.error : ready.status}`);
    const metrics = await get(`${admin}/metrics`);
    if ('error' in metrics) problems.push(`admin /metrics: ${metrics.error}`);
    else {
      const leak = this.#leak(metrics.body);
      if (leak) problems.push(`${leak} in /metrics`);
    }
    return problems;
  }

  async finalProblems(cases: number): Promise<string[]> {
    const problems: string[] = [];
    const world = this.#world;
    await this.#settleFakes();
    for (const [name, fake] of world.fakes)
      if (fake.inFlight() > 0) problems.push(`${fake.inFlight()} request(s) still open at ${name}`);
    // ext_proc streams still open, where the stack counts them.
    let metrics = '';
    const deadline = performance.now() + 2_000;
    for (;;) {
      const m = await get(`${world.adminUrl}/metrics`);
      metrics = 'error' in m ? '' : m.body;
      const open = [...metrics.matchAll(/^agent_router_ext_proc_streams\{[^}]*\} (\d+)/gm)].filter(
        (x) => Number(x[1]) > 0,
      );
      if (open.length === 0 || performance.now() > deadline) {
        for (const o of open) problems.push(`ext_proc streams left open: ${o[0]}`);
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const leak = this.#leak(metrics);
    if (leak) problems.push(`${leak} in /metrics`);
    const requests = new Map<string, number>();
    for (const text of world.log.lines) {
      const l = this.#leak(text);
      if (l) problems.push(`${l} in the log: ${clip(text, 200)}`);
      let record: LogRecord;
      try {
        record = JSON.parse(text) as LogRecord;
      } catch {
        problems.push(`a log line that is not JSON: ${clip(text, 200)}`);
        continue;
      }
      if (record.event === 'request')
        requests.set(String(record.requestId), (requests.get(String(record.requestId)) ?? 0) + 1);
    }
    let lines = 0;
    for (const [id, n] of requests) {
      lines += n;
      if (n > 1) problems.push(`${n} request log lines for ${clip(id, 80)}`);
    }
    if (lines !== cases) problems.push(`${lines} request log lines for ${cases} requests`);
    for (const id of this.#ids)
      if (!requests.has(id)) problems.push(`the log line of ${clip(id, 80)} is gone`);
    const total = [...metrics.matchAll(/^agent_router_requests_total\{[^}]*\} (\d+)/gm)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
    if (total !== lines)
      problems.push(`agent_router_requests_total is ${total}, the log has ${lines} request lines`);
    return problems;
  }
}
