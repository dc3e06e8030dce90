import OpenAI from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsNonStreaming,
} from 'openai/resources/chat/completions';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../sim/http-body.ts';
import { type ModelServer, type ModelServerOptions, startModelServer } from '../../sim/model-server.ts';
import { type PromScrape, parsePrometheusText, sampleValue } from './prometheus-text.ts';

const started: ModelServer[] = [];

async function startServer(options: ModelServerOptions = {}): Promise<ModelServer> {
  const server = await startModelServer({ host: '127.0.0.1', port: 0, ...options });
  started.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((server) => server.close()));
});

function clientFor(server: ModelServer, apiKey = 'x'): OpenAI {
  return new OpenAI({ baseURL: server.url + '/v1', apiKey, maxRetries: 0 });
}

function postChat(server: ModelServer, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(server.url + '/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  });
}

async function waitUntil(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** Reads an SSE body until it ends or breaks, returning the `data:` payloads seen and whether it broke. */
async function readEvents(response: Response): Promise<{ events: string[]; broken: boolean }> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let broken = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    broken = true;
  }
  const events = text
    .split('\n\n')
    .filter((block) => block.startsWith('data: '))
    .map((block) => block.slice('data: '.length));
  return { events, broken };
}

interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

async function errorOf(response: Response): Promise<OpenAIErrorBody['error']> {
  return ((await response.json()) as OpenAIErrorBody).error;
}

async function scrape(server: ModelServer): Promise<PromScrape> {
  const response = await fetch(server.url + '/metrics');
  expect(response.status).toBe(200);
  return parsePrometheusText(await response.text());
}

const question: ChatCompletionCreateParamsNonStreaming = {
  model: 'sim-model',
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'What does a gateway do?' },
  ],
};
// 'You are terse.' (14) + 'What does a gateway do?' (23) = 37 characters at four per token.
const QUESTION_PROMPT_TOKENS = 10;

describe('chat completions through the OpenAI SDK', () => {
  it('answers a buffered request in the chat.completion shape with consistent usage', async () => {
    const server = await startServer({ name: 'sim-a', seed: 1 });
    const { data, response } = await clientFor(server).chat.completions.create(question).withResponse();

    expect(response.headers.get('x-sim-server')).toBe('sim-a');
    expect(data.id).toMatch(/^chatcmpl-/);
    expect(data.object).toBe('chat.completion');
    expect(data.model).toBe('sim-model');
    expect(typeof data.created).toBe('number');
    const [choice] = data.choices;
    expect(choice?.message.role).toBe('assistant');
    expect(choice?.finish_reason).toBe('stop');
    const content = choice?.message.content ?? '';
    expect(content.length).toBeGreaterThan(0);
    expect(data.usage).toEqual({
      prompt_tokens: QUESTION_PROMPT_TOKENS,
      completion_tokens: content.split(' ').length,
      total_tokens: QUESTION_PROMPT_TOKENS + content.split(' ').length,
    });
  });

  it('returns the same answer for the same seed and a different one for another seed', async () => {
    const first = await startServer({ seed: 7 });
    const twin = await startServer({ seed: 7 });
    const other = await startServer({ seed: 8 });
    const answer = async (server: ModelServer) =>
      (await clientFor(server).chat.completions.create(question)).choices[0]?.message.content;

    const expected = await answer(first);
    expect(await answer(first)).toBe(expected);
    expect(await answer(twin)).toBe(expected);
    expect(await answer(other)).not.toBe(expected);
  });

  it('stops at max_completion_tokens or max_tokens with finish_reason length', async () => {
    const server = await startServer();
    const client = clientFor(server);
    const capped = await client.chat.completions.create({ ...question, max_completion_tokens: 3 });
    expect(capped.choices[0]?.finish_reason).toBe('length');
    expect(capped.usage?.completion_tokens).toBe(3);
    expect(capped.choices[0]?.message.content?.split(' ')).toHaveLength(3);

    const legacy = await client.chat.completions.create({ ...question, max_tokens: 2 });
    expect(legacy.usage?.completion_tokens).toBe(2);
    expect(legacy.choices[0]?.finish_reason).toBe('length');
  });

  it('streams a role chunk, one chunk per token, a finish chunk and a usage chunk', async () => {
    const server = await startServer({ seed: 3 });
    const client = clientFor(server);
    const buffered = await client.chat.completions.create(question);
    const stream = await client.chat.completions.create({
      ...question,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);

    expect(
      chunks.every((chunk) => chunk.object === 'chat.completion.chunk' && chunk.model === 'sim-model'),
    ).toBe(true);
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: '' });
    const tokenChunks = chunks.filter((chunk) => chunk.choices[0]?.delta.content);
    const content = tokenChunks.map((chunk) => chunk.choices[0]?.delta.content).join('');
    expect(content).toBe(buffered.choices[0]?.message.content);

    const finish = chunks.at(-2);
    expect(finish?.choices[0]?.finish_reason).toBe('stop');
    const usageChunk = chunks.at(-1);
    expect(usageChunk?.choices).toEqual([]);
    expect(usageChunk?.usage).toEqual({
      prompt_tokens: QUESTION_PROMPT_TOKENS,
      completion_tokens: tokenChunks.length,
      total_tokens: QUESTION_PROMPT_TOKENS + tokenChunks.length,
    });
    expect(usageChunk?.usage).toEqual(buffered.usage);
  });

  it('ends a stream without a usage chunk unless include_usage is set', async () => {
    const server = await startServer();
    const response = await postChat(server, { ...question, stream: true, max_tokens: 4 });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const { events, broken } = await readEvents(response);

    expect(broken).toBe(false);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event) as ChatCompletionChunk);
    expect(chunks).toHaveLength(1 + 4 + 1);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('length');
    expect(chunks.some((chunk) => 'usage' in chunk)).toBe(false);
  });

  it('lists the configured models and rejects others with model_not_found', async () => {
    const server = await startServer({ models: ['llama-a', 'llama-b'] });
    const client = clientFor(server);
    const listed = [];
    for await (const model of client.models.list()) listed.push(model);
    expect(listed.map((model) => [model.id, model.object, model.owned_by])).toEqual([
      ['llama-a', 'model', 'agent-router-sim'],
      ['llama-b', 'model', 'agent-router-sim'],
    ]);

    expect((await client.chat.completions.create({ ...question, model: 'llama-b' })).model).toBe('llama-b');
    const response = await postChat(server, { ...question, model: 'gpt-unknown' });
    expect(response.status).toBe(404);
    expect(await errorOf(response)).toMatchObject({ code: 'model_not_found', param: 'model' });
  });

  it('lists no models and accepts any name when none are configured', async () => {
    const server = await startServer();
    const response = await fetch(server.url + '/v1/models');
    expect(await response.json()).toEqual({ object: 'list', data: [] });
    const answer = await clientFor(server).chat.completions.create({ ...question, model: 'anything/at-all' });
    expect(answer.model).toBe('anything/at-all');
  });
});

describe('request errors', () => {
  it('answers malformed JSON with 400 in the OpenAI error shape', async () => {
    const server = await startServer();
    const response = await postChat(server, '{"model": "m", "messages": [');
    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body).toEqual({
      error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: null },
    });
  });

  it('names the missing field in param', async () => {
    const server = await startServer();
    const noModel = await postChat(server, { messages: question.messages });
    expect(noModel.status).toBe(400);
    expect((await errorOf(noModel)).param).toBe('model');

    const noMessages = await postChat(server, { model: 'm', messages: [] });
    expect(noMessages.status).toBe(400);
    expect((await errorOf(noMessages)).param).toBe('messages');
  });

  it('requires the API key on /v1 routes but not on /health and /metrics', async () => {
    const server = await startServer({ apiKey: 'secret' });
    const missing = await postChat(server, question);
    expect(missing.status).toBe(401);
    expect((await errorOf(missing)).code).toBe('invalid_api_key');

    const wrong = await postChat(server, question, {
      headers: { 'content-type': 'application/json', authorization: 'Bearer nope' },
    });
    expect(wrong.status).toBe(401);
    await expect(clientFor(server, 'nope').models.list()).rejects.toMatchObject({ status: 401 });

    const answer = await clientFor(server, 'secret').chat.completions.create(question);
    expect(answer.choices[0]?.message.content).toBeTruthy();
    expect((await fetch(server.url + '/health')).status).toBe(200);
    expect((await fetch(server.url + '/metrics')).status).toBe(200);
  });

  it('answers unknown paths with 404 and wrong methods with 405', async () => {
    const server = await startServer();
    const unknown = await fetch(server.url + '/v1/embeddings', { method: 'POST', body: '{}' });
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).type).toBe('invalid_request_error');

    const wrongMethod = await fetch(server.url + '/v1/chat/completions');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    expect((await errorOf(wrongMethod)).code).toBe('method_not_allowed');
  });

  it('answers bodies over 32 MiB with 413 and keeps serving', async () => {
    const server = await startServer();
    const response = await postChat(server, Buffer.alloc(MAX_BODY_BYTES + 1, 0x20).toString());
    expect(response.status).toBe(413);
    expect((await errorOf(response)).code).toBe('request_too_large');
    expect((await postChat(server, question)).status).toBe(200);
  });
});

describe('fault injection', () => {
  it('answers every API request with the injected status until cleared', async () => {
    const server = await startServer();
    server.setFault({ status: 500, message: 'boom' });
    const failed = await postChat(server, question);
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({
      error: { message: 'boom', type: 'server_error', param: null, code: null },
    });
    await expect(clientFor(server).chat.completions.create(question)).rejects.toMatchObject({ status: 500 });
    expect((await fetch(server.url + '/v1/models')).status).toBe(500);
    expect((await fetch(server.url + '/health')).status).toBe(200);

    server.setFault(undefined);
    expect((await postChat(server, question)).status).toBe(200);
  });

  it('sends retry-after with an injected 429', async () => {
    const server = await startServer();
    server.setFault({ status: 429 });
    const response = await postChat(server, question);
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('1');
    expect((await errorOf(response)).code).toBe('rate_limit_exceeded');
  });

  it('breaks a stream after the given number of tokens', async () => {
    const server = await startServer();
    server.setFault({ status: 502, afterTokens: 3 });
    const response = await postChat(server, { ...question, stream: true });
    expect(response.status).toBe(200);
    const { events, broken } = await readEvents(response);

    expect(broken).toBe(true);
    expect(events).not.toContain('[DONE]');
    const chunks = events.map((event) => JSON.parse(event) as ChatCompletionChunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content !== '')).toEqual([false, true, true, true]);
    await waitUntil(() => server.stats().running === 0);
    expect(
      sampleValue(await scrape(server), 'vllm:request_success_total', { finished_reason: 'abort' }),
    ).toBe(1);
  });

  it('makes the SDK stream fail when the stream breaks', async () => {
    const server = await startServer();
    server.setFault({ status: 502, afterTokens: 2 });
    const stream = await clientFor(server).chat.completions.create({ ...question, stream: true });
    const received: string[] = [];
    const consume = async () => {
      for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? '');
    };
    await expect(consume()).rejects.toThrow();
    expect(received.filter((text) => text !== '')).toHaveLength(2);
  });

  it('answers a buffered request with the status of a broken-stream fault', async () => {
    const server = await startServer();
    server.setFault({ status: 502, afterTokens: 2 });
    expect((await postChat(server, question)).status).toBe(502);
  });
});

describe('continuous batching', () => {
  it('runs up to maxConcurrency requests and reports the rest as waiting', async () => {
    // Each decode step takes 500 ms and every answer has at least 16 tokens, so once the second request
    // joins the batch at the first step boundary nothing finishes for seconds; clients abort at the end.
    const server = await startServer({ maxConcurrency: 2, msPerToken: 500 });
    const clients = Array.from({ length: 5 }, () => new AbortController());
    const responses = clients.map((client) =>
      postChat(server, { ...question, stream: true }, { signal: client.signal }).catch(() => undefined),
    );
    await waitUntil(() => server.stats().running === 2 && server.stats().waiting === 3);

    const metrics = await scrape(server);
    expect(sampleValue(metrics, 'vllm:num_requests_running', { model_name: 'sim' })).toBe(2);
    expect(sampleValue(metrics, 'vllm:num_requests_waiting', { model_name: 'sim' })).toBe(3);
    const kvUsage = sampleValue(metrics, 'vllm:kv_cache_usage_perc');
    expect(kvUsage).toBeGreaterThan(0);
    expect(sampleValue(metrics, 'vllm:gpu_cache_usage_perc')).toBe(kvUsage);

    for (const client of clients) client.abort();
    await Promise.all(responses);
    await waitUntil(() => server.stats().running === 0 && server.stats().waiting === 0);
    expect(server.stats().engine).toMatchObject({ kvBlocksUsed: 0, cancelledRequests: 5 });
    expect(
      sampleValue(await scrape(server), 'vllm:request_success_total', { finished_reason: 'abort' }),
    ).toBe(5);
  });

  it('admits a waiting request when a running client disconnects', async () => {
    const server = await startServer({ maxConcurrency: 1, msPerToken: 60_000 });
    const holder = new AbortController();
    const holding = await postChat(server, { ...question, stream: true }, { signal: holder.signal });
    // The first chunk arrives before the slow decode, so the holder is running now.
    await holding.body!.getReader().read();

    // One output token needs no decode delay, so this finishes as soon as it is admitted.
    const queued = clientFor(server).chat.completions.create({ ...question, max_tokens: 1 });
    await waitUntil(() => server.stats().waiting === 1);
    holder.abort();

    const answer = await queued;
    expect(answer.usage?.completion_tokens).toBe(1);
    await waitUntil(() => server.stats().running === 0);
  });
});

describe('the engine behind the server', () => {
  it('takes engine settings over the legacy options', async () => {
    const server = await startServer({
      maxConcurrency: 64,
      msPerToken: 500,
      engine: { maxBatchSize: 1, kvCacheBlocks: 512, blockSize: 32 },
    });
    expect(server.stats().engine).toMatchObject({ kvBlocksTotal: 512 });
    // One slot, not 64: the second request waits behind the first, which decodes for seconds.
    const holder = new AbortController();
    const holding = await postChat(server, { ...question, stream: true }, { signal: holder.signal });
    await holding.body!.getReader().read();
    const queued = new AbortController();
    const waiting = postChat(server, question, { signal: queued.signal }).catch(() => undefined);
    await waitUntil(() => server.stats().waiting === 1);
    expect(server.stats()).toMatchObject({ running: 1, waiting: 1 });
    holder.abort();
    queued.abort();
    await waiting;
    await waitUntil(() => server.stats().running === 0 && server.stats().waiting === 0);
  });

  it('answers a prompt longer than the KV cache with 400 context_length_exceeded', async () => {
    // One block of 16 tokens: the 10-token question plus its answer (16 tokens or more) cannot fit.
    const server = await startServer({ engine: { kvCacheBlocks: 1 } });
    const response = await postChat(server, question);
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({
      type: 'invalid_request_error',
      param: 'messages',
      code: 'context_length_exceeded',
    });
    expect((await postChat(server, { ...question, max_tokens: 6 })).status).toBe(200);
  });

  it('serves buffered and streamed answers alike while requests share the batch', async () => {
    const server = await startServer({
      seed: 5,
      engine: {
        maxBatchSize: 2,
        decodeMsPerStepBase: 1,
        decodeMsPerStepPerSeq: 0.5,
        prefillMsPerToken: 0.01,
      },
    });
    const client = clientFor(server);
    // A shared system prompt of 400 characters: 100 tokens, six full blocks every request can reuse.
    const system = {
      role: 'system' as const,
      content: 'Answer briefly and stay on topic. '.repeat(12).slice(0, 400),
    };
    const prompts = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'].map((word) => ({
      ...question,
      messages: [system, { role: 'user' as const, content: `Tell me about ${word}.` }],
    }));
    const buffered = await Promise.all(prompts.map((prompt) => client.chat.completions.create(prompt)));
    const streamed = await Promise.all(
      prompts.map(async (prompt) => {
        let content = '';
        for await (const chunk of await client.chat.completions.create({ ...prompt, stream: true })) {
          content += chunk.choices[0]?.delta.content ?? '';
        }
        return content;
      }),
    );
    expect(streamed).toEqual(buffered.map((answer) => answer.choices[0]?.message.content));
    const { engine } = server.stats();
    expect(engine).toMatchObject({ running: 0, waiting: 0, kvBlocksUsed: 0, finishedRequests: 10 });
    expect(engine.prefixCacheQueries).toBe(2 * buffered.reduce((sum, a) => sum + a.usage!.prompt_tokens, 0));
    expect(engine.prefixCacheHits).toBeGreaterThan(0);
  });
});

describe('metrics and lifecycle', () => {
  it('exposes vLLM metrics that add up the served usage', async () => {
    const server = await startServer({ models: ['llama-a'] });
    const client = clientFor(server);
    const answers = await Promise.all([
      client.chat.completions.create({ ...question, model: 'llama-a' }),
      client.chat.completions.create({ ...question, model: 'llama-a', max_tokens: 2 }),
    ]);
    const response = await fetch(server.url + '/metrics');
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const metrics = parsePrometheusText(await response.text());

    const model = { model_name: 'llama-a' };
    const sum = (pick: (usage: OpenAI.CompletionUsage) => number) =>
      answers.reduce((total, answer) => total + pick(answer.usage!), 0);
    expect(sampleValue(metrics, 'vllm:prompt_tokens_total', model)).toBe(sum((usage) => usage.prompt_tokens));
    expect(sampleValue(metrics, 'vllm:generation_tokens_total', model)).toBe(
      sum((usage) => usage.completion_tokens),
    );
    expect(sampleValue(metrics, 'vllm:request_success_total', { ...model, finished_reason: 'stop' })).toBe(1);
    expect(sampleValue(metrics, 'vllm:request_success_total', { ...model, finished_reason: 'length' })).toBe(
      1,
    );
    expect(sampleValue(metrics, 'vllm:num_requests_running', model)).toBe(0);
    expect(sampleValue(metrics, 'vllm:num_requests_waiting', model)).toBe(0);
    expect(sampleValue(metrics, 'vllm:kv_cache_usage_perc', model)).toBe(0);
    expect(server.stats()).toMatchObject({ requestsServed: 2, running: 0, waiting: 0 });
  });

  it('declares every family with vLLM’s types, and histograms that add up', async () => {
    const server = await startServer();
    await clientFor(server).chat.completions.create(question);
    const metrics = await scrape(server);
    const types = Object.fromEntries(
      [...metrics.families.values()].map((family) => [family.name, family.type]),
    );
    expect(types).toEqual({
      'vllm:num_requests_running': 'gauge',
      'vllm:num_requests_waiting': 'gauge',
      'vllm:gpu_cache_usage_perc': 'gauge',
      'vllm:kv_cache_usage_perc': 'gauge',
      'vllm:gpu_prefix_cache_queries_total': 'counter',
      'vllm:gpu_prefix_cache_hits_total': 'counter',
      'vllm:prefix_cache_queries_total': 'counter',
      'vllm:prefix_cache_hits_total': 'counter',
      'vllm:num_preemptions_total': 'counter',
      'vllm:prompt_tokens_total': 'counter',
      'vllm:generation_tokens_total': 'counter',
      'vllm:request_success_total': 'counter',
      'vllm:time_to_first_token_seconds': 'histogram',
      'vllm:e2e_request_latency_seconds': 'histogram',
      'vllm:lora_requests_info': 'gauge',
    });
    for (const family of metrics.families.values()) expect(family.help).toBeTruthy();

    for (const histogram of ['vllm:time_to_first_token_seconds', 'vllm:e2e_request_latency_seconds']) {
      const buckets = metrics.samples.filter((sample) => sample.name === `${histogram}_bucket`);
      const counts = buckets.map((bucket) => bucket.value);
      expect(counts).toEqual([...counts].sort((a, b) => a - b));
      expect(buckets.at(-1)?.labels.le).toBe('+Inf');
      expect(counts.at(-1)).toBe(1);
      expect(sampleValue(metrics, `${histogram}_count`)).toBe(1);
      expect(sampleValue(metrics, `${histogram}_sum`)).toBeGreaterThanOrEqual(0);
    }
  });

  it('reports LoRA capacity and no adapters in vllm:lora_requests_info', async () => {
    const server = await startServer({ maxLoras: 4 });
    const info = (await scrape(server)).samples.filter((sample) => sample.name === 'vllm:lora_requests_info');
    expect(info).toHaveLength(1);
    expect(info[0]?.labels).toEqual({ max_lora: '4', running_lora_adapters: '', waiting_lora_adapters: '' });
    // The value is the time of the report, in seconds, so a scraper can pick the newest.
    expect(info[0]?.value).toBeGreaterThan(1_600_000_000);
  });

  it('counts prefix cache hits in tokens when a prompt comes back', async () => {
    const server = await startServer();
    const client = clientFor(server);
    // 1200 characters: 300 tokens, 18 full blocks of 16.
    const long = { ...question, messages: [{ role: 'user' as const, content: 'lorem ipsum '.repeat(100) }] };
    await client.chat.completions.create(long);
    let metrics = await scrape(server);
    expect(sampleValue(metrics, 'vllm:prefix_cache_queries_total')).toBe(300);
    expect(sampleValue(metrics, 'vllm:prefix_cache_hits_total')).toBe(0);

    await client.chat.completions.create(long);
    metrics = await scrape(server);
    expect(sampleValue(metrics, 'vllm:prefix_cache_queries_total')).toBe(600);
    // All 18 blocks are cached; vLLM still computes the last token, so 299 tokens round down to 18 blocks.
    expect(sampleValue(metrics, 'vllm:prefix_cache_hits_total')).toBe(18 * 16);
    expect(sampleValue(metrics, 'vllm:gpu_prefix_cache_queries_total')).toBe(600);
    expect(sampleValue(metrics, 'vllm:gpu_prefix_cache_hits_total')).toBe(18 * 16);
  });

  it('reports the real port in url', async () => {
    const server = await startServer();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
    expect((await fetch(server.url + '/health')).status).toBe(200);
  });

  it('closes with idle keep-alive and in-flight connections open', async () => {
    const server = await startModelServer({ msPerToken: 60_000 });
    const client = clientFor(server);
    // One token needs no decode delay; the connection then idles in the keep-alive pool.
    await client.chat.completions.create({ ...question, max_tokens: 1 });
    const inFlight = await client.chat.completions.create({ ...question, stream: true });
    const iterator = inFlight[Symbol.asyncIterator]();
    await iterator.next();

    await server.close();
    const drain = async () => {
      while (!(await iterator.next()).done) {}
    };
    await expect(drain()).rejects.toThrow();
    await expect(fetch(server.url + '/health')).rejects.toThrow();
    await server.close();
  });
});
