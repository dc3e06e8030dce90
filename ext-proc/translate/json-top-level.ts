/**
 * Finds the values of top-level keys in a JSON object without parsing it, for translators that only
 * change a field or two (the OpenAI-compatible one rewrites `model`): one byte scan instead of a parse
 * and a re-serialisation of the whole body. The body was validated by the router-level phase.
 */
import { allocBody } from '../../protos/body-headroom.ts';

export interface ValueSpan {
  key: string;
  /** Byte offsets of the value token: [start, end). */
  start: number;
  end: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

function skipString(buf: Buffer, i: number): number {
  // i is at the opening quote; returns the index after the closing quote.
  for (let j = i + 1; j < buf.length; j++) {
    const c = buf[j];
    if (c === BACKSLASH) j++;
    else if (c === QUOTE) return j + 1;
  }
  return buf.length;
}

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Spans of every top-level value whose key is in `keys` (all occurrences: JSON.parse keeps the last). */
export function topLevelValues(buf: Buffer, keys: ReadonlySet<string>): ValueSpan[] {
  const spans: ValueSpan[] = [];
  let depth = 0;
  let i = 0;
  while (i < buf.length) {
    const c = buf[i]!;
    if (c === QUOTE) {
      const end = skipString(buf, i);
      if (depth === 1) {
        let k = end;
        while (isSpace(buf[k])) k++;
        if (buf[k] === COLON) {
          const key = buf.toString('utf8', i + 1, end - 1);
          if (keys.has(key)) {
            let start = k + 1;
            while (isSpace(buf[start])) start++;
            spans.push({ key, start, end: valueEnd(buf, start) });
          }
        }
      }
      i = end;
      continue;
    }
    if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) depth--;
    i++;
  }
  return spans;
}

function valueEnd(buf: Buffer, start: number): number {
  if (buf[start] === QUOTE) return skipString(buf, start);
  let depth = 0;
  for (let j = start; j < buf.length; j++) {
    const c = buf[j]!;
    if (c === QUOTE) {
      j = skipString(buf, j) - 1;
      continue;
    }
    if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      if (depth === 0) return j;
      depth--;
      if (depth === 0) return j + 1;
    } else if (depth === 0 && (c === 0x2c || isSpace(c))) return j;
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
