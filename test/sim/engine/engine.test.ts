import { describe, expect, it } from 'vitest';
import type { EngineConfig } from '../../../sim/engine/config.ts';
import { Engine, type EngineEvent } from '../../../sim/engine/engine.ts';
import { createRandom } from '../../../sim/seeded-random.ts';
import { type Arrival, drive, timeline, tokens } from './drive.ts';

/** Costs chosen so that every time below is exact in binary floating point. */
const BASE: EngineConfig = {
  maxBatchSize: 8,
  kvCacheBlocks: 1000,
  blockSize: 4,
  prefillMsBase: 1,
  prefillMsPerToken: 0.5,
  decodeMsPerStepBase: 10,
  decodeMsPerStepPerSeq: 2,
  prefixCacheBlocks: 0,
  seed: 0,
};

function engineWith(overrides: Partial<EngineConfig> = {}): Engine {
  return new Engine({ ...BASE, ...overrides });
}

function arrival(atMs: number, id: string, prompt: number[], maxTokens: number): Arrival {
  return { atMs, request: { id, promptTokens: prompt, maxTokens } };
}

function firstTokenAt(events: readonly EngineEvent[], id: string): number {
  const event = events.find((e) => e.requestId === id && e.type === 'first_token');
  if (event === undefined) throw new Error(`no first token for ${id}`);
  return event.atMs;
}

describe('continuous batching', () => {
  it('queues requests beyond maxBatchSize and admits them in arrival order as slots free', () => {
    const engine = engineWith({ maxBatchSize: 1 });
    engine.submit({ id: 'a', promptTokens: tokens(8), maxTokens: 3 }, 0);
    engine.submit({ id: 'b', promptTokens: tokens(4, 100), maxTokens: 1 }, 0);
    engine.submit({ id: 'c', promptTokens: tokens(4, 200), maxTokens: 1 }, 1);
    const early = engine.advance(1);
    expect(engine.snapshot()).toMatchObject({ running: 1, waiting: 2 });

    const events = [...early, ...drive(engine, [])];
    // a: prefill 1 + 0.5 × 8 = 5 ms, then two decode steps of 10 + 2 × 1 = 12 ms.
    expect(timeline(events, 'a')).toEqual(['first_token@5', 'token@17', 'token@29', 'finished@29']);
    // b waits for a to finish (29 ms), then its prefill takes 1 + 0.5 × 4 = 3 ms: TTFT 32 ms.
    expect(timeline(events, 'b')).toEqual(['first_token@32', 'finished@32']);
    expect(timeline(events, 'c')).toEqual(['first_token@35', 'finished@35']);
    expect(engine.snapshot()).toMatchObject({ running: 0, waiting: 0, kvBlocksUsed: 0, finishedRequests: 3 });
  });

  it('gives a TTFT of queue wait plus the step that prefills the uncached prompt', () => {
    const events = drive(engineWith(), [
      arrival(0, 'a', tokens(8), 4),
      // Arrives while a's prefill runs, so it waits for that step (until 5 ms).
      arrival(3, 'b', tokens(12, 100), 1),
    ]);
    // The step from 5 ms decodes a (10 + 2 × 1) and prefills b (1 + 0.5 × 12): 19 ms.
    expect(timeline(events, 'b')).toEqual(['first_token@24', 'finished@24']);
    expect(firstTokenAt(events, 'b') - 3).toBe(2 + 12 + 7);
    expect(timeline(events, 'a')).toEqual([
      'first_token@5',
      'token@24',
      'token@36',
      'token@48',
      'finished@48',
    ]);
  });

  it('prefills requests arriving at the same time in one step', () => {
    const events = drive(engineWith(), [arrival(0, 'a', tokens(4), 1), arrival(0, 'b', tokens(4, 100), 1)]);
    // One step: 1 + 0.5 × (4 + 4) ms.
    expect(firstTokenAt(events, 'a')).toBe(5);
    expect(firstTokenAt(events, 'b')).toBe(5);
  });

  it('slows decode steps down as the batch grows', () => {
    const free = { prefillMsBase: 0, prefillMsPerToken: 0 };
    const alone = drive(engineWith(free), [arrival(0, 'a', tokens(4), 2)]);
    expect(timeline(alone, 'a')).toEqual(['first_token@0', 'token@12', 'finished@12']);

    const ids = ['a', 'b', 'c', 'd'];
    const batch = drive(
      engineWith(free),
      ids.map((id, i) => arrival(0, id, tokens(4, 100 * i), 2)),
    );
    for (const id of ids) {
      // 10 + 2 × 4 sequences.
      expect(timeline(batch, id)).toEqual(['first_token@0', 'token@18', 'finished@18']);
    }
  });

  it('emits first_token, then one token per step, then finished, counting output tokens', () => {
    const events = drive(engineWith(), [arrival(0, 'a', tokens(4), 3)]);
    expect(events.map((e) => [e.type, e.outputTokens])).toEqual([
      ['first_token', 1],
      ['token', 2],
      ['token', 3],
      ['finished', 3],
    ]);
  });
});

describe('prefix caching', () => {
  const cached = { prefixCacheBlocks: 100 };
  const shared = tokens(32, 1);

  it('gives a second request sharing a long prefix a cache hit and a shorter TTFT', () => {
    const engine = engineWith(cached);
    const events = drive(engine, [
      arrival(0, 'a', [...shared, ...tokens(8, 1000)], 1),
      arrival(100, 'b', [...shared, ...tokens(8, 2000)], 1),
    ]);
    // a: all 40 tokens uncached: 1 + 0.5 × 40 = 21 ms.
    expect(firstTokenAt(events, 'a')).toBe(21);
    // b: the 8 shared blocks (32 tokens) hit; 8 tokens left: 1 + 0.5 × 8 = 5 ms.
    expect(firstTokenAt(events, 'b') - 100).toBe(5);
    expect(engine.snapshot()).toMatchObject({ prefixCacheQueries: 80, prefixCacheHits: 32 });
  });

  it('recomputes at least the last prompt token of a fully cached prompt, in whole blocks', () => {
    const engine = engineWith(cached);
    const prompt = [...shared, ...tokens(8, 1000)];
    const events = drive(engine, [arrival(0, 'a', prompt, 1), arrival(100, 'again', prompt, 1)]);
    // 10 full blocks are cached, but vLLM caps a hit at num_tokens - 1: 9 blocks, 36 tokens; 4 computed.
    expect(firstTokenAt(events, 'again') - 100).toBe(1 + 0.5 * 4);
    expect(engine.snapshot()).toMatchObject({ prefixCacheHits: 36 });
  });

  it('evicts the least recently used blocks beyond prefixCacheBlocks', () => {
    const engine = engineWith({ prefixCacheBlocks: 3, prefillMsBase: 0, prefillMsPerToken: 1 });
    // Nine tokens: two full blocks each, and at most two blocks can hit (num_tokens - 1 = 8).
    const x = tokens(9, 1);
    const y = tokens(9, 100);
    const events = drive(engine, [
      arrival(0, 'x', x, 1),
      arrival(10, 'y', y, 1), // caches y1, y0 and evicts x1: [x0, y1, y0]
      arrival(20, 'y-again', y, 1), // both blocks hit
      arrival(30, 'x-again', x, 1), // x0 hits, x1 is gone; re-caching x evicts y1
      arrival(40, 'y-third', y, 1), // y0 hits, y1 is gone
    ]);
    expect(
      ['x', 'y', 'y-again', 'x-again', 'y-third'].map((id, i) => firstTokenAt(events, id) - 10 * i),
    ).toEqual([9, 9, 1, 5, 5]);
    expect(engine.snapshot()).toMatchObject({ prefixCachedBlocks: 3, prefixCacheHits: 8 + 4 + 4 });
  });

  it('does not look anything up when prefixCacheBlocks is 0', () => {
    const engine = engineWith({ prefixCacheBlocks: 0 });
    const events = drive(engine, [arrival(0, 'a', shared, 1), arrival(100, 'b', shared, 1)]);
    expect(firstTokenAt(events, 'b') - 100).toBe(firstTokenAt(events, 'a'));
    expect(engine.snapshot()).toMatchObject({
      prefixCacheQueries: 0,
      prefixCacheHits: 0,
      prefixCachedBlocks: 0,
    });
  });
});

describe('KV cache', () => {
  it('allocates blocks as output grows and reports their share as kvCacheUsage', () => {
    const engine = engineWith({ kvCacheBlocks: 10, prefillMsBase: 0, prefillMsPerToken: 0 });
    engine.submit({ id: 'a', promptTokens: tokens(4), maxTokens: 3 }, 0);
    engine.advance(0);
    // The prefill step held one block (4 tokens); the decode step in flight appends token 5: two blocks.
    expect(engine.snapshot()).toMatchObject({ kvBlocksUsed: 2, kvBlocksTotal: 10, kvCacheUsage: 0.2 });
    drive(engine, []);
    expect(engine.snapshot()).toMatchObject({ kvBlocksUsed: 0, kvCacheUsage: 0 });
  });

  it('preempts the newest running request when blocks run out and recomputes it later', () => {
    const engine = engineWith({
      maxBatchSize: 4,
      kvCacheBlocks: 4,
      prefillMsBase: 0,
      prefillMsPerToken: 1,
      decodeMsPerStepPerSeq: 0,
    });
    const events = drive(engine, [arrival(0, 'a', tokens(4), 8), arrival(0, 'b', tokens(4, 100), 8)]);
    // Both hold two blocks after 4 output tokens; a's sixth token (9 tokens of KV) needs a third block,
    // so b, the newest, is preempted at 48 ms. It waits until a finishes, then recomputes its 4 prompt and
    // 5 output tokens (9 ms) and carries on from its sixth token.
    expect(timeline(events, 'a')).toEqual([
      'first_token@8',
      'token@18',
      'token@28',
      'token@38',
      'token@48',
      'token@58',
      'token@68',
      'token@78',
      'finished@78',
    ]);
    expect(timeline(events, 'b')).toEqual([
      'first_token@8',
      'token@18',
      'token@28',
      'token@38',
      'token@48',
      'token@87',
      'token@97',
      'token@107',
      'finished@107',
    ]);
    expect(engine.snapshot()).toMatchObject({ preemptions: 1, generationTokens: 16, promptTokens: 8 });
  });

  it('holds back new requests while preempted ones wait', () => {
    const engine = engineWith({
      kvCacheBlocks: 4,
      prefillMsBase: 0,
      prefillMsPerToken: 0,
      decodeMsPerStepPerSeq: 0,
    });
    const events = drive(engine, [
      arrival(0, 'a', tokens(4), 8),
      arrival(0, 'b', tokens(4, 100), 8),
      arrival(1, 'c', tokens(4, 200), 1),
    ]);
    // a and b hold all four blocks from their first decode step, so c waits. At 40 ms a needs a third
    // block and b is preempted to the front of the queue, ahead of c; c would fit in the block left over,
    // but admission is FIFO, so both wait until a finishes at 70 ms and are then admitted together.
    expect(engine.snapshot().preemptions).toBe(1);
    expect(timeline(events, 'c')).toEqual(['first_token@70', 'finished@70']);
    expect(timeline(events, 'b').slice(4)).toEqual([
      'token@40',
      'token@70',
      'token@80',
      'token@90',
      'finished@90',
    ]);
    expect(events.filter((e) => e.type === 'finished').map((e) => e.requestId)).toEqual(['a', 'c', 'b']);
  });

  it('refuses a request that could never fit in the KV cache', () => {
    const engine = engineWith({ kvCacheBlocks: 2 });
    // 2 blocks of 4 tokens: prompt + maxTokens - 1 must stay within 8.
    expect(() => engine.submit({ id: 'long', promptTokens: tokens(8), maxTokens: 2 }, 0)).toThrow(RangeError);
    expect(() => engine.submit({ id: 'fits', promptTokens: tokens(7), maxTokens: 2 }, 0)).not.toThrow();
    expect(engine.maxModelLen).toBe(8);
  });
});

describe('cancellation', () => {
  it('drops a waiting request without running it', () => {
    const engine = engineWith({ maxBatchSize: 1 });
    engine.submit({ id: 'a', promptTokens: tokens(4), maxTokens: 2 }, 0);
    engine.submit({ id: 'b', promptTokens: tokens(4, 100), maxTokens: 2 }, 0);
    expect(engine.cancel('b', 1)).toBe(true);
    expect(engine.snapshot()).toMatchObject({ waiting: 0, cancelledRequests: 1 });
    const events = [...engine.advance(1), ...drive(engine, [])];
    expect(timeline(events, 'b')).toEqual([]);
    expect(engine.cancel('b', 100)).toBe(false);
  });

  it('frees a running request’s blocks and abandons a step left with nobody in it', () => {
    const engine = engineWith({
      maxBatchSize: 1,
      prefillMsBase: 0,
      prefillMsPerToken: 0,
      decodeMsPerStepBase: 1000,
    });
    engine.submit({ id: 'a', promptTokens: tokens(4), maxTokens: 5 }, 0);
    expect(timeline(engine.advance(0), 'a')).toEqual(['first_token@0']);
    engine.submit({ id: 'b', promptTokens: tokens(4, 100), maxTokens: 1 }, 1);
    expect(engine.nextEventAt()).toBe(1002);

    engine.cancel('a', 5);
    expect(engine.snapshot()).toMatchObject({ running: 0, waiting: 1, kvBlocksUsed: 0 });
    // a's decode step had nobody left, so b starts at 5 ms instead of waiting until 1002 ms.
    expect(engine.nextEventAt()).toBe(5);
    expect(timeline(drive(engine, []), 'b')).toEqual(['first_token@5', 'finished@5']);
  });
});

describe('the clock', () => {
  it('reports when advance next has work: the pending start, then the end of the step', () => {
    const engine = engineWith();
    expect(engine.nextEventAt()).toBeUndefined();
    engine.submit({ id: 'a', promptTokens: tokens(4), maxTokens: 1 }, 7);
    expect(engine.nextEventAt()).toBe(7);
    expect(engine.advance(7)).toEqual([]);
    expect(engine.nextEventAt()).toBe(10);
    expect(engine.advance(9.9)).toEqual([]);
    expect(engine.advance(50)).toEqual([
      { type: 'first_token', requestId: 'a', atMs: 10, outputTokens: 1 },
      { type: 'finished', requestId: 'a', atMs: 10, outputTokens: 1 },
    ]);
    expect(engine.nextEventAt()).toBeUndefined();
  });

  it('keeps events of steps that ended before a late submit for the next advance', () => {
    const engine = engineWith();
    engine.submit({ id: 'a', promptTokens: tokens(4), maxTokens: 1 }, 0);
    engine.submit({ id: 'b', promptTokens: tokens(4, 100), maxTokens: 1 }, 20);
    expect(engine.nextEventAt()).toBe(20);
    const events = engine.advance(20);
    expect(timeline(events, 'a')).toEqual(['first_token@3', 'finished@3']);
    expect(engine.nextEventAt()).toBe(23);
  });

  it('refuses time going backwards, duplicate ids and bad requests', () => {
    const engine = engineWith();
    engine.submit({ id: 'a', promptTokens: tokens(4), maxTokens: 5 }, 10);
    expect(() => engine.advance(9)).toThrow(RangeError);
    expect(() => engine.submit({ id: 'a', promptTokens: tokens(4), maxTokens: 1 }, 10)).toThrow(RangeError);
    expect(() => engine.submit({ id: 'empty', promptTokens: [], maxTokens: 1 }, 10)).toThrow(RangeError);
    expect(() => engine.submit({ id: 'none', promptTokens: tokens(4), maxTokens: 0 }, 10)).toThrow(
      RangeError,
    );
  });

  it('refuses invalid settings', () => {
    expect(() => new Engine({ maxBatchSize: 0 })).toThrow(RangeError);
    expect(() => new Engine({ blockSize: 1.5 })).toThrow(RangeError);
    expect(() => new Engine({ decodeMsPerStepBase: -1 })).toThrow(RangeError);
    expect(() => new Engine({ prefillMsPerToken: Number.NaN })).toThrow(RangeError);
    expect(new Engine({ blockSize: undefined }).config.blockSize).toBe(16);
  });
});

describe('determinism', () => {
  /** A busy mixed workload: Poisson arrivals, four shared system prompts, tight KV so preemption happens. */
  function workload(seed: number, count: number): Arrival[] {
    const random = createRandom(seed);
    const systemPrompts = [0, 1, 2, 3].map((i) => tokens(64, 10_000 * (i + 1)));
    const arrivals: Arrival[] = [];
    let atMs = 0;
    for (let i = 0; i < count; i++) {
      atMs += -Math.log(1 - random()) * 20;
      const system = systemPrompts[Math.floor(random() * systemPrompts.length)]!;
      const user = tokens(1 + Math.floor(random() * 200), 1_000_000 + i * 1000);
      arrivals.push(arrival(atMs, `r${i}`, [...system, ...user], 1 + Math.floor(random() * 60)));
    }
    return arrivals;
  }

  const busy: Partial<EngineConfig> = {
    maxBatchSize: 16,
    kvCacheBlocks: 160,
    blockSize: 16,
    prefillMsBase: 1,
    prefillMsPerToken: 0.05,
    decodeMsPerStepBase: 8,
    decodeMsPerStepPerSeq: 0.25,
    prefixCacheBlocks: 64,
    seed: 42,
  };

  it('produces identical events for the same settings and inputs', () => {
    const arrivals = workload(7, 300);
    const first = drive(new Engine(busy), arrivals);
    const second = drive(new Engine(busy), arrivals);
    expect(second).toEqual(first);
  });

  it('finishes every request with exactly its tokens, in time order, whatever the load', () => {
    const arrivals = workload(11, 300);
    const engine = new Engine(busy);
    const events = drive(engine, arrivals);
    for (let i = 1; i < events.length; i++)
      expect(events[i]!.atMs).toBeGreaterThanOrEqual(events[i - 1]!.atMs);
    for (const { request } of arrivals) {
      const own = events.filter((e) => e.requestId === request.id);
      expect(own.map((e) => e.type)).toEqual([
        'first_token',
        ...Array<string>(request.maxTokens - 1).fill('token'),
        'finished',
      ]);
    }
    const snapshot = engine.snapshot();
    expect(snapshot).toMatchObject({ running: 0, waiting: 0, kvBlocksUsed: 0, finishedRequests: 300 });
    expect(snapshot.generationTokens).toBe(arrivals.reduce((sum, a) => sum + a.request.maxTokens, 0));
    expect(snapshot.preemptions).toBeGreaterThan(0);
    expect(snapshot.prefixCacheHits).toBeGreaterThan(0);
    expect(snapshot.prefixCachedBlocks).toBeLessThanOrEqual(64);
  });
});
