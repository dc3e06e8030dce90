/**
 * The name interner: a name decodes as Buffer#toString decodes it, whatever the bytes, and a name seen
 * before is the very string decoded the first time, also after other names shared its bucket.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NameInterner, nameBucket } from '../../protos/name-interner.ts';

const at = (text: string, before = 'xx', after = 'yy') => {
  const buffer = Buffer.from(before + text + after);
  const start = Buffer.byteLength(before);
  return [buffer, start, start + Buffer.byteLength(text)] as const;
};

describe('NameInterner', () => {
  it('gives the string decoded the first time when the same bytes come again, from another buffer', () => {
    const names = new NameInterner();
    const first = names.text(...at('content-type'));
    const again = names.text(...at('content-type', '----', '!'));
    expect(again).toBe('content-type');
    expect(Object.is(first, again)).toBe(true);
  });

  it('decodes whatever the bytes, as Buffer#toString does: UTF-8, invalid sequences, empty, long', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(3), (bytes, offset) => {
        const names = new NameInterner();
        const buffer = Buffer.concat([Buffer.alloc(offset, 0x61), bytes, Buffer.from('z')]);
        const expected = buffer.toString('utf8', offset, offset + bytes.length);
        expect(names.text(buffer, offset, offset + bytes.length)).toBe(expected);
        expect(names.text(buffer, offset, offset + bytes.length)).toBe(expected);
      }),
    );
  });

  it('keeps decoding right when three names share a bucket and evict each other', () => {
    const seen = new Map<number, string[]>();
    let crowded: string[] | undefined;
    for (let i = 0; crowded === undefined; i++) {
      const name = `x-name-${i}`;
      const bytes = Buffer.from(name);
      const bucket = nameBucket(bytes, 0, bytes.length);
      const list = [...(seen.get(bucket) ?? []), name];
      seen.set(bucket, list);
      if (list.length === 3) crowded = list;
    }
    const names = new NameInterner();
    for (let round = 0; round < 4; round++)
      for (const name of crowded) expect(names.text(...at(name))).toBe(name);
  });
});
