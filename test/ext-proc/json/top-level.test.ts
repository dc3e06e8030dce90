import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AgentRouterError } from '../../../ext-proc/errors.ts';
import {
  checkTopLevelKeys,
  spliceValues,
  topLevelMembers,
  topLevelValues,
} from '../../../ext-proc/json/top-level.ts';
import { fullyEscaped, spelledString } from '../../helpers/json-spellings.ts';

const MODEL = new Set(['model']);
const replaceModel = (text: string, model: string) =>
  JSON.parse(
    spliceValues(Buffer.from(text), topLevelValues(Buffer.from(text), MODEL), () =>
      JSON.stringify(model),
    ).toString(),
  );

describe('top-level JSON value splicing', () => {
  it('replaces the top-level model and leaves nested "model" keys and look-alike strings alone', () => {
    const text = JSON.stringify({
      messages: [{ role: 'user', content: '"model": "fake", {"model":1}' }],
      tools: [{ function: { name: 'f', parameters: { properties: { model: { type: 'string' } } } } }],
      model: 'chat-model',
      metadata: { model: 'inner' },
    });
    const out = replaceModel(text, 'provider/model-1');
    expect(out.model).toBe('provider/model-1');
    expect(out.metadata.model).toBe('inner');
    expect(out.messages[0].content).toBe('"model": "fake", {"model":1}');
    expect(out.tools[0].function.parameters.properties.model).toEqual({ type: 'string' });
  });

  it('handles whitespace, escapes and a model that is not the last key', () => {
    const text = '{ "stream" : true ,\n  "model"  :\t"a\\"b" , "x": [1, {"model": 2}] }';
    expect(replaceModel(text, 'm')).toEqual({ stream: true, model: 'm', x: [1, { model: 2 }] });
  });

  it('gives the same object as parse-and-set for any JSON object with a string model', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.string(),
        fc.string(),
        fc.integer({ min: 0, max: 10 }),
        (rest, model, target, position) => {
          const entries = Object.entries(rest).filter(([k]) => k !== 'model' && k !== '__proto__');
          entries.splice(Math.min(position, entries.length), 0, ['model', model]);
          const text = JSON.stringify(Object.fromEntries(entries), null, position % 3 === 0 ? 2 : undefined);
          const expected = { ...JSON.parse(text), model: target };
          expect(replaceModel(text, target)).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('splices values past long strings with escaped quotes and runs of backslashes', () => {
    const long = `${'x'.repeat(70)}\\"\\\\${'"'.repeat(3)}${'\\'.repeat(5)}"${'y'.repeat(200)}`;
    const text = JSON.stringify({ a: long, messages: [{ content: long, model: long }], model: 'm', z: long });
    expect(replaceModel(text, 'p')).toEqual({ ...JSON.parse(text), model: 'p' });
  });
});

/** The AgentRouterError `run` throws, or undefined when it returns. */
function refusal(run: () => unknown): AgentRouterError | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof AgentRouterError) return error;
    throw error;
  }
}

describe('top-level keys are compared decoded, as JSON.parse reads them', () => {
  it('finds a model whose key is spelled with escapes, and splices it', () => {
    for (const key of ['"mod\\u0065l"', '"\\u006D\\u006F\\u0064\\u0065\\u006C"', fullyEscaped('model')]) {
      const text = `{${key}:"chat-model","messages":[]}`;
      expect(topLevelValues(Buffer.from(text), MODEL).map((s) => s.key)).toEqual(['model']);
      expect(replaceModel(text, 'gpt-4o-mini')).toEqual({ model: 'gpt-4o-mini', messages: [] });
    }
  });

  it('refuses two top-level keys equal after decoding with a 400 duplicate_key naming the key', () => {
    const cases: [string, string][] = [
      ['{"model":"chat-model","mod\\u0065l":"chat-model","messages":[]}', 'model'],
      ['{"mod\\u0065l":"a","model":"b"}', 'model'],
      ['{"model":"a","model":"b"}', 'model'],
      [`{"messages":[],${fullyEscaped('model')}:"a","m\\u006Fdel":"b"}`, 'model'],
      ['{"model":"m","stream":false,"str\\u0065am":true}', 'stream'],
      ['{"model":"m","a/b":1,"a\\/b":2}', 'a/b'],
      ['{"model":"m","\\ud83d\\ude00":1,"😀":2}', '😀'],
      ['{"model":"m","\\"q\\"":1,"\\u0022q\\u0022":2}', '"q"'],
    ];
    for (const [text, key] of cases) {
      const error = refusal(() => topLevelValues(Buffer.from(text), MODEL));
      expect(error, text).toBeInstanceOf(AgentRouterError);
      expect(error!.toBody().error).toMatchObject({
        type: 'invalid_request_error',
        code: 'duplicate_key',
        param: key,
      });
      expect(error!.status).toBe(400);
      expect(error!.message).toContain(JSON.stringify(key));
    }
    // Only at the top level: nested bytes are forwarded untouched, so their duplicates decide nothing here.
    const nested = '{"model":"m","metadata":{"k":1,"k":2},"messages":[{"role":"user","role":"user"}]}';
    expect(replaceModel(nested, 'p')).toEqual({ ...JSON.parse(nested), model: 'p' });
  });

  it('for any spelling of any keys, reports each decoded key once or refuses the body', () => {
    const key = fc.oneof(
      fc.constantFrom('model', 'stream', 'a/b', 'é', '😀', '"', ''),
      fc.string({ maxLength: 4 }),
    );
    const member = key.chain((k) =>
      fc.tuple(fc.constant(k), spelledString(k), fc.jsonValue({ maxDepth: 2 })),
    );
    fc.assert(
      fc.property(fc.array(member, { maxLength: 8 }), (members) => {
        const text = `{${members.map(([, spelled, value]) => `${spelled}:${JSON.stringify(value)}`).join(',')}}`;
        const keys = members.map(([k]) => k);
        const firstRepeat = keys.find((k, i) => keys.indexOf(k) !== i);
        const error = refusal(() => topLevelValues(Buffer.from(text), new Set(keys)));
        if (firstRepeat !== undefined) {
          expect(error?.code).toBe('duplicate_key');
          expect(error?.param).toBe(firstRepeat);
          return;
        }
        expect(error).toBeUndefined();
        const buf = Buffer.from(text);
        const spans = topLevelValues(buf, new Set(keys));
        expect(spans.map((s) => s.key)).toEqual(keys);
        expect(spans.map((s) => JSON.parse(buf.toString('utf8', s.start, s.end)))).toEqual(
          members.map(([, , value]) => JSON.parse(JSON.stringify(value))),
        );
      }),
      { numRuns: 500 },
    );
  });
});

describe('the duplicate-key check, with few keys and with many', () => {
  it('refuses a body exactly when two top-level keys are equal, however many keys it has', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...Array.from({ length: 60 }, (_, i) => `k${i}`)), { maxLength: 50 }),
        (keys) => {
          const body = Buffer.from(`{${keys.map((k, i) => `"${k}":${i}`).join(',')}}`);
          const duplicated = new Set(keys).size !== keys.length;
          for (const check of [checkTopLevelKeys, topLevelMembers]) {
            if (duplicated)
              expect(() => check(body)).toThrow(expect.objectContaining({ code: 'duplicate_key' }));
            else expect(() => check(body)).not.toThrow();
          }
          if (!duplicated) expect(topLevelMembers(body).map((m) => m.key)).toEqual(keys);
        },
      ),
    );
  });
});
