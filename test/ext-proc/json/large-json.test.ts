import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_DEPTH, parseLargeJson } from '../../../ext-proc/json/large-json.ts';
import { MARK_OPEN } from '../../../ext-proc/json/stand-ins.ts';
import { chatRequest } from '../../fixtures/openai/chat-request.arbitrary.ts';

/** What the parser makes of `text`: the value with stand-ins resolved, or the error it threw. */
function outcome(text: string | Buffer, longStringBytes = 4): { value: unknown } | { error: string } {
  try {
    const parsed = parseLargeJson(Buffer.from(text), longStringBytes);
    if (!parsed) return { error: 'fallback' };
    return { value: parsed.standIns.resolveDeep(parsed.value) };
  } catch (error) {
    return { error: (error as Error).name };
  }
}

function jsonParse(text: string): { value: unknown } | { error: string } {
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    return { error: (error as Error).name };
  }
}

/** Strings with escapes, astral characters and multi-byte UTF-8 — the cases a byte scanner can get wrong. */
const trickyText = fc.string({
  unit: fc.oneof(
    fc.constantFrom('"', '\\', '/', '\n', '\t', '\u0001', '\u2028', 'é', '€', '😀', '\ud83d', 'a'),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  ),
  maxLength: 600,
});

describe('the large-body JSON parser', () => {
  it('builds what JSON.parse builds, for any JSON text', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(0, 2), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        expect(outcome(text)).toEqual(jsonParse(text));
      }),
      { numRuns: 300 },
    );
  });

  it('accepts and refuses exactly what JSON.parse does, for texts one edit away from valid JSON', () => {
    const edit = fc.tuple(
      fc.json(),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.constantFrom('delete', 'insert'),
      fc.constantFrom(...' \t\n{}[]",:\\0123456789.eE+-tfnulrsa\u0000\u001fé'.split('')),
    );
    fc.assert(
      fc.property(edit, ([json, where, kind, char]) => {
        const at = Math.floor(where * json.length);
        const text =
          kind === 'delete'
            ? json.slice(0, at) + json.slice(at + 1)
            : json.slice(0, at) + char + json.slice(at);
        const ours = outcome(text);
        const theirs = jsonParse(text);
        if ('error' in theirs) expect(ours).toEqual({ error: 'SyntaxError' });
        else expect(ours).toEqual(theirs);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses each malformed token with a SyntaxError that says where', () => {
    for (const text of [
      '',
      '{',
      '{"a":1,}',
      '[1,]',
      '01',
      '1.',
      '-',
      '1e',
      '"\u0001"',
      '"\\x"',
      '"\\u12"',
      'tru',
      '{"a" 1}',
      '{} {}',
      "{'a':1}",
    ]) {
      expect(() => parseLargeJson(Buffer.from(text), 4), text).toThrow(SyntaxError);
    }
    expect(() => parseLargeJson(Buffer.from('{"model": x}'), 4)).toThrow("Unexpected 'x' in JSON at byte 10");
  });

  it('gives long content strings stand-ins and keeps everything a translator reads whole', () => {
    const long = 'x'.repeat(5000);
    const body = {
      model: 'm'.repeat(2000),
      user: 'u'.repeat(2000),
      messages: [
        { role: 'system', content: long },
        {
          role: 'user',
          content: [
            { type: 'text', text: long },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${long}` } },
            { type: 'image_url', image_url: { url: `https://example.com/${long}` } },
            { type: 'image_url', image_url: { url: `data:text/plain,${long}` } },
          ],
        },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: `"${long}"` } }],
        },
        { role: 'tool', tool_call_id: 'c1', content: long },
      ],
    };
    const parsed = parseLargeJson(Buffer.from(JSON.stringify(body)), 1024)!;
    const value = parsed.value as typeof body;
    // biome-ignore lint/suspicious/noExplicitAny: the test walks the parsed request by hand
    const messages = value.messages as Record<string, any>[];
    const standIn = (s: unknown) => typeof s === 'string' && s.includes(MARK_OPEN);
    expect(standIn(messages[0]!.content)).toBe(true);
    expect(standIn(messages[1]!.content[0].text)).toBe(true);
    expect(standIn(messages[1]!.content[1].image_url.url)).toBe(true);
    expect(messages[1]!.content[1].image_url.url.startsWith('data:image/png;base64,xxx')).toBe(true);
    // Not base64 data URLs: translators decode or forward them whole.
    expect(messages[1]!.content[2].image_url.url).toBe(`https://example.com/${long}`);
    expect(messages[1]!.content[3].image_url.url).toBe(`data:text/plain,${long}`);
    expect(messages[2]!.tool_calls[0].function.arguments).toBe(`"${long}"`);
    // A tool result may be parsed as JSON by a translator: resolved.
    expect(messages[3]!.content).toBe(long);
    expect(value.model).toBe(body.model);
    expect(value.user).toBe(body.user);
    expect(parsed.standIns.resolveDeep(value)).toEqual(body);
  });

  it('round-trips any request through stand-ins to the same bytes JSON.stringify gives', () => {
    const longContent = chatRequest.chain((body) =>
      fc.tuple(fc.constant(body), fc.array(trickyText, { minLength: 1, maxLength: 4 })).map(([b, texts]) => {
        const messages = b.messages as Record<string, unknown>[];
        texts.forEach((text, i) => {
          messages.splice(i % (messages.length + 1), 0, { role: 'user', content: `${text}${text}` });
        });
        return b;
      }),
    );
    fc.assert(
      fc.property(longContent, (body) => {
        const raw = Buffer.from(JSON.stringify(body));
        const parsed = parseLargeJson(raw, 8);
        if (!parsed) return; // a lone surrogate or the like made the body ineligible
        expect(parsed.standIns.encode(parsed.value).toString()).toBe(
          JSON.stringify(JSON.parse(raw.toString())),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('parses the plain way when stand-ins would be unsafe: invalid UTF-8 or marker characters', () => {
    const text = (s: string) => Buffer.from(JSON.stringify({ messages: [{ role: 'user', content: s }] }));
    expect(parseLargeJson(Buffer.concat([text('x'.repeat(100)), Buffer.from([0xff])]), 8)).toBeUndefined();
    expect(parseLargeJson(text(`${'x'.repeat(100)}\uFDD0`), 8)).toBeUndefined();
    expect(
      parseLargeJson(Buffer.from('{"messages":[{"role":"user","content":"\\uFdD1 and more text"}]}'), 8),
    ).toBeUndefined();
    expect(parseLargeJson(text('x'.repeat(100)), 8)).toBeDefined();
  });

  it('makes "__proto__" an own property, as JSON.parse does, also when stand-ins are resolved', () => {
    const parsed = parseLargeJson(Buffer.from('{"__proto__":{"polluted":true},"a":1}'), 8)!;
    const value = parsed.value as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__', 'a']);
    const resolved = parsed.standIns.resolveDeep(JSON.parse('{"__proto__":null}')) as object;
    expect(Object.getPrototypeOf(resolved)).toBe(Object.prototype);
    expect(Object.keys(resolved)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it(`refuses nesting deeper than ${MAX_DEPTH} levels instead of overflowing the stack`, () => {
    const deep = '['.repeat(MAX_DEPTH + 1) + ']'.repeat(MAX_DEPTH + 1);
    expect(() => parseLargeJson(Buffer.from(deep), 8)).toThrow(`JSON nested deeper than ${MAX_DEPTH} levels`);
    const ok = '['.repeat(MAX_DEPTH) + ']'.repeat(MAX_DEPTH);
    expect(parseLargeJson(Buffer.from(ok), 8)?.value).toEqual(JSON.parse(ok));
  });
});
