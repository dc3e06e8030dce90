/**
 * Automatic prefix caching as vLLM does it (https://docs.vllm.ai/en/latest/design/prefix_caching/):
 * a prompt is cut into full blocks of `blockSize` tokens, and each block's hash covers the previous
 * block's hash and the block's own tokens, so a block hash names the whole prefix up to the end of that
 * block. A trailing partial block is never cached.
 */

/**
 * Hashes of the full blocks of `tokens`, chained from `seed`. Two 32-bit lanes are combined into a
 * 53-bit integer, so collisions stay negligible across millions of blocks and the hash is a cheap
 * `Map` key.
 */
export function blockHashes(tokens: ArrayLike<number>, blockSize: number, seed: number): number[] {
  const count = Math.floor(tokens.length / blockSize);
  const hashes = new Array<number>(count);
  let high = fmix32(seed ^ 0x9e3779b9);
  let low = fmix32(Math.imul(seed, 0x85ebca6b) ^ 0x2545f491);
  for (let block = 0; block < count; block++) {
    let a = high ^ 0x811c9dc5;
    let b = low ^ 0x27d4eb2f;
    const end = (block + 1) * blockSize;
    for (let i = block * blockSize; i < end; i++) {
      const token = tokens[i]! | 0;
      a = Math.imul(a ^ token, 0x01000193);
      b = Math.imul(b ^ token, 0x5bd1e995);
      b ^= b >>> 15;
    }
    high = fmix32(a);
    low = fmix32(b);
    hashes[block] = (high & 0x1fffff) * 0x100000000 + (low >>> 0);
  }
  return hashes;
}

/** murmur3's finaliser: spreads every input bit over the output. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The set of cached block hashes, at most `capacity`, evicting the least recently used. A `Map` keeps
 * insertion order, so re-inserting a key makes it the most recent and the first key is the eviction victim.
 */
export class PrefixCache {
  readonly capacity: number;
  private readonly recency = new Map<number, true>();

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get size(): number {
    return this.recency.size;
  }

  has(hash: number): boolean {
    return this.recency.has(hash);
  }

  /** How many leading blocks of `hashes` are cached, at most `maxBlocks`; a miss ends the chain. */
  longestPrefix(hashes: readonly number[], maxBlocks: number): number {
    const limit = Math.min(maxBlocks, hashes.length);
    let blocks = 0;
    while (blocks < limit && this.recency.has(hashes[blocks]!)) blocks++;
    return blocks;
  }

  /**
   * Inserts or refreshes the first `count` blocks. The tail goes in first so the head ends most recent:
   * vLLM frees a request's blocks in reverse order for the same reason (the design doc above): a later block
   * hashes more tokens, so it is less likely to be shared, and a chain whose head is evicted is useless.
   */
  insert(hashes: readonly number[], count: number): void {
    if (this.capacity === 0) return;
    for (let i = Math.min(count, hashes.length) - 1; i >= 0; i--) {
      const hash = hashes[i]!;
      this.recency.delete(hash);
      this.recency.set(hash, true);
      if (this.recency.size > this.capacity) this.evictOldest();
    }
  }

  private evictOldest(): void {
    for (const oldest of this.recency.keys()) {
      this.recency.delete(oldest);
      return;
    }
  }
}
