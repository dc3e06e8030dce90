/**
 * The members of a JSON request body's top-level object, found without parsing the body: one byte scan
 * instead of a parse and a re-serialisation, for translators that only change a field or two (the
 * OpenAI-compatible one rewrites `model`) and for the duplicate-key check of request-json.ts.
 *
 * Keys are compared *decoded*, as JSON.parse reads them: `"mod\u0065l"` is `model`. A body whose
 * top-level object names a key twice is refused (400 `duplicate_key`): JSON.parse keeps the last, other
 * parsers the first (RFC 8259 §4: "the behavior of software that receives such an object is
 * unpredictable"), so the `model` we route on and the one a provider reads could differ. With that rule
 * every top-level key has one value, and a splice of it changes what every parser reads.
 *
 * Nested objects are not checked, and need not be: we decide only on top-level fields (`model`, `stream`,
 * `user`) and on `stream_options.include_usage`, which a splice re-serialises from its parsed value, and
 * splices forward nested bytes untouched, so a duplicate inside e.g. `messages[i]` reaches the provider
 * exactly as the client wrote it; translators that rebuild the body send the value they parsed.
 */
import { allocBody } from '../../protos/body-headroom.ts';
import { NameInterner } from '../../protos/name-interner.ts';
import { errors } from '../errors.ts';
import { MAX_DEPTH } from './large-json.ts';

export interface ValueSpan {
  /** The key, decoded. */
  key: string;
  /** Byte offsets of the value token: [start, end). */
  start: number;
  end: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
/** A string this long is searched for its closing quote with indexOf (memchr) instead of byte by byte. */
const SHORT_STRING_BYTES = 64;

/** `i` is at an opening quote; returns the index after the closing quote (buf.length if there is none). */
function skipString(buf: Buffer, i: number): number {
  const short = Math.min(buf.length, i + SHORT_STRING_BYTES);
  let j = i + 1;
  for (; j < short; j++) {
    const c = buf[j];
    if (c === BACKSLASH) j++;
    else if (c === QUOTE) return j + 1;
  }
  // j may be short + 1: the loop stepped over a character escaped at its limit.
  for (;;) {
    const quote = buf.indexOf(QUOTE, j);
    if (quote < 0) return buf.length;
    // The quote closes the string unless an odd run of backslashes escapes it.
    let b = quote - 1;
    while (b > i && buf[b] === BACKSLASH) b--;
    if ((quote - 1 - b) % 2 === 0) return quote + 1;
    j = quote + 1;
  }
}

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(buf: Buffer, i: number): number {
  while (isSpace(buf[i])) i++;
  return i;
}

/** Whether buf[start, end) holds a backslash: keys are short, so a loop, not a view to search. */
function hasEscape(buf: Buffer, start: number, end: number): boolean {
  if (end - start > SHORT_STRING_BYTES) return buf.subarray(start, end).indexOf(BACKSLASH) >= 0;
  for (let i = start; i < end; i++) if (buf[i] === BACKSLASH) return true;
  return false;
}

/** Top-level keys of request bodies (model, messages, stream, …): every body names the same few. */
const keys = new NameInterner();

/** The key whose string token is buf[open, close), as JSON.parse decodes it. */
function decodeKey(buf: Buffer, open: number, close: number): string {
  if (!hasEscape(buf, open + 1, close - 1)) return keys.text(buf, open + 1, close - 1);
  try {
    return JSON.parse(buf.toString('utf8', open, close)) as string;
  } catch (error) {
    throw errors.malformedJson((error as Error).message);
  }
}

/** Keys of the scan in progress (scans are synchronous and never nested), kept from scan to scan. */
const scanKeys: string[] = [];
/** Past this many keys, duplicates are looked up in a Set: a linear search would be quadratic. */
const LINEAR_KEYS = 16;

/**
 * Scans the top-level object's members, adding each to `members` when given. Throws a 400
 * `duplicate_key` AgentRouterError when two keys are equal after decoding, a 400 `invalid_json` when a
 * value is nested deeper than MAX_DEPTH. The body is expected to be valid JSON (the router-level
 * phase parsed it); on anything else the scan stops without throwing, and a body that is not an
 * object has no members.
 */
function scanMembers(buf: Buffer, members: ValueSpan[] | undefined): void {
  let i = skipSpace(buf, 0);
  if (buf[i] !== 0x7b) return;
  let count = 0;
  let seen: Set<string> | undefined;
  i = skipSpace(buf, i + 1);
  while (buf[i] === QUOTE) {
    const keyEnd = skipString(buf, i);
    const key = decodeKey(buf, i, keyEnd);
    if (seen === undefined) {
      for (let k = 0; k < count; k++) if (scanKeys[k] === key) throw errors.duplicateKey(key);
      if (count < LINEAR_KEYS) scanKeys[count] = key;
      else seen = new Set([...scanKeys.slice(0, LINEAR_KEYS), key]);
    } else if (seen.has(key)) throw errors.duplicateKey(key);
    else seen.add(key);
    count++;
    const colon = skipSpace(buf, keyEnd);
    if (buf[colon] !== COLON) break;
    const start = skipSpace(buf, colon + 1);
    const end = valueEnd(buf, start);
    members?.push({ key, start, end });
    i = skipSpace(buf, end);
    if (buf[i] !== COMMA) break;
    i = skipSpace(buf, i + 1);
  }
}

/** Every member of the top-level object, in order, with its key decoded (errors: see scanMembers). */
export function topLevelMembers(buf: Buffer): ValueSpan[] {
  const members: ValueSpan[] = [];
  scanMembers(buf, members);
  return members;
}

/** Refuses a body whose top-level object names a key twice (see scanMembers), making no spans. */
export function checkTopLevelKeys(buf: Buffer): void {
  scanMembers(buf, undefined);
}

/** The top-level members whose (decoded) key is in `keys`; at most one per key (see topLevelMembers). */
export function topLevelValues(buf: Buffer, keys: ReadonlySet<string>): ValueSpan[] {
  return topLevelMembers(buf).filter((member) => keys.has(member.key));
}

/**
 * The end of the value token at `start`: after its closing quote or bracket, or at the byte after a
 * scalar. Refuses a value nested deeper than MAX_DEPTH (counting the top-level object) as the large-body
 * parser does: JSON.parse reads any depth, but serialising such a body again (a translator's
 * JSON.stringify) or walking it recursively would run out of stack and fail the request with a 500.
 */
function valueEnd(buf: Buffer, start: number): number {
  if (buf[start] === QUOTE) return skipString(buf, start);
  let depth = 0;
  for (let j = start; j < buf.length; j++) {
    const c = buf[j]!;
    if (c === QUOTE) {
      j = skipString(buf, j) - 1;
      continue;
    }
    if (c === 0x7b || c === 0x5b) {
      if (++depth >= MAX_DEPTH) throw errors.malformedJson(`JSON nested deeper than ${MAX_DEPTH} levels`);
    } else if (c === 0x7d || c === 0x5d) {
      if (depth === 0) return j;
      depth--;
      if (depth === 0) return j + 1;
    } else if (depth === 0 && (c === COMMA || isSpace(c))) return j;
  }
  return buf.length;
}

/** The body with each span replaced by `replacement(span)`. */
export function spliceValues(
  buf: Buffer,
  spans: readonly ValueSpan[],
  replacement: (span: ValueSpan) => string,
): Buffer {
  if (spans.length === 0) return buf;
  const parts: Buffer[] = [];
  let length = 0;
  let at = 0;
  for (const span of spans) {
    const value = Buffer.from(replacement(span));
    parts.push(buf.subarray(at, span.start), value);
    length += span.start - at + value.length;
    at = span.end;
  }
  parts.push(buf.subarray(at));
  length += buf.length - at;
  // One copy, into a buffer its ext_proc response can be encoded around (protos/body-headroom.ts).
  const out = allocBody(length);
  let offset = 0;
  for (const part of parts) offset += part.copy(out, offset);
  return out;
}
