import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  MODEL_SERVER_METRICS,
  readLoad,
  seriesNames,
} from '../../../endpoint-picker/metrics/model-server-metrics.ts';
import { parseExposition } from '../../../endpoint-picker/metrics/prometheus-text.ts';
import { MetricsScraper } from '../../../endpoint-picker/metrics/scraper.ts';

// vLLM V1 exposition (vllm/v1/metrics/loggers.py names), with the LoRA info metric of GIE's model-server protocol.
const VLLM = `# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 3.0
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 7.0
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.42
# TYPE vllm:lora_requests_info gauge
vllm:lora_requests_info{max_lora="4",running_lora_adapters="sql-lora,chat-lora",waiting_lora_adapters=""} 1.7e+09
vllm:lora_requests_info{max_lora="4",running_lora_adapters="old",waiting_lora_adapters=""} 1.6e+09
`;

describe('model-server metrics', () => {
  it('parses the exposition format, escapes and special values included', () => {
    const samples = parseExposition('a{l="x\\"y\\\\z\\n"} +Inf 123\nb NaN\n# c\nd{} -1.5e3');
    expect(samples[0]).toMatchObject({
      name: 'a',
      labels: { l: 'x"y\\z\n' },
      value: Number.POSITIVE_INFINITY,
    });
    expect(Number.isNaN(samples[1]!.value)).toBe(true);
    expect(samples[2]).toMatchObject({ name: 'd', value: -1500 });
    expect(() => parseExposition('bad{l="x} 1')).toThrow(/line 1/);
  });

  it('reads queue, running, KV usage and the newest LoRA info from vLLM', () => {
    expect(readLoad(parseExposition(VLLM), MODEL_SERVER_METRICS.vllm)).toEqual({
      waitingQueueSize: 7,
      runningRequests: 3,
      kvCacheUsage: 0.42,
      activeLoras: ['sql-lora', 'chat-lora'],
      waitingLoras: [],
      maxLoras: 4,
    });
  });

  it('reads the older gpu_cache_usage_perc, and SGLang and TensorRT-LLM names', () => {
    const older = VLLM.replaceAll('kv_cache_usage_perc', 'gpu_cache_usage_perc');
    expect(readLoad(parseExposition(older), MODEL_SERVER_METRICS.vllm)).toMatchObject({ kvCacheUsage: 0.42 });
    const sglang =
      'sglang:num_queue_reqs{model_name="m"} 2\nsglang:num_running_reqs{model_name="m"} 5\nsglang:token_usage{model_name="m"} 0.3';
    expect(readLoad(parseExposition(sglang), MODEL_SERVER_METRICS.sglang)).toMatchObject({
      waitingQueueSize: 2,
      runningRequests: 5,
      kvCacheUsage: 0.3,
    });
    const trt =
      'nv_trt_llm_request_metrics{request_type="waiting"} 4\nnv_trt_llm_request_metrics{request_type="scheduled"} 6\nnv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="fraction"} 0.5\nnv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="max"} 1000';
    expect(readLoad(parseExposition(trt), MODEL_SERVER_METRICS.trtllm)).toMatchObject({
      waitingQueueSize: 4,
      runningRequests: 6,
      kvCacheUsage: 0.5,
    });
  });

  it('says which series is missing instead of guessing', () => {
    expect(readLoad(parseExposition('up 1'), MODEL_SERVER_METRICS.vllm)).toMatch(/vllm:num_requests_waiting/);
  });
});

describe('parsing only the series a load is read from', () => {
  it('reads the same load as a full parse, for every server type, skipping the rest unparsed', () => {
    const noise =
      'vllm:e2e_request_latency_seconds_bucket{le="0.3",model_name="m"} 5\nother_metric{broken 1\n';
    for (const [type, text] of [
      ['vllm', VLLM],
      ['sglang', 'sglang:num_queue_reqs 2\nsglang:num_running_reqs 1\nsglang:token_usage 0.3\n'],
      [
        'trtllm',
        'nv_trt_llm_request_metrics{request_type="waiting"} 4\nnv_trt_llm_request_metrics{request_type="scheduled"} 2\nnv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="fraction"} 0.5\n',
      ],
    ] as const) {
      const names = MODEL_SERVER_METRICS[type];
      // The malformed line would fail a full parse; skipped by name, it costs nothing.
      expect(readLoad(parseExposition(noise + text, seriesNames(names)), names)).toEqual(
        readLoad(parseExposition(text), names),
      );
    }
  });
});

describe('metrics scraper', () => {
  let server: http.Server;
  let address: string;
  let answer = { status: 200, body: VLLM, delayMs: 0 };
  let connections = 0;
  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      setTimeout(() => {
        res.writeHead(answer.status, { 'content-type': 'text/plain' });
        res.end(answer.body);
      }, answer.delayMs);
    });
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('keeps the latest load, marks a failing endpoint stale once its data is too old, and never throws', async () => {
    let now = 1_000;
    const failures: string[] = [];
    const scraper = new MetricsScraper({
      names: MODEL_SERVER_METRICS.vllm,
      staleAfterMs: 500,
      now: () => now,
      onError: (_a, reason) => failures.push(reason),
    });
    scraper.setTargets([address, '127.0.0.1:1']);
    await scraper.scrape(address);
    await scraper.scrape('127.0.0.1:1');
    expect(scraper.load(address)).toMatchObject({
      stale: false,
      load: { waitingQueueSize: 7, updatedAtMs: 1_000 },
    });
    expect(scraper.load('127.0.0.1:1')).toEqual({ load: undefined, stale: true });
    expect(failures).toHaveLength(1);
    answer = { status: 500, body: 'oops', delayMs: 0 };
    now = 1_400;
    await scraper.scrape(address);
    expect(scraper.load(address).stale).toBe(false); // last good data still fresh enough
    now = 1_600;
    expect(scraper.load(address)).toMatchObject({ stale: true, load: { waitingQueueSize: 7 } });
    expect(failures.at(-1)).toBe('HTTP 500');
    scraper.setTargets([]);
    expect(scraper.load(address).load).toBeUndefined();
    answer = { status: 200, body: VLLM, delayMs: 0 };
    scraper.stop();
  });

  it('spreads each round over the interval: every pod once per interval, a slice of the pool per tick', () => {
    vi.useFakeTimers();
    try {
      const scraper = new MetricsScraper({ names: MODEL_SERVER_METRICS.vllm, intervalMs: 100 });
      let scraped: string[] = [];
      scraper.scrape = async (a: string) => {
        scraped.push(a);
      };
      const pods = Array.from({ length: 23 }, (_, i) => `10.0.0.${i}:8000`);
      scraper.setTargets(pods);
      scraper.start();
      expect(scraped).toEqual(pods); // the first round at once: data as soon as possible
      for (let round = 0; round < 2; round++) {
        const ticks: string[][] = [];
        for (let t = 0; t < 10; t++) {
          scraped = [];
          vi.advanceTimersByTime(10);
          ticks.push(scraped);
        }
        expect(ticks.flat().sort()).toEqual([...pods].sort());
        expect(Math.max(...ticks.map((t) => t.length))).toBe(3);
      }
      scraper.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('scrapes a pod over one persistent connection', async () => {
    const scraper = new MetricsScraper({ names: MODEL_SERVER_METRICS.vllm });
    scraper.setTargets([address]);
    const before = connections;
    for (let i = 0; i < 5; i++) await scraper.scrape(address);
    expect(connections - before).toBe(1);
    expect(scraper.load(address).load).toMatchObject({ waitingQueueSize: 7 });
    scraper.stop();
  });

  it('gives up on a pod that does not answer in time, and on an answer too big to be metrics', async () => {
    const failures: string[] = [];
    const scraper = new MetricsScraper({
      names: MODEL_SERVER_METRICS.vllm,
      timeoutMs: 50,
      onError: (_a, reason) => failures.push(reason),
    });
    answer = { status: 200, body: VLLM, delayMs: 300 };
    await scraper.scrape(address);
    expect(failures.at(-1)).toBe('no answer within 50 ms');
    answer = { status: 200, body: 'x'.repeat(5 * 1024 * 1024), delayMs: 0 };
    await new Promise((r) => setTimeout(r, 300)); // the slow answer above has drained
    const patient = new MetricsScraper({
      names: MODEL_SERVER_METRICS.vllm,
      onError: (_a, reason) => failures.push(reason),
    });
    await patient.scrape(address);
    patient.stop();
    expect(failures.at(-1)).toMatch(/^metrics larger than/);
    expect(scraper.load(address).load).toBeUndefined();
    answer = { status: 200, body: VLLM, delayMs: 0 };
    scraper.stop();
  });
});
