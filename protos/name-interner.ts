/**
 * Short names decoded from bytes, kept by a hash of those bytes so that the same name arriving again
 * (header names in every ext_proc headers message, the top-level keys of every JSON request body) is
 * the string decoded the first time: no call into Buffer#toString and no new string per occurrence.
 * Names only, never values (header values and JSON values hold secrets and content). A name sent by a
 * client can evict another, which costs a decode, nothing more: the cache holds no state that matters.
 */

/** Buckets of two slots each: the names of one deployment (a few dozen) rarely put three in one. */
const BUCKETS = 512;
/** Longer names are decoded each time: they are rare, and comparing them would cost what decoding does. */
const MAX_NAME_BYTES = 64;

interface Interned {
  text: string;
  bytes: Buffer;
}

/**
 * The bucket of a name: FNV-1a over all its bytes (names are short). A hash of a few bytes and the
 * length once put content-type and content-length, which arrive in nearly every message, in one slot,
 * so each evicted the other and every message allocated both names again.
 */
export function nameBucket(buffer: Uint8Array, start: number, stop: number): number {
  let hash = 0x811c9dc5;
  for (let i = start; i < stop; i++) hash = Math.imul(hash ^ buffer[i]!, 0x01000193);
  return (hash >>> 0) & (BUCKETS - 1);
}

function sameBytes(known: Interned | undefined, buffer: Uint8Array, start: number, length: number): boolean {
  if (known === undefined || known.bytes.length !== length) return false;
  const bytes = known.bytes;
  for (let i = 0; i < length; i++) if (bytes[i] !== buffer[start + i]) return false;
  return true;
}

export class NameInterner {
  readonly #slots: (Interned | undefined)[] = new Array(2 * BUCKETS);
  /** Per bucket, which of its two slots a new name replaces next when both are taken. */
  readonly #evictNext = new Uint8Array(BUCKETS);

  /** buffer[start, stop) decoded as UTF-8, as Buffer#toString decodes it. */
  text(buffer: Buffer, start: number, stop: number): string {
    const length = stop - start;
    if (length === 0) return '';
    if (length > MAX_NAME_BYTES) return buffer.toString('utf8', start, stop);
    const bucket = nameBucket(buffer, start, stop);
    const slots = this.#slots;
    const first = slots[2 * bucket];
    if (sameBytes(first, buffer, start, length)) return first!.text;
    const second = slots[2 * bucket + 1];
    if (sameBytes(second, buffer, start, length)) return second!.text;
    const text = buffer.toString('utf8', start, stop);
    const slot = first === undefined ? 0 : second === undefined ? 1 : this.#evictNext[bucket]!;
    if (first !== undefined && second !== undefined) this.#evictNext[bucket] = slot ^ 1;
    slots[2 * bucket + slot] = { text, bytes: Buffer.from(buffer.subarray(start, stop)) };
    return text;
  }
}
