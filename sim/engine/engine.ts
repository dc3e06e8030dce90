/**
 * A discrete-event model of vLLM's engine core: continuous batching over paged KV-cache blocks with
 * automatic prefix caching, following the V1 scheduler (vllm/v1/core/sched/scheduler.py). No timers and
 * no I/O: time is passed in, so one engine runs on the wall clock (the HTTP model server) or on a virtual
 * one (a routing benchmark), and the same inputs always give the same events.
 *
 * The engine works in steps (one model forward pass). A step starts when the previous one ends, or when
 * work arrives at an idle engine. At its start the scheduler
 *   1. grows every running sequence by the token it will append, allocating a KV block when the last one is
 *      full; when no block is free it preempts the newest running sequence back to the front of the waiting
 *      queue, freeing its blocks (vLLM's preemption by recomputation);
 *   2. unless it had to preempt, admits waiting requests in FIFO order while a batch slot and KV blocks for
 *      the whole prompt are free (head-of-line blocking, as in vLLM), looking their prompt up in the
 *      prefix cache.
 * The step lasts `prefillMsBase + prefillMsPerToken × uncached tokens` when it prefills anything, plus
 * `decodeMsPerStepBase + decodeMsPerStepPerSeq × decoding sequences` when it decodes anything. When it
 * ends, every sequence in it has one more output token: the first for the ones it prefilled. So a
 * request's time to first token is its queue wait plus the step that prefilled it.
 *
 * Simplifications, on purpose: no chunked prefill and no token budget per step; the prefix cache is a
 * separate LRU of block hashes (in vLLM it is the evictable part of the KV pool itself) and holds only
 * prompt blocks; running sequences never share KV blocks; a step whose sequences were all cancelled is
 * abandoned at once, so a long simulated step does not keep an emptied engine busy.
 */
import { type EngineConfig, resolveEngineConfig } from './config.ts';
import { blockHashes, PrefixCache } from './prefix-cache.ts';

export interface EngineRequest {
  /** Unique among the requests the engine still holds. */
  readonly id: string;
  /** Prompt token ids (`tokenize` in ../tokens.ts turns text into them); at least one. */
  readonly promptTokens: ArrayLike<number>;
  /** Output tokens to generate: the request finishes after that many. */
  readonly maxTokens: number;
}

export type EngineEventType = 'first_token' | 'token' | 'finished';

export interface EngineEvent {
  readonly type: EngineEventType;
  readonly requestId: string;
  readonly atMs: number;
  /** Output tokens generated so far, this one included; for `finished`, all of them. */
  readonly outputTokens: number;
}

export interface EngineSnapshot {
  /** The latest time the engine was given. */
  readonly nowMs: number;
  readonly running: number;
  readonly waiting: number;
  /** Share of KV blocks held by running sequences, 0..1 (vLLM's `kv_cache_usage_perc`). */
  readonly kvCacheUsage: number;
  readonly kvBlocksUsed: number;
  readonly kvBlocksTotal: number;
  /** Block hashes in the prefix cache now. */
  readonly prefixCachedBlocks: number;
  /** Prompt tokens found in the prefix cache, counted as vLLM does (tokens, at admission). */
  readonly prefixCacheHits: number;
  /** Prompt tokens looked up in the prefix cache. */
  readonly prefixCacheQueries: number;
  /** Prompt tokens of requests that produced their first token (cached ones included, as vLLM counts). */
  readonly promptTokens: number;
  readonly generationTokens: number;
  readonly preemptions: number;
  readonly finishedRequests: number;
  readonly cancelledRequests: number;
  readonly steps: number;
}

const WAITING = 0;
const RUNNING = 1;
const GONE = 2;

class Sequence {
  readonly id: string;
  readonly prompt: ArrayLike<number>;
  readonly maxTokens: number;
  /** Chained hashes of the prompt's full blocks, computed at the first admission. */
  hashes: number[] | undefined = undefined;
  generated = 0;
  blocks = 0;
  /** Admitted by the step in flight, which computes its prompt (and, after a preemption, its output). */
  prefilling = false;
  state = WAITING;

  constructor(id: string, prompt: ArrayLike<number>, maxTokens: number) {
    this.id = id;
    this.prompt = prompt;
    this.maxTokens = maxTokens;
  }
}

export class Engine {
  readonly config: EngineConfig;
  private readonly prefixCache: PrefixCache;
  private readonly sequences = new Map<string, Sequence>();
  /** FIFO from `waitingHead`; preempted sequences go back in front. */
  private waitingQueue: Sequence[] = [];
  private waitingHead = 0;
  /** In admission order: the last one is the newest, the first to be preempted. */
  private readonly running: Sequence[] = [];
  /** The sequences of the step in flight. */
  private readonly stepSequences: Sequence[] = [];
  private stepEndMs: number | undefined = undefined;
  /** When idle with work queued: the time the next step starts. */
  private nextStartMs: number | undefined = undefined;
  private clockMs = Number.NEGATIVE_INFINITY;
  private freeBlocks: number;
  private outbox: EngineEvent[] = [];

  private prefixCacheHits = 0;
  private prefixCacheQueries = 0;
  private promptTokens = 0;
  private generationTokens = 0;
  private preemptions = 0;
  private finishedRequests = 0;
  private cancelledRequests = 0;
  private steps = 0;

  constructor(config: Partial<EngineConfig> = {}) {
    this.config = resolveEngineConfig(config);
    this.prefixCache = new PrefixCache(this.config.prefixCacheBlocks);
    this.freeBlocks = this.config.kvCacheBlocks;
  }

  /** Longest prompt plus output the KV cache can ever hold (vLLM refuses longer with a 400). */
  get maxModelLen(): number {
    return this.config.kvCacheBlocks * this.config.blockSize;
  }

  /**
   * Queues a request arriving at `nowMs`. An idle engine starts a step at `nowMs`, after every other request
   * submitted at that same time. Throws a RangeError for a duplicate id or a request that can never fit.
   */
  submit(request: EngineRequest, nowMs: number): void {
    const { id, promptTokens, maxTokens } = request;
    if (promptTokens.length < 1) throw new RangeError(`request ${id} has an empty prompt`);
    if (!Number.isInteger(maxTokens) || maxTokens < 1) {
      throw new RangeError(`request ${id}: maxTokens must be a positive integer, got ${maxTokens}`);
    }
    // Its last step feeds output token maxTokens - 1: the KV cache then holds prompt + maxTokens - 1 tokens.
    if (promptTokens.length + maxTokens - 1 > this.maxModelLen) {
      throw new RangeError(
        `request ${id} needs ${promptTokens.length + maxTokens - 1} tokens of KV cache; ` +
          `the engine holds ${this.maxModelLen}`,
      );
    }
    this.runUntil(nowMs, false);
    if (this.sequences.has(id)) throw new RangeError(`request ${id} is already in the engine`);
    const sequence = new Sequence(id, promptTokens, maxTokens);
    this.sequences.set(id, sequence);
    this.waitingQueue.push(sequence);
    if (this.stepEndMs === undefined && this.nextStartMs === undefined) this.nextStartMs = nowMs;
  }

  /**
   * Drops a request wherever it is, freeing its blocks; returns false when the engine no longer holds it.
   * A step in flight whose sequences are all gone is abandoned, so the engine is free again at `nowMs`.
   */
  cancel(id: string, nowMs: number): boolean {
    this.runUntil(nowMs, false);
    const sequence = this.sequences.get(id);
    if (sequence === undefined) return false;
    if (sequence.state === WAITING) {
      const index = this.waitingQueue.indexOf(sequence, this.waitingHead);
      this.waitingQueue.splice(index, 1);
    } else {
      this.running.splice(this.running.indexOf(sequence), 1);
      this.freeBlocks += sequence.blocks;
      sequence.blocks = 0;
    }
    sequence.state = GONE;
    this.sequences.delete(id);
    this.cancelledRequests++;
    if (this.stepEndMs !== undefined && this.stepSequences.every((s) => s.state !== RUNNING)) {
      this.stepSequences.length = 0;
      this.stepEndMs = undefined;
      if (this.hasWork()) this.nextStartMs = nowMs;
    }
    return true;
  }

  /** When `advance` next has something to do: the end of the step in flight, or the start of the next. */
  nextEventAt(): number | undefined {
    if (this.outbox.length > 0) return this.clockMs;
    return this.stepEndMs ?? this.nextStartMs;
  }

  /** Runs every step that ends by `untilMs` and returns the events since the last call, in time order. */
  advance(untilMs: number): EngineEvent[] {
    this.runUntil(untilMs, true);
    const events = this.outbox;
    this.outbox = [];
    return events;
  }

  snapshot(): EngineSnapshot {
    const total = this.config.kvCacheBlocks;
    const used = total - this.freeBlocks;
    return {
      nowMs: this.clockMs,
      running: this.running.length,
      waiting: this.waitingQueue.length - this.waitingHead,
      kvCacheUsage: used / total,
      kvBlocksUsed: used,
      kvBlocksTotal: total,
      prefixCachedBlocks: this.prefixCache.size,
      prefixCacheHits: this.prefixCacheHits,
      prefixCacheQueries: this.prefixCacheQueries,
      promptTokens: this.promptTokens,
      generationTokens: this.generationTokens,
      preemptions: this.preemptions,
      finishedRequests: this.finishedRequests,
      cancelledRequests: this.cancelledRequests,
      steps: this.steps,
    };
  }

  /**
   * Ends steps up to `untilMs` and starts the ones due. `startAtUntil` is false when a request is about to
   * be submitted or cancelled at `untilMs`: a step starting exactly then must see that change first.
   */
  private runUntil(untilMs: number, startAtUntil: boolean): void {
    if (untilMs < this.clockMs) {
      throw new RangeError(`time went backwards: ${untilMs} ms after ${this.clockMs} ms`);
    }
    this.clockMs = untilMs;
    for (;;) {
      if (this.stepEndMs !== undefined) {
        if (this.stepEndMs > untilMs) return;
        this.endStep(this.stepEndMs);
      } else if (
        this.nextStartMs !== undefined &&
        (this.nextStartMs < untilMs || (startAtUntil && this.nextStartMs === untilMs))
      ) {
        this.startStep(this.nextStartMs);
      } else {
        return;
      }
    }
  }

  private hasWork(): boolean {
    return this.running.length > 0 || this.waitingQueue.length > this.waitingHead;
  }

  private blocksFor(tokens: number): number {
    return Math.ceil(tokens / this.config.blockSize);
  }

  private startStep(atMs: number): void {
    const { config, running, stepSequences } = this;
    this.nextStartMs = undefined;
    this.steps++;
    let decoding = 0;
    let preempted = false;
    for (let i = 0; i < running.length; i++) {
      const sequence = running[i]!;
      // This step appends output token `generated`, so the cache must hold prompt + generated tokens.
      const need = this.blocksFor(sequence.prompt.length + sequence.generated) - sequence.blocks;
      while (need > this.freeBlocks) {
        this.preempt(running.pop()!);
        preempted = true;
        if (sequence.state !== RUNNING) break;
      }
      if (sequence.state !== RUNNING) break;
      sequence.blocks += need;
      this.freeBlocks -= need;
      stepSequences.push(sequence);
      decoding++;
    }

    let prefilling = 0;
    let prefillTokens = 0;
    // vLLM's V1 scheduler admits nothing new in a step that had to preempt: memory is short.
    while (
      !preempted &&
      running.length < config.maxBatchSize &&
      this.waitingQueue.length > this.waitingHead
    ) {
      const sequence = this.waitingQueue[this.waitingHead]!;
      const tokens = sequence.prompt.length + sequence.generated;
      const need = this.blocksFor(tokens);
      if (need > this.freeBlocks) break;
      this.dequeueHead();
      let cachedTokens = 0;
      if (config.prefixCacheBlocks > 0) {
        sequence.hashes ??= blockHashes(sequence.prompt, config.blockSize, config.seed);
        // At least the last token is computed, to get the logits that sample the next one (vLLM caps the
        // cache hit at num_tokens - 1, in whole blocks).
        const maxBlocks = Math.floor((tokens - 1) / config.blockSize);
        cachedTokens = this.prefixCache.longestPrefix(sequence.hashes, maxBlocks) * config.blockSize;
        this.prefixCacheQueries += tokens;
        this.prefixCacheHits += cachedTokens;
      }
      sequence.state = RUNNING;
      sequence.prefilling = true;
      sequence.blocks = need;
      this.freeBlocks -= need;
      running.push(sequence);
      stepSequences.push(sequence);
      prefilling++;
      prefillTokens += tokens - cachedTokens;
    }

    if (stepSequences.length === 0) throw new Error('engine stalled: work queued but nothing schedulable');
    let duration = 0;
    if (decoding > 0) duration += config.decodeMsPerStepBase + config.decodeMsPerStepPerSeq * decoding;
    if (prefilling > 0) duration += config.prefillMsBase + config.prefillMsPerToken * prefillTokens;
    this.stepEndMs = atMs + duration;
  }

  private endStep(atMs: number): void {
    const { running, stepSequences, outbox } = this;
    for (const sequence of stepSequences) {
      if (sequence.state !== RUNNING) continue;
      if (sequence.prefilling) {
        sequence.prefilling = false;
        if (sequence.hashes !== undefined) this.prefixCache.insert(sequence.hashes, sequence.hashes.length);
      }
      const outputTokens = ++sequence.generated;
      this.generationTokens++;
      if (outputTokens === 1) {
        this.promptTokens += sequence.prompt.length;
        outbox.push({ type: 'first_token', requestId: sequence.id, atMs, outputTokens });
      } else {
        outbox.push({ type: 'token', requestId: sequence.id, atMs, outputTokens });
      }
      if (outputTokens >= sequence.maxTokens) {
        sequence.state = GONE;
        this.freeBlocks += sequence.blocks;
        sequence.blocks = 0;
        this.sequences.delete(sequence.id);
        this.finishedRequests++;
        outbox.push({ type: 'finished', requestId: sequence.id, atMs, outputTokens });
      }
    }
    let kept = 0;
    for (let i = 0; i < running.length; i++) {
      const sequence = running[i]!;
      if (sequence.state === RUNNING) running[kept++] = sequence;
    }
    running.length = kept;
    stepSequences.length = 0;
    this.stepEndMs = undefined;
    if (this.hasWork()) this.nextStartMs = atMs;
  }

  private preempt(sequence: Sequence): void {
    this.freeBlocks += sequence.blocks;
    sequence.blocks = 0;
    sequence.state = WAITING;
    this.preemptions++;
    if (this.waitingHead > 0) this.waitingQueue[--this.waitingHead] = sequence;
    else this.waitingQueue.unshift(sequence);
  }

  private dequeueHead(): void {
    this.waitingQueue[this.waitingHead++] = undefined as unknown as Sequence;
    if (this.waitingHead === this.waitingQueue.length) {
      this.waitingQueue.length = 0;
      this.waitingHead = 0;
    } else if (this.waitingHead >= 1024 && this.waitingHead * 2 >= this.waitingQueue.length) {
      // Compact now and then, so a long queue does not keep a long run of holes in front.
      this.waitingQueue = this.waitingQueue.slice(this.waitingHead);
      this.waitingHead = 0;
    }
  }
}
