/** FNV-1a (32-bit) over the seed and the text, so the same server seed and prompt pick the same stream. */
export function hashSeed(seed: number, text: string): number {
  let hash = 0x811c9dc5;
  const seedBits = seed >>> 0;
  for (let shift = 0; shift < 32; shift += 8) {
    hash = Math.imul(hash ^ ((seedBits >>> shift) & 0xff), 0x01000193);
  }
  for (let i = 0; i < text.length; i++) {
    hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  }
  return hash >>> 0;
}

/** mulberry32: a tiny, fast PRNG with a 32-bit state; plenty for choosing words. Returns values in [0, 1). */
export function createRandom(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
