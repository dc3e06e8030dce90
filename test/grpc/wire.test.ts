import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type FramingError,
  frameOf,
  MessageReader,
  parseTimeout,
  percentEncode,
  Status,
} from '../../grpc/wire.ts';

function read(chunks: Buffer[], maxLength = -1) {
  const messages: Buffer[] = [];
  const errors: FramingError[] = [];
  const reader = new MessageReader(maxLength, {
    onMessage: (m) => messages.push(Buffer.from(m)),
    onFramingError: (e) => errors.push(e),
  });
  for (const chunk of chunks) reader.push(chunk);
  return { messages, errors, idle: reader.idle };
}

/** `bytes` cut at the given points (sorted, deduplicated, within the buffer). */
function cut(bytes: Buffer, points: number[]): Buffer[] {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of at) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

describe('length-prefixed messages', () => {
  it('frames a message with a zero compressed flag and its big-endian length', () => {
    expect(frameOf(Buffer.from('abc'))).toEqual(Buffer.from([0, 0, 0, 0, 3, 0x61, 0x62, 0x63]));
  });

  it('reads the same messages however the stream is cut into DATA chunks', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (messages, points) => {
          const stream = Buffer.concat(messages.map((m) => frameOf(m)));
          const { messages: read_, errors, idle } = read(cut(stream, points));
          expect(errors).toEqual([]);
          expect(idle).toBe(true);
          expect(read_.map((m) => [...m])).toEqual(messages.map((m) => [...m]));
        },
      ),
    );
  });

  it('hands out a message inside one chunk as a view of it, without a copy', () => {
    const chunk = Buffer.concat([frameOf(Buffer.from('one')), frameOf(Buffer.from('two'))]);
    const views: Buffer[] = [];
    const reader = new MessageReader(-1, { onMessage: (m) => views.push(m), onFramingError: () => {} });
    reader.push(chunk);
    expect(views.map((v) => v.toString())).toEqual(['one', 'two']);
    expect(views.every((v) => v.buffer === chunk.buffer)).toBe(true);
  });

  it('is not idle while a message is incomplete', () => {
    expect(read([frameOf(Buffer.from('hello')).subarray(0, 7)]).idle).toBe(false);
    expect(read([Buffer.from([0, 0])]).idle).toBe(false);
  });

  it('refuses a compressed message with INTERNAL, and any other flag too', () => {
    const compressed = frameOf(Buffer.from('x'));
    compressed[0] = 1;
    expect(read([compressed]).errors).toEqual([
      { code: Status.INTERNAL, details: expect.stringContaining('compressed') },
    ]);
    compressed[0] = 7;
    expect(read([compressed]).errors[0]?.code).toBe(Status.INTERNAL);
  });

  it('refuses a message over the limit with RESOURCE_EXHAUSTED from its prefix alone', () => {
    const { errors, messages } = read([Buffer.from([0, 0, 0, 4, 1])], 1024);
    expect(messages).toEqual([]);
    expect(errors).toEqual([{ code: Status.RESOURCE_EXHAUSTED, details: expect.stringContaining('1025') }]);
  });

  it('takes a message exactly at the limit, and delivers nothing after an error', () => {
    const ok = frameOf(Buffer.alloc(16));
    const big = frameOf(Buffer.alloc(17));
    const { messages, errors } = read([Buffer.concat([ok, big, ok])], 16);
    expect(messages).toHaveLength(1);
    expect(errors).toHaveLength(1);
  });
});

describe('grpc-timeout', () => {
  it('reads every unit of the spec', () => {
    expect(parseTimeout('2H')).toBe(7_200_000);
    expect(parseTimeout('3M')).toBe(180_000);
    expect(parseTimeout('1S')).toBe(1000);
    expect(parseTimeout('250m')).toBe(250);
    expect(parseTimeout('1500u')).toBe(1.5);
    expect(parseTimeout('1000000n')).toBe(1);
    expect(parseTimeout('99999999S')).toBe(99_999_999_000);
  });

  it('is absent without the header and malformed with more than 8 digits or no unit', () => {
    expect(parseTimeout(undefined)).toBeUndefined();
    for (const bad of ['123456789S', '10', 'S', '-1S', '1 S', '1s']) expect(parseTimeout(bad), bad).toBeNaN();
  });
});

describe('grpc-message', () => {
  it('percent-encodes non-ASCII, control characters and % itself, as UTF-8 bytes', () => {
    expect(percentEncode('plain text: ok')).toBe('plain text: ok');
    expect(percentEncode('100% sûr\n')).toBe('100%25 s%C3%BBr%0A');
    expect(decodeURIComponent(percentEncode('modèle «chat» 🚀 50%'))).toBe('modèle «chat» 🚀 50%');
  });
});
