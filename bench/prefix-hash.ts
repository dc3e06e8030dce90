/**
 * What chaining costs in the picker's prefix hashing: a 100,000-character prompt cut into 64-byte blocks,
 * each block's hash covering the previous one (PromptHasher, endpoint-picker/scheduling/scorers/
 * prefix-index.ts), against hashing the same bytes in one pass of the same hash (its inner loop without
 * block boundaries, seeded and finalised once), and for context node's SHA-256 of the same prompt. Every
 * variant starts from the prompt string, so UTF-8 encoding is in all of them. In-process: CPU time via
 * process.cpuUsage over many iterations, cheapest of alternating rounds.
 *
 * The prefix-cache scorer itself hashes at most `maxPrefixBlocksToMatch` blocks (default 256, i.e. the
 * first 16 KiB); that figure is reported too.
 */
import { createHash } from 'node:crypto';
import { PromptHasher } from '../endpoint-picker/scheduling/scorers/prefix-index.ts';
import type { Benchmark } from './benchmark.ts';
import type { BenchResult } from './report.ts';

export const PROMPT_CHARS = 100_000;
/** The prefix-cache scorer's defaults (scheduling/scorers/prefix-cache.ts). */
const BLOCK_SIZE = 64;
const SCORER_MAX_BLOCKS = 256;
const MODEL = 'llama-3.1-8b-instruct';
const ROUNDS = 7;
/** CPU time per measured batch; iterations are calibrated to it. */
const BATCH_MS = 40;

/** Deterministic ASCII prose, varied so no two blocks repeat. */
export function longPrompt(chars: number): string {
  let text = '';
  for (let i = 0; text.length < chars; i++) {
    text += `Line ${i}: the deployment log shows ${i * 7919} requests at ${(i * 31) % 997} ms. `;
  }
  return text.slice(0, chars);
}

const encoder = new TextEncoder();

/**
 * PromptHasher's hash over `bytes` whole 32-bit words in one pass: the same seeding from the model name,
 * the same two multiply-xor lanes over the same words, one cyrb53 finaliser instead of one per block.
 */
export class SinglePassHasher {
  private readonly bytes: Uint8Array;
  private readonly words: Int32Array;
  lo = 0;
  hi = 0;

  constructor(maxBytes: number) {
    const buffer = new ArrayBuffer(Math.ceil(maxBytes / 4) * 4);
    this.bytes = new Uint8Array(buffer, 0, maxBytes);
    this.words = new Int32Array(buffer);
  }

  /** Hashes the first `bytes` (a multiple of 4) UTF-8 bytes of `prompt`. */
  hash(model: string, prompt: string, bytes: number): void {
    const { words } = this;
    encoder.encodeInto(prompt, this.bytes);
    let a = 0xdeadbeef;
    let b = 0x41c6ce57;
    for (let i = 0; i < model.length; i++) {
      const c = model.charCodeAt(i);
      a = Math.imul(a ^ c, 2654435761);
      b = Math.imul(b ^ c, 1597334677);
    }
    let h1 = a ^ 0x85ebca6b;
    let h2 = b ^ 0xc2b2ae35;
    const end = bytes >> 2;
    for (let i = 0; i < end; i++) {
      const w = words[i]!;
      h1 = Math.imul(h1 ^ w, 2654435761);
      h2 = Math.imul(h2 ^ w, 1597334677);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
    h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
    h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    this.lo = h1;
    this.hi = h2;
  }
}

/** Keeps results alive so no variant is optimised away. */
let sink = 0;

/** CPU µs per call of `fn`, over `iterations` calls. */
function cpuPerCall(fn: () => void, iterations: number): number {
  const before = process.cpuUsage();
  for (let i = 0; i < iterations; i++) fn();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / iterations;
}

async function run(): Promise<BenchResult[]> {
  const prompt = longPrompt(PROMPT_CHARS);
  const blocks = Math.floor(Buffer.byteLength(prompt) / BLOCK_SIZE);
  const hashedBytes = blocks * BLOCK_SIZE;
  const chained = new PromptHasher(BLOCK_SIZE, blocks);
  const scorer = new PromptHasher(BLOCK_SIZE, SCORER_MAX_BLOCKS);
  const single = new SinglePassHasher(hashedBytes);
  const variants: Record<string, () => void> = {
    chained: () => {
      sink ^= chained.hash(MODEL, prompt) ^ chained.lo[blocks - 1]!;
    },
    single: () => {
      single.hash(MODEL, prompt, hashedBytes);
      sink ^= single.lo;
    },
    sha256: () => {
      sink ^= createHash('sha256').update(prompt).digest()[0]!;
    },
    scorer: () => {
      sink ^= scorer.hash(MODEL, prompt);
    },
  };
  const names = Object.keys(variants);
  const iterations: Record<string, number> = {};
  for (const name of names) {
    const fn = variants[name]!;
    cpuPerCall(fn, 200); // warm up and let the JIT settle before calibrating
    iterations[name] = Math.max(20, Math.round((BATCH_MS * 1000) / cpuPerCall(fn, 200)));
  }
  const best: Record<string, number> = Object.fromEntries(names.map((n) => [n, Number.POSITIVE_INFINITY]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const name of order)
      best[name] = Math.min(best[name]!, cpuPerCall(variants[name]!, iterations[name]!));
  }
  if (sink === 0.5) console.error(sink); // never true; reads the sink

  const ratio = best.chained! / best.single!;
  console.error(
    `prefix hashing of ${PROMPT_CHARS} characters: ${blocks} chained ${BLOCK_SIZE}-byte blocks take ` +
      `${best.chained!.toFixed(1)} µs CPU = ${ratio.toFixed(2)}x one pass of the same hash ` +
      `(${best.single!.toFixed(1)} µs); SHA-256 ${best.sha256!.toFixed(1)} µs; the scorer's default cap ` +
      `(${SCORER_MAX_BLOCKS} blocks, ${(SCORER_MAX_BLOCKS * BLOCK_SIZE) / 1024} KiB) ${best.scorer!.toFixed(1)} µs`,
  );
  const round2 = (v: number) => Math.round(v * 100) / 100;
  return [
    { name: 'picker.prefix-hash.100k-us', value: round2(best.chained!), unit: 'us' },
    { name: 'picker.prefix-hash.100k-single-pass-us', value: round2(best.single!), unit: 'us' },
    { name: 'picker.prefix-hash.100k-ratio', value: round2(ratio), unit: 'x-single-pass' },
    { name: 'picker.prefix-hash.100k-sha256-us', value: round2(best.sha256!), unit: 'us' },
    { name: 'picker.prefix-hash.100k-scorer-capped-us', value: round2(best.scorer!), unit: 'us' },
  ];
}

export const prefixHash: Benchmark = { name: 'endpoint picker prefix hashing', run };
