/**
 * gRPC's wire format over HTTP/2, as grpc/grpc doc/PROTOCOL-HTTP2.md defines it: length-prefixed
 * messages in DATA frames, the status in trailers, the `grpc-timeout` header. Pure functions and one
 * incremental parser, so the transport (server.ts) only moves bytes and the rules are tested alone.
 */

/** grpc/grpc doc/statuscodes.md. */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type StatusCode = (typeof Status)[keyof typeof Status];

/** Length-Prefixed-Message → Compressed-Flag (1 byte) Message-Length (4 bytes, big endian) Message. */
export const PREFIX_BYTES = 5;

/**
 * Writes the prefix of an uncompressed message into the PREFIX_BYTES in front of it: `frame` is the
 * whole frame, its message starting at PREFIX_BYTES.
 */
export function writePrefix(frame: Buffer): Buffer {
  frame[0] = 0;
  frame.writeUInt32BE(frame.length - PREFIX_BYTES, 1);
  return frame;
}

/** A whole frame for `message`: one allocation, one copy (for messages too small to matter). */
export function frameOf(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(PREFIX_BYTES + message.length);
  frame.set(message, PREFIX_BYTES);
  return writePrefix(frame);
}

/** Why the parser stopped: the status the call then ends with. */
export interface FramingError {
  code: StatusCode;
  details: string;
}

/** Where a MessageReader delivers (an object, not closures: one reader per call on the hot path). */
export interface MessageSink {
  onMessage(message: Buffer): void;
  onFramingError(error: FramingError): void;
}

/**
 * Splits a stream of DATA chunks into messages. DATA frame boundaries have no relation to message
 * boundaries (PROTOCOL-HTTP2.md, "Data Frames"): a message may span many chunks and a chunk may hold
 * many messages. A message inside one chunk is handed out as a view of it; one spanning chunks is
 * gathered into a buffer of its exact size, allocated once.
 */
export class MessageReader {
  readonly #header = Buffer.allocUnsafe(PREFIX_BYTES);
  #headerFilled = 0;
  #body: Buffer | undefined;
  #bodyFilled = 0;
  #failed = false;

  constructor(
    /** The largest message taken; larger ones fail with RESOURCE_EXHAUSTED. -1: no limit. */
    private readonly maxLength: number,
    private readonly sink: MessageSink,
  ) {}

  /** True between messages: a stream that ends here ended cleanly. */
  get idle(): boolean {
    return this.#headerFilled === 0 && this.#body === undefined;
  }

  push(chunk: Buffer): void {
    if (this.#failed) return;
    let at = 0;
    const end = chunk.length;
    while (at < end) {
      if (this.#body !== undefined) {
        const body = this.#body;
        const take = Math.min(body.length - this.#bodyFilled, end - at);
        chunk.copy(body, this.#bodyFilled, at, at + take);
        this.#bodyFilled += take;
        at += take;
        if (this.#bodyFilled === body.length) {
          this.#body = undefined;
          this.sink.onMessage(body);
          if (this.#failed) return;
        }
        continue;
      }
      let flag: number;
      let length: number;
      if (this.#headerFilled === 0 && end - at >= PREFIX_BYTES) {
        flag = chunk[at]!;
        length = chunk.readUInt32BE(at + 1);
        at += PREFIX_BYTES;
      } else {
        const take = Math.min(PREFIX_BYTES - this.#headerFilled, end - at);
        chunk.copy(this.#header, this.#headerFilled, at, at + take);
        this.#headerFilled += take;
        at += take;
        if (this.#headerFilled < PREFIX_BYTES) return;
        this.#headerFilled = 0;
        flag = this.#header[0]!;
        length = this.#header.readUInt32BE(1);
      }
      if (flag !== 0) {
        // Without a grpc-encoding (the transport refuses any but identity) the flag must be 0
        // (PROTOCOL-HTTP2.md, Compressed-Flag); a set flag then fails with INTERNAL (grpc/grpc
        // doc/compression.md, "Test cases" 6). Any other value is no Compressed-Flag at all.
        this.#fail({
          code: Status.INTERNAL,
          details:
            flag === 1
              ? 'received a compressed message, but no grpc-encoding was negotiated (this server takes identity only)'
              : `received a message with an invalid compressed flag ${flag}`,
        });
        return;
      }
      if (this.maxLength >= 0 && length > this.maxLength) {
        this.#fail({
          code: Status.RESOURCE_EXHAUSTED,
          details: `received a message of ${length} bytes, larger than the limit of ${this.maxLength}`,
        });
        return;
      }
      if (end - at >= length) {
        const message = chunk.subarray(at, at + length);
        at += length;
        this.sink.onMessage(message);
        if (this.#failed) return;
      } else {
        this.#body = Buffer.allocUnsafe(length);
        this.#bodyFilled = 0;
      }
    }
  }

  /** Stops parsing: nothing more is delivered (the call has ended). */
  stop(): void {
    this.#failed = true;
    this.#body = undefined;
  }

  #fail(error: FramingError): void {
    this.stop();
    this.sink.onFramingError(error);
  }
}

const TIMEOUT_UNIT_MS: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1_000,
  m: 1,
  u: 1e-3,
  n: 1e-6,
};

/**
 * `grpc-timeout` in milliseconds: TimeoutValue (a positive integer of at most 8 ASCII digits) then
 * TimeoutUnit, one of H M S m u n (PROTOCOL-HTTP2.md, Requests). undefined when absent (an infinite
 * timeout), NaN when malformed.
 */
export function parseTimeout(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return Number.NaN;
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!match) return Number.NaN;
  return Number(match[1]) * TIMEOUT_UNIT_MS[match[2]!]!;
}

/**
 * `grpc-message` is UTF-8, then percent-encoded: bytes outside %x20-%x7E, and '%' itself, become %XX
 * (PROTOCOL-HTTP2.md, Responses, Percent-Encoded).
 */
export function percentEncode(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out +=
      byte < 0x20 || byte > 0x7e || byte === 0x25
        ? `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(byte);
  }
  return out;
}
