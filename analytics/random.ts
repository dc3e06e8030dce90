/**
 * A seeded pseudo-random generator for the experiments bootstrap, so the same data and seed give the same
 * intervals on every replica of the console.
 *
 * sfc32 (Chris Doty-Humphrey's Small Fast Chaotic generator, 128-bit state; passes PractRand, see
 * https://pracrand.sourceforge.net/RNG_engines.txt) rather than the simulator's mulberry32
 * (sim/seeded-random.ts): one analysis draws up to resamples × sessions ≈ 10^7–10^8 indices, a sizeable
 * share of a 32-bit state's single 2^32 cycle, and nearby seeds of a 32-bit state walk the same cycle.
 * The 32-bit seed is spread over the state with the splitmix32 finaliser, so nearby seeds start far apart.
 */

/** splitmix32's output function (constants from https://github.com/skeeto/hash-prospector). */
function mix32(x: number): number {
  let z = x | 0;
  z ^= z >>> 16;
  z = Math.imul(z, 0x21f0aaad);
  z ^= z >>> 15;
  z = Math.imul(z, 0x735a2d97);
  z ^= z >>> 15;
  return z >>> 0;
}

export class Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    const s = seed >>> 0;
    this.#a = mix32(s + 0x9e3779b9) | 0;
    this.#b = mix32(s + 0x3c6ef372) | 0;
    this.#c = mix32(s + 0xdaa66d2b) | 0;
    this.#d = 1;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const a = this.#a;
    const b = this.#b;
    const c = this.#c;
    const t = (((a + b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = b ^ (b >>> 9);
    this.#b = (c + (c << 3)) | 0;
    this.#c = (((c << 21) | (c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  /**
   * Adds `counts.length` draws, uniform over [0, counts.length) with replacement, to `counts`: a bootstrap
   * resample's multiplicities. The state stays in locals for the whole loop (twice as fast as calling
   * `below` per draw, which stores the state back every time).
   */
  countDraws(counts: Int32Array): void {
    const n = counts.length;
    const scale = n / 4294967296;
    // `| 0` keeps the loop in int32 arithmetic (a state loaded as a double would make it float64).
    let a = this.#a | 0;
    let b = this.#b | 0;
    let c = this.#c | 0;
    let d = this.#d | 0;
    for (let i = 0; i < n; i++) {
      const t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (((c << 21) | (c >>> 11)) + t) | 0;
      counts[Math.floor((t >>> 0) * scale)]!++;
    }
    this.#a = a;
    this.#b = b;
    this.#c = c;
    this.#d = d;
  }

  /** A uniform number in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /**
   * A uniform integer in [0, n), n ≤ 2^32, by multiply-and-floor without rejection: each value's
   * probability is off by at most n / 2^32 relative (5·10^-6 for 20,000 sessions), far below bootstrap noise.
   */
  below(n: number): number {
    return Math.floor((this.nextUint32() / 4294967296) * n);
  }
}

/** A seed for one stream derived from a base seed and a name (FNV-1a), so streams do not depend on order. */
export function deriveSeed(seed: number, name: string): number {
  let h = mix32(seed) ^ 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return mix32(h);
}
