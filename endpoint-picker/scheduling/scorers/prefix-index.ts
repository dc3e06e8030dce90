/**
 * The prefix index: which prompt blocks each pod has probably cached, learned from our own decisions
 * (GIE's approximate prefix cache, pkg/epp/scheduling/framework/plugins/prefixcachescorer/{plugin,indexer}.go).
 *
 * Blocks are chained: block i's hash covers its bytes and block i−1's hash, and block 0's covers the model
 * name, so equal hashes mean equal prefixes (as vLLM's own block hashes, docs.vllm.ai design/prefix_caching).
 * Like upstream, blocks are cut from the prompt's bytes (UTF-8 here) and a final partial block is ignored.
 *
 * Each pod has an LRU set of block hashes bounded by `capacityPerPod`. A chain is touched from its last
 * block to its first, so a chain's head is always more recent than its tail and eviction removes tails
 * first — as vLLM evicts the blocks with the longer prefix first among equally old ones (vllm-project/vllm
 * #2614). (GIE touches head first, so its LRU can drop a head and keep an unreachable tail.) Hence the
 * blocks of one chain that a pod holds are always a prefix of it, and the longest match is found by
 * binary search, O(log blocks) lookups per pod, where GIE walks the chain block by block.
 *
 * Hashes are 64-bit, kept as two int32 halves, and each pod's LRU is an open-addressing table over typed
 * arrays with an intrusive doubly linked list: no allocation per lookup or insertion, ~24 bytes per entry.
 */

const encoder = new TextEncoder();

/** Hashes prompts into chained 64-bit block hashes; reuses its buffers, so one per scorer instance. */
export class PromptHasher {
  /** Low and high halves of block i's hash, for i < the count returned by `hash`. */
  readonly lo: Int32Array;
  readonly hi: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly words: Int32Array | undefined;

  constructor(
    readonly blockSize: number,
    readonly maxBlocks: number,
  ) {
    this.lo = new Int32Array(maxBlocks);
    this.hi = new Int32Array(maxBlocks);
    const size = blockSize * maxBlocks;
    const buffer = new ArrayBuffer(Math.ceil(size / 4) * 4);
    this.bytes = new Uint8Array(buffer, 0, size);
    // Whole 32-bit words per block when the block size allows: a quarter of the multiplies of bytewise.
    this.words = blockSize % 4 === 0 ? new Int32Array(buffer) : undefined;
  }

  /** Hashes the whole blocks of `prompt`'s first `blockSize × maxBlocks` UTF-8 bytes; returns the block count. */
  hash(model: string, prompt: string): number {
    const { blockSize, bytes, words, lo, hi } = this;
    const count = Math.floor(encoder.encodeInto(prompt, bytes).written / blockSize);
    let a = 0xdeadbeef;
    let b = 0x41c6ce57;
    for (let i = 0; i < model.length; i++) {
      const c = model.charCodeAt(i);
      a = Math.imul(a ^ c, 2654435761);
      b = Math.imul(b ^ c, 1597334677);
    }
    const wordsPerBlock = blockSize >> 2;
    for (let block = 0; block < count; block++) {
      let h1 = a ^ 0x85ebca6b;
      let h2 = b ^ 0xc2b2ae35;
      if (words !== undefined) {
        const start = block * wordsPerBlock;
        const end = start + wordsPerBlock;
        for (let i = start; i < end; i++) {
          const w = words[i]!;
          h1 = Math.imul(h1 ^ w, 2654435761);
          h2 = Math.imul(h2 ^ w, 1597334677);
        }
      } else {
        const end = (block + 1) * blockSize;
        for (let i = block * blockSize; i < end; i++) {
          const c = bytes[i]!;
          h1 = Math.imul(h1 ^ c, 2654435761);
          h2 = Math.imul(h2 ^ c, 1597334677);
        }
      }
      // cyrb53's finaliser: each half ends up depending on both lanes.
      h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
      h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
      h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
      h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
      lo[block] = h1;
      hi[block] = h2;
      a = h1;
      b = h2;
    }
    return count;
  }
}

const NONE = -1;

/** One pod's LRU set of 64-bit block hashes, growing on demand up to `capacity` entries. */
export class BlockLru {
  size = 0;
  private allocated = 0;
  private keyLo = new Int32Array(0);
  private keyHi = new Int32Array(0);
  private newer = new Int32Array(0);
  private older = new Int32Array(0);
  /** Entry index + 1 per slot, 0 for an empty slot; linear probing from `lo & mask`. */
  private table = new Int32Array(0);
  private mask = 0;
  private newest = NONE;
  private oldest = NONE;

  constructor(readonly capacity: number) {
    this.resize(Math.min(capacity, 64));
  }

  has(lo: number, hi: number): boolean {
    return this.find(lo, hi) !== NONE;
  }

  /** Marks the hash most recently used, inserting it (and evicting the oldest when full) if absent. */
  touch(lo: number, hi: number): void {
    const found = this.find(lo, hi);
    if (found !== NONE) {
      this.unlink(found);
      this.linkNewest(found);
      return;
    }
    let entry: number;
    if (this.size < this.allocated) {
      entry = this.size++;
    } else if (this.allocated < this.capacity) {
      this.resize(Math.min(this.capacity, this.allocated * 2));
      entry = this.size++;
    } else {
      entry = this.oldest;
      this.removeFromTable(entry);
      this.unlink(entry);
    }
    this.keyLo[entry] = lo;
    this.keyHi[entry] = hi;
    this.linkNewest(entry);
    let slot = lo & this.mask;
    while (this.table[slot] !== 0) slot = (slot + 1) & this.mask;
    this.table[slot] = entry + 1;
  }

  private find(lo: number, hi: number): number {
    const { table, mask, keyLo, keyHi } = this;
    let slot = lo & mask;
    for (;;) {
      const stored = table[slot]!;
      if (stored === 0) return NONE;
      const entry = stored - 1;
      if (keyLo[entry] === lo && keyHi[entry] === hi) return entry;
      slot = (slot + 1) & mask;
    }
  }

  /** Backward-shift deletion, so probe chains never need tombstones. */
  private removeFromTable(entry: number): void {
    const { table, mask, keyLo } = this;
    let hole = keyLo[entry]! & mask;
    while (table[hole] !== entry + 1) hole = (hole + 1) & mask;
    let next = hole;
    for (;;) {
      next = (next + 1) & mask;
      const stored = table[next]!;
      if (stored === 0) break;
      const home = keyLo[stored - 1]! & mask;
      // Move `stored` into the hole unless its home lies cyclically in (hole, next].
      const stays = hole <= next ? home > hole && home <= next : home > hole || home <= next;
      if (!stays) {
        table[hole] = stored;
        hole = next;
      }
    }
    table[hole] = 0;
  }

  private linkNewest(entry: number): void {
    this.older[entry] = this.newest;
    this.newer[entry] = NONE;
    if (this.newest !== NONE) this.newer[this.newest] = entry;
    this.newest = entry;
    if (this.oldest === NONE) this.oldest = entry;
  }

  private unlink(entry: number): void {
    const newer = this.newer[entry]!;
    const older = this.older[entry]!;
    if (newer !== NONE) this.older[newer] = older;
    else this.newest = older;
    if (older !== NONE) this.newer[older] = newer;
    else this.oldest = newer;
  }

  private resize(allocated: number): void {
    const grow = (old: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
      const next = new Int32Array(allocated);
      next.set(old);
      return next;
    };
    this.keyLo = grow(this.keyLo);
    this.keyHi = grow(this.keyHi);
    this.newer = grow(this.newer);
    this.older = grow(this.older);
    this.allocated = allocated;
    let slots = 4;
    while (slots < allocated * 2) slots *= 2;
    this.table = new Int32Array(slots);
    this.mask = slots - 1;
    for (let entry = 0; entry < this.size; entry++) {
      let slot = this.keyLo[entry]! & this.mask;
      while (this.table[slot] !== 0) slot = (slot + 1) & this.mask;
      this.table[slot] = entry + 1;
    }
  }
}

/** How many leading blocks of the chain of the first `count` hashes `lru` holds. */
export function matchLength(
  lru: BlockLru | undefined,
  lo: Int32Array,
  hi: Int32Array,
  count: number,
): number {
  if (lru === undefined || count === 0 || !lru.has(lo[0]!, hi[0]!)) return 0;
  const last = count - 1;
  if (lru.has(lo[last]!, hi[last]!)) return count;
  // Block 0 is held and the last block is not: find the first block not held.
  let low = 1;
  let high = last;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (lru.has(lo[mid]!, hi[mid]!)) low = mid + 1;
    else high = mid;
  }
  return low;
}

export class PrefixIndex {
  private readonly pods = new Map<string, BlockLru>();
  /** Changes whenever a pod's LRU is created or dropped, so callers may cache `lruOf` results. */
  version = 0;

  constructor(readonly capacityPerPod: number) {}

  lruOf(pod: string): BlockLru | undefined {
    return this.pods.get(pod);
  }

  /** Records that `pod` now caches the chain of the first `count` hashes. */
  add(pod: string, lo: Int32Array, hi: Int32Array, count: number): void {
    let lru = this.pods.get(pod);
    if (lru === undefined) {
      lru = new BlockLru(this.capacityPerPod);
      this.pods.set(pod, lru);
      this.version++;
    }
    for (let i = count - 1; i >= 0; i--) lru.touch(lo[i]!, hi[i]!);
  }

  /** How many leading blocks of the chain of the first `count` hashes `pod` holds. */
  matchLength(pod: string, lo: Int32Array, hi: Int32Array, count: number): number {
    return matchLength(this.pods.get(pod), lo, hi, count);
  }

  /** Blocks recorded for `pod`. */
  size(pod: string): number {
    return this.pods.get(pod)?.size ?? 0;
  }

  /** Whether `pod` holds this exact block hash (tests and debugging). */
  holds(pod: string, lo: number, hi: number): boolean {
    return this.pods.get(pod)?.has(lo, hi) ?? false;
  }

  forgetPod(pod: string): void {
    if (this.pods.delete(pod)) this.version++;
  }

  podNames(): IterableIterator<string> {
    return this.pods.keys();
  }
}
