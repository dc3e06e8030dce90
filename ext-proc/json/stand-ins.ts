/**
 * Long strings of a large request body, kept as byte ranges of the body instead of JavaScript strings.
 * The parser (large-json.ts) hands translators a short *stand-in* for each: the string's first bytes,
 * decoded, followed by a marker `U+FDD0 <id> U+FDD1`. Translators pass content through — into other
 * fields, joined with other text, after a data URL's `base64,` prefix — and `encode` turns the built
 * body back into bytes, putting the original escaped bytes where each marker landed. A JSON string's
 * escaped form is the same in any JSON document, so the bytes copy over as they are.
 *
 * U+FDD0 and U+FDD1 are Unicode noncharacters (Unicode §23.7); a body that contains them anyway is
 * parsed the plain way (see large-json.ts), so a marker in the output is always one of ours.
 */
import { allocBody, bodyFromString } from '../../protos/body-headroom.ts';

export const MARK_OPEN = '\uFDD0';
export const MARK_CLOSE = '\uFDD1';
/** UTF-8 of the two noncharacters: EF B7 90 and EF B7 91. */
export const MARK_OPEN_BYTES = Buffer.from(MARK_OPEN);
export const MARK_CLOSE_BYTES = Buffer.from(MARK_CLOSE);

/** How much of a long string its stand-in spells out: enough for any data URL's `data:…;base64,`. */
export const STAND_IN_HEAD_BYTES = 256;

export class StandIns {
  /** [start, end) byte ranges in `source` of each stand-in's remaining escaped content. */
  readonly #starts: number[] = [];
  readonly #ends: number[] = [];

  constructor(readonly source: Buffer) {}

  get size(): number {
    return this.#starts.length;
  }

  /** A stand-in for the string token at [open, close] (both quotes), whose content is valid and escaped. */
  add(open: number, close: number): string {
    const cut = headEnd(this.source, open + 1, close);
    const head = decodeEscaped(this.source, open + 1, cut);
    const id = this.#starts.length;
    this.#starts.push(cut);
    this.#ends.push(close);
    return `${head}${MARK_OPEN}${id}${MARK_CLOSE}`;
  }

  /** The full string a text with markers stands for. */
  resolve(text: string): string {
    let at = text.indexOf(MARK_OPEN);
    if (at < 0) return text;
    let out = '';
    let from = 0;
    while (at >= 0) {
      const close = text.indexOf(MARK_CLOSE, at);
      const id = this.#id(text.slice(at + 1, close));
      out += text.slice(from, at) + decodeEscaped(this.source, this.#starts[id]!, this.#ends[id]!);
      from = close + 1;
      at = text.indexOf(MARK_OPEN, from);
    }
    return out + text.slice(from);
  }

  /** `value` with every stand-in in it replaced by its full string (for content that gets inspected). */
  resolveDeep(value: unknown): unknown {
    if (typeof value === 'string') return this.resolve(value);
    if (Array.isArray(value)) return value.map((item) => this.resolveDeep(item));
    if (value !== null && typeof value === 'object') {
      // fromEntries defines own properties, so a "__proto__" key stays a key, as JSON.parse makes it.
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.resolveDeep(item)]));
    }
    return value;
  }

  /** JSON bytes of `value`, each stand-in's marker replaced by the original bytes: one buffer, one copy. */
  encode(value: unknown): Buffer {
    const text = JSON.stringify(value);
    if (this.#starts.length === 0 || !text.includes(MARK_OPEN)) return bodyFromString(text);
    const pieces: (string | number)[] = [];
    let length = 0;
    let from = 0;
    for (let at = text.indexOf(MARK_OPEN); at >= 0; at = text.indexOf(MARK_OPEN, from)) {
      const close = text.indexOf(MARK_CLOSE, at);
      const id = this.#id(text.slice(at + 1, close));
      const before = text.slice(from, at);
      pieces.push(before, id);
      length += Buffer.byteLength(before) + this.#ends[id]! - this.#starts[id]!;
      from = close + 1;
    }
    const rest = text.slice(from);
    pieces.push(rest);
    length += Buffer.byteLength(rest);
    const body = allocBody(length);
    let offset = 0;
    for (const piece of pieces) {
      if (typeof piece === 'string') offset += body.write(piece, offset, 'utf8');
      else offset += this.source.copy(body, offset, this.#starts[piece]!, this.#ends[piece]!);
    }
    return body;
  }

  #id(digits: string): number {
    const id = Number(digits);
    if (!/^\d+$/.test(digits) || id >= this.#starts.length)
      throw new Error(`corrupt stand-in marker ${JSON.stringify(digits)} in a translated body`);
    return id;
  }
}

/**
 * Where the stand-in's head ends: about STAND_IN_HEAD_BYTES into [start, close), never inside an escape
 * sequence, a UTF-8 sequence, or between the two escapes of a surrogate pair.
 */
function headEnd(source: Buffer, start: number, close: number): number {
  const limit = Math.min(close, start + STAND_IN_HEAD_BYTES);
  let at = start;
  while (at < limit) {
    const c = source[at]!;
    if (c === 0x5c) {
      const highSurrogate = source[at + 1] === 0x75 && isHighSurrogateEscape(source, at + 2);
      at += source[at + 1] === 0x75 ? 6 : 2;
      // A high surrogate's pair follows at once; keep the two together.
      if (highSurrogate && source[at] === 0x5c) at += source[at + 1] === 0x75 ? 6 : 2;
    } else {
      at += c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    }
  }
  return at;
}

function isHighSurrogateEscape(source: Buffer, hex: number): boolean {
  const unit = Number.parseInt(source.toString('latin1', hex, hex + 4), 16);
  return unit >= 0xd800 && unit <= 0xdbff;
}

/** The string whose escaped JSON content is source[start, end). */
export function decodeEscaped(source: Buffer, start: number, end: number): string {
  if (source.subarray(start, end).indexOf(0x5c) < 0) return source.toString('utf8', start, end);
  return JSON.parse(`"${source.toString('utf8', start, end)}"`) as string;
}
