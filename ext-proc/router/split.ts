/**
 * Weighted choice among the entries of a split.
 *
 * With a session key the choice is weighted rendezvous hashing: each entry scores
 * -ln(u)/weight with u a hash of (session, entry), lowest wins. The same session always gets the same
 * entry while weights are unchanged, and raising one entry's weight moves sessions only *to* that entry
 * — a canary going from 5 to 20 takes exactly the extra sessions it must, nobody else moves.
 * Without a session key it is a plain weighted random draw over precomputed cumulative weights.
 */
import type { CompiledEntry, CompiledSplit } from '../../config/snapshot.ts';

/** FNV-1a over UTF-16 code units: fast and stable across processes and restarts. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A 32-bit avalanche mix (murmur3 finaliser) of two inputs, as a number in (0, 1]. */
function unitHash(a: number, b: number): number {
  let h = (a ^ Math.imul(b, 0x9e3779b1)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return ((h >>> 0) + 1) / 4294967296;
}

export function pickSticky(split: CompiledSplit, sessionKey: string): CompiledEntry {
  const sessionHash = hashString(sessionKey);
  let best = split.entries[0]!;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const entry of split.entries) {
    const score = -Math.log(unitHash(sessionHash, entry.stickySeed)) / entry.weight;
    if (score < bestScore) {
      bestScore = score;
      best = entry;
    }
  }
  return best;
}

export function pickWeighted(split: CompiledSplit, random: number): CompiledEntry {
  const target = random * split.total;
  const { cumulative, entries } = split;
  for (let i = 0; i < cumulative.length; i++) if (target < cumulative[i]!) return entries[i]!;
  return entries[entries.length - 1]!;
}
