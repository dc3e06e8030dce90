/**
 * A decoder for ProcessingRequest that reads header maps without building them. protobufjs' decoder
 * makes, per header, a HeaderValue object, a string of the name and a Buffer view of the value, which
 * ext-proc then decodes to a string as well; for ext_proc's headers messages (10 to 20 headers each)
 * that was most of a request's decoding cost. Here a header map keeps its names (common ones interned,
 * so the same name is not decoded again and again) and byte offsets of its values in the received
 * buffer, and a value is decoded only when a phase reads it (HttpHead).
 *
 * Only the fields ext-proc meets on every request are read here: the headers and body phases,
 * metadata_context, observability_mode and protocol_config (the last two delegated to protobufjs'
 * own decoder of their type). Any other field, a wire type that does not match its field, or a
 * message that does not parse, and the whole message is decoded by protobufjs instead, which accepts
 * and refuses exactly what it did before (protobuf.dev/programming-guides/encoding: tags, wire types
 * 0 varint, 1 I64, 2 LEN, 5 I32).
 */
import type protobuf from 'protobufjs';
import { HttpHead } from '../ext-proc/phases.ts';
import type { HeaderValue } from './ext-proc-messages.ts';
import { NameInterner } from './name-interner.ts';

/** A field this decoder leaves to protobufjs, or bytes it cannot read: decode the message there. */
class Fallback extends Error {}
const FALLBACK = new Fallback();

/** The reading position, shared by the helpers (decoding is synchronous and not re-entrant). */
let at = 0;

/**
 * A varint of at most four bytes (below 2^28). A longer one is left to protobufjs: its 32-bit reader
 * keeps only the low 32 bits of a fifth byte and then skips five more bytes unread (protobufjs
 * src/reader.js, read_uint32), so what it accepts there is its own rule; no tag, length or flag of ours
 * needs that many bytes. (Found by the random-bytes property test: [80, 128, 128, 128, 128, 128, 0].)
 */
function varint(buffer: Buffer, end: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 4; i++) {
    if (at >= end) throw FALLBACK;
    const byte = buffer[at++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return value;
    scale *= 128;
  }
  throw FALLBACK;
}

/** The end of a LEN field's payload that starts at `at`. */
function lengthEnd(buffer: Buffer, end: number): number {
  const length = varint(buffer, end);
  const stop = at + length;
  if (stop > end) throw FALLBACK;
  return stop;
}

/** Header names seen lately: names only, never values (they hold secrets). */
const headerNames = new NameInterner();

/**
 * A decoded HeaderMap: names, and where each value's bytes are. `headers` gives the HeaderValue
 * list protobufjs would have (for readers other than ext-proc's phases), `head()` the HttpHead.
 */
export class DecodedHeaderMap {
  readonly #buffer: Buffer;
  readonly #names: string[] = [];
  /** Per header: start and end of its value's bytes (raw_value when non-empty, else value). */
  readonly #bounds: number[] = [];
  /**
   * The indexes of headers that came as `value` (field 2) instead of raw_value, for `headers`; made
   * only when one does (Envoy sends raw_value), so a message does not keep a list of falses.
   */
  #valueOnly: number[] | undefined;
  #head: HttpHead | undefined;

  constructor(buffer: Buffer) {
    this.#buffer = buffer;
  }

  add(name: string, start: number, stop: number, valueOnly: boolean): void {
    if (valueOnly) {
      this.#valueOnly ??= [];
      this.#valueOnly.push(this.#names.length);
    }
    this.#names.push(name);
    this.#bounds.push(start, stop);
  }

  head(): HttpHead {
    this.#head ??= HttpHead.lazy(this.#names, this.#buffer, this.#bounds);
    return this.#head;
  }

  get headers(): HeaderValue[] {
    return this.#names.map((key, i) => {
      const value = this.#buffer.subarray(this.#bounds[2 * i]!, this.#bounds[2 * i + 1]!);
      return this.#valueOnly?.includes(i)
        ? { key, value: value.toString('utf8') }
        : { key, raw_value: value };
    });
  }
}

/** One HeaderValue's fields, at [at, stop): appended to `map`. */
function headerValue(buffer: Buffer, stop: number, map: DecodedHeaderMap): void {
  let nameStart = at;
  let nameStop = at;
  let valueStart = at;
  let valueStop = at;
  let rawStart = at;
  let rawStop = at;
  while (at < stop) {
    const tag = varint(buffer, stop);
    if ((tag & 7) !== 2) throw FALLBACK;
    const field = tag >>> 3;
    const end = lengthEnd(buffer, stop);
    if (field === 1) {
      nameStart = at;
      nameStop = end;
    } else if (field === 2) {
      valueStart = at;
      valueStop = end;
    } else if (field === 3) {
      rawStart = at;
      rawStop = end;
    } else throw FALLBACK;
    at = end;
  }
  // As headMap reads protobufjs' HeaderValue: raw_value when it has bytes, else value.
  const raw = rawStop > rawStart;
  map.add(
    headerNames.text(buffer, nameStart, nameStop),
    raw ? rawStart : valueStart,
    raw ? rawStop : valueStop,
    !raw && valueStop > valueStart,
  );
}

function headerMap(buffer: Buffer, stop: number): DecodedHeaderMap {
  const map = new DecodedHeaderMap(buffer);
  while (at < stop) {
    const tag = varint(buffer, stop);
    if (tag !== ((1 << 3) | 2)) throw FALLBACK;
    const end = lengthEnd(buffer, stop);
    headerValue(buffer, end, map);
    at = end;
  }
  return map;
}

/**
 * Compiles the decoder for `requestType` (envoy.service.ext_proc.v3.ProcessingRequest): protobufjs'
 * message constructors make the objects, so they read as its decoded messages do (the `request`
 * oneof name included), and the fields left to protobufjs are decoded by their own types.
 */
export function requestDecoder(requestType: protobuf.Type): (buffer: Buffer) => unknown {
  const typeOf = (type: protobuf.Type, name: string) => {
    const field = type.fields[name]!;
    field.resolve();
    return field.resolvedType as protobuf.Type;
  };
  const headersType = typeOf(requestType, 'request_headers');
  const bodyType = typeOf(requestType, 'request_body');
  const metadataType = typeOf(requestType, 'metadata_context');
  const protocolType = typeOf(requestType, 'protocol_config');
  const Request = requestType.ctor as unknown as new () => Record<string, unknown>;
  const Headers = headersType.ctor as unknown as new () => Record<string, unknown>;
  const Body = bodyType.ctor as unknown as new () => Record<string, unknown>;

  const httpHeaders = (buffer: Buffer, stop: number) => {
    const message = new Headers();
    while (at < stop) {
      const tag = varint(buffer, stop);
      if (tag === ((1 << 3) | 2)) {
        const end = lengthEnd(buffer, stop);
        message.headers = headerMap(buffer, end);
        at = end;
      } else if (tag === 3 << 3) message.end_of_stream = varint(buffer, stop) !== 0;
      else throw FALLBACK;
    }
    return message;
  };
  const httpBody = (buffer: Buffer, stop: number) => {
    const message = new Body();
    while (at < stop) {
      const tag = varint(buffer, stop);
      if (tag === ((1 << 3) | 2)) {
        const end = lengthEnd(buffer, stop);
        // A view, as protobufjs' reader gives one.
        message.body = buffer.subarray(at, end);
        at = end;
      } else if (tag === 2 << 3) message.end_of_stream = varint(buffer, stop) !== 0;
      else throw FALLBACK;
    }
    return message;
  };

  const fast = (buffer: Buffer) => {
    at = 0;
    const stop = buffer.length;
    const message = new Request();
    while (at < stop) {
      const tag = varint(buffer, stop);
      const field = tag >>> 3;
      if (field === 10 && (tag & 7) === 0) {
        message.observability_mode = varint(buffer, stop) !== 0;
        continue;
      }
      if ((tag & 7) !== 2) throw FALLBACK;
      const end = lengthEnd(buffer, stop);
      switch (field) {
        case 2:
          message.request_headers = httpHeaders(buffer, end);
          break;
        case 3:
          message.response_headers = httpHeaders(buffer, end);
          break;
        case 4:
          message.request_body = httpBody(buffer, end);
          break;
        case 5:
          message.response_body = httpBody(buffer, end);
          break;
        case 8:
          message.metadata_context = metadataType.decode(buffer.subarray(at, end));
          break;
        case 11:
          message.protocol_config = protocolType.decode(buffer.subarray(at, end));
          break;
        default:
          throw FALLBACK;
      }
      at = end;
    }
    return message;
  };

  return (buffer) => {
    try {
      return fast(buffer);
    } catch (error) {
      if (error instanceof Fallback) return requestType.decode(buffer);
      throw error;
    }
  };
}
