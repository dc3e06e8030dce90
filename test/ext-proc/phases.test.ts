/**
 * HttpHead: a lazy head (values still bytes, names searched in place) reads exactly as a head made from
 * a map of the joined values does, whatever the names, their repeats and the order of the reads.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HttpHead } from '../../ext-proc/phases.ts';

/** The lazy head of a header list, and the head of the same list joined into a map, as before. */
function heads(list: readonly (readonly [string, string])[]): { lazy: HttpHead; mapped: HttpHead } {
  const parts: Buffer[] = [];
  const bounds: number[] = [];
  let offset = 3;
  parts.push(Buffer.from('pre'));
  for (const [, value] of list) {
    const bytes = Buffer.from(value);
    bounds.push(offset, offset + bytes.length);
    parts.push(bytes);
    offset += bytes.length;
  }
  const joined = new Map<string, string>();
  for (const [name, value] of list) {
    const previous = joined.get(name);
    joined.set(name, previous === undefined ? value : `${previous}, ${value}`);
  }
  return {
    // Names as the decoder gives them: strings made from bytes, not the literals the readers pass.
    lazy: HttpHead.lazy(
      list.map(([name]) => Buffer.from(name).toString()),
      Buffer.concat(parts),
      bounds,
    ),
    mapped: new HttpHead(joined),
  };
}

const NAMES = [':path', ':method', 'content-type', 'x-tag', 'x-agent-router-route', 'authorization', 'é-x'];

describe('HttpHead', () => {
  it('reads a lazy head as the map of its joined values, any names, repeats and reads', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...NAMES), fc.string({ unit: 'grapheme', maxLength: 12 })), {
          maxLength: 20,
        }),
        fc.array(fc.constantFrom(...NAMES, 'absent'), { maxLength: 12 }),
        (list, reads) => {
          const { lazy, mapped } = heads(list);
          for (const name of reads) {
            expect(lazy.get(name)).toBe(mapped.get(name));
            expect(lazy.has(name)).toBe(mapped.has(name));
          }
          expect([...lazy.names()]).toEqual([...mapped.names()]);
          for (const name of NAMES) expect(lazy.get(name)).toBe(mapped.get(name));
        },
      ),
    );
  });

  it('joins a repeated header in order, every time it is read', () => {
    const { lazy } = heads([
      ['x-tag', 'a'],
      [':path', '/v1/chat/completions'],
      ['x-tag', 'b'],
      ['x-tag', 'c'],
    ]);
    expect(lazy.get('x-tag')).toBe('a, b, c');
    expect(lazy.get('x-tag')).toBe('a, b, c');
    expect([...lazy.names()]).toEqual(['x-tag', ':path']);
  });
});
