/** mulberry32: a 32-bit-state PRNG, seedable so decisions replay exactly in tests and simulations. */
export function seededRandom(seed: number | undefined): () => number {
  let state = (seed ?? Math.floor(Math.random() * 4294967296)) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
