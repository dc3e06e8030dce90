/**
 * A strict JSON parser (RFC 8259, accepting exactly what JSON.parse accepts) for large OpenAI request
 * bodies. `JSON.parse(body.toString())` holds the body three times at once — bytes, one string of
 * it, and the strings inside the result — and a translator's `JSON.stringify` adds two more. Nearly all
 * of a large request is a few long strings: message text, base64 images, embedding inputs. This parser
 * builds the same value, except that long strings *where an OpenAI request carries content* become
 * stand-ins (stand-ins.ts) that refer to the body's bytes, so nothing of the body is copied to parse or
 * translate it.
 *
 * Only content positions get stand-ins, so fields a translator reads in full (roles, types, ids, tool
 * names, tool-call arguments, which Anthropic, Gemini and Bedrock parse) are ordinary strings:
 *   messages[].content (string), messages[].content[].text, .image_url.url and .file.file_data (base64
 *   data URLs only), .input_audio.data; top-level `input` and `prompt` (a string or strings).
 * A message whose role is not system, developer, user or assistant (a tool result, which some
 * translators parse as JSON) gets its content resolved back to ordinary strings.
 */
import { isUtf8 } from 'node:buffer';
import { MARK_CLOSE_BYTES, MARK_OPEN_BYTES, STAND_IN_HEAD_BYTES, StandIns } from './stand-ins.ts';

/** Deeper nesting than this is refused (the recursion would otherwise run out of stack). */
export const MAX_DEPTH = 512;

// Where a value sits in an OpenAI request, as far as stand-ins care.
const OTHER = 0;
const ROOT = 1;
const MESSAGES = 2;
const MESSAGE = 3;
const CONTENT = 4;
const PART = 5;
const IMAGE = 6;
const FILE = 7;
const AUDIO = 8;
const TEXT = 9;
const DATA_URL = 10;
const INPUTS = 11;
type Slot = number;

const MEMBER_SLOTS: ReadonlyMap<Slot, ReadonlyMap<string, Slot>> = new Map([
  [
    ROOT,
    new Map([
      ['messages', MESSAGES],
      ['input', INPUTS],
      ['prompt', INPUTS],
    ]),
  ],
  [MESSAGE, new Map([['content', CONTENT]])],
  [
    PART,
    new Map([
      ['text', TEXT],
      ['image_url', IMAGE],
      ['file', FILE],
      ['input_audio', AUDIO],
    ]),
  ],
  [IMAGE, new Map([['url', DATA_URL]])],
  [FILE, new Map([['file_data', DATA_URL]])],
  [AUDIO, new Map([['data', TEXT]])],
]);
const ELEMENT_SLOTS: ReadonlyMap<Slot, Slot> = new Map([
  [MESSAGES, MESSAGE],
  [CONTENT, PART],
  [INPUTS, TEXT],
]);
const CONTENT_ROLES = new Set(['system', 'developer', 'user', 'assistant']);

export interface LargeJson {
  value: unknown;
  standIns: StandIns;
  /** The first key the top-level object names twice (decoded), which request-json.ts refuses. */
  duplicateKey?: string | undefined;
}

/**
 * The body parsed with stand-ins for its long content strings (at least `longStringBytes` escaped
 * bytes), or undefined when stand-ins cannot be used safely — the body is not valid UTF-8 (JSON.parse
 * of its decoded text would replace bad bytes; raw copies would not) or contains the marker
 * characters. Throws SyntaxError for anything JSON.parse refuses.
 */
export function parseLargeJson(source: Buffer, longStringBytes: number): LargeJson | undefined {
  if (!isUtf8(source) || source.indexOf(MARK_OPEN_BYTES) >= 0 || source.indexOf(MARK_CLOSE_BYTES) >= 0)
    return undefined;
  const parser = new Parser(source, new StandIns(source), longStringBytes);
  const value = parser.parse();
  return parser.escapedMarker
    ? undefined
    : { value, standIns: parser.standIns, duplicateKey: parser.duplicateKey };
}

class Parser {
  at = 0;
  /** An escaped U+FDD0/U+FDD1 was seen: a decoded string could be mistaken for a marker. */
  escapedMarker = false;
  /**
   * The first key of the top-level object seen twice, found in the pass that parses it (no second scan
   * of a 10 MB body). Recorded, not thrown: a syntax error later in the body still wins, as with
   * JSON.parse followed by the scan of top-level.ts.
   */
  duplicateKey: string | undefined;

  constructor(
    readonly source: Buffer,
    readonly standIns: StandIns,
    readonly longStringBytes: number,
  ) {}

  parse(): unknown {
    const value = this.value(ROOT, 0);
    this.skipSpace();
    if (this.at < this.source.length) throw this.unexpected();
    return value;
  }

  value(slot: Slot, depth: number): unknown {
    this.skipSpace();
    const c = this.source[this.at];
    if (c === 0x7b) return this.object(slot, depth + 1);
    if (c === 0x5b) return this.array(slot, depth + 1);
    if (c === 0x22) return this.string(slot);
    if (c === 0x74) return this.literal('true', true);
    if (c === 0x66) return this.literal('false', false);
    if (c === 0x6e) return this.literal('null', null);
    if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) return this.number();
    throw this.unexpected();
  }

  object(slot: Slot, depth: number): Record<string, unknown> {
    if (depth > MAX_DEPTH) throw new SyntaxError(`JSON nested deeper than ${MAX_DEPTH} levels`);
    const source = this.source;
    const members = MEMBER_SLOTS.get(slot);
    const standInsBefore = this.standIns.size;
    const out: Record<string, unknown> = {};
    this.at++;
    this.skipSpace();
    if (source[this.at] === 0x7d) {
      this.at++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      if (source[this.at] !== 0x22) throw this.unexpected();
      const key = this.string(OTHER) as string;
      if (slot === ROOT && this.duplicateKey === undefined && Object.hasOwn(out, key))
        this.duplicateKey = key;
      this.skipSpace();
      if (source[this.at] !== 0x3a) throw this.unexpected();
      this.at++;
      const value = this.value(members?.get(key) ?? OTHER, depth);
      // JSON.parse makes "__proto__" an own property; assignment would set the prototype instead.
      if (key === '__proto__')
        Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
      else out[key] = value;
      this.skipSpace();
      const c = source[this.at];
      this.at++;
      if (c === 0x2c) continue;
      if (c === 0x7d) break;
      this.at--;
      throw this.unexpected();
    }
    if (slot === MESSAGE && this.standIns.size > standInsBefore && !CONTENT_ROLES.has(out.role as string))
      out.content = this.standIns.resolveDeep(out.content);
    return out;
  }

  array(slot: Slot, depth: number): unknown[] {
    if (depth > MAX_DEPTH) throw new SyntaxError(`JSON nested deeper than ${MAX_DEPTH} levels`);
    const source = this.source;
    const element = ELEMENT_SLOTS.get(slot) ?? OTHER;
    const out: unknown[] = [];
    this.at++;
    this.skipSpace();
    if (source[this.at] === 0x5d) {
      this.at++;
      return out;
    }
    for (;;) {
      out.push(this.value(element, depth));
      this.skipSpace();
      const c = source[this.at];
      this.at++;
      if (c === 0x2c) continue;
      if (c === 0x5d) return out;
      this.at--;
      throw this.unexpected();
    }
  }

  string(slot: Slot): string {
    const source = this.source;
    const open = this.at;
    let escaped = false;
    let j = open + 1;
    for (;;) {
      const c = source[j];
      if (c === 0x22) break;
      if (c === 0x5c) {
        escaped = true;
        j = this.escape(j);
      } else if (c === undefined) {
        this.at = j;
        throw this.unexpected();
      } else if (c < 0x20) {
        this.at = j;
        throw new SyntaxError(`Bad control character in string literal at byte ${j}`);
      } else j++;
    }
    this.at = j + 1;
    if (j - open - 1 >= this.longStringBytes && isContent(slot, source, open + 1))
      return this.standIns.add(open, j);
    if (!escaped) return source.toString('utf8', open + 1, j);
    return JSON.parse(source.toString('utf8', open, j + 1)) as string;
  }

  /** Validates the escape sequence at `j` (a backslash) and returns the index after it. */
  escape(j: number): number {
    const source = this.source;
    const e = source[j + 1];
    if (e === 0x75) {
      for (let k = j + 2; k < j + 6; k++) {
        if (!isHex(source[k])) {
          this.at = k;
          throw new SyntaxError(`Bad Unicode escape in JSON at byte ${j}`);
        }
      }
      // \uFDD0 or \uFDD1, in any case: decoded, it would look like a stand-in marker.
      if (
        (source[j + 2]! | 0x20) === 0x66 &&
        (source[j + 3]! | 0x20) === 0x64 &&
        (source[j + 4]! | 0x20) === 0x64 &&
        (source[j + 5] === 0x30 || source[j + 5] === 0x31)
      )
        this.escapedMarker = true;
      return j + 6;
    }
    if (
      e === 0x22 ||
      e === 0x5c ||
      e === 0x2f ||
      e === 0x62 ||
      e === 0x66 ||
      e === 0x6e ||
      e === 0x72 ||
      e === 0x74
    )
      return j + 2;
    this.at = j + 1;
    throw e === undefined
      ? this.unexpected()
      : new SyntaxError(`Bad escaped character in JSON at byte ${j + 1}`);
  }

  number(): number {
    const source = this.source;
    const start = this.at;
    let j = start;
    if (source[j] === 0x2d) j++;
    if (source[j] === 0x30) j++;
    else if (isDigit(source[j]) && source[j] !== 0x30) while (isDigit(source[j])) j++;
    else return this.fail(j);
    if (source[j] === 0x2e) {
      j++;
      if (!isDigit(source[j])) return this.fail(j);
      while (isDigit(source[j])) j++;
    }
    if (source[j] === 0x65 || source[j] === 0x45) {
      j++;
      if (source[j] === 0x2b || source[j] === 0x2d) j++;
      if (!isDigit(source[j])) return this.fail(j);
      while (isDigit(source[j])) j++;
    }
    this.at = j;
    return Number(source.toString('latin1', start, j));
  }

  literal<T>(word: string, value: T): T {
    for (let k = 0; k < word.length; k++) {
      if (this.source[this.at + k] !== word.charCodeAt(k)) return this.fail(this.at + k);
    }
    this.at += word.length;
    return value;
  }

  skipSpace(): void {
    const source = this.source;
    let c = source[this.at];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = source[++this.at];
  }

  fail(at: number): never {
    this.at = at;
    throw this.unexpected();
  }

  unexpected(): SyntaxError {
    const c = this.source[this.at];
    if (c === undefined) return new SyntaxError('Unexpected end of JSON input');
    const shown = c >= 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16)}`;
    return new SyntaxError(`Unexpected ${shown} in JSON at byte ${this.at}`);
  }
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function isHex(c: number | undefined): boolean {
  if (c === undefined) return false;
  const lower = c | 0x20;
  return (c >= 0x30 && c <= 0x39) || (lower >= 0x61 && lower <= 0x66);
}

const BASE64_DATA_URL = /^data:[^,]*;base64,/i;

/**
 * Whether a long string at `start` (after its quote) in this slot may become a stand-in. A data URL
 * slot only when it is a base64 data URL whose prefix is within the stand-in's head: translators split
 * those at `base64,` and pass the payload on, but decode other data URLs, which needs the whole string.
 */
function isContent(slot: Slot, source: Buffer, start: number): boolean {
  if (slot === TEXT || slot === CONTENT || slot === INPUTS) return true;
  return (
    slot === DATA_URL && BASE64_DATA_URL.test(source.toString('latin1', start, start + STAND_IN_HEAD_BYTES))
  );
}
